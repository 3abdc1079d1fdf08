"""``[[faults]]`` in a scenario: what goes wrong during a run, and when.

Four kinds (every field is documented in ``docs/scenarios.md``):

* ``churn``: peers (``peers = [...]``, or a ``fraction`` of a ``group``) leave at ``at`` or
  after an ``uptime`` (a fixed time or a distribution, drawn per peer) and come back after a
  ``duration`` (likewise); with ``uptime`` and ``duration`` they keep alternating. Without a
  ``duration`` they leave for good, and the run stops waiting for their fetches.
* ``link``: the connection between peers ``a`` and ``b`` is cut at ``at`` for ``duration``.
* ``partition``: every connection between two ``regions`` (or two ``groups``) is cut at ``at``
  for ``duration``.
* ``slow``: peers' bandwidth times ``bandwidth_factor`` and their connections' latency plus
  ``added_latency`` from ``at`` for ``duration``.

A ``duration`` left out means "until the run ends". The mechanics (closing connections, what
each Bitswap side does) are :class:`models.connectivity.Connectivity`'s. Random choices (which
members of a group, distribution draws) come from a named stream per fault and peer
(``faults/<fault name>/<peer>``), so a sweep over strategies sees the same faults at the same
times (common random numbers).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.scenario import GroupSpec, ScenarioError, _Table
from sim.units import parse_duration

if TYPE_CHECKING:
    from models.swarm import Swarm
    from sim.rng import RunRandom

__all__ = [
    "DISTRIBUTIONS",
    "FAULT_KEYS",
    "FAULT_KINDS",
    "Duration",
    "FaultSpec",
    "fault_dict",
    "parse_faults",
    "schedule_faults",
]

FAULT_KINDS = ("churn", "link", "partition", "slow")

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

DISTRIBUTIONS: dict[str, tuple[tuple[str, bool], ...]] = {
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
        """One value in seconds (>= 0), from numpy's generator (``pareto`` is numpy's Lomax
        shifted to the classical Pareto: ``scale * (1 + Lomax(shape))``)."""
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
        return max(0.0, float(x))

    def to_toml(self) -> float | dict[str, Any]:
        if self.dist == "fixed":
            return dict(self.params)["value"]
        return {"dist": self.dist, **dict(self.params)}


@dataclass(frozen=True)
class FaultSpec:
    """One ``[[faults]]`` table. Times in seconds from the start of the run."""

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


# --------------------------------------------------------------------------------- reading
def parse_faults(data: Any, groups: tuple[GroupSpec, ...], source: str) -> tuple[FaultSpec, ...]:
    """Validate the ``faults`` array of a scenario against its groups."""
    if not isinstance(data, list):
        raise ScenarioError(f"{source}: faults: must be an array of [[faults]] tables")
    members = {m: g for g in groups for m in g.members()}
    group_names = [g.name for g in groups]
    regions = sorted({g.region for g in groups if g.region is not None})
    out: list[FaultSpec] = []
    for i, item in enumerate(data):
        t = _Table(item, f"faults[{i}]", source)
        kind = t.str("kind", None, FAULT_KINDS)
        if kind is None:
            raise t.error("kind", f"required; allowed: {', '.join(FAULT_KINDS)}")
        name = t.str("name", f"{kind}-{i}")
        t.path = f"faults.{name}"
        unknown = [k for k in t.data if k not in FAULT_KEYS[kind]]
        if unknown:
            raise t.error(
                unknown[0],
                f"unknown key for a {kind} fault; allowed: {', '.join(FAULT_KEYS[kind])}",
            )
        if name in {f.name for f in out}:
            raise t.error("name", "another fault has this name; names must be unique")
        fields: dict[str, Any] = {"name": name, "kind": kind}
        if kind in ("churn", "slow"):
            fields |= _targets(t, members, group_names)
        if kind == "churn":
            fields["at_s"] = t.duration("at", None) if t.has("at") else None
            fields["uptime"] = _duration(t, "uptime") if t.has("uptime") else None
            if (fields["at_s"] is None) == (fields["uptime"] is None):
                raise t.error("at", "give exactly one of at (a time) and uptime (online time)")
        else:
            if kind == "slow":
                fields["at_s"] = t.duration("at", 0.0)
            elif not t.has("at"):
                raise t.error("at", "required: when the fault starts (seconds)")
            else:
                fields["at_s"] = t.duration("at", None)
        fields["duration"] = _duration(t, "duration") if t.has("duration") else None
        if kind == "link":
            for end in ("a", "b"):
                peer = t.str(end)
                if peer is None:
                    raise t.error(end, "required: a peer name such as 'seeds-0'")
                if peer not in members:
                    raise t.error(end, f"unknown peer {peer!r}; allowed: {_shown(members)}")
                fields[end] = peer
            if fields["a"] == fields["b"]:
                raise t.error("b", "must differ from a")
        if kind == "partition":
            fields |= _sides(t, group_names, regions)
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


def _shown(names: Mapping[str, Any] | list[str]) -> str:
    names = list(names)
    return ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")


def _targets(t: _Table, members: Mapping[str, GroupSpec], groups: list[str]) -> dict[str, Any]:
    peers = t.get("peers")
    group = t.str("group")
    fraction = t.number("fraction", 1.0)
    if (peers is None) == (group is None):
        raise t.error("group", "give exactly one of group (with fraction) and peers")
    if peers is not None:
        if t.has("fraction"):
            raise t.error("fraction", "only with group, not with peers")
        if not isinstance(peers, list) or not peers or not all(isinstance(p, str) for p in peers):
            raise t.error("peers", f"must be a non-empty list of peer names, got {peers!r}")
        for p in peers:
            if p not in members:
                raise t.error("peers", f"unknown peer {p!r}; allowed: {_shown(members)}")
        if len(set(peers)) != len(peers):
            raise t.error("peers", "lists a peer twice")
        return {"peers": tuple(peers)}
    if group not in groups:
        raise t.error("group", f"unknown group {group!r}; allowed: {', '.join(groups)}")
    if not 0.0 < fraction <= 1.0:
        raise t.error("fraction", f"must be in (0, 1], got {fraction!r}")
    return {"group": group, "fraction": fraction}


def _sides(t: _Table, groups: list[str], regions: list[str]) -> dict[str, Any]:
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


def _duration(t: _Table, key: str) -> Duration:
    value = t.get(key)
    field = t._field(key)
    if not isinstance(value, Mapping):
        try:
            return Duration("fixed", (("value", parse_duration(value, field=field)),))
        except ValueError as exc:
            raise ScenarioError(
                f'{t.source}: {exc}; or a table such as {{ dist = "exponential", mean = 2.0 }}'
            ) from None
    d = _Table(value, field, t.source)
    dist = d.str("dist", None, tuple(DISTRIBUTIONS))
    if dist is None:
        raise d.error("dist", f"required; allowed: {', '.join(DISTRIBUTIONS)}")
    params = []
    for pname, is_time in DISTRIBUTIONS[dist]:
        if not d.has(pname):
            raise d.error(pname, f"required for dist = {dist!r}")
        x = d.duration(pname, None) if is_time else d.number(pname, 0.0)
        if (not is_time or pname in ("mean", "scale", "median")) and not x > 0:
            raise d.error(pname, f"must be > 0, got {x!r}")
        params.append((pname, x))
    d.done()
    if dist == "uniform" and not params[1][1] >= params[0][1]:
        raise d.error("high", "must be >= low")
    return Duration(dist, tuple(params))


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
        out["uptime"] = f.uptime.to_toml()
    if f.duration is not None:
        out["duration"] = f.duration.to_toml()
    if f.kind == "link":
        out |= {"a": f.a, "b": f.b}
    if f.regions:
        out["regions"] = list(f.regions)
    if f.groups:
        out["groups"] = list(f.groups)
    if f.kind == "slow":
        out |= {"bandwidth_factor": f.bandwidth_factor, "added_latency": f.added_latency_s}
    return out


# --------------------------------------------------------------------------------- running
def schedule_faults(
    swarm: Swarm,
    faults: tuple[FaultSpec, ...],
    groups: tuple[GroupSpec, ...],
    rr: RunRandom,
    source: str = "<scenario>",
) -> None:
    """Schedule ``faults`` on ``swarm`` (before it runs). Raises :class:`ScenarioError` for a
    link or partition that names no connection of this run's topology."""
    members = {g.name: g.members() for g in groups}
    region = {m: g.region for g in groups for m in g.members()}
    group_of = {m: g.name for g in groups for m in g.members()}
    conn = swarm.connectivity
    net = swarm.net

    def at(when_s: float, action: Callable[[], None]) -> None:
        """Run ``action()`` at simulated time ``when_s`` unless the run has ended by then."""

        def fire(_event: object) -> None:
            if not swarm.stopped:
                action()

        net.call_at(max(0.0, when_s - net.now), fire, None)

    for f in faults:
        if f.kind in ("churn", "slow"):
            chosen = list(f.peers)
            if f.group is not None:
                pool = members[f.group]
                k = math.ceil(f.fraction * len(pool) - 1e-9)
                order = rr.stream(f"faults/{f.name}").permutation(len(pool))
                chosen = [pool[j] for j in sorted(order[:k].tolist())]
            for peer in chosen:
                rng = rr.stream(f"faults/{f.name}/{peer}")
                if f.kind == "churn":
                    _churn(swarm, f, peer, rng, at)
                else:
                    _slow(swarm, f, peer, rng, at)
            continue
        if f.kind == "link":
            pairs = [(f.a, f.b)]
            if f.b not in conn.neighbours(f.a):
                raise ScenarioError(
                    f"{source}: faults.{f.name}: peers {f.a!r} and {f.b!r} are not connected in "
                    "this run's topology; allowed: a pair of connected peers"
                )
        else:
            side_of = region if f.regions else group_of
            left, right = f.regions or f.groups
            pairs = [
                (a, b)
                for a in swarm.peers
                if side_of.get(a) == left
                for b in conn.neighbours(a)
                if side_of.get(b) == right
            ]
            if not pairs:
                raise ScenarioError(
                    f"{source}: faults.{f.name}: no connection runs between "
                    f"{f.regions or f.groups}; allowed: two sides with at least one connection "
                    "between them"
                )
        _interval(
            f,
            rr.stream(f"faults/{f.name}"),
            at,
            functools.partial(_each_pair, conn.cut, tuple(pairs)),
            functools.partial(_each_pair, conn.restore, tuple(pairs)),
        )


