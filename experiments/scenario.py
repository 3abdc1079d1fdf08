"""Scenario files: TOML in (``tomllib``), validated frozen dataclasses out.

Shaped after p2plab's cluster and scenario definitions (``reference/scenarios.md`` §1): named
groups of peers with a size, a region and an instance class, objects, which groups seed which
objects and which fetch them. Every field, its default and its unit is documented in
``docs/scenarios.md``. Every error is one :class:`ScenarioError` naming the file, the field
and what is allowed. Nothing is evaluated or imported from a file: it is only parsed as TOML.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.fetch import PATTERNS
from models.peer import STRATEGIES
from sim.latency import EdgeLatency, LatencyModel, RegionMatrixLatency, latency_model
from sim.transports import TRANSPORTS
from sim.units import (
    BANDWIDTH_PRESETS,
    bandwidth_preset,
    parse_bandwidth,
    parse_duration,
    parse_size,
)

if TYPE_CHECKING:
    from experiments.faults import FaultSpec

__all__ = [
    "FetchSpec",
    "GroupSpec",
    "HoldSpec",
    "NetworkSpec",
    "ObjectSpec",
    "RegistrySpec",
    "Scenario",
    "ScenarioError",
    "block_count",
    "load_scenario",
    "parse_scenario",
    "parse_size",
    "set_path",
]

RUN_STRATEGIES = (*STRATEGIES, "registry")
"""What a group's ``strategy`` may be: a Bitswap strategy, or ``registry`` (the baseline)."""
OBJECT_TYPES = ("file", "oci-image", "blocks")
TOPOLOGIES = ("full-mesh", "region-mesh")
ROUTINGS = ("nil", "dht")
DISTRIBUTIONS = ("all", "one-random-member")


class ScenarioError(ValueError):
    """Bad scenario input; the message names the file, the field and what is allowed."""


# --------------------------------------------------------------------------------- specs
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

    def members(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(self.count)]


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
    """What goes wrong during the run (:mod:`experiments.faults`)."""
    sweep: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    source: str = "<scenario>"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

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
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ScenarioError(
                f"{self.source}: replications: must be a whole number >= 1, got {n!r}"
            )
        return replace(self, replications=n)


