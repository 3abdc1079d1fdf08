"""Loading a scenario: TOML in (``tomllib``), validated :mod:`~experiments.scenario.specs` out.

Every error is one :class:`ScenarioError` naming the file, the field and what is allowed.
Nothing is evaluated or imported from a file: it is only parsed as TOML. The ``[[faults]]``
tables are read by :mod:`experiments.scenario.load_faults`.
"""

from __future__ import annotations

import copy
import itertools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, NoReturn

from experiments.hosts import PRESETS, HostPreset
from experiments.scenario.errors import ScenarioError
from experiments.scenario.load_faults import parse_faults
from experiments.scenario.load_hosts import parse_hosts
from experiments.scenario.load_topology import (
    check_topology,
    parse_connection_manager,
    parse_topology,
)
from experiments.scenario.specs import (
    HOLD_DISTRIBUTIONS,
    OBJECT_TYPES,
    ROUTINGS,
    RUN_STRATEGIES,
    FetchSpec,
    GroupSpec,
    HoldSpec,
    NetworkSpec,
    ObjectSpec,
    RegistrySpec,
    Scenario,
    block_count,
)
from experiments.scenario.table import Table
from models.fetch import PATTERNS
from models.peer import STRATEGIES
from sim.latency import EdgeLatency, RegionMatrixLatency, latency_model
from sim.transports import TRANSPORTS
from sim.units import BANDWIDTH_PRESETS, bandwidth_preset, parse_size

__all__ = ["GROUP_KEYS", "NAMED_ARRAYS", "load_scenario", "parse_scenario"]

GROUP_KEYS = (
    "count",
    "strategy",
    "region",
    "upload",
    "download",
    "instance",
    "blockstore_latency",
    "routing",
    "dht_lookup_delay",
    "seed_objects",
    "fetch",
    "host",
    "connection_manager",
)
"""The keys of a ``[[groups]]`` table, which ``[defaults]`` may set for every group."""

NAMED_ARRAYS = ("groups", "objects", "faults")
"""Arrays of tables whose entries a parameter path addresses by name."""


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario (or sweep) file."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such file") from None
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    return parse_scenario(data, source=source)


