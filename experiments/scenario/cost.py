"""What a scenario will cost before anything is built: peers, connections, blocks, expected
events and peak memory per run, and sweep points x replications; refused above :class:`Limits`.

The estimates are upper-bound-minded rules of thumb, calibrated on this simulator (see
``docs/scenarios.md``, "Limits"): a Bitswap fetch costs about ``k`` events per leech, per
neighbour and per block (poc sends every want to every session peer: ``k = 4``; master splits
its wants: ``k = 2``), a connection about 8 KiB and 3 events to set up, and so on. They exist
to catch a scenario that would take hours, or more memory than a machine has, before it
allocates anything: a limit is a sanity check, not a promise, and ``--allow-large`` (Python:
``limits=None``) lifts it.

Every refusal is one :class:`ScenarioError` naming the field most responsible.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from experiments.scenario.errors import ScenarioError
from experiments.scenario.limits import ALLOW_LARGE, DEFAULT_LIMITS, Limits
from experiments.scenario.specs import (
    Duration,
    FaultSpec,
    GraphSpec,
    GroupSpec,
    ObjectSpec,
    Scenario,
    block_count,
)
from sim.units import brief

__all__ = [
    "DEFAULT_LIMITS",
    "SEED_MAX",
    "Cost",
    "Limits",
    "check_blocks",
    "check_cost",
    "check_replications",
    "check_runs",
    "check_seed",
    "estimate",
    "leaf_count",
    "run_arguments",
    "run_count",
]

# Rules of thumb, per unit (docs/scenarios.md, "Limits").
_EVENTS_PER_ENTRY = {
    "master": 2.0,
    "poc": 4.0,
    "poc-2020-02": 4.0,
    "poc-potential": 4.0,
    "registry": 0.0,
}
"""Events per leech x neighbour x block fetched, by strategy (every one of
:data:`~experiments.scenario.specs.RUN_STRATEGIES`)."""
_BYTES_PER_ENTRY = {
    "master": 150.0,
    "poc": 300.0,
    "poc-2020-02": 300.0,
    "poc-potential": 300.0,
    "registry": 0.0,
}
"""Peak bytes per leech x neighbour x block fetched (wants and presences in flight)."""
_EVENTS_PER_CONNECTION = 3.0
_BYTES_PER_CONNECTION = 8192.0
_BYTES_PER_PEER = 20_000.0
_BYTES_PER_BLOCK = 400.0
"""Per block of a DAG, per block a peer holds, per block a leech fetches (its progress row)."""
_EVENTS_PER_BLOB = 10.0
"""The registry baseline: events per client per blob."""
_BYTES_PER_FAULT_OP = 200.0


@dataclass(frozen=True)
class Cost:
    """The estimated cost of one run of a scenario."""

    peers: int
    connections: int
    blocks: int
    """Blocks of all objects."""
    fetched_blocks: int
    """Blocks fetched: per leech, the blocks of its object."""
    events: float
    memory_bytes: float
    fault_ops: float
    """Leaves, rejoins, cuts and restores expected from the faults."""

    def summary(self) -> str:
        return (
            f"{self.peers} peers, {self.connections} connections, {self.blocks} blocks, "
            f"~{self.events:.2g} events, ~{_mib(self.memory_bytes)} MiB"
        )


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


# --------------------------------------------------------------------------------- blocks
def leaf_count(size_bytes: int, chunk_bytes: int) -> int:
    """Leaves of a unixfs file: its chunks (one for an empty file)."""
    return max(1, -(-size_bytes // chunk_bytes))


def check_blocks(spec: ObjectSpec, source: str, limits: Limits | None) -> None:
    """Refuse an object of more blocks than ``limits.blocks``, naming the field to change."""
    if limits is None:
        return
    n = block_count(spec)
    if n <= limits.blocks:
        return
    path = f"objects.{spec.name}"
    if spec.type == "blocks":
        field, why = f"{path}.count", f"{n:,} blocks"
    else:
        default_chunk = 262_144
        total = spec.size_bytes if spec.type == "file" else spec.config_bytes + sum(spec.layers)
        small_chunk = spec.chunk_bytes < default_chunk and (
            leaf_count(total, default_chunk) <= limits.blocks
        )
        if small_chunk:
            field = f"{path}.chunk_size"
            why = f"chunks of {spec.chunk_bytes} B cut {spec.name!r} into {n:,} blocks"
        else:
            field = f"{path}.size" if spec.type == "file" else f"{path}.layers"
            why = f"{total:,} bytes in chunks of {spec.chunk_bytes} B make {n:,} blocks"
    raise ScenarioError(
        f"{source}: {field}: {why}; allowed: up to {limits.blocks:,} blocks per object "
        f"({ALLOW_LARGE})"
    )


# --------------------------------------------------------------------------------- topology
def _region_counts(groups: Sequence[GroupSpec]) -> Counter[str | None]:
    out: Counter[str | None] = Counter()
    for g in groups:
        out[g.region] += g.count
    return out


def _connections(scenario: Scenario) -> tuple[int, dict[str | None, int]]:
    """(connections of the run, neighbours of a peer in each region)."""
    groups = [g for g in scenario.groups if g.strategy != "registry"]
    peers = sum(g.count for g in groups)
    net = scenario.network
    if net.graph is not None:
        links = _graph_edges(net.graph, peers)
        leeches = sum(g.count for g in groups if g.fetch is not None)
        links += net.graph.seeds_per_leech * leeches
        if any(g.routing == "dht" for g in groups):
            links += _DHT_DIALS * leeches  # the providers a DHT leech dials
        links = min(links, peers * (peers - 1) // 2)
        degree = math.ceil(2 * links / peers) if peers else 0
        return links, {g.region: degree for g in groups}
    if net.topology != "region-mesh" or net.inter_region == "full":
        return peers * (peers - 1) // 2, {g.region: max(0, peers - 1) for g in groups}
    regions = _region_counts(groups)
    inside = sum(n * (n - 1) // 2 for n in regions.values())
    if net.inter_region == "none":
        return inside, {r: n - 1 for r, n in regions.items()}
    k = int(net.inter_region)
    gates = {r: min(k, n) for r, n in regions.items()}
    all_gates = sum(gates.values())
    across = (all_gates * all_gates - sum(x * x for x in gates.values())) // 2
    neighbours = {r: n - 1 + min(all_gates - gates[r], peers - n) for r, n in regions.items()}
    return inside + across, neighbours


_DHT_DIALS = 10
"""Providers a DHT leech dials at most (go-bitswap's ``maxProviders``)."""


def _graph_edges(graph: GraphSpec, n: int) -> int:
    """Connections of a generated or file graph on ``n`` nodes: the file's edges, a generator's
    (expected) edge count, or for a generator whose count is hard to foresee (random
    geometric, Waxman) the full mesh's, an upper bound."""
    full = n * (n - 1) // 2
    if graph.generator is None:
        return len(graph.edges)
    p = dict(graph.params)
    name = graph.generator
    if name == "random_regular_graph":
        return n * int(p["d"]) // 2
    if name == "erdos_renyi_graph":
        return math.ceil(float(p["p"]) * full)
    if name == "gnm_random_graph":
        return int(p["m"])
    if name in ("barabasi_albert_graph", "powerlaw_cluster_graph"):
        return int(p["m"]) * max(0, n - int(p["m"]))
    if name in ("watts_strogatz_graph", "connected_watts_strogatz_graph"):
        return n * int(p["k"]) // 2
    if name == "newman_watts_strogatz_graph":
        return math.ceil(n * int(p["k"]) / 2 * (1 + float(p["p"])))
    if name in ("cycle_graph", "path_graph", "star_graph"):
        return n
    return full


# --------------------------------------------------------------------------------- faults
def _mean_seconds(d: Duration) -> float:
    """The mean of a duration (the lower end of its support where the mean is infinite)."""
    p = dict(d.params)
    if d.dist == "fixed":
        return p["value"]
    if d.dist == "exponential":
        return p["mean"]
    if d.dist == "weibull":
        return p["scale"] * math.gamma(1.0 + 1.0 / p["shape"])
    if d.dist == "pareto":
        return p["scale"] * (p["shape"] / (p["shape"] - 1.0) if p["shape"] > 1 else 1.0)
    if d.dist == "lognormal":
        return p["median"] * math.exp(min(p["sigma"] ** 2 / 2.0, 700.0))
    return (p["low"] + p["high"]) / 2.0


def _chosen(f: FaultSpec, counts: Mapping[str, int]) -> int:
    if f.group is None:
        return len(f.peers)
    return math.ceil(f.fraction * counts[f.group] - 1e-9)


def _fault_ops(f: FaultSpec, scenario: Scenario, counts: Mapping[str, int]) -> float:
    """Operations (a leave, a rejoin, a cut...) a fault performs in one run, at most."""
    horizon = scenario.max_sim_time_s
    if f.kind in ("churn", "slow"):
        per_peer = 1.0
        if f.uptime is not None and f.duration is not None:
            cycle = _mean_seconds(f.uptime) + _mean_seconds(f.duration)
            per_peer = 2.0 * horizon / max(cycle, 1e-300)
        elif f.duration is not None:
            per_peer = 2.0
        return _chosen(f, counts) * per_peer
    return 2.0


# --------------------------------------------------------------------------------- estimate
def estimate(scenario: Scenario) -> Cost:
    """The cost of one run of ``scenario`` (one sweep point; its ``sweep`` is ignored)."""
    counts = {g.name: g.count for g in scenario.groups}
    peers = sum(counts.values())
    connections, neighbours = _connections(scenario)
    blocks = {o.name: block_count(o) for o in scenario.objects}
    events = _EVENTS_PER_CONNECTION * connections
    memory = _BYTES_PER_CONNECTION * connections + _BYTES_PER_PEER * peers
    memory += _BYTES_PER_BLOCK * sum(blocks.values())
    fetched = 0
    for g in scenario.groups:
        for h in g.seed_objects:
            memory += _BYTES_PER_BLOCK * g.count * blocks[h.object]
        if g.fetch is None:
            continue
        b = blocks[g.fetch.object]
        fetched += g.count * b
        if g.strategy == "registry":
            events += _EVENTS_PER_BLOB * g.count * b
            continue
        entries = g.count * max(1, neighbours.get(g.region, 1)) * b
        events += _EVENTS_PER_ENTRY[g.strategy] * entries
        memory += _BYTES_PER_ENTRY[g.strategy] * entries
    memory += _BYTES_PER_BLOCK * fetched
    ops = sum(_fault_ops(f, scenario, counts) for f in scenario.faults)
    events += ops * (1 + max(neighbours.values(), default=0))
    memory += _BYTES_PER_FAULT_OP * ops
    return Cost(peers, connections, sum(blocks.values()), fetched, events, memory, ops)


def _largest_group(scenario: Scenario) -> GroupSpec:
    return max(scenario.groups, key=lambda g: g.count)


def _fetch_culprit(scenario: Scenario) -> str:
    """The field most responsible for the fetch traffic: the biggest fetching group's count,
    or its object's size when the object has more blocks than the swarm has peers."""
    fetchers = [g for g in scenario.groups if g.fetch is not None]
    if not fetchers:
        return f"groups.{_largest_group(scenario).name}.count"
    blocks = {o.name: block_count(o) for o in scenario.objects}
    g = max(fetchers, key=lambda g: g.count * blocks[g.fetch.object])  # type: ignore[union-attr]
    assert g.fetch is not None
    obj = scenario.object(g.fetch.object)
    peers = sum(x.count for x in scenario.groups)
    if blocks[obj.name] > peers:
        return f"objects.{obj.name}." + {"file": "size", "oci-image": "layers"}.get(
            obj.type, "count"
        )
    return f"groups.{g.name}.count"


def _fault_culprit(scenario: Scenario) -> str | None:
    counts = {g.name: g.count for g in scenario.groups}
    if not scenario.faults:
        return None
    f = max(scenario.faults, key=lambda f: _fault_ops(f, scenario, counts))
    return f"faults.{f.name}.uptime" if f.uptime is not None else f"faults.{f.name}.duration"


def check_cost(scenario: Scenario, limits: Limits | None) -> Cost:
    """The cost of one run of ``scenario``; a :class:`ScenarioError` naming the field most
    responsible if it exceeds ``limits`` (``None``: no limits)."""
    cost = estimate(scenario)
    if limits is None:
        return cost
    src = scenario.source
    tail = f"({ALLOW_LARGE})"
    if cost.peers > limits.peers:
        raise ScenarioError(
            f"{src}: groups.{_largest_group(scenario).name}.count: the run would have "
            f"{cost.peers:,} peers; allowed: up to {limits.peers:,} peers per run {tail}"
        )
    counts = {g.name: g.count for g in scenario.groups}
    fault_ops = sum(_fault_ops(f, scenario, counts) for f in scenario.faults)
    fetch_events = cost.events - _EVENTS_PER_CONNECTION * cost.connections
    conn_memory = _BYTES_PER_CONNECTION * cost.connections
    if cost.memory_bytes > limits.memory_bytes:
        if fault_ops * _BYTES_PER_FAULT_OP > cost.memory_bytes / 2:
            field = _fault_culprit(scenario)
            why = f"{fault_ops:.2g} fault operations"
        elif conn_memory > cost.memory_bytes / 2:
            field = (
                f"groups.{_largest_group(scenario).name}.count"
                if scenario.network.topology == "full-mesh"
                else "network.inter_region"
            )
            why = f"{cost.connections:,} connections"
        else:
            field = _fetch_culprit(scenario)
            why = f"{cost.fetched_blocks:,} blocks fetched from {cost.peers:,} peers"
        raise ScenarioError(
            f"{src}: {field}: a run would need about {_mib(cost.memory_bytes)} MiB ({why}); "
            f"allowed: up to {_mib(limits.memory_bytes)} MiB per run {tail}"
        )
    if cost.events > limits.events:
        if fault_ops and fault_ops * (cost.peers or 1) > fetch_events / 2:
            field = _fault_culprit(scenario)
            why = f"{fault_ops:.2g} fault operations"
        elif _EVENTS_PER_CONNECTION * cost.connections > cost.events / 2:
            field = f"groups.{_largest_group(scenario).name}.count"
            why = f"{cost.connections:,} connections"
        else:
            field = _fetch_culprit(scenario)
            why = f"{cost.fetched_blocks:,} blocks fetched from {cost.peers:,} peers"
        raise ScenarioError(
            f"{src}: {field}: a run would take about {cost.events:.2g} events ({why}); "
            f"allowed: up to {limits.events:.2g} events per run {tail}"
        )
    return cost


# --------------------------------------------------------------------------------- sweeps
def run_count(sweep: Mapping[str, Sequence[Any]], replications: int) -> tuple[int, int]:
    """(points, runs) of a sweep: the product of its lists' lengths, times the replications
    (a swept ``replications`` counts its own values)."""
    points = math.prod(len(v) for v in sweep.values())
    reps = sweep.get("replications")
    if reps is None:
        return points, points * replications
    per = points // len(reps)
    total = sum(r for r in reps if isinstance(r, int) and not isinstance(r, bool) and r > 0)
    return points, per * total


def check_runs(
    sweep: Mapping[str, Sequence[Any]],
    replications: int,
    source: str,
    limits: Limits | None,
    *,
    field: str = "replications",
) -> tuple[int, int]:
    """(points, runs) of a sweep; a :class:`ScenarioError` if either exceeds ``limits``."""
    points, runs = run_count(sweep, replications)
    if limits is None:
        return points, runs
    if points > limits.points:
        longest = max(sweep, key=lambda k: len(sweep[k]))
        raise ScenarioError(
            f"{source}: sweep.{longest}: the grid has {points:,} points; allowed: up to "
            f"{limits.points:,} points ({ALLOW_LARGE})"
        )
    if runs > limits.runs:
        if "replications" in sweep:
            field, why = "sweep.replications", f"{points:,} points make {runs:,} runs"
        else:
            plural = "point" if points == 1 else "points"
            why = f"{points:,} {plural} x {replications:,} replications make {runs:,} runs"
        raise ScenarioError(
            f"{source}: {field}: {why}; allowed: up to {limits.runs:,} runs ({ALLOW_LARGE})"
        )
    return points, runs


# --------------------------------------------------------------------------------- arguments
SEED_MAX = 2**64 - 1
"""Largest seed: numpy's SeedSequence takes any int, the ``seed`` column of the tables a
64-bit unsigned one."""


def check_replications(scenario: Scenario, n: object, *, field: str = "replications") -> int:
    """``n`` replications of ``scenario``, checked: a whole number >= 1 (not a bool), and the
    runs within ``scenario.limits``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ScenarioError(
            f"{scenario.source}: {field}: must be a whole number >= 1, got {brief(n)}"
        )
    check_runs(scenario.sweep, int(n), scenario.source, scenario.limits, field=field)
    return int(n)


def check_seed(source: str, seed: object, *, field: str = "seed") -> int:
    """``seed`` checked: a whole number in [0, 2**64 - 1] (not a bool)."""
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= int(seed) <= SEED_MAX
    ):
        raise ScenarioError(
            f"{source}: {field}: must be a whole number in [0, {SEED_MAX}], got {brief(seed)}"
        )
    return int(seed)


def run_arguments(
    scenario: object, replications: object = None, seed: object = None
) -> tuple[int, int]:
    """``(replications, seed)`` of a plan of ``scenario``: the arguments if given, else the
    scenario's, checked as a file's are (what :func:`experiments.runner.plan` and so ``run`` and
    ``run_tables`` call first)."""
    if not isinstance(scenario, Scenario):
        raise ScenarioError(
            f"scenario: must be a Scenario (from load_scenario or parse_scenario), "
            f"got {brief(scenario)}"
        )
    reps = check_replications(
        scenario, scenario.replications if replications is None else replications
    )
    root = check_seed(scenario.source, scenario.seed if seed is None else seed)
    return reps, root
