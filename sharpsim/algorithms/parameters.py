"""Parameter choices the algorithms make themselves (and the bounds quote).

A parameter both an algorithm and a theorem need lives here, in the lower
layer; :mod:`sharpsim.theory.bounds` re-exports it under the same name.
"""

from __future__ import annotations

import math

from .._validation import check_real

__all__ = ["adaptive_mu_stop"]


def adaptive_mu_stop(delta) -> float:
    """Stopping parameter ``μ = ln(2/δ)`` of adaptive SFT-Sharpening (Theorem D.1, Eq. (10)).

    With it, Lemma I.1 gives ``π^AdaBoN_μ(y*(x)|x) ≥ 1 - e^{-μ} = 1 - δ/2``
    for every prompt. Exact; no hidden constant.

    Args:
      delta: ``δ ∈ (0, 1)``.

    Returns:
      ``ln(2/δ)``.

    Example:
      >>> round(adaptive_mu_stop(0.1), 4)
      2.9957
    """
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    return math.log(2.0) - math.log(delta)
