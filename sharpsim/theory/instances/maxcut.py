"""MAX-CUT as a multi-layer linear softmax model: its sequence mode is a maximum cut (Prop. E.1, App. E).

Finding the mode is therefore NP-hard in general; graphs are small enough
here to enumerate, so the claims are checked against the exact table.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..._validation import check_real
from ...inference.decoding import beam_search, greedy_decode
from ...measures import mode_mask
from ...policies.autoregressive import MultiLayerLinearSoftmaxPolicy
from ...policies.base import all_sequences, encode_sequences
from ._instance import Instance

#: The MAX-CUT features have ``d = H + H² + H³`` coordinates and the mode is found by
#: enumerating ``2^H`` sequences, so graphs are capped at this many vertices (``H = 12``).
MAX_CUT_VERTICES = 10


def _check_adjacency(adjacency) -> np.ndarray:
    arr = np.asarray(adjacency)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 2:
        raise ValueError(
            f"graph_adjacency must be a square matrix with >= 2 vertices; got shape {arr.shape}"
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise TypeError(
            f"graph_adjacency must be a 0/1 numeric or boolean matrix; got dtype {arr.dtype}"
        )
    arr = arr.astype(float)
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("graph_adjacency entries must be 0 or 1")
    if not np.array_equal(arr, arr.T):
        raise ValueError("graph_adjacency must be symmetric (an undirected graph)")
    if np.any(np.diag(arr) != 0):
        raise ValueError("graph_adjacency must have a zero diagonal (no self-loops)")
    if arr.sum() == 0:
        raise ValueError(
            "graph_adjacency must have at least one edge (else every cut is 0 and the mode is no cut)"
        )
    if arr.shape[0] > MAX_CUT_VERTICES:
        raise ValueError(
            f"graph_adjacency has {arr.shape[0]} vertices; at most MAX_CUT_VERTICES={MAX_CUT_VERTICES}"
        )
    return arr


def _cubic_features(horizon: int):
    """``φ_h(y_{1:h}) = (y_i, y_i y_j, y_i y_j y_k)`` over ``[H] ⊔ [H]² ⊔ [H]³``, spins ``y = 2·token - 1``.

    Coordinates that involve a position after ``h`` are 0 (those tokens do not exist yet).
    """

    def features(h, x, seqs):
        batch = seqs.shape[:-1]
        spins = np.zeros(batch + (horizon,))
        spins[..., : h + 1] = 2.0 * seqs - 1.0
        quad = spins[..., :, None] * spins[..., None, :]
        cubic = quad[..., :, :, None] * spins[..., None, None, :]
        return np.concatenate(
            [spins, quad.reshape(batch + (horizon**2,)), cubic.reshape(batch + (horizon**3,))],
            axis=-1,
        )

    return features


def _maxcut_theta(adjacency: np.ndarray, final_scale: float, coupling: float) -> np.ndarray:
    """Prop. E.1's parameters ``[H, H + H² + H³]``, ``J = -A``.

    ``θ_{1..H-2} = 0``, ``θ_{H-1} = c·Σ_{i,j<=H-2} J_ij e_(i,j,H-1)``, ``θ_H = s·(e_(H-1,H) + e_H)``.
    """
    n = adjacency.shape[0]
    H = n + 2
    theta = np.zeros((H, H + H**2 + H**3))
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    theta[H - 2, H + H**2 + (i * H + j) * H + (H - 2)] = -coupling * adjacency
    theta[H - 1, H + (H - 2) * H + (H - 1)] = final_scale
    theta[H - 1, H - 1] = final_scale
    return theta


def _cut_values(adjacency: np.ndarray, spins: np.ndarray) -> np.ndarray:
    """Number of edges cut by each ±1 assignment ``spins [k, n]``."""
    agree = np.einsum(
        "ki,ij,kj->k", spins, adjacency, spins
    )  # Σ_{i,j} A_ij s_i s_j = 2(|E| - 2·cut)
    return np.rint((adjacency.sum() - agree) / 4.0).astype(np.int64)


def maxcut_instance(
    graph_adjacency, *, final_scale: float = 2.0, coupling: float = 1.0
) -> Instance:
    """Proposition E.1: the sequence mode of a multi-layer linear softmax model encodes a MAX-CUT.

    ``X = {⊥}``, ``V = {-1, +1}`` (tokens 0, 1), ``H = n + 2`` for a graph on
    ``n`` vertices, cubic-monomial features (``d = H + H² + H³``),
    ``θ_1..θ_{H-2} = 0``, ``θ_{H-1} = Σ_{i,j<=H-2} J_ij e_(i,j,H-1)``,
    ``θ_H = 2(e_(H-1,H) + e_H)``, ``J = -A(G)``. Then the first ``n`` tokens are
    uniform, ``π(y_{H-1} = +1 | y_{1:n}) = σ(2s)`` with
    ``s = Σ J_ij y_i y_j = 4·cut(y) - 2|E|``, and ``y_H = +1`` has probability
    ``σ(8)`` after ``y_{H-1} = +1`` and ``1/2`` otherwise. So
    ``π(y) = 2^{-n}·σ(2 s y_{H-1})·(σ(8 y_H) or 1/2)``. A graph with an edge
    has ``maxcut >= (|E|+1)/2`` (a uniformly random cut averages ``|E|/2`` and
    the empty cut is 0), so ``s_max >= 2`` and ``σ(4)σ(8) > 1/2``: the mode set
    is exactly ``{(c, +1, +1) : c a maximum cut}`` (a cut and its complement
    both). Greedy and beam search resolve the ties of the ``n`` uniform
    positions by the lowest token and so can miss every maximum cut.

    Args:
      graph_adjacency: symmetric 0/1 matrix ``[n, n]``, zero diagonal, at least
        one edge, ``2 <= n <= MAX_CUT_VERTICES``.
      final_scale: the factor in ``θ_H`` (the paper's 2; its proof's text also
        speaks of ``B``, which this exposes).
      coupling: a factor ``c > 0`` on ``J`` (the paper's 1). The reduction is
        exact for every ``c``, but in double precision the gap between the
        best and the second-best cut, ``log σ(2c·s_max) - log σ(2c·(s_max-4))
        ≈ e^{-2c(s_max-4)}``, vanishes once ``s_max`` reaches about 15 (many
        edges); ``c = 1/|E|`` keeps it ``Θ(1/|E|)``. Claim ``log_gap``
        reports the gap actually obtained.

    Returns:
      :class:`Instance` with ``base`` a :class:`~sharpsim.MultiLayerLinearSoftmaxPolicy`
      and claims ``max_cut`` (brute force), ``max_cuts`` (bool ``[k, n]``,
      ``True`` = spin ``+1``), ``mode_sequences`` (``[k', H]``, exact by
      enumeration), ``mode_is_max_cut`` (the mode set equals
      ``{(c, +1, +1)}``), ``mode_mass`` and ``mode_mass_formula``
      (``2^{-n}σ(2 s_max)σ(4·final_scale)``), ``greedy``, ``greedy_cut``,
      ``greedy_is_mode``, ``beam_misses`` (the widths ``1, 2, 4, .., 2^{H-1}``
      whose beam search returns no mode), ``theta_norms`` ``[H]`` and
      ``log_gap`` (``log π`` of the mode minus that of the best non-mode
      sequence; decoders treat log-probabilities within
      ``TIE_RTOL·|log π|`` as tied, so a smaller gap blurs the mode for them).

    Example:
      >>> cycle5 = np.roll(np.eye(5, dtype=int), 1, axis=1) + np.roll(np.eye(5, dtype=int), -1, axis=1)
      >>> inst = maxcut_instance(cycle5)
      >>> inst.claims["max_cut"], inst.claims["mode_is_max_cut"], inst.claims["greedy_is_mode"]
      (4, True, False)
      >>> inst.claims["beam_misses"]
      (1, 2, 4)
    """
    adjacency = _check_adjacency(graph_adjacency)
    final_scale = check_real(final_scale, "final_scale", low=0.0, low_open=True)
    coupling = check_real(coupling, "coupling", low=0.0, low_open=True)
    n = adjacency.shape[0]
    H = n + 2
    theta = _maxcut_theta(adjacency, final_scale, coupling)
    base = MultiLayerLinearSoftmaxPolicy(_cubic_features(H), theta, 2, H)
    claims = _maxcut_claims(base, adjacency, final_scale, coupling)
    return Instance(
        "maxcut_instance",
        base,
        np.ones(1),
        None,
        claims,
        "Proposition E.1",
        {"adjacency": adjacency.astype(np.int64), "final_scale": final_scale, "coupling": coupling},
    )


def _maxcut_claims(base, adjacency: np.ndarray, final_scale: float, coupling: float) -> dict:
    n, H = adjacency.shape[0], adjacency.shape[0] + 2
    spins = 2.0 * all_sequences(2, n) - 1.0
    cuts = _cut_values(adjacency, spins)
    max_cut = int(cuts.max())
    table = base.to_tabular()
    mask = mode_mask(table)[0]
    seqs = all_sequences(2, H)
    modes = seqs[mask]
    best = (spins[cuts == max_cut] > 0).astype(np.int64)
    expected = np.zeros(2**H, dtype=bool)
    expected[encode_sequences(np.c_[best, np.ones((best.shape[0], 2), dtype=np.int64)], 2)] = True
    s_max = 4.0 * max_cut - 2.0 * (adjacency.sum() / 2.0)  # s = 4·cut - 2|E| at a maximum cut
    greedy = greedy_decode(base, [0])[0]
    widths = 2 ** np.arange(H)
    beams = [beam_search(base, [0], int(w))[0] for w in widths]  # one search per width (a handful)
    return {
        "max_cut": max_cut,
        "max_cuts": spins[cuts == max_cut] > 0,
        "mode_sequences": modes,
        "mode_is_max_cut": bool(np.array_equal(mask, expected)),
        "mode_mass": float(table.probs[0, mask].max()),
        "mode_mass_formula": 2.0**-n
        * float(expit(2.0 * coupling * s_max) * expit(4.0 * final_scale)),
        "greedy": greedy,
        "greedy_cut": int(_cut_values(adjacency, 2.0 * greedy[None, :n] - 1.0)[0]),
        "greedy_is_mode": bool(mask[encode_sequences(greedy, 2)]),
        "beam_misses": tuple(
            int(w) for w, b in zip(widths, beams) if not mask[encode_sequences(b, 2)]
        ),
        "theta_norms": np.linalg.norm(base.theta, axis=1),
        "log_gap": float(table.log_probs[0, mask].max() - table.log_probs[0, ~mask].max()),
    }
