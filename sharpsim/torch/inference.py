"""Inference-time sharpening on causal LMs through the core: best-of-N, adaptive best-of-N, greedy/beam, power sampling.

* :func:`best_of_n` and :func:`adaptive_best_of_n` are the core's
  :func:`sharpsim.best_of_n` and :func:`sharpsim.adaptive_best_of_n` (Section
  3.1, Eq. (10)) run on :class:`~sharpsim.torch.prompted.PromptedLM`: the same
  loop, oracle accounting and tie rule for a NumPy policy and a real LM. They
  only convert prompts in and texts out.
* :func:`select_best` applies the same pick to candidates already drawn.
* :func:`greedy` and :func:`beam_search` use the model's own ``generate``.
* :func:`power_sample` targets ``π^α`` at the *sequence* level by the
  core's Metropolis-Hastings chain :func:`sharpsim.power_sample_mcmc` over
  suffixes (Karan & Du 2025), run on the same ``PromptedLM``.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Section 3.1, Eq. (10), Lemma I.1.
  Karan & Du, "Reasoning with Sampling: Your Base Model is Smarter Than You
  Think", 2025 (power sampling by block-wise MCMC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import inference as core
from .._validation import check_int, check_real, check_rng
from ..inference._bon_common import _best_position
from .policy import DecodedResponses
from .prompted import PromptedLM
from .rewards import resolve_reward, score_samples

__all__ = [
    "BestOfNResult",
    "AdaptiveBestOfNResult",
    "PowerSampleResult",
    "best_of_n",
    "select_best",
    "adaptive_best_of_n",
    "greedy",
    "beam_search",
    "power_sample",
]


@dataclass(frozen=True)
class BestOfNResult:
    """Best-of-N picks for ``k`` prompts.

    Attributes:
      texts: ``[k]`` picked responses.
      token_ids: ``[k]`` their token ids.
      log_probs: ``log π_base`` of the picks, float ``[k]``.
      queries: sample-and-evaluate queries charged (``k·N``, Definition 3.2).
    """

    texts: list
    token_ids: list
    log_probs: np.ndarray
    queries: int


def _picks(base: PromptedLM, responses, log_probs, queries) -> BestOfNResult:
    rows = base.unpad(responses)
    return BestOfNResult(
        [base.lm.decode(r) for r in rows], rows, np.asarray(log_probs), int(queries)
    )


def select_best(candidates, reward=None) -> BestOfNResult:
    """The best-of-N pick among candidates already drawn, by the core's rule (earliest of the tied maxima).

    Args:
      candidates: :class:`~sharpsim.torch.SampledResponses` (``texts``, ``token_ids``, ``log_probs [k, N]``).
      reward: ``None`` (log-likelihood), ``"length_normalized"`` or a reward object.

    Returns:
      :class:`BestOfNResult` (``queries = k·N``).

    Example:
      >>> from sharpsim.torch.policy import SampledResponses
      >>> c = SampledResponses([["a", "b"]], [[[1], [2]]], np.array([[-2.0, -1.0]]), np.ones((1, 2), bool))
      >>> select_best(c).texts
      ['b']
    """
    scores = score_samples(reward, candidates)
    picks = _best_position(scores, None, "first")
    lp = np.asarray(candidates.log_probs, dtype=float)
    return BestOfNResult(
        texts=[candidates.texts[i][j] for i, j in enumerate(picks)],
        token_ids=[candidates.token_ids[i][j] for i, j in enumerate(picks)],
        log_probs=lp[np.arange(lp.shape[0]), picks],
        queries=int(lp.size),
    )


def best_of_n(
    policy, prompts, N, *, reward=None, rng=None, max_new_tokens=64, temperature=1.0
) -> BestOfNResult:
    """Best-of-N with a self-reward (Section 3.1): the core's :func:`sharpsim.best_of_n` on the LM.

    Args:
      policy: a :class:`~sharpsim.torch.CausalLMPolicy`.
      prompts: ``k`` prompts.
      N: candidates per prompt (``>= 1``).
      reward: ``None`` (log-likelihood, Eq. (2)), ``"length_normalized"``, a
        :class:`~sharpsim.torch.rewards.MajorityVote`, or any core reward object.
      rng: seed or generator (same ``rng`` ⇒ same picks).
      max_new_tokens: response length cap.
      temperature: sampling temperature of the candidates (1 = the base model).

    Returns:
      :class:`BestOfNResult` with ``queries = k·N``.

    Example:
      >>> from sharpsim.torch import tiny_causal_lm, best_of_n
      >>> res = best_of_n(tiny_causal_lm(seed=0), ["2+2="], 4, max_new_tokens=3, rng=0)
      >>> len(res.texts), res.queries
      (1, 4)
    """
    base = PromptedLM(policy, prompts, max_new_tokens=max_new_tokens, temperature=temperature)
    N = check_int(N, "N", minimum=1)
    res = core.best_of_n(
        base,
        np.arange(base.n_contexts),
        N,
        reward=resolve_reward(reward, base.texts),
        rng=check_rng(rng),
    )
    return _picks(base, res.responses, res.log_probs, res.queries)


@dataclass(frozen=True)
class AdaptiveBestOfNResult:
    """Adaptive best-of-N picks (Eq. (10)).

    Attributes:
      texts, token_ids, log_probs: the picks ``[k]``.
      samples_per_prompt: the stopping times ``N_μ(x)``, int ``[k]``.
      capped: whether a prompt hit ``max_N`` before the rule stopped it, bool ``[k]``.
      queries: ``Σ_x N_μ(x)`` (Definition D.1).
    """

    texts: list
    token_ids: list
    log_probs: np.ndarray
    samples_per_prompt: np.ndarray
    capped: np.ndarray
    queries: int


def adaptive_best_of_n(
    policy, prompts, mu_stop, *, max_N=64, rng=None, max_new_tokens=64
) -> AdaptiveBestOfNResult:
    """Adaptive best-of-N (Eq. (10), Lemma I.1): the core's :func:`sharpsim.adaptive_best_of_n` on the LM.

    Draws until ``1 / max_{j<=k} π(y_j|x) <= k/μ_stop`` or ``max_N`` draws
    (real LMs give sequences tiny probabilities, so the uncapped rule may need
    astronomically many), then keeps the most likely draw.

    Args:
      policy: a :class:`~sharpsim.torch.CausalLMPolicy`.
      prompts: ``k`` prompts.
      mu_stop: ``μ_stop > 0``.
      max_N: cap on draws per prompt; capped prompts are flagged in ``capped``.
      rng: seed or generator.
      max_new_tokens: response length cap.

    Returns:
      :class:`AdaptiveBestOfNResult`.

    Example:
      >>> from sharpsim.torch import tiny_causal_lm
      >>> r = adaptive_best_of_n(tiny_causal_lm(seed=0), ["a"], 1.0, max_N=8, max_new_tokens=2, rng=0)
      >>> r.samples_per_prompt.tolist(), r.capped.tolist()
      ([8], [True])
    """
    mu_stop = check_real(mu_stop, "mu_stop", low=0.0, low_open=True)
    max_N = check_int(max_N, "max_N", minimum=1)
    base = PromptedLM(policy, prompts, max_new_tokens=max_new_tokens)
    res = core.adaptive_best_of_n(
        base,
        np.arange(base.n_contexts),
        mu_stop,
        max_samples=max_N,
        rng=check_rng(rng),
        on_cap="flag",
    )
    picks = _picks(base, res.responses, res.log_probs, res.queries)
    return AdaptiveBestOfNResult(
        picks.texts,
        picks.token_ids,
        picks.log_probs,
        np.asarray(res.samples_per_prompt),
        ~np.asarray(res.stopped),
        picks.queries,
    )


def greedy(policy, prompts, *, max_new_tokens=64) -> DecodedResponses:
    """Token-wise greedy decoding through the model's own ``generate`` (Prop. 3.1: not the sequence mode in general)."""
    return policy.decode_greedy(prompts, max_new_tokens=max_new_tokens)


