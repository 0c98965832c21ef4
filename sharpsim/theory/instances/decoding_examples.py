"""Two-token worlds where decoding rules disagree: greedy's failure (Prop. 3.1 is tight) and power vs temperature.

Every model here is small enough to enumerate, so each claim is checked
against the exact table ``π(y|x)``.
"""

from __future__ import annotations

import numpy as np

from ..._validation import check_real
from ...inference.decoding import beam_search, greedy_decode, token_temperature_law
from ...inference.power import power_law
from ...measures import mode_mask
from ...policies.autoregressive import JointAutoregressivePolicy
from ...policies.base import all_sequences, encode_sequences
from ._instance import Instance

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
