"""Power sampling checked (Sec. 4.2, Eq. (5)): the exact law ``π^α/Z`` and the Metropolis–Hastings chain.

Both parts read what the user gets back: the law ``power_law`` returns, and
the states ``power_sample_mcmc`` returns, against references computed here
from the base model's table (never by the implementation under test).
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from ...policies import JointAutoregressivePolicy, all_sequences, encode_sequences
from .reference import ROUND_OFF
from .report import CheckResult
from .worlds import random_tabular_worlds

ALPHAS = (1.0, 1.5, 2.0, 4.0)


def power_reference(log_probs: np.ndarray, alpha: float) -> np.ndarray:
    """``π^α/Z`` row by row from ``log π [n_contexts, n_responses]`` (log-sum-exp, zeros stay zero)."""
    with np.errstate(invalid="ignore"):
        scaled = np.where(np.isfinite(log_probs), alpha * log_probs, -np.inf)
    return np.exp(scaled - logsumexp(scaled, axis=1, keepdims=True))


def mh_transition(log_joint: np.ndarray, vocab_size: int, horizon: int, alpha: float) -> np.ndarray:
    """Exact transition matrix ``[V**H, V**H]`` of one step of the suffix-resampling chain.

    One step (``power_sample_mcmc``): ``t`` uniform on ``0..H-1``, propose
    ``y' = y_{<t} ⊕ suffix ~ π(·|y_{<t})`` (probability ``π(y')/π(y_{<t})``
    among the sequences sharing the prefix), accept with
    ``min(1, (π(y')/π(y))^(α-1))``; a rejected move stays. ``log_joint``:
    ``log π`` of one prompt over the enumerated sequences, all finite.
    """
    seqs = all_sequences(vocab_size, horizon)
    gain = (alpha - 1.0) * (log_joint[None, :] - log_joint[:, None])
    accept = np.exp(np.minimum(gain, 0.0))
    step = np.zeros((seqs.shape[0], seqs.shape[0]))
    for t in range(horizon):
        same_prefix = np.all(seqs[:, None, :t] == seqs[None, :, :t], axis=2)
        prefix_log_mass = np.array(
            [logsumexp(log_joint[same_prefix[i]]) for i in range(seqs.shape[0])]
        )
        propose = np.where(same_prefix, np.exp(log_joint[None, :] - prefix_log_mass[:, None]), 0.0)
        move = propose * accept
        np.fill_diagonal(move, 0.0)
        step += move + np.diag(1.0 - move.sum(axis=1))
    return step / horizon


def check_power_sampling(tk, rng, quick: bool, level: float = 1e-3) -> CheckResult:
    """Power sampling: ``power_law`` is ``π^α/Z``; the chain's states follow ``π_0 P^n`` exactly.

    Exact: on random worlds and ``α ∈ {1, 1.5, 2, 4}`` the returned law equals
    ``π^α/Z`` computed here (``α = 1 + 1/β`` makes it ``π*_β``, Sec. 4.2).
    Statistical (level ``level``, Bonferroni over prompts): chains started
    from the base model (``init=None``) and run ``n`` steps have law
    ``π P^n``, with ``P`` the exact transition matrix of one step
    (:func:`mh_transition`), which is ``π^α``-invariant; the returned states
    are tested against it (chi-square). A sampler that returns the base
    model's draws (law ``π``) or does not move (law ``π``) fails.
    """
    worlds = random_tabular_worlds(rng, 10 if quick else 40)
    worst = 0.0
    for pi in worlds:
        for alpha in ALPHAS:
            law = tk.power_law(pi, alpha).probs
            worst = max(worst, float(np.max(np.abs(law - power_reference(pi.log_probs, alpha)))))
    V, H, alpha, n_steps = 3, 2, 4.0, 3
    joint = rng.dirichlet(np.full(V**H, 2.0), size=2)
    policy = JointAutoregressivePolicy(joint, V, H)
    chains = 3000 if quick else 20000
    res = tk.power_sample_mcmc(policy, np.arange(2), alpha, n_steps, n_chains=chains, rng=rng)
    p_values, invariance = [], 0.0
    for x in range(2):
        log_joint = np.log(joint[x])
        step = mh_transition(log_joint, V, H, alpha)
        target = power_reference(log_joint[None, :], alpha)[0]
        invariance = max(invariance, float(np.max(np.abs(target @ step - target))))
        expected = joint[x] @ np.linalg.matrix_power(step, n_steps)
        counts = np.bincount(encode_sequences(res.samples[x], V), minlength=V**H)
        p_values.append(float(stats.chisquare(counts, chains * expected).pvalue))
    threshold = level / len(p_values)
    ok = worst <= ROUND_OFF and invariance <= ROUND_OFF and min(p_values) > threshold
    return CheckResult(
        "Power sampling",
        f"law pi^a/Z, {len(worlds)} worlds x a={list(ALPHAS)}; MH chain a={alpha:g}, "
        f"{n_steps} steps, {chains} chains",
        f"max |law - pi^a/Z| {worst:.1e}; chain vs pi P^n min p {min(p_values):.3g}",
        f"<= {ROUND_OFF:g}; p > {threshold:g} (level {level:g}, Bonferroni)",
        ok,
        kind="statistical",
        numbers={"law_error": worst, "invariance_error": invariance, "chain_p_values": p_values},
    )
