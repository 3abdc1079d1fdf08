"""Writing a scenario back as TOML with every default filled in (``scenario.toml`` in an output
folder): loading it again gives an equal :class:`Scenario`."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import tomli_w

from experiments.scenario.load_hosts import host_dict
from experiments.scenario.specs import Duration, FaultSpec, Scenario

__all__ = ["fault_dict", "resolved_dict", "write_resolved"]


def _bw(value: float) -> str:
    return "unlimited" if math.isinf(value) else f"{value:.17g} B/s"


def resolved_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in, as a TOML-ready dict that loads back to an
    equal :class:`Scenario` (what ``scenario.toml`` in an output folder holds)."""
    net = scenario.network
    network: dict[str, Any] = {
        "transport": net.transport,
        "latency": dict(net.latency_spec),
        "topology": net.topology,
        "inter_region": net.inter_region,
        "cid_version": net.cid_version,
        "jitter": net.jitter,
        "priority_lane": net.priority_lane,
    }
    if net.rate_Bps is not None:
        network["rate"] = _bw(net.rate_Bps)
        network["rate_sigma"] = _bw(net.rate_sigma_Bps) if net.rate_sigma_Bps else 0
    objects = []
    for o in scenario.objects:
        d: dict[str, Any] = {"name": o.name, "type": o.type}
        if o.type == "file":
            d |= {"size": o.size_bytes, "chunk_size": o.chunk_bytes, "max_links": o.max_links}
        elif o.type == "oci-image":
            d |= {
                "layers": list(o.layers),
                "config_size": o.config_bytes,
                "chunk_size": o.chunk_bytes,
                "max_links": o.max_links,
            }
        else:
            d |= {"count": o.count, "block_size": o.block_bytes, "root_size": o.root_bytes}
        objects.append(d)
    groups = []
    for g in scenario.groups:
        d = {
            "name": g.name,
            "count": g.count,
            "strategy": g.strategy,
            "upload": _bw(g.upload_Bps),
            "download": _bw(g.download_Bps),
            "blockstore_latency": g.blockstore_latency_s,
            "routing": g.routing,
            "dht_lookup_delay": g.dht_lookup_delay_s,
            "host": g.host.name,
            "seed_objects": [
                {
                    "object": h.object,
                    **({"range": [h.start, h.stop]} if h.stop is not None else {}),
                    "every": h.every,
                    "offset": h.offset,
                    "distribute": h.distribute,
                }
                for h in g.seed_objects
            ],
        }
        if g.region is not None:
            d["region"] = g.region
        if g.fetch is not None:
            d["fetch"] = {
                "object": g.fetch.object,
                "pattern": g.fetch.pattern,
                "start": g.fetch.start_s,
                "stagger": g.fetch.stagger_s,
            }
        groups.append(d)
    out: dict[str, Any] = {
        "name": scenario.name,
        "seed": scenario.seed,
        "replications": scenario.replications,
        "max_sim_time_s": scenario.max_sim_time_s,
        "network": network,
        "registry": {
            **({"region": scenario.registry.region} if scenario.registry.region else {}),
            "upload": _bw(scenario.registry.upload_Bps),
            "connections": scenario.registry.connections,
        },
        "strategy": {name: asdict(cfg) for name, cfg in scenario.strategy_configs.items()},
        "objects": objects,
        "groups": groups,
    }
    if scenario.hosts:
        out["hosts"] = {name: host_dict(p) for name, p in scenario.hosts.items()}
    if scenario.faults:
        out["faults"] = [fault_dict(f) for f in scenario.faults]
    if scenario.sweep:
        out["sweep"] = {k: list(v) for k, v in scenario.sweep.items()}
    return out


def write_resolved(scenario: Scenario, path: str | Path) -> None:
    """Write :func:`resolved_dict` as TOML."""
    Path(path).write_text(tomli_w.dumps(resolved_dict(scenario)), encoding="utf-8")


def fault_dict(f: FaultSpec) -> dict[str, Any]:
    """``f`` as a TOML table that parses back to an equal :class:`FaultSpec`."""
    out: dict[str, Any] = {"name": f.name, "kind": f.kind}
    if f.peers:
        out["peers"] = list(f.peers)
    if f.group is not None:
        out |= {"group": f.group, "fraction": f.fraction}
    if f.at_s is not None:
        out["at"] = f.at_s
    if f.uptime is not None:
        out["uptime"] = _duration_toml(f.uptime)
    if f.duration is not None:
        out["duration"] = _duration_toml(f.duration)
    if f.kind == "link":
        out |= {"a": f.a, "b": f.b}
    if f.regions:
        out["regions"] = list(f.regions)
    if f.groups:
        out["groups"] = list(f.groups)
    if f.kind == "slow":
        out |= {"bandwidth_factor": f.bandwidth_factor, "added_latency": f.added_latency_s}
    return out


def _duration_toml(d: Duration) -> float | dict[str, Any]:
    """A fixed duration as its seconds, a drawn one as ``{ dist = ..., <parameters> }``."""
    if d.dist == "fixed":
        return dict(d.params)["value"]
    return {"dist": d.dist, **dict(d.params)}
