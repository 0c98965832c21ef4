"""Autoregressive constructions: greedy's failure (Prop. 3.1), MAX-CUT hardness (Prop. E.1),
non-closure under sharpening (Prop. E.2), and sequence-level power vs token-level temperature.

Every model here lives on ``Y = V^H`` and is small enough to enumerate, so each
claim is checked against the exact table ``π(y|x)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize
from scipy.special import expit

from ..._validation import check_int, check_real, check_rng
from ...inference.decoding import beam_search, greedy_decode, token_temperature_law
from ...inference.power import power_law
from ...measures import mode_mask, mode_mass, tilted
from ...policies.autoregressive import JointAutoregressivePolicy, MultiLayerLinearSoftmaxPolicy
from ...policies.base import all_sequences, encode_sequences
from ._instance import Instance

#: The MAX-CUT features have ``d = H + H² + H³`` coordinates and the mode is found by
#: enumerating ``2^H`` sequences, so graphs are capped at this many vertices (``H = 12``).
MAX_CUT_VERTICES = 10

#: The two-token world of the greedy-failure and power-pivot examples (the one used in
#: the docs of :mod:`sharpsim.inference.decoding` and :mod:`sharpsim.inference.power`):
#: sequences ``aa, ab, ba, bb`` (``a = 0``, ``b = 1``) with these probabilities.
TWO_TOKEN_WORLD = (0.0, 0.4, 0.35, 0.25)


def _single_mode(policy) -> np.ndarray:
    """The unique sequence mode of a one-prompt policy as ``[H]`` tokens (ValueError if tied)."""
    mask = mode_mask(policy)[0]
    if mask.sum() != 1:
        raise ValueError(f"expected a unique sequence mode; found {int(mask.sum())}")
    return all_sequences(policy.vocab_size, policy.horizon)[int(np.argmax(mask))]


def _mass(table, seq, vocab_size: int) -> float:
    return float(table.probs[0, encode_sequences(seq, vocab_size)])


def greedy_failure_example() -> Instance:
    """Proposition 3.1 is tight: a mode of mass ``0.4 <= 1/2`` that greedy decoding misses.

    ``V = {a, b}`` (tokens 0, 1), ``H = 2``, ``π(aa, ab, ba, bb) = (0, 0.40, 0.35, 0.25)``.
    The first token is ``b`` with probability ``0.6 > 0.4``, so greedy commits
    to ``b`` and returns ``ba`` (0.35), while the sequence mode is ``ab``
    (0.40). Beam search of width 2 (every prefix kept) finds it.

    Returns:
      :class:`Instance` with ``base`` a :class:`~sharpsim.JointAutoregressivePolicy`
      and claims ``mode``, ``mode_mass``, ``greedy``, ``greedy_mass``,
      ``greedy_is_mode`` and ``beam2_is_mode``.

    Example:
      >>> inst = greedy_failure_example()
      >>> inst.claims["mode"].tolist(), inst.claims["greedy"].tolist(), inst.claims["mode_mass"]
      ([0, 1], [1, 0], 0.4)
    """
    base = JointAutoregressivePolicy([list(TWO_TOKEN_WORLD)], 2, 2)
    table = base.to_tabular()
    mode, greedy = _single_mode(base), greedy_decode(base, [0])[0]
    claims = {
        "mode": mode,
        "mode_mass": _mass(table, mode, 2),
        "greedy": greedy,
        "greedy_mass": _mass(table, greedy, 2),
        "greedy_is_mode": bool(np.array_equal(greedy, mode)),
        "beam2_is_mode": bool(np.array_equal(beam_search(base, [0], 2)[0], mode)),
    }
    return Instance(
        "greedy_failure_example", base, np.ones(1), None, claims, "Proposition 3.1 (tightness)"
    )


def power_sampling_pivot_example(alpha: float = 2.0) -> Instance:
    """Sequence-level power ``π^α`` and token-level temperature ``1/α`` disagree on the top sequence.

    Same world as :func:`greedy_failure_example`. Token ``b`` is a *pivot*: it
    is the likelier first token (0.6) but its continuations are spread out,
    while ``a`` (0.4) continues deterministically. Token-level temperature
    ``1/α`` sharpens each conditional separately and so favours ``b`` first;
    the sequence-level law ``π^α/Z`` (the KL-regularised optimum with
    ``α = 1 + 1/β``, SPEC §5–6) keeps the ordering of ``π`` and favours ``ab``.
    At ``α = 2``: ``π^2`` puts 0.464 on ``ab``, token temperature ``1/2`` puts
    0.456 on ``ba`` and only 0.308 on ``ab``.

    Args:
      alpha: the power ``α >= 1``.

    Returns:
      :class:`Instance` with claims ``power_top``, ``power_top_mass``,
      ``temperature_top``, ``temperature_top_mass``, ``power_mode_mass`` and
      ``temperature_mode_mass`` (mass on the base mode ``ab``), ``disagree``.

    Example:
      >>> inst = power_sampling_pivot_example(2.0)
      >>> inst.claims["power_top"].tolist(), inst.claims["temperature_top"].tolist()
      ([0, 1], [1, 0])
    """
    alpha = check_real(alpha, "alpha", low=1.0)
    base = JointAutoregressivePolicy([list(TWO_TOKEN_WORLD)], 2, 2)
    power, tempered = power_law(base, alpha), token_temperature_law(base, 1.0 / alpha)
    seqs = all_sequences(2, 2)
    power_top, temp_top = seqs[np.argmax(power.probs[0])], seqs[np.argmax(tempered.probs[0])]
    mode = _single_mode(base)
    claims = {
        "power_top": power_top,
        "power_top_mass": _mass(power, power_top, 2),
        "temperature_top": temp_top,
        "temperature_top_mass": _mass(tempered, temp_top, 2),
        "power_mode_mass": _mass(power, mode, 2),
        "temperature_mode_mass": _mass(tempered, mode, 2),
        "disagree": not np.array_equal(power_top, temp_top),
    }
    return Instance(
        "power_sampling_pivot_example",
        base,
        np.ones(1),
        None,
        claims,
        "SPEC §6 (power sampling vs token temperature)",
        {"alpha": alpha},
    )


# --------------------------------------------------------------------------- Proposition E.1


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


# --------------------------------------------------------------------------- Proposition E.2


def _nonclosure_features(h, x, seqs):
    """Prop. E.2's features, tokens ``0..n-1`` standing for ``1..n``.

    ``φ_1(1) = φ_1(2) = e_1``, ``φ_1(i >= 3) = e_2``; ``φ_2(2, 1) = e_1``,
    ``φ_2(2, j != 1) = e_2``, ``φ_2(i != 2, ·) = 0``.
    """
    first = seqs[..., 0]
    if h == 0:
        return np.stack([first <= 1, first >= 2], axis=-1).astype(float)
    after_two = first == 1
    second = seqs[..., 1]
    return np.stack([after_two & (second == 0), after_two & (second != 0)], axis=-1).astype(float)


def nonclosure_policy(n: int, theta) -> MultiLayerLinearSoftmaxPolicy:
    """The member ``π_θ`` of Prop. E.2's class: ``V = [n]``, ``H = d = 2``, ``theta [2, 2]``.

    Example:
      >>> pi = nonclosure_policy(4, [[0.0, 0.0], [0.0, 0.0]])
      >>> float(np.exp(pi.log_prob(0, [1, 0])))
      0.0625
    """
    n = check_int(n, "n", minimum=3)
    return MultiLayerLinearSoftmaxPolicy(_nonclosure_features, theta, n, 2)


def nonclosure_max_mode_mass(n: int, B: float, *, restarts: int = 8, rng=None) -> dict:
    """Numerically maximise ``π_θ((2,1))`` over Prop. E.2's class ``{‖θ_1‖, ‖θ_2‖ <= B}``.

    ``θ_h = B·r_h·(cos a_h, sin a_h)`` with ``r_h ∈ [0, 1]``; L-BFGS-B on
    ``-log π_θ(2, 1)`` (evaluated through :func:`nonclosure_policy`) from
    ``restarts`` uniform starting points. The paper proves the answer is
    ``< 1/2`` for every ``B`` (``φ_1(1) = φ_1(2)`` forces
    ``π_θ(1) = π_θ(2)``, so ``π_θ(2, 1) <= π_θ(2) <= 1/2``), with supremum
    ``1/2`` as ``B → ∞``.

    Returns:
      dict with ``max_mass`` (float) and ``theta`` (``[2, 2]``).

    Example:
      >>> out = nonclosure_max_mode_mass(5, 10.0, restarts=2, rng=0)
      >>> round(out["max_mass"], 4)
      0.5
    """
    n = check_int(n, "n", minimum=3)
    B = check_real(B, "B", low=0.0, low_open=True)
    restarts = check_int(restarts, "restarts", minimum=1)
    rng = check_rng(rng)

    def theta_of(z):
        return B * np.array(
            [
                [z[0] * math.cos(z[1]), z[0] * math.sin(z[1])],
                [z[2] * math.cos(z[3]), z[2] * math.sin(z[3])],
            ]
        )

    def loss(z):
        return -float(nonclosure_policy(n, theta_of(z)).log_prob(0, [1, 0]))

    bounds = [(0.0, 1.0), (-math.pi, math.pi)] * 2
    starts = np.column_stack(
        [
            rng.random(restarts),
            rng.uniform(-math.pi, math.pi, restarts),
            rng.random(restarts),
            rng.uniform(-math.pi, math.pi, restarts),
        ]
    )
    best = min(
        (optimize.minimize(loss, z0, method="L-BFGS-B", bounds=bounds) for z0 in starts),
        key=lambda res: res.fun,
    )
    return {"max_mass": math.exp(-best.fun), "theta": theta_of(best.x)}


def nonclosure_instance(n, B=None, *, restarts: int = 8, rng=None) -> Instance:
    """Proposition E.2: the class contains ``π_base`` but no model putting more than 1/2 on its mode.

    ``X = {⊥}``, ``V = [n]`` (tokens ``0..n-1`` for ``1..n``), ``H = d = 2``,
    features as in :func:`_nonclosure_features`, ``θ*_1 = θ*_2 = B e_1``
    with ``B >= log n``. Then ``π_base(1) = π_base(2) = 1/(2 + (n-2)e^{-B})``
    and ``π_base(1|2) = 1/(1 + (n-1)e^{-B})``, so the unique sequence mode
    ``(2, 1)`` has mass ``> 1/6``, every other sequence ``O(1/n)``.

    Why no model of the class is sharpened (the paper's argument): in every
    ``π_θ`` the first token's logits of ``1`` and ``2`` are both ``⟨e_1, θ_1⟩``
    because ``φ_1(1) = φ_1(2)``, so ``π_θ(1) = π_θ(2)`` and
    ``π_θ(2, 1) <= π_θ(2) <= π_θ(2)/(π_θ(1) + π_θ(2)) = 1/2`` — whatever the
    norm bound. The sharpened model ``π*_β ∝ π_base^(1+1/β)`` (mass ``→ 1``
    on ``(2, 1)``) is outside the class: the class is not closed under
    sharpening, unlike single-layer linear softmax classes (App. E.2).
    Greedy decoding takes token ``1`` first (a tie with ``2``, lowest token)
    and misses the mode.

    Args:
      n: vocabulary size (``>= 3``).
      B: ``‖θ*_h‖``; ``None`` gives ``log n`` (must be ``>= log n``).
      restarts, rng: for :func:`nonclosure_max_mode_mass` over the class of radius ``B``.

    Returns:
      :class:`Instance` with claims ``mode`` (``[1, 0]``), ``mode_is_unique``,
      ``mode_mass`` (enumeration) and ``mode_mass_formula``, ``mode_mass_lower_bound``
      (``1/6``), ``runner_up_mass``, ``class_mode_mass_bound`` (``1/2``),
      ``class_max_mode_mass`` (numerical maximum over the class),
      ``sharpened_mode_mass`` (of ``π*_β`` with ``β = 0.1``) and ``greedy_is_mode``.

    Example:
      >>> inst = nonclosure_instance(10, restarts=2, rng=0)
      >>> round(inst.claims["mode_mass"], 4), round(inst.claims["class_max_mode_mass"], 4)
      (0.188, 0.3217)
    """
    n = check_int(n, "n", minimum=3)
    B = math.log(n) if B is None else check_real(B, "B", low=0.0, low_open=True)
    if B < math.log(n) * (1.0 - 1e-12):
        raise ValueError(f"B must be >= log n = {math.log(n):.6g} (Prop. E.2); got {B:.6g}")
    base = nonclosure_policy(n, [[B, 0.0], [B, 0.0]])
    claims = _nonclosure_claims(
        base, n, B, nonclosure_max_mode_mass(n, B, restarts=restarts, rng=rng)
    )
    return Instance(
        "nonclosure_instance",
        base,
        np.ones(1),
        None,
        claims,
        "Proposition E.2",
        {"n": n, "B": B, "features": _nonclosure_features},
    )


def _nonclosure_claims(base, n: int, B: float, class_search: dict) -> dict:
    table = base.to_tabular()
    probs = np.sort(table.probs[0])[::-1]
    mask = mode_mask(table)[0]
    mode = np.array([1, 0])
    return {
        "mode": mode,
        "mode_is_unique": bool(mask.sum() == 1 and mask[encode_sequences(mode, n)]),
        "mode_mass": float(table.probs[0, encode_sequences(mode, n)]),
        "mode_mass_formula": 1.0
        / ((2.0 + (n - 2) * math.exp(-B)) * (1.0 + (n - 1) * math.exp(-B))),
        "mode_mass_lower_bound": 1.0 / 6.0,
        "runner_up_mass": float(probs[1]),
        "class_mode_mass_bound": 0.5,
        "class_max_mode_mass": class_search["max_mass"],
        "sharpened_mode_mass": float(mode_mass(tilted(table, 0.1))[0]),
        "greedy_is_mode": bool(np.array_equal(greedy_decode(base, [0])[0], mode)),
    }
