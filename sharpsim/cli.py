"""The ``sharpsim`` command.

Subcommands:
  demo       the README's worked example on an embedded toy world
  verify     check every stated result of the paper numerically (exit 1 on any FAIL)
  reproduce  the main job: the demo and the full theorem check, results written to --out
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _demo(args) -> int:
    from .demo import run_demo

    print(run_demo(seed=args.seed).text)
    return 0


def _run_verify(quick: bool, seed: int, only=None):
    from .theory.verify import run

    return run(quick=quick, seed=seed, only=only, progress=True)


def _verify(args) -> int:
    report = _run_verify(args.quick, args.seed, args.only)
    print(report.table())
    if args.json:
        Path(args.json).write_text(report.to_json())
        print(f"wrote {args.json}")
    return 0 if report.passed else 1


def _reproduce(args) -> int:
    from .demo import run_demo

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    demo = run_demo(seed=args.seed)
    print(demo.text, end="\n\n")
    (out / "demo.json").write_text(json.dumps(demo.numbers, indent=2))
    report = _run_verify(args.quick, args.seed)
    print(report.table())
    (out / "verify.json").write_text(report.to_json())
    print(f"\nwrote {out / 'demo.json'} and {out / 'verify.json'}")
    return 0 if report.passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sharpsim",
        description="Simulate self-improvement by sharpening (Huang et al., ICLR 2025).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="the README's worked example")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)

    verify = sub.add_parser("verify", help="check the paper's results numerically")
    verify.add_argument("--quick", action="store_true", help="the CI-sized run (under two minutes)")
    verify.add_argument("--seed", type=int, default=0)
    verify.add_argument("--only", nargs="+", metavar="CHECK", help="check function names to run")
    verify.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    verify.set_defaults(func=_verify)

    rep = sub.add_parser("reproduce", help="the main job: demo and theorem check, results to --out")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--out", default="results", help="output folder (default: results/)")
    rep.add_argument("--quick", action="store_true", help="run the quick theorem check")
    rep.set_defaults(func=_reproduce)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
