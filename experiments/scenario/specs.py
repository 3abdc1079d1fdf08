"""What a scenario is: validated, frozen dataclasses, and the values their fields may take.

Shaped after p2plab's cluster and scenario definitions (``metadata/cluster.go`` and
``metadata/scenario.go`` in github.com/Netflix/p2plab; summarised in
``docs/reference/scenarios.md``): named groups of peers with a size, a region and an instance
class, objects, which groups seed which objects and which fetch them; plus the faults of a run.
Every field, its default and its unit is documented in ``docs/scenarios.md``;
:mod:`experiments.scenario.load` builds these from TOML, :mod:`experiments.scenario.write` writes
them back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from experiments.hosts import PRESETS, HostPreset
from experiments.scenario.limits import DEFAULT_LIMITS, Limits
from models.peer import STRATEGIES
from sim.latency import LatencyModel, RegionMatrixLatency
from sim.units import MAX_DURATION_S

__all__ = [
    "DURATION_DISTRIBUTIONS",
    "FAULT_KINDS",
    "HOLD_DISTRIBUTIONS",
    "OBJECT_TYPES",
    "ROUTINGS",
    "RUN_STRATEGIES",
    "TOPOLOGIES",
    "ConnManagerSpec",
    "Duration",
    "FaultSpec",
    "FetchSpec",
    "GraphNode",
    "GraphSpec",
    "GroupSpec",
    "HoldSpec",
    "NetworkSpec",
    "ObjectSpec",
    "RegistrySpec",
    "Scenario",
    "block_count",
]

RUN_STRATEGIES = (*STRATEGIES, "registry")
"""What a group's ``strategy`` may be: a Bitswap strategy, or ``registry`` (the baseline)."""
OBJECT_TYPES = ("file", "oci-image", "blocks")
"""What an object's ``type`` may be."""
TOPOLOGIES = ("full-mesh", "region-mesh")
"""What ``network.topology`` may be as a string; a table (a generator or a file) is a
:class:`GraphSpec`, and ``NetworkSpec.topology`` is then ``"graph"``."""
ROUTINGS = ("nil", "dht")
"""What a group's ``routing`` may be."""
HOLD_DISTRIBUTIONS = ("all", "one-random-member")
"""What a held object's ``distribute`` may be (:attr:`HoldSpec.distribute`)."""


# --------------------------------------------------------------------------------- scenario
@dataclass(frozen=True)
class ObjectSpec:
    """Content to seed and fetch. Sizes in bytes."""

    name: str
    type: str
    size_bytes: int = 0
    """``file``: the file's size."""
    chunk_bytes: int = 262_144
    """``file``, ``oci-image``: unixfs chunk (leaf) size."""
    max_links: int = 174
    """``file``, ``oci-image``: links per internal node (go-unixfs default)."""
    layers: tuple[int, ...] = ()
    """``oci-image``: layer sizes."""
    config_bytes: int = 6000
    """``oci-image``: the image config blob."""
    count: int = 0
    """``blocks``: number of blocks (the first is the "root")."""
    block_bytes: int = 8000
    """``blocks``: size of every block but the first."""
    root_bytes: int = 800
    """``blocks``: size of the first block."""


@dataclass(frozen=True)
class HoldSpec:
    """Which blocks of an object a group holds before the run (indices in the object's block
    order: root first, then depth-first)."""

    object: str
    start: int = 0
    stop: int | None = None
    """Block index range [start, stop); ``None``: to the end."""
    every: int = 1
    offset: int = 0
    """Every ``every``-th block of the range, starting at ``offset``."""
    distribute: str = "all"
    """``all``: every member holds them; ``one-random-member``: each block on one member drawn
    at random (the go benchmarks' OnePeerPerBlock)."""


@dataclass(frozen=True)
class FetchSpec:
    """What a group fetches, how, and when (seconds)."""

    object: str
    pattern: str = "dag-walk"
    start_s: float = 0.0
    stagger_s: float = 0.0
    """Member i starts at ``start_s + i * stagger_s`` (Testground's request_stagger)."""


@dataclass(frozen=True)
class GroupSpec:
    """``count`` peers named ``<name>-<i>``. Bandwidth in bytes/s; latency in seconds."""

    name: str
    count: int = 1
    strategy: str = "poc"
    region: str | None = None
    upload_Bps: float = math.inf
    download_Bps: float = math.inf
    blockstore_latency_s: float = 0.0
    routing: str = "nil"
    dht_lookup_delay_s: float = 1.0
    seed_objects: tuple[HoldSpec, ...] = ()
    fetch: FetchSpec | None = None
    host: HostPreset = PRESETS["ideal"]
    """The machine its members run on: a preset of :mod:`experiments.hosts` or a host the
    scenario defines (``host.name`` is what the file names)."""
    connection_manager: ConnManagerSpec | None = None
    """go-ipfs's connection manager on each member (None: connections are never trimmed)."""

    def members(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(self.count)]


