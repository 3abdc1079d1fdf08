"""The ``bitswap-sim`` command.

    bitswap-sim run FILE --out DIR [--replications N] [--seed S] [--workers N | --dask ADDR]
                   [--resume | --force] [--format png,pdf,svg] [--check] [--allow-large]
    bitswap-sim sweep FILE --out DIR [the same options; --workers defaults to every core]
    bitswap-sim validate FILE [--allow-large]
    bitswap-sim reproduce [--out DIR] [--quick] [--workers N] [--resume | --force] [--format F]
                          [--sensitivity quick|quarter|full|off]
    bitswap-sim plot DIR [--format F] [--run RUN_ID ...]
    bitswap-sim validate-model [--case NAME ...] [--quick] [--out DIR] [--workers N]
                               [--replications N] [--host PRESET]
    bitswap-sim bench [PART ...] [--repeats N] [--quick] [--leeches N,N,...] [--out FILE]
    bitswap-sim demo
    bitswap-sim --version

``run`` and ``sweep`` are one command (``experiments.run`` from Python): ``sweep`` only runs
on every core by default. Exit status: 0 on success, 2 on bad input (one line on stderr naming
the file, the field and what is allowed; no traceback; nothing simulated), 1 if ``--check``
found invariant violations (one line each on stderr; see ``docs/scenarios.md``, "Checking a
scenario"). ``validate-model`` exits 0 also when the model misses a published figure (a
miss is a result) and 1 if a comparison got no simulated value (a run in which a leech did not
finish). Every subcommand keeps the one-line contract for bad arguments too (a missing or
unknown option, a value of the wrong type or out of range: ``--workers`` from 1 to 256,
``--seed`` from 0 to 2**64 - 1, ``bench --repeats`` from 1 to 1000). ``--allow-large`` lifts
the limits on what a scenario may ask for (``docs/scenarios.md``, "Limits"). Importing this
module is cheap: pandas, matplotlib and the simulator are imported by the commands that need
them, so ``--help`` is fast.
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

    from experiments.runner import RunSpec
    from experiments.scenario import Limits

__all__ = ["UsageError", "build_parser", "main"]


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
class _Version(argparse.Action):
    """``--version``: the package version and git commit, computed only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version (and git commit) and exit")  # fmt: skip

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        from experiments.provenance import version_line

        print(version_line())
        parser.exit()


def _executor(
    workers: int | None, dask: str | None, runs: int
) -> tuple[Executor | None, Callable[[], None]]:
    """(executor, closer) for --workers / --dask; (None, no-op) to run in this process."""
    from experiments.runner import _executor as make

    executor, close = make(workers, dask, runs)
    return executor, close or (lambda: None)


# --------------------------------------------------------------------------------- commands
def _cmd_validate(args: argparse.Namespace) -> None:
    from experiments.scenario import estimate, grid, load_scenario

    scenario = load_scenario(args.file, limits=_limits(args))
    if scenario.sweep:  # refuse what a sweep may not vary, as plan() does (imports pandas)
        from experiments.runner import swept_columns

        swept_columns(scenario)
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
    print(
        f"ok: {scenario.name}: {len(scenario.groups)} groups, {peers} peers, "
        f"{len(scenario.objects)} objects, {runs} runs ({how}); "
        f"estimated ~{events:.2g} events in all, ~{mib:,.{0 if mib >= 1 else 2}f} MiB peak per run"
    )


def _cmd_run(args: argparse.Namespace, sweep: bool = False) -> int:
    from dataclasses import replace

    from experiments.folder import check_path
    from experiments.report import check_formats
    from experiments.runner import command_line, plan, run_tables
    from experiments.scenario import load_scenario
    from experiments.scenario.cost import SEED_MAX

    if args.workers is not None and args.dask:
        raise UsageError("give either --workers or --dask, not both")
    _workers(args.workers)
    if args.seed is not None and not 0 <= args.seed <= SEED_MAX:
        raise UsageError(f"--seed must be a whole number from 0 to {SEED_MAX}, got {args.seed}")
    if args.resume and args.force:
        raise UsageError("give either --resume (keep the saved runs that match) or --force "
                         "(clear the folder), not both")  # fmt: skip
    scenario = load_scenario(args.file, limits=_limits(args))
    if args.replications is not None:
        scenario = scenario.with_replications(args.replications)
    specs = plan(scenario, seed=args.seed)  # checks the sweep before anything is written
    if args.seed is not None:
        scenario = replace(scenario, seed=args.seed)
    formats = check_formats(args.format)
    out = check_path(args.out)
    workers = args.workers
    if workers is None and not args.dask:
        import os

        workers = min(os.cpu_count() or 1, MAX_WORKERS) if sweep else 1
    executor, close = _executor(workers, args.dask, len(specs))
    try:
        tables = run_tables(
            scenario,
            executor=executor,
            out=out,
            resume=args.resume,
            force=args.force,
            progress=len(specs) > 1 or sweep,
            formats=formats,
            command=command_line(sys.argv[1:] if args.argv is None else args.argv),
        )
        violations = _check(args, specs, executor, tables.runs)
    finally:
        close()
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
    return _cmd_run(args, sweep=True)