# --------------------------------------------------------------------------------- reading
class _Table:
    """A TOML table being read: typed getters that know their path, and a check that nothing
    unknown is left over."""

    def __init__(self, data: Any, path: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{source}: {path or 'file'}: must be a table, got {data!r}")
        self.data = dict(data)
        self.path = path
        self.source = source
        self.allowed: list[str] = []

    def _field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {self._field(key)}: {message}")

    def get(self, key: str, default: Any = None) -> Any:
        self.allowed.append(key)
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        return key in self.data

    def str(self, key: str, default: Any = None, choices: tuple[str, ...] | None = None) -> Any:
        value = self.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {value!r}")
        if choices is not None and value not in choices:
            raise self.error(key, f"unknown value {value!r}; allowed: {', '.join(choices)}")
        return value

    def int(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be a whole number >= {minimum}, got {value!r}")
        if value < minimum:
            raise self.error(key, f"must be a whole number >= {minimum}, got {value!r}")
        return value

    def number(self, key: str, default: float, minimum: float = 0.0) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= minimum:
            raise self.error(key, f"must be a number >= {minimum}, got {value!r}")
        return float(value)

    def bool(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {value!r}")
        return value

    def duration(self, key: str, default: Any) -> float:
        return self._parsed(key, default, parse_duration)

    def bandwidth(self, key: str, default: Any) -> float:
        if self.get(key, default) is None:
            return math.inf
        return self._parsed(key, default, parse_bandwidth)

    def size(self, key: str, default: Any) -> int:
        return self._parsed(key, default, parse_size)

    def _parsed(self, key: str, default: Any, parse: Callable[..., Any]) -> Any:
        """``parse(value, field=...)`` of the key's value; its ValueError as a ScenarioError."""
        try:
            return parse(self.get(key, default), field=self._field(key))
        except ValueError as exc:
            raise ScenarioError(f"{self.source}: {exc}") from None

    def done(self) -> None:
        unknown = [k for k in self.data if k not in self.allowed]
        if unknown:
            raise self.error(
                unknown[0], f"unknown key; allowed: {', '.join(sorted(set(self.allowed)))}"
            )


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
)


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
    top = _Table(raw, "", source)
    name = top.str("name")
    if not name:
        raise top.error("name", "required: a name for the scenario")
    _check_name(top, name)
    seed = top.int("seed", 1, 0)
    replications = top.int("replications", 1, 1)
    max_sim_time_s = top.duration("max_sim_time_s", 3600.0)
    if max_sim_time_s <= 0:
        raise top.error("max_sim_time_s", "must be > 0 seconds")
    network = _network(top.get("network", {}), source)
    objects = _objects(top.get("objects", []), source)
    defaults = _Table(top.get("defaults", {}), "defaults", source)
    for key in GROUP_KEYS:
        defaults.get(key)
    defaults.done()
    groups = _groups(top.get("groups", []), defaults.data, objects, network, source)
    configs = _strategy_configs(top.get("strategy", {}), source)
    registry = _registry(top.get("registry", {}), source)
    from experiments.faults import parse_faults  # faults reads tables with this module's helpers

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
        source=source,
        raw=raw,
    )


_NAME_MAX = 200
"""Longest scenario name: run ids (``<name>-p000-r00``) name the files of each run."""


def _check_name(top: _Table, name: str) -> None:
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
    t = _Table(data, "network", source)
    transport = t.str("transport", "fifo", tuple(TRANSPORTS))
    latency_spec = t.get("latency", {"model": "region-matrix"})
    try:
        latency = latency_model(latency_spec, field="network.latency")
    except ValueError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    topology = t.str("topology", "full-mesh", TOPOLOGIES)
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
    cid_version = t.int("cid_version", 1, 0)
    if cid_version not in (0, 1):
        raise t.error("cid_version", f"must be 0 or 1, got {cid_version}")
    jitter = t.number("jitter", 0.0)
    priority_lane = t.bool("priority_lane", False)
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
    )


def _bandwidth_or_zero(t: _Table, key: str) -> float:
    value = t.data[key]
    if value in (0, "0"):
        return 0.0
    return t.bandwidth(key, value)


def _objects(data: Any, source: str) -> tuple[ObjectSpec, ...]:
    if not isinstance(data, list):
        raise ScenarioError(f"{source}: objects: must be an array of tables ([[objects]])")
    out: list[ObjectSpec] = []
    for i, item in enumerate(data):
        t = _Table(item, f"objects[{i}]", source)
        name = t.str("name")
        if not name:
            raise t.error("name", "required")
        t.path = f"objects.{name}"
        if any(o.name == name for o in out):
            raise t.error("name", f"duplicate object name {name!r}")
        kind = t.str("type", None, OBJECT_TYPES)
        if kind is None:
            raise t.error("type", f"required; allowed: {', '.join(OBJECT_TYPES)}")
        spec = ObjectSpec(name=name, type=kind)
        if kind == "file":
            spec = replace(
                spec,
                size_bytes=t.size("size", None) if t.has("size") else _missing(t, "size"),
                chunk_bytes=t.size("chunk_size", 262_144),
                max_links=t.int("max_links", 174, 2),
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
                max_links=t.int("max_links", 174, 2),
            )
        else:
            spec = replace(
                spec,
                count=t.int("count", 0, 1) if t.has("count") else _missing(t, "count"),
                block_bytes=t.size("block_size", 8000),
                root_bytes=t.size("root_size", 800),
            )
        t.done()
        out.append(spec)
    return tuple(out)


def _missing(t: _Table, key: str) -> Any:
    raise t.error(key, "required")


