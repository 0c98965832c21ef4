"""Exact statements checked exactly: identities and inequalities on seeded random worlds.

Each check returns a :class:`CheckResult`. Tolerances of the exact parts are
floating-point round-off allowances (``1e-9``), not statistical bands; the
Monte Carlo parts (BoN sampler, Lemma I.1's sampler) are tests at a stated
level. Reference values (mode sets of integer-weight worlds, planted modes)
are computed here, not taken from the implementations under test.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from ...policies import all_sequences, encode_sequences
from ..instances import (
    greedy_failure_example,
    maxcut_instance,
    nonclosure_instance,
    nonclosure_max_mode_mass,
)
from .report import CheckResult
from .worlds import (
    planted_margin_world,
    planted_mode_joint,
    random_tabular_worlds,
    unique_mode_world,
)

ROUND_OFF = 1e-9


def _mass_on(pi, mask) -> np.ndarray:
    return np.exp(logsumexp(np.where(mask, pi.log_probs, -np.inf), axis=1))


def _exact_mode_mask(pi) -> np.ndarray:
    """Reference mode set for worlds built from integer weights, whose ties are bit-exact."""
    return pi.probs == pi.probs.max(axis=1, keepdims=True)


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
        mask = _exact_mode_mask(pi)
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
                exact = -np.expm1(N * np.log1p(-_mass_on(pi, mask)))
            mode_err = max(
                mode_err,
                float(np.max(np.abs(np.where(mask, law.probs - exact[:, None] * share, 0.0)))),
            )
            mass = _mass_on(law, mask)
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
                law_miss = 1.0 - _mass_on(tk.best_of_n_law(pi, N), mask)
                worst = max(
                    worst,
                    float(np.max(np.abs(tk.bon_failure_probability(pi, N, gamma) - law_miss))),
                )
            mass = _mass_on(pi, mask)
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


def check_prop_3_1(tk, rng, quick: bool) -> CheckResult:
    """Prop. 3.1: greedy decoding returns a mode of mass > 1/2; the SPEC §2 example shows tightness."""
    cases = agree = 0
    for _ in range(15 if quick else 60):
        V, H = int(rng.integers(2, 4)), int(rng.integers(2, 5))
        policy, planted = planted_mode_joint(rng, V, H)
        greedy = tk.greedy_decode(policy, np.array([0]))
        cases += 1
        agree += int(encode_sequences(greedy, V)[0] == planted)
    example = greedy_failure_example()
    greedy = tk.greedy_decode(example.base, np.array([0]))[0]
    misses = not np.array_equal(greedy, example.claims["mode"])
    return CheckResult(
        "Prop. 3.1",
        f"greedy = mode when mass > 1/2 ({cases} joints); tightness",
        f"{agree}/{cases} agree; greedy misses mass-{example.claims['mode_mass']:.2f} mode: {misses}",
        f"{cases}/{cases}; True",
        agree == cases and misses,
        numbers={"cases": cases, "agree": agree, "tight_example_greedy_misses": misses},
    )


def check_lemma_4_1(tk, rng, quick: bool) -> CheckResult:
    """Lemma 4.1: C_{π*_β} <= C_cov and C_{π_base/π*_β;β} <= |Y|; with γ, C_{π*_β} <= (1-γ)^(-1/β) C_cov,γ.

    The first bound is tight: as ``β → 0``, ``π*_β`` tends to the uniform law on
    ``y*(x)`` and ``C_{π*_β} → E_x[1/π(y*(x)|x)] = C_cov``, so the ratio at
    ``β = 10⁻³`` (integer-weight worlds: runner-up ``≤ ¾`` of the mode) must be
    1 up to round-off (``tightness``); an inflated ``C_cov`` fails here.

    The γ version follows from Lemma 4.1's proof: ``Σ_y π^(1+2/β) <= P*^(1/β) Z``
    and ``Z >= ((1-γ)P*)^(1/β) π(y*_γ)``. SPEC §5 writes the factor as
    ``(1-γ)^(-1)``, which holds for ``β >= 1`` only; the row reports how far
    that form is off for small ``β`` as ``spec_form_ratio`` (not a PASS/FAIL criterion).
    """
    worlds = random_tabular_worlds(rng, 10 if quick else 40)
    ratio_cov = ratio_loss = ratio_gamma = spec_form = 0.0
    tightness = math.inf
    for pi in worlds:
        c_cov = tk.coverage(pi)
        for beta in (1e-3, 0.1, 1.0, 10.0):
            star = tk.tilted(pi, beta)
            c_star = tk.concentrability(star, pi)
            ratio_cov = max(ratio_cov, c_star / c_cov)
            if beta == 1e-3:
                tightness = min(tightness, c_star / c_cov)
            ratio_loss = max(ratio_loss, tk.concentrability(pi, star, power=beta) / pi.n_responses)
            for gamma in (0.2, 0.5):
                c_gamma = tk.coverage(pi, gamma=gamma)
                ratio_gamma = max(ratio_gamma, (1 - gamma) ** (1 / beta) * c_star / c_gamma)
                spec_form = max(spec_form, (1 - gamma) * c_star / c_gamma)
    worst = max(ratio_cov, ratio_loss, ratio_gamma)
    return CheckResult(
        "Lemma 4.1",
        f"{len(worlds)} worlds x 4 betas (and gamma=0.2, 0.5); tight as beta->0",
        f"max ratios {ratio_cov:.3f}, {ratio_loss:.3f}, {ratio_gamma:.3f}; at beta=1e-3 min {tightness:.6f}",
        "all <= 1; C_pi*/C_cov -> 1",
        worst <= 1 + ROUND_OFF and tightness >= 1 - ROUND_OFF,
        numbers={
            "conc_over_cov": ratio_cov,
            "loss_over_Y": ratio_loss,
            "gamma_version": ratio_gamma,
            "tightness": tightness,
            "spec_form_ratio": spec_form,
        },
    )


def _sufficient_beta(gamma_margin: float, n_responses: int, delta: float) -> float:
    """The largest ``β`` with ``(1+γ_margin)^(1+1/β) >= 2|Y|/δ`` (SPEC §5); 1 if every ``β`` qualifies."""
    need, have = math.log(2 * n_responses / delta), math.log1p(gamma_margin)
    return 1.0 if have >= need else 1.0 / (need / have - 1.0)


def formula_counterexample():
    """``γ_margin = 10``, ``|Y| = 10⁴``, ``δ = 0.1``: the β formula leaves ``π*_β(y*) ≈ 0.28 < 1 − δ/2``.

    One prompt, the mode at ``11/(|Y|+10)`` and every other response at
    ``1/(|Y|+10)``: beyond ``γ_margin = 1`` the formula's β is too large.
    """
    from ...policies import TabularPolicy

    n_responses, gamma = 10_000, 10.0
    probs = np.full((1, n_responses), 1.0 / (n_responses + gamma))
    probs[0, 0] = (1.0 + gamma) / (n_responses + gamma)
    return TabularPolicy(probs), 0.1


def check_margin_sharpness(tk, rng, quick: bool) -> CheckResult:
    """SPEC §5: ``(1+γ_margin)^(1+1/β) >= 2|Y|/δ`` gives ``π*_β(y*|x) >= 1 - δ/2`` at every prompt.

    Worlds with a planted unique mode and ``γ_margin`` from 0.05 to 10. For
    ``γ_margin <= 1`` the formula ``β = γ_margin/(2 log(2|Y|/δ))`` must suffice;
    for every ``γ_margin`` the largest ``β`` meeting the condition must; and
    the formula must fail on :func:`formula_counterexample` (``γ_margin = 10``),
    which is why the README keeps the qualifier ``γ_margin <= 1``. The mode is
    the planted one (not ``mode_mask``).
    """
    gammas = (
        (0.05, 0.3, 1.0, 1.5, 4.0, 10.0)
        if quick
        else (0.02, 0.05, 0.1, 0.3, 0.6, 1.0, 1.2, 2.0, 4.0, 10.0, 30.0)
    )
    slack_formula = slack_condition = math.inf
    for target in gammas:
        pi, modes = planted_margin_world(rng, target)
        gamma_margin = tk.margin(pi)
        rows = np.arange(pi.n_contexts)
        for delta in (0.5, 0.1, 0.01):
            betas = [_sufficient_beta(gamma_margin, pi.n_responses, delta)]
            if target <= 1.0:
                betas.append(gamma_margin / (2 * math.log(2 * pi.n_responses / delta)))
            for i, beta in enumerate(betas):
                slack = float(np.min(tk.tilted(pi, beta).probs[rows, modes] - (1 - delta / 2)))
                if i == 0:
                    slack_condition = min(slack_condition, slack)
                else:
                    slack_formula = min(slack_formula, slack)
    counter, delta = formula_counterexample()
    beta = tk.margin(counter) / (2 * math.log(2 * counter.n_responses / delta))
    counter_mass = float(tk.tilted(counter, beta).probs[0, 0])
    ok = min(slack_formula, slack_condition) >= -ROUND_OFF and counter_mass < 1 - delta / 2
    return CheckResult(
        "Margin => sharp",
        f"gamma_margin in {list(gammas)} x 3 deltas; gamma=10 counterexample",
        f"min slack: formula (gamma<=1) {slack_formula:.2e}, condition {slack_condition:.2e}; "
        f"formula at gamma=10 gives {counter_mass:.3f}",
        f">= 0; >= 0; < {1 - delta / 2:g} (qualifier needed)",
        ok,
        numbers={
            "min_slack_formula": slack_formula,
            "min_slack_condition": slack_condition,
            "counterexample_mode_mass": counter_mass,
            "gammas": list(gammas),
        },
    )


def check_j_beta_identity(tk, rng, quick: bool) -> CheckResult:
    """Proof of Thm J.1: J_β(π*_β) - J_β(π) = β·KL(π ‖ π*_β), for r = log π_base and a random reward."""
    from ...policies import TabularPolicy

    worst = 0.0
    count = 10 if quick else 40
    for _ in range(count):
        base = unique_mode_world(rng)
        reward = rng.normal(size=(base.n_contexts, base.n_responses))
        for r in (None, reward):
            for beta in (0.05, 1.0):
                star = tk.tilted(base, beta, r)
                pi = TabularPolicy(rng.dirichlet(np.ones(base.n_responses), size=base.n_contexts))
                gap = tk.regularized_objective(star, base, beta, r) - tk.regularized_objective(
                    pi, base, beta, r
                )
                kl = beta * tk.kl_divergence(pi, star)
                worst = max(worst, abs(gap - kl) / (1 + abs(kl)))
    return CheckResult(
        "Thm J.1 identity",
        f"J(pi*)-J(pi) = beta KL(pi||pi*), {count} worlds",
        f"max rel. error {worst:.1e}",
        f"<= {ROUND_OFF:g}",
        worst <= ROUND_OFF,
        numbers={"max_error": worst},
    )


def check_tilted_limit(tk, rng, quick: bool) -> CheckResult:
    """SPEC §5: π*_β tends to the uniform law on y*(x) as β → 0 (β = 1e-12, exact ties)."""
    worlds = random_tabular_worlds(rng, 10 if quick else 40)
    worst = 0.0
    for pi in worlds:
        mask = tk.mode_mask(pi)
        uniform = mask / mask.sum(axis=1, keepdims=True)
        star = tk.tilted(pi, 1e-12).probs
        worst = max(worst, float(np.max(0.5 * np.abs(star - uniform).sum(axis=1))))
        if not np.all(np.isfinite(star)):
            worst = math.inf
    return CheckResult(
        "pi*_beta -> mode",
        f"beta=1e-12 on {len(worlds)} worlds with ties",
        f"max TV to uniform on y* = {worst:.1e}",
        f"<= {ROUND_OFF:g}, no NaN",
        worst <= ROUND_OFF,
        numbers={"max_tv": worst},
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
        mask = _exact_mode_mask(pi)
        n_modes = mask.sum(axis=1)
        p_star = np.exp(pi.log_probs.max(axis=1))
        for mu_stop in (0.5, math.log(4), 3.0):
            expected = tk.adaptive_best_of_n_expected_samples(pi, mu_stop)
            worst_n = max(worst_n, float(np.max(expected * p_star / (mu_stop + 1 / n_modes))))
            miss = 1.0 - _mass_on(tk.adaptive_best_of_n_law(pi, mu_stop), mask)
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


def check_prop_e2(tk, rng, quick: bool) -> CheckResult:
    """Prop. E.2: the base's mode has mass Ω(1) and π*_β puts > 1/2 on it, but no model of the class can.

    The mode is the construction's sequence (2, 1) (tokens (1, 0)), not ``mode_mask``'s.
    """
    n = 6
    inst = nonclosure_instance(n, rng=rng, restarts=2)
    best = nonclosure_max_mode_mass(
        n, float(inst.details["B"]), restarts=4 if quick else 16, rng=rng
    )
    table = inst.base.to_tabular()
    mode = int(
        encode_sequences(inst.claims["mode"], inst.base.vocab_size)
    )  # the construction's mode (1, 0)
    base_mass = float(table.probs[0, mode])
    sharpened = float(tk.tilted(table, 0.1).probs[0, mode])
    ok = best["max_mass"] <= 0.5 + ROUND_OFF and base_mass > 1 / 6 and sharpened > 0.5
    return CheckResult(
        "Prop. E.2",
        f"non-closure instance, n={n}: class max vs base",
        f"class max {best['max_mass']:.4f}; base {base_mass:.3f}; pi*_0.1 {sharpened:.3f}",
        "<= 1/2; > 1/6; > 1/2",
        ok,
        numbers={
            "class_max": best["max_mass"],
            "base_mode_mass": base_mass,
            "sharpened_mode_mass": sharpened,
        },
    )


def _random_graph(rng, n_vertices: int) -> np.ndarray:
    upper = np.triu(rng.random((n_vertices, n_vertices)) < 0.5, k=1)
    upper[0, 1] = True  # at least one edge
    return (upper | upper.T).astype(int)


def check_prop_e1(tk, rng, quick: bool) -> CheckResult:
    """Prop. E.1: the sequence mode of the MAX-CUT model is exactly the maximum cuts; greedy can miss it."""
    graphs = [_random_graph(rng, int(rng.integers(4, 7))) for _ in range(4 if quick else 12)]
    exact = 0
    for adjacency in graphs:
        n, n_edges = adjacency.shape[0], int(adjacency.sum()) // 2
        table = maxcut_instance(adjacency, coupling=1.0 / n_edges).base.to_tabular()
        spins = all_sequences(2, n)
        cuts = np.einsum(
            "ki,ij,kj->k", spins, adjacency, 1 - spins
        )  # edges with endpoints on both sides
        best = spins[cuts == cuts.max()]
        expected = np.zeros(table.n_responses, dtype=bool)
        expected[encode_sequences(np.c_[best, np.ones((best.shape[0], 2), dtype=np.int64)], 2)] = (
            True
        )
        exact += int(np.array_equal(tk.mode_mask(table)[0], expected))
    cycle = np.roll(np.eye(5, dtype=int), 1, axis=1) + np.roll(np.eye(5, dtype=int), -1, axis=1)
    inst = maxcut_instance(cycle)
    greedy = tk.greedy_decode(inst.base, np.array([0]))[0]
    greedy_misses = not bool(tk.mode_mask(inst.base.to_tabular())[0][encode_sequences(greedy, 2)])
    return CheckResult(
        "Prop. E.1",
        f"MAX-CUT model on {len(graphs)} random graphs; greedy on C5",
        f"{exact}/{len(graphs)} mode sets = max cuts; greedy misses: {greedy_misses}",
        f"{len(graphs)}/{len(graphs)}; True",
        exact == len(graphs) and greedy_misses,
        numbers={"graphs": len(graphs), "exact": exact, "greedy_misses_on_c5": greedy_misses},
    )


EXACT_CHECKS = (
    check_bon_law,
    check_bon_sampler,
    check_prop_c1,
    check_prop_3_1,
    check_lemma_4_1,
    check_margin_sharpness,
    check_j_beta_identity,
    check_tilted_limit,
    check_lemma_i1,
    check_prop_e1,
    check_prop_e2,
)
