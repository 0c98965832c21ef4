"""Linear softmax policies (Definition J.3).

``π_θ(y|x) ∝ π_zero(y|x)·exp⟨φ(x,y), θ⟩`` with ``π_zero`` uniform, features
``‖φ(x,y)‖₂ ≤ 1`` and, optionally, a norm bound ``‖θ‖₂ ≤ B``. Over a finite
response set this is a tabular policy with structure, so
:class:`LinearSoftmaxPolicy` subclasses :class:`~sharpsim.policies.tabular.TabularPolicy`
and every exact computation that takes a tabular policy takes it too.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_real_array, check_real
from .tabular import TabularPolicy, log_softmax

#: Feature norms may exceed 1 by this much (floating-point slack on unit vectors).
FEATURE_NORM_ATOL = 1e-9
#: ``‖θ‖`` may exceed ``B`` by this relative amount (a solver's last rounding).
THETA_NORM_RTOL = 1e-9


def check_features(features, name: str = "features") -> np.ndarray:
    """Validate a feature table ``φ`` of shape ``[n_contexts, n_responses, d]``.

    Entries must be finite and every ``‖φ(x,y)‖₂ ≤ 1`` (within ``1e-9``),
    as Definition J.3 requires. Returns a read-only float copy.

    Example:
      >>> check_features([[[0.6, 0.8], [0.0, 0.0]]]).shape
      (1, 2, 2)
    """
    arr = np.array(as_real_array(features, name))
    if arr.ndim != 3 or 0 in arr.shape:
        raise ValueError(
            f"{name} must be a non-empty array [n_contexts, n_responses, d]; got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} must be finite; found {np.count_nonzero(~np.isfinite(arr))} non-finite entries"
        )
    norms = np.linalg.norm(arr, axis=-1)
    if np.any(norms > 1.0 + FEATURE_NORM_ATOL):
        idx = np.unravel_index(np.argmax(norms), norms.shape)
        raise ValueError(
            f"{name} must have ‖φ(x,y)‖₂ <= 1 (Definition J.3); φ{tuple(int(i) for i in idx)} has norm {norms[idx]:.6g}"
        )
    arr.setflags(write=False)
    return arr


def check_theta(theta, dim: int, B=None, name: str = "theta") -> np.ndarray:
    """Validate a parameter vector ``θ`` of shape ``[dim]``, with ``‖θ‖₂ ≤ B`` when ``B`` is given.

    Example:
      >>> check_theta([3.0, 4.0], 2, B=5.0).tolist()
      [3.0, 4.0]
    """
    arr = np.array(as_real_array(theta, name))
    if arr.shape != (dim,):
        raise ValueError(f"{name} must have shape ({dim},) to match the features; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if B is not None:
        norm = float(np.linalg.norm(arr))
        if norm > B * (1.0 + THETA_NORM_RTOL):
            raise ValueError(f"{name} must have ‖θ‖₂ <= B = {B:.6g}; got norm {norm:.6g}")
    arr.setflags(write=False)
    return arr


def check_norm_bound(B, name: str = "B") -> float:
    """``B`` as a finite float ``> 0`` (Definition J.3's norm bound)."""
    return check_real(B, name, low=0.0, low_open=True)


def linear_log_probs(features: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``log π_θ(y|x)`` for validated ``features [X, Y, d]`` and ``theta [d]``; shape ``[X, Y]``.

    Valid for any finite ``θ``: the row max is subtracted before
    normalising (:func:`~sharpsim.policies.tabular.log_softmax`), and logits
    past the float range are handled in a power-of-two-scaled copy.

    Example:
      >>> np.exp(linear_log_probs(np.array([[[1.0], [0.5]]]), np.array([1e17]))).tolist()
      [[1.0, 0.0]]
    """
    return log_softmax(logit_gaps(features, theta))


def logit_gaps(features: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``⟨φ, θ⟩`` over the last axis up to a constant per row, finite or ``-inf``, for any finite inputs.

    ``features [..., n, d]`` and ``theta [d]``, both finite (the features need
    not be unit vectors: the multi-layer model's are any callable's output).
    Where ``⟨φ, θ⟩`` fits in a float it is returned as is; otherwise the row
    max is subtracted in a power-of-two-scaled copy and the gaps scaled back.

    Example:
      >>> logit_gaps(np.array([[[4.0], [2.0]]]), np.array([1e308])).tolist()
      [[0.0, -inf]]
    """
    with np.errstate(over="ignore", invalid="ignore"):
        logits = features @ theta
    if np.all(np.isfinite(logits)):
        return logits
    # ⟨φ, θ⟩ overflows: scale θ (and, if need be, φ) by powers of two (exact), subtract the row max
    # there, scale the gaps back (a gap past the float range is -inf: mass 0, as exp of it would be).
    exponent = int(np.frexp(np.max(np.abs(theta)))[1])
    theta = np.ldexp(theta, -exponent)
    with np.errstate(over="ignore", invalid="ignore"):
        small = features @ theta
    if not np.all(np.isfinite(small)):  # features near the float range too
        shift = int(np.frexp(np.max(np.abs(features)))[1])
        small, exponent = np.ldexp(features, -shift) @ theta, exponent + shift
    with np.errstate(over="ignore"):
        return np.ldexp(small - small.max(axis=-1, keepdims=True), exponent)


class LinearSoftmaxPolicy(TabularPolicy):
    """Linear softmax policy ``π_θ(y|x) ∝ exp⟨φ(x,y), θ⟩`` (Definition J.3).

    ``π_zero`` is uniform, so it cancels in the normalisation. The table
    ``log π_θ`` is computed once (row max subtracted, then log-sum-exp: rows
    are valid distributions for any finite ``θ``) and the policy then
    behaves as a :class:`TabularPolicy`.

    Args:
      features: ``φ``, float array ``[n_contexts, n_responses, d]`` with
        ``‖φ(x,y)‖₂ ≤ 1``.
      theta: ``θ``, float array ``[d]``.
      B: optional norm bound; if given, ``‖θ‖₂ ≤ B`` is checked (a relative
        slack of ``1e-9`` absorbs the last rounding of a constrained solver).

    Attributes:
      features, theta (read-only arrays), B (float or None), dim (``d``),
      plus everything :class:`TabularPolicy` has.

    Example:
      >>> import numpy as np, sharpsim as ss
      >>> phi = np.array([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])
      >>> pi = ss.LinearSoftmaxPolicy(phi, [np.log(2.0), 0.0], B=1.0)
      >>> pi.probs.round(3).tolist()
      [[0.5, 0.25, 0.25]]
    """

    def __init__(self, features, theta, *, B=None):
        self.features = check_features(features)
        self.dim = self.features.shape[-1]
        self.B = None if B is None else check_norm_bound(B)
        self.theta = check_theta(theta, self.dim, self.B)
        self._set_log_probs(linear_log_probs(self.features, self.theta))

    @classmethod
    def from_log_probs(cls, log_probs, *, atol: float = 1e-8) -> TabularPolicy:
        """A plain :class:`TabularPolicy` (a table alone carries no ``features`` or ``θ``)."""
        return TabularPolicy.from_log_probs(log_probs, atol=atol)

    @property
    def logits(self) -> np.ndarray:
        """``⟨φ(x,y), θ⟩``, shape ``[n_contexts, n_responses]`` (unnormalised)."""
        return self.features @ self.theta

    def __repr__(self) -> str:
        return (
            f"LinearSoftmaxPolicy(n_contexts={self.n_contexts}, n_responses={self.n_responses}, "
            f"dim={self.dim}, B={self.B})"
        )
