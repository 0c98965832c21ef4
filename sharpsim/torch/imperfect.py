"""Best-of-N with a proxy self-reward on a real language model: the exact regret curve over a sampled pool (SPEC §11).

A real model's responses cannot be enumerated, so ``π_ref`` is replaced by
the empirical law of a pool of ``M`` i.i.d. candidates per prompt (one
generation pass, ``k·M`` queries). Over that law best-of-``N`` has the exact
law of the core (:func:`sharpsim.pool_bon_true_values`), for every ``N`` at
once. The true reward ``r*`` is the exact log-likelihood ``log π(y|x)``
(Eq. 2) and the proxy ``r̂`` a cheaper self-reward (by default the
length-normalised likelihood, Appendix A.2). The regret at ``N`` is
``J(BoN_N by r*) − J(BoN_N by r̂)`` under ``r*``: the likelihood lost by
ranking with the proxy (``≥ 0``, since for the same draws the ``r*``-best
draw maximises ``r*``).

References:
  Huang, Block, Liu, Jiang, Krishnamurthy, Foster, ICML 2025 (arXiv 2503.21878);
  Huang et al., ICLR 2025 (arXiv 2412.01951), Eq. (2), Appendix A.2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_int
from ..inference import pool_bon_true_values
from .rewards import score_samples

__all__ = ["LMRegretCurve", "lm_bon_regret_curve"]


@dataclass(frozen=True)
class LMRegretCurve:
    """Output of :func:`lm_bon_regret_curve`.

    Attributes:
      ns: the ``N`` values, int ``[n]``.
      value_proxy: ``E[log π(pick)]`` of best-of-``N`` ranked by the proxy, ``[k, n]``.
      value_true: the same ranked by ``log π`` itself, ``[k, n]``.
      regret: ``mean_x(value_true − value_proxy)``, ``[n]``.
      candidates: the sampled pool (``SampledResponses``).
      queries: ``k·M`` (the pool; the curve itself needs no further query).
    """

    ns: np.ndarray
    value_proxy: np.ndarray
    value_true: np.ndarray
    regret: np.ndarray
    candidates: object
    queries: int


def lm_bon_regret_curve(
    policy,
    prompts,
    pool_size,
    ns,
    *,
    proxy="length_normalized",
    max_new_tokens=32,
    temperature=1.0,
    rng=None,
) -> LMRegretCurve:
    """Exact regret of best-of-``N`` by a proxy self-reward, over a pool of sampled candidates, for every ``N``.

    Args:
      policy: a :class:`~sharpsim.torch.CausalLMPolicy`.
      prompts: ``k`` prompts.
      pool_size: ``M >= 1`` candidates per prompt.
      ns: integers ``N >= 1`` (``N > M`` is allowed: draws are with replacement).
      proxy: the proxy reward (``"length_normalized"``, ``"log_likelihood"`` or a
        reward object, see :mod:`sharpsim.torch.rewards`).
      max_new_tokens, temperature: as :meth:`CausalLMPolicy.sample`.
      rng: seed or generator of the pool.

    Returns:
      :class:`LMRegretCurve`.

    Example:
      >>> from sharpsim.torch import tiny_causal_lm
      >>> out = lm_bon_regret_curve(tiny_causal_lm(seed=0), ["2+2="], 8, [1, 4], max_new_tokens=4, rng=0)
      >>> out.value_true.shape, out.queries, bool(abs(out.regret[0]) < 1e-12)
      ((1, 2), 8, True)
    """
    pool_size = check_int(pool_size, "pool_size", minimum=1)
    cands = policy.sample(
        prompts, pool_size, max_new_tokens=max_new_tokens, temperature=temperature, rng=rng
    )
    true = np.asarray(cands.log_probs, dtype=float)
    guess = score_samples(proxy, cands)
    value_proxy = pool_bon_true_values(guess, true, ns)
    value_true = pool_bon_true_values(true, true, ns)
    return LMRegretCurve(
        ns=np.array([int(n) for n in np.atleast_1d(ns)]),
        value_proxy=value_proxy,
        value_true=value_true,
        regret=np.mean(value_true - value_proxy, axis=0),
        candidates=cands,
        queries=int(true.size),
    )
