"""The real-LM study (issue 16 §2): best-of-N and SFT/DPO/XPO-sharpening on a causal LM.

Three experiments, registered like the others (``backend="torch"``: the main
job leaves them out; ``sharpsim lm reproduce`` runs them, see
:mod:`sharpsim.experiments.lm_job`). torch is imported inside the functions
only, so ``import sharpsim.experiments`` never imports it.

* ``lm_bon`` (Figure 1 analogue): per seed, ``N_max`` responses are drawn once
  for every test prompt of every task kind; best-of-N with the log-likelihood
  self-reward picks among the first ``N`` draws (nested prefixes) for
  ``N = 1..N_max``. One record per (kind, prompt, N).
* ``lm_table`` (Table 1 analogue): one training-time method per cell
  (``method`` is a spec string such as ``"sft N=8 lr=0.001 epochs=2 lora_r=8"``),
  trained on train prompts disjoint from the test prompts, then decoded
  greedily on the test prompts. One record per (kind, prompt).
* ``lm_ablation``: the same function over SFT variants (rows of settings).

Every record carries the base model's greedy response's ``greedy_correct`` and
``greedy_log_likelihood`` on the same prompt, so lifts and paired differences
are per-prompt columns. The test prompts are fixed (``TEST_SEED``), the same
for every seed, method and experiment; the seed's ``rng`` drives the sampling,
the train prompts and the training.

The model is loaded once per process (:func:`~sharpsim.experiments.lm_model.load_policy`, cached by model,
device and dtype); ``model`` is ``"smollm2"``, ``"tiny"`` (a random byte-level
model: the plumbing's test, its numbers mean nothing about language) or a
local model folder.
"""

from __future__ import annotations

import numpy as np

from .lm_model import (
    _correct,
    _greedy,
    _prefix,
    base_greedy,
    eval_tasks,
    load_policy,
    task_kinds,
    train_tasks,
)
from .registry import register

# Sizes and settings from the lmtasks ablation on SmolLM2 (/work/notes/lmtasks_findings.md §4):
# SFT sharpens with full fine-tuning at lr 1e-5, 2 epochs, N = 16, ~50 train prompts
# (ΔLL +1.2 [+0.6, +1.9] nats on 80 test prompts); N = 8 picks are less likely than greedy's,
# larger learning rates (or LoRA at 2e-3) drift away from the base. Evaluate on >= 60 test
# prompts. Per kind the ten kinds' smallest pools hold 19 test and 19 train questions.
#: The quick study (one seed): test prompts per kind, train prompts per kind, N_max, tokens.
QUICK = {"n_test": 6, "n_train": 5, "N_max": 16, "max_new_tokens": 12}
#: The full study (3 seeds for lm_bon, 5 for lm_table, Table 1 sizes).
FULL = {"n_test": 8, "n_train": 5, "N_max": 32, "max_new_tokens": 12}
#: Best-of-N's N in Table 1 and in the heatmap.
TABLE_N = 16
#: Table 1's training-time methods (quick, full): ``"<algorithm> key=value ..."``.
_TABLE = [
    "sft N=16 lr=0.00001 epochs=2 lora_r=0",
    "dpo beta=0.5 lr=0.00001 epochs=2 lora_r=0",
    "xpo T=3 beta=0.5 alpha=0.0 lr=0.00001 inner_steps=3 prompts_per_round=4 lora_r=0",
]
METHODS = {"quick": _TABLE, "full": _TABLE}
#: SFT variants of the ablation (quick, full); lora_r=0 is full fine-tuning.
ABLATION = {
    "quick": ["sft N=8 lr=0.00001 epochs=2 lora_r=0"],
    "full": [
        "sft N=8 lr=0.002 epochs=3 lora_r=8",  # the old default
        "sft N=8 lr=0.00001 epochs=2 lora_r=0",
        "sft N=16 lr=0.00005 epochs=2 lora_r=0",
        "sft N=16 lr=0.00001 epochs=4 lora_r=0",
        "sft N=16 lr=0.0005 epochs=3 lora_r=8",
        "sft N=32 lr=0.00001 epochs=2 lora_r=0",
    ],
}
#: The hyper-parameters each algorithm accepts in a spec, with their types.
SPEC_KEYS = {
    "sft": {"N": int, "lr": float, "epochs": int, "lora_r": int, "batch_size": int},
    "dpo": {"beta": float, "lr": float, "epochs": int, "lora_r": int, "batch_size": int},
    "xpo": {
        "T": int,
        "beta": float,
        "alpha": float,
        "lr": float,
        "inner_steps": int,
        "prompts_per_round": int,
        "lora_r": int,
    },
}
MODEL = {"model": ["smollm2"], "device": ["cpu"], "dtype": ["float32"]}