@dataclass(frozen=True)
class ConnManagerSpec:
    """go-libp2p-connmgr's basic connection manager (``connmgr.go@v0.2.1``), as go-ipfs
    configures it (``Swarm.ConnMgr``): above ``high_water`` connections, a trim closes the
    least valuable ones (Bitswap's tags) down to ``low_water``, sparing those younger than
    ``grace_period_s``; trims are checked every ``trim_interval_s`` (a minute in v0.2.1)."""

    low_water: int
    high_water: int
    grace_period_s: float = 20.0
    trim_interval_s: float = 60.0


@dataclass(frozen=True)
class GraphNode:
    """A node of a graph read from a file, with the attributes the file gives it."""

    name: str
    group: str | None = None
    region: str | None = None
    upload_Bps: float | None = None
    download_Bps: float | None = None


@dataclass(frozen=True)
class GraphSpec:
    """A topology other than the meshes: a networkx generator by name, or a graph file.

    Peers are placed on the nodes (``placement``: ``in-order``, ``random`` from the run's
    topology stream, or ``attribute``: by the node attribute ``group_attribute``), then, if
    ``seeds_per_leech`` > 0, every leech is connected to at least that many peers seeding the
    object it fetches.
    """

    generator: str | None = None
    params: tuple[tuple[str, int | float], ...] = ()
    """The generator's parameters (the node count is the number of peers)."""
    file: str | None = None
    """The graph file (its absolute path; the scenario gives it relative to itself)."""
    format: str | None = None
    """``graphml``, ``gml`` or ``edgelist`` (``file`` only)."""
    nodes: tuple[GraphNode, ...] = ()
    """``file``: its nodes in file order, with their attributes."""
    edges: tuple[tuple[str, str, float | None], ...] = ()
    """``file``: its connections, each with its one-way latency in seconds (or None: the
    latency model's)."""
    placement: str = "random"
    group_attribute: str = "group"
    seeds_per_leech: int = 0


@dataclass(frozen=True)
class NetworkSpec:
    """The substrate: transport, latency model, topology."""

    transport: str = "fifo"
    latency: LatencyModel = field(default_factory=RegionMatrixLatency)
    latency_spec: Mapping[str, Any] = field(default_factory=lambda: {"model": "region-matrix"})
    topology: str = "full-mesh"
    inter_region: str | int = "full"
    cid_version: int = 1
    jitter: float = 0.0
    priority_lane: bool = False
    """fifo: wants, HAVEs, DONT_HAVEs and cancels skip the queue behind blocks."""
    rate_Bps: float | None = None
    rate_sigma_Bps: float = 0.0
    """go-testnet: per-pair token-bucket rate (None: min of the two peers' bandwidths)."""
    graph: GraphSpec | None = None
    """The generated or file graph when ``topology`` is ``"graph"``."""


@dataclass(frozen=True)
class RegistrySpec:
    """The registry baseline's server (a CDN edge)."""

    region: str | None = None
    upload_Bps: float = math.inf
    connections: int = 3


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``raw`` is the TOML table it came from (after sweep overrides)."""

    name: str
    seed: int = 1
    replications: int = 1
    max_sim_time_s: float = 3600.0
    network: NetworkSpec = field(default_factory=NetworkSpec)
    objects: tuple[ObjectSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()
    strategy_configs: Mapping[str, Any] = field(default_factory=dict)
    """Strategy name -> its config dataclass, with the file's overrides applied."""
    registry: RegistrySpec = field(default_factory=RegistrySpec)
    faults: tuple[FaultSpec, ...] = ()
    """What goes wrong during the run (scheduled by :mod:`experiments.faults`)."""
    sweep: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    hosts: Mapping[str, HostPreset] = field(default_factory=dict)
    """The hosts the file defines (``[hosts.<name>]``), by name; presets are not listed."""
    source: str = "<scenario>"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    limits: Limits | None = field(default=DEFAULT_LIMITS, repr=False, compare=False)
    """What it was checked against (:mod:`experiments.scenario.limits`); ``None``: no limits
    (``--allow-large``). Its sweep points and :meth:`with_replications` are checked alike."""

    def object(self, name: str) -> ObjectSpec:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(name)

    @property
    def strategies(self) -> list[str]:
        """The strategies its groups use, in group order."""
        return list(dict.fromkeys(g.strategy for g in self.groups))

    @property
    def strategy_label(self) -> str:
        s = self.strategies
        return s[0] if len(s) == 1 else "mixed"

    def with_replications(self, n: int) -> Scenario:
        """The scenario with ``n`` replications (checked: a whole number >= 1, and the runs
        within :attr:`limits`)."""
        from experiments.scenario.cost import check_replications

        return replace(self, replications=check_replications(self, n))


