"""Topology builders: networkx graphs of peers, and the :class:`Network` built from one.

A topology is a plain undirected ``networkx.Graph``: node = peer with optional attributes
``upload_Bps``, ``download_Bps`` (bytes/s, or strings with units) and ``region``; edge =
connection, with an optional ``latency_s`` (one-way seconds, both directions). Any networkx
graph works; messages only travel along its edges. Builders that draw randomness take
``seed=`` (an int, a :class:`~sim.rng.RunRandom` or a numpy ``Generator``), like networkx.

Besides the meshes, a graph can come from a networkx generator called by name
(:data:`GENERATORS`, :func:`generate`) or from a file (:func:`read_graph`: GraphML, GML or an
edge list); :func:`place` puts named groups of peers on its nodes and
:func:`connect_at_least` adds the edges a rule such as "every leech has k seeds as neighbours"
asks for; :func:`reachable` says which nodes a set of sources reaches through allowed nodes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Container, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from sim.host import Host, HostSpec
from sim.latency import LatencyModel
from sim.network import Network
from sim.rng import RunRandom, as_generator
from sim.transports import Transport

__all__ = [
    "GENERATORS",
    "GRAPH_FORMATS",
    "PLACEMENTS",
    "Generator",
    "GeneratorParam",
    "build_network",
    "connect_at_least",
    "full_mesh",
    "generate",
    "graph_format",
    "place",
    "reachable",
    "read_graph",
    "region_meshes",
]

NodeSpec = Iterable[Hashable] | Mapping[Hashable, Mapping[str, Any]]


def _add_nodes(graph: nx.Graph, nodes: NodeSpec, defaults: Mapping[str, Any]) -> list[Hashable]:
    names = []
    items: Iterable[tuple[Hashable, Mapping[str, Any]]] = (
        nodes.items() if isinstance(nodes, Mapping) else ((n, {}) for n in nodes)
    )
    for name, attrs in items:
        if name in graph:
            raise ValueError(f"node {name!r} is listed twice")
        graph.add_node(name, **{**defaults, **attrs})
        names.append(name)
    return names


def full_mesh(
    nodes: NodeSpec,
    *,
    upload_Bps: float | str = math.inf,
    download_Bps: float | str = math.inf,
    region: str | None = None,
) -> nx.Graph:
    """Every peer connected to every other (what p2plab and the go benchmarks use).

    ``nodes``: peer names, or a mapping name -> attributes overriding the defaults given here.
    """
    graph = nx.Graph()
    names = _add_nodes(
        graph, nodes, {"upload_Bps": upload_Bps, "download_Bps": download_Bps, "region": region}
    )
    graph.add_edges_from(itertools.combinations(names, 2))
    return graph


def region_meshes(
    regions: Mapping[str, NodeSpec],
    *,
    inter_region: str | int = "full",
    upload_Bps: float | str = math.inf,
    download_Bps: float | str = math.inf,
    seed: int | RunRandom | np.random.Generator | None = None,
) -> nx.Graph:
    """One full mesh per region; regions joined as ``inter_region`` says.

    Args:
        regions: region name -> its peers (names, or name -> attributes).
        inter_region: ``"full"`` connects every pair of peers across regions too; ``"none"``
            leaves regions apart; an int ``k >= 1`` picks ``k`` gateway peers per region at
            random (``seed`` needed) and fully connects the gateways of different regions.
        seed: randomness for the gateway choice.
    """
    graph = nx.Graph()
    members: dict[str, list[Hashable]] = {}
    for region, nodes in regions.items():
        names = _add_nodes(
            graph, nodes, {"upload_Bps": upload_Bps, "download_Bps": download_Bps, "region": region}
        )
        if not names:
            raise ValueError(f"region {region!r} has no peers")
        graph.add_edges_from(itertools.combinations(names, 2))
        members[region] = names
    if inter_region == "full":
        bridges = members
    elif inter_region == "none":
        return graph
    elif isinstance(inter_region, int) and not isinstance(inter_region, bool) and inter_region >= 1:
        rng = as_generator(seed, "topology")
        bridges = {}
        for region, names in members.items():
            k = min(inter_region, len(names))
            picks = rng.choice(len(names), size=k, replace=False)
            bridges[region] = [names[i] for i in sorted(picks)]
    else:
        raise ValueError(
            f"inter_region must be 'full', 'none' or a whole number of gateways >= 1, "
            f"got {inter_region!r}"
        )
    for ra, rb in itertools.combinations(bridges, 2):
        graph.add_edges_from(itertools.product(bridges[ra], bridges[rb]))
    return graph


def build_network(
    graph: nx.Graph,
    *,
    transport: str | Transport = "fifo",
    latency: LatencyModel | None = None,
    seed: int | RunRandom = 0,
    trace: bool = False,
    jitter: float = 0.0,
    hosts: Mapping[Hashable, HostSpec | Host] | None = None,
) -> Network:
    """A :class:`Network` with ``graph``'s peers and connections.

    ``hosts`` gives nodes a host (:meth:`Network.add_node`'s ``host``): a
    :class:`~sim.host.HostSpec` is a machine of the node's own, one :class:`~sim.host.Host`
    given to several nodes is one machine they share. Nodes it leaves out have none.

    Each connection's one-way latency comes from the edge's ``latency_s`` attribute if it has
    one, else from ``latency`` (drawn per direction from the run's ``"latency"`` stream);
    a connection with neither is an error. A directed graph is read as its undirected
    connections.
    """
    if not isinstance(graph, nx.Graph):
        raise ValueError(f"graph must be a networkx graph, got {type(graph).__name__}")
    if graph.is_directed():
        graph = graph.to_undirected()
    if graph.number_of_nodes() == 0:
        raise ValueError("the topology has no peers")
    net = Network(transport, seed=seed, trace=trace, jitter=jitter)
    for name, attrs in graph.nodes(data=True):
        unknown = set(attrs) - {"upload_Bps", "download_Bps", "region"}
        if unknown:
            raise ValueError(
                f"node {name!r} has unknown attribute(s) {sorted(unknown)}; "
                "allowed: upload_Bps, download_Bps, region"
            )
        host: dict[str, Any] = {"host": hosts[name]} if hosts and name in hosts else {}
        net.add_node(
            name,
            upload_Bps=_or_inf(attrs.get("upload_Bps")),
            download_Bps=_or_inf(attrs.get("download_Bps")),
            region=attrs.get("region"),
            **host,
        )
    rng = net.random.stream("latency")
    for a, b, attrs in graph.edges(data=True):
        if "latency_s" in attrs:
            net.connect(a, b, latency_s=attrs["latency_s"])
            continue
        if latency is None:
            raise ValueError(
                f"no latency for connected pair {a!r}-{b!r}: give the edge a latency_s "
                "attribute or pass a latency model"
            )
        ra, rb = graph.nodes[a].get("region"), graph.nodes[b].get("region")
        net.connect(
            a,
            b,
            latency_s=latency.one_way_s(a, b, ra, rb, rng),
            latency_ba_s=latency.one_way_s(b, a, rb, ra, rng),
        )
    return net


def _or_inf(value: Any) -> Any:
    return math.inf if value is None else value


# ---------------------------------------------------------------------- generated graphs
@dataclass(frozen=True)
class GeneratorParam:
    """One parameter of a :class:`Generator`: a whole number (``integer``) or a real number,
    in ``[minimum, maximum]``; ``default`` None means required."""

    name: str
    integer: bool
    minimum: float
    maximum: float = math.inf
    default: float | None = None

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        upper = "" if math.isinf(self.maximum) else f" and <= {self.maximum:g}"
        return f"{kind} >= {self.minimum:g}{upper}"

    def check(self, value: object, generator: str) -> int | float:
        """``value`` if it fits, else a ``ValueError`` naming the parameter and what it
        takes."""
        ok = not isinstance(value, bool) and (
            isinstance(value, int) if self.integer else isinstance(value, int | float)
        )
        if ok and self.minimum <= value <= self.maximum:  # type: ignore[operator]
            return value if self.integer else float(value)  # type: ignore[arg-type,return-value]
        raise ValueError(
            f"parameter {self.name!r} of {generator} must be {self.describe()}, got {value!r}"
        )


@dataclass(frozen=True)
class Generator:
    """A networkx graph generator called by name: ``function(n=<peers>, **params, seed=...)``
    (``seeded``: it draws randomness, from the run's ``"topology"`` stream). ``nodes(n)`` is
    the node count argument for ``n`` peers (``star_graph(n)`` has n + 1 nodes)."""

    name: str
    params: tuple[GeneratorParam, ...]
    seeded: bool = True
    nodes: Callable[[int], int] = int

    def param(self, name: str) -> GeneratorParam:
        for p in self.params:
            if p.name == name:
                return p
        raise ValueError(
            f"unknown parameter {name!r} of {self.name}; allowed: {self.allowed() or '(none)'}"
        )

    def allowed(self) -> str:
        return ", ".join(p.name for p in self.params)


def _p(
    name: str,
    integer: bool,
    minimum: float,
    maximum: float = math.inf,
    default: float | None = None,
) -> GeneratorParam:
    return GeneratorParam(name, integer, minimum, maximum, default)


_PROB = {"minimum": 0.0, "maximum": 1.0}

GENERATORS: Mapping[str, Generator] = {
    g.name: g
    for g in (
        Generator("random_regular_graph", (_p("d", True, 0),)),
        Generator("erdos_renyi_graph", (_p("p", False, **_PROB),)),
        Generator("gnm_random_graph", (_p("m", True, 0),)),
        Generator("barabasi_albert_graph", (_p("m", True, 1),)),
        Generator("powerlaw_cluster_graph", (_p("m", True, 1), _p("p", False, **_PROB))),
        Generator("watts_strogatz_graph", (_p("k", True, 0), _p("p", False, **_PROB))),
        Generator("newman_watts_strogatz_graph", (_p("k", True, 0), _p("p", False, **_PROB))),
        Generator(
            "connected_watts_strogatz_graph",
            (_p("k", True, 0), _p("p", False, **_PROB), _p("tries", True, 1, default=100)),
        ),
        Generator(
            "random_geometric_graph",
            (_p("radius", False, 0), _p("dim", True, 1, default=2), _p("p", False, 1, default=2)),
        ),
        Generator(
            "waxman_graph",
            (_p("beta", False, 0, 1, default=0.4), _p("alpha", False, 0, 1, default=0.1)),
        ),
        Generator("complete_graph", (), seeded=False),
        Generator("cycle_graph", (), seeded=False),
        Generator("path_graph", (), seeded=False),
        Generator("star_graph", (), seeded=False, nodes=lambda n: n - 1),
    )
}
"""The networkx generators a scenario can name, with their parameters (besides the node count
and the seed, which the run supplies)."""


def generate(
    name: str,
    n: int,
    params: Mapping[str, Any] | None = None,
    *,
    seed: int | RunRandom | np.random.Generator | None = None,
) -> nx.Graph:
    """Graph ``name`` of :data:`GENERATORS` on ``n`` nodes (``0 .. n-1``, no attributes), its
    randomness from ``seed`` (stream ``"topology"`` of an int or a ``RunRandom``; a numpy
    ``Generator`` is handed to networkx as is). Unknown generators or parameters, values out
    of range and graphs networkx refuses (``random_regular_graph`` with ``n * d`` odd) raise a
    ``ValueError`` naming what is allowed."""
    gen = GENERATORS.get(name)
    if gen is None:
        raise ValueError(f"unknown generator {name!r}; allowed: {', '.join(GENERATORS)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"a graph needs a whole number of nodes >= 1, got {n!r}")
    given = dict(params or {})
    kwargs: dict[str, Any] = {}
    for key, value in given.items():
        kwargs[key] = gen.param(key).check(value, name)
    for p in gen.params:
        if p.name not in kwargs:
            if p.default is None:
                raise ValueError(f"{name} needs parameter {p.name!r} ({p.describe()})")
            kwargs[p.name] = p.default
    if gen.seeded:
        kwargs["seed"] = as_generator(seed, "topology")
    function = getattr(nx, name)
    try:
        graph = function(n=gen.nodes(n), **kwargs)
    except (nx.NetworkXError, ValueError) as exc:
        shown = ", ".join(f"{k} = {v!r}" for k, v in kwargs.items() if k != "seed")
        raise ValueError(f"{name}({shown}) on {n} nodes: {exc}") from None
    out = nx.Graph()
    out.add_nodes_from(sorted(graph.nodes))
    out.add_edges_from(graph.edges)
    return out


# ---------------------------------------------------------------------- graphs from files
GRAPH_FORMATS = ("graphml", "gml", "edgelist")
"""File formats :func:`read_graph` reads."""

_SUFFIXES = {".graphml": "graphml", ".gml": "gml", ".edgelist": "edgelist", ".edges": "edgelist",
             ".txt": "edgelist"}  # fmt: skip


def graph_format(path: str | Path, format: str | None = None) -> str:
    """The format of ``path``: ``format`` if given, else from its suffix."""
    if format is not None:
        if format not in GRAPH_FORMATS:
            raise ValueError(
                f"unknown graph format {format!r}; allowed: {', '.join(GRAPH_FORMATS)}"
            )
        return format
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"cannot tell the format of {str(path)!r} from its suffix; name it with format = "
            f"{' | '.join(GRAPH_FORMATS)} (suffixes: {', '.join(_SUFFIXES)})"
        )
    return _SUFFIXES[suffix]


def read_graph(path: str | Path, format: str | None = None) -> nx.Graph:
    """An undirected graph from a file: GraphML (``networkx.read_graphml``), GML
    (``networkx.read_gml``; nodes named by their ``label``, or their ``id`` without one) or an
    edge list (one connection per line, ``a b``, or ``a b <latency>`` whose value becomes the
    edge attribute ``latency``; ``#`` starts a comment; no attributes on nodes). Node names are
    strings; node and edge attributes are kept as read. A directed graph is read as its
    connections; a self-loop or a repeated connection is an error. Nothing is evaluated."""
    path = Path(path)
    fmt = graph_format(path, format)
    try:
        if fmt == "edgelist":
            graph = _read_edgelist(path)
        elif fmt == "graphml":
            graph = nx.read_graphml(path, force_multigraph=True)
        else:
            graph = nx.read_gml(path, label="id")
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except (nx.NetworkXError, ValueError, SyntaxError, KeyError) as exc:
        raise ValueError(f"{str(path)!r} is not a valid {fmt} file: {exc}") from None
    if fmt == "gml":
        graph = nx.relabel_nodes(
            graph, {v: str(a.get("label", v)) for v, a in graph.nodes(data=True)}, copy=True
        )
    return _simple(graph, path)


def _read_edgelist(path: Path) -> nx.Graph:
    graph = nx.MultiGraph()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) < 2:
            raise ValueError(f"line {number}: want 'a b' or 'a b <latency>', got {line.strip()!r}")
        attrs = {"latency": _number_or_text(" ".join(parts[2:]))} if len(parts) > 2 else {}
        graph.add_edge(parts[0], parts[1], **attrs)
    return graph


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _simple(graph: nx.Graph, path: Path) -> nx.Graph:
    out = nx.Graph()
    for v, attrs in graph.nodes(data=True):
        out.add_node(str(v), **attrs)
    for a, b, attrs in graph.edges(data=True):
        a, b = str(a), str(b)
        if a == b:
            raise ValueError(f"{str(path)!r}: node {a!r} is connected to itself")
        if out.has_edge(a, b):
            raise ValueError(f"{str(path)!r}: nodes {a!r} and {b!r} are connected twice")
        out.add_edge(a, b, **attrs)
    return out


# ---------------------------------------------------------------------- placing peers
PLACEMENTS = ("in-order", "random", "attribute")
"""How :func:`place` puts peers on a graph's nodes."""


def place(
    nodes: Sequence[Hashable],
    groups: Mapping[str, Sequence[Hashable]],
    how: str = "in-order",
    *,
    seed: int | RunRandom | np.random.Generator | None = None,
    labels: Mapping[Any, Any] | None = None,
) -> dict[Hashable, Hashable]:
    """Node -> the peer placed on it, for peers given by group (``group -> names``, in order).

    ``how``: ``"in-order"``: the groups' peers in order on ``nodes`` in order; ``"random"``:
    the same on ``nodes`` shuffled (stream ``"topology"`` of ``seed``); ``"attribute"``: each
    group's peers in order on the nodes whose label (``labels[node]``) is the group's name, in
    node order. The number of peers must equal the number of nodes (per group, with
    ``attribute``); every error names the node or the group.
    """
    peers = [p for members in groups.values() for p in members]
    if len(peers) != len(nodes):
        raise ValueError(
            f"the graph has {len(nodes)} nodes and the groups {len(peers)} peers; "
            "allowed: one node per peer"
        )
    if how == "in-order":
        return dict(zip(nodes, peers, strict=True))
    if how == "random":
        order = as_generator(seed, "topology").permutation(len(nodes))
        return {nodes[int(i)]: p for i, p in zip(order, peers, strict=True)}
    if how != "attribute":
        raise ValueError(f"unknown placement {how!r}; allowed: {', '.join(PLACEMENTS)}")
    labels = labels or {}
    by_group: dict[str, list[Hashable]] = {g: [] for g in groups}
    for node in nodes:
        label = labels.get(node)
        if label is None:
            raise ValueError(f"node {node!r} has no group label; every node needs one")
        if label not in by_group:
            raise ValueError(
                f"node {node!r} names unknown group {label!r}; allowed: {', '.join(groups)}"
            )
        by_group[str(label)].append(node)
    out: dict[Hashable, Hashable] = {}
    for group, members in groups.items():
        where = by_group[group]
        if len(where) != len(members):
            raise ValueError(
                f"group {group!r} has {len(members)} peers and the graph {len(where)} nodes "
                "labelled with it; allowed: as many nodes as peers"
            )
        out.update(zip(where, members, strict=True))
    return out


def connect_at_least(
    graph: nx.Graph,
    nodes: Iterable[Hashable],
    targets: Sequence[Hashable],
    k: int,
    *,
    seed: int | RunRandom | np.random.Generator | None = None,
) -> list[tuple[Hashable, Hashable]]:
    """Connect each of ``nodes`` (in order) to at least ``k`` of ``targets`` (or to all of
    them, if fewer): those it lacks are drawn at random (stream ``"topology"`` of ``seed``)
    from the targets it is not connected to yet, in ``targets`` order. Returns the edges added
    (also added to ``graph``)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be a whole number >= 0, got {k!r}")
    added: list[tuple[Hashable, Hashable]] = []
    if k == 0:
        return added
    rng = as_generator(seed, "topology")
    for node in nodes:
        others = [t for t in targets if t != node]
        have = sum(1 for t in others if graph.has_edge(node, t))
        need = min(k, len(others)) - have
        if need <= 0:
            continue
        free = [t for t in others if not graph.has_edge(node, t)]
        for i in sorted(rng.choice(len(free), size=need, replace=False).tolist()):
            graph.add_edge(node, free[i])
            added.append((node, free[i]))
    return added


def reachable(
    neighbors: Callable[[Hashable], Iterable[Hashable]],
    sources: Iterable[Hashable],
    through: Container[Hashable],
) -> set[Hashable]:
    """``sources`` and every node reachable from them by hops into nodes in ``through`` (a
    multi-source graph search; a source need not be in ``through``). ``neighbors`` is a
    graph's or a :class:`Network`'s: ``graph.neighbors``, ``net.neighbors``."""
    got = set(sources)
    frontier = list(got)
    while frontier:
        u = frontier.pop()
        for v in neighbors(u):
            if v not in got and v in through:
                got.add(v)
                frontier.append(v)
    return got
