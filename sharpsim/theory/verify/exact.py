"""Exact statements checked exactly: identities and inequalities on seeded random worlds.

Each check returns a :class:`CheckResult`. Tolerances here are floating-point
round-off allowances (``1e-9`` relative), not statistical bands.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from ...policies import all_sequences, encode_sequences
from ..instances import greedy_failure_example, maxcut_instance, nonclosure_instance, nonclosure_max_mode_mass
from .report import CheckResult
from .worlds import planted_mode_joint, random_tabular_worlds, unique_mode_world

ROUND_OFF = 1e-9


def _mass_on(pi, mask) -> np.ndarray:
    return np.exp(logsumexp(np.where(mask, pi.log_probs, -np.inf), axis=1))


def check_bon_law(tk, rng, quick: bool) -> CheckResult:
    """The exact best-of-N law (SPEC §6): sums to 1, N=1 is π, mode mass 1-(1-π(y*))^N rising to 1."""
    worlds = random_tabular_worlds(rng, 10 if quick else 40)
    sum_err = n1_err = mass_err = 0.0
    monotone = True
    for pi in worlds:
        mask = tk.mode_mask(pi)
        previous = np.zeros(pi.n_contexts)
        for N in (1, 2, 7, 100, 10**6):
            law = tk.best_of_n_law(pi, N)
            sum_err = max(sum_err, float(np.max(np.abs(law.probs.sum(axis=1) - 1.0))))
            if N == 1:
                n1_err = max(n1_err, float(np.max(np.abs(law.probs - pi.probs))))
            mass = _mass_on(law, mask)
            with np.errstate(divide="ignore"):  # mode mass 1: log1p(-1) = -inf, exact = 1
                exact = -np.expm1(N * np.log1p(-_mass_on(pi, mask)))
            mass_err = max(mass_err, float(np.max(np.abs(mass - exact))))
            monotone &= bool(np.all(mass >= previous - ROUND_OFF))
            previous = mass
    ok = max(sum_err, n1_err, mass_err) <= ROUND_OFF and monotone
    return CheckResult(
        "BoN law", f"{len(worlds)} random worlds, N in 1..1e6",
        f"|sum-1|={sum_err:.1e} |N=1 - pi|={n1_err:.1e} |mode mass - exact|={mass_err:.1e}",
        f"all <= {ROUND_OFF:g}, mode mass increasing in N", ok,
        numbers={"sum_error": sum_err, "n1_error": n1_err, "mode_mass_error": mass_err, "monotone": monotone},
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
        "BoN sampler", f"faithful vs exact law, N={N}, {reps} draws/prompt, ties",
        f"min p-value {min(p_values):.3g}", f"> {threshold:g} (level {level:g}, Bonferroni)",
        min(p_values) > threshold, kind="statistical", numbers={"p_values": p_values},
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
                worst = max(worst, float(np.max(np.abs(tk.bon_failure_probability(pi, N, gamma) - law_miss))))
            mass = _mass_on(pi, mask)
            for rho in (0.5, 0.01):
                N_needed = np.ceil(np.log(1 / rho) / mass)
                fail = np.array([tk.bon_failure_probability(pi, int(n), gamma)[i] for i, n in enumerate(N_needed)])
                ok_rho &= bool(np.all(fail <= rho * (1 + ROUND_OFF)))
    return CheckResult(
        "Prop. C.1", "BoN miss prob. vs exact law; N=log(1/rho)/pi(y*)",
        f"max |formula - law| = {worst:.1e}; N suffices: {ok_rho}", f"<= {ROUND_OFF:g}; True",
        worst <= ROUND_OFF and ok_rho, numbers={"max_error": worst, "sufficient_n_ok": ok_rho},
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
        "Prop. 3.1", f"greedy = mode when mass > 1/2 ({cases} joints); tightness",
        f"{agree}/{cases} agree; greedy misses mass-{example.claims['mode_mass']:.2f} mode: {misses}",
        f"{cases}/{cases}; True", agree == cases and misses,
        numbers={"cases": cases, "agree": agree, "tight_example_greedy_misses": misses},
    )


def check_lemma_4_1(tk, rng, quick: bool) -> CheckResult:
    """Lemma 4.1: C_{π*_β} <= C_cov and C_{π_base/π*_β;β} <= |Y|; with γ, C_{π*_β} <= (1-γ)^(-1/β) C_cov,γ.

    The γ version follows from Lemma 4.1's proof: ``Σ_y π^(1+2/β) <= P*^(1/β) Z``
    and ``Z >= ((1-γ)P*)^(1/β) π(y*_γ)``. SPEC §5 writes the factor as
    ``(1-γ)^(-1)``, which holds for ``β >= 1`` only; the row reports how far
    that form is off for small ``β`` as ``spec_form_ratio`` (not a PASS/FAIL criterion).
    """
    worlds = random_tabular_worlds(rng, 10 if quick else 40)
    ratio_cov = ratio_loss = ratio_gamma = spec_form = 0.0
    for pi in worlds:
        c_cov = tk.coverage(pi)
        for beta in (1e-3, 0.1, 1.0, 10.0):
            star = tk.tilted(pi, beta)
            c_star = tk.concentrability(star, pi)
            ratio_cov = max(ratio_cov, c_star / c_cov)
            ratio_loss = max(ratio_loss, tk.concentrability(pi, star, power=beta) / pi.n_responses)
            for gamma in (0.2, 0.5):
                c_gamma = tk.coverage(pi, gamma=gamma)
                ratio_gamma = max(ratio_gamma, (1 - gamma) ** (1 / beta) * c_star / c_gamma)
                spec_form = max(spec_form, (1 - gamma) * c_star / c_gamma)
    worst = max(ratio_cov, ratio_loss, ratio_gamma)
    return CheckResult(
        "Lemma 4.1", f"{len(worlds)} worlds x 4 betas (and gamma=0.2, 0.5)",
        f"max ratios {ratio_cov:.3f}, {ratio_loss:.3f}, {ratio_gamma:.3f}", "all <= 1",
        worst <= 1 + ROUND_OFF,
        numbers={"conc_over_cov": ratio_cov, "loss_over_Y": ratio_loss, "gamma_version": ratio_gamma,
                 "spec_form_ratio": spec_form},
    )


def check_margin_sharpness(tk, rng, quick: bool) -> CheckResult:
    """SPEC §5: β = γ_margin/(2 log(2|Y|/δ)) gives π*_β(y*|x) >= 1 - δ/2 at every prompt."""
    worst_slack = math.inf
    count = 10 if quick else 40
    for _ in range(count):
        pi = unique_mode_world(rng)
        gamma_margin = tk.margin(pi)
        for delta in (0.5, 0.1, 0.01):
            beta = gamma_margin / (2 * math.log(2 * pi.n_responses / delta))
            mass = _mass_on(tk.tilted(pi, beta), tk.mode_mask(pi))
            worst_slack = min(worst_slack, float(np.min(mass - (1 - delta / 2))))
    return CheckResult(
        "Margin => sharp", f"{count} unique-mode worlds x 3 deltas",
        f"min pi*_beta(y*) - (1 - delta/2) = {worst_slack:.2e}", ">= 0",
        worst_slack >= -ROUND_OFF, numbers={"min_slack": worst_slack},
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
                gap = tk.regularized_objective(star, base, beta, r) - tk.regularized_objective(pi, base, beta, r)
                kl = beta * tk.kl_divergence(pi, star)
                worst = max(worst, abs(gap - kl) / (1 + abs(kl)))
    return CheckResult(
        "Thm J.1 identity", f"J(pi*)-J(pi) = beta KL(pi||pi*), {count} worlds",
        f"max rel. error {worst:.1e}", f"<= {ROUND_OFF:g}", worst <= ROUND_OFF, numbers={"max_error": worst},
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
        "pi*_beta -> mode", f"beta=1e-12 on {len(worlds)} worlds with ties",
        f"max TV to uniform on y* = {worst:.1e}", f"<= {ROUND_OFF:g}, no NaN", worst <= ROUND_OFF,
        numbers={"max_tv": worst},
    )


def check_lemma_i1(tk, rng, quick: bool) -> CheckResult:
    """Lemma I.1: E[N_μ] <= (μ + 1/|y*|)/P* and P(miss y*) <= exp(-|y*| μ), exactly."""
    worlds = random_tabular_worlds(rng, 10 if quick else 40)
    worst_n = worst_miss = 0.0
    for pi in worlds:
        mask = tk.mode_mask(pi)
        n_modes = mask.sum(axis=1)
        p_star = np.exp(pi.log_probs.max(axis=1))
        for mu_stop in (0.5, math.log(4), 3.0):
            expected = tk.adaptive_best_of_n_expected_samples(pi, mu_stop)
            worst_n = max(worst_n, float(np.max(expected * p_star / (mu_stop + 1 / n_modes))))
            miss = 1.0 - _mass_on(tk.adaptive_best_of_n_law(pi, mu_stop), mask)
            worst_miss = max(worst_miss, float(np.max(miss / np.exp(-n_modes * mu_stop))))
    return CheckResult(
        "Lemma I.1", f"exact stopping time and law, {len(worlds)} worlds x 3 mu",
        f"max E[N]/bound = {worst_n:.3f}; max miss/bound = {worst_miss:.3f}", "both <= 1",
        max(worst_n, worst_miss) <= 1 + ROUND_OFF, numbers={"expected_ratio": worst_n, "miss_ratio": worst_miss},
    )


def check_prop_e2(tk, rng, quick: bool) -> CheckResult:
    """Prop. E.2: the base's mode has mass Ω(1) and π*_β puts > 1/2 on it, but no model of the class can."""
    n = 6
    inst = nonclosure_instance(n, rng=rng, restarts=2)
    best = nonclosure_max_mode_mass(n, float(inst.details["B"]), restarts=4 if quick else 16, rng=rng)
    table = inst.base.to_tabular()
    mode = tk.mode_mask(table)[0]
    base_mass = float(table.probs[0, mode].sum())
    sharpened = float(tk.tilted(table, 0.1).probs[0, mode].sum())
    ok = best["max_mass"] <= 0.5 + ROUND_OFF and base_mass > 1 / 6 and sharpened > 0.5
    return CheckResult(
        "Prop. E.2", f"non-closure instance, n={n}: class max vs base",
        f"class max {best['max_mass']:.4f}; base {base_mass:.3f}; pi*_0.1 {sharpened:.3f}",
        "<= 1/2; > 1/6; > 1/2", ok,
        numbers={"class_max": best["max_mass"], "base_mode_mass": base_mass, "sharpened_mode_mass": sharpened},
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
        cuts = np.einsum("ki,ij,kj->k", spins, adjacency, 1 - spins)  # edges with endpoints on both sides
        best = spins[cuts == cuts.max()]
        expected = np.zeros(table.n_responses, dtype=bool)
        expected[encode_sequences(np.c_[best, np.ones((best.shape[0], 2), dtype=np.int64)], 2)] = True
        exact += int(np.array_equal(tk.mode_mask(table)[0], expected))
    cycle = np.roll(np.eye(5, dtype=int), 1, axis=1) + np.roll(np.eye(5, dtype=int), -1, axis=1)
    inst = maxcut_instance(cycle)
    greedy = tk.greedy_decode(inst.base, np.array([0]))[0]
    greedy_misses = not bool(tk.mode_mask(inst.base.to_tabular())[0][encode_sequences(greedy, 2)])
    return CheckResult(
        "Prop. E.1", f"MAX-CUT model on {len(graphs)} random graphs; greedy on C5",
        f"{exact}/{len(graphs)} mode sets = max cuts; greedy misses: {greedy_misses}",
        f"{len(graphs)}/{len(graphs)}; True", exact == len(graphs) and greedy_misses,
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
