"""Loading a scenario: TOML in (``tomllib``), validated :mod:`~experiments.scenario.specs` out.

Every error is one :class:`ScenarioError` naming the file, the field and what is allowed.
Nothing is evaluated or imported from a file: it is only parsed as TOML. The ``[[faults]]``
tables are read by :mod:`experiments.scenario.load_faults`.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import math
import numbers
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, NoReturn

from experiments.hosts import PRESETS, HostPreset
from experiments.scenario.cost import SEED_MAX, check_blocks, check_cost, check_runs
from experiments.scenario.errors import ScenarioError
from experiments.scenario.limits import (
    ALLOW_LARGE,
    DEFAULT_LIMITS,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    Limits,
)
from experiments.scenario.load_faults import member_group, parse_faults, shown_members
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
from experiments.scenario.table import NAME_MAX, Table
from models.dag import BLOCK_SIZE_LIMIT
from models.fetch import PATTERNS
from models.peer import STRATEGIES
from sim.latency import EdgeLatency, RegionMatrixLatency, latency_model
from sim.transports import TRANSPORTS
from sim.units import BANDWIDTH_PRESETS, bandwidth_preset, brief, parse_size

__all__ = [
    "GROUP_KEYS",
    "NAMED_ARRAYS",
    "load_scenario",
    "parse_scenario",
    "parse_toml",
    "plain",
    "preset_raw",
    "read_text",
    "set_path",
]

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


def preset_raw(name: str) -> dict[str, Any]:
    """A preset shipped in ``experiments/scenarios/`` (``name`` relative to it, e.g.
    ``"container-image.toml"``) as a fresh TOML dict, to change with :func:`set_path` and
    parse with :func:`parse_scenario`."""
    import tomllib
    from importlib import resources

    text = resources.files("experiments").joinpath("scenarios", name).read_text("utf-8")
    return tomllib.loads(text)


def load_scenario(path: str | Path, *, limits: Limits | None = DEFAULT_LIMITS) -> Scenario:
    """Read and validate a scenario (or sweep) file: a UTF-8 TOML file of at most
    :data:`~experiments.scenario.limits.MAX_FILE_BYTES`; ``limits`` as :func:`parse_scenario`."""
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise ScenarioError(
            f"{brief(path)}: not a file path; allowed: a str or a pathlib.Path naming a file"
        )
    source = os.fspath(path)
    if not isinstance(source, str):
        raise ScenarioError(f"{brief(path)}: not a file path; allowed: a str or a pathlib.Path")
    return parse_scenario(parse_toml(read_text(source), source), source=source, limits=limits)


def read_text(source: str) -> str:
    """The text of the file ``source``: a regular file of at most
    :data:`~experiments.scenario.limits.MAX_FILE_BYTES`, in UTF-8 (no byte-order mark). Every
    problem is a :class:`ScenarioError` naming the file and what is wrong with it."""
    if source == "":
        raise ScenarioError("'': no file named (an empty path); allowed: a scenario file")
    if "\0" in source:
        raise ScenarioError(f"{brief(source)}: not a file path (it contains a NUL character)")
    try:
        info = os.stat(source)
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such file") from None
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(f"{source}: is a folder; allowed: a scenario file (TOML)")
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(
            f"{source}: not a regular file (a device, pipe or socket); "
            "allowed: a scenario file (TOML)"
        )
    too_big = (
        f"{source}: too large ({{}} bytes); allowed: up to {MAX_FILE_BYTES:,} bytes "
        f"({MAX_FILE_BYTES // 2**20} MiB)"
    )
    if info.st_size > MAX_FILE_BYTES:
        raise ScenarioError(too_big.format(f"{info.st_size:,}"))
    try:
        with open(source, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(too_big.format(f"more than {MAX_FILE_BYTES:,}"))
    return _decode(data, source)


_BOMS = (
    (b"\xef\xbb\xbf", "starts with a UTF-8 byte-order mark; allowed: UTF-8 without one (TOML)"),
    (b"\xff\xfe\x00\x00", "is UTF-32 (it starts with a byte-order mark); allowed: UTF-8 (TOML)"),
    (b"\x00\x00\xfe\xff", "is UTF-32 (it starts with a byte-order mark); allowed: UTF-8 (TOML)"),
    (b"\xff\xfe", "is UTF-16 (it starts with a byte-order mark); allowed: UTF-8 (TOML)"),
    (b"\xfe\xff", "is UTF-16 (it starts with a byte-order mark); allowed: UTF-8 (TOML)"),
)


def _decode(data: bytes, source: str) -> str:
    for bom, message in _BOMS:
        if data.startswith(bom):
            raise ScenarioError(f"{source}: {message}")
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        kind = "UTF-16 or UTF-32 text" if _looks_wide(data) else "binary"
        raise ScenarioError(
            f"{source}: not a text file: a NUL byte at line {line} ({kind}?); "
            "allowed: UTF-8 text (TOML)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(
            f"{source}: not UTF-8: byte 0x{data[exc.start]:02x} at line {line}, column {column} "
            "(Latin-1 or another encoding?); allowed: UTF-8 text (TOML)"
        ) from None


def _looks_wide(data: bytes) -> bool:
    """Whether ``data`` looks like UTF-16 or UTF-32 text: almost only NUL bytes at odd or at
    even offsets, and many fewer at the others (UTF-16: none; UTF-32: half)."""
    head = data[:4096]
    even, odd = head[0::2], head[1::2]
    if not even or not odd:
        return False
    zeros = sorted((even.count(0) / len(even), odd.count(0) / len(odd)))
    return zeros[0] < 0.6 and zeros[1] > 0.9


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """``tomllib.loads(text)``; every failure a :class:`ScenarioError` naming ``source``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(
            f"{source}: not valid TOML here: arrays or tables nested too deeply; "
            f"allowed: up to {MAX_DEPTH} levels"
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        reason = str(exc).split(";")[0]
        raise ScenarioError(
            f"{source}: not valid TOML here: {reason}; allowed: integers of up to 4300 digits"
        ) from None


_SCALARS = (str, bool, int, float, datetime.datetime, datetime.date, datetime.time)


def plain(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A copy of ``data`` made of TOML values only (tables with string keys, arrays, strings,
    numbers, booleans, dates), at most :data:`~experiments.scenario.limits.MAX_DEPTH` deep.
    ``numbers.Integral`` values become ``int`` and other ``numbers.Real`` ones ``float``, so a
    dict built in Python (numpy numbers, tuples) validates like a file."""

    def copy(value: Any, path: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ScenarioError(
                f"{source}: {path}: nested too deeply; allowed: up to {MAX_DEPTH} levels"
            )
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ScenarioError(
                        f"{source}: {path or 'file'}: keys must be strings, got {brief(key)}"
                    )
                out[key] = copy(item, f"{path}.{key}" if path else key, depth + 1)
            return out
        if isinstance(value, list | tuple):
            return [copy(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):
            return float(value)
        raise ScenarioError(
            f"{source}: {path}: not a TOML value (string, number, boolean, date, array or "
            f"table), got {brief(value)}"
        )

    return copy(data, "", 1)


def parse_scenario(
    data: Mapping[str, Any], *, source: str = "<scenario>", limits: Limits | None = DEFAULT_LIMITS
) -> Scenario:
    """Validate a scenario given as a dict (what ``tomllib`` returns).

    Besides every field's type, range and unit, it refuses what cannot succeed (see
    ``docs/scenarios.md``, "Checking a scenario") and what exceeds ``limits`` (peers, blocks,
    expected events and memory of a run, sweep points and runs; ``None``: no limits)."""
    source = str(source)
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: file: must be a table (a dict), got {brief(data)}")
    if limits is not None and not isinstance(limits, Limits):
        raise ScenarioError(f"{source}: limits: must be a Limits or None, got {brief(limits)}")
    raw = plain(data, source)
    top = Table(raw, "", source)
    name = top.name("name", "required: a name for the scenario")
    _check_name(top, name)
    seed = top.integer("seed", 1, 0, SEED_MAX)
    replications = top.integer("replications", 1, 1)
    max_sim_time_s = top.duration("max_sim_time_s", 3600.0)
    if max_sim_time_s <= 0:
        raise top.error("max_sim_time_s", "must be > 0 seconds")
    for key in (*NAMED_ARRAYS, "hosts"):
        _check_entries(raw.get(key), key, source, limits)
    network = _network(top.get("network", {}), source)
    objects = _objects(top.get("objects", []), source, limits)
    defaults = Table(top.get("defaults", {}), "defaults", source)
    for key in GROUP_KEYS:
        defaults.get(key)
    defaults.done()
    hosts = parse_hosts(top.get("hosts", {}), source)
    groups = _groups(top.get("groups", []), defaults.data, objects, network, hosts, source, limits)
    if limits is not None and sum(g.count for g in groups) > limits.peers:
        biggest = max(groups, key=lambda g: g.count)
        raise ScenarioError(
            f"{source}: groups.{biggest.name}.count: the run would have "
            f"{sum(g.count for g in groups):,} peers; allowed: up to {limits.peers:,} peers "
            f"per run ({ALLOW_LARGE})"
        )
    configs = _strategy_configs(top.get("strategy", {}), source)
    registry = _registry(top.get("registry", {}), source)
    faults = parse_faults(top.get("faults", []), groups, source, network=network)
    sweep = _sweep(top.get("sweep", {}), raw, source)
    top.done()
    if any(g.strategy == "registry" for g in groups):
        _check_registry(groups, source)
        if faults:
            raise ScenarioError(
                f"{source}: faults: not supported with the registry baseline (strategy "
                f"'registry'); allowed strategies with faults: {', '.join(STRATEGIES)}"
            )
    else:
        _check_fetches(objects, groups, network, max_sim_time_s, source)
    if isinstance(network.latency, EdgeLatency):
        _check_edge_latency(network, groups, source)
    check_topology(network, groups, source)
    scenario = Scenario(
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
        limits=limits,
    )
    check_runs(sweep, replications, source, limits)
    if not sweep:  # a sweep's points are checked one by one as the grid expands
        check_cost(scenario, limits)
    return scenario


def _check_entries(value: Any, path: str, source: str, limits: Limits | None) -> None:
    """Refuse a list (or a table of tables, as ``[hosts]``) of more than ``limits.entries``
    entries."""
    if limits is not None and isinstance(value, list | Mapping) and len(value) > limits.entries:
        raise ScenarioError(
            f"{source}: {path}: {len(value):,} entries; allowed: up to {limits.entries:,} "
            f"({ALLOW_LARGE})"
        )


_NAME_MAX = NAME_MAX
"""Longest scenario name, in UTF-8 bytes: run ids (``<name>-p000-r00``) name the files of each
run."""


def _check_name(top: Table, name: str) -> None:
    """The scenario's name makes run ids, and run ids make file names in the output folder:
    no path separators, no control characters, not too long."""
    bad = next((c for c in name if c in "/\\" or not c.isprintable()), None)
    if bad is not None:
        raise top.error(
            "name",
            f"must not contain {bad!r} (it names the run files); got {brief(name)}; "
            "allowed: printable characters but / and \\",
        )
    if len(name.encode("utf-8")) > _NAME_MAX:
        raise top.error(
            "name",
            f"too long ({len(name.encode('utf-8'))} bytes in UTF-8); allowed: up to {_NAME_MAX}",
        )


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


_COVER_MAX = 10_000_000
"""Objects of more blocks than this are not checked block by block for a holder."""


def _check_fetches(
    objects: tuple[ObjectSpec, ...],
    groups: tuple[GroupSpec, ...],
    network: NetworkSpec,
    max_sim_time_s: float,
    source: str,
) -> None:
    """Refuse fetches that cannot succeed: a group fetching an object it holds in full, a fetch
    that starts (or whose last member starts) at or after ``max_sim_time_s``, and an object
    some block of which no group a fetcher can reach holds (with a ``region-mesh`` and
    ``inter_region = "none"``, only groups of the fetcher's region count)."""
    by_name = {o.name: o for o in objects}
    isolated = network.topology == "region-mesh" and network.inter_region == "none"
    for g in groups:
        f = g.fetch
        if f is None:
            continue
        path = f"groups.{g.name}.fetch"
        own = [
            h
            for h in g.seed_objects
            if h.object == f.object and (h.distribute == "all" or g.count == 1)
        ]
        if own and _first_missing(by_name[f.object], own) is None:
            raise ScenarioError(
                f"{source}: {path}: the group fetches {f.object!r} and already holds every "
                "block of it (seed_objects), so its members would count as leeches done at "
                "time 0; allowed: fetch an object the group does not hold in full"
            )
        if f.start_s >= max_sim_time_s:
            raise ScenarioError(
                f"{source}: {path}.start: {f.start_s:g} s is not before max_sim_time_s "
                f"({max_sim_time_s:g} s), so no member would fetch; allowed: start < "
                "max_sim_time_s"
            )
        last = f.start_s + (g.count - 1) * f.stagger_s
        if last >= max_sim_time_s:
            raise ScenarioError(
                f"{source}: {path}.stagger: member {g.count - 1} would start at {last:g} s, "
                f"not before max_sim_time_s ({max_sim_time_s:g} s); allowed: start + "
                "(count - 1) x stagger < max_sim_time_s"
            )
        reach = [x for x in groups if not isolated or x.region == g.region]
        holders = [h for x in reach for h in x.seed_objects]
        where = f" in region {g.region!r} (network.inter_region = 'none')" if isolated else ""
        missing = _first_missing(by_name[f.object], [h for h in holders if h.object == f.object])
        if missing is None:
            continue
        what = (
            "no group seeds it"
            if missing < 0
            else f"no group holds its block {missing} (of {block_count(by_name[f.object])})"
        )
        raise ScenarioError(
            f"{source}: {path}.object: {f.object!r} can never be fetched: {what}{where}; "
            "allowed: an object every block of which a group the fetchers reach seeds "
            "(seed_objects)"
        )


def _first_missing(obj: ObjectSpec, holds: list[HoldSpec]) -> int | None:
    """The first block of ``obj`` no hold covers (-1 if there is no hold at all), or None."""
    if not holds:
        return -1
    n = block_count(obj)
    if any(
        h.start + h.offset == 0 and h.every == 1 and (h.stop is None or h.stop >= n) for h in holds
    ):
        return None
    if n > _COVER_MAX:
        return None
    covered = bytearray(n)
    for h in holds:
        stop = n if h.stop is None else min(h.stop, n)
        picked = range(h.start + h.offset, stop, h.every)
        covered[picked.start : picked.stop : picked.step] = b"\x01" * len(picked)
    hole = covered.find(0)
    return None if hole < 0 else hole


def _check_edge_latency(network: NetworkSpec, groups: tuple[GroupSpec, ...], source: str) -> None:
    """Edge latencies name peers (``<group>-<i>``) and cover every connection the topology
    surely has (gateways of a region-mesh, drawn per run, are checked when the run is built)."""
    latency = network.latency
    assert isinstance(latency, EdgeLatency)
    by_name = {g.name: g for g in groups}
    field_ = "network.latency.values"
    for pair in latency.values:
        for peer in pair:
            if member_group(peer, by_name) is None:
                raise ScenarioError(
                    f"{source}: {field_}: unknown peer {brief(peer)}; allowed: the peers "
                    f"<group>-<i>: {shown_members(groups, 6)}"
                )
    every = network.topology == "full-mesh" or network.inter_region == "full"
    meshes: dict[str | None, list[str]] = {}
    for g in groups:
        meshes.setdefault(None if every else g.region, []).extend(g.members())
    for members in meshes.values():
        for a, b in itertools.combinations(members, 2):
            have = (a, b) in latency.values and (b, a) in latency.values
            if latency.symmetric:
                have = (a, b) in latency.values or (b, a) in latency.values
            if not have:
                raise ScenarioError(
                    f"{source}: {field_}: no latency for the connection {a!r} - {b!r}; "
                    "allowed: a value for every connection (both directions if symmetric = "
                    "false)"
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
    jitter = t.number("jitter", 0.0, 0.0, _JITTER_MAX)
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


_JITTER_MAX = 10.0
"""Largest ``network.jitter``: a standard deviation of 10 x the one-way latency (Testground's
``jitter_pct`` goes to 100 %, a fraction of 1)."""


def _bandwidth_or_zero(t: Table, key: str) -> float:
    value = t.data[key]
    if value in (0, "0"):
        return 0.0
    return t.bandwidth(key, value)


def _objects(data: Any, source: str, limits: Limits | None) -> tuple[ObjectSpec, ...]:
    if not isinstance(data, list):
        raise ScenarioError(f"{source}: objects: must be an array of tables ([[objects]])")
    out: list[ObjectSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        t = Table(item, f"objects[{i}]", source)
        name = t.name("name")
        t.path = f"objects.{name}"
        if name in seen:
            raise t.error("name", f"duplicate object name {name!r}")
        seen.add(name)
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
        if spec.type != "blocks" and spec.chunk_bytes > BLOCK_SIZE_LIMIT:
            raise t.error(
                "chunk_size",
                f"{spec.chunk_bytes} bytes; allowed: up to {BLOCK_SIZE_LIMIT} bytes "
                "(go-unixfs' BlockSizeLimit)",
            )
        check_blocks(spec, source, limits)
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
    limits: Limits | None,
) -> tuple[GroupSpec, ...]:
    if not isinstance(data, list) or not data:
        raise ScenarioError(f"{source}: groups: required: at least one [[groups]] table")
    names = {o.name for o in objects}
    by_object = {o.name: o for o in objects}
    out: list[GroupSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise ScenarioError(f"{source}: groups[{i}]: must be a table")
        merged = {**defaults, **item}
        t = Table(merged, f"groups[{i}]", source)
        name = t.name("name")
        t.path = f"groups.{name}"
        if name in seen:
            raise t.error("name", f"duplicate group name {name!r}")
        seen.add(name)
        count = t.integer("count", 1, 1)
        strategy = t.string("strategy", "poc", RUN_STRATEGIES)
        region = t.name("region") if t.get("region") is not None else None
        instance = t.string("instance", None, tuple(sorted(BANDWIDTH_PRESETS)))
        up, down = bandwidth_preset(instance) if instance else (math.inf, math.inf)
        upload = t.bandwidth("upload", None) if t.has("upload") else up
        download = t.bandwidth("download", None) if t.has("download") else down
        t.get("upload")
        t.get("download")
        bs_latency = t.duration("blockstore_latency", 0.0)
        routing = t.string("routing", "nil", ROUTINGS)
        dht_delay = t.duration("dht_lookup_delay", 1.0)
        holds = _holds(t, by_object, source, limits)
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


def _holds(
    t: Table, objects: Mapping[str, ObjectSpec], source: str, limits: Limits | None
) -> tuple[HoldSpec, ...]:
    value = t.get("seed_objects", [])
    if not isinstance(value, list):
        raise t.error("seed_objects", "must be a list of object names or tables")
    _check_entries(value, t.path_of("seed_objects"), source, limits)
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
        except (TypeError, ValueError, OverflowError) as exc:
            raise ScenarioError(f"{source}: strategy.{name}: {exc}") from None
    t.done()
    return out


def _registry(data: Any, source: str) -> RegistrySpec:
    t = Table(data, "registry", source)
    spec = RegistrySpec(
        region=t.name("region") if t.get("region") is not None else None,
        upload_Bps=t.bandwidth("upload", None),
        connections=t.integer("connections", 3, 1),
    )
    t.done()
    return spec


def _sweep(data: Any, raw: dict[str, Any], source: str) -> dict[str, tuple[Any, ...]]:
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: sweep: must be a table of parameter = [values]")
    out = {}
    probe = copy.deepcopy(raw)
    probe.pop("sweep", None)
    for key, values in data.items():
        parts = key.split(".")
        if len(key) > 3 * NAME_MAX:
            raise ScenarioError(
                f"{source}: sweep.{key[:40]}...: too long ({len(key)} characters); allowed: "
                f"up to {3 * NAME_MAX}"
            )
        if not all(parts) or (parts[0] in NAMED_ARRAYS and len(parts) < 3):
            raise ScenarioError(
                f"{source}: sweep.{key}: not a parameter path; allowed: dotted paths such as "
                "groups.<name>.<field>, objects.<name>.<field>, faults.<name>.<field>, "
                "network.transport, strategy.master.max_split"
            )
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"{source}: sweep.{key}: must be a non-empty list of values")
        set_path(probe, key, values[0], source)  # the path leads somewhere (as in point 0)
        out[key] = tuple(values)
    return out


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
        if key in NAMED_ARRAYS and isinstance(node, dict) and node is raw:
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
