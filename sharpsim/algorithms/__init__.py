"""Training-time sharpening: SFT, adaptive SFT, DPO and XPO (SPEC §7; Section 2, App. D, App. J)."""

from .dpo import dpo_sharpening
from .result import SharpeningResult
from .sft import adaptive_sft_sharpening, sft_sharpening
from .sft_error import (
    bon_mode_mass,
    expected_adaptive_sft_error,
    expected_sft_error,
    sft_error_plateau,
)
from .xpo import xpo_sharpening

__all__ = [
    "SharpeningResult",
    "adaptive_sft_sharpening",
    "bon_mode_mass",
    "dpo_sharpening",
    "expected_adaptive_sft_error",
    "expected_sft_error",
    "sft_error_plateau",
    "sft_sharpening",
    "xpo_sharpening",
]
