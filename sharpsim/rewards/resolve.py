"""Turning what a user passes as ``reward=`` into a reward object, and checking its table."""

from __future__ import annotations

import numbers

import numpy as np

from .likelihood import log_likelihood
from .table import TableReward


def resolve_reward(reward, name: str = "reward"):
    """Return a reward object: ``None`` is :data:`log_likelihood`; an array becomes a :class:`TableReward`.

    Example:
      >>> resolve_reward(None) is log_likelihood, type(resolve_reward([[1.0, 2.0]])).__name__
      (True, 'TableReward')
    """
    if reward is None:
        return log_likelihood
    if hasattr(reward, "table") and hasattr(reward, "score"):
        return reward
    if isinstance(reward, (np.ndarray, list, tuple)) and not isinstance(reward, numbers.Number):
        return TableReward(reward)
    raise TypeError(
        f"{name} must be None, a reward object with table() and score(), or an array; got {type(reward).__name__}"
    )


def reward_table(
    reward, base, n_contexts: int, n_responses: int, name: str = "reward"
) -> np.ndarray:
    """``reward.table(base)`` checked to be a real ``[n_contexts, n_responses]`` array without NaN.

    Example:
      >>> import sharpsim as ss
      >>> reward_table(log_likelihood, ss.TabularPolicy([[0.5, 0.5]]), 1, 2).round(3).tolist()
      [[-0.693, -0.693]]
    """
    arr = np.asarray(reward.table(base))
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name}.table must return a real array; got dtype {arr.dtype}")
    if arr.shape != (n_contexts, n_responses):
        raise ValueError(
            f"{name}.table must have shape {(n_contexts, n_responses)}; got {arr.shape}"
        )
    arr = arr.astype(float, copy=False)
    if np.any(np.isnan(arr)) or np.any(arr == np.inf):
        raise ValueError(f"{name}.table must not contain NaN or +inf")
    return arr