def _cmd_reproduce(args: argparse.Namespace) -> None:
    from experiments.report import check_formats
    from experiments.reproduce import reproduce

    if args.resume and args.force:
        raise UsageError("give either --resume or --force, not both")
    _workers(args.workers)
    out = args.out or ("results/reproduce-quick" if args.quick else "results/reproduce")
    reproduce(
        Path(out),
        quick=args.quick,
        workers=args.workers,
        resume=args.resume,
        force=args.force,
        formats=check_formats(args.format),
        sensitivity=args.sensitivity,
    )


def _cmd_validate_model(args: argparse.Namespace) -> int:
    """The validation suite (``experiments/validation/``): run, print, ``validation.csv`` and
    the figure under ``--out``."""
    import os

    if args.replications is not None and args.replications < 1:
        raise UsageError(f"--replications must be >= 1, got {args.replications}")
    _workers(args.workers)
    from experiments.folder import check_path
    from experiments.validation import cases, format_report, run_validation, validation_figure

    out = check_path(args.out)
    chosen = cases(args.case, quick=args.quick, host=args.host)
    runs = sum(len(c.plan(args.replications)) for c in chosen)
    workers = min(args.workers or os.cpu_count() or 1, runs)
    print(
        f"validate-model: {len(chosen)} case(s), {runs} runs on {workers} worker(s)"
        + (
            "\n--quick: cases shrunk by their expected.quick tables (fewer leeches, smaller "
            "objects, fewer replications); a shrunk case is no longer the published setup, "
            "so its rows get no verdict ('shrunk')"
            if args.quick
            else ""
        )
        + (
            f"\n--host {args.host}: every case's peers on host {args.host!r} instead of the "
            "case's own"
            if args.host
            else ""
        )
    )
    executor, close = _executor(workers, None, runs)
    try:
        table = run_validation(
            chosen,
            out=out,
            executor=executor,
            replications=args.replications,
            progress=True,
        )
    finally:
        close()
    report = format_report(table, chosen)
    print("\n" + report)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "validation.csv", index=False)
    (out / "validation.txt").write_text(report + "\n", encoding="utf-8")
    figure = out / "validation.png"
    validation_figure(table).savefig(figure, dpi=120)
    print(f"wrote {out / 'validation.csv'}, {out / 'validation.txt'}, {figure}")
    missing = table[table["status"] == "no result"]
    for row in missing.itertuples():
        print(
            f"bitswap-sim validate-model: {row.case}: {row.label} {row.metric}: no result "
            "(a run did not finish; see runs.parquet)",
            file=sys.stderr,
        )
    return 1 if len(missing) else 0


