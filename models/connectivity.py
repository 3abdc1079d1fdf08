"""Faults during a run: peers leaving and rejoining, connections cut, peers slowed down.

:class:`Connectivity` is the mechanism; *when* faults happen is the scenario's business
(:mod:`experiments.faults`). It works on the connections the swarm had when the run started:

* **leave** a peer: every connection it has is closed (``Network.disconnect``: what is in
  flight either way is lost) and both sides get ``PeerDisconnected``
  (:meth:`models.peer.Peer.disconnected`: want queue closed, ledger dropped; sessions are not
  told, as in go-bitswap v0.1.8 and v0.2.0). The departed peer keeps its state (blockstore,
  sessions, timers) and whatever it sends while away is lost: a node that lost its network, or
  a daemon whose fetch is still waiting when it comes back.
* **rejoin**: the peer is connected again to each of its starting neighbours that is online
  and whose connection is not cut, with ``PeerConnected`` on both sides (a fresh ledger and a
  queue seeded with the broadcast wantlist; no session is told, as in go-bitswap).
* **cut** / **restore** one connection (a link failure or, pair by pair, a partition).
* connections **dialled** during the run (:meth:`~models.swarm.Swarm.dial`) close when a peer
  leaves and are not re-opened when it rejoins; slowdowns apply to them as to the others.
* **slow** a peer: its upload and download rates times a factor and its connections' one-way
  latency plus an added delay, until **unslowed**.

Every operation is counted, so overlapping faults compose: a peer that left twice is back
after its second rejoin; a connection cut by a link fault and by a partition comes back when
both end; two slowdowns multiply their factors and add their delays.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.swarm import Swarm

__all__ = ["Connectivity"]


class Connectivity:
    """Faults applied to ``swarm``'s peers and starting connections (see the module docstring).

    Created by the swarm; reach it as ``swarm.connectivity``.
    """

    def __init__(self, swarm: Swarm) -> None:
        self.swarm = swarm
        net = swarm.net
        self._neighbours: dict[Hashable, list[Hashable]] = {n: net.neighbors(n) for n in net.nodes}
        self._base_latency: dict[tuple[Hashable, Hashable], float] = {
            (a, b): net.link(a, b).latency_s
            for a, others in self._neighbours.items()
            for b in others
        }
        self._base_rates = {
            n: (net.node(n).upload_Bps, net.node(n).download_Bps) for n in net.nodes
        }
        self._away: dict[Hashable, int] = {}
        self._cuts: dict[frozenset[Hashable], int] = {}
        self._slow: dict[Hashable, list[tuple[float, float]]] = {}
        self.log: list[tuple[float, str, str]] = []
        """``(time s, fault, subject)`` for every fault operation, in order."""

    # ------------------------------------------------------------------ queries
    def online(self, name: Hashable) -> bool:
        """Whether ``name`` is online (has not left, or has rejoined)."""
        self.swarm.peer(name)
        return not self._away.get(name)

    def neighbours(self, name: Hashable) -> list[Hashable]:
        """The peers ``name`` was connected to when the run started."""
        self.swarm.peer(name)
        return list(self._neighbours[name])

    def can_connect(self, a: Hashable, b: Hashable) -> bool:
        """Whether a new connection between ``a`` and ``b`` can open now: both online, and not
        a starting connection that a fault has cut."""
        return self._reachable(a, b)

    def dialled(self, a: Hashable, b: Hashable, ab_s: float, ba_s: float) -> tuple[float, float]:
        """A dial is opening a connection between ``a`` and ``b`` with one-way latencies
        ``ab_s`` and ``ba_s``: remember them as its base latencies; returns them with the
        peers' current slowdowns added."""
        self._base_latency[(a, b)] = ab_s
        self._base_latency[(b, a)] = ba_s
        return self._latency(a, b), self._latency(b, a)

    # ------------------------------------------------------------------ churn
    def leave(self, name: Hashable) -> None:
        """``name`` goes offline now: all its connections close."""
        self.swarm.peer(name)
        self._note("leave", name)
        self._away[name] = self._away.get(name, 0) + 1
        if self._away[name] == 1:
            for other in self._neighbours[name]:
                self._close(name, other)
            for other in self.swarm.net.neighbors(name):  # dialled during the run
                self._close(name, other)

    def rejoin(self, name: Hashable) -> None:
        """``name`` comes back: it reconnects to its starting neighbours that can be reached."""
        if not self._away.get(name):
            raise ValueError(f"peer {name!r} cannot rejoin: it has not left")
        self._note("rejoin", name)
        self._away[name] -= 1
        if self._away[name] == 0:
            del self._away[name]
            for other in self._neighbours[name]:
                self._open(name, other)

    # ------------------------------------------------------------------ links
    def cut(self, a: Hashable, b: Hashable) -> None:
        """The connection between ``a`` and ``b`` fails now (both directions)."""
        pair = self._pair(a, b)
        self._note("cut", f"{a}<->{b}")
        self._cuts[pair] = self._cuts.get(pair, 0) + 1
        self._close(a, b)

    def restore(self, a: Hashable, b: Hashable) -> None:
        """The connection between ``a`` and ``b`` is back (if both ends are online)."""
        pair = self._pair(a, b)
        if not self._cuts.get(pair):
            raise ValueError(f"connection {a!r}<->{b!r} cannot be restored: it is not cut")
        self._note("restore", f"{a}<->{b}")
        self._cuts[pair] -= 1
        if self._cuts[pair] == 0:
            del self._cuts[pair]
            self._open(a, b)

    # ------------------------------------------------------------------ slow peers
    def slow(
        self, name: Hashable, bandwidth_factor: float = 1.0, added_latency_s: float = 0.0
    ) -> None:
        """From now on ``name``'s upload and download rates are multiplied by
        ``bandwidth_factor`` (0 < factor <= 1) and each of its connections' one-way latency (in
        both directions) grows by ``added_latency_s`` seconds."""
        self.swarm.peer(name)
        if isinstance(bandwidth_factor, bool) or not 0.0 < bandwidth_factor <= 1.0:
            raise ValueError(f"bandwidth_factor must be in (0, 1], got {bandwidth_factor!r}")
        if isinstance(added_latency_s, bool) or not 0.0 <= added_latency_s < float("inf"):
            raise ValueError(f"added_latency_s must be >= 0 seconds, got {added_latency_s!r}")
        self._note("slow", name)
        self._slow.setdefault(name, []).append((float(bandwidth_factor), float(added_latency_s)))
        self._apply_speed(name)

    def unslow(
        self, name: Hashable, bandwidth_factor: float = 1.0, added_latency_s: float = 0.0
    ) -> None:
        """End one :meth:`slow` of ``name`` with these arguments."""
        active = self._slow.get(name, [])
        key = (float(bandwidth_factor), float(added_latency_s))
        if key not in active:
            raise ValueError(f"peer {name!r} has no slowdown {key} to end")
        self._note("unslow", name)
        active.remove(key)
        self._apply_speed(name)

    # ------------------------------------------------------------------ internals
    def _note(self, fault: str, subject: object) -> None:
        self.log.append((self.swarm.net.now, fault, str(subject)))

    def _pair(self, a: Hashable, b: Hashable) -> frozenset[Hashable]:
        self.swarm.peer(a)
        self.swarm.peer(b)
        if b not in self._neighbours[a]:
            raise ValueError(f"peers {a!r} and {b!r} were not connected when the run started")
        return frozenset((a, b))

    def _reachable(self, a: Hashable, b: Hashable) -> bool:
        return (
            not self._away.get(a) and not self._away.get(b) and frozenset((a, b)) not in self._cuts
        )

    def _close(self, a: Hashable, b: Hashable) -> None:
        net = self.swarm.net
        if net.is_connected(a, b):
            net.disconnect(a, b)
            self.swarm.peers[a].disconnected(b)
            self.swarm.peers[b].disconnected(a)

    def _open(self, a: Hashable, b: Hashable) -> None:
        if self._reachable(a, b) and not self.swarm.net.is_connected(a, b):
            self.swarm.connect(
                a, b, latency_s=self._latency(a, b), latency_ba_s=self._latency(b, a)
            )

    def _extra_latency(self, name: Hashable) -> float:
        return sum(extra for _, extra in self._slow.get(name, ()))

    def _latency(self, a: Hashable, b: Hashable) -> float:
        return self._base_latency[(a, b)] + self._extra_latency(a) + self._extra_latency(b)

    def _apply_speed(self, name: Hashable) -> None:
        net = self.swarm.net
        factor = 1.0
        for f, _ in self._slow.get(name, ()):
            factor *= f
        up, down = self._base_rates[name]
        net.set_bandwidth(name, upload_Bps=up * factor, download_Bps=down * factor)
        for other in net.neighbors(name):
            if (name, other) not in self._base_latency:
                continue  # connected from Python with Swarm.connect: not the faults' business
            net.set_latency(name, other, self._latency(name, other))
            net.set_latency(other, name, self._latency(other, name))
