"""Topologies in a scenario: ``network.topology`` as a generator or a graph file, and the
connection manager a group may run.

``network.topology`` is ``"full-mesh"``, ``"region-mesh"`` or a table:

* ``{ generator = "<networkx generator>", <its parameters> }``: one of
  :data:`sim.topology.GENERATORS` on as many nodes as the scenario has peers, drawn from the
  run's ``"topology"`` stream (so the same seed gives the same graph, and every strategy and
  sweep point of a replicate sees it);
* ``{ file = "<path>" }``: a GraphML, GML or edge-list file (``format``, else its suffix),
  relative to the scenario file. Node attributes ``group``, ``region``, ``upload`` and
  ``download`` (bandwidths as in a scenario: a string with a unit, or bits per second) and the
  edge attribute ``latency`` (a duration, or seconds) are read; others (a drawing tool's
  ``x``, ``y``, ``label``) are ignored.

Either may say how peers are placed on the nodes (``placement``: ``in-order``, ``random``,
``attribute``, with ``group_attribute``) and ask that every leech be connected to at least
``seeds_per_leech`` peers seeding its object. The table's shape is read with the rest of
``[network]`` (:func:`parse_topology`); what depends on the groups (node counts, group names,
regions, whether every leech can reach a seed) once they are read (:func:`check_topology`).
Every key and default is documented in ``docs/scenarios.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from experiments.scenario.errors import ScenarioError
from experiments.scenario.specs import (
    TOPOLOGIES,
    ConnManagerSpec,
    GraphNode,
    GraphSpec,
    GroupSpec,
    NetworkSpec,
)
from experiments.scenario.table import Table
from sim.latency import LatencyModel, RegionMatrixLatency
from sim.rng import RunRandom
from sim.topology import (
    GENERATORS,
    PLACEMENTS,
    generate,
    graph_format,
    place,
    reachable,
    read_graph,
)
from sim.units import parse_bandwidth, parse_duration

__all__ = [
    "CONNMGR_KEYS",
    "FILE_KEYS",
    "GRAPH_KEYS",
    "check_topology",
    "connmgr_dict",
    "graph_dict",
    "parse_connection_manager",
    "parse_topology",
]

GRAPH_KEYS = ("placement", "seeds_per_leech")
"""Keys of a topology table besides ``generator`` and its parameters, or ``file``."""
FILE_KEYS = ("format", "group_attribute")
"""Keys only a file topology takes."""
CONNMGR_KEYS = ("low_water", "high_water", "grace_period", "trim_interval")
"""Keys of a group's ``connection_manager`` table."""

DEFAULT_CONNMGR = ConnManagerSpec(low_water=600, high_water=900, grace_period_s=20.0)
"""go-ipfs's defaults for ``Swarm.ConnMgr`` (go-ipfs-config ``init.go``:
``DefaultConnMgrLowWater`` 600, ``DefaultConnMgrHighWater`` 900, ``DefaultConnMgrGracePeriod``
20 s), with v0.2.1's one-minute ticker."""


# ----------------------------------------------------------------------------- reading
def parse_topology(t: Table, source: str) -> tuple[str, GraphSpec | None]:
    """``network.topology`` of the ``[network]`` table ``t``: ``(topology, graph)``, topology
    ``"full-mesh"``, ``"region-mesh"`` or ``"graph"`` (then with its :class:`GraphSpec`)."""
    value = t.get("topology", "full-mesh")
    if isinstance(value, str):
        if value not in TOPOLOGIES:
            raise t.error(
                "topology",
                f"unknown value {value!r}; allowed: {', '.join(TOPOLOGIES)}, or a table "
                "{ generator = ... } or { file = ... }",
            )
        return value, None
    if not isinstance(value, Mapping):
        raise t.error(
            "topology",
            f"must be {' or '.join(map(repr, TOPOLOGIES))} or a table {{ generator = ... }} "
            f"or {{ file = ... }}, got {value!r}",
        )
    g = Table(value, t.path_of("topology"), source)
    has_gen, has_file = g.has("generator"), g.has("file")
    if has_gen == has_file:
        raise g.error(
            "generator" if has_gen else "file",
            "give exactly one of generator = <name> or file = <path>; generators: "
            + ", ".join(GENERATORS),
        )
    spec = _generator(g) if has_gen else _file(g, source)
    seeds = g.integer("seeds_per_leech", 0, 0)
    g.done()
    return "graph", GraphSpec(
        generator=spec.generator,
        params=spec.params,
        file=spec.file,
        format=spec.format,
        nodes=spec.nodes,
        edges=spec.edges,
        placement=spec.placement,
        group_attribute=spec.group_attribute,
        seeds_per_leech=seeds,
    )


