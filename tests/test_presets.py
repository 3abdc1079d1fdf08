"""Every scenario preset under ``experiments/scenarios`` (recursively) validates, every point of
its sweep validates, and a shrunk copy of its first sweep point runs with every leech done.

Shrinking (on the raw TOML dict, through ``set_path``, then parsed again): the first sweep point
applied, one replication, groups capped so the run has at most ``MAX_PEERS`` peers, objects capped
at ``MAX_BLOCKS`` blocks and about ``MAX_BYTES``. Capping keeps every seed rule as written (block
ranges, ``every``/``offset``, one-random-member), so the seeds still cover every block that is
left. The deadline is the file's own ``max_sim_time_s``.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest

from experiments.runner import plan, run_one
from experiments.scenario import Scenario, grid, load_scenario, parse_scenario, set_path

SCENARIOS = Path(__file__).resolve().parents[1] / "experiments" / "scenarios"
PRESETS = sorted(SCENARIOS.rglob("*.toml"))

MAX_PEERS = 12
MAX_BLOCKS = 50
MAX_BYTES = 4 * 2**20


def _id(path: Path) -> str:
    return path.relative_to(SCENARIOS).as_posix()


def shrink(scenario: Scenario) -> Scenario:
    """The first sweep point of ``scenario``, small enough to run in a test."""
    source = scenario.source
    raw = copy.deepcopy(dict(scenario.raw))
    for key, values in raw.pop("sweep", {}).items():
        set_path(raw, key, values[0], source)
    raw["replications"] = 1
    point = parse_scenario(raw, source=source)
    cap = max(1, MAX_PEERS // len(point.groups))
    for g in point.groups:
        if g.count > cap:
            set_path(raw, f"groups.{g.name}.count", cap, source)
    for o in point.objects:
        if o.type == "blocks":
            limit = max(1, min(MAX_BLOCKS, MAX_BYTES // o.block_bytes))
            if o.count > limit:
                set_path(raw, f"objects.{o.name}.count", limit, source)
        elif o.type == "file":
            limit = min(MAX_BYTES, MAX_BLOCKS * o.chunk_bytes)
            if o.size_bytes > limit:
                set_path(raw, f"objects.{o.name}.size", limit, source)
        else:  # oci-image: every layer scaled by the same factor
            total = sum(o.layers) + o.config_bytes
            if total > MAX_BYTES:
                layers = [max(1, int(size * MAX_BYTES / total)) for size in o.layers]
                set_path(raw, f"objects.{o.name}.layers", layers, source)
    return parse_scenario(raw, source=source)


def test_presets_found():
    folders = {p.parent for p in PRESETS}
    assert len(PRESETS) >= 2 and len(folders) >= 2, PRESETS


@pytest.mark.parametrize("path", PRESETS, ids=_id)
def test_preset_validates(path):
    scenario = load_scenario(path)
    assert scenario.groups
    assert any(g.fetch is not None for g in scenario.groups), "nobody fetches"
    points = grid(scenario)  # every sweep point parses too
    assert len(points) == math.prod(len(v) for v in scenario.sweep.values())


@pytest.mark.parametrize("path", PRESETS, ids=_id)
def test_preset_runs_shrunk(path):
    small = shrink(load_scenario(path))
    assert sum(g.count for g in small.groups) <= MAX_PEERS
    specs = plan(small)
    assert len(specs) == 1
    row, peers, transfers, progress = run_one(specs[0])
    assert row["leeches"] >= 1
    assert row["sim_time_s"] <= small.max_sim_time_s
    if not small.faults:  # a fault preset may rightly leave leeches unfinished
        assert row["completed_leeches"] == row["leeches"], row
        assert all(p["completed"] for p in peers if p["role"] == "leech")
        assert math.isfinite(row["makespan_s"])
    # who served whom adds up to what the peers received; every leech has progress rows
    assert transfers["blocks"].sum() == sum(p["blocks_received"] for p in peers)
    assert progress["peer"].nunique() == row["leeches"]
