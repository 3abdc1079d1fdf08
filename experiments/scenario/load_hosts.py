"""Hosts in a scenario: the ``[hosts.<name>]`` tables of custom hosts, and writing them back.

A group names its host with ``host = "<name>"``: a preset of :mod:`experiments.hosts` or a
host the file defines. A custom host starts from ``base`` (a preset; ``ideal`` if left out)
and changes any of its numbers, written with units as elsewhere in a scenario: durations
(``"4 us"``, ``"1.4 ms"``, or a number of seconds), rates (``"257 MB/s"``, ``"10 Gbit/s"``,
``"unlimited"``, or a number of **bits** per second, as for bandwidths), counts as whole
numbers. Its keys are the fields of :class:`~sim.host.HostSpec`, :class:`~sim.host.DiskSpec`
(``disk = {...}``) and :class:`~models.hostwork.HostWork` (``work = {...}``) with ``_s``
dropped and ``_Bps`` written ``_rate`` (:data:`HOST_KEYS`, :data:`DISK_KEYS`,
:data:`WORK_KEYS`); every key and its meaning is in ``docs/scenarios.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from experiments.hosts import PRESETS, HostPreset
from experiments.scenario.errors import ScenarioError
from experiments.scenario.table import Table, name_problem
from models.hostwork import DATASTORES
from sim.host import CIPHERS
from sim.units import brief, check_number

__all__ = [
    "CORES_MAX",
    "DISK_KEYS",
    "HOST_KEYS",
    "WORK_KEYS",
    "host_dict",
    "parse_hosts",
]

# TOML key -> (model field, how it is read)
HOST_KEYS: Mapping[str, tuple[str, str]] = {
    "cores": ("cores", "count"),
    "capacity_cores": ("capacity_cores", "number"),
    "send_message": ("send_message_s", "duration"),
    "send_rate": ("send_Bps", "rate"),
    "receive_message": ("receive_message_s", "duration"),
    "receive_rate": ("receive_Bps", "rate"),
    "cipher": ("cipher", "cipher"),
    "cipher_rate": ("cipher_Bps", "rate"),
    "stream_open": ("stream_open_s", "duration"),
}
"""The keys of a ``[hosts.<name>]`` table that set :class:`~sim.host.HostSpec` fields."""
DISK_KEYS: Mapping[str, tuple[str, str]] = {
    "write_rate": ("write_Bps", "rate"),
    "read_rate": ("read_Bps", "rate"),
    "write_iops": ("write_iops", "iops"),
    "read_iops": ("read_iops", "iops"),
    "write_latency": ("write_latency_s", "duration"),
    "read_latency": ("read_latency_s", "duration"),
}
"""The keys of its ``disk`` table (:class:`~sim.host.DiskSpec`)."""
WORK_KEYS: Mapping[str, tuple[str, str]] = {
    "receive_message": ("receive_message_s", "duration"),
    "receive_entry": ("receive_entry_s", "duration"),
    "hash_rate": ("hash_Bps", "rate"),
    "send_message": ("send_message_s", "duration"),
    "send_entry": ("send_entry_s", "duration"),
    "datastore": ("datastore", "datastore"),
    "has": ("has_s", "duration"),
    "get": ("get_s", "duration"),
    "put": ("put_s", "duration"),
}
"""The keys of its ``work`` table (:class:`~models.hostwork.HostWork`)."""
OTHER_KEYS = ("base", "shared", "summary", "disk", "work")
"""The other keys of a ``[hosts.<name>]`` table."""

_UNLIMITED = ("unlimited", "inf", "infinity")

CORES_MAX = 1024
"""Most ``cores`` a host may have (the largest cloud instances have a few hundred vCPUs; the
host model keeps one number per core of every machine)."""


def parse_hosts(data: Any, source: str) -> dict[str, HostPreset]:
    """The custom hosts of a scenario's ``[hosts]`` table, by name."""
    t = Table(data, "hosts", source)
    out: dict[str, HostPreset] = {}
    for name in list(t.data):
        problem = name_problem(name)
        if problem is not None:
            raise ScenarioError(f"{source}: hosts: the name {brief(name)}: {problem}")
        if name in PRESETS:
            raise t.error(
                name,
                "a preset's name; a custom host needs a name of its own (base = "
                f"{name!r} starts from the preset); presets: {', '.join(PRESETS)}",
            )
        out[name] = _host(t.get(name), name, source)
    t.done()
    return out


