"""Exact statements checked exactly: identities and inequalities on seeded random worlds.

Each check returns a :class:`CheckResult`. Tolerances of the exact parts are
floating-point round-off allowances (``1e-9``), not statistical bands; the
Monte Carlo parts (BoN sampler, Lemma I.1's sampler, power sampling's chain) are
tests at a stated level. Reference values (mode sets of integer-weight worlds,
planted modes) are computed here, not taken from the implementations under test.

The checks live by topic: :mod:`.exact_inference` (best-of-N, adaptive
best-of-N), :mod:`.exact_power` (power sampling), :mod:`.exact_tilted` (the tilted model π*_β:
Lemma 4.1, margin, J_β), :mod:`.exact_instances` (decoding and the named
constructions: Prop. 3.1, E.1, E.2).
"""

from __future__ import annotations

from .exact_inference import check_bon_law, check_bon_sampler, check_lemma_i1, check_prop_c1
from .exact_instances import check_prop_3_1, check_prop_e1, check_prop_e2
from .exact_power import check_power_sampling
from .exact_tilted import (
    check_j_beta_identity,
    check_lemma_4_1,
    check_margin_sharpness,
    check_tilted_limit,
)

EXACT_CHECKS = (
    check_bon_law,
    check_bon_sampler,
    check_prop_c1,
    check_prop_3_1,
    check_lemma_4_1,
    check_margin_sharpness,
    check_j_beta_identity,
    check_tilted_limit,
    check_lemma_i1,
    check_prop_e1,
    check_prop_e2,
    check_power_sampling,
)
