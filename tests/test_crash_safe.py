"""A sweep killed with SIGKILL part-way and resumed ends with the results of one never killed.

Every finished run is saved as ``runs/<run_id>.{peers,transfers,progress,run}.parquet``, each
written to a temporary file and renamed, ``.run.parquet`` last (``experiments.runner``); a
resumed sweep reads back only runs whose four files exist. So a half-written ``*.tmp`` file or
a ``.peers.parquet`` without its ``.run.parquet`` is never read as a result.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from experiments.runner import TABLES, plan
from experiments.scenario import load_scenario

SWEEP = Path(__file__).parent / "data" / "slow-sweep.toml"
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}


def _sweep(out: Path, *extra: str) -> subprocess.Popen[str]:
    args = ["sweep", str(SWEEP), "--out", str(out), "--workers", "1", *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def _done(runs: Path) -> list[str]:
    return sorted(p.name.removesuffix(".run.parquet") for p in runs.glob("*.run.parquet"))


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    tables = {name: pd.read_parquet(out / f"{name}.parquet") for name in TABLES}
    tables["runs"] = tables["runs"].drop(columns="wall_s")
    return tables


def test_a_killed_sweep_resumes_to_the_results_of_an_uninterrupted_one(tmp_path):
    ids = [s.run_id for s in plan(load_scenario(SWEEP))]
    reference = _sweep(tmp_path / "reference")  # alongside, never interrupted
    out = tmp_path / "killed"
    runs = out / "runs"
    victim = _sweep(out)
    deadline = time.monotonic() + 60
    while not (runs.exists() and _done(runs)):
        assert victim.poll() is None, "the sweep ended before a run was saved"
        assert time.monotonic() < deadline, "no run saved within 60 s"
        time.sleep(0.002)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL
    done = _done(runs)
    print(f"killed after {len(done)} of {len(ids)} runs")
    assert 1 <= len(done) < len(ids), done  # part-way: make slow-sweep.toml slower if not
    assert not (out / "runs.parquet").exists()
    saved = {rid: pd.read_parquet(runs / f"{rid}.run.parquet") for rid in done}

    # what a crash can leave behind, planted for runs that did not finish
    todo = [rid for rid in ids if rid not in done]
    (runs / f"{todo[0]}.run.parquet.12345.tmp").write_bytes(b"PAR1 half a file")
    (runs / f"{todo[0]}.peers.parquet.12345.tmp").write_bytes(b"PAR1")
    bogus = pd.DataFrame({"run_id": [todo[-1]], "peer": ["nobody"], "blocks_received": [-1]})
    bogus.to_parquet(runs / f"{todo[-1]}.peers.parquet")
    bogus.to_parquet(runs / f"{todo[-1]}.transfers.parquet")

    resumed = _sweep(out, "--resume")
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read() if resumed.stderr else ""
    assert reference.wait(timeout=120) == 0, reference.stderr.read() if reference.stderr else ""

    final, expected = _tables(out), _tables(tmp_path / "reference")
    assert final["runs"]["run_id"].tolist() == ids  # every run exactly once, in order
    for name in TABLES:
        pd.testing.assert_frame_equal(final[name], expected[name], obj=name)
    assert "nobody" not in set(final["peers"]["peer"])
    # the runs saved before the kill were read back, not run again (wall_s is theirs)
    wall = pd.read_parquet(out / "runs.parquet").set_index("run_id")["wall_s"]
    for rid, row in saved.items():
        assert wall[rid] == row["wall_s"].iloc[0]