# --------------------------------------------------------------------------- lm_bon


_BON_SIZES = ("n_test", "N_max", "max_new_tokens")


@register(
    "lm_bon",
    description="Real LM, Figure 1 analogue: best-of-N (log-likelihood self-reward) vs greedy, "
    "accuracy and log-likelihood lift for N = 1..N_max on nested draws, per task kind",
    grid={"task_kind": ["all"], **MODEL, **{k: [FULL[k]] for k in _BON_SIZES}},
    quick_grid={"task_kind": ["all"], **MODEL, **{k: [QUICK[k]] for k in _BON_SIZES}},
    figures=("lm_bon_heatmap", "lm_bon_curves"),
    seeds=3,
    quick_seeds=1,
    backend="torch",
)
def lm_bon(rng, task_kind, model, device, dtype, n_test, N_max, max_new_tokens):
    """One task kind (``task_kind="all"``: every kind, one after the other) and seed: records ``kind, prompt, N, correct, log_likelihood, pass_at_n, greedy_correct,
    greedy_log_likelihood, accuracy_lift, log_likelihood_lift, queries`` (``queries = N``: the
    sample-and-evaluate queries of that prompt at inference)."""
    from ..torch import select_best

    base = load_policy(model, device, dtype)
    rows = []
    kinds = task_kinds()
    if task_kind != "all" and task_kind not in kinds:
        raise ValueError(f"task_kind must be 'all' or one of {', '.join(kinds)}; got {task_kind!r}")
    for kind in kinds if task_kind == "all" else [task_kind]:
        tasks = eval_tasks(kind, n_test)
        g_ok, g_ll = base_greedy(model, device, dtype, kind, n_test, max_new_tokens)
        draws = base.sample(
            [t.prompt for t in tasks], N_max, max_new_tokens=max_new_tokens, rng=rng
        )
        draw_ok = np.array([_correct(texts, [t] * N_max) for texts, t in zip(draws.texts, tasks)])
        for N in range(1, N_max + 1):
            pick = select_best(_prefix(draws, N))
            ok, ll = _correct(pick.texts, tasks), np.asarray(pick.log_probs, float)
            for i in range(len(tasks)):
                rows.append(
                    {
                        "kind": kind,
                        "prompt": i,
                        "N": N,
                        "correct": bool(ok[i]),
                        "log_likelihood": float(ll[i]),
                        "pass_at_n": bool(draw_ok[i, :N].any()),
                        "greedy_correct": bool(g_ok[i]),
                        "greedy_log_likelihood": float(g_ll[i]),
                        "accuracy_lift": float(ok[i]) - float(g_ok[i]),
                        "log_likelihood_lift": float(ll[i] - g_ll[i]),
                        "queries": N,
                    }
                )
    return rows


# --------------------------------------------------------------------------- lm_table


def parse_method(spec: str) -> tuple[str, dict]:
    """``"sft N=8 lr=0.001"`` → ``("sft", {"N": 8, "lr": 0.001})``; ``ValueError`` naming a bad key.

    Example:
        >>> parse_method("dpo beta=0.5 lr=0.001 lora_r=0")
        ('dpo', {'beta': 0.5, 'lr': 0.001, 'lora_r': 0})
    """
    algorithm, *items = spec.split()
    if algorithm not in SPEC_KEYS:
        raise ValueError(f"method {spec!r}: the algorithm must be one of {sorted(SPEC_KEYS)}")
    params = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in SPEC_KEYS[algorithm] or not value:
            raise ValueError(
                f"method {spec!r}: {item!r} is not key=value with key in {sorted(SPEC_KEYS[algorithm])}"
            )
        params[key] = SPEC_KEYS[algorithm][key](value)
    return algorithm, params


