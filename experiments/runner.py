"""Run scenarios and sweeps; collect tidy results.

``run(scenario)`` runs every sweep point x replication in this process and returns
``(runs, peers)``. ``execute(plan(...), executor=...)`` fans the same runs out over any
``concurrent.futures.Executor`` (a process pool, or a Dask cluster's executor): each run depends
only on its :class:`RunSpec` (scenario, point, replicate, seed), never on which worker ran it or
when, so results are identical whichever executor ran them. With an output folder, every finished
run is written atomically (temporary file, then rename) so a resumed sweep runs only what is
missing.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.build import CONTROL_KINDS, build_run
from experiments.scenario import Scenario, grid

__all__ = ["RunSpec", "execute", "plan", "run", "run_one", "summarise_run", "swept_parameters"]

RUNS_DIR = "runs"


@dataclass(frozen=True)
class RunSpec:
    """One run: a sweep point of a scenario and a replicate. Picklable."""

    run_id: str
    scenario: Scenario
    replicate: int
    seed: int
    point_index: int = 0
    point: dict[str, Any] = field(default_factory=dict)


def swept_parameters(scenario: Scenario) -> list[str]:
    """The swept parameter paths that are not a strategy choice (a sweep over a group's or the
    defaults' ``strategy`` shows up as the ``strategy`` column instead)."""
    return [p for p in scenario.sweep if not p.endswith(".strategy")]


def plan(
    scenario: Scenario, *, replications: int | None = None, seed: int | None = None
) -> list[RunSpec]:
    """Every run of ``scenario``: its sweep grid times its replications, in a fixed order."""
    reps = scenario.replications if replications is None else replications
    root = scenario.seed if seed is None else seed
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


def run_one(spec: RunSpec, progress: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run one :class:`RunSpec`: (its ``runs`` row, its ``peers`` rows). Pure and top-level,
    so it pickles to worker processes. ``progress``: a bar of finished leeches, shown once the
    run has taken more than 2 s."""
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
    events = next(built.net.env._eid)  # SimPy's event counter: events scheduled in this run
    row = {
        **ident,
        "strategy": scenario.strategy_label,
        **spec.point,
        **summarise_run(frame, built.net, runner.makespan_s),
        "sim_events": events,
        "sim_time_s": built.net.now,
        "wall_s": wall,
    }
    return row, frame.to_dict("records")


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


def _frames(
    rows: Iterable[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    run_rows: list[dict[str, Any]] = []
    peer_rows: list[dict[str, Any]] = []
    for row, peers in rows:
        run_rows.append(row)
        peer_rows.extend(peers)
    runs = pd.DataFrame(run_rows)
    peers_df = pd.DataFrame(peer_rows)
    if len(runs):
        runs = runs.sort_values("run_id", kind="stable").reset_index(drop=True)
        peers_df = peers_df.sort_values(["run_id", "peer"], kind="stable").reset_index(drop=True)
    return runs, peers_df


def run(
    scenario: Scenario, *, seed: int | None = None, replications: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every point and replication of ``scenario`` here; ``(runs, peers)`` DataFrames."""
    specs = plan(scenario, replications=replications, seed=seed)
    runs, peers = _frames(run_one(s) for s in specs)
    runs.attrs["swept"] = swept_parameters(scenario)
    return runs, peers


# --------------------------------------------------------------------------------- files
def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _save_run(out: Path, row: dict[str, Any], peers: list[dict[str, Any]]) -> None:
    folder = out / RUNS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    rid = row["run_id"]
    _atomic_parquet(pd.DataFrame(peers), folder / f"{rid}.peers.parquet")
    _atomic_parquet(pd.DataFrame([row]), folder / f"{rid}.run.parquet")  # last: marks done


def _load_run(out: Path, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    folder = out / RUNS_DIR
    run_file = folder / f"{run_id}.run.parquet"
    peers_file = folder / f"{run_id}.peers.parquet"
    if not (run_file.exists() and peers_file.exists()):
        return None
    row = pd.read_parquet(run_file).to_dict("records")[0]
    return row, pd.read_parquet(peers_file).to_dict("records")


def execute(
    specs: Sequence[RunSpec],
    *,
    executor: Executor | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    swept: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``specs`` (on ``executor``, else here), saving each run under ``out_dir`` as it
    finishes; with ``resume``, runs already saved are read back instead of run again."""
    out = Path(out_dir) if out_dir is not None else None
    results: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
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
    runs, peers = _frames(results[s.run_id] for s in specs)
    runs.attrs["swept"] = list(swept)
    if out is not None:
        _atomic_parquet(runs, out / "runs.parquet")
        _atomic_parquet(peers, out / "peers.parquet")
    return runs, peers


def _finish(
    res: tuple[dict[str, Any], list[dict[str, Any]]],
    spec: RunSpec,
    results: dict[str, Any],
    out: Path | None,
    bar: Any,
) -> None:
    results[spec.run_id] = res
    if out is not None:
        _save_run(out, *res)
    if bar is not None:
        bar.update(1)


def _progress(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc="runs", unit="run")
