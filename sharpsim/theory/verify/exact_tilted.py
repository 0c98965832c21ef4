"""The tilted model π*_β checked: Lemma 4.1, margin ⇒ sharpness, the J_β identity, the β → 0 limit (Sec. 4.2)."""

from __future__ import annotations

import math

import numpy as np

from .reference import ROUND_OFF
from .report import CheckResult
from .worlds import (
    planted_margin_world,
    random_tabular_worlds,
    unique_mode_world,
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