def _generator(g: Table) -> GraphSpec:
    name = g.string("generator", None, tuple(GENERATORS))
    assert name is not None
    gen = GENERATORS[name]
    placement = g.string("placement", "random", PLACEMENTS)
    if placement == "attribute":
        raise g.error(
            "placement", "'attribute' needs a graph file; allowed for a generator: in-order, random"
        )
    params: list[tuple[str, int | float]] = []
    for key, value in g.data.items():
        if key in ("generator", *GRAPH_KEYS):
            continue
        if key == "n":
            raise g.error(
                "n", "the number of nodes is the number of peers (the groups' counts); leave it out"
            )
        try:
            param = gen.param(key)
        except ValueError:
            allowed = ", ".join([*(p.name for p in gen.params), *GRAPH_KEYS])
            raise g.error(key, f"unknown parameter of {name}; allowed: {allowed}") from None
        try:
            params.append((key, param.check(value, name)))
        except ValueError as exc:
            raise g.error(key, str(exc)) from None
        g.get(key)
    for param in gen.params:
        if param.default is None and param.name not in dict(params):
            raise g.error(param.name, f"required by {name}: {param.describe()}")
    return GraphSpec(generator=name, params=tuple(params), placement=placement)


def _file(g: Table, source: str) -> GraphSpec:
    given = g.string("file")
    if not given:
        raise g.error("file", "must be the path of a graph file (relative to the scenario file)")
    path = Path(given)
    if not path.is_absolute():
        path = Path(source).parent / path
    path = path.resolve()
    try:
        fmt = graph_format(path, g.string("format"))
    except ValueError as exc:
        raise g.error("format", str(exc)) from None
    try:
        graph = read_graph(path, fmt)
    except ValueError as exc:
        raise g.error("file", str(exc)) from None
    attribute = g.string("group_attribute", "group")
    assert attribute is not None
    labelled = any(attribute in a for _, a in graph.nodes(data=True))
    placement = g.string("placement", "attribute" if labelled else "in-order", PLACEMENTS)
    field = g.path_of("file")
    nodes = tuple(_node(str(v), a, attribute, field, source) for v, a in graph.nodes(data=True))
    edges = tuple(
        (str(a), str(b), _latency(d.get("latency"), f"{field}: edge {a!r}-{b!r}", source))
        for a, b, d in graph.edges(data=True)
    )
    return GraphSpec(
        file=str(path),
        format=fmt,
        nodes=nodes,
        edges=edges,
        placement=placement,
        group_attribute=attribute,
    )


def _node(
    name: str, attrs: Mapping[str, Any], attribute: str, field: str, source: str
) -> GraphNode:
    where = f"{field}: node {name!r}"
    group = attrs.get(attribute)
    region = attrs.get("region")
    for key, value in ((attribute, group), ("region", region)):
        if value is not None and not isinstance(value, str):
            raise ScenarioError(f"{source}: {where}: {key} must be a string, got {value!r}")
    rates = {}
    for key in ("upload", "download"):
        value = attrs.get(key)
        if value is not None:
            try:
                rates[key] = parse_bandwidth(value, field=f"{where}: {key}")
            except ValueError as exc:
                raise ScenarioError(f"{source}: {exc}") from None
    return GraphNode(name, group, region, rates.get("upload"), rates.get("download"))


def _latency(value: object, where: str, source: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value, field=f"{where}: latency")
    except ValueError as exc:
        raise ScenarioError(f"{source}: {exc}") from None


def parse_connection_manager(t: Table) -> ConnManagerSpec | None:
    """A group's ``connection_manager`` table (None if absent); ``{}`` is go-ipfs's
    defaults."""
    value = t.get("connection_manager")
    if value is None:
        return None
    c = Table(value, t.path_of("connection_manager"), t.source)
    d = DEFAULT_CONNMGR
    low = c.integer("low_water", d.low_water, 0)
    high = c.integer("high_water", d.high_water, 1)
    grace = c.duration("grace_period", d.grace_period_s)
    interval = c.duration("trim_interval", d.trim_interval_s)
    c.done()
    if low > high:
        raise c.error("low_water", f"must be <= high_water ({high}), got {low}")
    if interval <= 0:
        raise c.error("trim_interval", "must be > 0 seconds")
    return ConnManagerSpec(low, high, grace, interval)


