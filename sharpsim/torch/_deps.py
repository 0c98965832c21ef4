"""Optional-dependency guard of the torch backend: one clear line when torch is missing."""

from __future__ import annotations

import importlib

INSTALL_HINT = 'pip install "sharpsim[torch]"'


def require(module: str):
    """Import ``module`` (torch, transformers, peft, ...) or raise one clear ``ImportError``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"sharpsim.torch needs the optional package {module!r} ({exc}); install it with: {INSTALL_HINT}"
        ) from None
