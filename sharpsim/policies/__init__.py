"""Policies: tabular, linear softmax and autoregressive (SPEC §1)."""

from .base import Policy, all_sequences, decode_responses, encode_sequences
from .tabular import TabularPolicy, as_tabular

__all__ = ["Policy", "TabularPolicy", "as_tabular", "all_sequences", "decode_responses", "encode_sequences"]

from .autoregressive import (
    AutoregressivePolicy,
    JointAutoregressivePolicy,
    MarkovPolicy,
    MultiLayerLinearSoftmaxPolicy,
)

__all__ += ["AutoregressivePolicy", "JointAutoregressivePolicy", "MarkovPolicy", "MultiLayerLinearSoftmaxPolicy"]

from .linear import LinearSoftmaxPolicy

__all__ += ["LinearSoftmaxPolicy"]
