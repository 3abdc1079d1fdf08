"""One run of a scenario: objects, network, peers (or the registry baseline), seeding, fetches.

Hosts: each group's host (:attr:`GroupSpec.host`, a preset of :mod:`experiments.hosts` or one
the file defines) goes to the network for each member (:func:`node_hosts`: a machine of its
own, or one machine shared by every node of every group naming a shared host) and its
go-bitswap work to each member's peer. Nodes on the ``ideal`` host get neither, so a run
without hosts is exactly what it was before the host model. The registry baseline ignores
hosts.

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
from sim.host import Host, HostSpec
from sim.network import Network
from sim.rng import RunRandom
from sim.topology import build_network, full_mesh, region_meshes
from sim.transports import FifoTransport, GoTestnetTransport, Transport, make_transport

__all__ = ["Built", "build_objects", "build_run", "holdings", "node_hosts"]

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
    hosts = node_hosts(group_of, spec_of)
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
        hosts=hosts,
    )
    holder: list[Swarm] = []
    per_peer: dict[Hashable, dict[str, Any]] = {}
    for m, g in group_of.items():
        spec = spec_of[g]
        options: dict[str, Any] = {
            "config": scenario.strategy_configs[spec.strategy],
            "blockstore_latency_s": spec.blockstore_latency_s,
        }
        if not spec.host.work.is_free:
            options["work"] = spec.host.work
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
    for group in scenario.groups:
        _seed_group(swarm, group, members[group.name], objects, workload)
    for group in scenario.groups:
        if group.fetch is not None:
            dag = objects[group.fetch.object]
            for i, m in enumerate(members[group.name]):
                at = group.fetch.start_s + i * group.fetch.stagger_s
                swarm.fetch(m, dag, group.fetch.pattern, at_s=at)
    if scenario.faults:
        schedule_faults(swarm, scenario.faults, scenario.groups, rr, scenario.source)
    return Built(net, swarm, None, group_of, objects)


def node_hosts(
    group_of: dict[str, str], spec_of: dict[str, GroupSpec]
) -> dict[Hashable, HostSpec | Host]:
    """Node -> the host :meth:`Network.add_node` gets for it: its preset's spec (a machine of
    its own), or for a shared preset one :class:`Host` per preset name, the same object for
    every node of every group that names it. Nodes on an ideal host are left out."""
    machines: dict[str, Host] = {}
    out: dict[Hashable, HostSpec | Host] = {}
    for m, g in group_of.items():
        preset = spec_of[g].host
        if preset.is_ideal:
            continue
        if preset.shared:
            if preset.name not in machines:
                machines[preset.name] = Host(preset.spec)
            out[m] = machines[preset.name]
        elif preset.spec.is_ideal:
            # only go-bitswap's own work costs: a machine of its own to charge it to (a bare
            # ideal spec would mean "no host")
            out[m] = Host(preset.spec)
        else:
            out[m] = preset.spec
    return out


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
