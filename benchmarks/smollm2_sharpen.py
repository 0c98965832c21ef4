"""SmolLM2-135M: does training-time sharpening sharpen? An ablation over SFT / DPO / XPO settings.

Not a test (benchmarks/ is not collected). For each setting, the base is sharpened
on training prompts (``split="train"``), the sharpened model is decoded greedily on
disjoint test prompts (``split="test"``), and its responses ``ŷ`` are scored under the
base. Printed per setting: ``Δ log π_base(ŷ|x)`` (sharpened greedy minus base greedy,
mean over test prompts, paired-bootstrap 95% CI), ``Δ accuracy`` (same CI), the
mean greedy response length in tokens (base → sharpened), the fraction of greedy
responses that end (emit EOS) within ``max_new_tokens``, and the wall time. Example:

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/smollm2_sharpen.py \\
        --per-kind 4 --train 48 --cache /tmp/smol \\
        'sft N=8 lora=8 lr=2e-3 epochs=3' 'sft N=8 lr=1e-5 epochs=2'

A setting is a method (``sft``, ``dpo``, ``xpo``) and ``key=value`` pairs: ``N``,
``lr``, ``epochs``, ``lora`` (LoRA rank; absent: full fine-tuning), ``train``
(number of training prompts), ``bs`` (batch size), ``beta``, ``pairs``, ``T``,
``ppr`` (prompts per round), ``inner``, ``alpha``. One JSON line per setting is
appended to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np


def bootstrap_ci(d, *, level=0.95, resamples=4000, seed=0):
    """Mean of ``d`` and its paired percentile-bootstrap ``level`` interval (resampling prompts)."""
    d = np.asarray(d, dtype=float)
    idx = np.random.default_rng(seed).integers(len(d), size=(resamples, len(d)))
    means = d[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(d.mean()), float(lo), float(hi)


def cached(folder, key, compute):
    if not folder:
        return compute()
    path = Path(folder) / f"{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    out = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def parse_setting(text):
    method, *pairs = text.split()
    cfg = {"method": method}
    for p in pairs:
        k, v = p.split("=")
        cfg[k] = float(v) if any(c in v for c in ".e") else int(v)
    return cfg


def ended(policy, token_ids):
    return np.array([bool(t) and t[-1] in policy.eos_token_ids for t in token_ids])


def train(base, cfg, train_prompts, samples, mnt):
    import sharpsim.torch as st

    n = int(cfg.get("train", len(train_prompts)))
    prompts = train_prompts[:n]
    lora = {"r": int(cfg["lora"]), "lora_alpha": 2 * int(cfg["lora"])} if "lora" in cfg else None
    common = dict(max_new_tokens=mnt, lora=lora, lr=cfg["lr"], rng=0, progress=False)
    if cfg["method"] == "sft":
        N = int(cfg["N"])
        first = st.SampledResponses(
            [t[:N] for t in samples.texts[:n]],
            [t[:N] for t in samples.token_ids[:n]],
            samples.log_probs[:n, :N],
            samples.finished[:n, :N],
        )
        picks = st.select_best(first)
        # SFT's learner on these picks (the core's sft_sharpening draws its own; here every
        # setting reuses one pool of samples so that settings differ only by what they vary)
        prompted = st.PromptedLM(base, prompts, max_new_tokens=mnt)
        learner = st.GradientClass(
            prompted,
            lora=lora,
            lr=cfg["lr"],
            epochs=int(cfg.get("epochs", 1)),
            batch_size=int(cfg.get("bs", 8)),
            progress=False,
        )
        x = np.arange(n)
        y = prompted.pad([[ids] for ids in picks.token_ids])[:, 0]
        fitted = learner.fit_mle(x, y, rng=np.random.default_rng(0))
        res = SimpleNamespace(
            policy=fitted.lm, queries=n * N, diagnostics={"losses": fitted.training_losses}
        )
        return res, picks
    if cfg["method"] == "dpo":
        res = st.dpo_sharpening(
            base,
            prompts,
            cfg["beta"],
            loss="regression",
            pairs_per_prompt=int(cfg.get("pairs", 1)),
            epochs=int(cfg.get("epochs", 1)),
            batch_size=int(cfg.get("bs", 8)),
            **common,
        )
        return res, None
    res = st.xpo_sharpening(
        base,
        prompts,
        int(cfg["T"]),
        cfg["beta"],
        cfg.get("alpha", 0.0),
        prompts_per_round=int(cfg.get("ppr", 8)),
        inner_steps=int(cfg.get("inner", 4)),
        **common,
    )
    return res, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("settings", nargs="+")
    ap.add_argument("--per-kind", type=int, default=4, help="test prompts per kind")
    ap.add_argument(
        "--train", type=int, default=48, help="training prompts drawn (max over settings)"
    )
    ap.add_argument("--N-max", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=12)
    ap.add_argument("--kinds", default="")
    ap.add_argument("--seed", type=int, default=0, help="draws the tasks and the base samples")
    ap.add_argument("--cache", default="")
    ap.add_argument("--out", default="/tmp/sharpen_results.jsonl")
    args = ap.parse_args()
    from sharpsim.torch import smollm2
    from sharpsim.torch.tasks import KINDS, extract_answer, make_tasks

    kinds = tuple(args.kinds.split(",")) if args.kinds else KINDS
    base = smollm2()
    base.batch_size = 64
    mnt = args.max_new_tokens
    test = make_tasks(args.per_kind * len(kinds), seed=args.seed, kinds=kinds, split="test")
    trn = make_tasks(args.train, seed=args.seed, kinds=kinds, split="train")
    tp, trp = [t.prompt for t in test], [t.prompt for t in trn]
    tag = f"{args.kinds or 'all'}-{mnt}" + (f"-s{args.seed}" if args.seed else "")
    g0 = cached(
        args.cache,
        f"test-greedy-{tag}-{args.per_kind}",
        lambda: base.decode_greedy(tp, max_new_tokens=mnt),
    )
    samples = cached(
        args.cache,
        f"train-samples-{tag}-{args.train}-{args.N_max}",
        lambda: base.sample(trp, args.N_max, max_new_tokens=mnt, rng=args.seed),
    )
    ok0 = np.array([extract_answer(x, t.kind) == t.answer for x, t in zip(g0.texts, test)])
    len0 = np.mean([len(t) for t in g0.token_ids])
    print(
        f"base greedy: acc {ok0.mean():.3f}, mean log-lik {g0.log_probs.mean():.2f}, "
        f"length {len0:.1f}, ended {ended(base, g0.token_ids).mean():.2f}",
        flush=True,
    )
    for text in args.settings:
        cfg = parse_setting(text)
        t0 = time.perf_counter()
        res, picks = train(base, cfg, trp, samples, mnt)
        t_train = time.perf_counter() - t0
        g = res.policy.decode_greedy(tp, max_new_tokens=mnt)
        ll = base.log_prob(tp, g.token_ids)
        ok = np.array([extract_answer(x, t.kind) == t.answer for x, t in zip(g.texts, test)])
        dll = bootstrap_ci(ll - g0.log_probs)
        dacc = bootstrap_ci(ok.astype(float) - ok0)
        row = dict(
            setting=text,
            cfg=cfg,
            n_test=len(tp),
            dll=dll,
            dacc=dacc,
            acc=float(ok.mean()),
            acc0=float(ok0.mean()),
            len0=float(len0),
            length=float(np.mean([len(t) for t in g.token_ids])),
            ended=float(ended(base, g.token_ids).mean()),
            ll_self_minus_base=float(np.mean(g.log_probs - ll)),
            train_s=t_train,
            total_s=time.perf_counter() - t0,
            queries=res.queries,
            loss_first_last=[
                float(res.diagnostics["losses"][0]),
                float(res.diagnostics["losses"][-1]),
            ],
            per_kind={
                k: [
                    float(ok0[[t.kind == k for t in test]].mean()),
                    float(ok[[t.kind == k for t in test]].mean()),
                ]
                for k in kinds
            },
            examples=[
                (t.prompt, a, b)
                for t, a, b in list(zip(test, g0.texts, g.texts))[:: max(1, len(test) // 10)]
            ],
        )
        if picks is not None:
            n = len(picks.token_ids)
            row["pick_length"] = float(np.mean([len(t) for t in picks.token_ids]))
            row["pick_ended"] = float(ended(base, picks.token_ids).mean())
            row["pick_acc"] = float(
                np.mean(
                    [extract_answer(x, t.kind) == t.answer for x, t in zip(picks.texts, trn[:n])]
                )
            )
        print(
            f"{text:45s} dLL {dll[0]:+.2f} [{dll[1]:+.2f},{dll[2]:+.2f}]  dAcc {dacc[0]:+.3f} "
            f"[{dacc[1]:+.3f},{dacc[2]:+.3f}]  len {len0:.1f}->{row['length']:.1f} "
            f"ended {row['ended']:.2f}  train {t_train:.0f}s total {row['total_s']:.0f}s"
            + (
                f"  picks len {row['pick_length']:.1f} ended {row['pick_ended']:.2f} acc {row['pick_acc']:.2f}"
                if picks is not None
                else ""
            ),
            flush=True,
        )
        with open(args.out, "a") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
