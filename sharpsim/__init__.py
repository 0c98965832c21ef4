"""sharpsim: a simulator of self-improvement by sharpening.

Huang et al., "Self-Improvement in Language Models: The Sharpening Mechanism",
ICLR 2025 (arXiv 2412.01951). ``import sharpsim`` needs only numpy and scipy.
"""

__version__ = "0.2.0"

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
    ITPResult,
    PowerChainLaw,
    PowerChainMixing,
    PowerMCMCResult,
    adaptive_best_of_n,
    adaptive_best_of_n_expected_samples,
    adaptive_best_of_n_law,
    beam_search,
    best_of_n,
    best_of_n_law,
    bon_failure_probability,
    bon_regret_curve,
    bon_sufficient_n,
    bon_true_values,
    chi2_regularized,
    chi2_threshold,
    greedy_decode,
    inference_time_pessimism,
    itp_law,
    pool_bon_true_values,
    power_chain_kernel,
    power_chain_law,
    power_chain_mixing,
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

# --- policies ---
from .policies import (
    AutoregressivePolicy,
    JointAutoregressivePolicy,
    LinearSoftmaxPolicy,
    MarkovPolicy,
    MultiLayerLinearSoftmaxPolicy,
    Policy,
    SuffixPolicy,
    TabularPolicy,
    all_sequences,
    as_tabular,
    decode_responses,
    encode_sequences,
)

# --- imperfect rewards (SPEC §11) ---
from .reward_models import (
    RewardModel,
    adversarial_reward_model,
    comparator_coverage,
    optimal_comparator,
    self_reward_model,
)

# --- self-rewards and best-of-N ---
from .rewards import (
    LengthNormalizedReward,
    LogLikelihoodReward,
    MajorityVoteReward,
    TableReward,
    log_likelihood,
)