def _groups(
    data: Any,
    defaults: Mapping[str, Any],
    objects: tuple[ObjectSpec, ...],
    network: NetworkSpec,
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
        t = _Table(merged, f"groups[{i}]", source)
        name = t.str("name")
        if not name:
            raise t.error("name", "required")
        t.path = f"groups.{name}"
        if any(g.name == name for g in out):
            raise t.error("name", f"duplicate group name {name!r}")
        count = t.int("count", 1, 1)
        strategy = t.str("strategy", "poc", RUN_STRATEGIES)
        region = t.str("region")
        instance = t.str("instance", None, tuple(sorted(BANDWIDTH_PRESETS)))
        up, down = bandwidth_preset(instance) if instance else (math.inf, math.inf)
        upload = t.bandwidth("upload", None) if t.has("upload") else up
        download = t.bandwidth("download", None) if t.has("download") else down
        t.get("upload")
        t.get("download")
        bs_latency = t.duration("blockstore_latency", 0.0)
        routing = t.str("routing", "nil", ROUTINGS)
        dht_delay = t.duration("dht_lookup_delay", 1.0)
        holds = _holds(t, {o.name: o for o in objects}, source)
        fetch = _fetch(t, names, source)
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
            )
        )
    return tuple(out)


@functools.lru_cache(maxsize=64)
def block_count(spec: ObjectSpec) -> int:
    """Number of blocks of an object (its DAG built as a run builds it)."""
    from models.dag import CidAllocator, chunked_file, oci_image

    alloc = CidAllocator()
    if spec.type == "file":
        dag = chunked_file(
            spec.size_bytes, cid_alloc=alloc, chunk_size=spec.chunk_bytes, max_links=spec.max_links
        )
    elif spec.type == "oci-image":
        dag = oci_image(
            list(spec.layers),
            cid_alloc=alloc,
            config_size=spec.config_bytes,
            chunk_size=spec.chunk_bytes,
            max_links=spec.max_links,
        )
    else:
        return spec.count
    return len(dag.cids_in_order)


def _holds(t: _Table, objects: Mapping[str, ObjectSpec], source: str) -> tuple[HoldSpec, ...]:
    value = t.get("seed_objects", [])
    if not isinstance(value, list):
        raise t.error("seed_objects", "must be a list of object names or tables")
    out = []
    for j, item in enumerate(value):
        path = f"{t.path}.seed_objects[{j}]"
        if isinstance(item, str):
            item = {"object": item}
        h = _Table(item, path, source)
        obj = h.str("object")
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
        every = h.int("every", 1, 1)
        offset = h.int("offset", 0, 0)
        distribute = h.str("distribute", "all", DISTRIBUTIONS)
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


def _fetch(t: _Table, objects: set[str], source: str) -> FetchSpec | None:
    value = t.get("fetch")
    if value is None:
        return None
    if isinstance(value, str):
        value = {"object": value}
    f = _Table(value, f"{t.path}.fetch", source)
    obj = f.str("object")
    if obj is None:
        raise f.error("object", f"required; objects: {', '.join(sorted(objects)) or '(none)'}")
    if obj not in objects:
        raise f.error(
            "object", f"unknown object {obj!r}; objects: {', '.join(sorted(objects)) or '(none)'}"
        )
    pattern = f.str("pattern", "dag-walk", PATTERNS)
    start = f.duration("start", 0.0)
    stagger = f.duration("stagger", 0.0)
    f.done()
    return FetchSpec(obj, pattern, start, stagger)


def _strategy_configs(data: Any, source: str) -> dict[str, Any]:
    t = _Table(data, "strategy", source)
    out: dict[str, Any] = {}
    for name, strat in STRATEGIES.items():
        overrides = t.get(name, {})
        o = _Table(overrides, f"strategy.{name}", source)
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
    t = _Table(data, "registry", source)
    spec = RegistrySpec(
        region=t.str("region"),
        upload_Bps=t.bandwidth("upload", None),
        connections=t.int("connections", 3, 1),
    )
    t.done()
    return spec


def _sweep(data: Any, source: str) -> dict[str, tuple[Any, ...]]:
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: sweep: must be a table of parameter = [values]")
    out = {}
    for key, values in data.items():
        parts = key.split(".")
        if not all(parts) or (parts[0] in _NAMED_ARRAYS and len(parts) < 3):
            raise ScenarioError(
                f"{source}: sweep.{key}: not a parameter path; allowed: dotted paths such as "
                "groups.<name>.<field>, objects.<name>.<field>, faults.<name>.<field>, "
                "network.transport, strategy.master.max_split"
            )
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"{source}: sweep.{key}: must be a non-empty list of values")
        out[key] = tuple(values)
    return out


