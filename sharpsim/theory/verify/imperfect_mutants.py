"""The mutants of the imperfect-reward ``verify`` rows (:mod:`.imperfect`), merged into :mod:`.mutants`.

Each is a plausible wrong version of one :class:`~sharpsim.theory.verify.Toolkit`
field; ``IMPERFECT_KILLS`` names, per row, the ones it FAILS on
(tests/test_verify_imperfect.py runs every pair).
"""

from __future__ import annotations

import math

import numpy as np

from ... import inference
from ...policies import TabularPolicy, as_tabular


def _chi2_beta_not_halved(pi, reward, beta):
    """The maximiser of E[r] − β·χ² passed off as the (β/2)·χ² one."""
    return inference.chi2_regularized(pi, reward, 2.0 * beta)


def _chi2_ignores_ref(pi, reward, beta):
    """Weights (r − λ)_+ on the uniform law instead of π_ref."""
    tab = as_tabular(pi)
    return inference.chi2_regularized(
        TabularPolicy(np.full(tab.probs.shape, 1.0 / tab.n_responses)), reward, beta
    )


def _bon_law_argmin(pi, n, reward=None, tie_break="first"):
    """Best-of-N that keeps the *lowest* proxy reward."""
    table = np.asarray(reward, dtype=float)
    return inference.best_of_n_law(pi, n, reward=-table, tie_break=tie_break)


def _bon_bound_no_hacking(n, eps, c_inf):
    """The bound without the ε√N reward-hacking term."""
    return eps * math.sqrt(c_inf) + (1.0 - 1.0 / c_inf) ** n


def _hacking_bound_linear(n, eps):
    """Claims regret >= (1 − 1/e)εN/2 (linear in N)."""
    return (1.0 - math.exp(-1.0)) * eps * n / 2.0


def _itp_fallback_bon(pi, reward, beta, n, phase1="population", r_max=1.0, **kwargs):
    """The fallback returns a best-of-N pick instead of a fresh π_ref draw."""
    law = inference.itp_law(pi, reward, beta, n, phase1, r_max, **kwargs).probs
    tab = as_tabular(pi)
    lam = inference.chi2_threshold(tab, reward, beta)
    q = (1.0 - beta / (r_max - lam)) ** n
    bon = inference.best_of_n_law(tab, n, reward=reward).probs
    return TabularPolicy(np.clip(law + q[:, None] * (bon - tab.probs), 0.0, None))


def _itp_law_population_only(pi, reward, beta, n, phase1="population", r_max=1.0, **kwargs):
    """The population-λ law whatever ``phase1`` (phase 1's estimation error ignored)."""
    return inference.itp_law(pi, reward, beta, n, "population", r_max)


def _itp_sampler_beta_doubled(source, x, N, beta, reward, r_max=1.0, rng=None):
    return inference.inference_time_pessimism(source, x, N, 2.0 * beta, reward, r_max, rng)


def _itp_bound_no_fallback(beta, eps, c_1, n=None, r_min=0.0):
    """The target's bound claimed for every N (the fallback mass forgotten)."""
    return eps * math.sqrt(c_1) + 0.5 * beta * c_1 + eps * eps / (2.0 * beta)


def _minimax_linear_c(eps, c):
    """εC/2 instead of ε√C/2."""
    return eps * c / 2.0


#: (name, Toolkit field, description, function) of each mutant of these rows.
IMPERFECT_MUTANTS = (
    (
        "chi2_beta_not_halved",
        "chi2_regularized",
        "maximiser of E[r] - beta*chi2 (beta/2 forgotten)",
        _chi2_beta_not_halved,
    ),
    (
        "chi2_ignores_ref",
        "chi2_regularized",
        "weights on the uniform law, not pi_ref",
        _chi2_ignores_ref,
    ),
    ("bon_law_argmin_proxy", "best_of_n_law", "keeps the lowest proxy reward", _bon_law_argmin),
    (
        "bon_bound_no_hacking",
        "bon_regret_bound",
        "drops the eps*sqrt(N) term",
        _bon_bound_no_hacking,
    ),
    (
        "hacking_bound_linear",
        "reward_hacking_lower_bound",
        "(1-1/e) eps N / 2: linear in N",
        _hacking_bound_linear,
    ),
    ("itp_fallback_bon", "itp_law", "fallback returns a best-of-N pick", _itp_fallback_bon),
    (
        "itp_law_population_only",
        "itp_law",
        "population lambda whatever phase1",
        _itp_law_population_only,
    ),
    (
        "itp_sampler_beta_doubled",
        "inference_time_pessimism",
        "samples with 2*beta",
        _itp_sampler_beta_doubled,
    ),
    (
        "itp_bound_no_fallback",
        "itp_regret_bound",
        "drops the fallback term (1-beta/(1+beta))^N",
        _itp_bound_no_fallback,
    ),
    (
        "minimax_linear_c",
        "minimax_lower_bound",
        "eps*C/2 instead of eps*sqrt(C)/2",
        _minimax_linear_c,
    ),
)

#: For each row, the mutants it FAILS on (tests/test_verify_imperfect.py runs every pair).
IMPERFECT_KILLS = {
    "check_chi2_regularized": ("chi2_beta_not_halved", "chi2_ignores_ref"),
    "check_bon_imperfect_upper": ("bon_law_argmin_proxy", "bon_bound_no_hacking"),
    "check_reward_hacking": ("bon_law_ignores_n", "hacking_bound_linear"),
    "check_itp_bound": ("itp_fallback_bon", "itp_bound_no_fallback"),
    "check_itp_sampler": ("itp_law_population_only", "itp_sampler_beta_doubled"),
    "check_minimax_two_point": ("minimax_linear_c",),
}
