"""Golden outputs: every scenario family, run small with a fixed seed, hashed.

Each family below is a preset (or a test scenario) shrunk to run in a second or two. Its
``runs``, ``peers``, ``transfers`` and ``progress`` tables (wall-clock columns left out) are
written as CSV with every float at full precision and hashed; ``tests/data/golden.json`` holds
the hashes. A change to the model that changes any output makes this test fail and names the
family and the table.

When outputs change on purpose, rewrite the file with ``make golden`` (``python
tests/test_golden.py --write``) and say in the commit message why they changed. A refactor
must leave them alone.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # as a script (make golden), import the project from the checkout

from experiments.runner import run_tables  # noqa: E402
from experiments.scenario import parse_scenario, set_path  # noqa: E402

GOLDEN = ROOT / "tests" / "data" / "golden.json"
PRESETS = ROOT / "experiments" / "scenarios"
TEST_DATA = ROOT / "tests" / "data"

WALL_CLOCK = ("wall_s",)
"""Columns measured in wall-clock time: the only ones that differ between identical runs."""


def _raw(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _shrink(raw: dict[str, Any], changes: dict[str, Any], sweep: dict[str, list] | None):
    raw = copy.deepcopy(raw)
    for key, value in changes.items():
        set_path(raw, key, value)
    raw["replications"] = 1
    if sweep is None:
        raw.pop("sweep", None)
    else:
        raw["sweep"] = sweep
    return raw


def _headline() -> dict[str, Any]:
    """The blog's headline (container-image.toml) on the ideal host with master's defaults
    (v0.1.11's engine), as the preset stood before the 2020 host preset: 8 leeches, a 24 MiB
    image, master, poc and the registry baseline. Pins that ``host = "ideal"`` is unchanged."""
    raw = _raw(PRESETS / "container-image.toml")
    raw.pop("strategy", None)
    return _shrink(
        raw,
        {
            "defaults.host": "ideal",
            "groups.leeches.count": 8,
            "objects.image.layers": ["4 MiB", "12 MiB", "8 MiB"],
        },
        {"defaults.strategy": ["master", "poc", "registry"]},
    )


def _headline_2020() -> dict[str, Any]:
    """The headline preset as shipped (the p2plab-2020 host, master v0.1.8, poc-potential and
    the registry baseline): 8 leeches, a 24 MiB image."""
    return _shrink(
        _raw(PRESETS / "container-image.toml"),
        {"groups.leeches.count": 8, "objects.image.layers": ["4 MiB", "12 MiB", "8 MiB"]},
        {"defaults.strategy": ["master", "poc-potential", "registry"]},
    )


def _go_fixed_delay() -> dict[str, Any]:
    """go-bitswap's BenchmarkFixedDelay 3Nodes-Overlap3 (go-testnet, 10 ms, CIDv0), every
    fetch pattern, master and poc."""
    raw = _raw(PRESETS / "go-bitswap" / "fixed-delay-3nodes-overlap3.toml")
    patterns = raw["sweep"]["groups.fetcher.fetch.pattern"]
    return _shrink(
        raw,
        {},
        {"defaults.strategy": ["master", "poc"], "groups.fetcher.fetch.pattern": patterns},
    )


def _go_real_world() -> dict[str, Any]:
    """go-bitswap's BenchmarkRealWorld, average network (internet latency generator, token
    buckets with a drawn rate), shrunk to 30 nodes and 50 blocks."""
    raw = _raw(PRESETS / "go-bitswap" / "real-world-average.toml")
    return _shrink(raw, {"objects.blocks.count": 50, "groups.seeds.count": 29}, None)


def _go_datacenter() -> dict[str, Any]:
    """go-bitswap's BenchmarkDatacenterMultiLeechMultiSeed (3 seeds with a 25 ms blockstore,
    3 leeches, unixfs-fetch-large), 120 blocks of 256 KiB, master and poc."""
    return _shrink(
        _raw(PRESETS / "go-bitswap" / "datacenter-multi.toml"),
        {"objects.blocks.count": 120},
        {"defaults.strategy": ["master", "poc"]},
    )


def _p2plab() -> dict[str, Any]:
    """p2plab's neighbors example (t2.micro, region matrix), a 2 MiB image, master and poc."""
    return _shrink(
        _raw(PRESETS / "p2plab" / "neighbors.toml"),
        {"objects.golang.layers": ["4 MiB", "4 MiB"], "defaults.instance": "t3.medium"},
        {"defaults.strategy": ["master", "poc"]},
    )


def _testground() -> dict[str, Any]:
    """Testground's bitswap-tuning 3 x 3 (fixed latency with jitter, blockstore delay), two
    bandwidths."""
    return _shrink(
        _raw(PRESETS / "testground" / "3x3.toml"),
        {},
        {"defaults.strategy": ["master", "poc"], "defaults.upload": ["20 Mibit/s", "1024 Mibit/s"]},
    )


