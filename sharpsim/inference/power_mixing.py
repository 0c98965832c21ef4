"""Spectral gap and mixing times of the power sampler's chain, exactly (SPEC §11).

The kernel ``K`` of :func:`~sharpsim.power_sample_mcmc`
(:func:`~sharpsim.power_chain_kernel`) is reversible with respect to
``π^α/Z``, so its spectrum is real and the symmetric matrix
``D^{1/2} K D^{-1/2}`` (``D = diag π^α``) gives it to a symmetric eigensolver;
the mixing time ``t_mix(ε) = min{k : TV(ν K^k, π^α) <= ε}`` is exact from the
sampler's start law ``ν`` and, on request, from the worst start.

References:
  Levin, Peres & Wilmer, "Markov Chains and Mixing Times" (2nd ed.), Ch. 4
  (TV, ``t_mix``, ``d(t)`` nonincreasing) and Ch. 12 (spectral gap, the relaxation-time bound
  ``t_mix(ε) <= t_rel·log(1/(ε π_min))``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_real
from .power import check_proposal_temperature
from .power_chain import (
    MAX_CHAIN_STATES,
    _chain_inputs,
    kernel_from_token_log_probs,
    start_law,
    target_law,
    total_variation,
)


@dataclass(frozen=True)
class PowerChainMixing:
    """Output of :func:`power_chain_mixing` (one prompt).

    Attributes:
      spectral_gap: ``1 - λ₂``, ``λ₂`` the second largest eigenvalue of ``K`` on ``supp π``.
      absolute_spectral_gap: ``1 - max(|λ|: λ ≠ 1)`` (in ``[0, 1]``; ``t_rel = 1/this``).
      eigenvalues: float ``[|supp π|]``, all eigenvalues of ``K`` on ``supp π``, ascending.
      eps: the TV threshold ``ε``.
      mixing_time: smallest ``k`` with ``TV(ν K^k, π^α) <= ε`` from the start law,
        ``None`` if beyond ``max_steps``.
      tv: float ``[mixing_time + 1]`` (or ``[max_steps + 1]``): ``TV(ν K^k, π^α)`` for ``k = 0, 1, ...``.
      worst_case_mixing_time: smallest ``k`` with ``max_y TV(K^k(y,·), π^α) <= ε`` over
        starts ``y ∈ supp π`` (``None`` unless asked for, or beyond ``max_steps``).
      relaxation_bound: ``log(1/(ε π_min)) / absolute_spectral_gap``, an upper bound on the
        worst-case mixing time (Levin–Peres–Wilmer Ch. 12, relaxation time; ``inf`` with no gap).
    """

    spectral_gap: float
    absolute_spectral_gap: float
    eigenvalues: np.ndarray
    eps: float
    mixing_time: int | None
    tv: np.ndarray
    worst_case_mixing_time: int | None
    relaxation_bound: float


def power_chain_mixing(
    policy,
    x: int,
    alpha: float,
    *,
    eps: float = 0.25,
    proposal_temperature: float = 1.0,
    block_size: int | None = None,
    init=None,
    max_steps: int = 100_000,
    worst_case: bool = False,
    max_states: int = MAX_CHAIN_STATES,
) -> PowerChainMixing:
    """Spectral gap and mixing times of the power sampler's chain, exactly.

    ``K`` is reversible with respect to ``π^α`` (detailed balance), so
    ``D^{1/2} K D^{-1/2}`` (``D = diag π^α``) is symmetric; its entries are
    ``√(K(y,y')K(y',y))``, formed that way so no tiny ``π^α`` is divided by.
    Its eigenvalues (a symmetric eigensolver, ``O(|Y|³)``) give the gaps. The
    mixing time from the sampler's start law iterates ``ν K^k``; the
    worst-case one (``worst_case=True``, ``O(|Y|³ log t_mix)``) squares ``K``
    and bisects, since ``max_y TV(K^k(y,·), π^α)`` does not increase with ``k``.

    Args:
      policy, x, alpha, proposal_temperature, block_size, init, max_states: as
        :func:`power_chain_law`.
      eps: TV threshold ``ε`` in ``(0, 1)``.
      max_steps: give up (``None``) beyond this many steps.
      worst_case: also compute the worst-case-start mixing time.

    Returns:
      :class:`PowerChainMixing`.

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.1, 0.4, 0.3, 0.2]], 2, 2)
      >>> m = ss.power_chain_mixing(ar, 0, 1.0, block_size=2, init=[1, 1])  # i.i.d. draws of π
      >>> round(m.spectral_gap, 12), m.mixing_time
      (1.0, 1)
      >>> m = ss.power_chain_mixing(ar, 0, 4.0, eps=0.01, worst_case=True)
      >>> 0 < m.absolute_spectral_gap <= m.spectral_gap, m.mixing_time <= m.worst_case_mixing_time
      (True, True)
    """
    tok_p, tok_q, alpha, cuts = _chain_inputs(
        policy, x, alpha, proposal_temperature, block_size, max_states
    )
    eps = check_real(eps, "eps", low=0.0, high=1.0, low_open=True, high_open=True)
    max_steps = check_int(max_steps, "max_steps", minimum=0)
    kernel = kernel_from_token_log_probs(tok_p, tok_q, alpha, policy.vocab_size, cuts)
    tau = None if tok_q is tok_p else check_proposal_temperature(proposal_temperature)
    target = target_law(tok_p, alpha)
    alive = np.isfinite(tok_p.sum(axis=0))
    eigenvalues = _reversible_eigenvalues(kernel[np.ix_(alive, alive)])
    rest = eigenvalues[:-1]  # the largest is 1 (the stationary law)
    gap = 1.0 - rest[-1] if rest.size else 1.0
    abs_gap = 1.0 - max(rest[-1], -rest[0]) if rest.size else 1.0
    law, tvs = start_law(policy, int(x), init, tau), []
    for _ in range(max_steps + 1):
        tvs.append(float(total_variation(law, target)))
        if tvs[-1] <= eps:
            break
        law = law @ kernel
    mixing = len(tvs) - 1 if tvs[-1] <= eps else None
    worst = _worst_case_mixing(kernel[np.ix_(alive, alive)], target[alive], eps, max_steps)
    pi_min = target[alive].min()
    with np.errstate(divide="ignore"):
        bound = float(np.log(1.0 / (eps * pi_min)) / abs_gap) if abs_gap > 0 else np.inf
    return PowerChainMixing(
        float(gap),
        float(abs_gap),
        eigenvalues,
        eps,
        mixing,
        np.array(tvs),
        worst if worst_case else None,
        bound,
    )


def _reversible_eigenvalues(kernel: np.ndarray) -> np.ndarray:
    """Eigenvalues of a reversible ``K``, ascending, from the symmetric ``√(K ∘ Kᵀ)``."""
    from scipy.linalg import eigh

    symmetric = np.sqrt(kernel * kernel.T)
    np.fill_diagonal(symmetric, np.diag(kernel))
    return eigh(symmetric, eigvals_only=True)


def _worst_case_mixing(kernel, target, eps: float, max_steps: int) -> int | None:
    """Smallest ``k <= max_steps`` with ``d(k) = max_y TV(K^k(y,·), π) <= eps`` (``d`` is nonincreasing)."""

    def worst(power):
        return total_variation(power, target).max()

    identity = np.eye(target.shape[0])
    if worst(identity) <= eps:
        return 0
    powers = [kernel]  # powers[j] = K^(2^j)
    while worst(powers[-1]) > eps and 2 ** len(powers) <= max_steps:
        powers.append(powers[-1] @ powers[-1])
    # The largest k' <= max_steps with d(k') > eps, built bit by bit from the top.
    below, below_power = 0, identity
    for j in reversed(range(len(powers))):
        if below + 2**j > max_steps:
            continue
        candidate = below_power @ powers[j]
        if worst(candidate) > eps:
            below, below_power = below + 2**j, candidate
    return below + 1 if below + 1 <= max_steps else None
