"""Inference-time sharpening on causal LMs through the core: best-of-N, adaptive best-of-N, greedy/beam, power sampling.

* :func:`best_of_n` and :func:`adaptive_best_of_n` are the core's
  :func:`sharpsim.best_of_n` and :func:`sharpsim.adaptive_best_of_n` (Section
  3.1, Eq. (10)) run on :class:`~sharpsim.torch.prompted.PromptedLM`: the same
  loop, oracle accounting and tie rule for a NumPy policy and a real LM. They
  only convert prompts in and texts out.
* :func:`select_best` applies the same pick to candidates already drawn.
* :func:`greedy` and :func:`beam_search` use the model's own ``generate``.
* :func:`power_sample` targets ``π^α`` at the *sequence* level by
  Metropolis-Hastings over suffixes (Karan & Du 2025).

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
      queries: generated tokens (proposal draws), a proxy of the compute spent.
    """

    texts: list
    token_ids: list
    log_probs: np.ndarray
    acceptance_rate: float
    queries: int


def power_sample(
    policy, prompts, alpha, *, max_new_tokens=64, block_size=16, n_mcmc=4, n_chains=1, rng=None
) -> PowerSampleResult:
    """Sample from ``π^α(y|x) / Z`` over responses by block-wise Metropolis-Hastings (Karan & Du 2025).

    The response grows in blocks of ``block_size`` tokens. Each block is first
    drawn from the proposal ``q`` = the model at token temperature ``1/α``;
    then ``n_mcmc`` moves each pick a position ``t`` uniformly in the current
    response, regenerate the suffix from ``t`` with ``q`` (up to the block's
    length, stopping at end-of-sequence) and accept with probability

    ``min(1, [π(y')^α q(y_{t:}|y_{<t}) / |y'|] / [π(y)^α q(y'_{t:}|y_{<t}) / |y|])``,

    the correct Metropolis-Hastings ratio for this proposal (the ``1/|y|``
    terms are the probabilities of choosing ``t``). The stationary law at each
    block is ``π^α`` over responses of at most that many tokens, so the final
    states approach ``π^α`` as ``n_mcmc`` grows. Token-level temperature ``1/α``
    alone is a different distribution (SPEC §6).

    Args:
      policy: a :class:`~sharpsim.torch.CausalLMPolicy`.
      prompts: ``k`` prompts.
      alpha: the power ``α >= 1``.
      max_new_tokens: final response length cap.
      block_size: tokens added per block.
      n_mcmc: Metropolis-Hastings moves after each block.
      n_chains: independent chains (final draws) per prompt.
      rng: seed or generator.

    Returns:
      :class:`PowerSampleResult`.

    Example:
      >>> from sharpsim.torch import tiny_causal_lm
      >>> r = power_sample(tiny_causal_lm(seed=0), ["a"], 4.0, max_new_tokens=4, block_size=2, n_mcmc=2, rng=0)
      >>> len(r.token_ids[0]), 0.0 <= r.acceptance_rate <= 1.0
      (1, True)
    """
    alpha = check_real(alpha, "alpha", low=1.0)
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens", minimum=1)
    block_size = check_int(block_size, "block_size", minimum=1)
    n_mcmc = check_int(n_mcmc, "n_mcmc", minimum=0)
    n_chains = check_int(n_chains, "n_chains", minimum=1)
    rng_np = check_rng(rng)
    gen = rng_np  # tokens are drawn by inverse CDF from this generator
    P = policy.encode_prompts(prompts)
    chains = [_Chain(p) for p in P for _ in range(n_chains)]
    temperature = 1.0 / alpha
    accepted = moves = generated = 0
    limit = 0
    while limit < max_new_tokens:
        limit = min(limit + block_size, max_new_tokens)
        growing = [c for c in chains if not c.ended and len(c.tokens) < limit]
        generated += _extend(policy, growing, limit, temperature, gen)
        for _ in range(n_mcmc):
            a, g = _mh_step(policy, chains, limit, alpha, temperature, gen, rng_np)
            accepted, moves, generated = accepted + a, moves + len(chains), generated + g
    k = len(P)
    token_ids = [[chains[i * n_chains + j].tokens for j in range(n_chains)] for i in range(k)]
    return PowerSampleResult(
        texts=[[policy.decode(t) for t in row] for row in token_ids],
        token_ids=token_ids,
        log_probs=np.array([c.lp.sum() for c in chains]).reshape(k, n_chains),
        acceptance_rate=accepted / moves if moves else 1.0,
        queries=generated,
    )


class _Chain:
    """One Markov chain state: prompt ids, response tokens and their per-token log-probs."""

    def __init__(self, prompt):
        self.prompt = prompt
        self.tokens: list[int] = []
        self.lp = np.zeros(0)  # temperature-1 terms
        self.lpt = np.zeros(0)  # proposal (tempered) terms
        self.ended = False


def _generate_batched(policy, prefixes, caps, temperature, gen):
    out = []
    for s in range(0, len(prefixes), policy.batch_size):
        chunk_caps = caps[s : s + policy.batch_size]
        g = policy._generate(
            prefixes[s : s + policy.batch_size],
            int(max(chunk_caps)),
            temperature,
            gen,
            caps=chunk_caps,
        )
        out += list(zip(g.token_ids, g.log_probs, g.tempered_log_probs, g.ended))
    return out


def _extend(policy, chains, limit, temperature, gen) -> int:
    if not chains:
        return 0
    caps = [limit - len(c.tokens) for c in chains]
    outs = _generate_batched(policy, [c.prompt + c.tokens for c in chains], caps, temperature, gen)
    for c, (tok, lp, lpt, ended) in zip(chains, outs):
        c.tokens = c.tokens + tok
        c.lp, c.lpt = np.concatenate([c.lp, lp]), np.concatenate([c.lpt, lpt])
        c.ended = bool(ended)
    return sum(len(o[0]) for o in outs)


def _mh_step(policy, chains, limit, alpha, temperature, gen, rng_np):
    """One Metropolis-Hastings move on every chain (batched proposals)."""
    lengths = np.array([len(c.tokens) for c in chains])
    starts = np.floor(rng_np.random(len(chains)) * lengths).astype(int)
    outs = _generate_batched(
        policy,
        [c.prompt + c.tokens[:t] for c, t in zip(chains, starts)],
        [limit - t for t in starts],
        temperature,
        gen,
    )
    log_u = np.log(1.0 - rng_np.random(len(chains)))
    accepted = 0
    for c, t, u, (tok, lp, lpt, ended) in zip(chains, starts, log_u, outs):
        new_len = t + len(tok)
        log_ratio = (
            alpha * (lp.sum() - c.lp[t:].sum())  # π(y')^α / π(y)^α (the shared prefix cancels)
            + (c.lpt[t:].sum() - lpt.sum())  # q(y_{t:}|y_{<t}) / q(y'_{t:}|y_{<t})
            + np.log(len(c.tokens))
            - np.log(new_len)  # choosing t: 1/|y'| over 1/|y|
        )
        if u < log_ratio:
            c.tokens = c.tokens[:t] + tok
            c.lp, c.lpt = np.concatenate([c.lp[:t], lp]), np.concatenate([c.lpt[:t], lpt])
            c.ended = bool(ended)
            accepted += 1
    return accepted, sum(len(o[0]) for o in outs)