def parse_scenario(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a dict (what ``tomllib`` returns)."""
    raw = copy.deepcopy(dict(data))
    top = Table(raw, "", source)
    name = top.string("name")
    if not name:
        raise top.error("name", "required: a name for the scenario")
    _check_name(top, name)
    seed = top.integer("seed", 1, 0)
    replications = top.integer("replications", 1, 1)
    max_sim_time_s = top.duration("max_sim_time_s", 3600.0)
    if max_sim_time_s <= 0:
        raise top.error("max_sim_time_s", "must be > 0 seconds")
    network = _network(top.get("network", {}), source)
    objects = _objects(top.get("objects", []), source)
    defaults = Table(top.get("defaults", {}), "defaults", source)
    for key in GROUP_KEYS:
        defaults.get(key)
    defaults.done()
    hosts = parse_hosts(top.get("hosts", {}), source)
    groups = _groups(top.get("groups", []), defaults.data, objects, network, hosts, source)
    configs = _strategy_configs(top.get("strategy", {}), source)
    registry = _registry(top.get("registry", {}), source)
    faults = parse_faults(top.get("faults", []), groups, source)
    sweep = _sweep(top.get("sweep", {}), source)
    top.done()
    if any(g.strategy == "registry" for g in groups):
        _check_registry(groups, source)
        if faults:
            raise ScenarioError(
                f"{source}: faults: not supported with the registry baseline (strategy "
                f"'registry'); allowed strategies with faults: {', '.join(STRATEGIES)}"
            )
    if isinstance(network.latency, EdgeLatency):
        _check_edge_latency(network, groups, source)
    check_topology(network, groups, source)
    return Scenario(
        name=name,
        seed=seed,
        replications=replications,
        max_sim_time_s=max_sim_time_s,
        network=network,
        objects=objects,
        groups=groups,
        strategy_configs=configs,
        registry=registry,
        faults=faults,
        sweep=sweep,
        hosts=hosts,
        source=source,
        raw=raw,
    )


_NAME_MAX = 200
"""Longest scenario name: run ids (``<name>-p000-r00``) name the files of each run."""


def _check_name(top: Table, name: str) -> None:
    """The scenario's name makes run ids, and run ids make file names in the output folder:
    no path separators, no control characters, not too long."""
    bad = next((c for c in name if c in "/\\" or not c.isprintable()), None)
    if bad is not None:
        raise top.error(
            "name",
            f"must not contain {bad!r} (it names the run files); got {name!r}; "
            "allowed: printable characters but / and \\",
        )
    if len(name.encode("utf-8")) > _NAME_MAX:
        raise top.error("name", f"too long ({len(name)} characters); allowed: up to {_NAME_MAX}")


def _check_registry(groups: tuple[GroupSpec, ...], source: str) -> None:
    """The registry baseline replaces Bitswap for the whole run and pulls one image."""
    if len({g.strategy for g in groups}) > 1:
        raise ScenarioError(
            f"{source}: groups.strategy: 'registry' replaces Bitswap for the whole run; "
            "it cannot be mixed with Bitswap strategies; allowed: every group 'registry', "
            "or none"
        )
    fetched = sorted({g.fetch.object for g in groups if g.fetch is not None})
    if len(fetched) != 1:
        raise ScenarioError(
            f"{source}: groups.fetch: the registry baseline pulls one object; groups fetch "
            f"{', '.join(map(repr, fetched)) or 'nothing'}; allowed: exactly one object fetched"
        )


def _check_edge_latency(network: NetworkSpec, groups: tuple[GroupSpec, ...], source: str) -> None:
    """Edge latencies name peers (``<group>-<i>``) and cover every connection the topology
    surely has (gateways of a region-mesh, drawn per run, are checked when the run is built)."""
    latency = network.latency
    assert isinstance(latency, EdgeLatency)
    region = {m: g.region for g in groups for m in g.members()}
    field_ = "network.latency.values"
    for pair in latency.values:
        for peer in pair:
            if peer not in region:
                some = ", ".join(list(region)[:6]) + (", ..." if len(region) > 6 else "")
                raise ScenarioError(
                    f"{source}: {field_}: unknown peer {peer!r}; allowed: the peers "
                    f"<group>-<i>: {some}"
                )
    every = network.topology == "full-mesh" or network.inter_region == "full"
    for a, b in itertools.combinations(region, 2):
        if not (every or region[a] == region[b]):
            continue
        have = (a, b) in latency.values and (b, a) in latency.values
        if latency.symmetric:
            have = (a, b) in latency.values or (b, a) in latency.values
        if not have:
            raise ScenarioError(
                f"{source}: {field_}: no latency for the connection {a!r} - {b!r}; "
                "allowed: a value for every connection (both directions if symmetric = false)"
            )


def _network(data: Any, source: str) -> NetworkSpec:
    t = Table(data, "network", source)
    transport = t.string("transport", "fifo", tuple(TRANSPORTS))
    latency_spec = t.get("latency", {"model": "region-matrix"})
    try:
        latency = latency_model(latency_spec, field="network.latency")
    except ValueError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    topology, graph = parse_topology(t, source)
    inter_region = t.get("inter_region", "full")
    if not (
        inter_region in ("full", "none")
        or (
            isinstance(inter_region, int)
            and not isinstance(inter_region, bool)
            and inter_region >= 1
        )
    ):
        raise t.error(
            "inter_region",
            f"must be 'full', 'none' or a number of gateways >= 1, got {inter_region!r}",
        )
    cid_version = t.integer("cid_version", 1, 0)
    if cid_version not in (0, 1):
        raise t.error("cid_version", f"must be 0 or 1, got {cid_version}")
    jitter = t.number("jitter", 0.0)
    priority_lane = t.boolean("priority_lane", False)
    rate = t.get("rate")
    rate_Bps = None if rate is None else t.bandwidth("rate", None)
    sigma = t.get("rate_sigma")
    rate_sigma_Bps = 0.0 if sigma is None else _bandwidth_or_zero(t, "rate_sigma")
    t.done()
    if transport != "go-testnet" and (rate is not None or sigma is not None):
        raise t.error("rate", "only the go-testnet transport has per-pair rates")
    if priority_lane and transport != "fifo":
        raise t.error("priority_lane", "only the fifo transport has a priority lane")
    if jitter and transport == "go-testnet":
        raise t.error("jitter", "go-testnet's delays are fixed per pair; use jitter = 0")
    return NetworkSpec(
        transport=transport,
        latency=latency,
        latency_spec=dict(latency_spec) if isinstance(latency_spec, Mapping) else {},
        topology=topology,
        inter_region=inter_region,
        cid_version=cid_version,
        jitter=jitter,
        priority_lane=priority_lane,
        rate_Bps=rate_Bps,
        rate_sigma_Bps=rate_sigma_Bps,
        graph=graph,
    )


def _bandwidth_or_zero(t: Table, key: str) -> float:
    value = t.data[key]
    if value in (0, "0"):
        return 0.0
    return t.bandwidth(key, value)


def _objects(data: Any, source: str) -> tuple[ObjectSpec, ...]:
    if not isinstance(data, list):
        raise ScenarioError(f"{source}: objects: must be an array of tables ([[objects]])")
    out: list[ObjectSpec] = []
    for i, item in enumerate(data):
        t = Table(item, f"objects[{i}]", source)
        name = t.string("name")
        if not name:
            raise t.error("name", "required")
        t.path = f"objects.{name}"
        if any(o.name == name for o in out):
            raise t.error("name", f"duplicate object name {name!r}")
        kind = t.string("type", None, OBJECT_TYPES)
        if kind is None:
            raise t.error("type", f"required; allowed: {', '.join(OBJECT_TYPES)}")
        spec = ObjectSpec(name=name, type=kind)
        if kind == "file":
            spec = replace(
                spec,
                size_bytes=t.size("size", None) if t.has("size") else _missing(t, "size"),
                chunk_bytes=t.size("chunk_size", 262_144),
                max_links=t.integer("max_links", 174, 2),
            )
        elif kind == "oci-image":
            layers = t.get("layers")
            if not isinstance(layers, list) or not layers:
                raise t.error("layers", "required: a non-empty list of layer sizes")
            sizes = []
            for j, layer in enumerate(layers):
                try:
                    sizes.append(parse_size(layer, field=f"{t.path}.layers[{j}]"))
                except ValueError as exc:
                    raise ScenarioError(f"{source}: {exc}") from None
            spec = replace(
                spec,
                layers=tuple(sizes),
                config_bytes=t.size("config_size", 6000),
                chunk_bytes=t.size("chunk_size", 262_144),
                max_links=t.integer("max_links", 174, 2),
            )
        else:
            spec = replace(
                spec,
                count=t.integer("count", 0, 1) if t.has("count") else _missing(t, "count"),
                block_bytes=t.size("block_size", 8000),
                root_bytes=t.size("root_size", 800),
            )
        t.done()
        out.append(spec)
    return tuple(out)


def _missing(t: Table, key: str) -> NoReturn:
    raise t.error(key, "required")


def _groups(
    data: Any,
    defaults: Mapping[str, Any],
    objects: tuple[ObjectSpec, ...],
    network: NetworkSpec,
    hosts: Mapping[str, HostPreset],
    source: str,
) -> tuple[GroupSpec, ...]:
    if not isinstance(data, list) or not data:
        raise ScenarioError(f"{source}: groups: required: at least one [[groups]] table")
    names = {o.name for o in objects}
    out: list[GroupSpec] = []
    for i, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise ScenarioError(f"{source}: groups[{i}]: must be a table")
        merged = {**defaults, **item}
        t = Table(merged, f"groups[{i}]", source)
        name = t.string("name")
        if not name:
            raise t.error("name", "required")
        t.path = f"groups.{name}"
        if any(g.name == name for g in out):
            raise t.error("name", f"duplicate group name {name!r}")
        count = t.integer("count", 1, 1)
        strategy = t.string("strategy", "poc", RUN_STRATEGIES)
        region = t.string("region")
        instance = t.string("instance", None, tuple(sorted(BANDWIDTH_PRESETS)))
        up, down = bandwidth_preset(instance) if instance else (math.inf, math.inf)
        upload = t.bandwidth("upload", None) if t.has("upload") else up
        download = t.bandwidth("download", None) if t.has("download") else down
        t.get("upload")
        t.get("download")
        bs_latency = t.duration("blockstore_latency", 0.0)
        routing = t.string("routing", "nil", ROUTINGS)
        dht_delay = t.duration("dht_lookup_delay", 1.0)
        holds = _holds(t, {o.name: o for o in objects}, source)
        fetch = _fetch(t, names, source)
        host_name = t.string("host", "ideal", (*PRESETS, *hosts))
        host = hosts[host_name] if host_name in hosts else PRESETS[host_name]
        connection_manager = parse_connection_manager(t)
        if fetch is not None and fetch.pattern == "dag-walk":
            target = next(o for o in objects if o.name == fetch.object)
            if target.type == "blocks" and target.count > 1:
                raise ScenarioError(
                    f"{source}: {t.path}.fetch.pattern: 'dag-walk' (the default) follows links "
                    f"and the blocks of {target.name!r} (type 'blocks') have none, so it would "
                    "fetch only the first; allowed: "
                    + ", ".join(p for p in PATTERNS if p != "dag-walk")
                )
        t.done()
        if isinstance(network.latency, RegionMatrixLatency) and region is None:
            raise t.error(
                "region",
                "required by the region-matrix latency model; allowed: "
                + ", ".join(network.latency.regions),
            )
        if (
            region is not None
            and isinstance(network.latency, RegionMatrixLatency)
            and region not in network.latency.regions
        ):
            raise t.error(
                "region",
                f"unknown region {region!r}; allowed: {', '.join(network.latency.regions)}",
            )
        out.append(
            GroupSpec(
                name=name,
                count=count,
                strategy=strategy,
                region=region,
                upload_Bps=upload,
                download_Bps=download,
                blockstore_latency_s=bs_latency,
                routing=routing,
                dht_lookup_delay_s=dht_delay,
                seed_objects=holds,
                fetch=fetch,
                host=host,
                connection_manager=connection_manager,
            )
        )
    return tuple(out)


def _holds(t: Table, objects: Mapping[str, ObjectSpec], source: str) -> tuple[HoldSpec, ...]:
    value = t.get("seed_objects", [])
    if not isinstance(value, list):
        raise t.error("seed_objects", "must be a list of object names or tables")
    out = []
    for j, item in enumerate(value):
        path = f"{t.path}.seed_objects[{j}]"
        if isinstance(item, str):
            item = {"object": item}
        h = Table(item, path, source)
        obj = h.string("object")
        if obj is None:
            raise h.error("object", f"required; objects: {', '.join(sorted(objects)) or '(none)'}")
        if obj not in objects:
            raise h.error(
                "object",
                f"unknown object {obj!r}; objects: {', '.join(sorted(objects)) or '(none)'}",
            )
        rng = h.get("range")
        start, stop = 0, None
        if rng is not None:
            if (
                not isinstance(rng, list)
                or len(rng) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in rng)
                or rng[0] < 0
                or rng[1] <= rng[0]
            ):
                raise h.error(
                    "range", f"must be [start, stop] block indices, 0 <= start < stop, got {rng!r}"
                )
            start, stop = rng
        every = h.integer("every", 1, 1)
        offset = h.integer("offset", 0, 0)
        distribute = h.string("distribute", "all", HOLD_DISTRIBUTIONS)
        h.done()
        if start + offset > 0:  # block 0 is always there; otherwise the choice may be empty
            n = block_count(objects[obj])
            if start + offset >= (n if stop is None else min(stop, n)):
                raise h.error(
                    "range" if rng is not None else "offset",
                    f"selects no block of {obj!r}, which has {n} blocks; allowed: "
                    f"start + offset < min(stop, {n})",
                )
        out.append(HoldSpec(obj, start, stop, every, offset, distribute))
    return tuple(out)


def _fetch(t: Table, objects: set[str], source: str) -> FetchSpec | None:
    value = t.get("fetch")
    if value is None:
        return None
    if isinstance(value, str):
        value = {"object": value}
    f = Table(value, f"{t.path}.fetch", source)
    obj = f.string("object")
    if obj is None:
        raise f.error("object", f"required; objects: {', '.join(sorted(objects)) or '(none)'}")
    if obj not in objects:
        raise f.error(
            "object", f"unknown object {obj!r}; objects: {', '.join(sorted(objects)) or '(none)'}"
        )
    pattern = f.string("pattern", "dag-walk", PATTERNS)
    start = f.duration("start", 0.0)
    stagger = f.duration("stagger", 0.0)
    f.done()
    return FetchSpec(obj, pattern, start, stagger)


def _strategy_configs(data: Any, source: str) -> dict[str, Any]:
    t = Table(data, "strategy", source)
    out: dict[str, Any] = {}
    for name, strat in STRATEGIES.items():
        overrides = t.get(name, {})
        o = Table(overrides, f"strategy.{name}", source)
        cls = strat.config_class
        known = [f.name for f in fields(cls)]
        for key in overrides:
            if key not in known:
                raise o.error(key, f"unknown parameter; allowed: {', '.join(known)}")
        try:
            out[name] = cls(**overrides)
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"{source}: strategy.{name}: {exc}") from None
    t.done()
    return out


def _registry(data: Any, source: str) -> RegistrySpec:
    t = Table(data, "registry", source)
    spec = RegistrySpec(
        region=t.string("region"),
        upload_Bps=t.bandwidth("upload", None),
        connections=t.integer("connections", 3, 1),
    )
    t.done()
    return spec


def _sweep(data: Any, source: str) -> dict[str, tuple[Any, ...]]:
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: sweep: must be a table of parameter = [values]")
    out = {}
    for key, values in data.items():
        parts = key.split(".")
        if not all(parts) or (parts[0] in NAMED_ARRAYS and len(parts) < 3):
            raise ScenarioError(
                f"{source}: sweep.{key}: not a parameter path; allowed: dotted paths such as "
                "groups.<name>.<field>, objects.<name>.<field>, faults.<name>.<field>, "
                "network.transport, strategy.master.max_split"
            )
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"{source}: sweep.{key}: must be a non-empty list of values")
        out[key] = tuple(values)
    return out
