"""One run of a scenario: objects, network, peers (or the registry baseline), seeding, fetches.

Randomness: everything draws from ``RunRandom(scenario.seed, replicate)``'s named streams
("latency", "topology", "workload", per-peer protocol streams), so within a replicate every
strategy and every sweep point sees the same latency draws and the same block placement (common
random numbers).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from experiments.faults import schedule_faults
from experiments.scenario import GroupSpec, HoldSpec, ObjectSpec, Scenario
from models.baseline.registry import RegistryConfig, RegistryPull, image_blobs
from models.dag import CidAllocator, Dag, benchmark_blocks, chunked_file, oci_image
from models.routing import DhtRouting
from models.swarm import Swarm
from sim.network import Network
from sim.rng import RunRandom
from sim.topology import build_network, full_mesh, region_meshes
from sim.transports import FifoTransport, GoTestnetTransport, Transport, make_transport

__all__ = ["Built", "build_objects", "build_run", "holdings"]

CONTROL_KINDS = ("want-block", "want-have", "cancel", "have", "dont-have")
REGISTRY_NODE = "registry"


def build_objects(scenario: Scenario) -> dict[str, Dag]:
    """Every object of the scenario, CIDs allocated in file order."""
    alloc = CidAllocator()
    return {o.name: _object(o, alloc) for o in scenario.objects}


def _object(spec: ObjectSpec, alloc: CidAllocator) -> Dag:
    if spec.type == "file":
        return chunked_file(
            spec.size_bytes, cid_alloc=alloc, chunk_size=spec.chunk_bytes, max_links=spec.max_links
        )
    if spec.type == "oci-image":
        return oci_image(
            list(spec.layers),
            cid_alloc=alloc,
            config_size=spec.config_bytes,
            chunk_size=spec.chunk_bytes,
            max_links=spec.max_links,
        )
    return benchmark_blocks(
        spec.count, cid_alloc=alloc, block_size=spec.block_bytes, root_size=spec.root_bytes
    )


def holdings(
    hold: HoldSpec, dag: Dag, members: list[str], rng: np.random.Generator
) -> dict[str, list[int]]:
    """Which blocks of ``dag`` each member holds under ``hold``."""
    blocks = dag.cids_in_order
    stop = len(blocks) if hold.stop is None else min(hold.stop, len(blocks))
    chosen = [blocks[i] for i in range(hold.start + hold.offset, stop, hold.every)]
    if hold.distribute == "all":
        return dict.fromkeys(members, chosen)
    picks = rng.integers(0, len(members), size=len(chosen))
    out: dict[str, list[int]] = {m: [] for m in members}
    for cid, k in zip(chosen, picks.tolist(), strict=True):
        out[members[k]].append(cid)
    return out


def _transport(scenario: Scenario) -> Transport:
    net = scenario.network
    if net.transport == "fifo":
        control = CONTROL_KINDS if net.priority_lane else ()
        return FifoTransport(priority_kinds=control)
    if net.transport == "go-testnet":
        return GoTestnetTransport(rate_Bps=net.rate_Bps, rate_sigma_Bps=net.rate_sigma_Bps)
    return make_transport(net.transport)


@dataclass
class Built:
    """A run ready to go."""

    net: Network
    swarm: Swarm | None
    registry: RegistryPull | None
    groups: dict[str, str]
    """Node -> group name."""
    objects: dict[str, Dag]

    def run(self, max_sim_time_s: float) -> bool:
        runner: Any = self.swarm if self.swarm is not None else self.registry
        return bool(runner.run(max_sim_time_s))


def build_run(scenario: Scenario, replicate: int = 0, seed: int | None = None) -> Built:
    """Build one run of ``scenario`` (replicate ``replicate``, root seed ``seed``)."""
    rr = RunRandom(scenario.seed if seed is None else seed, replicate)
    objects = build_objects(scenario)
    members = {g.name: g.members() for g in scenario.groups}
    group_of = {m: g for g, ms in members.items() for m in ms}
    spec_of = {g.name: g for g in scenario.groups}
    if scenario.strategies == ["registry"]:
        return _build_registry(scenario, rr, objects, members, group_of)
    attrs = _node_attrs(group_of, spec_of)
    if scenario.network.topology == "region-mesh":
        by_region: dict[str, dict[str, Any]] = {}
        for m, a in attrs.items():
            by_region.setdefault(str(a["region"]), {})[m] = {
                "upload_Bps": a["upload_Bps"],
                "download_Bps": a["download_Bps"],
            }
        graph = region_meshes(by_region, inter_region=scenario.network.inter_region, seed=rr)
    else:
        graph = full_mesh(attrs)
    net = build_network(
        graph,
        transport=_transport(scenario),
        latency=scenario.network.latency,
        seed=rr,
        jitter=scenario.network.jitter,
    )
    holder: list[Swarm] = []
    per_peer: dict[Hashable, dict[str, Any]] = {}
    for m, g in group_of.items():
        spec = spec_of[g]
        options: dict[str, Any] = {
            "config": scenario.strategy_configs[spec.strategy],
            "blockstore_latency_s": spec.blockstore_latency_s,
        }
        if spec.routing == "dht":
            options["routing"] = DhtRouting(
                holders=lambda cid: holder[0].holders(cid), lookup_delay_s=spec.dht_lookup_delay_s
            )
        per_peer[m] = options
    swarm = Swarm(
        net,
        strategies={m: spec_of[g].strategy for m, g in group_of.items()},
        per_peer=per_peer,
        cid_version=scenario.network.cid_version,
    )
    holder.append(swarm)
    workload = rr.stream("workload")
    for g in scenario.groups:
        _seed_group(swarm, g, members[g.name], objects, workload)
    for g in scenario.groups:
        if g.fetch is not None:
            dag = objects[g.fetch.object]
            for i, m in enumerate(members[g.name]):
                at = g.fetch.start_s + i * g.fetch.stagger_s
                swarm.fetch(m, dag, g.fetch.pattern, at_s=at)
    if scenario.faults:
        schedule_faults(swarm, scenario.faults, scenario.groups, rr, scenario.source)
    return Built(net, swarm, None, group_of, objects)


def _node_attrs(
    group_of: dict[str, str], spec_of: dict[str, GroupSpec]
) -> dict[str, dict[str, Any]]:
    """Node -> its group's upload and download rates (bytes/s) and region."""
    return {
        m: {
            "upload_Bps": spec_of[g].upload_Bps,
            "download_Bps": spec_of[g].download_Bps,
            "region": spec_of[g].region,
        }
        for m, g in group_of.items()
    }


