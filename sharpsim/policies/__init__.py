"""Policies: tabular, linear softmax and autoregressive (SPEC §1)."""

from .autoregressive import (
    AutoregressivePolicy,
    JointAutoregressivePolicy,
    MarkovPolicy,
    MultiLayerLinearSoftmaxPolicy,
)
from .base import (
    Policy,
    SuffixPolicy,
    all_sequences,
    decode_responses,
    encode_sequences,
    is_enumerable,
)
from .linear import LinearSoftmaxPolicy
from .tabular import TabularPolicy, as_tabular

__all__ = [
    "Policy",
    "is_enumerable",
    "SuffixPolicy",
    "TabularPolicy",
    "as_tabular",
    "all_sequences",
    "decode_responses",
    "encode_sequences",
    "AutoregressivePolicy",
    "JointAutoregressivePolicy",
    "MarkovPolicy",
    "MultiLayerLinearSoftmaxPolicy",
    "LinearSoftmaxPolicy",
]