def _host(data: Any, name: str, source: str) -> HostPreset:
    h = Table(data, f"hosts.{name}", source)
    base = PRESETS[h.string("base", "ideal", tuple(PRESETS))]
    spec_changes = _fields(h, HOST_KEYS)
    disk = Table(h.get("disk", {}), f"hosts.{name}.disk", source)
    disk_changes = _fields(disk, DISK_KEYS)
    disk.done()
    work = Table(h.get("work", {}), f"hosts.{name}.work", source)
    work_changes = _fields(work, WORK_KEYS)
    work.done()
    shared = h.boolean("shared", base.shared)
    summary = h.string("summary", f"defined in the scenario, from the preset {base.name!r}")
    h.done()
    cipher = spec_changes.get("cipher", base.spec.cipher)
    if cipher == "none" and "cipher_Bps" not in spec_changes:
        spec_changes["cipher_Bps"] = math.inf  # no cipher: nothing to inherit from base
    elif cipher != "none" and "cipher_Bps" not in spec_changes and base.spec.cipher == "none":
        raise h.error("cipher_rate", f"required with cipher = {cipher!r} (its throughput)")
    if cipher == "none" and spec_changes["cipher_Bps"] != math.inf:
        raise h.error(
            "cipher_rate",
            "needs a cipher; allowed: cipher = " + ", ".join(c for c in CIPHERS if c != "none"),
        )
    try:
        spec = replace(
            base.spec, name=name, disk=replace(base.spec.disk, **disk_changes), **spec_changes
        )
        host_work = replace(base.work, **work_changes)
    except ValueError as exc:
        raise ScenarioError(f"{source}: hosts.{name}: {exc}") from None
    return HostPreset(name, spec, host_work, shared, summary)


def _fields(t: Table, keys: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """The model fields the table's keys set (only those present)."""
    out: dict[str, Any] = {}
    for key, (field_, kind) in keys.items():
        present = t.has(key)
        if kind == "count":
            value: Any = t.integer(key, 1, 1, CORES_MAX)
        elif kind == "number":
            try:
                value = t.number(key, 1.0)  # the number rules: finite, not denormal, no bool
            except ScenarioError:
                value = 0.0
            if present and not value > 0:
                raise t.error(key, f"must be a finite number > 0, got {brief(t.data[key])}")
        elif kind == "duration":
            value = t.duration(key, 0.0)
        elif kind == "rate":
            value = t.bandwidth(key, None)
        elif kind == "iops":
            value = _iops(t, key)
        elif kind == "cipher":
            value = t.string(key, "none", CIPHERS)
        else:
            value = t.string(key, "memory", DATASTORES)
        if present:
            out[field_] = value
    return out


def _iops(t: Table, key: str) -> float:
    """Operations per second: a number by the number rules (finite, not denormal, not a bool)
    above 0, or the word ``unlimited``."""
    value = t.get(key, math.inf)
    if value == math.inf and not t.has(key):
        return math.inf
    if isinstance(value, str) and value.strip().lower() in _UNLIMITED:
        return math.inf
    try:
        x = check_number(value, field="", minimum=0.0)
    except ValueError:
        x = 0.0
    if not x > 0:
        raise t.error(
            key,
            f"must be a number of operations per second > 0 or 'unlimited', got {brief(value)}",
        )
    return x


# ------------------------------------------------------------------------------- writing
def _rate(value: float) -> str:
    return "unlimited" if math.isinf(value) else f"{value:.17g} B/s"


def _write(obj: Any, keys: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (field_, kind) in keys.items():
        value = getattr(obj, field_)
        if kind == "rate":
            value = _rate(value)
        elif kind == "iops":
            value = "unlimited" if math.isinf(value) else value
        elif kind == "number" and value is None:
            value = obj.cores  # capacity_cores None: every core a full core
        out[key] = value
    return out


def host_dict(p: HostPreset) -> dict[str, Any]:
    """A custom host as a ``[hosts.<name>]`` table that loads back to an equal preset: every
    field written out, so it needs no ``base``."""
    return {
        "summary": p.summary,
        "shared": p.shared,
        **_write(p.spec, HOST_KEYS),
        "disk": _write(p.spec.disk, DISK_KEYS),
        "work": _write(p.work, WORK_KEYS),
    }
