"""A connection manager: go-libp2p-connmgr's ``BasicConnMgr`` (``connmgr.go@v0.2.1``), the one
go-ipfs runs (``Swarm.ConnMgr``, type ``basic``).

Each node that has one counts its connections and, on a ticker (every minute in v0.2.1), if it
holds at least ``high_water`` of them, trims: the peers connected for longer than the grace
period are sorted by their value (the sum of the tags other components put on them, e.g.
Bitswap's sessions), lowest first, and their connections closed until ``low_water`` remain. A
trim is skipped within the silence period (10 s) of the previous one, and when fewer than
``low_water`` connections are out of their grace period. v0.2.1 trims only on its ticker (a new
connection above the high water mark does not trigger one).

Modelling notes. Tags are not stored here: ``value(peer)`` is asked at trim time, which gives
the same sum as go's ``TagPeer`` / ``UntagPeer`` calls would have left (go additionally forgets
a peer's tags when its last connection closes and until it is tagged again; here a reconnected
peer's tags count at once). Go visits peers in map order and sorts them with an unstable sort;
here peers of equal value are ordered at random from the node's own stream. One connection per
pair of peers (the simulator has no second connection to a peer); no protected peers, no
temporary entries for peers tagged before they connect (they hold no connection to close).
Idle managers cost nothing: the ticker is armed only while the node holds ``high_water``
connections or more, and fires at the same times (its start plus whole minutes) as go's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.network import Network

__all__ = ["SILENCE_PERIOD_S", "ConnLimits", "ConnManager"]

SILENCE_PERIOD_S = 10.0
"""``SilencePeriod``: no trim within this many seconds of the previous one."""


@dataclass(frozen=True)
class ConnLimits:
    """A connection manager's settings (``NewConnManager(low, hi, grace)``); go-ipfs's
    defaults are 600, 900 and 20 s (``DefaultConnMgrLowWater``, ``DefaultConnMgrHighWater``,
    ``DefaultConnMgrGracePeriod`` in go-ipfs-config's ``init.go``). ``trim_interval_s``: the
    background ticker (a minute in v0.2.1)."""

    low_water: int = 600
    high_water: int = 900
    grace_period_s: float = 20.0
    trim_interval_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("low_water", "high_water"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        if self.low_water > self.high_water:
            raise ValueError(
                f"low_water ({self.low_water}) must be <= high_water ({self.high_water})"
            )
        if not self.grace_period_s >= 0:
            raise ValueError(f"grace_period_s must be >= 0, got {self.grace_period_s!r}")
        if not self.trim_interval_s > 0:
            raise ValueError(f"trim_interval_s must be > 0, got {self.trim_interval_s!r}")


class ConnManager:
    """The connection manager of node ``name`` (module docstring).

    Args:
        value: ``value(peer)``: the sum of the peer's tags now.
        close: ``close(peer)``: close the connection to ``peer`` (both ends must then be told
            :meth:`disconnected`).
    """

    __slots__ = (
        "_close",
        "_started",
        "_tick_at",
        "_value",
        "first_seen",
        "last_trim",
        "limits",
        "name",
        "net",
        "stopped",
        "trimmed",
        "trims",
    )

    def __init__(
        self,
        net: Network,
        name: Hashable,
        limits: ConnLimits,
        *,
        value: Callable[[Hashable], int],
        close: Callable[[Hashable], None],
    ) -> None:
        self.net = net
        self.name = name
        self.limits = limits
        self._value = value
        self._close = close
        self._started = net.now
        self._tick_at: float | None = None
        self.first_seen: dict[Hashable, float] = {}
        """Connected peer -> when it connected (seconds)."""
        self.last_trim: float | None = None
        self.trims = 0
        """Trims that ran (not skipped by the silence period)."""
        self.trimmed = 0
        """Connections closed by trims."""
        self.stopped = False

    @property
    def connections(self) -> int:
        return len(self.first_seen)

    def connected(self, peer: Hashable) -> None:
        """``Connected``: start tracking the connection to ``peer``."""
        if peer not in self.first_seen:
            self.first_seen[peer] = self.net.now
            self._arm()

    def disconnected(self, peer: Hashable) -> None:
        """``Disconnected``: the connection to ``peer`` closed."""
        self.first_seen.pop(peer, None)

    def stop(self) -> None:
        """No more trims (end of run)."""
        self.stopped = True

    # ------------------------------------------------------------------ the ticker
    def _arm(self) -> None:
        if self._tick_at is not None or self.stopped:
            return
        if len(self.first_seen) < self.limits.high_water:
            return
        interval = self.limits.trim_interval_s
        now = self.net.now
        k = int((now - self._started) // interval) + 1
        at = self._started + k * interval
        if at <= now:  # float round-off at a tick
            at += interval
        self._tick_at = at
        self.net.call_at(at - now, self._tick, None)

    def _tick(self, _event: Any) -> None:
        self._tick_at = None
        if self.stopped or len(self.first_seen) < self.limits.high_water:
            return
        self.trim()
        self._arm()

    # ------------------------------------------------------------------ trimming
    def trim(self) -> list[Hashable]:
        """``trim``: close the lowest-valued connections out of their grace period down to
        ``low_water`` (unless within the silence period of the last trim); the peers closed."""
        now = self.net.now
        if self.last_trim is not None and now - self.last_trim < SILENCE_PERIOD_S:
            return []
        closing = self._to_close(now)
        for peer in closing:
            self._close(peer)
        self.last_trim = now
        self.trims += 1
        self.trimmed += len(closing)
        return closing

    def _to_close(self, now: float) -> list[Hashable]:
        """``getConnsToClose``."""
        limits = self.limits
        if limits.low_water == 0 or limits.high_water == 0:
            return []  # disabled
        if len(self.first_seen) <= limits.low_water:
            return []
        grace_start = now - limits.grace_period_s
        candidates = [p for p, seen in self.first_seen.items() if not seen > grace_start]
        if len(candidates) < limits.low_water:
            return []  # too many connections still in their grace period
        rng = self.net.random.stream(f"connmgr/{self.name}")
        candidates = [candidates[i] for i in rng.permutation(len(candidates))]
        value = self._value
        candidates.sort(key=value)
        return candidates[: len(candidates) - limits.low_water]
