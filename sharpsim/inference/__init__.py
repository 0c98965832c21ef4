"""Inference-time sharpening and decoding (SPEC §2, §6).

Modules: ``decoding`` (greedy, beam, token temperature), ``bon`` (best-of-N and
its exact law, adaptive best-of-N, Prop. C.1), ``power`` (sequence-level power sampling).
"""

from .decoding import beam_search, greedy_decode, temperature_sample, token_temperature_law
from .power import PowerMCMCResult, power_law, power_sample_mcmc
from .bon import (
    AdaptiveBestOfNResult,
    BestOfNResult,
    adaptive_best_of_n,
    adaptive_best_of_n_expected_samples,
    adaptive_best_of_n_law,
    best_of_n,
    best_of_n_law,
    bon_failure_probability,
    bon_sufficient_n,
)