def _faults() -> dict[str, Any]:
    """Seed churn (exponential session lengths), master and poc."""
    return _shrink(
        _raw(PRESETS / "faults" / "seed-churn.toml"),
        {
            "groups.leeches.count": 8,
            "objects.image.layers": ["10 MiB", "10 MiB"],
            "max_sim_time_s": "60 s",
        },
        {"defaults.strategy": ["master", "poc"]},
    )


def _mixed() -> dict[str, Any]:
    """master seeds, poc and poc-potential leeches in one swarm (each side speaks its own
    protocol version to the other)."""
    raw = _raw(TEST_DATA / "small.toml")
    raw["groups"] = [
        {"name": "seeds", "count": 2, "strategy": "master", "seed_objects": ["file"]},
        {"name": "new", "count": 2, "strategy": "poc", "fetch": {"object": "file"}},
        {"name": "potential", "count": 1, "strategy": "poc-potential", "fetch": "file"},
        {"name": "old", "count": 1, "strategy": "master", "fetch": "file"},
    ]
    return _shrink(raw, {}, None)


def _poc_potential() -> dict[str, Any]:
    """poc's autumn-2019 "want potential" variant on the small test scenario."""
    return _shrink(_raw(TEST_DATA / "small.toml"), {"defaults.strategy": "poc-potential"}, None)


def _poc_2020_02() -> dict[str, Any]:
    """poc as on go-bitswap master at f298c9b (2020-02-10) under seed churn (the faults
    family's scenario): its sessions hear of disconnects and re-send the lost want-blocks."""
    return _shrink(
        _raw(PRESETS / "faults" / "seed-churn.toml"),
        {
            "groups.leeches.count": 8,
            "objects.image.layers": ["10 MiB", "10 MiB"],
            "max_sim_time_s": "60 s",
            "defaults.strategy": "poc-2020-02",
        },
        None,
    )


def _transports() -> dict[str, Any]:
    """The small test scenario on each transport (fifo with and without the priority lane,
    fair, go-testnet), master and poc."""
    raw = _raw(TEST_DATA / "small.toml")
    raw["network"]["jitter"] = 0.0  # go-testnet's delays are fixed per pair
    return _shrink(
        raw,
        {},
        {
            "network.transport": ["fifo", "fair", "go-testnet"],
            "defaults.strategy": ["master", "poc"],
        },
    )


def _priority_lane() -> dict[str, Any]:
    """fifo's priority lane for control messages, with jitter."""
    return _shrink(_raw(TEST_DATA / "small.toml"), {"network.priority_lane": True}, None)


FAMILIES: dict[str, Callable[[], dict[str, Any]]] = {
    f.__name__.lstrip("_"): f
    for f in (
        _headline,
        _headline_2020,
        _go_fixed_delay,
        _go_real_world,
        _go_datacenter,
        _p2plab,
        _testground,
        _faults,
        _mixed,
        _poc_potential,
        _poc_2020_02,
        _transports,
        _priority_lane,
    )
}


def table_hash(frame: pd.DataFrame) -> str:
    """SHA-256 (first 16 hex digits) of a table as CSV: columns in order, floats as ``repr``
    (every bit), wall-clock columns left out."""
    frame = frame.drop(columns=[c for c in WALL_CLOCK if c in frame.columns])
    text = frame.to_csv(index=False, float_format=repr, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def family_hashes(name: str) -> dict[str, str]:
    """``{table: hash}`` for one family, run with replication 0 of its seed."""
    scenario = parse_scenario(FAMILIES[name](), source=f"golden:{name}")
    tables = run_tables(scenario)
    return {table: table_hash(frame) for table, frame in zip(tables._fields, tables, strict=True)}


def _golden() -> dict[str, dict[str, str]]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_every_family_has_golden_hashes():
    assert sorted(_golden()) == sorted(FAMILIES), "run `make golden` and commit the file"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_golden(name):
    expected = _golden().get(name)
    assert expected is not None, f"no golden hashes for {name}: run `make golden`"
    got = family_hashes(name)
    changed = [t for t in expected if got.get(t) != expected[t]]
    assert not changed, (
        f"{name}: outputs changed in {', '.join(changed)}. If on purpose, run `make golden` "
        "and say in the commit why the outputs changed."
    )


def test_table_hash_ignores_wall_clock_only():
    a = pd.DataFrame({"run_id": ["x"], "makespan_s": [0.1], "wall_s": [1.0]})
    b = a.assign(wall_s=2.0)
    assert table_hash(a) == table_hash(b)
    assert table_hash(a) != table_hash(a.assign(makespan_s=0.1 + 1e-16))


def main(argv: list[str]) -> int:
    if argv != ["--write"]:
        print("usage: python tests/test_golden.py --write   (rewrites tests/data/golden.json)")
        return 2
    hashes = {}
    for name in FAMILIES:
        hashes[name] = family_hashes(name)
        print(f"{name}: {hashes[name]}")
    GOLDEN.write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
