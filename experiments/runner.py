"""Run scenarios and sweeps; collect tidy results.

``run(scenario)`` runs every sweep point x replication in this process and returns
``(runs, peers)``; ``run_tables(scenario)`` returns all four tables as a :class:`Tables`
(``runs``, ``peers``, ``transfers``: who sent blocks to whom, ``progress``: blocks local over
time per leech; see :mod:`experiments.collect`). ``execute(plan(...), executor=...)`` (and
``execute_tables``) fans the same runs out over any ``concurrent.futures.Executor`` (a process
pool, or a Dask cluster's executor): each run depends only on its :class:`RunSpec` (scenario,
point, replicate, seed), never on which worker ran it or when, so results are identical
whichever executor ran them. With an output folder, every finished run is written atomically
(temporary file, then rename) so a resumed sweep runs only what is missing, and the merged
tables are written as ``runs.parquet``, ``peers.parquet``, ``transfers.parquet`` and
``progress.parquet``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from experiments.build import CONTROL_KINDS, Built, build_run
from experiments.collect import (
    empty_progress,
    empty_transfers,
    progress_frame,
    records,
    transfer_frame,
)
from experiments.scenario import Scenario, grid, run_arguments

__all__ = [
    "RunResult",
    "RunSpec",
    "Tables",
    "execute",
    "execute_tables",
    "plan",
    "run",
    "run_one",
    "run_tables",
    "summarise_run",
    "swept_parameters",
]

RUNS_DIR = "runs"
_RUN_PARTS = ("run", "peers", "transfers", "progress")
"""A run's files in ``RUNS_DIR``: ``<run_id>.<part>.parquet``; ``run`` is written last."""
TABLES = ("runs", "peers", "transfers", "progress")
"""The result tables, in the order of :class:`Tables`; each is saved as ``<name>.parquet``."""


@dataclass(frozen=True)
class RunSpec:
    """One run: a sweep point of a scenario and a replicate. Picklable."""

    run_id: str
    scenario: Scenario
    replicate: int
    seed: int
    point_index: int = 0
    point: dict[str, Any] = field(default_factory=dict)


class RunResult(NamedTuple):
    """What :func:`run_one` returns for one run. ``row`` and ``peers`` are dicts (one row, a
    few per peer); ``transfers`` and ``progress`` are DataFrames, built column-wise since a
    run has a row per leech per block (:mod:`experiments.collect` has their columns)."""

    row: dict[str, Any]
    peers: list[dict[str, Any]]
    transfers: pd.DataFrame
    progress: pd.DataFrame


class Tables(NamedTuple):
    """The four result tables of a set of runs (tidy, sorted by run_id, then peers)."""

    runs: pd.DataFrame
    peers: pd.DataFrame
    transfers: pd.DataFrame
    progress: pd.DataFrame


def swept_parameters(scenario: Scenario) -> list[str]:
    """The swept parameter paths that are not a strategy choice (a sweep over a group's or the
    defaults' ``strategy`` shows up as the ``strategy`` column instead)."""
    return [p for p in scenario.sweep if not p.endswith(".strategy")]


def plan(
    scenario: Scenario, *, replications: int | None = None, seed: int | None = None
) -> list[RunSpec]:
    """Every run of ``scenario``: its sweep grid times its replications, in a fixed order."""
    reps, root = run_arguments(scenario, replications, seed)  # checked as a file's are
    specs = []
    for index, (point, point_scenario) in enumerate(grid(scenario)):
        for r in range(reps):
            specs.append(
                RunSpec(
                    run_id=f"{scenario.name}-p{index:03d}-r{r:02d}",
                    scenario=point_scenario,
                    replicate=r,
                    seed=root,
                    point_index=index,
                    point=point,
                )
            )
    return specs


