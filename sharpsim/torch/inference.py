"""Inference-time sharpening on causal LMs: best-of-N, adaptive best-of-N, greedy/beam, power sampling.

* :func:`best_of_n` draws ``N`` responses per prompt (one generation pass,
  log-likelihoods included) and keeps the self-reward maximiser (Section 3.1).
* :func:`adaptive_best_of_n` draws until ``1/max_j π(y_j|x) <= k/μ_stop``
  (Eq. (10)) or a cap, then keeps the best.
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
from typing import Any

import numpy as np

from .._validation import check_int, check_real, check_rng
from .policy import DecodedResponses, SampledResponses
from .rewards import resolve_reward

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
      rewards: self-reward of the picks, float ``[k]``.
      picks: index of the pick among its prompt's candidates, int ``[k]``.
      candidate_log_probs: ``log π_base`` of every candidate, float ``[k][N]`` (an array ``[k, N]``).
      candidates: the :class:`SampledResponses` drawn.
      queries: sample-and-evaluate queries charged (``k·N``, Definition 3.2).
    """

    texts: list
    token_ids: list
    log_probs: np.ndarray
    rewards: np.ndarray
    picks: np.ndarray
    candidate_log_probs: np.ndarray
    candidates: SampledResponses
    queries: int


def _check_tie_break(tie_break: str) -> str:
    if tie_break not in ("first", "random"):
        raise ValueError(f"tie_break must be 'first' or 'random'; got {tie_break!r}")
    return tie_break


def select_best(candidates, reward=None, *, tie_break="first", rng=None) -> BestOfNResult:
    """Pick the highest-reward candidate per prompt from already drawn ``candidates``.

    Args:
      candidates: ``SampledResponses``-like (``texts``, ``token_ids``, ``log_probs [k, N]``).
      reward: ``None`` (log-likelihood), ``"length_normalized"`` or an object with ``score``.
      tie_break: ``"first"`` (earliest draw among the maximal ones, the core's rule) or
        ``"random"`` (uniform among them, from ``rng``).
      rng: seed or generator for ``tie_break="random"``.

    Returns:
      :class:`BestOfNResult` (``queries = k·N``).

    Example:
      >>> from sharpsim.torch.policy import SampledResponses
      >>> c = SampledResponses([["a", "b"]], [[[1], [2]]], np.array([[-2.0, -1.0]]), np.ones((1, 2), bool))
      >>> select_best(c).texts
      ['b']
    """
    reward = resolve_reward(reward)
    tie_break = _check_tie_break(tie_break)
    lp = np.asarray(candidates.log_probs, dtype=float)
    scores = np.asarray(reward.score(candidates), dtype=float)
    if scores.shape != lp.shape:
        raise ValueError(f"reward.score must return shape {lp.shape}; got {scores.shape}")
    if np.isnan(scores).any():
        raise ValueError("reward.score returned NaN")
    if tie_break == "first":
        picks = np.argmax(scores, axis=1)
    else:
        gen = check_rng(rng)
        tied = scores == scores.max(axis=1, keepdims=True)
        picks = np.argmax(np.where(tied, gen.random(scores.shape), -1.0), axis=1)
    rows = np.arange(lp.shape[0])
    return BestOfNResult(
        texts=[candidates.texts[i][j] for i, j in enumerate(picks)],
        token_ids=[candidates.token_ids[i][j] for i, j in enumerate(picks)],
        log_probs=lp[rows, picks],
        rewards=scores[rows, picks],
        picks=picks,
        candidate_log_probs=lp,
        candidates=candidates,
        queries=int(lp.size),
    )


