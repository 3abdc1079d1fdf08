"""The ``bitswap-sim`` command.

    bitswap-sim run FILE --out DIR [--replications N] [--seed S] [--check] [--allow-large]
    bitswap-sim sweep FILE --out DIR [--workers N | --dask ADDRESS] [--resume] [--check]
                      [--allow-large]
    bitswap-sim validate FILE [--allow-large]
    bitswap-sim reproduce [--out DIR] [--quick]
    bitswap-sim plot DIR
    bitswap-sim bench [PART ...] [--repeats N] [--quick] [--leeches N,N,...] [--out FILE]
    bitswap-sim demo

Exit status: 0 on success, 2 on bad input (one line on stderr naming the file, the field and
what is allowed; no traceback), 1 if ``--check`` found invariant violations (one line each on
stderr; see ``docs/scenarios.md``, "Checking a scenario"). Every subcommand keeps that
contract for bad arguments too (a missing or unknown option, a value of the wrong type or out
of range). ``--allow-large`` lifts the limits on what a scenario may ask for (``docs/
scenarios.md``, "Limits").
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from concurrent.futures import Executor

    import pandas as pd

    from experiments.runner import RunSpec, Tables
    from experiments.scenario import Limits, Scenario

__all__ = ["main"]


class UsageError(ValueError):
    """Bad input from the command line."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``prog: error: message``, exit status 2),
    like every other bad input, instead of argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


MAX_WORKERS = 256
"""Most worker processes ``--workers`` may ask for."""
MAX_REPEATS = 1000
"""Most repeats ``bench --repeats`` may ask for."""


def _workers(value: int | None, option: str = "--workers") -> int | None:
    if value is not None and not 1 <= value <= MAX_WORKERS:
        raise UsageError(f"{option} must be a whole number from 1 to {MAX_WORKERS}, got {value}")
    return value


def _limits(args: argparse.Namespace) -> Limits | None:
    """The scenario limits, or None with ``--allow-large``."""
    from experiments.scenario import DEFAULT_LIMITS

    return None if getattr(args, "allow_large", False) else DEFAULT_LIMITS


# --------------------------------------------------------------------------------- helpers
def _check_out(out: str) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    return path


def _executor(workers: int | None, dask: str | None) -> tuple[Executor | None, Callable[[], None]]:
    """(executor, closer) for --workers / --dask; (None, no-op) to run in this process."""
    if dask:
        from experiments.parallel import dask_executor

        return dask_executor(dask)
    if workers is None or workers <= 1:
        return None, lambda: None
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers)
    return pool, pool.shutdown


