"""Inference-time sharpening checked: the best-of-N law and sampler (Prop. C.1), adaptive best-of-N (Lemma I.1).

Every row reads what the user gets back: the returned law, the sampler's
responses and stopping times, compared with exact values computed here.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .reference import ROUND_OFF, exact_mode_mask, mass_on
from .report import CheckResult
from .worlds import random_tabular_worlds


def ulp_tie_cases():
    """Named worlds whose ties differ by an ulp (SPEC §6): ``(name, policy, reward, N, [(x, y, exact law)])``.

    * Markov: sequences ``00`` and ``10`` both have mass ``0.4·0.9 = 0.45·0.8 = 0.36``
      (``0.36000000000000004`` against ``0.36`` in floating point); at ``N = 2`` each
      gets ``(1 - 0.28²)/2 = 0.4608``, at ``N = 50`` each gets ``(1 - 0.28⁵⁰)/2``.
    * Majority vote: ``π = [2,4,4,2]/12`` with answers ``[1,0,2,1]`` gives every
      answer mass ``1/3`` (sums along different paths), so every response is tied
      and the ``N = 3`` law is ``π`` itself.
    """
    from ...policies import MarkovPolicy, TabularPolicy
    from ...rewards import MajorityVoteReward

    markov = MarkovPolicy(
        [[0.4, 0.45, 0.15]], [[[[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.5, 0.25, 0.25]]]]
    )
    half = [(0, 0, 0.4608), (0, 3, 0.4608)]
    far = -0.5 * math.expm1(50 * math.log(0.28))
    probs = np.array([[2.0, 4.0, 4.0, 2.0]]) / 12.0
    vote = [(0, y, float(probs[0, y])) for y in range(4)]
    return [
        ("Markov 00~10, N=2", markov, None, 2, half),
        ("Markov 00~10, N=50", markov, None, 50, [(0, 0, far), (0, 3, far)]),
        (
            "majority 1/3 ties, N=3",
            TabularPolicy(probs),
            MajorityVoteReward([[1, 0, 2, 1]]),
            3,
            vote,
        ),
    ]


def check_bon_law(tk, rng, quick: bool) -> CheckResult:
    """The exact best-of-N law (SPEC §6) on random worlds with exact ties and on ulp-level ties.

    Random worlds: sums to 1, ``N = 1`` is ``π``, and the law on the mode set is
    ``(1 - (1 - π(y*))^N)·π(y)/π(y*)`` (the first-draw tie rule splits a tie
    group ``∝ π``), rising to 1. Named worlds (:func:`ulp_tie_cases`): ties that
    floating point breaks by an ulp are still ties.
    """
    worlds = random_tabular_worlds(rng, 10 if quick else 40)
    sum_err = n1_err = mode_err = 0.0
    monotone = True
    for pi in worlds:
        mask = exact_mode_mask(pi)
        share = np.where(mask, pi.probs, 0.0) / np.sum(
            np.where(mask, pi.probs, 0.0), axis=1, keepdims=True
        )
        previous = np.zeros(pi.n_contexts)
        for N in (1, 2, 7, 100, 10**6):
            law = tk.best_of_n_law(pi, N)
            sum_err = max(sum_err, float(np.max(np.abs(law.probs.sum(axis=1) - 1.0))))
            if N == 1:
                n1_err = max(n1_err, float(np.max(np.abs(law.probs - pi.probs))))
            with np.errstate(divide="ignore"):  # mode mass 1: log1p(-1) = -inf, exact = 1
                exact = -np.expm1(N * np.log1p(-mass_on(pi, mask)))
            mode_err = max(
                mode_err,
                float(np.max(np.abs(np.where(mask, law.probs - exact[:, None] * share, 0.0)))),
            )
            mass = mass_on(law, mask)
            monotone &= bool(np.all(mass >= previous - ROUND_OFF))
            previous = mass
    tie_err = 0.0
    for _, policy, reward, N, expected in ulp_tie_cases():
        law = tk.best_of_n_law(policy, N, reward=reward).probs
        tie_err = max(tie_err, max(abs(float(law[x, y]) - value) for x, y, value in expected))
    ok = max(sum_err, n1_err, mode_err, tie_err) <= ROUND_OFF and monotone
    return CheckResult(
        "BoN law",
        f"{len(worlds)} random worlds, N in 1..1e6; {len(ulp_tie_cases())} ulp-tie worlds",
        f"|sum-1|={sum_err:.1e} |N=1 - pi|={n1_err:.1e} |law on y* - exact|={mode_err:.1e} "
        f"ulp ties {tie_err:.1e}",
        f"all <= {ROUND_OFF:g}, mode mass increasing in N",
        ok,
        numbers={
            "sum_error": sum_err,
            "n1_error": n1_err,
            "mode_law_error": mode_err,
            "monotone": monotone,
            "ulp_tie_error": tie_err,
        },
    )


def check_bon_sampler(tk, rng, quick: bool, level: float = 1e-3) -> CheckResult:
    """Faithful BoN sampling agrees with the exact law: chi-square test at ``level``."""
    probs = np.array([[0.3, 0.3, 0.2, 0.1, 0.1], [0.05, 0.5, 0.05, 0.2, 0.2]])
    from ...policies import TabularPolicy

    pi = TabularPolicy(probs)
    N, reps = 4, (3000 if quick else 20000)
    law = tk.best_of_n_law(pi, N).probs
    p_values = []
    for x in range(pi.n_contexts):
        picks = tk.best_of_n(pi, np.full(reps, x), N, method="faithful", rng=rng).responses
        counts = np.bincount(picks, minlength=pi.n_responses)
        support = law[x] > 0
        p_values.append(float(stats.chisquare(counts[support], reps * law[x][support]).pvalue))
    threshold = level / len(p_values)  # Bonferroni over prompts
    return CheckResult(
        "BoN sampler",
        f"faithful vs exact law, N={N}, {reps} draws/prompt, ties",
        f"min p-value {min(p_values):.3g}",
        f"> {threshold:g} (level {level:g}, Bonferroni)",
        min(p_values) > threshold,
        kind="statistical",
        numbers={"p_values": p_values},
    )


def check_prop_c1(tk, rng, quick: bool) -> CheckResult:
    """Prop. C.1: failure probability (1-π(y*_γ))^N, and N >= log(1/ρ)/π(y*_γ) makes it <= ρ."""
    worlds = random_tabular_worlds(rng, 10 if quick else 40)
    worst, ok_rho = 0.0, True
    for pi in worlds:
        for gamma in (0.0, 0.3):
            mask = tk.mode_mask(pi, gamma)
            for N in (1, 5, 300):
                law_miss = 1.0 - mass_on(tk.best_of_n_law(pi, N), mask)
                worst = max(
                    worst,
                    float(np.max(np.abs(tk.bon_failure_probability(pi, N, gamma) - law_miss))),
                )
            mass = mass_on(pi, mask)
            for rho in (0.5, 0.01):
                N_needed = np.ceil(np.log(1 / rho) / mass)
                fail = np.array(
                    [
                        tk.bon_failure_probability(pi, int(n), gamma)[i]
                        for i, n in enumerate(N_needed)
                    ]
                )
                ok_rho &= bool(np.all(fail <= rho * (1 + ROUND_OFF)))
    return CheckResult(
        "Prop. C.1",
        "BoN miss prob. vs exact law; N=log(1/rho)/pi(y*)",
        f"max |formula - law| = {worst:.1e}; N suffices: {ok_rho}",
        f"<= {ROUND_OFF:g}; True",
        worst <= ROUND_OFF and ok_rho,
        numbers={"max_error": worst, "sufficient_n_ok": ok_rho},
    )


def check_lemma_i1(tk, rng, quick: bool, level: float = 1e-3) -> CheckResult:
    """Lemma I.1 exactly, and the exact law and ``E[N_μ]`` against the adaptive sampler.

    Exact: ``E[N_μ] <= (μ + 1/|y*|)/P*`` and ``P(miss y*) <= exp(-|y*| μ)`` on
    random worlds. Statistical (level ``level``, Bonferroni over the 2 prompts
    x 2 tests): ``adaptive_best_of_n``'s picks against ``adaptive_best_of_n_law``
    (chi-square) and its mean stopping time against
    ``adaptive_best_of_n_expected_samples`` (z-test; ``N_μ <= ⌈μ/min π⌉`` is
    bounded, so the CLT applies).
    """
    from ...policies import TabularPolicy

    worlds = random_tabular_worlds(rng, 10 if quick else 40)
    worst_n = worst_miss = 0.0
    for pi in worlds:
        mask = exact_mode_mask(pi)
        n_modes = mask.sum(axis=1)
        p_star = np.exp(pi.log_probs.max(axis=1))
        for mu_stop in (0.5, math.log(4), 3.0):
            expected = tk.adaptive_best_of_n_expected_samples(pi, mu_stop)
            worst_n = max(worst_n, float(np.max(expected * p_star / (mu_stop + 1 / n_modes))))
            miss = 1.0 - mass_on(tk.adaptive_best_of_n_law(pi, mu_stop), mask)
            worst_miss = max(worst_miss, float(np.max(miss / np.exp(-n_modes * mu_stop))))
    pi = TabularPolicy(np.array([[0.3, 0.3, 0.2, 0.1, 0.1], [0.05, 0.5, 0.05, 0.2, 0.2]]))
    mu_stop, reps = math.log(4), (3000 if quick else 20000)
    law = tk.adaptive_best_of_n_law(pi, mu_stop).probs
    mean_n = tk.adaptive_best_of_n_expected_samples(pi, mu_stop)
    p_values = []
    for x in range(pi.n_contexts):
        res = tk.adaptive_best_of_n(pi, np.full(reps, x), mu_stop, rng=rng)
        counts = np.bincount(res.responses, minlength=pi.n_responses)
        support = law[x] > 0
        p_values.append(
            float(stats.chisquare(counts[support], reps * law[x][support]).pvalue)
            if counts[~support].sum() == 0
            else 0.0
        )
        n_drawn = np.asarray(res.samples_per_prompt, dtype=float)
        se = n_drawn.std(ddof=1) / math.sqrt(reps)
        z = (
            abs(n_drawn.mean() - mean_n[x]) / se
            if se > 0
            else (0.0 if n_drawn[0] == mean_n[x] else math.inf)
        )
        p_values.append(float(2 * stats.norm.sf(z)))
    threshold = level / len(p_values)
    ok = max(worst_n, worst_miss) <= 1 + ROUND_OFF and min(p_values) > threshold
    return CheckResult(
        "Lemma I.1",
        f"exact stopping time and law, {len(worlds)} worlds x 3 mu; sampler vs exact, {reps} draws",
        f"max E[N]/bound = {worst_n:.3f}; max miss/bound = {worst_miss:.3f}; sampler min p {min(p_values):.3g}",
        f"both <= 1; p > {threshold:g} (level {level:g}, Bonferroni)",
        ok,
        kind="statistical",
        numbers={"expected_ratio": worst_n, "miss_ratio": worst_miss, "sampler_p_values": p_values},
    )