def run_one(spec: RunSpec, progress: bool = False) -> RunResult:
    """Run one :class:`RunSpec`: its ``runs`` row, ``peers`` rows, ``transfers`` and
    ``progress`` tables. Pure and top-level, so it pickles to worker processes. ``progress``: a
    bar of finished leeches, shown once the run has taken more than 2 s."""
    scenario = spec.scenario
    wall = time.perf_counter()
    built = build_run(scenario, spec.replicate, spec.seed)
    bar = None
    if progress and built.swarm is not None:
        from tqdm.auto import tqdm

        leeches = sum(g.count for g in scenario.groups if g.fetch is not None)
        bar = tqdm(total=leeches, desc=spec.run_id, unit="leech", delay=2.0, leave=False)
        built.swarm.on_fetch_done.append(lambda fetch: bar.update(1))
    try:
        built.run(scenario.max_sim_time_s)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - wall
    row, frame, ident = collect(spec, built, wall)
    return RunResult(
        row,
        records(frame),
        transfer_frame(built, ident, scenario.strategy_label),
        progress_frame(built, ident),
    )


def collect(
    spec: RunSpec, built: Built, wall_s: float
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, Any]]:
    """A finished run's ``runs`` row, its ``peers`` frame and the identifying columns."""
    scenario = spec.scenario
    runner: Any = built.swarm if built.swarm is not None else built.registry
    frame = runner.peer_frame() if built.swarm is not None else runner.client_frame()
    ident = {
        "run_id": spec.run_id,
        "scenario": scenario.name,
        "replicate": spec.replicate,
        "seed": spec.seed,
    }
    frame.insert(0, "group", frame["peer"].map(built.groups))
    for key, value in reversed(ident.items()):
        frame.insert(0, key, value)
    events = built.net.events_scheduled()  # SimPy's event counter: events scheduled in this run
    row = {
        **ident,
        "strategy": scenario.strategy_label,
        **spec.point,
        **summarise_run(frame, built.net, runner.makespan_s),
        "msgs_lost": built.net.messages_lost,
        "fault_events": len(built.swarm.connectivity.log) if built.swarm is not None else 0,
        "sim_events": events,
        "sim_time_s": built.net.now,
        "wall_s": wall_s,
    }
    return row, frame, ident


def summarise_run(peers: pd.DataFrame, net: Any, makespan_s: float | None) -> dict[str, Any]:
    """The run-level figures from one run's peer rows and its network. ``makespan_s``: last
    leech done minus first leech started (p2plab's "total time"), None if a leech did not
    finish."""
    leeches = peers[peers["role"] == "leech"]
    done = leeches[leeches["completed"] == True]  # noqa: E712 - object column with None
    metrics = net.node_metrics()
    payload = metrics.loc[metrics["kind"].isin(("block", "blob")), "bytes_sent"].sum()
    control = metrics.loc[
        metrics["kind"].isin((*CONTROL_KINDS, "request", "manifest")), "bytes_sent"
    ].sum()
    received = leeches["blocks_received"].sum()
    bytes_received = leeches["bytes_received"].sum()
    makespan = math.nan if makespan_s is None else float(makespan_s)
    return {
        "leeches": len(leeches),
        "completed_leeches": len(done),
        "makespan_s": makespan,
        "mean_time_to_fetch_s": float(done["time_to_fetch_s"].mean()) if len(done) else math.nan,
        "dup_block_rate": float(leeches["dup_blocks_received"].sum() / received)
        if received
        else 0.0,
        "dup_byte_rate": (
            float(leeches["dup_bytes_received"].sum() / bytes_received) if bytes_received else 0.0
        ),
        "control_bytes": int(control),
        "payload_bytes": int(payload),
    }


def _frames(results: Iterable[RunResult], swept: Sequence[str]) -> Tables:
    run_rows: list[dict[str, Any]] = []
    peer_rows: list[dict[str, Any]] = []
    transfers: list[pd.DataFrame] = []
    progress: list[pd.DataFrame] = []
    for res in results:
        run_rows.append(res.row)
        peer_rows.extend(res.peers)
        transfers.append(res.transfers)
        progress.append(res.progress)
    runs = pd.DataFrame(run_rows)
    peers_df = pd.DataFrame(peer_rows)
    if len(runs):
        runs = runs.sort_values("run_id", kind="stable").reset_index(drop=True)
        peers_df = peers_df.sort_values(["run_id", "peer"], kind="stable").reset_index(drop=True)
    runs.attrs["swept"] = list(swept)
    return Tables(
        runs,
        peers_df,
        _concat(transfers, empty_transfers(), ["run_id", "src", "dst"]),
        _concat(progress, empty_progress(), ["run_id", "peer"]),  # stable: blocks stay in order
    )


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(by, kind="stable").reset_index(drop=True)


