"""Autoregressive constructions, importable from one place (each lives in its own module).

:mod:`.decoding_examples` (greedy's failure, Prop. 3.1; sequence-level power
vs token temperature), :mod:`.maxcut` (MAX-CUT hardness, Prop. E.1),
:mod:`.nonclosure` (non-closure under sharpening, Prop. E.2).
"""

from __future__ import annotations

from .decoding_examples import TWO_TOKEN_WORLD, greedy_failure_example, power_sampling_pivot_example  # noqa: F401
from .maxcut import MAX_CUT_VERTICES, maxcut_instance  # noqa: F401
from .nonclosure import nonclosure_instance, nonclosure_max_mode_mass, nonclosure_policy  # noqa: F401
