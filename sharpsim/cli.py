"""The ``sharpsim`` command.

Subcommands:
  demo       the README's worked example on an embedded toy world
  reproduce  the main job: the demo plus every available check, results to JSON
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _demo(args) -> int:
    from .demo import run_demo

    report = run_demo(seed=args.seed)
    print(report.text)
    return 0


def _reproduce(args) -> int:
    from .demo import run_demo

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    demo = run_demo(seed=args.seed)
    print(demo.text)
    (out / "demo.json").write_text(json.dumps(demo.numbers, indent=2))
    print(f"\nwrote {out / 'demo.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sharpsim",
        description="Simulate self-improvement by sharpening (Huang et al., ICLR 2025).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="the README's worked example")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    rep = sub.add_parser("reproduce", help="the main job: demo and checks, results to --out")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--out", default="results", help="output folder (default: results/)")
    rep.set_defaults(func=_reproduce)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