def _finish_outputs(
    tables: Tables, scenario: Scenario, out: Path, reference: dict[str, float] | None = None
) -> None:
    """scenario.toml, summary table (printed and saved) and figures in ``out``; ``tables``:
    the runner's :class:`~experiments.runner.Tables`."""
    from experiments.report import summary_table, write_figures
    from experiments.runner import TABLES
    from experiments.scenario import write_resolved

    out.mkdir(parents=True, exist_ok=True)
    write_resolved(scenario, out / "scenario.toml")
    table = summary_table(tables.runs)
    text = table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    print(text)
    (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
    table.to_csv(out / "summary.csv", index=False)
    figures = write_figures(
        tables.runs,
        tables.peers,
        out,
        reference=reference,
        transfers=tables.transfers,
        progress=tables.progress,
        scenario=scenario,
    )
    for path in figures:
        print(f"wrote {path}")
    print("wrote " + ", ".join(str(out / f"{name}.parquet") for name in TABLES))


# --------------------------------------------------------------------------------- commands
def _cmd_validate(args: argparse.Namespace) -> None:
    from experiments.scenario import estimate, grid, load_scenario

    scenario = load_scenario(args.file, limits=_limits(args))
    points = grid(scenario)  # lazy: every point is built, validated and costed, then dropped
    runs = 0
    events = memory = 0.0
    for _, point in points:
        cost = estimate(point)
        runs += point.replications
        events += cost.events * point.replications
        memory = max(memory, cost.memory_bytes)
    peers = sum(g.count for g in scenario.groups)
    mib = memory / 2**20
    reps = scenario.replications
    how = f"{len(points)} points x {reps} replications"
    if "replications" in scenario.sweep:
        how = f"{len(points)} points, replications swept"
    print(
        f"ok: {scenario.name}: {len(scenario.groups)} groups, {peers} peers, "
        f"{len(scenario.objects)} objects, {runs} runs ({how}); "
        f"estimated ~{events:.2g} events in all, ~{mib:,.{0 if mib >= 1 else 2}f} MiB peak per run"
    )


def _cmd_run(args: argparse.Namespace, sweep: bool = False) -> int:
    from experiments.runner import execute_tables, plan, swept_parameters
    from experiments.scenario import load_scenario
    from experiments.scenario.cost import SEED_MAX

    if args.seed is not None and not 0 <= args.seed <= SEED_MAX:
        raise UsageError(f"--seed must be a whole number from 0 to {SEED_MAX}, got {args.seed}")
    workers = _workers(getattr(args, "workers", None))
    scenario = load_scenario(args.file, limits=_limits(args))
    if args.replications is not None:
        scenario = scenario.with_replications(args.replications)
    out = _check_out(args.out)
    specs = plan(scenario, seed=args.seed)
    dask = getattr(args, "dask", None)
    if workers is not None:
        workers = min(workers, len(specs))
    executor, close = _executor(workers, dask)
    try:
        tables = execute_tables(
            specs,
            executor=executor,
            out_dir=out,
            resume=getattr(args, "resume", False),
            progress=len(specs) > 1 or sweep,
            swept=swept_parameters(scenario),
        )
        violations = _check(args, specs, executor, tables.runs)
    finally:
        close()
    _finish_outputs(tables, scenario, out)
    return _report_violations(args, violations)


def _check(
    args: argparse.Namespace,
    specs: Sequence[RunSpec],
    executor: Executor | None,
    runs: pd.DataFrame,
) -> list[str]:
    """--check: every run again with the invariant checks (experiments.invariants)."""
    if not args.check:
        return []
    from experiments.invariants import check_runs

    return check_runs(specs, executor, runs)


def _report_violations(args: argparse.Namespace, violations: list[str]) -> int:
    if args.check:
        for line in violations:
            print(f"bitswap-sim {args.command}: check: {line}", file=sys.stderr)
        print(f"check: {len(violations) or 'no'} invariant violations")
    return 1 if violations else 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    if args.workers is not None and args.dask:
        raise UsageError("give either --workers or --dask, not both")
    if args.workers is None and not args.dask:
        import os

        args.workers = min(os.cpu_count() or 1, MAX_WORKERS)
    args.replications = None
    args.seed = None
    return _cmd_run(args, sweep=True)


def _cmd_reproduce(args: argparse.Namespace) -> None:
    from experiments.reproduce import reproduce

    reproduce(Path(args.out), quick=args.quick, workers=_workers(args.workers))


def _cmd_plot(args: argparse.Namespace) -> None:
    """Figures from ``runs.parquet`` and ``peers.parquet``; ``transfers.parquet``,
    ``progress.parquet`` and ``scenario.toml`` (for the topology) too if they are there."""
    import pandas as pd

    from experiments.report import write_figures
    from experiments.scenario import load_scenario

    folder = Path(args.dir)
    runs_file, peers_file = folder / "runs.parquet", folder / "peers.parquet"
    if not runs_file.exists() or not peers_file.exists():
        raise UsageError(f"{folder}: no runs.parquet and peers.parquet (run or sweep first)")
    runs, peers = pd.read_parquet(runs_file), pd.read_parquet(peers_file)
    transfers_file, progress_file = folder / "transfers.parquet", folder / "progress.parquet"
    transfers = pd.read_parquet(transfers_file) if transfers_file.exists() else None
    progress = pd.read_parquet(progress_file) if progress_file.exists() else None
    scenario_file = folder / "scenario.toml"
    # limits=None: the folder holds a scenario that was run (with --allow-large, maybe)
    scenario = load_scenario(scenario_file, limits=None) if scenario_file.exists() else None
    figures = write_figures(
        runs, peers, folder, scenario=scenario, transfers=transfers, progress=progress
    )
    for path in figures:
        print(f"wrote {path}")


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
    if not 1 <= args.repeats <= MAX_REPEATS:
        raise UsageError(
            f"--repeats must be a whole number from 1 to {MAX_REPEATS}, got {args.repeats}"
        )
    leeches = None
    if args.leeches is not None:
        if "scaling" not in parts:
            raise UsageError("--leeches sets the scaling series: add the part 'scaling'")
        leeches = _leech_counts(args.leeches)
    out = Path(args.out)
    if not args.out or out.is_dir():
        raise UsageError(f"--out {args.out!r}: allowed: a file name for the JSON report")
    out.parent.mkdir(parents=True, exist_ok=True)  # fails now, not after the benchmark
    report = bench.run_parts(parts, repeats=args.repeats, quick=args.quick, leeches=leeches)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")


def _leech_counts(text: str) -> tuple[int, ...]:
    """``--leeches 8,16,64`` -> (8, 16, 64): whole numbers from 1 to the peers limit,
    comma-separated."""
    from experiments.scenario import DEFAULT_LIMITS

    most = DEFAULT_LIMITS.peers
    try:
        counts = tuple(int(part) for part in text.split(",") if len(part) < 20)
    except ValueError:
        counts = ()
    parts = text.split(",")
    if not counts or len(counts) != len(parts) or not 1 <= min(counts) <= max(counts) <= most:
        raise UsageError(
            f"--leeches must be comma-separated leech counts >= 1 and <= {most} (e.g. 8,16,32), "
            f"got {text[:60]!r}"
        )
    return counts


_CHECK_HELP = "also check every run's invariants; exit status 1 if one is violated"
_LARGE_HELP = "lift the limits on peers, blocks, events, memory and runs (docs/scenarios.md)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bitswap-sim",
        description="Discrete-event simulator of IPFS Bitswap (go-bitswap master and poc).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a scenario file (all its replications)")
    p.add_argument("file", help="scenario TOML file")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--replications", type=int, help="override the file's replications")
    p.add_argument("--seed", type=int, help="override the file's base seed")
    p.add_argument("--check", action="store_true", help=_CHECK_HELP)
    p.add_argument("--allow-large", action="store_true", help=_LARGE_HELP)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("sweep", help="run a sweep file's grid x replications in parallel")
    p.add_argument("file", help="scenario TOML file with a [sweep] table")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    p.add_argument("--dask", help="Dask scheduler address tcp://host:port, or local:N")
    p.add_argument("--resume", action="store_true", help="run only the runs not yet saved")
    p.add_argument("--check", action="store_true", help=_CHECK_HELP)
    p.add_argument("--allow-large", action="store_true", help=_LARGE_HELP)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("validate", help="check a scenario file without running it")
    p.add_argument("file")
    p.add_argument("--allow-large", action="store_true", help=_LARGE_HELP)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("reproduce", help="the headline: master vs poc vs registry")
    p.add_argument("--out", default="results/reproduce", help="output folder")
    p.add_argument("--quick", action="store_true", help="a smaller, faster version")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser("plot", help="write the figures of a results folder as PNG")
    p.add_argument("dir")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("demo", help="a small master vs poc run, printed side by side")
    p.add_argument(
        "--strategy",
        choices=["both", "master", "poc", "poc-potential"],
        default="both",
        help="which strategy to run (default: both, side by side)",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("bench", help="measure simulator speed (prints a table, bench.json)")
    p.add_argument(
        "parts", nargs="*", help="parts to run (default: all): substrate, headline, scaling, sweep"
    )
    p.add_argument("--repeats", type=int, default=3, help="repeats per figure (median)")
    p.add_argument("--quick", action="store_true", help="smaller workloads, for a smoke run")
    p.add_argument("--out", default="bench.json", help="where to write the JSON report")
    p.add_argument(
        "--leeches",
        metavar="N,N,...",
        help="swarm sizes of the scaling series, for both strategies (default: 8,16,32,64,128)",
    )
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bitswap-sim`` console script."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named after the subcommand they were given to
        print(
            f"bitswap-sim {args.command}: error: unrecognized arguments: {' '.join(extra)} "
            f"(see bitswap-sim {args.command} --help)",
            file=sys.stderr,
        )
        return 2
    try:
        status = args.func(args)
    except (UsageError, ValueError) as exc:  # ScenarioError is a ValueError
        return _error(args.command, str(exc))
    except OSError as exc:  # a file or folder the command could not read or write
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(args.command, f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print(f"bitswap-sim {args.command}: interrupted", file=sys.stderr)
        return 130
    return status or 0


def _error(command: str, message: str) -> int:
    """Print one line, ``bitswap-sim COMMAND: error: message``; exit status 2."""
    print(f"bitswap-sim {command}: error: {' '.join(message.splitlines())}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
