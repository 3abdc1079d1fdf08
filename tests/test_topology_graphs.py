"""sim.topology's graphs beyond the meshes: networkx generators by name, graph files, placing
groups of peers on nodes, connecting nodes to at least k targets."""

from __future__ import annotations

import re

import networkx as nx
import pytest

from sim.rng import RunRandom
from sim.topology import (
    GENERATORS,
    connect_at_least,
    generate,
    graph_format,
    place,
    reachable,
    read_graph,
)


def _edges(graph: nx.Graph) -> set[frozenset]:
    return {frozenset(e) for e in graph.edges}


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("random_regular_graph", {"d": 4}),
        ("erdos_renyi_graph", {"p": 0.1}),
        ("barabasi_albert_graph", {"m": 2}),
        ("watts_strogatz_graph", {"k": 4, "p": 0.2}),
        ("random_geometric_graph", {"radius": 0.3}),
    ],
)
def test_a_generated_graph_is_the_same_for_a_seed_and_differs_for_another(name, params):
    one = generate(name, 60, params, seed=RunRandom(7))
    again = generate(name, 60, params, seed=RunRandom(7))
    other = generate(name, 60, params, seed=RunRandom(8))
    assert list(one.nodes) == list(range(60))
    assert _edges(one) == _edges(again)
    assert _edges(one) != _edges(other)
    assert all(not attrs for _, attrs in one.nodes(data=True))  # pos of geometric graphs dropped


def test_generators_draw_only_from_the_topology_stream():
    rr = RunRandom(3)
    gen = rr.stream("topology")
    state = gen.bit_generator.state
    a = generate("random_regular_graph", 30, {"d": 3 * 2}, seed=rr)
    assert gen.bit_generator.state != state  # it drew from the run's stream
    b = generate("random_regular_graph", 30, {"d": 6}, seed=RunRandom(3).stream("topology"))
    assert _edges(a) == _edges(b)


def test_deterministic_generators_and_their_node_counts():
    assert _edges(generate("path_graph", 3)) == {frozenset((0, 1)), frozenset((1, 2))}
    star = generate("star_graph", 5)
    assert star.number_of_nodes() == 5 and star.degree(0) == 4
    assert generate("complete_graph", 4).number_of_edges() == 6


def test_generator_errors_name_what_is_allowed():
    with pytest.raises(ValueError, match="unknown generator 'nope'; allowed: random_regular_graph"):
        generate("nope", 10)
    with pytest.raises(ValueError, match="parameter 'k' of random_regular_graph; allowed: d"):
        generate("random_regular_graph", 10, {"k": 2}, seed=1)
    with pytest.raises(ValueError, match="needs parameter 'd'"):
        generate("random_regular_graph", 10, {}, seed=1)
    with pytest.raises(ValueError, match="'p' of erdos_renyi_graph must be a number >= 0"):
        generate("erdos_renyi_graph", 10, {"p": 1.5}, seed=1)
    with pytest.raises(ValueError, match="'d' of random_regular_graph must be a whole number"):
        generate("random_regular_graph", 10, {"d": 2.5}, seed=1)
    with pytest.raises(ValueError, match=r"random_regular_graph\(d = 3\) on 5 nodes: n \* d"):
        generate("random_regular_graph", 5, {"d": 3}, seed=1)
    with pytest.raises(ValueError, match="seed is required"):
        generate("random_regular_graph", 10, {"d": 2})
    assert set(GENERATORS) >= {
        "random_regular_graph",
        "erdos_renyi_graph",
        "barabasi_albert_graph",
        "watts_strogatz_graph",
        "random_geometric_graph",
    }


# ------------------------------------------------------------------------------------ files
def test_read_graphml_keeps_attributes(tmp_path):
    g = nx.Graph()
    g.add_node("a", group="seeds", region="us-east-1")
    g.add_node("b", group="leeches", upload="1 Gbit/s")
    g.add_edge("a", "b", latency="5 ms")
    path = tmp_path / "g.graphml"
    nx.write_graphml(g, path)
    back = read_graph(path)
    assert dict(back.nodes(data=True)) == dict(g.nodes(data=True))
    assert back.edges["a", "b"]["latency"] == "5 ms"


def test_read_gml_names_nodes_by_label(tmp_path):
    path = tmp_path / "g.gml"
    path.write_text(
        'graph [\n node [ id 0 label "s" group "seeds" ]\n node [ id 1 label "l" ]\n'
        " edge [ source 0 target 1 latency 0.01 ]\n]\n"
    )
    g = read_graph(path)
    assert list(g.nodes) == ["s", "l"]
    assert g.nodes["s"]["group"] == "seeds"
    assert g.edges["s", "l"]["latency"] == 0.01


