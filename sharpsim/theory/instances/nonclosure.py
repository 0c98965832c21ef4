"""A model class not closed under sharpening (Prop. E.2, App. E): no member puts > 1/2 on the base's mode."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from ..._validation import check_int, check_real, check_rng
from ...inference.decoding import greedy_decode
from ...measures import mode_mask, mode_mass, tilted
from ...policies.autoregressive import MultiLayerLinearSoftmaxPolicy
from ...policies.base import encode_sequences
from ._instance import Instance


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