def _file_blocks(size_bytes: int, chunk_bytes: int, max_links: int) -> int:
    """Blocks of a balanced unixfs file: its leaves (one for an empty file), then levels of
    parents of up to ``max_links`` children each, until one root."""
    level = max(1, -(-size_bytes // chunk_bytes))
    total = level
    while level > 1:
        level = -(-level // max_links)
        total += level
    return total


def block_count(spec: ObjectSpec) -> int:
    """Number of blocks of an object: what ``len(dag.cids_in_order)`` of the DAG a run builds
    (``models.dag``) is, counted by arithmetic, so a huge object costs nothing to count."""
    if spec.type == "file":
        return _file_blocks(spec.size_bytes, spec.chunk_bytes, spec.max_links)
    if spec.type == "oci-image":
        blobs = (spec.config_bytes, *spec.layers)
        return 1 + sum(_file_blocks(b, spec.chunk_bytes, spec.max_links) for b in blobs)
    return spec.count


# --------------------------------------------------------------------------------- faults
FAULT_KINDS = ("churn", "link", "partition", "slow")
"""What a fault's ``kind`` may be."""

DURATION_DISTRIBUTIONS: dict[str, tuple[tuple[str, bool], ...]] = {
    "fixed": (("value", True),),
    "exponential": (("mean", True),),
    "weibull": (("shape", False), ("scale", True)),
    "pareto": (("shape", False), ("scale", True)),
    "lognormal": (("median", True), ("sigma", False)),
    "uniform": (("low", True), ("high", True)),
}
"""Distribution name -> its parameters, each (name, is a duration). Durations are seconds (or
strings with a unit); ``shape`` and ``sigma`` are plain numbers > 0. ``pareto`` has support
``x >= scale``; ``lognormal`` is ``exp(Normal(log median, sigma))``."""


@dataclass(frozen=True)
class Duration:
    """A time in seconds: fixed, or drawn from a distribution each time it is needed."""

    dist: str
    params: tuple[tuple[str, float], ...]

    def draw(self, rng: np.random.Generator) -> float:
        """One value in seconds, from numpy's generator (``pareto`` is numpy's Lomax shifted to
        the classical Pareto: ``scale * (1 + Lomax(shape))``), clipped to [0,
        :data:`~sim.units.MAX_DURATION_S`] (a heavy tail may draw an overflow)."""
        p = dict(self.params)
        if self.dist == "fixed":
            return p["value"]
        if self.dist == "exponential":
            x = rng.exponential(p["mean"])
        elif self.dist == "weibull":
            x = p["scale"] * rng.weibull(p["shape"])
        elif self.dist == "pareto":
            x = p["scale"] * (1.0 + rng.pareto(p["shape"]))
        elif self.dist == "lognormal":
            x = rng.lognormal(math.log(p["median"]), p["sigma"])
        else:
            x = rng.uniform(p["low"], p["high"])
        return min(MAX_DURATION_S, max(0.0, float(x)))


@dataclass(frozen=True)
class FaultSpec:
    """One ``[[faults]]`` table. Times in seconds from the start of the run.

    Four kinds (every field is documented in ``docs/scenarios.md``):

    * ``churn``: peers (``peers = [...]``, or a ``fraction`` of a ``group``) leave at ``at`` or
      after an ``uptime`` (a fixed time or a distribution, drawn per peer) and come back after a
      ``duration`` (likewise); with ``uptime`` and ``duration`` they keep alternating. Without a
      ``duration`` they leave for good, and the run stops waiting for their fetches.
    * ``link``: the connection between peers ``a`` and ``b`` is cut at ``at`` for ``duration``.
    * ``partition``: every connection between two ``regions`` (or two ``groups``) is cut at
      ``at`` for ``duration``.
    * ``slow``: peers' bandwidth times ``bandwidth_factor`` and their connections' latency plus
      ``added_latency`` from ``at`` for ``duration``.

    A ``duration`` left out means "until the run ends".
    """

    name: str
    kind: str
    peers: tuple[str, ...] = ()
    group: str | None = None
    fraction: float = 1.0
    at_s: float | None = None
    uptime: Duration | None = None
    duration: Duration | None = None
    a: str | None = None
    b: str | None = None
    regions: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    bandwidth_factor: float = 1.0
    added_latency_s: float = 0.0
