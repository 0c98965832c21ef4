"""sharpsim: a simulator of self-improvement by sharpening.

Huang et al., "Self-Improvement in Language Models: The Sharpening Mechanism",
ICLR 2025 (arXiv 2412.01951). ``import sharpsim`` needs only numpy and scipy.
"""

__version__ = "0.2.0"

# --- policies ---
# --- theory: bounds, named instances, verify (sharpsim.theory.verify) ---
from . import theory

# --- algorithms ---
from .algorithms import (
    SharpeningResult,
    adaptive_sft_sharpening,
    bon_mode_mass,
    dpo_sharpening,
    expected_adaptive_sft_error,
    expected_sft_error,
    sft_error_plateau,
    sft_sharpening,
    xpo_sharpening,
)

# --- model classes ---
from .classes import (
    FiniteClass,
    LinearSoftmaxClass,
    MarkovClass,
    ModelClass,
    PrefixTreeClass,
    TabularClass,
)

# --- inference: decoding and power sampling ---
from .inference import (
    AdaptiveBestOfNResult,
    BestOfNResult,
    PowerMCMCResult,
    adaptive_best_of_n,
    adaptive_best_of_n_expected_samples,
    adaptive_best_of_n_law,
    beam_search,
    best_of_n,
    best_of_n_law,
    bon_failure_probability,
    bon_sufficient_n,
    greedy_decode,
    power_law,
    power_sample_mcmc,
    temperature_sample,
    token_temperature_law,
)

# --- measures ---
from .measures import (
    adaptive_coverage,
    concentrability,
    coverage,
    is_sharpened,
    kl_divergence,
    log_mode_mass,
    margin,
    mode_mask,
    mode_mass,
    regularized_objective,
    sharpening_error,
    tilted,
)

# --- oracle ---
from .oracle import QueryBudgetExceeded, SampleEvaluateOracle
from .policies import (
    AutoregressivePolicy,
    JointAutoregressivePolicy,
    LinearSoftmaxPolicy,
    MarkovPolicy,
    MultiLayerLinearSoftmaxPolicy,
    Policy,
    TabularPolicy,
    all_sequences,
    as_tabular,
    decode_responses,
    encode_sequences,
)

# --- self-rewards and best-of-N ---
from .rewards import (
    LengthNormalizedReward,
    LogLikelihoodReward,
    MajorityVoteReward,
    TableReward,
    log_likelihood,
)
