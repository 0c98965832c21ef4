"""Inference-time sharpening and decoding (SPEC §2, §6).

Modules: ``decoding`` (greedy, beam, token temperature), ``bon_law`` (exact
best-of-N law, Prop. C.1), ``bon_sampling`` (the best-of-N sampler),
``adaptive_bon`` (adaptive best-of-N, Eq. 10, and its exact laws), ``power``
(sequence-level power sampling), ``power_chain`` (the power sampler's Markov
chain, exactly: kernel, law after k steps), ``power_mixing`` (its spectral
gap and mixing times).
"""

from .adaptive_bon import (
    AdaptiveBestOfNResult,
    adaptive_best_of_n,
    adaptive_best_of_n_expected_samples,
    adaptive_best_of_n_law,
)
from .bon_law import best_of_n_law, bon_failure_probability, bon_sufficient_n
from .bon_regret import bon_regret_curve, bon_true_values, pool_bon_true_values
from .bon_sampling import BestOfNResult, best_of_n
from .decoding import beam_search, greedy_decode, temperature_sample, token_temperature_law
from .pessimism import (
    ITPResult,
    chi2_regularized,
    chi2_threshold,
    inference_time_pessimism,
    itp_law,
)
from .power import PowerMCMCResult, power_law, power_sample_mcmc
from .power_chain import PowerChainLaw, power_chain_kernel, power_chain_law
from .power_mixing import PowerChainMixing, power_chain_mixing

__all__ = [
    "ITPResult",
    "bon_regret_curve",
    "bon_true_values",
    "chi2_regularized",
    "chi2_threshold",
    "inference_time_pessimism",
    "itp_law",
    "pool_bon_true_values",
    "AdaptiveBestOfNResult",
    "BestOfNResult",
    "PowerChainLaw",
    "PowerChainMixing",
    "PowerMCMCResult",
    "adaptive_best_of_n",
    "adaptive_best_of_n_expected_samples",
    "adaptive_best_of_n_law",
    "beam_search",
    "best_of_n",
    "best_of_n_law",
    "bon_failure_probability",
    "bon_sufficient_n",
    "greedy_decode",
    "power_chain_kernel",
    "power_chain_law",
    "power_chain_mixing",
    "power_law",
    "power_sample_mcmc",
    "temperature_sample",
    "token_temperature_law",
]