def _each_pair(action: Callable[[Any, Any], None], pairs: tuple[tuple[Any, Any], ...]) -> None:
    for a, b in pairs:
        action(a, b)


def _interval(
    f: FaultSpec,
    rng: np.random.Generator,
    at: Callable[[float, Callable[[], None]], None],
    begin: Callable[[], None],
    end: Callable[[], None],
) -> None:
    """``begin()`` at ``f.at_s``, then ``end()`` after a ``f.duration`` draw (if any)."""
    assert f.at_s is not None
    start = f.at_s

    def go() -> None:
        begin()
        if f.duration is not None:
            at(start + f.duration.draw(rng), end)

    at(start, go)


def _slow(
    swarm: Swarm, f: FaultSpec, peer: Hashable, rng: np.random.Generator, at: Callable[..., None]
) -> None:
    conn = swarm.connectivity
    args = (f.bandwidth_factor, f.added_latency_s)
    _interval(f, rng, at, lambda: conn.slow(peer, *args), lambda: conn.unslow(peer, *args))


def _churn(
    swarm: Swarm, f: FaultSpec, peer: Hashable, rng: np.random.Generator, at: Callable[..., None]
) -> None:
    conn = swarm.connectivity
    net = swarm.net

    def leave() -> None:
        conn.leave(peer)
        if f.duration is None:
            swarm.give_up(peer)
        else:
            at(net.now + f.duration.draw(rng), rejoin)

    def rejoin() -> None:
        conn.rejoin(peer)
        if f.uptime is not None:
            at(net.now + f.uptime.draw(rng), leave)

    first = f.at_s if f.at_s is not None else f.uptime.draw(rng)  # type: ignore[union-attr]
    at(first, leave)
