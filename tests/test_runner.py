"""Runs and sweeps: result columns, determinism, common random numbers, executors, resume."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from experiments import load_scenario, run
from experiments.build import build_run
from experiments.runner import TABLES, execute, execute_tables, plan, run_tables
from experiments.scenario import grid

DATA = Path(__file__).parent / "data"

PEER_COLUMNS = [
    "run_id", "scenario", "strategy", "group", "peer", "role", "replicate", "seed", "completed",
    "time_to_fetch_s", "blocks_received", "dup_blocks_received", "bytes_received",
    "dup_bytes_received", "blocks_sent", "bytes_sent", "msgs_sent", "msgs_received",
    "msgs_sent_want_block", "msgs_sent_want_have", "msgs_sent_cancel", "msgs_sent_block",
    "msgs_sent_have", "msgs_sent_dont_have", "msgs_lost", "msgs_in_flight", "blocks_lost",
    "blocks_in_flight", "time_fetching_s",
]  # fmt: skip
RUN_COLUMNS = [
    "run_id", "scenario", "strategy", "replicate", "seed", "makespan_s", "mean_time_to_fetch_s",
    "dup_block_rate", "dup_byte_rate", "control_bytes", "payload_bytes", "sim_events", "wall_s",
    "leeches", "completed_leeches", "fraction_completed", "msgs_in_flight",
]  # fmt: skip


def without_wall(frame):
    return frame.drop(columns=[c for c in frame.columns if c == "wall_s"])


def assert_tables_equal(a, b):
    """All four tables equal (runs without the wall-clock column)."""
    pd.testing.assert_frame_equal(without_wall(a.runs), without_wall(b.runs))
    for name in TABLES[1:]:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)


def test_python_api_returns_tidy_frames():
    runs, peers = run(load_scenario(DATA / "small.toml"), seed=1)
    assert set(RUN_COLUMNS) <= set(runs.columns)
    assert set(PEER_COLUMNS) <= set(peers.columns)
    assert len(runs) == 2 and len(peers) == 2 * 6
    leeches = peers[peers.role == "leech"]
    assert leeches["completed"].all() and (leeches["time_to_fetch_s"] > 0).all()
    assert (runs["makespan_s"] >= runs["mean_time_to_fetch_s"]).all()
    assert set(peers.loc[peers.role == "seed", "group"]) == {"seeds"}


def test_same_seed_same_results_different_seed_different():
    s = load_scenario(DATA / "small.toml")
    a = run_tables(s, seed=5)
    assert_tables_equal(a, run_tables(s, seed=5))
    c = run_tables(s, seed=6)
    assert not a.runs["mean_time_to_fetch_s"].equals(c.runs["mean_time_to_fetch_s"])
    assert not a.progress["t_s"].equals(c.progress["t_s"])
    runs, peers = run(s, seed=5)  # the two-table API gives the same two tables
    pd.testing.assert_frame_equal(without_wall(runs), without_wall(a.runs))
    pd.testing.assert_frame_equal(peers, a.peers)


def test_common_random_numbers_across_strategies():
    """Within a replicate every strategy sees the same latency draws."""
    s = load_scenario(DATA / "small-sweep.toml")
    (_, master), (_, poc) = grid(s)[0], grid(s)[2]
    nets = [build_run(sc, replicate=1).net for sc in (master, poc)]
    lat = [{(u, v): d["latency_s"] for u, v, d in n.graph.edges(data=True)} for n in nets]
    assert lat[0] == lat[1]


@pytest.fixture(scope="module")
def sweep_reference():
    specs = plan(load_scenario(DATA / "small-sweep.toml"))
    return specs, execute_tables(specs)


def test_sweep_has_grid_times_replications_runs(sweep_reference):
    specs, (runs, _peers, transfers, progress) = sweep_reference
    assert len(specs) == 4 * 2 and len(runs) == 8
    assert list(runs["groups_leeches_count"]) == [2, 2, 4, 4, 2, 2, 4, 4]
    assert runs["run_id"].is_unique
    assert set(runs["strategy"]) == {"master", "poc"}
    assert list(transfers["run_id"].unique()) == list(runs["run_id"])
    assert list(progress["run_id"].unique()) == list(runs["run_id"])


def test_process_pool_gives_identical_results(sweep_reference):
    specs, tables = sweep_reference
    with ProcessPoolExecutor(max_workers=2) as pool:
        assert_tables_equal(tables, execute_tables(specs, executor=pool))


def test_dask_local_cluster_gives_identical_results(sweep_reference):
    pytest.importorskip("dask.distributed")
    from experiments.parallel import dask_executor

    specs, tables = sweep_reference
    executor, close = dask_executor("local:2")
    try:
        t3 = execute_tables(specs, executor=executor)
    finally:
        close()
    assert_tables_equal(tables, t3)


def test_resume_runs_only_what_is_missing(tmp_path, sweep_reference):
    specs, tables = sweep_reference
    execute(specs[:3], out_dir=tmp_path)
    # a run whose .run file (written last) is missing is not done: it runs again
    (tmp_path / "runs" / f"{specs[2].run_id}.run.parquet").unlink()
    (tmp_path / "runs" / "junk.run.parquet.123.tmp").write_text("half-written")
    ran = []
    import experiments.runner as runner

    real = runner.run_one

    def counting(spec, progress=False):
        ran.append(spec.run_id)
        return real(spec, progress)

    runner.run_one = counting
    try:
        resumed = execute_tables(specs, out_dir=tmp_path, resume=True)
    finally:
        runner.run_one = real
    assert ran == [s.run_id for s in specs[2:]]
    assert_tables_equal(resumed, tables)  # runs read back from their files included
    for name in TABLES:
        saved = pd.read_parquet(tmp_path / f"{name}.parquet")
        expected = getattr(tables, name)
        if name == "runs":
            saved, expected = without_wall(saved), without_wall(expected)
        pd.testing.assert_frame_equal(saved, expected, obj=name)
    parts = ("run", "peers", "transfers", "progress")
    assert sorted(p.name for p in (tmp_path / "runs").glob("*.parquet")) == sorted(
        f"{s.run_id}.{part}.parquet" for s in specs for part in parts
    )
