"""Scenario files: parsing, defaults, validation errors, sweeps, the resolved round trip."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from experiments.scenario import (
    ScenarioError,
    grid,
    load_scenario,
    parse_scenario,
    resolved_dict,
)
from sim.latency import RegionMatrixLatency

DATA = Path(__file__).parent / "data"


def minimal(**over):
    raw = {
        "name": "t",
        "defaults": {"region": "us-east-1"},
        "objects": [{"name": "f", "type": "file", "size": "1 MiB"}],
        "groups": [
            {"name": "s", "seed_objects": ["f"]},
            {"name": "l", "count": 2, "fetch": {"object": "f"}},
        ],
    }
    raw.update(over)
    return raw


def test_small_scenario_loads_with_units_and_defaults():
    s = load_scenario(DATA / "small.toml")
    assert s.name == "small" and s.seed == 3 and s.replications == 2
    assert s.max_sim_time_s == 60.0
    assert isinstance(s.network.latency, RegionMatrixLatency)
    seeds, leeches = s.groups
    assert seeds.upload_Bps == 125e6 and leeches.region == "us-west-2"
    assert leeches.members() == ["leeches-0", "leeches-1", "leeches-2", "leeches-3"]
    assert leeches.fetch.pattern == "dag-walk" and leeches.fetch.start_s == 0.0
    assert s.object("file").size_bytes == 4 * 2**20
    assert s.strategy_configs["poc"].dont_have_timeouts is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, r"t?name: required"),
        ({"bogus": 1}, r"bogus: unknown key; allowed: .*groups.*name"),
        ({"seed": -1}, r"seed: must be a whole number >= 0"),
        ({"replications": 0}, r"replications: must be a whole number >= 1"),
        (
            {"network": {"transport": "tcp"}},
            r"network.transport: unknown value 'tcp'; allowed: fifo, fair, go-testnet",
        ),
        (
            {"network": {"latency": {"model": "warp"}}},
            r"network.latency.model: unknown latency model 'warp'",
        ),
        (
            {"network": {"transport": "fair", "priority_lane": True}},
            r"network.priority_lane: only the fifo",
        ),
        (
            {"objects": [{"name": "f", "type": "tarball"}]},
            r"objects.f.type: unknown value 'tarball'; allowed: file, oci-image, blocks",
        ),
        ({"objects": [{"name": "f", "type": "file"}]}, r"objects.f.size: required"),
        (
            {"objects": [{"name": "f", "type": "file", "size": "100"}]},
            r"objects.f.size: must be a size with a unit",
        ),
        ({"groups": []}, r"groups: required"),
        (
            {"groups": [{"name": "s", "strategy": "bittorrent"}]},
            r"groups.s.strategy: unknown value 'bittorrent'; "
            r"allowed: master, poc, poc-2020-02, poc-potential, registry",
        ),
        ({"groups": [{"name": "s", "count": 0}]}, r"groups.s.count: must be a whole number >= 1"),
        (
            {"groups": [{"name": "s", "region": "mars-1"}]},
            r"groups.s.region: unknown region 'mars-1'; allowed: ap-northeast-1.*us-east-1",
        ),
        ({"groups": [{"name": "s", "upload": "100"}]}, r"upload of|groups.s.upload"),
        ({"groups": [{"name": "s", "upload": -5}]}, r"groups.s.upload"),
        (
            {"groups": [{"name": "s", "seed_objects": ["nope"]}]},
            r"groups.s.seed_objects\[0\].object: unknown object 'nope'; objects: f",
        ),
        (
            {"groups": [{"name": "s", "fetch": {"object": "f", "pattern": "zigzag"}}]},
            r"groups.s.fetch.pattern: unknown value 'zigzag'; allowed: dag-walk",
        ),
        (
            {"groups": [{"name": "s", "seed_objects": [{"object": "f", "range": [5, 2]}]}]},
            r"range: must be \[start, stop\]",
        ),
        (
            {"groups": [{"name": "s", "instance": "t9.huge"}]},
            r"groups.s.instance: unknown value 't9.huge'; allowed: .*t2.micro",
        ),
        (
            {"strategy": {"master": {"max_split": 0}}},
            r"strategy.master: master.max_split must be > 0",
        ),
        (
            {"strategy": {"poc": {"bogus": 1}}},
            r"strategy.poc.bogus: unknown parameter; allowed: .*want_block_peers",
        ),
        ({"sweep": {"groups.x.count": [1]}}, r"sweep.groups.x.count: no group named 'x'"),
    ],
)
def test_bad_input_names_the_file_field_and_allowed_values(change, message):
    raw = minimal(**change)
    with pytest.raises(ScenarioError, match=message) as info:
        s = parse_scenario(raw, source="bad.toml")
        grid(s)
    assert str(info.value).startswith("bad.toml: ")
    assert "\n" not in str(info.value)


def test_missing_file_and_toml_syntax_error(tmp_path):
    with pytest.raises(ScenarioError, match=r"nothere.toml: no such file"):
        load_scenario(tmp_path / "nothere.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x\n")
    with pytest.raises(ScenarioError, match=r"bad.toml: not valid TOML"):
        load_scenario(bad)


def test_defaults_apply_to_every_group_and_groups_override_them():
    s = parse_scenario(minimal(defaults={"region": "us-east-1", "strategy": "master"}))
    assert [g.strategy for g in s.groups] == ["master", "master"]
    assert all(math.isinf(g.upload_Bps) for g in s.groups)


def test_sweep_grid_in_file_order():
    s = load_scenario(DATA / "small-sweep.toml")
    points = [(p, sc.groups[1].count, sc.strategies) for p, sc in grid(s)]
    assert [p for p, *_ in points] == [
        {"defaults.strategy": "master", "groups.leeches.count": 2},
        {"defaults.strategy": "master", "groups.leeches.count": 4},
        {"defaults.strategy": "poc", "groups.leeches.count": 2},
        {"defaults.strategy": "poc", "groups.leeches.count": 4},
    ]
    assert [c for _, c, _ in points] == [2, 4, 2, 4]
    assert points[0][2] == ["master"]


def test_resolved_scenario_loads_back_equal():
    s = load_scenario(DATA / "small.toml")
    again = parse_scenario(resolved_dict(s), source=s.source)
    assert again == s


def test_registry_cannot_mix_with_bitswap():
    raw = minimal(groups=[{"name": "s", "strategy": "registry"}, {"name": "l", "strategy": "poc"}])
    with pytest.raises(ScenarioError, match="'registry' replaces Bitswap"):
        parse_scenario(raw)


def _experiments_imports(path: Path) -> list[str]:
    """The modules of experiments/ that the file at ``path`` imports."""
    import ast

    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return [n for n in names if n.split(".")[0] == "experiments"]


LEAVES = ("experiments.hosts",)
"""Modules of experiments/ that the scenario package may import: they import nothing from
experiments/ themselves (the host presets)."""


def test_scenario_package_imports_nothing_else_from_experiments():
    """experiments.faults (running faults) imports the scenario package, never the reverse:
    loading a scenario, faults included, needs no other part of experiments/ (no cycle), but
    for leaf modules that import nothing from experiments/ (the host presets)."""
    import experiments.scenario

    outside = [
        f"{path.name}: {n}"
        for path in sorted(Path(experiments.scenario.__file__).parent.glob("*.py"))
        for n in _experiments_imports(path)
        if not n.startswith("experiments.scenario") and n not in LEAVES
    ]
    assert outside == []
    for leaf in LEAVES:
        path = Path(experiments.scenario.__file__).parents[1] / (leaf.split(".")[1] + ".py")
        assert _experiments_imports(path) == [], leaf


def test_table_getters_do_not_shadow_builtins():
    import builtins

    from experiments.scenario import Table

    public = [name for name in vars(Table) if not name.startswith("_")]
    assert not [name for name in public if hasattr(builtins, name)]