def test_read_edgelist(tmp_path):
    path = tmp_path / "line.edgelist"
    path.write_text("# a line\ns a 10 ms\na b  # no latency\nb c 0.02\n")
    g = read_graph(path)
    assert list(g.nodes) == ["s", "a", "b", "c"]
    assert g.edges["s", "a"]["latency"] == "10 ms"
    assert "latency" not in g.edges["a", "b"]
    assert g.edges["b", "c"]["latency"] == 0.02


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a a\n", "connected to itself"),
        ("a b\nb a\n", "connected twice"),
        ("a\n", "want 'a b'"),
    ],
)
def test_bad_edgelists(tmp_path, text, problem):
    path = tmp_path / "bad.edges"
    path.write_text(text)
    with pytest.raises(ValueError, match=problem):
        read_graph(path)


def test_graph_formats(tmp_path):
    assert graph_format("x.graphml") == "graphml"
    assert graph_format("x.txt") == "edgelist"
    assert graph_format("x.data", "gml") == "gml"
    with pytest.raises(ValueError, match=re.escape("format = graphml | gml | edgelist")):
        graph_format("x.data")
    with pytest.raises(ValueError, match="cannot read"):
        read_graph(tmp_path / "missing.graphml")
    (tmp_path / "broken.graphml").write_text("<graphml><oops")
    with pytest.raises(ValueError, match="not a valid graphml file"):
        read_graph(tmp_path / "broken.graphml")


# ------------------------------------------------------------------------------------ placing
GROUPS = {"seeds": ["s0"], "leeches": ["l0", "l1"]}


def test_place_in_order_random_and_by_attribute():
    nodes = ["n0", "n1", "n2"]
    assert place(nodes, GROUPS) == {"n0": "s0", "n1": "l0", "n2": "l1"}
    one = place(nodes, GROUPS, "random", seed=RunRandom(1))
    assert sorted(one.values()) == ["l0", "l1", "s0"]
    assert one == place(nodes, GROUPS, "random", seed=RunRandom(1))
    assert any(place(nodes, GROUPS, "random", seed=RunRandom(s)) != one for s in range(2, 6))
    labels = {"n0": "leeches", "n1": "seeds", "n2": "leeches"}
    assert place(nodes, GROUPS, "attribute", labels=labels) == {"n0": "l0", "n1": "s0", "n2": "l1"}


@pytest.mark.parametrize(
    ("nodes", "labels", "problem"),
    [
        (["n0", "n1"], {}, "2 nodes and the groups 3 peers"),
        (["n0", "n1", "n2"], {"n0": "seeds", "n1": "leeches"}, "node 'n2' has no group label"),
        (["n0", "n1", "n2"], {"n0": "seeds", "n1": "x", "n2": "leeches"}, "unknown group 'x'"),
        (
            ["n0", "n1", "n2"],
            {"n0": "seeds", "n1": "seeds", "n2": "leeches"},
            "group 'seeds' has 1 peers and the graph 2 nodes",
        ),
    ],
)
def test_place_errors(nodes, labels, problem):
    with pytest.raises(ValueError, match=problem):
        place(nodes, GROUPS, "attribute", labels=labels)


def test_connect_at_least_k_targets():
    g = nx.path_graph(["s0", "s1", "s2", "a", "b", "c"])
    added = connect_at_least(g, ["a", "b", "c"], ["s0", "s1", "s2"], 2, seed=RunRandom(1))
    for leech in ("a", "b", "c"):
        assert sum(g.has_edge(leech, s) for s in ("s0", "s1", "s2")) >= 2
    assert all(e[0] in "abc" for e in added)
    g2 = nx.path_graph(["s0", "s1", "s2", "a", "b", "c"])
    assert connect_at_least(g2, ["a", "b", "c"], ["s0", "s1", "s2"], 2, seed=RunRandom(1)) == added
    assert connect_at_least(nx.Graph([("a", "s0")]), ["a"], ["s0"], 1, seed=1) == []
    g3 = nx.Graph()
    g3.add_nodes_from(["a", "s0"])
    assert connect_at_least(g3, ["a"], ["s0"], 5, seed=1) == [("a", "s0")]  # all there are


def test_reachable_goes_only_through_allowed_nodes():
    """s - a - b - c and s - x - d: from s through {a, b, d}, c is never entered (not allowed)
    and d is cut off behind x; a source need not be allowed itself."""
    g = nx.Graph([("s", "a"), ("a", "b"), ("b", "c"), ("s", "x"), ("x", "d")])
    assert reachable(g.neighbors, ["s"], {"a", "b", "d"}) == {"s", "a", "b"}
    assert reachable(g.neighbors, ["s", "d"], {"a"}) == {"s", "a", "d"}
    assert reachable(g.neighbors, [], {"a"}) == set()
