"""The Python API validates like the command line: one ``ScenarioError`` (a ``ValueError``)
naming the field, before anything is built or run; the cost limits and ``limits=None``; the
lazy sweep grid; block counts by arithmetic."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.runner import plan, run, run_tables
from experiments.scenario import (
    DEFAULT_LIMITS,
    Limits,
    ObjectSpec,
    ScenarioError,
    block_count,
    estimate,
    grid,
    load_scenario,
    parse_scenario,
)
from experiments.scenario.specs import RUN_STRATEGIES
from models.dag import CidAllocator, chunked_file, oci_image

SMALL = {
    "name": "api",
    "max_sim_time_s": "60 s",
    "network": {"latency": {"model": "fixed", "one_way": "5 ms"}},
    "objects": [{"name": "f", "type": "file", "size": "1 MiB"}],
    "groups": [{"name": "s", "seed_objects": ["f"]}, {"name": "l", "count": 2, "fetch": "f"}],
}


@pytest.fixture
def sc():
    return parse_scenario(SMALL, source="api.toml")


def test_scenario_error_is_a_value_error():
    assert issubclass(ScenarioError, ValueError)


@pytest.mark.parametrize("call", [run, run_tables, plan])
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"replications": 0}, r"api.toml: replications: must be a whole number >= 1, got 0"),
        ({"replications": -1}, r"replications: must be a whole number >= 1, got -1"),
        ({"replications": True}, r"replications: must be a whole number >= 1, got True"),
        ({"replications": "2"}, r"replications: must be a whole number >= 1, got '2'"),
        ({"replications": 2.0}, r"replications: must be a whole number >= 1, got 2.0"),
        ({"replications": 10**9}, r"replications: 1 point x 1,000,000,000 replications"),
        ({"seed": -1}, r"api.toml: seed: must be a whole number in \[0, 18446744073709551615\]"),
        ({"seed": 2**64}, r"seed: must be a whole number in \[0, 18446744073709551615\]"),
        ({"seed": "1"}, r"seed: must be a whole number in"),
        ({"seed": 1.5}, r"seed: must be a whole number in"),
    ],
)
def test_run_arguments_are_checked_before_anything_runs(sc, call, kwargs, message):
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=message):
        call(sc, **kwargs)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("change", [{"replications": 0}, {"seed": -5}, {"replications": -1}])
def test_a_replaced_scenario_is_checked_too(sc, change):
    with pytest.raises(ScenarioError):
        run(dataclasses.replace(sc, **change))


@pytest.mark.parametrize("value", [SMALL, "tests/data/small.toml", None, 42])
def test_run_wants_a_scenario(value):
    with pytest.raises(ScenarioError, match=r"scenario: must be a Scenario"):
        run(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", [None, "name = 'x'", [1, 2], 3.5])
def test_parse_wants_a_table(data):
    with pytest.raises(ScenarioError, match=r"<scenario>: file: must be a table"):
        parse_scenario(data)  # type: ignore[arg-type]


def _nested(depth: int) -> list:
    value: list = [1]
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": object()}, r"seed: not a TOML value"),
        ({1: 2}, r"keys must be strings, got 1"),
        ({"network": {"x": _nested(40)}}, r"nested too deeply; allowed: up to 32 levels"),
    ],
)
def test_parse_wants_toml_values(change, message):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario({**SMALL, **change})


def test_numpy_numbers_are_numbers():
    sc = parse_scenario({**SMALL, "replications": np.int64(2), "seed": np.uint64(7)})
    assert (sc.replications, sc.seed) == (2, 7)
    assert type(sc.replications) is int


@pytest.mark.parametrize("path", [None, 123, b"/tmp/x.toml", ["a.toml"]])
def test_load_wants_a_path(path):
    with pytest.raises(ScenarioError, match=r"not a file path"):
        load_scenario(path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/dev/zero", r"/dev/zero: not a regular file"),
        ("/", r"/: is a folder"),
        ("", r"no file named"),
    ],
)
def test_load_refuses_what_is_not_a_file(path, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_load_refuses_a_file_over_16_mib(tmp_path):
    big = tmp_path / "big.toml"
    with big.open("wb") as f:
        f.truncate(16 * 2**20 + 1)
    with pytest.raises(ScenarioError, match=r"big.toml: too large \(16,777,217 bytes\)"):
        load_scenario(big)


def test_with_replications_checks_the_runs(sc):
    with pytest.raises(ScenarioError, match=r"allowed: up to 100,000 runs"):
        sc.with_replications(10**9)
    assert sc.with_replications(3).replications == 3


def test_limits_none_lifts_the_limits():
    groups = [{"name": "s", "seed_objects": ["f"]}, {"name": "l", "count": 20_000}]
    big = {**SMALL, "groups": groups}
    with pytest.raises(ScenarioError, match=r"groups.l.count: the run would have 20,001 peers"):
        parse_scenario(big)
    sc = parse_scenario(big, limits=None)
    assert sc.limits is None
    assert estimate(sc).peers == 20_001
    assert estimate(sc).connections == 20_001 * 20_000 // 2


def test_smaller_limits_refuse_sooner():
    tight = Limits(peers=2)
    with pytest.raises(ScenarioError, match=r"allowed: up to 2 peers per run"):
        parse_scenario(SMALL, limits=tight)
    assert DEFAULT_LIMITS.peers == 10_000


def test_the_grid_is_lazy():
    sweep = {"seed": list(range(1000)), "groups.l.count": list(range(1, 1001))}
    with pytest.raises(ScenarioError, match=r"sweep.seed: the grid has 1,000,000 points"):
        parse_scenario({**SMALL, "sweep": sweep})
    sc = parse_scenario({**SMALL, "sweep": sweep}, limits=None)
    start = time.perf_counter()
    points = grid(sc)
    assert len(points) == 10**6
    point, scenario = points[123_456]
    assert point == {"seed": 123, "groups.l.count": 457}
    assert (scenario.seed, scenario.groups[1].count) == (123, 457)
    assert points[-1][0] == {"seed": 999, "groups.l.count": 1000}
    assert [p for p, _ in points[:2]] == [{"seed": 0, "groups.l.count": c} for c in (1, 2)]
    assert time.perf_counter() - start < 5
    with pytest.raises(IndexError):
        points[10**6]


def test_a_bad_point_is_found_when_it_is_built():
    sc = parse_scenario({**SMALL, "sweep": {"groups.l.count": [1, 0]}})
    points = grid(sc)
    assert points[0][1].groups[1].count == 1
    with pytest.raises(ScenarioError, match=r"at sweep point groups.l.count = 0"):
        points[1]


def test_estimate_grows_with_the_swarm_and_the_object():
    def cost(count: int, size: str):
        objects = [{"name": "f", "type": "file", "size": size}]
        return estimate(
            parse_scenario(
                {
                    **SMALL,
                    "objects": objects,
                    "groups": [
                        {"name": "s", "seed_objects": ["f"]},
                        {"name": "l", "count": count, "fetch": "f"},
                    ],
                }
            )
        )

    small, more, bigger = cost(2, "1 MiB"), cost(20, "1 MiB"), cost(2, "100 MiB")
    assert small.events < more.events and small.events < bigger.events
    assert small.memory_bytes < more.memory_bytes and small.memory_bytes < bigger.memory_bytes
    assert (small.peers, small.connections, small.blocks) == (3, 3, 5)
    assert small.fetched_blocks == 2 * 5


@pytest.mark.parametrize("strategy", RUN_STRATEGIES)
def test_every_strategy_has_a_cost_rule(strategy):
    groups = [{"name": "s", "seed_objects": ["f"]}, {"name": "l", "count": 2, "fetch": "f"}]
    scenario = parse_scenario({**SMALL, "defaults": {"strategy": strategy}, "groups": groups})
    assert estimate(scenario).events > 0


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 3 * 2**20),
    chunk=st.integers(1, 2**20).filter(lambda c: c >= 256),
    max_links=st.integers(2, 200),
    layers=st.lists(st.integers(1, 2**20), min_size=1, max_size=3),
)
def test_block_count_by_arithmetic_equals_the_dag(size, chunk, max_links, layers):
    f = ObjectSpec("f", "file", size_bytes=size, chunk_bytes=chunk, max_links=max_links)
    dag = chunked_file(size, cid_alloc=CidAllocator(), chunk_size=chunk, max_links=max_links)
    assert block_count(f) == len(dag.cids_in_order)
    img = ObjectSpec("i", "oci-image", layers=tuple(layers), chunk_bytes=chunk, max_links=max_links)
    dag = oci_image(layers, cid_alloc=CidAllocator(), chunk_size=chunk, max_links=max_links)
    assert block_count(img) == len(dag.cids_in_order)


def test_run_with_no_replications_raises_a_value_error(sc):
    """Issue 17: ``run(sc, replications=0)`` returned empty tables; it raises a ScenarioError,
    which callers may catch as the ValueError it is."""
    with pytest.raises(ValueError, match=r"replications: must be a whole number >= 1") as info:
        run(sc, replications=0)
    assert isinstance(info.value, ScenarioError)