def _train(base, algorithm: str, params: dict, prompts, rng, max_new_tokens):
    """Train ``algorithm`` with torch's global generator seeded from ``rng`` (and restored after).

    The LoRA adapters are initialised from torch's global generator; seeding it here makes
    the run depend on ``rng`` alone, not on what ran before in the process.
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**63 - 1)))
        return _train_seeded(base, algorithm, params, prompts, rng, max_new_tokens)


def _train_seeded(base, algorithm: str, params: dict, prompts, rng, max_new_tokens):
    from ..torch import dpo_sharpening, sft_sharpening, xpo_sharpening

    params = dict(params)
    rank = params.pop("lora_r", 8)
    lora = {"r": rank, "lora_alpha": 2 * rank} if rank > 0 else None
    common = {"lora": lora, "rng": rng, "max_new_tokens": max_new_tokens}
    if algorithm == "sft":
        return sft_sharpening(base, prompts, params.pop("N"), **params, **common)
    if algorithm == "dpo":
        return dpo_sharpening(base, prompts, params.pop("beta"), **params, **common)
    T, beta, alpha = params.pop("T"), params.pop("beta"), params.pop("alpha")
    return xpo_sharpening(base, prompts, T, beta, alpha, **params, **common)


def trained_greedy(rng, method, model, device, dtype, n_test, n_train, max_new_tokens):
    """Train ``method`` on fresh train prompts of every kind; score its greedy decoding per test prompt.

    Records: ``kind, prompt, algorithm, correct, log_likelihood`` (under the base),
    ``greedy_correct, greedy_log_likelihood`` (the base's greedy response),
    ``accuracy_lift, log_likelihood_lift`` (paired: sharpened − base greedy),
    ``queries_train`` (the training run's sample-and-evaluate queries),
    ``queries_inference = 0``, ``n_train_used`` (train prompts used).
    """
    algorithm, params = parse_method(method)
    base = load_policy(model, device, dtype)
    kinds = task_kinds()
    test = {k: eval_tasks(k, n_test) for k in kinds}
    held_out = {t.prompt for ts in test.values() for t in ts}
    train_seed = int(rng.integers(2**31 - 1))
    train = [t for k in kinds for t in train_tasks(k, n_train, train_seed, held_out)]
    order = rng.permutation(len(train))
    prompts = [train[i].prompt for i in order]
    result = _train(base, algorithm, params, prompts, rng, max_new_tokens)
    rows = []
    for kind, tasks in test.items():
        g_ok, g_ll = base_greedy(model, device, dtype, kind, n_test, max_new_tokens)
        ok, ll = _greedy(result.policy, base, tasks, max_new_tokens)
        rows += [
            {
                "kind": kind,
                "prompt": i,
                "algorithm": algorithm,
                "correct": bool(ok[i]),
                "log_likelihood": float(ll[i]),
                "greedy_correct": bool(g_ok[i]),
                "greedy_log_likelihood": float(g_ll[i]),
                "accuracy_lift": float(ok[i]) - float(g_ok[i]),
                "log_likelihood_lift": float(ll[i] - g_ll[i]),
                "queries_train": int(result.queries),
                "queries_inference": 0,
                "n_train_used": len(prompts),
            }
            for i in range(len(tasks))
        ]
    return rows


_SIZES = {"n_test", "n_train", "max_new_tokens"}
register(
    "lm_table",
    description="Real LM, Table 1 analogue: greedy decoding of SFT-, DPO- and XPO-sharpened "
    "models (train prompts disjoint from test) vs the base's greedy, with training queries",
    grid={"method": METHODS["full"], **MODEL, **{k: [FULL[k]] for k in _SIZES}},
    quick_grid={"method": METHODS["quick"], **MODEL, **{k: [QUICK[k]] for k in _SIZES}},
    figures=("lm_table",),
    seeds=5,  # Table 1's intervals are Student-t over seeds: 5 keep them informative
    quick_seeds=1,
    backend="torch",
)(trained_greedy)
register(
    "lm_ablation",
    description="Real LM, SFT-sharpening ablation: learning rate, LoRA rank vs full fine-tuning, "
    "N; accuracy and base log-likelihood of the sharpened greedy vs the base's",
    grid={"method": ABLATION["full"], **MODEL, **{k: [FULL[k]] for k in _SIZES}},
    quick_grid={"method": ABLATION["quick"], **MODEL, **{k: [QUICK[k]] for k in _SIZES}},
    figures=("lm_ablation",),
    seeds=1,  # rows of settings, bootstrap over prompts: keeps --full within 2 h on 2 cores
    quick_seeds=1,
    backend="torch",
)(trained_greedy)
