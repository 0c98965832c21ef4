"""Plausible wrong implementations: each ``verify`` row names the ones it FAILS on.

A mutant is one :class:`~sharpsim.theory.verify.Toolkit` field replaced by a
version that is wrong in a way the paper forbids (a forgotten factor, an
inverted convention, a tie broken by floating point, the base model handed
back unchanged; the functions are in :mod:`.wrong`). ``KILLS`` maps every
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

from collections.abc import Callable
from dataclasses import dataclass

from . import wrong
from .toolkit import Toolkit

__all__ = ["Mutant", "MUTANTS", "KILLS"]


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


_ALL = (
    Mutant(
        "bon_law_ignores_n", "best_of_n_law", "returns π_base whatever N", wrong.bon_law_ignores_n
    ),
    Mutant(
        "bon_law_exact_ties",
        "best_of_n_law",
        "ties decided by exact float equality (ulp ties split wrong)",
        wrong.bon_law_exact_ties,
    ),
    Mutant("bon_sampler_one_short", "best_of_n", "draws N-1 responses", wrong.best_of_n_one_short),
    Mutant(
        "failure_uses_max",
        "bon_failure_probability",
        "(1 - max π)^N: one mode, not the mode set",
        wrong.failure_uses_max,
    ),
    Mutant(
        "greedy_argmin", "greedy_decode", "least likely token at each step", wrong.greedy_argmin
    ),
    Mutant(
        "greedy_returns_mode",
        "greedy_decode",
        "the exact mode (Viterbi), not token-wise greedy",
        wrong.greedy_returns_mode,
    ),
    Mutant(
        "tilted_wrong_exponent",
        "tilted",
        "π^(1+β) instead of π^(1+1/β)",
        wrong.tilted_wrong_exponent,
    ),
    Mutant(
        "coverage_adaptive",
        "coverage",
        "E[1/max π] (C̄_cov) instead of E[1/π(y*)]",
        wrong.coverage_adaptive,
    ),
    Mutant(
        "coverage_ignores_mu",
        "coverage",
        "uniform average over prompts whatever μ",
        wrong.coverage_ignores_mu,
    ),
    Mutant(
        "concentrability_reversed",
        "concentrability",
        "arguments swapped",
        wrong.concentrability_reversed,
    ),
    Mutant("margin_plus_one", "margin", "ratio instead of ratio - 1", wrong.margin_plus_one),
    Mutant("kl_reversed", "kl_divergence", "KL(q||p) for KL(p||q)", wrong.kl_reversed),
    Mutant(
        "objective_ignores_beta",
        "regularized_objective",
        "J_1 whatever β",
        wrong.objective_ignores_beta,
    ),
    Mutant(
        "mode_mask_first_argmax",
        "mode_mask",
        "one argmax per prompt, ties dropped",
        wrong.mode_mask_first_argmax,
    ),
    Mutant(
        "adaptive_samples_halved",
        "adaptive_best_of_n_expected_samples",
        "E[N_μ]/2",
        wrong.adaptive_samples_halved,
    ),
    Mutant(
        "adaptive_law_fixed_n",
        "adaptive_best_of_n_law",
        "best-of-⌈μ⌉ law, stopping rule ignored",
        wrong.adaptive_law_fixed_n,
    ),
    Mutant(
        "adaptive_sampler_stops_early",
        "adaptive_best_of_n",
        "stops at k·max p >= μ/2",
        wrong.adaptive_sampler_stops_early,
    ),
    Mutant(
        "sft_returns_base",
        "sft_sharpening",
        "returns π_base as the fitted model",
        wrong.sft_returns_base,
    ),
    Mutant(
        "sft_ignores_n", "sft_sharpening", "fits best-of-1 picks whatever N", wrong.sft_ignores_n
    ),
    Mutant(
        "sharpening_error_confuses_delta",
        "sharpening_error",
        "P[π̂(y*) < δ] instead of < 1-δ",
        wrong.sharpening_error_mass_below_delta,
    ),
    Mutant(
        "expected_sft_error_ignores_n",
        "expected_sft_error",
        "exact error of best-of-1 SFT",
        wrong.expected_sft_error_ignores_n,
    ),
    Mutant("plateau_reversed", "sft_error_plateau", "1 - plateau", wrong.plateau_reversed),
    Mutant(
        "adaptive_queries_per_prompt",
        "expected_adaptive_sft_error",
        "E[m]/n reported as E[m]",
        wrong.adaptive_queries_per_prompt,
    ),
    Mutant("xpo_beta_inverted", "xpo_sharpening", "1/β for β", wrong.xpo_beta_inverted),
    Mutant("dpo_beta_inverted", "dpo_sharpening", "1/β for β", wrong.dpo_beta_inverted),
    Mutant(
        "bayes_error_unweighted",
        "lower_bound_bayes_error",
        "hard-prompt miss probability not weighted by Δ",
        wrong.bayes_error_unweighted,
    ),
    Mutant(
        "bon_sampler_returns_base",
        "best_of_n",
        "best-of-1: base draws",
        wrong.bon_sampler_returns_base,
    ),
    Mutant(
        "adaptive_sampler_returns_base",
        "adaptive_best_of_n",
        "stops after one draw: base draws",
        wrong.adaptive_sampler_returns_base,
    ),
    Mutant(
        "adaptive_law_returns_base",
        "adaptive_best_of_n_law",
        "returns π_base",
        wrong.adaptive_law_returns_base,
    ),
    Mutant("power_law_returns_base", "power_law", "returns π_base", wrong.power_law_returns_base),
    Mutant(
        "power_mcmc_returns_base",
        "power_sample_mcmc",
        "α = 1 chains: base draws",
        wrong.power_mcmc_returns_base,
    ),
    Mutant(
        "adaptive_sft_returns_base",
        "adaptive_sft_sharpening",
        "returns π_base as the fitted model",
        wrong.adaptive_sft_returns_base,
    ),
    Mutant("dpo_returns_base", "dpo_sharpening", "returns π_base", wrong.dpo_returns_base),
    Mutant(
        "xpo_returns_base",
        "xpo_sharpening",
        "returns π_base (iterates intact)",
        wrong.xpo_returns_base,
    ),
)


#: Every mutant by name.
MUTANTS = {m.name: m for m in _ALL}


#: For each check, the mutants it FAILS on (tested in tests/test_verify.py).
KILLS = {
    "check_bon_law": ("bon_law_ignores_n", "bon_law_exact_ties"),
    "check_bon_sampler": ("bon_sampler_one_short", "bon_law_ignores_n", "bon_sampler_returns_base"),
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
        "adaptive_sampler_returns_base",
        "adaptive_law_returns_base",
    ),
    "check_prop_e1": ("mode_mask_first_argmax", "greedy_returns_mode"),
    "check_prop_e2": ("tilted_wrong_exponent",),
    "check_power_sampling": ("power_law_returns_base", "power_mcmc_returns_base"),
    "check_sft_slopes": ("coverage_ignores_mu", "expected_sft_error_ignores_n", "plateau_reversed"),
    "check_adaptive_slope": (
        "adaptive_queries_per_prompt",
        "expected_sft_error_ignores_n",
        "plateau_reversed",
        "adaptive_sft_returns_base",
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
        "xpo_returns_base",
        "dpo_returns_base",
    ),
}
