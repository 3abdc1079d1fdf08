"""Graph topologies from a scenario file: networkx generators by name, graph files, placement,
seeds per leech; a leech two hops from its seed, worked by hand; the thousand-peer preset,
shrunk."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import tomli_w

from experiments.build import build_run, write_topology
from experiments.invariants import run_checked
from experiments.runner import plan
from experiments.scenario import (
    ScenarioError,
    grid,
    load_scenario,
    parse_scenario,
    resolved_dict,
    set_path,
)
from models.dag import CidAllocator, chunked_file
from models.swarm import Swarm
from sim import FixedLatency, build_network

PRESETS = Path(__file__).resolve().parent.parent / "experiments" / "scenarios"

BASE: dict[str, Any] = {
    "name": "graph",
    "seed": 1,
    "max_sim_time_s": "120 s",
    "network": {
        "latency": {"model": "region-matrix"},
        "topology": {"generator": "random_regular_graph", "d": 4},
    },
    "defaults": {"region": "us-east-1", "upload": "1 Gbit/s", "download": "1 Gbit/s"},
    "objects": [{"name": "file", "type": "file", "size": "1 MiB"}],
    "groups": [
        {"name": "seeds", "count": 2, "seed_objects": ["file"]},
        {"name": "leeches", "count": 4, "fetch": "file"},
        {"name": "idle", "count": 14},
    ],
}


def scenario(changes: dict[str, Any] | None = None, **top: Any):
    raw = copy.deepcopy(BASE) | top
    for key, value in (changes or {}).items():
        set_path(raw, key, value)
    return parse_scenario(raw, source="test_graphs")


def edges(built) -> set[frozenset]:
    return {frozenset(e) for e in built.net.graph.to_undirected().edges}


# ------------------------------------------------------------------------------ generators
def test_a_generated_topology_is_the_same_for_a_seed_and_differs_for_another():
    sc = scenario()
    one, again = build_run(sc, 0), build_run(sc, 0)
    assert edges(one) == edges(again)
    assert edges(one) != edges(build_run(sc, 0, seed=2))
    assert edges(one) != edges(build_run(sc, 1))  # another replicate: another graph
    degrees = dict(one.net.graph.out_degree())
    assert set(degrees.values()) == {4} and len(degrees) == 20


def test_every_strategy_of_a_replicate_sees_the_same_graph():
    a = build_run(scenario({"defaults.strategy": "master"}), 0)
    b = build_run(scenario({"defaults.strategy": "poc"}), 0)
    assert edges(a) == edges(b)
    latencies = {(x, y): d["latency_s"] for x, y, d in a.net.graph.edges(data=True)}
    assert latencies == {(x, y): d["latency_s"] for x, y, d in b.net.graph.edges(data=True)}


def test_the_degree_is_sweepable():
    sc = scenario(sweep={"network.topology.d": [2, 4, 6]})
    points = grid(sc)
    assert [p for p, _ in points] == [{"network.topology.d": d} for d in (2, 4, 6)]
    for point, s in points:
        degrees = set(dict(build_run(s, 0).net.graph.out_degree()).values())
        assert degrees == {point["network.topology.d"]}


def test_a_resolved_graph_scenario_loads_back_equal(tmp_path):
    sc = scenario({"network.topology.seeds_per_leech": 1, "groups.leeches.connection_manager": {}})
    again = parse_scenario(resolved_dict(sc), source="test_graphs")
    assert again == sc
    cm = again.groups[1].connection_manager
    assert (cm.low_water, cm.high_water, cm.grace_period_s) == (600, 900, 20.0)


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        (
            {"generator": "nope"},
            "network.topology.generator: unknown value 'nope'; allowed: random_regular_graph, "
            "erdos_renyi_graph",
        ),
        (
            {"generator": "random_regular_graph", "k": 3},
            "network.topology.k: unknown parameter of random_regular_graph; allowed: d, "
            "placement, seeds_per_leech",
        ),
        ({"generator": "random_regular_graph"}, "network.topology.d: required by"),
        ({"generator": "random_regular_graph", "d": 4, "n": 20}, "network.topology.n: the number"),
        ({"generator": "erdos_renyi_graph", "p": 2}, "must be a number >= 0 and <= 1, got 2"),
        ({"generator": "random_regular_graph", "d": 3.5}, "'d' of random_regular_graph must be"),
        ({"generator": "random_regular_graph", "d": 25}, "network.topology: random_regular_graph"),
        ({"generator": "path_graph", "placement": "attribute"}, "'attribute' needs a graph file"),
        ({"generator": "path_graph", "file": "x"}, "give exactly one of generator"),
        ({}, "give exactly one of generator = <name> or file = <path>"),
        ("star", "unknown value 'star'; allowed: full-mesh, region-mesh, or a table"),
        (
            {"generator": "path_graph", "seeds_per_leech": 3},
            "seeds_per_leech: group 'leeches' fetches 'file', which 2 peers of other groups seed",
        ),
    ],
)
def test_bad_generator_topologies(topology, message):
    with pytest.raises(ScenarioError) as err:
        scenario({"network.topology": topology})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_leech_that_cannot_reach_a_seed_is_refused_on_a_fixed_graph():
    """A path placed in order: seeds-0, seeds-1, leeches-0..3, idle-0..13. Moving the leeches
    behind the idle peers cuts them off (routing nil): refused; with the DHT it is allowed."""
    groups = copy.deepcopy(BASE["groups"])
    groups = [groups[0], groups[2], groups[1]]
    with pytest.raises(ScenarioError, match=r"leech 'leeches-0' \(node 16\) cannot reach"):
        scenario({"network.topology": {"generator": "path_graph", "placement": "in-order"}},
                 groups=groups)  # fmt: skip
    ok = scenario(
        {"network.topology": {"generator": "path_graph", "placement": "in-order"}},
        groups=[{**g, "routing": "dht"} if g["name"] == "leeches" else g for g in groups],
    )
    assert ok.network.graph.generator == "path_graph"


def test_seeds_per_leech_connects_every_leech_to_k_seeds():
    sc = scenario({"network.topology.seeds_per_leech": 2, "groups.seeds.count": 3})
    built = build_run(sc, 0)
    g = built.net.graph
    for i in range(4):
        assert sum(g.has_edge(f"leeches-{i}", f"seeds-{j}") for j in range(3)) >= 2


# ------------------------------------------------------------------------------ files
def _write_graphml(path: Path, *, group_attr: str = "group", **changes: Any) -> None:
    g = nx.Graph()
    nodes = {
        "a": {group_attr: "seeds", "region": "us-west-2"},
        "b": {group_attr: "seeds", "region": "us-west-2", "upload": "100 Mbit/s"},
        "c": {group_attr: "leeches", "region": "eu-west-1"},
        "d": {group_attr: "leeches"},
    }
    for name, attrs in nodes.items():
        g.add_node(name, **{**attrs, **changes.get(name, {})})
    g.add_edge("a", "c", latency="20 ms")
    g.add_edge("b", "d", latency=0.03)
    g.add_edge("c", "d")
    nx.write_graphml(g, path)


def _file_scenario(tmp_path: Path, topology: dict[str, Any] | None = None, **top: Any):
    """BASE with the topology ``net.graphml`` next to the scenario file; 2 seeds, 2 leeches
    unless ``groups`` is given."""
    raw = copy.deepcopy(BASE)
    raw["groups"] = [raw["groups"][0], {**raw["groups"][1], "count": 2}]
    raw |= top
    raw["network"]["topology"] = {"file": "net.graphml", **(topology or {})}
    path = tmp_path / "sc.toml"
    path.write_text(tomli_w.dumps(raw))
    return load_scenario(path)


def test_a_graph_file_places_groups_by_attribute_with_its_regions_rates_and_latencies(tmp_path):
    _write_graphml(tmp_path / "net.graphml")
    sc = _file_scenario(tmp_path)
    assert sc.network.graph.placement == "attribute"
    assert sc.network.graph.file == str((tmp_path / "net.graphml").resolve())
    built = build_run(sc, 0)
    net = built.net
    assert edges(built) == {
        frozenset(("seeds-0", "leeches-0")),
        frozenset(("seeds-1", "leeches-1")),
        frozenset(("leeches-0", "leeches-1")),
    }
    assert net.node("seeds-0").region == "us-west-2"
    assert net.node("leeches-0").region == "eu-west-1"
    assert net.node("leeches-1").region == "us-east-1"  # no attribute: the group's
    assert net.node("seeds-1").upload_Bps == 100e6 / 8
    assert net.node("seeds-0").upload_Bps == 1e9 / 8
    assert net.link("seeds-0", "leeches-0").latency_s == 0.020
    assert net.link("leeches-1", "seeds-1").latency_s == 0.030
    assert net.link("leeches-0", "leeches-1").latency_s > 0  # from the region matrix


def test_a_graphml_round_trip_keeps_groups_regions_and_latencies(tmp_path):
    """A generated run written with write_topology, loaded back as a file placed by
    attribute: the same peers in the same groups, regions, rates, connections and latencies."""
    groups = copy.deepcopy(BASE["groups"])
    groups[1]["region"] = "eu-west-1"
    groups[1]["routing"] = "dht"  # a leech the random placement cut off may dial its seeds
    sc = scenario(groups=groups)
    first = build_run(sc, 0)
    write_topology(first, tmp_path / "net.graphml")
    again = build_run(_file_scenario(tmp_path, groups=groups), 0)
    assert again.groups == first.groups
    assert list(again.net.nodes) == list(first.net.nodes)
    assert edges(again) == edges(first)
    for name in first.net.nodes:
        a, b = first.net.node(name), again.net.node(name)
        assert (a.region, a.upload_Bps, a.download_Bps) == (b.region, b.upload_Bps, b.download_Bps)
    for x, y, data in first.net.graph.edges(data=True):
        assert again.net.link(x, y).latency_s == data["latency_s"]


@pytest.mark.parametrize(
    ("changes", "topology", "message"),
    [
        ({"c": {"group": "nobody"}}, {}, "node 'c' names unknown group 'nobody'; allowed: seeds"),
        ({"d": {"group": "seeds"}}, {}, "group 'seeds' has 2 peers and the graph 3 nodes"),
        ({"c": {"region": "mars-1"}}, {}, "node 'c': unknown region 'mars-1'; allowed:"),
        ({"b": {"upload": "fast"}}, {}, "node 'b': upload"),
        ({}, {"group_attribute": "role", "placement": "attribute"}, "node 'a' has no group label"),
        ({}, {"format": "gml"}, "is not a valid gml file"),
        ({}, {"placement": "sideways"}, "unknown value 'sideways'; allowed: in-order, random"),
    ],
)
def test_bad_graph_files(tmp_path, changes, topology, message):
    _write_graphml(tmp_path / "net.graphml", **changes)
    with pytest.raises(ScenarioError) as err:
        _file_scenario(tmp_path, topology)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_graph_file_is_checked_against_the_groups(tmp_path):
    _write_graphml(tmp_path / "net.graphml")
    raw_groups = copy.deepcopy(BASE["groups"][:2])
    raw_groups[1]["count"] = 3
    with pytest.raises(ScenarioError, match="the graph has 4 nodes and the groups 5 peers"):
        _file_scenario(tmp_path, groups=raw_groups)
    with pytest.raises(ScenarioError, match=r"network\.topology\.file: cannot read"):
        _file_scenario(tmp_path, {"file": "missing.graphml"})


def test_a_leech_cut_off_in_a_file_is_refused(tmp_path):
    """The edge list seeds - idle - leech: with nil routing the leech can never be served."""
    (tmp_path / "net.edges").write_text("s x 10 ms\nx l 10 ms\n")
    raw = copy.deepcopy(BASE)
    raw["network"]["topology"] = {"file": str(tmp_path / "net.edges")}
    raw["groups"] = [
        {"name": "seeds", "seed_objects": ["file"]},
        {"name": "idle"},
        {"name": "leeches", "fetch": "file"},
    ]
    with pytest.raises(ScenarioError, match=r"leech 'leeches-0' \(node 'l'\) cannot reach"):
        parse_scenario(raw)
    raw["groups"][1]["fetch"] = "file"  # the middle peer fetches too: it reseeds
    assert parse_scenario(raw).network.graph.placement == "in-order"


# ------------------------------------------------------------------------------ by hand
def _line(strategy: str):
    """seed S, leeches A and B on a line S - A - B; 10 ms one way, unlimited bandwidth; one
    100,000-byte block (a 100,033-byte block message)."""
    net = build_network(nx.path_graph(["S", "A", "B"]), latency=FixedLatency(0.010), seed=1,
                        trace=True)  # fmt: skip
    swarm = Swarm(net, strategy=strategy)
    obj = chunked_file(100_000, cid_alloc=CidAllocator())
    swarm.seed("S", obj)
    swarm.fetch("A", obj)
    swarm.fetch("B", obj)
    assert swarm.run(10)
    trace = net.trace_frame()
    rows = [
        (round(r.t_sent, 6), round(r.t_delivered, 6), r.src, r.dst, r.kind)
        for r in trace.itertuples()
    ]
    done = swarm.peer_frame().set_index("peer")["time_to_fetch_s"]
    return rows, done


def test_a_leech_two_hops_from_its_seed_master():
    """master: at 0 A broadcasts want-block to S and B, B to A (its only neighbour). At 10 ms S
    serves A; B's want sits in A's ledger. At 20 ms A stores the block, its engine serves the
    ledgers that want it (AddBlocks: the reseeding path) so the block leaves for B, and A's
    session cancels the want at S and B. B has it at 30 ms: three one-way latencies."""
    rows, done = _line("master")
    assert rows == [
        (0.0, 0.01, "A", "S", "want-block"),
        (0.0, 0.01, "A", "B", "want-block"),
        (0.0, 0.01, "B", "A", "want-block"),
        (0.01, 0.02, "S", "A", "block"),
        (0.02, 0.03, "A", "B", "block"),
        (0.02, 0.03, "A", "S", "cancel"),
        (0.02, 0.03, "A", "B", "cancel"),
    ]
    assert done["A"] == pytest.approx(0.02) and done["B"] == pytest.approx(0.03)


def test_a_leech_two_hops_from_its_seed_poc():
    """poc: broadcasts are want-haves, sent after the 1 ms debounce. S answers HAVE (the block
    is over 1024 B, so not the block itself); A sends want-block to S (1 ms debounce again),
    gets the block at 42 ms and, holding B's want-have in its ledger, sends B a HAVE at once
    (engine ReceiveFrom); its cancels to S and B follow the debounce. B asks A for the block
    and has it at 73 ms: seven one-way latencies and three debounces."""
    rows, done = _line("poc")
    assert rows == [
        (0.001, 0.011, "A", "S", "want-have"),
        (0.001, 0.011, "A", "B", "want-have"),
        (0.001, 0.011, "B", "A", "want-have"),
        (0.011, 0.021, "S", "A", "have"),
        (0.022, 0.032, "A", "S", "want-block"),
        (0.032, 0.042, "S", "A", "block"),
        (0.042, 0.052, "A", "B", "have"),
        (0.043, 0.053, "A", "S", "cancel"),
        (0.043, 0.053, "A", "B", "cancel"),
        (0.053, 0.063, "B", "A", "want-block"),
        (0.063, 0.073, "A", "B", "block"),
    ]
    assert done["A"] == pytest.approx(0.042) and done["B"] == pytest.approx(0.073)


# ------------------------------------------------------------------------------ presets
def _preset(name: str) -> dict[str, Any]:
    return tomllib.loads((PRESETS / name).read_text(encoding="utf-8"))


def _swarm_small(strategy: str) -> Any:
    """swarm-1000.toml at a tenth: 100 peers (1 seed, 10 leeches, 89 idle), a 2 MiB file."""
    raw = _preset("swarm-1000.toml")
    raw.pop("sweep")
    for key, value in {
        "defaults.strategy": strategy,
        "groups.seeds.count": 1,
        "groups.leeches.count": 10,
        "groups.peers.count": 89,
        "objects.file.size": "2 MiB",
    }.items():
        set_path(raw, key, value)
    return parse_scenario(raw, source="swarm-1000 (small)")


@pytest.mark.parametrize("strategy", ["master", "poc"])
def test_the_thousand_peer_preset_runs_shrunk_and_idle_peers_cost_nothing(strategy):
    sc = _swarm_small(strategy)
    row, peers, violations = run_checked(plan(sc)[0])
    assert violations == []
    assert row["completed_leeches"] == 10
    idle = [p for p in peers if p["group"] == "peers"]
    assert len(idle) == 89 and all(p["msgs_sent"] == 0 for p in idle)
    built = build_run(sc, 0)
    built.run(sc.max_sim_time_s)
    swarm = built.swarm
    assert swarm is not None and swarm.dialled > 0  # leeches dialled the providers they found
    for name, peer in swarm.peers.items():
        if not name.startswith("peers-"):
            continue
        client = peer.client
        queues = client.wantmanager.queues if strategy == "master" else client.pm.queues
        assert not any(q.rebroadcast.running if strategy == "master" else q._rebroadcast.running
                       for q in queues.values())  # fmt: skip
        assert not client.sessions and not peer.engine._tick_pending


def test_the_sparse_presets_validate_and_run_small():
    for name in ("graphs/degree-sweep.toml", "graphs/far-leech.toml"):
        sc = load_scenario(PRESETS / name)
        assert len(grid(sc)) >= 2


def test_a_sparse_graph_is_costed_by_its_connections_not_as_a_full_mesh():
    """The cost estimate counts a graph's connections (random 8-regular: n * 8 / 2, plus the
    providers DHT leeches dial), so the 1,000-peer preset passes the default limits."""
    from experiments.scenario import load_scenario
    from experiments.scenario.cost import estimate

    scenario = load_scenario(PRESETS / "swarm-1000.toml")
    cost = estimate(scenario)
    assert cost.peers == 1000
    assert 4000 <= cost.connections <= 4000 + 10 * 100
    assert cost.memory_bytes < 1024**3
