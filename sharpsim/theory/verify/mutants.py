"""Plausible wrong implementations: each ``verify`` row names the ones it FAILS on.

A mutant is one :class:`~sharpsim.theory.verify.Toolkit` field replaced by a
version that is wrong in a way the paper forbids (a forgotten factor, an
inverted convention, a tie broken by floating point). ``KILLS`` maps every
check to the mutants it must catch; ``tests/test_verify.py`` runs each pair
and asserts the row FAILS, and the report lists them per row
(``CheckResult.mutants_killed``).

Example:
  >>> from sharpsim.theory.verify.mutants import MUTANTS, KILLS
  >>> MUTANTS["bon_law_ignores_n"].replaces
  'best_of_n_law'
  >>> "bon_law_ignores_n" in KILLS["check_bon_law"]
  True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ... import algorithms, inference, measures
from ...policies import TabularPolicy, as_tabular
from ...rewards import resolve_reward
from .. import instances
from .toolkit import Toolkit


@dataclass(frozen=True)
class Mutant:
    """A wrong version of one toolkit function.

    Attributes:
      name: short identifier (``"bon_law_ignores_n"``).
      replaces: the :class:`Toolkit` field it replaces.
      description: what is wrong, in words.
      function: the wrong implementation (same signature as the original).
    """

    name: str
    replaces: str
    description: str
    function: Callable

    def toolkit(self, base: Toolkit | None = None) -> Toolkit:
        """``base`` (default: sharpsim's own) with this mutant swapped in."""
        return (Toolkit.default() if base is None else base).with_(**{self.replaces: self.function})


def _bon_law_ignores_n(pi, n, reward=None, tie_break="first"):
    return as_tabular(pi)


def _bon_law_exact_ties(pi, n, reward=None, tie_break="first"):
    """``G(y)^N - G_<(y)^N`` split ``∝ π`` with ties decided by exact float equality (0.1.0's rule)."""
    tab = as_tabular(pi)
    r = tab.log_probs if reward is None else resolve_reward(reward).table(pi)
    p = tab.probs
    out = np.zeros_like(p)
    for x in range(p.shape[0]):
        for y in range(p.shape[1]):
            group = p[x][r[x] == r[x, y]].sum()
            below_or_equal, below = p[x][r[x] <= r[x, y]].sum(), p[x][r[x] < r[x, y]].sum()
            out[x, y] = (below_or_equal**n - below**n) * p[x, y] / group if group > 0 else 0.0
    return TabularPolicy(out / out.sum(axis=1, keepdims=True))


def _best_of_n_one_short(source, x, N, *args, **kwargs):
    return inference.best_of_n(source, x, max(1, N - 1), *args, **kwargs)


def _failure_uses_max(pi, N, gamma=0.0):
    """``(1 - max_y π(y))^N``: the mass of one mode instead of the whole mode set."""
    return (1.0 - as_tabular(pi).probs.max(axis=1)) ** N


def _greedy_argmin(policy, x):
    x = np.asarray(x)
    prefix = np.zeros((x.shape[0], 0), dtype=np.int64)
    for _ in range(policy.horizon):
        logp = policy.next_token_log_probs(x, prefix)
        step = np.argmin(np.where(np.isfinite(logp), logp, np.inf), axis=-1)
        prefix = np.concatenate([prefix, step[:, None]], axis=1)
    return prefix


def _greedy_returns_mode(policy, x):
    """The exact sequence mode (Viterbi) passed off as greedy decoding."""
    return policy.mode(np.asarray(x))


def _tilted_wrong_exponent(pi, beta, reward=None, *args, **kwargs):
    """``π^(1+β)`` instead of ``π^(1+1/β)``."""
    return measures.tilted(pi, 1.0 / beta, reward, *args, **kwargs)


def _coverage_adaptive(pi, mu=None, gamma=0.0, p=1):
    """``E_x[1/max_y π(y|x)]`` (the adaptive coverage C̄_cov) in place of ``E_x[1/π(y*(x)|x)]``."""
    tab = as_tabular(pi)
    w = np.full(tab.n_contexts, 1.0 / tab.n_contexts) if mu is None else np.asarray(mu, float)
    return float(w @ (1.0 / tab.probs.max(axis=1)))


def _coverage_ignores_mu(pi, mu=None, gamma=0.0, p=1):
    """``C_cov`` averaged over prompts uniformly, whatever ``μ``."""
    return measures.coverage(pi, None, gamma, p)


def _concentrability_reversed(p, q, mu=None, power=1.0):
    return measures.concentrability(q, p, mu, power)


def _margin_plus_one(pi, mu=None, gamma=0.0):
    """The ratio ``π(y*)/π(y')`` instead of ``ratio − 1``."""
    return measures.margin(pi, mu, gamma) + 1.0


def _kl_reversed(p, q, *args, **kwargs):
    return measures.kl_divergence(q, p, *args, **kwargs)


def _objective_ignores_beta(pi, base, beta, reward=None, mu=None):
    return measures.regularized_objective(pi, base, 1.0, reward, mu)


def _mode_mask_first_argmax(pi, gamma=0.0):
    """One argmax per prompt (ties dropped)."""
    tab = as_tabular(pi)
    mask = np.zeros(tab.probs.shape, dtype=bool)
    mask[np.arange(tab.n_contexts), tab.probs.argmax(axis=1)] = True
    return mask


def _adaptive_samples_halved(pi, mu_stop):
    return inference.adaptive_best_of_n_expected_samples(pi, mu_stop) / 2.0


def _adaptive_law_fixed_n(pi, mu_stop):
    """The best-of-⌈μ⌉ law: the stopping rule ignored."""
    return inference.best_of_n_law(pi, max(1, math.ceil(mu_stop)))


def _adaptive_sampler_stops_early(source, x, mu_stop, *args, **kwargs):
    """Stops at ``k·max p ≥ μ/2``."""
    return inference.adaptive_best_of_n(source, x, mu_stop / 2.0, *args, **kwargs)


def _sft_returns_base(base, n, N, model_class, mu=None, rng=None, **kwargs):
    """Runs SFT but returns ``π_base`` as the fitted model."""
    result = algorithms.sft_sharpening(base, n, N, model_class, mu, rng, **kwargs)
    result.policy = as_tabular(base)
    return result


def _sft_ignores_n(base, n, N, model_class, mu=None, rng=None, **kwargs):
    """Fits raw samples (best-of-1) whatever ``N``."""
    return algorithms.sft_sharpening(base, n, 1, model_class, mu, rng, **kwargs)


def _sharpening_error_mass_below_delta(model, base, delta, mu=None, gamma=0.0):
    """``P_x[π̂(y*|x) < δ]``: the level confused with the failure mass."""
    return measures.sharpening_error(model, base, 1.0 - delta, mu, gamma)


def _expected_sft_error_ignores_n(base, n, N, delta, *args, **kwargs):
    return algorithms.expected_sft_error(base, n, 1, delta, *args, **kwargs)


def _plateau_reversed(base, N, delta, *args, **kwargs):
    """``1 − plateau``: the BoN-law error counted where the law *is* sharp."""
    return 1.0 - algorithms.sft_error_plateau(base, N, delta, *args, **kwargs)


def _adaptive_queries_per_prompt(base, n, delta, *args, **kwargs):
    """``E[N_μ]`` per prompt reported as the total ``E[m]`` (the factor ``n`` forgotten)."""
    error, queries = algorithms.expected_adaptive_sft_error(base, n, delta, *args, **kwargs)
    return error, queries / n


def _xpo_beta_inverted(base, T, beta, alpha, model_class, mu=None, rng=None, **kwargs):
    """``1/β`` where ``β`` belongs: the KL weight confused with the temperature."""
    return algorithms.xpo_sharpening(base, T, 1.0 / beta, alpha, model_class, mu, rng, **kwargs)


def _dpo_beta_inverted(base, n, beta, model_class, mu=None, rng=None, **kwargs):
    return algorithms.dpo_sharpening(base, n, 1.0 / beta, model_class, mu, rng, **kwargs)


def _bayes_error_unweighted(d, M, Delta, n, N, *args, **kwargs):
    """The per-hard-prompt miss probability, not weighted by the hard prompts' mass Δ."""
    return instances.lower_bound_bayes_error(d, M, Delta, n, N, *args, **kwargs) / Delta


_ALL = (
    Mutant("bon_law_ignores_n", "best_of_n_law", "returns π_base whatever N", _bon_law_ignores_n),
    Mutant(
        "bon_law_exact_ties",
        "best_of_n_law",
        "ties decided by exact float equality (ulp ties split wrong)",
        _bon_law_exact_ties,
    ),
    Mutant("bon_sampler_one_short", "best_of_n", "draws N-1 responses", _best_of_n_one_short),
    Mutant(
        "failure_uses_max",
        "bon_failure_probability",
        "(1 - max π)^N: one mode, not the mode set",
        _failure_uses_max,
    ),
    Mutant("greedy_argmin", "greedy_decode", "least likely token at each step", _greedy_argmin),
    Mutant(
        "greedy_returns_mode",
        "greedy_decode",
        "the exact mode (Viterbi), not token-wise greedy",
        _greedy_returns_mode,
    ),
    Mutant(
        "tilted_wrong_exponent", "tilted", "π^(1+β) instead of π^(1+1/β)", _tilted_wrong_exponent
    ),
    Mutant(
        "coverage_adaptive",
        "coverage",
        "E[1/max π] (C̄_cov) instead of E[1/π(y*)]",
        _coverage_adaptive,
    ),
    Mutant(
        "coverage_ignores_mu",
        "coverage",
        "uniform average over prompts whatever μ",
        _coverage_ignores_mu,
    ),
    Mutant(
        "concentrability_reversed",
        "concentrability",
        "arguments swapped",
        _concentrability_reversed,
    ),
    Mutant("margin_plus_one", "margin", "ratio instead of ratio - 1", _margin_plus_one),
    Mutant("kl_reversed", "kl_divergence", "KL(q||p) for KL(p||q)", _kl_reversed),
    Mutant(
        "objective_ignores_beta", "regularized_objective", "J_1 whatever β", _objective_ignores_beta
    ),
    Mutant(
        "mode_mask_first_argmax",
        "mode_mask",
        "one argmax per prompt, ties dropped",
        _mode_mask_first_argmax,
    ),
    Mutant(
        "adaptive_samples_halved",
        "adaptive_best_of_n_expected_samples",
        "E[N_μ]/2",
        _adaptive_samples_halved,
    ),
    Mutant(
        "adaptive_law_fixed_n",
        "adaptive_best_of_n_law",
        "best-of-⌈μ⌉ law, stopping rule ignored",
        _adaptive_law_fixed_n,
    ),
    Mutant(
        "adaptive_sampler_stops_early",
        "adaptive_best_of_n",
        "stops at k·max p >= μ/2",
        _adaptive_sampler_stops_early,
    ),
    Mutant(
        "sft_returns_base",
        "sft_sharpening",
        "returns π_base as the fitted model",
        _sft_returns_base,
    ),
    Mutant("sft_ignores_n", "sft_sharpening", "fits best-of-1 picks whatever N", _sft_ignores_n),
    Mutant(
        "sharpening_error_confuses_delta",
        "sharpening_error",
        "P[π̂(y*) < δ] instead of < 1-δ",
        _sharpening_error_mass_below_delta,
    ),
    Mutant(
        "expected_sft_error_ignores_n",
        "expected_sft_error",
        "exact error of best-of-1 SFT",
        _expected_sft_error_ignores_n,
    ),
    Mutant("plateau_reversed", "sft_error_plateau", "1 - plateau", _plateau_reversed),
    Mutant(
        "adaptive_queries_per_prompt",
        "expected_adaptive_sft_error",
        "E[m]/n reported as E[m]",
        _adaptive_queries_per_prompt,
    ),
    Mutant("xpo_beta_inverted", "xpo_sharpening", "1/β for β", _xpo_beta_inverted),
    Mutant("dpo_beta_inverted", "dpo_sharpening", "1/β for β", _dpo_beta_inverted),
    Mutant(
        "bayes_error_unweighted",
        "lower_bound_bayes_error",
        "hard-prompt miss probability not weighted by Δ",
        _bayes_error_unweighted,
    ),
)

#: Every mutant by name.
MUTANTS = {m.name: m for m in _ALL}

#: For each check, the mutants it FAILS on (tested in tests/test_verify.py).
KILLS = {
    "check_bon_law": ("bon_law_ignores_n", "bon_law_exact_ties"),
    "check_bon_sampler": ("bon_sampler_one_short", "bon_law_ignores_n"),
    "check_prop_c1": ("failure_uses_max", "bon_law_ignores_n", "mode_mask_first_argmax"),
    "check_prop_3_1": ("greedy_argmin", "greedy_returns_mode"),
    "check_lemma_4_1": ("coverage_adaptive", "concentrability_reversed", "tilted_wrong_exponent"),
    "check_margin_sharpness": ("margin_plus_one", "tilted_wrong_exponent"),
    "check_j_beta_identity": ("kl_reversed", "objective_ignores_beta", "tilted_wrong_exponent"),
    "check_tilted_limit": ("tilted_wrong_exponent", "mode_mask_first_argmax"),
    "check_lemma_i1": (
        "adaptive_samples_halved",
        "adaptive_law_fixed_n",
        "adaptive_sampler_stops_early",
    ),
    "check_prop_e1": ("mode_mask_first_argmax", "greedy_returns_mode"),
    "check_prop_e2": ("tilted_wrong_exponent",),
    "check_sft_slopes": ("coverage_ignores_mu", "expected_sft_error_ignores_n", "plateau_reversed"),
    "check_adaptive_slope": (
        "adaptive_queries_per_prompt",
        "expected_sft_error_ignores_n",
        "plateau_reversed",
    ),
    "check_sft_bound": (
        "sft_returns_base",
        "sft_ignores_n",
        "sharpening_error_confuses_delta",
        "expected_sft_error_ignores_n",
        "coverage_ignores_mu",
    ),
    "check_lower_bound_phase": ("bayes_error_unweighted",),
    "check_separation": (
        "expected_sft_error_ignores_n",
        "margin_plus_one",
        "xpo_beta_inverted",
        "dpo_beta_inverted",
    ),
}

# Imperfect-reward rows (verify/imperfect.py) bring their own mutants.
from .imperfect_mutants import IMPERFECT_KILLS, IMPERFECT_MUTANTS  # noqa: E402

MUTANTS.update({name: Mutant(name, field, text, fn) for name, field, text, fn in IMPERFECT_MUTANTS})
KILLS.update(IMPERFECT_KILLS)

__all__ = ["Mutant", "MUTANTS", "KILLS"]
