"""master's session peer manager: the "peer optimizer" (``sessionpeermanager/*.go@v0.1.8``).

A peer joins a session when it sends a block the session is interested in (even a duplicate) or
when a provider search returns it. Each peer keeps a latency EWMA, go-bitswap's own (weight 0.5,
``newLatencyWeight``, ``sessionpeermanager/peerdata.go@v0.1.8``); a sample is the time from the
want sent *to that peer* (or, failing that, from the CID's last broadcast) to the block's
arrival from it. Every targeted want arms a 5 s timeout (``defaultTimeoutDuration``): if it
expires before the block arrived from anyone, the peer gets a ~5 s sample, a penalty.
``get_optimized_peers`` returns at most 32 peers: those with a latency sorted by it, then the
others in a fresh random order.

Timers: go-bitswap arms one ``time.AfterFunc`` per (peer, want). Here the deadlines sit in one
heap per session and are processed lazily, in deadline order, before anything reads or writes
the peer data (a sample is dated at its deadline, so the EWMA sees samples in the same order as
with real timers); no SimPy event is spent on them. The broadcast tracker's entries only expire
(they have no other effect), so their expiry is checked when they are read.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Hashable, Iterable

import numpy as np

from models.master.config import MasterConfig

__all__ = ["PeerData", "SessionPeerManager"]


class _Request:
    """One tracked want: when it started and whether the block has since arrived."""

    __slots__ = ("cancelled", "started_at")

    def __init__(self, started_at: float) -> None:
        self.started_at = started_at
        self.cancelled = False


class PeerData:
    """One session peer: its latency EWMA (seconds) and its tracked requests."""

    __slots__ = ("has_latency", "latency", "requests")

    def __init__(self) -> None:
        self.has_latency = False
        self.latency = 0.0
        self.requests: dict[int, _Request] = {}


class SessionPeerManager:
    """Session peers, their latencies and the order the splitter sees them in.

    Args:
        cfg: master parameters.
        now: returns the current simulated time in seconds.
        rng: the generator for the unoptimized peers' random order (Go's ``rand.Perm``).
        find_providers: ``find_providers(cid, on_provider)``, the provider query manager.
    """

    def __init__(
        self,
        cfg: MasterConfig,
        now: Callable[[], float],
        rng: np.random.Generator,
        find_providers: Callable[[int, Callable[[Hashable], None]], None],
    ) -> None:
        self._cfg = cfg
        self._now = now
        self._rng = rng
        self._find_providers = find_providers
        self.active: dict[Hashable, PeerData] = {}
        self._optimized: list[Hashable] = []
        self._unoptimized: list[Hashable] = []
        self._broadcast: dict[int, float] = {}
        self._deadlines: list[tuple[float, int, Hashable, int, _Request]] = []
        self._requested: dict[int, set[Hashable]] = {}
        """CID -> peers holding a tracked request for it (so cancels skip the others)."""
        self._seq = 0

    # ------------------------------------------------------------------ timeouts
    def _expire(self) -> None:
        """Apply every per-peer timeout whose deadline has passed, in deadline order."""
        heap = self._deadlines
        if not heap:
            return
        now = self._now()
        while heap and heap[0][0] <= now:
            deadline, _, peer, cid, request = heapq.heappop(heap)
            data = self.active.get(peer)
            if data is None or data.requests.get(cid) is not request:
                continue  # answered (removed) before the deadline: Go stopped the timer
            if request.cancelled:
                del data.requests[cid]  # peerTimeoutMessage: cancelled -> RemoveRequest
                self._requested[cid].discard(peer)
            else:
                self._record_response(peer, (cid,), deadline)

    def _broadcast_started(self, cid: int, at: float) -> float | None:
        started = self._broadcast.get(cid)
        if started is None:
            return None
        if started + self._cfg.latency_timeout_s <= at:
            del self._broadcast[cid]  # broadcastTimeoutMessage -> RemoveRequest
            return None
        return started

    # ------------------------------------------------------------------ peers
    def has_peers(self) -> bool:
        """Whether the session has any peer (what ``wantLimit`` asks)."""
        return bool(self.active)

    def get_optimized_peers(self) -> list[Hashable]:
        """At most ``max_optimized_peers``: by latency first, then the rest at random."""
        self._expire()
        optimized = self._optimized
        unoptimized = self._unoptimized
        n = min(len(optimized) + len(unoptimized), self._cfg.max_optimized_peers)
        peers = optimized[:n]
        if len(peers) < n:
            order = self._rng.permutation(len(unoptimized))
            peers += [unoptimized[i] for i in order[: n - len(peers)]]
        return peers

    def _insert(self, peer: Hashable, data: PeerData) -> None:
        if data.has_latency:
            active = self.active
            pos = bisect.bisect_right(
                self._optimized, data.latency, key=lambda p: active[p].latency
            )
            self._optimized.insert(pos, peer)
        else:
            self._unoptimized.append(peer)

    def _remove_unoptimized(self, peer: Hashable) -> None:
        arr = self._unoptimized
        i = arr.index(peer)
        arr[i] = arr[-1]  # Go swaps the last one in (removeUnoptimizedPeer)
        arr.pop()

    # ------------------------------------------------------------------ events
    def record_response(self, peer: Hashable, cids: Iterable[int]) -> None:
        """``peer`` sent blocks for ``cids`` (wanted or duplicate): join and sample latency."""
        self._expire()
        self._record_response(peer, cids, self._now())

    def _record_response(self, peer: Hashable, cids: Iterable[int], at: float) -> None:
        data = self.active.get(peer)
        was_optimized = data is not None and data.has_latency
        if data is None:
            data = self.active[peer] = PeerData()
        elif was_optimized:
            self._optimized.remove(peer)
        else:
            self._remove_unoptimized(peer)
        weight = self._cfg.new_latency_weight
        for cid in cids:
            request = data.requests.pop(cid, None)
            if request is not None:
                self._requested[cid].discard(peer)
                latency: float | None = at - request.started_at
            else:
                started = self._broadcast_started(cid, at)
                latency = None if started is None else at - started
            if latency is None:
                continue
            if data.has_latency:
                data.latency = data.latency * (1.0 - weight) + latency * weight
            else:
                data.latency = latency
                data.has_latency = True
        self._insert(peer, data)

    def record_requests(self, peers: list[Hashable] | None, cids: Iterable[int]) -> None:
        """Wants for ``cids`` were sent to ``peers`` (``None``: broadcast)."""
        self._expire()
        now = self._now()
        if peers is None:
            for cid in cids:
                if self._broadcast_started(cid, now) is None:
                    self._broadcast[cid] = now
            return
        cids = list(cids)
        deadline = now + self._cfg.latency_timeout_s
        for peer in peers:
            data = self.active.get(peer)
            if data is None:
                continue
            for cid in cids:
                if cid not in data.requests:
                    request = data.requests[cid] = _Request(now)
                    self._requested.setdefault(cid, set()).add(peer)
                    self._seq += 1
                    heapq.heappush(self._deadlines, (deadline, self._seq, peer, cid, request))

    def record_cancels(self, cids: Iterable[int]) -> None:
        """The session received ``cids``: pending timeouts for them no longer penalise."""
        self._expire()
        active = self.active
        for cid in cids:
            for peer in self._requested.get(cid, ()):
                active[peer].requests[cid].cancelled = True

    def find_more_peers(self, cid: int) -> None:
        """Start a provider search for ``cid``; providers join as unoptimized peers."""
        self._find_providers(cid, self._peer_found)

    def _peer_found(self, peer: Hashable) -> None:
        if peer not in self.active:
            data = self.active[peer] = PeerData()
            self._insert(peer, data)

    def latency_of(self, peer: Hashable) -> float | None:
        """The peer's latency EWMA in seconds, ``None`` if it has no sample yet."""
        self._expire()
        data = self.active.get(peer)
        return data.latency if data is not None and data.has_latency else None
