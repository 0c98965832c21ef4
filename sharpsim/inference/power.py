"""Sequence-level power sampling: the target ``π^α / Z`` with ``α >= 1`` (SPEC §6).

``π^α/Z`` puts relatively more mass on likely *whole sequences* as ``α``
grows and tends to the uniform law on the mode set ``y*(x)``; it is the
KL-regularised optimum ``π*_β`` of Sec. 4.2 with ``α = 1 + 1/β``. It is *not*
token-level temperature ``1/α`` (:func:`~sharpsim.token_temperature_law`),
which tempers each conditional separately. Exact by enumeration for small
``V**H``; otherwise Metropolis–Hastings over sequences with the base model as
proposal (Karan & Du 2025, "Reasoning with Sampling").

References:
  Huang et al., ICLR 2025, Sec. 4.2 (Eq. (3)) and Sec. 3.1 (Eq. (5)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._validation import check_int, check_real, check_rng
from ..policies.tabular import TabularPolicy, as_tabular
from .decoding import _check_autoregressive


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
      n_steps: MH steps run per chain.
      alpha: the exponent of the target ``π^α/Z``.
    """

    samples: np.ndarray
    acceptance_rate: float
    acceptance_by_prompt: np.ndarray
    n_steps: int
    alpha: float


def power_sample_mcmc(
    policy, x, alpha: float, n_steps: int, n_chains: int = 1, rng=None, init=None
) -> PowerMCMCResult:
    """Metropolis–Hastings chains targeting ``π^α(·|x)/Z`` with the base model as proposal.

    One step: draw a position ``t`` uniformly from ``0..H-1``, keep ``y_{<t}``
    and regenerate the suffix ``y'_{t:} ~ π(· | x, y_{<t})``; accept with
    probability ``min(1, (π(y'|x)/π(y|x))^(α-1))``. Each fixed-``t`` move is a
    reversible MH kernel for ``π^α`` and ``t`` does not depend on the state, so
    their uniform mixture leaves ``π^α/Z`` invariant. Vectorised over all
    chains of all prompts; one Python iteration per step.

    Args:
      policy: an :class:`~sharpsim.AutoregressivePolicy` (the base model).
      x: int array ``[k]`` of prompts.
      alpha: ``α >= 1`` (``α = 1`` accepts every move: plain resampling).
      n_steps: MH steps per chain (``>= 1``).
      n_chains: independent chains per prompt (``>= 1``).
      rng: ``None``, an int seed or a ``numpy.random.Generator``.
      init: optional starting sequences, int array broadcastable to
        ``[k, n_chains, H]``, each with positive probability; ``None`` draws
        the starts from the base model.

    Returns:
      :class:`PowerMCMCResult` with ``samples [k, n_chains, H]``.

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
      >>> res = ss.power_sample_mcmc(ar, [0], alpha=4.0, n_steps=20, n_chains=3, rng=0)
      >>> res.samples.shape, 0.0 <= res.acceptance_rate <= 1.0
      ((1, 3, 2), True)
    """
    policy = _check_autoregressive(policy)
    x = policy._check_prompts(x)
    alpha = check_real(alpha, "alpha", low=1.0)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    n_chains = check_int(n_chains, "n_chains", minimum=1)
    rng = check_rng(rng)
    prompts = np.repeat(x, n_chains)
    state = _initial_states(policy, prompts, init, x.shape[0], n_chains, rng)
    log_p = policy._sequence_log_probs(prompts, state)
    accepted = np.zeros(prompts.shape[0], dtype=np.int64)
    for _ in range(n_steps):
        start = rng.integers(0, policy.horizon, size=prompts.shape[0])
        proposal = policy._resample_suffix(prompts, state.copy(), start, rng)
        log_q = policy._sequence_log_probs(prompts, proposal)
        # Target p ∝ π^α; proposal density π(y'_{t:} | y_{<t}) = π(y')/π(y_{<t}).
        # p(y')q(y|y') / (p(y)q(y'|y)) = (π(y')/π(y))^α · (π(y)/π(y')) = (π(y')/π(y))^(α-1).
        with np.errstate(
            over="ignore"
        ):  # a huge α gives ±inf: always accept / reject, the right limit
            log_ratio = (alpha - 1.0) * (log_q - log_p)
        accept = np.log1p(-rng.random(prompts.shape[0])) <= log_ratio  # log U, U ~ Unif(0, 1]
        state[accept], log_p[accept] = proposal[accept], log_q[accept]
        accepted += accept
    return _mcmc_result(state, accepted, x.shape[0], n_chains, n_steps, alpha)


def _initial_states(policy, prompts, init, k: int, n_chains: int, rng) -> np.ndarray:
    if init is None:
        return policy._fresh_rollouts(prompts, rng)
    init = policy._check_sequences(init, "init")
    target = (k, n_chains, policy.horizon)
    try:
        state = np.broadcast_to(init, target).reshape(-1, policy.horizon).copy()
    except ValueError:
        raise ValueError(
            f"init must broadcast to [k, n_chains, H] = {list(target)}; got shape {init.shape}"
        ) from None
    dead = ~np.isfinite(policy._sequence_log_probs(prompts, state))
    if np.any(dead):
        raise ValueError(
            f"init sequences must have positive probability; {int(dead.sum())} have probability 0"
        )
    return state


def _mcmc_result(
    state, accepted, k: int, n_chains: int, n_steps: int, alpha: float
) -> PowerMCMCResult:
    per_prompt = accepted.reshape(k, n_chains).sum(axis=1) / (n_steps * n_chains)
    overall = float(accepted.sum() / max(accepted.shape[0] * n_steps, 1))
    return PowerMCMCResult(
        state.reshape(k, n_chains, state.shape[-1]), overall, per_prompt, n_steps, alpha
    )
