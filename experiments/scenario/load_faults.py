"""Loading the ``[[faults]]`` tables of a scenario into :class:`FaultSpec` values, checked
against the scenario's groups (what each kind means: :class:`FaultSpec`; running them:
:mod:`experiments.faults`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from experiments.scenario.errors import ScenarioError
from experiments.scenario.specs import (
    DURATION_DISTRIBUTIONS,
    FAULT_KINDS,
    Duration,
    FaultSpec,
    GroupSpec,
    NetworkSpec,
)
from experiments.scenario.table import Table
from sim.units import brief, parse_duration

__all__ = ["FAULT_KEYS", "member_group", "parse_faults", "read_duration", "shown_members"]

_SHAPE_MAX = 1000.0
"""Largest ``shape`` or ``sigma`` of a duration distribution (beyond it a draw is 0 or
overflows)."""

FAULT_KEYS: dict[str, tuple[str, ...]] = {
    "churn": ("name", "kind", "peers", "group", "fraction", "at", "uptime", "duration"),
    "link": ("name", "kind", "a", "b", "at", "duration"),
    "partition": ("name", "kind", "regions", "groups", "at", "duration"),
    "slow": (
        "name", "kind", "peers", "group", "fraction", "at", "duration", "bandwidth_factor",
        "added_latency",
    ),
}  # fmt: skip
"""The fields each kind of fault takes."""


def member_group(peer: object, groups: Mapping[str, GroupSpec]) -> GroupSpec | None:
    """The group whose member ``peer`` (``<group>-<i>``) is, or None, without listing every
    member of every group."""
    if not isinstance(peer, str) or "-" not in peer:
        return None
    name, _, index = peer.rpartition("-")
    g = groups.get(name)
    if g is None or not index.isdigit() or index != str(int(index)) or int(index) >= g.count:
        return None
    return g


def shown_members(groups: Iterable[GroupSpec], n: int = 10) -> str:
    """The first ``n`` peer names, and ``...`` if there are more."""
    names: list[str] = []
    for g in groups:
        names.extend(f"{g.name}-{i}" for i in range(min(g.count, n + 1 - len(names))))
        if len(names) > n:
            break
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


def parse_faults(
    data: Any,
    groups: tuple[GroupSpec, ...],
    source: str,
    network: NetworkSpec | None = None,
) -> tuple[FaultSpec, ...]:
    """Validate the ``faults`` array of a scenario against its groups (and, given its
    ``network``, refuse a link or partition between regions a ``region-mesh`` with
    ``inter_region = "none"`` never connects)."""
    if not isinstance(data, list):
        raise ScenarioError(f"{source}: faults: must be an array of [[faults]] tables")
    by_name = {g.name: g for g in groups}
    group_names = [g.name for g in groups]
    regions = sorted({g.region for g in groups if g.region is not None})
    isolated = (
        network is not None and network.topology == "region-mesh" and network.inter_region == "none"
    )
    out: list[FaultSpec] = []
    names: set[str] = set()
    for i, item in enumerate(data):
        t = Table(item, f"faults[{i}]", source)
        kind = t.string("kind", None, FAULT_KINDS)
        if kind is None:
            raise t.error("kind", f"required; allowed: {', '.join(FAULT_KINDS)}")
        name = t.name("name") if t.has("name") else f"{kind}-{i}"
        t.path = f"faults.{name}"
        unknown = [k for k in t.data if k not in FAULT_KEYS[kind]]
        if unknown:
            raise t.error(
                unknown[0],
                f"unknown key for a {kind} fault; allowed: {', '.join(FAULT_KEYS[kind])}",
            )
        if name in names:
            raise t.error("name", "another fault has this name; names must be unique")
        names.add(name)
        fields: dict[str, Any] = {"name": name, "kind": kind}
        if kind in ("churn", "slow"):
            fields |= _targets(t, by_name)
        if kind == "churn":
            fields["at_s"] = t.duration("at", None) if t.has("at") else None
            fields["uptime"] = read_duration(t, "uptime") if t.has("uptime") else None
            if (fields["at_s"] is None) == (fields["uptime"] is None):
                raise t.error("at", "give exactly one of at (a time) and uptime (online time)")
        else:
            if kind == "slow":
                fields["at_s"] = t.duration("at", 0.0)
            elif not t.has("at"):
                raise t.error("at", "required: when the fault starts (seconds)")
            else:
                fields["at_s"] = t.duration("at", None)
        fields["duration"] = read_duration(t, "duration") if t.has("duration") else None
        if kind == "link":
            fields |= _link_ends(t, groups, by_name, isolated)
        if kind == "partition":
            fields |= _sides(t, group_names, regions)
            if isolated:
                _check_sides_connect(t, fields, by_name)
        if kind == "slow":
            factor = t.number("bandwidth_factor", 1.0)
            if not 0.0 < factor <= 1.0:
                raise t.error("bandwidth_factor", f"must be in (0, 1], got {factor!r}")
            fields["bandwidth_factor"] = factor
            fields["added_latency_s"] = t.duration("added_latency", 0.0)
            if factor == 1.0 and fields["added_latency_s"] == 0.0:
                raise t.error(
                    "bandwidth_factor",
                    "a slow fault changes nothing: set bandwidth_factor < 1 or added_latency > 0",
                )
        t.done()
        out.append(FaultSpec(**fields))
    return tuple(out)


def _link_ends(
    t: Table, groups: tuple[GroupSpec, ...], by_name: Mapping[str, GroupSpec], isolated: bool
) -> dict[str, str]:
    """A link fault's ``a`` and ``b``: two different peers; under ``inter_region = "none"``,
    of one region (peers of two regions are never connected)."""
    ends: dict[str, str] = {}
    for end in ("a", "b"):
        peer = t.string(end)
        if peer is None:
            raise t.error(end, "required: a peer name such as 'seeds-0'")
        if member_group(peer, by_name) is None:
            raise t.error(end, f"unknown peer {brief(peer)}; allowed: {shown_members(groups)}")
        ends[end] = peer
    if ends["a"] == ends["b"]:
        raise t.error("b", "must differ from a")
    ra = member_group(ends["a"], by_name).region  # type: ignore[union-attr]
    rb = member_group(ends["b"], by_name).region  # type: ignore[union-attr]
    if isolated and ra != rb:
        raise t.error(
            "b",
            f"{ends['a']!r} (region {ra!r}) and {ends['b']!r} (region {rb!r}) are "
            "never connected (network.inter_region = 'none'), so the fault would cut "
            "nothing; allowed: two peers of one region",
        )
    return ends


def _check_sides_connect(t: Table, fields: dict[str, Any], groups: Mapping[str, GroupSpec]) -> None:
    """Under ``inter_region = "none"`` two regions, or two groups of different regions, are
    never connected: a partition between them would cut nothing."""
    if "regions" in fields:
        a, b = fields["regions"]
        key = "regions"
    else:
        ga, gb = (groups[name] for name in fields["groups"])
        if ga.region == gb.region:
            return
        a, b, key = ga.region, gb.region, "groups"
    raise t.error(
        key,
        f"regions {a!r} and {b!r} are never connected (network.inter_region = 'none'), so the "
        "partition would cut nothing; allowed: two sides with a connection between them",
    )


def _targets(t: Table, groups: Mapping[str, GroupSpec]) -> dict[str, Any]:
    peers = t.get("peers")
    group = t.string("group")
    fraction = t.number("fraction", 1.0)
    if (peers is None) == (group is None):
        raise t.error("group", "give exactly one of group (with fraction) and peers")
    if peers is not None:
        if t.has("fraction"):
            raise t.error("fraction", "only with group, not with peers")
        if not isinstance(peers, list) or not peers or not all(isinstance(p, str) for p in peers):
            raise t.error("peers", f"must be a non-empty list of peer names, got {brief(peers)}")
        for p in peers:
            if member_group(p, groups) is None:
                raise t.error(
                    "peers",
                    f"unknown peer {brief(p)}; allowed: {shown_members(groups.values())}",
                )
        if len(set(peers)) != len(peers):
            raise t.error("peers", "lists a peer twice")
        return {"peers": tuple(peers)}
    if group is None or group not in groups:
        raise t.error("group", f"unknown group {brief(group)}; allowed: {', '.join(groups)}")
    if not 0.0 < fraction <= 1.0:
        raise t.error("fraction", f"must be in (0, 1], got {fraction!r}")
    count = groups[group].count
    if math.ceil(fraction * count - 1e-9) < 1:
        raise t.error(
            "fraction",
            f"{fraction!r} of the {count} members of {group!r} selects none of them; "
            f"allowed: a fraction that selects at least one (>= {1 / count:.3g})",
        )
    return {"group": group, "fraction": fraction}


def _sides(t: Table, groups: list[str], regions: list[str]) -> dict[str, Any]:
    if t.has("regions") == t.has("groups"):
        raise t.error("regions", "give exactly one of regions = [A, B] and groups = [A, B]")
    key, allowed = ("regions", regions) if t.has("regions") else ("groups", groups)
    sides = t.get(key)
    if not isinstance(sides, list) or len(sides) != 2 or not all(isinstance(s, str) for s in sides):
        raise t.error(key, f"must be a list of two names, got {sides!r}")
    for side in sides:
        if side not in allowed:
            shown = ", ".join(allowed) or "(none in this scenario)"
            raise t.error(key, f"unknown {key[:-1]} {side!r}; allowed: {shown}")
    if sides[0] == sides[1]:
        raise t.error(key, "the two sides must differ")
    return {key: tuple(sides)}


def read_duration(t: Table, key: str) -> Duration:
    """``t[key]`` as a :class:`Duration`: a fixed time (seconds or a string with a unit) or a
    table ``{ dist = ..., <its parameters> }`` (:data:`DURATION_DISTRIBUTIONS`)."""
    value = t.get(key)
    field = t.path_of(key)
    if not isinstance(value, Mapping):
        try:
            return Duration("fixed", (("value", parse_duration(value, field=field)),))
        except ValueError as exc:
            raise ScenarioError(
                f'{t.source}: {exc}; or a table such as {{ dist = "exponential", mean = 2.0 }}'
            ) from None
    d = Table(value, field, t.source)
    dist = d.string("dist", None, tuple(DURATION_DISTRIBUTIONS))
    if dist is None:
        raise d.error("dist", f"required; allowed: {', '.join(DURATION_DISTRIBUTIONS)}")
    params = []
    for pname, is_time in DURATION_DISTRIBUTIONS[dist]:
        if not d.has(pname):
            raise d.error(pname, f"required for dist = {dist!r}")
        x = d.duration(pname, None) if is_time else d.number(pname, 0.0, 0.0, _SHAPE_MAX)
        if (not is_time or pname in ("mean", "scale", "median")) and not x > 0:
            raise d.error(pname, f"must be > 0, got {x!r}")
        params.append((pname, x))
    d.done()
    if dist == "uniform" and not params[1][1] >= params[0][1]:
        raise d.error("high", "must be >= low")
    return Duration(dist, tuple(params))
