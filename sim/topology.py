"""Topology builders: networkx graphs of peers, and the :class:`Network` built from one.

A topology is a plain undirected ``networkx.Graph``: node = peer with optional attributes
``upload_Bps``, ``download_Bps`` (bytes/s, or strings with units) and ``region``; edge =
connection, with an optional ``latency_s`` (one-way seconds, both directions). Any networkx
graph works; messages only travel along its edges. Builders that draw randomness take
``seed=`` (an int, a :class:`~sim.rng.RunRandom` or a numpy ``Generator``), like networkx.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np

from sim.host import Host, HostSpec
from sim.latency import LatencyModel
from sim.network import Network
from sim.rng import RunRandom, as_generator
from sim.transports import Transport

__all__ = ["build_network", "full_mesh", "region_meshes"]

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