# --------------------------------------------------------------------------------- sweeps
_NAMED_ARRAYS = ("groups", "objects", "faults")
"""Arrays of tables whose entries a parameter path addresses by name."""


def set_path(raw: dict[str, Any], path: str, value: Any, source: str = "<scenario>") -> None:
    """Set a dotted parameter path in a raw scenario dict.

    ``groups.<name>.<field>``, ``objects.<name>.<field>`` and ``faults.<name>.<field>`` address
    array entries by name (a fault without a ``name`` is ``<kind>-<index>``);
    other paths are nested tables (``strategy.master.max_split``, ``network.latency.one_way``,
    ``defaults.strategy``, ``max_sim_time_s``).
    """
    parts = path.split(".")
    node: Any = raw
    i = 0
    while i < len(parts) - 1:
        key = parts[i]
        if key in _NAMED_ARRAYS and isinstance(node, dict) and node is raw:
            entries = node.get(key, [])
            name = parts[i + 1] if i + 1 < len(parts) - 1 else None
            names = [_entry_name(key, j, e) for j, e in enumerate(entries)]
            match = [e for e, n in zip(entries, names, strict=True) if n == name]
            if not match:
                raise ScenarioError(
                    f"{source}: sweep.{path}: no {key[:-1]} named {name!r}; "
                    f"{key}: {', '.join(map(str, names)) or '(none)'}"
                )
            node = match[0]
            i += 2
            continue
        nxt = node.get(key) if isinstance(node, dict) else None
        if nxt is None:
            nxt = node[key] = {}
        if not isinstance(nxt, dict):
            raise ScenarioError(f"{source}: sweep.{path}: {key!r} is not a table")
        node = nxt
        i += 1
    node[parts[-1]] = value


def _entry_name(array: str, index: int, entry: Any) -> Any:
    if not isinstance(entry, dict):
        return None
    if array == "faults" and "name" not in entry:
        return f"{entry.get('kind')}-{index}"
    return entry.get("name")


def grid(scenario: Scenario) -> list[tuple[dict[str, Any], Scenario]]:
    """The sweep's points in file order (the first parameter varies slowest), each as
    (parameter values, the scenario with them applied). No sweep: one point, itself."""
    if not scenario.sweep:
        return [({}, scenario)]
    keys = list(scenario.sweep)
    out = []
    for values in itertools.product(*(scenario.sweep[k] for k in keys)):
        raw = copy.deepcopy(dict(scenario.raw))
        raw.pop("sweep", None)
        point = dict(zip(keys, values, strict=True))
        for key, value in point.items():
            set_path(raw, key, value, scenario.source)
        try:
            out.append((point, parse_scenario(raw, source=scenario.source)))
        except ScenarioError as exc:
            where = ", ".join(f"{k} = {v!r}" for k, v in point.items())
            raise ScenarioError(f"{exc} (at sweep point {where})") from None
    return out


# --------------------------------------------------------------------------------- writing
def _bw(value: float) -> str:
    return "unlimited" if math.isinf(value) else f"{value:.17g} B/s"


def resolved_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in, as a TOML-ready dict that loads back to an
    equal :class:`Scenario` (what ``scenario.toml`` in an output folder holds)."""
    from dataclasses import asdict

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
    if scenario.faults:
        from experiments.faults import fault_dict

        out["faults"] = [fault_dict(f) for f in scenario.faults]
    if scenario.sweep:
        out["sweep"] = {k: list(v) for k, v in scenario.sweep.items()}
    return out


def write_resolved(scenario: Scenario, path: str | Path) -> None:
    """Write :func:`resolved_dict` as TOML."""
    import tomli_w

    Path(path).write_text(tomli_w.dumps(resolved_dict(scenario)), encoding="utf-8")