def run(
    scenario: Scenario, *, seed: int | None = None, replications: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every point and replication of ``scenario`` here; ``(runs, peers)`` DataFrames.
    :func:`run_tables` also returns ``transfers`` and ``progress``."""
    tables = run_tables(scenario, seed=seed, replications=replications)
    return tables.runs, tables.peers


def run_tables(
    scenario: Scenario, *, seed: int | None = None, replications: int | None = None
) -> Tables:
    """Run every point and replication of ``scenario`` here; all four tables
    (``runs, peers, transfers, progress = run_tables(...)``)."""
    specs = plan(scenario, replications=replications, seed=seed)
    return _frames((run_one(s) for s in specs), swept_parameters(scenario))


# --------------------------------------------------------------------------------- files
def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _save_run(out: Path, res: RunResult) -> None:
    """``runs/<run_id>.{peers,transfers,progress}.parquet``, then ``<run_id>.run.parquet``:
    written last, it marks the run done."""
    folder = out / RUNS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    rid = res.row["run_id"]
    _atomic_parquet(pd.DataFrame(res.peers), folder / f"{rid}.peers.parquet")
    _atomic_parquet(res.transfers, folder / f"{rid}.transfers.parquet")
    _atomic_parquet(res.progress, folder / f"{rid}.progress.parquet")
    _atomic_parquet(pd.DataFrame([res.row]), folder / f"{rid}.run.parquet")


def _load_run(out: Path, run_id: str) -> RunResult | None:
    """A saved run, or None unless all four of its files exist."""
    folder = out / RUNS_DIR
    files = {part: folder / f"{run_id}.{part}.parquet" for part in _RUN_PARTS}
    if not all(f.exists() for f in files.values()):
        return None
    return RunResult(
        records(pd.read_parquet(files["run"]))[0],
        records(pd.read_parquet(files["peers"])),
        pd.read_parquet(files["transfers"]),
        pd.read_parquet(files["progress"]),
    )


def execute(
    specs: Sequence[RunSpec],
    *,
    executor: Executor | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    swept: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`execute_tables`, returning only ``(runs, peers)`` (it saves all four)."""
    tables = execute_tables(
        specs,
        executor=executor,
        out_dir=out_dir,
        resume=resume,
        progress=progress,
        swept=swept,
    )
    return tables.runs, tables.peers


def execute_tables(
    specs: Sequence[RunSpec],
    *,
    executor: Executor | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    swept: Sequence[str] = (),
) -> Tables:
    """Run ``specs`` (on ``executor``, else here), saving each run under ``out_dir/runs`` as
    it finishes; with ``resume``, runs already saved are read back instead of run again. With
    ``out_dir``, the merged tables go to ``out_dir/<table>.parquet`` (``runs``, ``peers``,
    ``transfers``, ``progress``)."""
    out = Path(out_dir) if out_dir is not None else None
    results: dict[str, RunResult] = {}
    todo = []
    for spec in specs:
        saved = _load_run(out, spec.run_id) if (out is not None and resume) else None
        if saved is not None:
            results[spec.run_id] = saved
        else:
            todo.append(spec)
    bar = _progress(len(specs), len(results), progress)
    try:
        if executor is None:
            for spec in todo:
                res = run_one(spec, progress=progress)
                _finish(res, spec, results, out, bar)
        else:
            futures: dict[Future, RunSpec] = {executor.submit(run_one, s): s for s in todo}
            from concurrent.futures import as_completed

            for fut in as_completed(futures):
                _finish(fut.result(), futures[fut], results, out, bar)
    finally:
        if bar is not None:
            bar.close()
    tables = _frames((results[s.run_id] for s in specs), swept)
    if out is not None:
        for name, frame in zip(TABLES, tables, strict=True):
            _atomic_parquet(frame, out / f"{name}.parquet")
    return tables


def _finish(
    res: RunResult,
    spec: RunSpec,
    results: dict[str, RunResult],
    out: Path | None,
    bar: Any,
) -> None:
    results[spec.run_id] = res
    if out is not None:
        _save_run(out, res)
    if bar is not None:
        bar.update(1)


def _progress(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc="runs", unit="run")
