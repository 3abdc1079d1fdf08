"""A poc session (``internal/session/session.go``, ``sessionwants.go`` @v0.2.0).

Until the session has found a peer, it broadcasts want-have (without asking for DONT_HAVE) for
up to 64 of its wants to every connected peer. Once a peer has answered with a block or HAVE,
the session want sender (:mod:`models.poc.wantsender`) sends everything that is requested, with
no limit on live wants. Received wanted blocks feed the average latency that sets the idle tick
(1 s at first, then ``500 ms + 3 x average latency``, times ``1 + consecutive ticks``); an idle
tick, like exhaustion, broadcasts want-haves for the live wants and, on the first tick of a run,
searches for providers. Every minute a random live want is searched for and broadcast.

Era knobs (:mod:`models.poc.config`): before PR #272 exhaustion ran the idle tick's broadcast
of every live want (``exhausted_broadcast = "live"``); before PR #275 a session registered with
the peer manager for every peer that sent it a block or HAVE, so that it heard of their
disconnects and reconnects (``sessions_track_connectivity``), and a provider found by content
routing only counted as a discovered peer (``provider_counts_as_have = False``).

Where go-bitswap iterates a Go map (the live wants of a broadcast, hence which CID the provider
search uses; the periodic search's random want) the model draws from the peer's random stream.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

import numpy as np

from models.cidqueue import CidQueue
from models.poc.config import PocConfig
from models.poc.policy import WantPolicy
from sim.timers import ResettableTimer

if TYPE_CHECKING:
    from models.poc.client import PocClient

__all__ = ["PocSession"]


class PocSession:
    """One session: what one fetch asks Bitswap for."""

    def __init__(
        self,
        session_id: int,
        cfg: PocConfig,
        client: PocClient,
        policy: WantPolicy,
        rng: np.random.Generator,
        find_providers: Callable[[int, Callable[[Hashable], None]], None],
    ) -> None:
        self.id = session_id
        self._cfg = cfg
        self._client = client
        self._net = client.peer.net
        self._rng = rng
        self._find_providers = find_providers
        self.to_fetch = CidQueue()
        self.live: dict[int, float] = {}
        self.latency_total_s = 0.0
        self.latency_count = 0
        self.consecutive_ticks = 0
        self.idle_ticks = 0
        self.broadcasts = 0
        self.sws = client.want_sender_class(
            cfg,
            self._net,
            client.bpm,
            client.pm,
            policy,
            rng,
            self._wants_sent,
            self._peers_exhausted,
        )
        self._idle = ResettableTimer(self._net, lambda: self.broadcast_want_haves(None))
        self._idle.reset(cfg.prov_search_delay_s)
        self._periodic = ResettableTimer(self._net, self._periodic_search)
        self._periodic.reset(cfg.periodic_search_delay_s)
        self.closed = False
        self._track_connectivity = cfg.sessions_track_connectivity

    # ------------------------------------------------------------------ requests
    def want_blocks(self, cids: list[int]) -> None:
        """``wantBlocks``: record interest, hand to the want sender; broadcast while no peer."""
        if cids:
            self._client.sim.record_session_interest(self.id, cids)
            for cid in cids:
                self.to_fetch.push(cid)
            self.sws.add(cids)
        if self.sws.peers_discovered:
            return
        now = self._net.env.now
        live = self.live
        out = []
        while len(live) < self._cfg.broadcast_live_wants_limit:
            popped = self.to_fetch.pop()
            if popped is None:
                break
            live[popped] = now
            out.append(popped)
        if out:
            self._client.broadcast_want_haves(self.id, out)

    def _wants_sent(self, cids: list[int]) -> None:
        """``WantsSent``: CIDs the want sender sent become live (if still to fetch)."""
        now = self._net.env.now
        for cid in cids:
            if cid not in self.live and cid in self.to_fetch:
                self.to_fetch.remove(cid)
                self.live[cid] = now

    def _peers_exhausted(self, cids: list[int]) -> None:
        if self._cfg.exhausted_broadcast == "live":
            # session.go@f298c9b: onPeersExhausted queues opBroadcast, and the session's loop
            # runs handleIdleTick (every live want) after the message that exhausted the wants
            # has been handled (its blocks are no longer live)
            self._net.call_soon(lambda: self.broadcast_want_haves(None, idle_tick=False))
        else:
            self.broadcast_want_haves(cids)  # session.go@v0.2.0: only the exhausted CIDs

    # ------------------------------------------------------------------ receiving
    def is_wanted(self, cid: int) -> bool:
        return cid in self.live or cid in self.to_fetch

    def receive_from(
        self, sender: Hashable, blocks: list[int], haves: list[int], dont_haves: list[int]
    ) -> None:
        """``ReceiveFrom``: filter by interest, update the want sender, count wanted blocks."""
        sim = self._client.sim
        if blocks:
            blocks = sim.filter_interested(self.id, blocks)
        if haves:
            haves = sim.filter_interested(self.id, haves)
        if dont_haves:
            dont_haves = sim.filter_interested(self.id, dont_haves)
        connected = True
        if self._track_connectivity and (blocks or haves):
            # sessionwantsender.go@f298c9b Update: RegisterSession for the sender, which
            # answers whether the peer is connected (a peer that is not joins unavailable)
            connected = self._client.pm.register_session(sender, self.id, self.sws)
        self.sws.update(sender, blocks, haves, dont_haves)
        if not connected:
            self.sws.signal_availability(sender, False)
        if blocks:
            self._handle_receive(blocks)

    def _handle_receive(self, cids: list[int]) -> None:
        now = self._net.env.now
        wanted = []
        total = 0.0
        for cid in cids:
            if self.is_wanted(cid):
                wanted.append(cid)
                sent_at = self.live.pop(cid, None)
                if sent_at is not None:
                    total += now - sent_at
                self.to_fetch.remove(cid)
        if not wanted:
            return
        self.latency_total_s += total
        self.latency_count += len(wanted)
        self._client.sim.remove_session_wants(self.id, wanted)
        self._idle.stop()
        self.consecutive_ticks = 0
        self._reset_idle_tick()

    # ------------------------------------------------------------------ broadcasts and timers
    def broadcast_want_haves(self, cids: list[int] | None, idle_tick: bool = True) -> None:
        """``broadcastWantHaves``: the idle tick (``cids`` None: every live want) or exhausted
        wants; a provider search on the first tick of a run. ``idle_tick`` False: every live
        want is broadcast because of exhaustion (``exhausted_broadcast = "live"``), not counted
        in :attr:`idle_ticks`."""
        if self.closed:
            return
        if cids is None:
            if idle_tick:
                self.idle_ticks += 1
            now = self._net.env.now
            cids = list(self.live)
            if len(cids) > 1:
                cids = [cids[i] for i in self._rng.permutation(len(cids))]
            for cid in cids:
                self.live[cid] = now
        self.broadcasts += 1
        self._client.broadcast_want_haves(self.id, cids)
        if cids and self.consecutive_ticks == 0:
            self._find_more_peers(cids[0])
        self._reset_idle_tick()
        if self.live:
            self.consecutive_ticks += 1

    def _find_more_peers(self, cid: int) -> None:
        if not self._cfg.provider_counts_as_have:
            # sessionpeermanager.go@f298c9b peerFoundMessage: a discovered session peer, which
            # the want sender does not know of
            def discovered(peer: Hashable) -> None:
                if not self.closed:
                    self.sws.peers_discovered = True

            self._find_providers(cid, discovered)
            return

        def found(peer: Hashable) -> None:
            if not self.closed:
                self.sws.update(peer, [], [cid], [])  # as if the provider had sent HAVE

        self._find_providers(cid, found)

    def _reset_idle_tick(self) -> None:
        cfg = self._cfg
        if self.latency_total_s > 0 and self.latency_count > 0:
            avg = self.latency_total_s / self.latency_count
            delay = cfg.base_tick_delay_s + cfg.tick_latency_multiplier * avg
        else:
            delay = cfg.prov_search_delay_s
        self._idle.reset(delay * (1 + self.consecutive_ticks))

    def _periodic_search(self) -> None:
        """As in go-bitswap, not re-armed when no want is live at that moment."""
        if not self.live:
            return
        live = list(self.live)
        cid = live[int(self._rng.integers(len(live)))]
        self._find_more_peers(cid)
        self._client.broadcast_want_haves(self.id, [cid])
        self._periodic.reset(self._cfg.periodic_search_delay_s)

    def close(self) -> None:
        """``handleShutdown``: stop the timers; the client removes the session's interest."""
        if self.closed:
            return
        self.closed = True
        self._idle.stop()
        self._periodic.stop()
        if self._track_connectivity:
            self._client.pm.unregister_session(self.id)  # sessionwantsender.go@f298c9b shutdown
