"""The wrong implementations the mutants swap in: each one plausible, each one forbidden by the paper.

Same signatures as the :class:`~sharpsim.theory.verify.Toolkit` fields they
replace; the catalogue that names them and the rows they fail is
:mod:`.mutants`. The last group hands back the base model (or its law)
unchanged: every algorithm's row must notice.
"""

from __future__ import annotations

import math

import numpy as np

from ... import algorithms, inference, measures
from ...policies import TabularPolicy, as_tabular
from ...rewards import resolve_reward
from .. import instances


def bon_law_ignores_n(pi, n, reward=None, tie_break="first"):
    return as_tabular(pi)


def bon_law_exact_ties(pi, n, reward=None, tie_break="first"):
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


def best_of_n_one_short(source, x, N, *args, **kwargs):
    return inference.best_of_n(source, x, max(1, N - 1), *args, **kwargs)


def failure_uses_max(pi, N, gamma=0.0):
    """``(1 - max_y π(y))^N``: the mass of one mode instead of the whole mode set."""
    return (1.0 - as_tabular(pi).probs.max(axis=1)) ** N


def greedy_argmin(policy, x):
    x = np.asarray(x)
    prefix = np.zeros((x.shape[0], 0), dtype=np.int64)
    for _ in range(policy.horizon):
        logp = policy.next_token_log_probs(x, prefix)
        step = np.argmin(np.where(np.isfinite(logp), logp, np.inf), axis=-1)
        prefix = np.concatenate([prefix, step[:, None]], axis=1)
    return prefix


def greedy_returns_mode(policy, x):
    """The exact sequence mode (Viterbi) passed off as greedy decoding."""
    return policy.mode(np.asarray(x))


def tilted_wrong_exponent(pi, beta, reward=None, *args, **kwargs):
    """``π^(1+β)`` instead of ``π^(1+1/β)``."""
    return measures.tilted(pi, 1.0 / beta, reward, *args, **kwargs)


def coverage_adaptive(pi, mu=None, gamma=0.0, p=1):
    """``E_x[1/max_y π(y|x)]`` (the adaptive coverage C̄_cov) in place of ``E_x[1/π(y*(x)|x)]``."""
    tab = as_tabular(pi)
    w = np.full(tab.n_contexts, 1.0 / tab.n_contexts) if mu is None else np.asarray(mu, float)
    return float(w @ (1.0 / tab.probs.max(axis=1)))


def coverage_ignores_mu(pi, mu=None, gamma=0.0, p=1):
    """``C_cov`` averaged over prompts uniformly, whatever ``μ``."""
    return measures.coverage(pi, None, gamma, p)


def concentrability_reversed(p, q, mu=None, power=1.0):
    return measures.concentrability(q, p, mu, power)


def margin_plus_one(pi, mu=None, gamma=0.0):
    """The ratio ``π(y*)/π(y')`` instead of ``ratio − 1``."""
    return measures.margin(pi, mu, gamma) + 1.0


def kl_reversed(p, q, *args, **kwargs):
    return measures.kl_divergence(q, p, *args, **kwargs)


def objective_ignores_beta(pi, base, beta, reward=None, mu=None):
    return measures.regularized_objective(pi, base, 1.0, reward, mu)


def mode_mask_first_argmax(pi, gamma=0.0):
    """One argmax per prompt (ties dropped)."""
    tab = as_tabular(pi)
    mask = np.zeros(tab.probs.shape, dtype=bool)
    mask[np.arange(tab.n_contexts), tab.probs.argmax(axis=1)] = True
    return mask


def adaptive_samples_halved(pi, mu_stop):
    return inference.adaptive_best_of_n_expected_samples(pi, mu_stop) / 2.0


def adaptive_law_fixed_n(pi, mu_stop):
    """The best-of-⌈μ⌉ law: the stopping rule ignored."""
    return inference.best_of_n_law(pi, max(1, math.ceil(mu_stop)))


def adaptive_sampler_stops_early(source, x, mu_stop, *args, **kwargs):
    """Stops at ``k·max p ≥ μ/2``."""
    return inference.adaptive_best_of_n(source, x, mu_stop / 2.0, *args, **kwargs)