# ----------------------------------------------------------------------------- checking
def check_topology(network: NetworkSpec, groups: tuple[GroupSpec, ...], source: str) -> None:
    """What a graph topology must agree on with the groups: the generator works on as many
    nodes as there are peers; a file has one node per peer, known group names and regions;
    ``seeds_per_leech`` has seeds to connect to; and, where the graph is the same in every run
    (a file, or a generator that draws nothing, placed in order or by attribute), every leech
    whose routing is ``nil`` can reach a peer seeding its object through peers that fetch or
    seed it."""
    graph = network.graph
    if graph is None:
        return
    field = "network.topology"
    members = {g.name: g.members() for g in groups}
    n = sum(len(m) for m in members.values())
    if graph.generator is not None:
        try:
            built = generate(graph.generator, n, dict(graph.params), seed=RunRandom(0))
        except ValueError as exc:
            raise ScenarioError(f"{source}: {field}: {exc}") from None
        deterministic = not GENERATORS[graph.generator].seeded
    else:
        built = nx.Graph()
        built.add_nodes_from(node.name for node in graph.nodes)
        built.add_edges_from((a, b) for a, b, _ in graph.edges)
        deterministic = True
        _check_regions(graph, network.latency, source)
    nodes = list(built.nodes)
    labels = {node.name: node.group for node in graph.nodes}
    try:
        if graph.placement == "random":
            place(nodes, members, "random", seed=RunRandom(0))
            return _check_seeds(graph, groups, source)
        peer_of = place(nodes, members, graph.placement, labels=labels)
    except ValueError as exc:
        key = f"{field}.file" if graph.file is not None else field
        raise ScenarioError(f"{source}: {key}: {exc}") from None
    _check_seeds(graph, groups, source)
    if deterministic and graph.seeds_per_leech == 0:
        _check_reachable(nx.relabel_nodes(built, peer_of), peer_of, groups, source)


def _check_regions(graph: GraphSpec, latency: LatencyModel, source: str) -> None:
    if not isinstance(latency, RegionMatrixLatency):
        return
    for node in graph.nodes:
        if node.region is not None and node.region not in latency.regions:
            raise ScenarioError(
                f"{source}: network.topology.file: node {node.name!r}: unknown region "
                f"{node.region!r}; allowed: {', '.join(latency.regions)}"
            )


def _seeders(groups: tuple[GroupSpec, ...], obj: str) -> list[str]:
    return [m for g in groups if any(h.object == obj for h in g.seed_objects) for m in g.members()]


def _check_seeds(graph: GraphSpec, groups: tuple[GroupSpec, ...], source: str) -> None:
    k = graph.seeds_per_leech
    if k == 0:
        return
    for g in groups:
        if g.fetch is None:
            continue
        seeds = [s for s in _seeders(groups, g.fetch.object) if s not in g.members()]
        if len(seeds) < k:
            raise ScenarioError(
                f"{source}: network.topology.seeds_per_leech: group {g.name!r} fetches "
                f"{g.fetch.object!r}, which {len(seeds)} peers of other groups seed; allowed: "
                f"at most {len(seeds)}"
            )


def _check_reachable(
    built: nx.Graph, peer_of: Mapping[Any, Any], groups: tuple[GroupSpec, ...], source: str
) -> None:
    node_of = {p: v for v, p in peer_of.items()}
    for g in groups:
        if g.fetch is None or g.routing != "nil":
            continue
        obj = g.fetch.object
        seeds = _seeders(groups, obj)
        relay = set(seeds) | {
            m for h in groups if h.fetch is not None and h.fetch.object == obj for m in h.members()
        }
        reached = reachable(built.neighbors, seeds, relay)
        for m in g.members():
            if m not in reached:
                raise ScenarioError(
                    f"{source}: network.topology: leech {m!r} (node {node_of[m]!r}) cannot "
                    f"reach a peer seeding {obj!r} (no path through peers that fetch or seed "
                    f"it) and its group's routing is 'nil'; allowed: a graph where it can, "
                    f"routing = 'dht', or seeds_per_leech >= 1"
                )


# ----------------------------------------------------------------------------- writing
def graph_dict(graph: GraphSpec) -> dict[str, Any]:
    """``graph`` as the TOML table that parses back to it."""
    out: dict[str, Any]
    if graph.generator is not None:
        out = {"generator": graph.generator, **dict(graph.params)}
    else:
        out = {"file": graph.file, "format": graph.format, "group_attribute": graph.group_attribute}
    return out | {"placement": graph.placement, "seeds_per_leech": graph.seeds_per_leech}


def connmgr_dict(spec: ConnManagerSpec) -> dict[str, Any]:
    """``spec`` as the TOML table that parses back to it."""
    return {
        "low_water": spec.low_water,
        "high_water": spec.high_water,
        "grace_period": spec.grace_period_s,
        "trim_interval": spec.trim_interval_s,
    }
