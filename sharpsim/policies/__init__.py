"""Policies: tabular, linear softmax and autoregressive (SPEC §1)."""

from .base import Policy, all_sequences, decode_responses, encode_sequences
from .tabular import TabularPolicy

__all__ = ["Policy", "TabularPolicy", "all_sequences", "decode_responses", "encode_sequences"]
