"""Sequence-level power sampling: the target ``π^α / Z`` with ``α >= 1`` (SPEC §6).

``π^α/Z`` puts relatively more mass on likely *whole sequences* as ``α``
grows and tends to the uniform law on the mode set ``y*(x)``; it is the
KL-regularised optimum ``π*_β`` of Sec. 4.2 with ``α = 1 + 1/β``. It is *not*
token-level temperature ``1/α`` (:func:`~sharpsim.token_temperature_law`),
which tempers each conditional separately. Exact by enumeration for small
``V**H``; otherwise Metropolis–Hastings over sequences, regenerating a suffix
from the base model or from it at token temperature ``τ`` (``1/α`` in Karan &
Du 2025, "Reasoning with Sampling"). The chain's exact transition matrix, law
after ``k`` steps and mixing are in :mod:`sharpsim.inference.power_chain`.

References:
  Huang et al., ICLR 2025, Sec. 4.2 (Eq. (3)) and Sec. 3.1 (Eq. (5)); Karan & Du,
  "Reasoning with Sampling: Your Base Model is Smarter Than You Think" (2025), Algorithm 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._validation import check_int, check_prompt_indices, check_real, check_rng
from ..policies.base import SuffixPolicy
from ..policies.tabular import TabularPolicy, as_tabular


def power_law(policy, alpha: float) -> TabularPolicy:
    """Exact power law ``π^α(y|x) / Σ_y' π^α(y'|x)``, computed in log space.

    Args:
      policy: a :class:`~sharpsim.TabularPolicy` or anything with
        ``to_tabular()`` (autoregressive policies are enumerated).
      alpha: exponent ``α >= 1`` (``α = 1`` returns the policy's own law).

    Returns:
      :class:`~sharpsim.TabularPolicy` ``[n_contexts, n_responses]``; zeros stay zero.

    Example:
      >>> import sharpsim as ss
      >>> ss.power_law(ss.TabularPolicy([[0.0, 0.4, 0.35, 0.25]]), 2.0).probs.round(3).tolist()
      [[0.0, 0.464, 0.355, 0.181]]
    """
    table = as_tabular(policy, "policy")
    alpha = check_real(alpha, "alpha", low=1.0)
    # Shift by the row max first so that a huge α cannot overflow every entry to -inf.
    with np.errstate(over="ignore"):
        scaled = alpha * (table.log_probs - table.log_probs.max(axis=1, keepdims=True))
    return TabularPolicy.from_log_probs(scaled - logsumexp(scaled, axis=1, keepdims=True))


@dataclass(frozen=True)
class PowerMCMCResult:
    """Output of :func:`power_sample_mcmc`.

    Attributes:
      samples: int64 ``[k, n_chains, H]``, the chains' final states.
      acceptance_rate: accepted / proposed moves over all chains and steps.
      acceptance_by_prompt: float ``[k]``, the same per prompt.
      n_steps: MH steps run per chain (over all stages with ``growth_block``).
      alpha: the exponent of the target ``π^α/Z``.
      proposal_temperature: the token temperature ``τ`` of the proposal.
      block_size: the cut-point spacing ``B`` (``None``: every position).
      growth_block: the generation block ``G`` of Karan & Du's schedule (``None``: none).
    """

    samples: np.ndarray
    acceptance_rate: float
    acceptance_by_prompt: np.ndarray
    n_steps: int
    alpha: float
    proposal_temperature: float = 1.0
    block_size: int | None = None
    growth_block: int | None = None


def power_sample_mcmc(
    policy,
    x,
    alpha: float,
    n_steps: int,
    n_chains: int = 1,
    rng=None,
    init=None,
    *,
    proposal_temperature: float = 1.0,
    block_size: int | None = None,
    growth_block: int | None = None,
) -> PowerMCMCResult:
    """Metropolis–Hastings chains targeting ``π^α(·|x)/Z`` by suffix resampling (Karan & Du 2025).

    One step from ``y``: draw a cut ``t`` uniformly from the cut set ``T``,
    keep ``y_{<t}`` and regenerate the suffix ``y'_{t:} ~ q(· | x, y_{<t})``,
    where ``q`` is ``π`` at token temperature ``τ`` (each conditional
    ``∝ π_h^(1/τ)``; ``τ = 1/α`` is Karan & Du's choice, ``τ = 1`` the base
    model); accept with probability
    ``min(1, π^α(y')q(y|y') / (π^α(y)q(y'|y))) = min(1, w(y')/w(y))``,
    ``w = π^α/q`` (the shared prefix cancels; with ``τ = 1`` it is
    ``(π(y')/π(y))^(α-1)``). The cut set is ``T = {0, 1, ..., H-1}`` when
    ``block_size`` is ``None`` and ``T = {0, B, 2B, ...} ∩ [0, H)`` (block
    boundaries; the whole suffix from the cut is resampled) for
    ``block_size = B``; ``B >= H`` gives the independence sampler with proposal
    ``q``. Each fixed-``t`` move is a reversible MH kernel for ``π^α`` and
    ``t`` does not depend on the state, so their uniform mixture leaves
    ``π^α/Z`` invariant. Its exact transition matrix is
    :func:`~sharpsim.power_chain_kernel`. Vectorised over all chains of all
    prompts; one Python iteration per step.

    ``growth_block = G`` runs Karan & Du's Algorithm 1 schedule instead: the
    sequence is generated ``G`` tokens at a time (the last chunk may be
    shorter), each chunk drawn from the start rule (``init``) given the prefix,
    and after each chunk ``n_steps`` MH steps run on the prefix ``y_{<L}``
    generated so far, targeting ``π_L^α`` (``π_L`` the marginal of ``y_{<L}``),
    with cuts ``T ∩ [0, L)`` and suffixes regenerated up to ``L``. The last
    stage is the chain above on whole sequences; ``G >= H`` is the plain chain.
    Its exact output law is :func:`~sharpsim.power_chain_law` with the same
    ``growth_block``.

    The chain is written once against the small
    :class:`~sharpsim.policies.base.SuffixPolicy` protocol: ``horizon``,
    ``check_sequences``, ``redraw(x, seqs, start, stop, rng, temperature)``
    (regenerate ``seqs[i, start[i]:stop]`` given the prefix) and
    ``prefix_log_probs(x, seqs, stop, temperature)`` (``log π`` and ``log q``
    of ``y_{<stop}``). Every :class:`~sharpsim.AutoregressivePolicy` follows it,
    and so does ``sharpsim.torch.PromptedLM``, a causal LM over a list of prompts:
    its rows are padded with ``-1`` after the end-of-sequence token, and a cut
    after the end proposes the same row (accepted), so ``T`` stays
    state-independent and the same chain is exact for variable-length responses.

    Args:
      policy: a :class:`~sharpsim.policies.base.SuffixPolicy`: an
        :class:`~sharpsim.AutoregressivePolicy` (the base model) or
        ``sharpsim.torch.PromptedLM``.
      x: int array ``[k]`` of prompts.
      alpha: ``α >= 1`` (``α = 1`` with ``τ = 1`` accepts every move: plain resampling).
      n_steps: MH steps per chain (``>= 1``).
      n_chains: independent chains per prompt (``>= 1``).
      rng: ``None``, an int seed or a ``numpy.random.Generator``.
      init: the start law: ``None`` draws the starts from the base model ``π``,
        ``"proposal"`` from ``q`` (``π`` at temperature ``τ``, as Karan & Du);
        or starting sequences, an int array broadcastable to ``[k, n_chains, H]``,
        each with positive probability.
      proposal_temperature: ``τ > 0`` (keyword only; default 1, the base model).
      block_size: ``None`` or an int ``B >= 1`` (keyword only): the cut-point spacing.
      growth_block: ``None`` or an int ``G >= 1`` (keyword only): generate in
        chunks of ``G`` tokens with ``n_steps`` MH steps after each; ``init`` must
        then be ``None`` or ``"proposal"``.

    Returns:
      :class:`PowerMCMCResult` with ``samples [k, n_chains, H]``.

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
      >>> res = ss.power_sample_mcmc(ar, [0], alpha=4.0, n_steps=20, n_chains=3, rng=0)
      >>> res.samples.shape, 0.0 <= res.acceptance_rate <= 1.0
      ((1, 3, 2), True)
      >>> paper = ss.power_sample_mcmc(ar, [0], 4.0, 20, 3, rng=0, init="proposal",
      ...                              proposal_temperature=0.25, block_size=1)
      >>> paper.samples.shape, paper.proposal_temperature
      ((1, 3, 2), 0.25)
    """
    policy = _check_suffix_policy(policy)
    x = _check_prompts(policy, x)
    alpha = check_real(alpha, "alpha", low=1.0)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    n_chains = check_int(n_chains, "n_chains", minimum=1)
    tau = check_proposal_temperature(proposal_temperature)
    cuts = cut_points(policy.horizon, block_size)
    stages = growth_stages(policy.horizon, growth_block)
    if growth_block is not None and not (init is None or isinstance(init, str)):
        raise ValueError('with growth_block, init must be None or "proposal" (the chunks\' law)')
    rng = check_rng(rng)
    prompts = np.repeat(x, n_chains)
    accepted = np.zeros(prompts.shape[0], dtype=np.int64)
    chunk_tau = None
    if growth_block is None:
        state = _initial_states(policy, prompts, init, x.shape[0], n_chains, rng, tau)
    else:
        chunk_tau = tau if _check_init_rule(init) == "proposal" else None
        state = np.zeros((prompts.shape[0], policy.horizon), dtype=np.int64)
    done = 0
    for length in stages:
        if growth_block is not None:  # the next chunk, from the start rule given the prefix
            starts = np.full(len(prompts), done)
            state = policy.redraw(prompts, state, starts, length, rng, chunk_tau)
        chain = (policy, prompts, length, alpha, tau)
        accepted += _mh_steps(chain, state, cuts[cuts < length], n_steps, rng)
        done = length
    total_steps = n_steps * len(stages)
    return _mcmc_result(
        state, accepted, x.shape[0], n_chains, total_steps, alpha, tau, block_size, growth_block
    )


def _mh_steps(chain, state, cut_set, n_steps: int, rng) -> np.ndarray:
    """``n_steps`` MH moves on the prefixes ``state[:, :length]`` (in place); accepted counts ``[n]``."""
    policy, prompts, length, alpha, tau = chain
    log_p, log_q = policy.prefix_log_probs(prompts, state, length, tau)
    accepted = np.zeros(prompts.shape[0], dtype=np.int64)
    for _ in range(n_steps):
        start = cut_set[rng.integers(0, cut_set.shape[0], size=prompts.shape[0])]
        proposal = policy.redraw(prompts, state.copy(), start, length, rng, tau)
        new_p, new_q = policy.prefix_log_probs(prompts, proposal, length, tau)
        log_ratio = mh_log_ratio(alpha, log_p, new_p, log_q, new_q, tau is None)
        accept = np.log1p(-rng.random(prompts.shape[0])) <= log_ratio  # log U, U ~ Unif(0, 1]
        state[accept], log_p[accept], log_q[accept] = proposal[accept], new_p[accept], new_q[accept]
        accepted += accept
    return accepted


def growth_stages(horizon: int, growth_block) -> list[int]:
    """Prefix lengths of the stages: ``[H]`` for ``None``, else ``G, 2G, ..., H``."""
    if growth_block is None:
        return [horizon]
    growth_block = check_int(growth_block, "growth_block", minimum=1)
    return [min(end, horizon) for end in range(growth_block, horizon + growth_block, growth_block)]


def _check_suffix_policy(policy):
    if not isinstance(policy, SuffixPolicy):
        raise TypeError(
            "policy must be an AutoregressivePolicy or follow the SuffixPolicy protocol (horizon, "
            f"check_sequences, redraw, prefix_log_probs; e.g. sharpsim.torch.PromptedLM); got "
            f"{type(policy).__name__}"
        )
    return policy


def _check_prompts(policy, x) -> np.ndarray:
    return check_prompt_indices(x, policy.n_contexts)


def _check_init_rule(init) -> str | None:
    if init is None or init == "proposal":
        return init
    raise ValueError(f'init must be None, "proposal" or sequences; got {init!r}')


def mh_log_ratio(alpha, log_p, new_p, log_q, new_q, untempered: bool) -> np.ndarray:
    """``log[π^α(y')q(y|y') / (π^α(y)q(y'|y))] = α(log π(y') - log π(y)) - (log q(y') - log q(y))``.

    The proposal densities are those of the resampled suffix; the shared prefix
    cancels, so whole-sequence ``log q`` differences are used. Untempered
    (``q = π``) it is ``(α-1)(log π(y') - log π(y))``. A huge ``α`` gives ``±inf``:
    always accept / reject, the right limit.
    """
    with np.errstate(over="ignore"):
        if untempered:
            # Target p ∝ π^α; proposal density π(y'_{t:} | y_{<t}) = π(y')/π(y_{<t}).
            return (alpha - 1.0) * (new_p - log_p)
        return alpha * (new_p - log_p) - (new_q - log_q)


def check_proposal_temperature(proposal_temperature) -> float | None:
    """Validate ``τ > 0``; ``None`` stands for ``τ = 1`` (the base model itself)."""
    tau = check_real(proposal_temperature, "proposal_temperature", low=0.0, low_open=True)
    return None if tau == 1.0 else tau


def cut_points(horizon: int, block_size) -> np.ndarray:
    """The cut set ``T``: ``0..H-1`` for ``block_size=None``, else ``{0, B, 2B, ...} ∩ [0, H)``."""
    if block_size is None:
        return np.arange(horizon)
    block_size = check_int(block_size, "block_size", minimum=1)
    return np.arange(0, horizon, block_size)


def _initial_states(policy, prompts, init, k: int, n_chains: int, rng, tau=None) -> np.ndarray:
    if init is None or isinstance(init, str):
        tau = tau if _check_init_rule(init) == "proposal" else None
        blank = np.zeros((prompts.shape[0], policy.horizon), dtype=np.int64)
        return policy.redraw(prompts, blank, np.zeros_like(blank[:, 0]), policy.horizon, rng, tau)
    init = policy.check_sequences(init, "init")
    target = (k, n_chains, policy.horizon)
    try:
        state = np.broadcast_to(init, target).reshape(-1, policy.horizon).copy()
    except ValueError:
        raise ValueError(
            f"init must broadcast to [k, n_chains, H] = {list(target)}; got shape {init.shape}"
        ) from None
    dead = ~np.isfinite(policy.prefix_log_probs(prompts, state, policy.horizon)[0])
    if np.any(dead):
        raise ValueError(
            f"init sequences must have positive probability; {int(dead.sum())} have probability 0"
        )
    return state


def _mcmc_result(
    state, accepted, k: int, n_chains: int, n_steps: int, alpha: float, tau, block_size, growth=None
) -> PowerMCMCResult:
    per_prompt = accepted.reshape(k, n_chains).sum(axis=1) / (n_steps * n_chains)
    overall = float(accepted.sum() / max(accepted.shape[0] * n_steps, 1))
    return PowerMCMCResult(
        state.reshape(k, n_chains, state.shape[-1]),
        overall,
        per_prompt,
        n_steps,
        alpha,
        1.0 if tau is None else tau,
        block_size,
        growth,
    )