def best_of_n(
    policy,
    prompts,
    N,
    *,
    reward=None,
    rng=None,
    tie_break="first",
    max_new_tokens=64,
    temperature=1.0,
) -> BestOfNResult:
    """Best-of-N with a self-reward (Section 3.1): draw ``N`` responses, keep the best.

    The candidates and their log-likelihoods come from one generation pass
    (:meth:`CausalLMPolicy.sample`); ``reward`` then scores them.

    Args:
      policy: a :class:`~sharpsim.torch.CausalLMPolicy`.
      prompts: ``k`` prompts.
      N: candidates per prompt (``>= 1``).
      reward: ``None`` (log-likelihood, Eq. (2)), ``"length_normalized"``, a
        :class:`~sharpsim.torch.rewards.MajorityVote`, or any object with ``score``.
      rng: seed or generator (same ``rng`` ⇒ same picks).
      tie_break: see :func:`select_best`.
      max_new_tokens: response length cap.
      temperature: sampling temperature of the candidates (1 = the base model).

    Returns:
      :class:`BestOfNResult` with ``candidate_log_probs [k, N]`` and ``queries = k·N``.

    Example:
      >>> from sharpsim.torch import tiny_causal_lm, best_of_n
      >>> lm = tiny_causal_lm(seed=0)
      >>> res = best_of_n(lm, ["2+2="], 4, max_new_tokens=3, rng=0)
      >>> res.candidate_log_probs.shape, res.queries, bool(res.log_probs[0] == res.candidate_log_probs.max())
      ((1, 4), 4, True)
    """
    gen = check_rng(rng)
    N = check_int(N, "N", minimum=1)
    cands = policy.sample(
        prompts, N, max_new_tokens=max_new_tokens, temperature=temperature, rng=gen
    )
    return select_best(cands, reward, tie_break=tie_break, rng=gen)


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


def _first_best(draws: list[tuple[Any, str, float]]) -> int:
    """Index of the draw of largest log-likelihood, the earliest among ties."""
    return max(range(len(draws)), key=lambda j: (draws[j][2], -j))


def adaptive_best_of_n(
    policy, prompts, mu_stop, *, max_N=64, round_size=4, rng=None, max_new_tokens=64
) -> AdaptiveBestOfNResult:
    """Adaptive best-of-N with the log-likelihood reward (Eq. (10), Lemma I.1).

    Draws responses for each prompt until the ``k``-th draw satisfies
    ``1 / max_{j<=k} π(y_j|x) <= k / μ_stop`` (in log space:
    ``log k >= log μ_stop - max_j log π(y_j|x)``), or ``max_N`` draws, and
    returns the most likely draw among the first ``k``. Draws are made in
    rounds of ``round_size`` for the prompts still running; draws past the
    stopping time are discarded unseen (they are independent of it, so the
    law of the result is exactly that of the one-at-a-time rule) and not charged.

    Args:
      policy: a :class:`~sharpsim.torch.CausalLMPolicy`.
      prompts: ``k`` prompts.
      mu_stop: ``μ_stop > 0``.
      max_N: cap on draws per prompt (real LMs give sequences tiny
        probabilities, so the uncapped rule may need astronomically many).
      round_size: draws per prompt per round.
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
    round_size = check_int(round_size, "round_size", minimum=1)
    gen = check_rng(rng)
    P = policy.encode_prompts(prompts)
    k = len(P)
    # (token_ids, text, log_prob) per prompt, in draw order
    drawn: list[list[tuple[Any, str, float]]] = [[] for _ in range(k)]
    stop = np.zeros(k, dtype=np.int64)
    active = list(range(k))
    while active:
        size = min(round_size, max_N - len(drawn[active[0]]))
        s = policy.sample([P[i] for i in active], size, max_new_tokens=max_new_tokens, rng=gen)
        still = []
        for row, i in enumerate(active):
            for j in range(size):
                drawn[i].append((s.token_ids[row][j], s.texts[row][j], float(s.log_probs[row, j])))
                count = len(drawn[i])
                best = max(d[2] for d in drawn[i])
                if np.log(count) >= np.log(mu_stop) - best or count == max_N:
                    stop[i] = count
                    break
            if stop[i] == 0:
                still.append(i)
        active = still
    picks = [_first_best(drawn[i][: stop[i]]) for i in range(k)]
    capped = np.array([stop[i] == max_N and not _rule_met(drawn[i], mu_stop) for i in range(k)])
    return AdaptiveBestOfNResult(
        texts=[drawn[i][j][1] for i, j in enumerate(picks)],
        token_ids=[drawn[i][j][0] for i, j in enumerate(picks)],
        log_probs=np.array([drawn[i][j][2] for i, j in enumerate(picks)]),
        samples_per_prompt=stop,
        capped=capped,
        queries=int(stop.sum()),
    )


def _rule_met(draws, mu_stop) -> bool:
    best = max(d[2] for d in draws)
    return bool(np.log(len(draws)) >= np.log(mu_stop) - best)


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
    gen = policy.torch_generator(rng_np)
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
