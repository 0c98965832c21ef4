"""The real-LM experiment: BoN vs greedy (Fig. 1a / Fig. 4 analogue) and LoRA SFT-sharpening (Table 1 analogue).

(a) For each seed, ``N_max`` responses per test prompt are drawn once from the
base model; best-of-N with the log-likelihood self-reward for ``N = 1..N_max``
picks among the first ``N`` draws (nested, as the paper's curves). Accuracy
and mean log-likelihood under the base are reported as lifts over greedy
decoding of the base.

(b) SFT-sharpening with LoRA on best-of-N picks for a disjoint set of training
prompts; the sharpened model is decoded greedily on the test prompts and
scored the same way (accuracy lift and log-likelihood lift under the base).

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Appendix A (Figs. 1a, 4; Table 1).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import numpy as np

from .evaluation import evaluate_greedy, lift, score_responses
from .inference import select_best
from .policy import SampledResponses
from .tasks import extract_answer, make_tasks
from .training import sft_sharpening

__all__ = ["run_experiment", "QUICK", "FULL"]

QUICK = dict(
    n_test=32,
    n_train=48,
    N_max=16,
    seeds=(0, 1),
    sft_N=8,
    sft_seeds=(0,),
    max_new_tokens=16,
    epochs=3,
    lr=2e-3,
)
FULL = dict(
    n_test=64,
    n_train=128,
    N_max=16,
    seeds=(0, 1, 2),
    sft_N=16,
    sft_seeds=(0, 1, 2),
    max_new_tokens=24,
    epochs=3,
    lr=1e-3,
)


def _extract(text, kind):
    return extract_answer(text, kind)


def _first(samples: SampledResponses, N: int) -> SampledResponses:
    return SampledResponses(
        [t[:N] for t in samples.texts],
        [t[:N] for t in samples.token_ids],
        samples.log_probs[:, :N],
        samples.finished[:, :N],
    )


def run_experiment(policy, *, quick=True, log=print, progress=None, **overrides) -> dict:
    """Run parts (a) and (b) on ``policy`` (e.g. :func:`~sharpsim.torch.smollm2`); returns tidy records.

    Args:
      policy: the base :class:`~sharpsim.torch.CausalLMPolicy`.
      quick: the :data:`QUICK` sizes (else :data:`FULL`).
      log: callable for progress lines (``print``; ``None`` is silent).
      progress: tqdm bars during training (``None``: on a terminal only).
      **overrides: any key of :data:`QUICK`.

    Returns:
      ``{"config", "greedy", "bon": [records], "sft": [records], "seconds"}``; every record
      holds ``accuracy``, ``log_likelihood`` and their lifts over greedy of the base.
    """
    cfg: dict[str, Any] = dict(QUICK if quick else FULL)
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise ValueError(
            f"unknown experiment settings {sorted(unknown)}; expected keys of {sorted(cfg)}"
        )
    cfg.update(overrides)
    say = log or (lambda *a, **k: None)
    start = time.perf_counter()
    test = make_tasks(cfg["n_test"], seed=1000)
    train = make_tasks(cfg["n_train"], seed=2000)
    prompts, answers = [t.prompt for t in test], [t.answer for t in test]
    extract = [partial(_extract, kind=t.kind) for t in test]

    def score(pick):  # the picks' base log-likelihoods come from the generation pass
        return score_responses(
            policy,
            prompts,
            pick.token_ids,
            pick.texts,
            answers,
            extract,
            log_likelihoods=pick.log_probs,
        )

    greedy = evaluate_greedy(
        policy, prompts, answers, extract, max_new_tokens=cfg["max_new_tokens"]
    )
    say(
        f"greedy: accuracy {greedy.accuracy:.3f}, mean log-likelihood {greedy.log_likelihood:.3f} ({time.perf_counter() - start:.0f} s)"
    )
    bon = []
    for seed in cfg["seeds"]:
        cands = policy.sample(prompts, cfg["N_max"], max_new_tokens=cfg["max_new_tokens"], rng=seed)
        for N in range(1, cfg["N_max"] + 1):
            pick = select_best(_first(cands, N))
            m = score(pick)
            bon.append(
                {
                    "seed": seed,
                    "N": N,
                    "accuracy": m.accuracy,
                    "log_likelihood": m.log_likelihood,
                    **lift(m, greedy),
                }
            )
        say(
            f"BoN seed {seed}: "
            + ", ".join(
                f"N={r['N']} acc {r['accuracy']:.2f}"
                for r in bon[-cfg["N_max"] :]
                if r["N"] in (1, 2, 4, 8, 16)
            )
            + f" ({time.perf_counter() - start:.0f} s)"
        )
    sft = []
    for seed in cfg["sft_seeds"]:
        res = sft_sharpening(
            policy,
            [t.prompt for t in train],
            cfg["sft_N"],
            max_new_tokens=cfg["max_new_tokens"],
            lora=True,
            lr=cfg["lr"],
            epochs=cfg["epochs"],
            batch_size=8,
            rng=seed,
            progress=progress,
        )
        m = evaluate_greedy(
            res.policy,
            prompts,
            answers,
            extract,
            reference=policy,
            max_new_tokens=cfg["max_new_tokens"],
        )
        sft.append(
            {
                "seed": seed,
                "N": cfg["sft_N"],
                "queries": res.queries,
                "accuracy": m.accuracy,
                "log_likelihood": m.log_likelihood,
                "train_loss_first": float(res.diagnostics["losses"][0]),
                "train_loss_last": float(res.diagnostics["losses"][-1]),
                **lift(m, greedy),
            }
        )
        say(
            f"SFT seed {seed}: accuracy {m.accuracy:.3f}, log-likelihood {m.log_likelihood:.3f} ({time.perf_counter() - start:.0f} s)"
        )
    return {
        "config": cfg,
        "greedy": {"accuracy": greedy.accuracy, "log_likelihood": greedy.log_likelihood},
        "bon": bon,
        "sft": sft,
        "seconds": time.perf_counter() - start,
    }


def summarise(result: dict) -> str:
    """A Markdown table of the experiment: BoN lifts (mean ± sd over seeds) per N, then SFT."""
    lines = ["| method | N | accuracy | accuracy lift | log-lik. lift |", "|---|---|---|---|---|"]
    g = result["greedy"]
    lines.append(f"| greedy (base) | - | {g['accuracy']:.3f} | 0 | 0 |")
    by_n: dict = {}
    for r in result["bon"]:
        by_n.setdefault(r["N"], []).append(r)
    for N, rs in sorted(by_n.items()):
        acc = np.array([r["accuracy"] for r in rs])
        al = np.array([r["accuracy_lift"] for r in rs])
        ll = np.array([r["log_likelihood_lift"] for r in rs])
        lines.append(
            f"| BoN (log-lik.) | {N} | {acc.mean():.3f} | {al.mean():+.3f} ± {al.std():.3f} | {ll.mean():+.2f} ± {ll.std():.2f} |"
        )
    for r in result["sft"]:
        lines.append(
            f"| SFT-sharpening (LoRA), greedy | {r['N']} | {r['accuracy']:.3f} | {r['accuracy_lift']:+.3f} | {r['log_likelihood_lift']:+.2f} |"
        )
    return "\n".join(lines)
