"""sharpsim: a simulator of self-improvement by sharpening.

Huang et al., "Self-Improvement in Language Models: The Sharpening Mechanism",
ICLR 2025 (arXiv 2412.01951). ``import sharpsim`` needs only numpy and scipy.
"""

__version__ = "0.1.0"

# --- policies ---
from .policies import Policy, TabularPolicy, as_tabular, all_sequences, decode_responses, encode_sequences

# --- oracle ---
from .oracle import QueryBudgetExceeded, SampleEvaluateOracle
