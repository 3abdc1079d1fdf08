"""Running the ``[[faults]]`` of a scenario: what goes wrong during a run, and when.

What each kind of fault means and how it is written is :class:`FaultSpec`'s (read by
:mod:`experiments.scenario.load_faults`, documented in ``docs/scenarios.md``). This module
schedules them on a swarm before it runs. The mechanics (closing connections, what each Bitswap
side does) are :class:`models.connectivity.Connectivity`'s. Random choices (which members of a
group, distribution draws) come from a named stream per fault and peer
(``faults/<fault name>/<peer>``), so a sweep over strategies sees the same faults at the same
times (common random numbers).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.scenario import FaultSpec, GroupSpec, ScenarioError

if TYPE_CHECKING:
    from models.swarm import Swarm
    from sim.rng import RunRandom

__all__ = ["schedule_faults"]


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
    region: dict[Hashable, str | None] = {m: g.region for g in groups for m in g.members()}
    group_of: dict[Hashable, str] = {m: g.name for g in groups for m in g.members()}
    conn = swarm.connectivity
    net = swarm.net

    def at(when_s: float, action: Callable[[], None]) -> None:
        """Run ``action()`` at simulated time ``when_s`` unless the run has ended by then."""

        def fire(_event: object) -> None:
            if not swarm.stopped:
                action()

        net.call_at(max(0.0, when_s - net.now), fire, None)

    for f in faults:
        pairs: list[tuple[Hashable, Hashable]]
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
            side_of: Mapping[Hashable, str | None] = region if f.regions else group_of
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

    if f.at_s is not None:
        first = f.at_s
    else:
        assert f.uptime is not None  # a churn fault has exactly one of at and uptime
        first = f.uptime.draw(rng)
    at(first, leave)