def beam_search(policy, prompts, width, *, max_new_tokens=64) -> DecodedResponses:
    """Beam search of width ``width`` through the model's own ``generate``."""
    width = check_int(width, "width", minimum=1)
    return policy.decode_greedy(prompts, max_new_tokens=max_new_tokens, num_beams=width)


@dataclass(frozen=True)
class PowerSampleResult:
    """Approximate draws from ``π^α`` (one per chain).

    Attributes:
      texts, token_ids: ``[k][n_chains]``.
      log_probs: ``log π(y|x)`` of the final states, float ``[k, n_chains]``.
      acceptance_rate: fraction of accepted Metropolis-Hastings moves, float.
      queries: suffix draws (sample-and-evaluate calls of the model on a prefix):
        ``k · n_chains · n_blocks · (1 + n_mcmc)``, one per block's first draw and
        one per proposed move, ``n_blocks = ⌈max_new_tokens / block_size⌉``.
    """

    texts: list
    token_ids: list
    log_probs: np.ndarray
    acceptance_rate: float
    queries: int


def power_sample(
    policy, prompts, alpha, *, max_new_tokens=64, block_size=16, n_mcmc=4, n_chains=1, rng=None
) -> PowerSampleResult:
    """Sample from ``π^α(y|x) / Z`` by block-wise Metropolis-Hastings (Karan & Du 2025): the core's chain.

    The core's :func:`sharpsim.power_sample_mcmc` run on
    :class:`~sharpsim.torch.prompted.PromptedLM` with Karan & Du's Algorithm 1
    settings: the response grows ``block_size`` tokens at a time, each block
    drawn from the proposal ``q`` (the model at token temperature ``1/α``),
    and after each block ``n_mcmc`` moves cut at a position ``t`` uniform over
    the block-grown prefix, regenerate its suffix with ``q`` and accept with
    probability ``min(1, π^α(y')q(y_{t:}|y_{<t}) / (π^α(y)q(y'_{t:}|y_{<t})))``.
    A cut after the end-of-sequence token proposes the same response. The
    stationary law at each block is ``π^α`` over the first tokens, so the
    final states approach ``π^α`` as ``n_mcmc`` grows; token-level temperature
    ``1/α`` alone is a different law (SPEC §6).

    Args:
      policy: a :class:`~sharpsim.torch.CausalLMPolicy`.
      prompts: ``k`` prompts.
      alpha: the power ``α >= 1``.
      max_new_tokens: final response length cap.
      block_size: tokens added per block (``>= 1``).
      n_mcmc: Metropolis-Hastings moves after each block (``>= 1``).
      n_chains: independent chains (final draws) per prompt.
      rng: seed or generator (same ``rng`` ⇒ same draws).

    Returns:
      :class:`PowerSampleResult`.

    Example:
      >>> from sharpsim.torch import tiny_causal_lm
      >>> r = power_sample(tiny_causal_lm(seed=0), ["a"], 4.0, max_new_tokens=4, block_size=2, n_mcmc=2, rng=0)
      >>> len(r.token_ids[0]), 0.0 <= r.acceptance_rate <= 1.0, r.queries
      (1, True, 6)
    """
    alpha = check_real(alpha, "alpha", low=1.0)
    block_size = check_int(block_size, "block_size", minimum=1)
    n_mcmc = check_int(n_mcmc, "n_mcmc", minimum=1)
    n_chains = check_int(n_chains, "n_chains", minimum=1)
    base = PromptedLM(policy, prompts, max_new_tokens=max_new_tokens)
    x = np.arange(base.n_contexts)
    res = core.power_sample_mcmc(
        base,
        x,
        alpha,
        n_mcmc,
        n_chains,
        check_rng(rng),
        init="proposal",
        proposal_temperature=1.0 / alpha,
        growth_block=block_size,
    )
    n_blocks = -(-base.max_new_tokens // block_size)
    return PowerSampleResult(
        texts=base.texts(res.samples).tolist(),
        token_ids=[base.unpad(group) for group in res.samples],
        log_probs=base.log_prob(x[:, None], res.samples),
        acceptance_rate=res.acceptance_rate,
        queries=base.n_contexts * n_chains * n_blocks * (1 + n_mcmc),
    )
