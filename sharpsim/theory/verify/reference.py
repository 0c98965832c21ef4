"""Reference quantities the exact rows compute themselves (never by the implementation under test)."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

ROUND_OFF = 1e-9


def mass_on(pi, mask) -> np.ndarray:
    """Mass ``[n_contexts]`` a tabular ``pi`` puts on the bool ``mask [n_contexts, n_responses]``."""
    return np.exp(logsumexp(np.where(mask, pi.log_probs, -np.inf), axis=1))


def exact_mode_mask(pi) -> np.ndarray:
    """Reference mode set for worlds built from integer weights, whose ties are bit-exact."""
    return pi.probs == pi.probs.max(axis=1, keepdims=True)
