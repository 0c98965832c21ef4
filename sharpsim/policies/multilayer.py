"""The multi-layer linear softmax model of Eq. (11) (App. E): one linear softmax layer per position."""

from __future__ import annotations

import numpy as np

from .._validation import (
    as_real_array,
    check_real,
)
from .autoregressive import AutoregressivePolicy, _read_only
from .linear import logit_gaps
from .tabular import log_softmax


class MultiLayerLinearSoftmaxPolicy(AutoregressivePolicy):
    """Multi-layer linear softmax model, Eq. (11) (App. E).

    ``π_θ(y_h | x, y_{1:h-1}) ∝ exp⟨φ_h(x, y_{1:h}), θ_h⟩`` with one parameter
    vector ``θ_h ∈ R^d`` per position and ``‖θ_h‖₂ ≤ B`` when ``B`` is given.
    Sampling and evaluation cost ``poly(H, V, d)``; the exact mode is NP-hard in
    general (Prop. E.1), so :meth:`mode` enumerates.

    Args:
      features: callable ``features(h, x, seqs) -> [..., d]``. ``h`` is the
        0-based position; ``seqs [..., h+1]`` are prefixes with a candidate
        token appended; ``x [...]`` has the same batch shape as ``seqs``.
      theta: ``[H, d]``, row ``h`` is ``θ_{h+1}`` of the paper.
      vocab_size: ``V``.
      horizon: ``H``.
      n_contexts: ``|X|`` (default 1, the paper's single prompt ``⊥``).
      B: optional norm bound; ``ValueError`` if some ``‖θ_h‖₂ > B`` (up to a
        relative ``1e-12`` for rounding).

    Example:
      >>> import numpy as np, sharpsim as ss
      >>> def one_hot_last(h, x, seqs):          # φ_h = e_{y_h}
      ...     return (seqs[..., -1:] == np.arange(3)).astype(float)
      >>> theta = np.log([[1.0, 2.0, 1.0], [3.0, 1.0, 1.0]])
      >>> pi = ss.MultiLayerLinearSoftmaxPolicy(one_hot_last, theta, vocab_size=3, horizon=2)
      >>> float(np.exp(pi.log_prob(0, [1, 0])).round(4))
      0.3
    """

    def __init__(
        self, features, theta, vocab_size: int, horizon: int, n_contexts: int = 1, *, B=None
    ):
        if not callable(features):
            raise TypeError(
                f"features must be callable features(h, x, seqs) -> [..., d]; got {type(features).__name__}"
            )
        super().__init__(n_contexts, vocab_size, horizon)
        self.B = None if B is None else check_real(B, "B", low=0.0)
        self.theta = _read_only(_check_theta(theta, self.horizon, self.B))
        self.dim = self.theta.shape[1]
        self.features = features

    def next_token_log_probs(self, x, prefix) -> np.ndarray:
        """``log softmax_v ⟨φ_h(x, prefix·v), θ_h⟩`` over the candidate tokens ``v``."""
        return self._next_log_probs(*self._check_prefix(x, prefix))

    def _next_log_probs(self, x, prefix):
        h, vocab = prefix.shape[-1], self.vocab_size
        batch = np.broadcast_shapes(np.shape(x), prefix.shape[:-1])
        grown = np.empty(batch + (vocab, h + 1), dtype=np.int64)
        grown[..., :h] = prefix[..., None, :]
        grown[..., h] = np.arange(vocab)
        xs = np.broadcast_to(np.asarray(x)[..., None], batch + (vocab,))
        phi = np.asarray(self.features(h, xs, grown), dtype=float)
        if phi.shape != batch + (vocab, self.dim):
            raise ValueError(
                f"features(h, x, seqs) must return shape {batch + (vocab, self.dim)}; got {phi.shape}"
            )
        if not np.all(np.isfinite(phi)):
            raise ValueError(f"features(h={h}, x, seqs) returned non-finite values")
        # Log space for any finite θ and φ, as LinearSoftmaxPolicy: logits past the float range
        # are normalised in a power-of-two-scaled copy.
        return log_softmax(logit_gaps(phi, self.theta[h]))


def _check_theta(theta, horizon: int, bound) -> np.ndarray:
    arr = as_real_array(theta, "theta")
    if arr.ndim != 2 or arr.shape[0] != horizon or arr.shape[1] == 0:
        raise ValueError(
            f"theta must have shape [horizon={horizon}, d] with d >= 1; got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("theta must be finite")
    if bound is not None:
        norms = np.linalg.norm(arr, axis=1)
        over = norms > bound * (1.0 + 1e-12)
        if np.any(over):
            h = int(np.argmax(over))
            raise ValueError(
                f"theta rows must have norm <= B={bound}; row {h} has norm {norms[h]:.6g}"
            )
    return arr
