"""A set of Bitswap peers on one network, run until every fetch is done.

The piece that scenario runners and the demo share: it creates a :class:`~models.peer.Peer` on
every node, connects them (``PeerConnected`` on both sides of every connection), seeds objects,
starts fetches, runs the simulation until the last fetch completes (or a time limit) and
collects one row per peer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

import pandas as pd
import simpy

from models.connectivity import Connectivity
from models.dag import Dag
from models.fetch import Fetch
from models.messages import KINDS
from models.peer import Peer
from sim.network import Network

__all__ = ["Swarm", "column_name"]


class Swarm:
    """Peers on every node of ``net``.

    Args:
        strategy: default strategy of every peer; ``strategies`` overrides it per node.
        peer_options: keyword arguments for every :class:`Peer` (config, routing, cid_version,
            blockstore_latency_s, policy); ``per_peer`` overrides them per node.
    """

    def __init__(
        self,
        net: Network,
        *,
        strategy: str = "master",
        strategies: dict[Hashable, str] | None = None,
        per_peer: Mapping[Hashable, Mapping[str, Any]] | None = None,
        **peer_options: Any,
    ) -> None:
        self.net = net
        strategies = strategies or {}
        per_peer = per_peer or {}
        self.peers: dict[Hashable, Peer] = {
            name: Peer(
                net,
                name,
                strategy=strategies.get(name, strategy),
                **{**peer_options, **per_peer.get(name, {})},
            )
            for name in net.nodes
        }
        protocols = {name: p.strategy.protocol for name, p in self.peers.items()}
        for peer in self.peers.values():
            peer.peer_protocol = protocols.__getitem__
        for peer in self.peers.values():
            peer.connect_neighbors()
        self.roles: dict[Hashable, str] = dict.fromkeys(self.peers, "other")
        self.connectivity = Connectivity(self)
        """Faults: peers leaving and rejoining, connections cut, peers slowed."""
        self.stopped = False
        """Set by :meth:`shutdown`: scheduled faults do nothing after it."""
        self._waiting: dict[Hashable, int] = {}
        """Peer -> its fetches not done yet that the run waits for."""
        self._given_up: set[Hashable] = set()
        self._all_done = simpy.Event(net.env)
        self.on_fetch_done: list[Callable[[Fetch], None]] = []
        """Called with every fetch as it completes (e.g. to drive a progress bar)."""

    def peer(self, name: Hashable) -> Peer:
        """The peer on node ``name``."""
        try:
            return self.peers[name]
        except KeyError:
            raise ValueError(f"unknown peer {name!r}; peers: {list(self.peers)[:10]}") from None

    def connect(
        self, a: Hashable, b: Hashable, *, latency_s: float, latency_ba_s: float | None = None
    ) -> None:
        """Connect ``a`` and ``b`` now (mid-run too): ``PeerConnected`` on both sides, so each
        engine opens a ledger and each client a message queue seeded with its broadcast
        wantlist."""
        pa, pb = self.peer(a), self.peer(b)
        self.net.connect(a, b, latency_s=latency_s, latency_ba_s=latency_ba_s)
        pa.connected(b)
        pb.connected(a)

    def holders(self, cid: int) -> list[Hashable]:
        """Peers whose blockstore has ``cid`` now (the oracle behind a DHT model)."""
        return [name for name, p in self.peers.items() if p.blockstore.has(cid)]

    def seed(self, name: Hashable, dag: Dag) -> None:
        """Give ``name`` all of ``dag`` before the run (role: seed)."""
        self.peer(name).seed(dag)
        if self.roles[name] == "other":
            self.roles[name] = "seed"

    def fetch(self, name: Hashable, dag: Dag, pattern: str = "dag-walk", at_s: float = 0.0) -> None:
        """``name`` starts fetching ``dag`` at ``at_s`` seconds (role: leech)."""
        peer = self.peer(name)
        self.roles[name] = "leech"
        if self._all_done.triggered:
            # every fetch so far is done (one that has nothing to get completes at once): wait
            # for this one too, or run() would return before it starts
            self._all_done = simpy.Event(self.net.env)
        self._waiting[name] = self._waiting.get(name, 0) + 1

        def start(_event: object = None) -> None:
            if not self.stopped:  # a run that ended before this start time never starts it
                peer.fetch(dag, pattern, on_done=self._fetch_done)

        if at_s <= self.net.now:
            start()
        else:
            self.net.call_at(at_s - self.net.now, start, None)

    def _fetch_done(self, fetch: Fetch) -> None:
        for callback in self.on_fetch_done:
            callback(fetch)
        name = fetch.peer.name
        if name in self._given_up:
            return  # no longer waited for
        self._waiting[name] -= 1
        self._check_all_done()

    def give_up(self, name: Hashable) -> None:
        """Stop waiting for ``name``'s unfinished fetches (it left for good): :meth:`run`
        returns once the others are done, and ``name``'s rows say ``completed = False``."""
        self.peer(name)
        if name in self._given_up:
            return
        self._given_up.add(name)
        self._waiting.pop(name, None)
        self._check_all_done()

    @property
    def _pending(self) -> int:
        return sum(self._waiting.values())

    def _check_all_done(self) -> None:
        if self._pending == 0 and not self._all_done.triggered:
            self._all_done.succeed()

    def run(self, max_sim_time_s: float = 3600.0) -> bool:
        """Run until every fetch is complete or ``max_sim_time_s``; True if all completed.

        Periodic protocol timers (the 30 s wantlist resend) keep running afterwards, so a
        later ``net.run()`` needs an ``until``; :meth:`shutdown` stops them.
        """
        if self._pending and not self._all_done.triggered:
            limit = self.net.env.timeout(max(0.0, max_sim_time_s - self.net.now))
            self.net.run(until=self._all_done | limit)
        return self._pending == 0

    def shutdown(self) -> None:
        """Stop every peer's timers (and any fault still scheduled)."""
        self.stopped = True
        for peer in self.peers.values():
            peer.shutdown()

    @property
    def makespan_s(self) -> float | None:
        """Last fetch done minus first fetch started (p2plab's "total time")."""
        fetches = [f for p in self.peers.values() for f in p.fetches]
        done = [f.done_at for f in fetches if f.done_at is not None]
        started = [f.started_at for f in fetches if f.started_at is not None]
        if not fetches or len(done) < len(fetches):
            return None
        return max(done) - min(started)

    def peer_frame(self) -> pd.DataFrame:
        """One row per peer: role, completion, time to fetch, blocks, duplicates, messages.

        ``time_fetching_s``: a leech's time to fetch if it completed, otherwise how long it had
        been fetching when the run stopped (a right-censored time to fetch); None for peers that
        fetch nothing or whose fetch never started. ``msgs_in_flight`` and ``blocks_in_flight``:
        what the peer sent that was still on its way when the run stopped, so that over a run
        ``msgs_sent`` summed = ``msgs_received`` + ``msgs_lost`` + ``msgs_in_flight`` summed
        (blocks likewise). Column names are identifiers (``msgs_sent_want_block`` for the kind
        ``want-block``), usable with ``DataFrame.query`` and attribute access.
        """
        now = self.net.now
        delivered_from: dict[Hashable, int] = {}
        for peer in self.peers.values():
            for src, n in peer.stats.blocks_from.items():
                delivered_from[src] = delivered_from.get(src, 0) + n
        rows = []
        for name, peer in self.peers.items():
            s = peer.stats
            fetches = peer.fetches
            done = [f.time_to_fetch_s for f in fetches if f.time_to_fetch_s is not None]
            complete = len(done) == len(fetches)
            started = [f.started_at for f in fetches if f.started_at is not None]
            node = self.net.node(name)
            role = self.roles[name]
            fetching: float | None = None
            if fetches and complete:
                fetching = max(done)
            elif started:
                fetching = now - min(started)
            row: dict[str, Any] = {
                "peer": name,
                "role": role,
                "strategy": peer.strategy.name,
                "region": node.region,
                # a leech whose fetch never started (its start came after the run ended)
                # did not complete either
                "completed": complete if fetches else (False if role == "leech" else None),
                "time_to_fetch_s": max(done) if fetches and complete else None,
                "time_fetching_s": fetching,
                "blocks_received": s.blocks_received,
                "dup_blocks_received": s.dup_blocks_received,
                "bytes_received": s.bytes_received,
                "dup_bytes_received": s.dup_bytes_received,
                "blocks_sent": s.blocks_sent,
                "bytes_sent": s.bytes_sent,
                "msgs_sent": sum(c[0] for c in node.sent.values()),
                "msgs_received": sum(c[0] for c in node.received.values()),
                "msgs_lost": sum(c[0] for c in node.lost.values()),
                "msgs_in_flight": node.in_flight,
                "blocks_lost": s.blocks_lost,
                "blocks_in_flight": s.blocks_sent - delivered_from.get(name, 0) - s.blocks_lost,
            }
            for kind in KINDS:
                row[f"msgs_sent_{column_name(kind)}"] = node.sent.get(kind, (0, 0))[0]
            rows.append(row)
        return pd.DataFrame(rows)


def column_name(text: str) -> str:
    """``text`` as a column name usable with ``DataFrame.query`` and attribute access: every
    character that is not a letter, a digit or ``_`` becomes ``_`` (``want-block`` ->
    ``want_block``)."""
    out = "".join(c if (c.isascii() and c.isalnum()) or c == "_" else "_" for c in text)
    return "_" + out if out[:1].isdigit() else out
