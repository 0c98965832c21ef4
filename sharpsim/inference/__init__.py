"""Inference-time sharpening and decoding (SPEC §2, §6)."""