def _seed_group(
    swarm: Swarm,
    group: GroupSpec,
    members: list[str],
    objects: dict[str, Dag],
    rng: np.random.Generator,
) -> None:
    for hold in group.seed_objects:
        dag = objects[hold.object]
        for member, cids in holdings(hold, dag, members, rng).items():
            if cids:
                swarm.peer(member).seed(dag, cids)
                if swarm.roles[member] == "other":
                    swarm.roles[member] = "seed"


def _build_registry(
    scenario: Scenario,
    rr: RunRandom,
    objects: dict[str, Dag],
    members: dict[str, list[str]],
    group_of: dict[str, str],
) -> Built:
    """The registry baseline: every fetching peer pulls the image's blobs from one server."""
    reg = scenario.registry
    spec_of = {g.name: g for g in scenario.groups}
    clients = {m: g for m, g in group_of.items() if spec_of[g].fetch is not None}
    attrs = _node_attrs(clients, spec_of)

    graph = nx.Graph()
    graph.add_node(
        REGISTRY_NODE, upload_Bps=reg.upload_Bps, download_Bps=float("inf"), region=reg.region
    )
    for m, a in attrs.items():
        graph.add_node(m, **a)
        graph.add_edge(REGISTRY_NODE, m)
    net = build_network(graph, transport="fair", latency=scenario.network.latency, seed=rr)
    fetched = {spec_of[g].fetch.object for g in clients.values()}  # type: ignore[union-attr]
    if len(fetched) != 1:
        raise ValueError(
            f"{scenario.source}: the registry baseline pulls one image; groups fetch "
            f"{sorted(fetched)}"
        )
    dag = objects[fetched.pop()]
    pull = RegistryPull(
        net, REGISTRY_NODE, image_blobs(dag), RegistryConfig(connections=reg.connections)
    )
    for m, g in clients.items():
        fetch = spec_of[g].fetch
        assert fetch is not None
        i = members[g].index(m)
        pull.fetch(m, at_s=fetch.start_s + i * fetch.stagger_s)
    groups = {**clients, REGISTRY_NODE: REGISTRY_NODE}
    return Built(net, None, pull, groups, objects)
