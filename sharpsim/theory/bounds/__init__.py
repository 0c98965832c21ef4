"""The paper's guarantees as functions: lower bounds, error bounds, sample sizes.

One function per result of Huang et al. (ICLR 2025). Where the paper writes
``≲``, ``≳``, ``≍``, ``O(·)`` or ``Õ(·)``, the hidden absolute constant is an
explicit keyword argument (``constant=1.0`` unless said otherwise) and the
docstring names the logarithmic factors a ``Õ`` drops. A bound evaluated with
``constant=1`` is therefore a *rate*, not a number the paper proves; lay it
beside measurements with a fitted or swept constant.

Conventions:
  * ``log_class_size`` is ``log|Π|`` (natural log), never ``|Π|``; likewise
    ``log_covering_number`` is ``log N(Π, ε_disc)`` and ``log_n_responses`` is
    ``log|Y|``, so class sizes like ``exp(10⁴)`` are fine.
  * Quantities combine in log space (``log(|Π|/ρ) = log|Π| - log ρ``).
  * Results are Python floats, ints, or small NamedTuples of them; a result
    too large for a float raises ``OverflowError`` rather than returning inf.
    The best-of-N helpers also accept arrays of per-prompt mode masses.
  * Bad input raises ``ValueError``/``TypeError`` naming the argument.

Layout (every public name is re-exported here):
  * :mod:`.lower`: Theorems 3.1, 3.1', D.2 (lower bounds);
  * :mod:`.sft`: Theorems 4.1, 4.1', D.1 (SFT and adaptive SFT-Sharpening);
  * :mod:`.dpo`: Theorems 4.2, 4.2' (RLHF-Sharpening with DPO);
  * :mod:`.xpo`: Theorems J.1, J.2 / 4.3 (RLHF-Sharpening with XPO);
  * :mod:`.xpo_linear`: Theorem J.3 (the XPO plan for a linear softmax class);
  * :mod:`.imperfect`: imperfect rewards (Huang et al., ICML 2025; derived, SPEC §11);
  * :mod:`.lemmas`: Proposition C.1, Lemmas I.1, F.1, J.4, J.5;
  * :mod:`._checks`: the shared argument validators and float-range helpers.

References:
  Huang, Block, Foster, Rohatgi, Zhang, Simchowitz, Ash, Krishnamurthy,
  "Self-Improvement in Language Models: The Sharpening Mechanism",
  ICLR 2025, arXiv 2412.01951 (Theorems 3.1, 3.1', 4.1, 4.1', 4.2, 4.2', 4.3,
  D.1, D.2, J.1, J.2, J.3; Proposition C.1; Lemmas F.1, I.1, J.4, J.5).
"""

from __future__ import annotations

from .dpo import DPOSampleSize, dpo_beta, dpo_error_bound, dpo_sample_complexity
from .imperfect import (
    bon_regret_bound,
    bon_tuned_n,
    itp_regret_bound,
    itp_tuned_beta,
    minimax_lower_bound,
    reward_hacking_lower_bound,
)
from .lemmas import (
    adaptive_bon_expected_samples_bound,
    adaptive_bon_miss_probability_bound,
    bon_failure_probability,
    bon_samples_needed,
    linear_softmax_log_covering_number,
    linear_softmax_sec_bound,
    mle_hellinger_bound,
)
from .lower import adaptive_lower_bound_samples, lower_bound_samples, lower_bound_samples_p
from .sft import (
    AdaptiveSFTSampleSize,
    SFTParameters,
    SFTSampleSize,
    adaptive_mu_stop,
    adaptive_sft_error_bound,
    adaptive_sft_expected_samples,
    adaptive_sft_sample_complexity,
    sft_error_bound,
    sft_parameters,
    sft_sample_complexity,
)
from .xpo import (
    EPSILON_DISC_CAP,
    xpo_alpha,
    xpo_beta,
    xpo_discretization,
    xpo_iterations,
    xpo_regret_bound,
    xpo_sample_complexity,
)
from .xpo_linear import (
    LinearSoftmaxXPOPlan,
    xpo_linear_softmax_norm_limit,
    xpo_linear_softmax_plan,
)

__all__ = [
    "bon_regret_bound",
    "bon_tuned_n",
    "itp_regret_bound",
    "itp_tuned_beta",
    "minimax_lower_bound",
    "reward_hacking_lower_bound",
    "SFTParameters",
    "SFTSampleSize",
    "AdaptiveSFTSampleSize",
    "DPOSampleSize",
    "LinearSoftmaxXPOPlan",
    "lower_bound_samples",
    "lower_bound_samples_p",
    "adaptive_lower_bound_samples",
    "sft_error_bound",
    "sft_sample_complexity",
    "sft_parameters",
    "adaptive_mu_stop",
    "adaptive_sft_error_bound",
    "adaptive_sft_expected_samples",
    "adaptive_sft_sample_complexity",
    "dpo_beta",
    "dpo_error_bound",
    "dpo_sample_complexity",
    "xpo_beta",
    "xpo_alpha",
    "xpo_regret_bound",
    "xpo_discretization",
    "xpo_iterations",
    "xpo_sample_complexity",
    "xpo_linear_softmax_norm_limit",
    "xpo_linear_softmax_plan",
    "bon_failure_probability",
    "bon_samples_needed",
    "adaptive_bon_expected_samples_bound",
    "adaptive_bon_miss_probability_bound",
    "mle_hellinger_bound",
    "linear_softmax_sec_bound",
    "linear_softmax_log_covering_number",
]
