"""The ``bitswap-sim`` command.

Exit status: 0 on success, 2 on bad input (one line on stderr naming what is wrong, no
traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


class UsageError(ValueError):
    """Bad input from the command line."""


def _cmd_demo(args: argparse.Namespace) -> None:
    from experiments.demo import run_demo

    run_demo(None if args.strategy == "both" else [args.strategy])


def _cmd_bench(args: argparse.Namespace) -> None:
    from experiments import bench

    parts = args.parts or list(bench.PARTS)
    unknown = [p for p in parts if p not in bench.PARTS]
    if unknown:
        raise UsageError(
            f"unknown benchmark part {unknown[0]!r}; allowed: {', '.join(bench.PARTS)}"
        )
    if args.repeats < 1:
        raise UsageError(f"--repeats must be >= 1, got {args.repeats}")
    report = bench.run_parts(parts, repeats=args.repeats, quick=args.quick)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bitswap-sim",
        description="Discrete-event simulator of IPFS Bitswap (go-bitswap master and poc).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the built-in end-to-end demo")
    demo.add_argument(
        "--strategy",
        choices=["both", "master", "poc", "poc-potential"],
        default="both",
        help="which strategy to run (default: both, side by side)",
    )
    demo.set_defaults(func=_cmd_demo)

    bench = sub.add_parser("bench", help="measure simulator speed (prints a table, bench.json)")
    bench.add_argument("parts", nargs="*", help="parts to run (default: all): substrate")
    bench.add_argument("--repeats", type=int, default=3, help="repeats per figure (median)")
    bench.add_argument("--quick", action="store_true", help="smaller workloads, for a smoke run")
    bench.add_argument("--out", default="bench.json", help="where to write the JSON report")
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bitswap-sim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (UsageError, ValueError) as exc:
        print(f"bitswap-sim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