def sft_returns_base(base, n, N, model_class, mu=None, rng=None, **kwargs):
    """Runs SFT but returns ``π_base`` as the fitted model."""
    result = algorithms.sft_sharpening(base, n, N, model_class, mu, rng, **kwargs)
    result.policy = as_tabular(base)
    return result


def sft_ignores_n(base, n, N, model_class, mu=None, rng=None, **kwargs):
    """Fits raw samples (best-of-1) whatever ``N``."""
    return algorithms.sft_sharpening(base, n, 1, model_class, mu, rng, **kwargs)


def sharpening_error_mass_below_delta(model, base, delta, mu=None, gamma=0.0):
    """``P_x[π̂(y*|x) < δ]``: the level confused with the failure mass."""
    return measures.sharpening_error(model, base, 1.0 - delta, mu, gamma)


def expected_sft_error_ignores_n(base, n, N, delta, *args, **kwargs):
    return algorithms.expected_sft_error(base, n, 1, delta, *args, **kwargs)


def plateau_reversed(base, N, delta, *args, **kwargs):
    """``1 − plateau``: the BoN-law error counted where the law *is* sharp."""
    return 1.0 - algorithms.sft_error_plateau(base, N, delta, *args, **kwargs)


def adaptive_queries_per_prompt(base, n, delta, *args, **kwargs):
    """``E[N_μ]`` per prompt reported as the total ``E[m]`` (the factor ``n`` forgotten)."""
    error, queries = algorithms.expected_adaptive_sft_error(base, n, delta, *args, **kwargs)
    return error, queries / n


def xpo_beta_inverted(base, T, beta, alpha, model_class, mu=None, rng=None, **kwargs):
    """``1/β`` where ``β`` belongs: the KL weight confused with the temperature."""
    return algorithms.xpo_sharpening(base, T, 1.0 / beta, alpha, model_class, mu, rng, **kwargs)


def dpo_beta_inverted(base, n, beta, model_class, mu=None, rng=None, **kwargs):
    return algorithms.dpo_sharpening(base, n, 1.0 / beta, model_class, mu, rng, **kwargs)


def bayes_error_unweighted(d, M, Delta, n, N, *args, **kwargs):
    """The per-hard-prompt miss probability, not weighted by the hard prompts' mass Δ."""
    return instances.lower_bound_bayes_error(d, M, Delta, n, N, *args, **kwargs) / Delta


def bon_sampler_returns_base(source, x, N, *args, **kwargs):
    """Best-of-1: the base model's own draws, whatever ``N``."""
    return inference.best_of_n(source, x, 1, *args, **kwargs)


def adaptive_sampler_returns_base(source, x, mu_stop, *args, **kwargs):
    """Stops after the first draw (``μ`` → 0): the base model's own draws."""
    return inference.adaptive_best_of_n(source, x, 1e-300, *args, **kwargs)


def adaptive_law_returns_base(pi, mu_stop):
    return as_tabular(pi)


def power_law_returns_base(policy, alpha):
    return as_tabular(policy)


def power_mcmc_returns_base(policy, x, alpha, n_steps, n_chains=1, rng=None, init=None):
    """Chains at ``α = 1`` (every move accepted): draws of the base model, whatever ``α``."""
    return inference.power_sample_mcmc(policy, x, 1.0, n_steps, n_chains, rng, init)


def adaptive_sft_returns_base(base, n, delta, model_class, mu=None, rng=None, **kwargs):
    """Runs adaptive SFT but returns ``π_base`` as the fitted model."""
    result = algorithms.adaptive_sft_sharpening(base, n, delta, model_class, mu, rng, **kwargs)
    result.policy = base
    return result


def dpo_returns_base(base, n, beta, model_class, mu=None, rng=None, **kwargs):
    """Runs DPO but returns ``π_base`` as the fitted model."""
    result = algorithms.dpo_sharpening(base, n, beta, model_class, mu, rng, **kwargs)
    result.policy = base
    return result


def xpo_returns_base(base, T, beta, alpha, model_class, mu=None, rng=None, **kwargs):
    """Runs XPO (iterates and diagnostics intact) but returns ``π_base`` as the selected model."""
    result = algorithms.xpo_sharpening(base, T, beta, alpha, model_class, mu, rng, **kwargs)
    result.policy = base
    return result