def _cmd_plot(args: argparse.Namespace) -> None:
    """Figures from ``runs.parquet`` and ``peers.parquet``; ``transfers.parquet``,
    ``progress.parquet`` and ``scenario.toml`` (for the topology) too if they are there."""
    from experiments.report import check_formats

    formats = check_formats(args.format)
    folder = Path(args.dir)
    runs_file, peers_file = folder / "runs.parquet", folder / "peers.parquet"
    if not runs_file.exists() or not peers_file.exists():
        raise UsageError(f"{folder}: no runs.parquet and peers.parquet (run or sweep first)")
    import pandas as pd

    from experiments.report import write_figures
    from experiments.scenario import load_scenario

    runs, peers = pd.read_parquet(runs_file), pd.read_parquet(peers_file)
    unknown = [r for r in args.run if r not in set(runs["run_id"])]
    if unknown:
        some = ", ".join(sorted(map(str, runs["run_id"]))[:3])
        raise UsageError(f"--run {unknown[0]}: no such run in {folder}; runs: {some} ...")
    transfers_file, progress_file = folder / "transfers.parquet", folder / "progress.parquet"
    transfers = pd.read_parquet(transfers_file) if transfers_file.exists() else None
    progress = pd.read_parquet(progress_file) if progress_file.exists() else None
    scenario_file = folder / "scenario.toml"
    # limits=None: the folder holds a scenario that was run (with --allow-large, maybe)
    scenario = load_scenario(scenario_file, limits=None) if scenario_file.exists() else None
    figures = write_figures(
        runs,
        peers,
        folder,
        scenario=scenario,
        transfers=transfers,
        progress=progress,
        formats=formats,
        run_ids=args.run,
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
_FORMAT_HELP = "figure formats, comma-separated: png, pdf, svg (default: png)"
_LARGE_HELP = "lift the limits on peers, blocks, events, memory and runs (docs/scenarios.md)"


def _run_options(p: argparse.ArgumentParser, sweep: bool) -> None:
    p.add_argument("file", help="scenario TOML file" + (" with a [sweep] table" if sweep else ""))
    p.add_argument("--out", required=True, help="output folder (new, empty, or this scenario's)")
    p.add_argument("--replications", type=int, help="override the file's replications")
    p.add_argument("--seed", type=int, help="override the file's base seed")
    default = "every core" if sweep else "1: this process"
    p.add_argument("--workers", type=int, help=f"local worker processes (default: {default})")
    p.add_argument("--dask", help="Dask scheduler address tcp://host:port, or local:N")
    p.add_argument(
        "--resume", action="store_true",
        help="reuse the saved runs whose settings are unchanged; run the rest",
    )  # fmt: skip
    p.add_argument(
        "--force", action="store_true", help="clear the results already in the output folder"
    )
    p.add_argument("--format", default="png", help=_FORMAT_HELP)
    p.add_argument("--check", action="store_true", help=_CHECK_HELP)
    p.add_argument("--allow-large", action="store_true", help=_LARGE_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bitswap-sim",
        description="Discrete-event simulator of IPFS Bitswap (go-bitswap master and poc).",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a scenario file: its grid x replications")
    _run_options(p, sweep=False)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("sweep", help="run, on every core by default")
    _run_options(p, sweep=True)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("validate", help="check a scenario file without running it")
    p.add_argument("file")
    p.add_argument("--allow-large", action="store_true", help=_LARGE_HELP)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("reproduce", help="the headline: master vs poc vs registry")
    p.add_argument(
        "--out", default=None,
        help="output folder (default: results/reproduce, results/reproduce-quick)",
    )  # fmt: skip
    p.add_argument(
        "--quick", action="store_true",
        help="a reduced version (8 leeches, 60 MiB): a smoke test, not compared with the blog",
    )  # fmt: skip
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--resume", action="store_true", help="reuse the saved runs that match")
    p.add_argument("--force", action="store_true", help="clear the results already there")
    p.add_argument("--format", default="png", help=_FORMAT_HELP)
    p.add_argument(
        "--sensitivity", default="quick", choices=("quick", "quarter", "full", "off"),
        help="size of the sensitivity grid run after the headline (bandwidth, host, DONT_HAVE "
        "latency one at a time): quick = 8 leeches and 60 MiB (minutes), quarter = 32 leeches "
        "and 75 MiB (an hour or more on 2 cores), full = the headline's size, off",
    )  # fmt: skip
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser(
        "validate-model", help="replay published measurements, compare with the model"
    )
    p.add_argument(
        "--case",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="cases to run (default: all; names are the files of experiments/validation/)",
    )
    p.add_argument(
        "--quick", action="store_true", help="shrink the cases (no verdict for shrunk ones)"
    )
    p.add_argument("--out", default="results/validation", help="output folder")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--replications", type=int, help="override every case's replications")
    p.add_argument(
        "--host",
        metavar="PRESET",
        help="run every case on this host preset instead of its own (e.g. ideal)",
    )
    p.set_defaults(func=_cmd_validate_model)

    p = sub.add_parser("plot", help="write the figures of a results folder again")
    p.add_argument("dir")
    p.add_argument("--format", default="png", help=_FORMAT_HELP)
    p.add_argument(
        "--run", action="append", default=[], metavar="RUN_ID",
        help="also draw who served whom and progress of this run (repeatable)",
    )  # fmt: skip
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
        "parts",
        nargs="*",
        help="parts to run (default: all): substrate, headline, hosts, scaling, sweep, swarm",
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
    args.argv = None if argv is None else list(argv)
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
