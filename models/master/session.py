"""A master session (``session/session.go``, ``session/sessionwants.go`` @v0.1.8).

State: ``toFetch`` (FIFO of requested CIDs not yet live), ``liveWants`` (CID -> time it was
last sent) and ``pastWants`` (CIDs received). At most 32 live wants once the session has peers,
4 before (``targetedLiveWantsLimit`` / ``broadcastLiveWantsLimit``). Live wants go as want-block
to the peers the request splitter picks, or to every connected peer while the session has none.

On every block the session is interested in: the splitter counts it unique or duplicate, the
sender joins the session and gets a latency sample; wanted CIDs leave ``liveWants``, CANCELs go
out through every peer queue, the live window refills and the idle tick is re-armed.

Idle tick (first after 1 s, then ``500 ms + 3 x average latency``, times ``1 + consecutive
ticks``): every live want is re-broadcast as want-block (per-peer queues pass it on only to
peers not yet asked), and a provider search starts for one of them on the first tick of a run.
Every minute a random live want is searched for and broadcast (the periodic search).

Where go-bitswap iterates a Go map (the order of the live wants in a broadcast, hence which one
the provider search uses; the periodic search's random want), the model draws from the peer's
random stream.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING

from models.cidqueue import CidQueue
from models.master.config import MasterConfig
from models.master.sessionpeers import SessionPeerManager
from models.master.splitter import RequestSplitter
from sim.timers import ResettableTimer

if TYPE_CHECKING:
    import numpy as np

    from models.master.wantmanager import WantManager
    from sim.network import Network

__all__ = ["MasterSession"]


class MasterSession:
    """One session: what one fetch (a DAG walk, a benchmark pattern) asks Bitswap for."""

    def __init__(
        self,
        session_id: int,
        cfg: MasterConfig,
        net: Network,
        wantmanager: WantManager,
        rng: np.random.Generator,
        find_providers: Callable[[int, Callable[[Hashable], None]], None],
        splitter: RequestSplitter | None = None,
    ) -> None:
        self.id = session_id
        self._cfg = cfg
        self._net = net
        self._wm = wantmanager
        self._rng = rng
        self.to_fetch = CidQueue()
        self.live: dict[int, float] = {}
        self.past: set[int] = set()
        self.peers = SessionPeerManager(cfg, lambda: net.env.now, rng, find_providers)
        self.splitter = splitter if splitter is not None else RequestSplitter(cfg)
        self.latency_total_s = 0.0
        self.fetch_count = 0
        self.consecutive_ticks = 0
        self.idle_ticks = 0
        self._idle = ResettableTimer(net, self._idle_tick)
        self._idle.reset(cfg.prov_search_delay_s)
        self._periodic = ResettableTimer(net, self._periodic_search)
        self._periodic.reset(cfg.periodic_search_delay_s)
        self.closed = False

    # ------------------------------------------------------------------ queries
    def is_wanted(self, cid: int) -> bool:
        """Requested and not yet received (live or still to fetch)."""
        return cid in self.live or cid in self.to_fetch

    def is_interesting(self, cid: int) -> bool:
        """Wanted, or received before (duplicates matter for the splitter)."""
        return cid in self.live or cid in self.to_fetch or cid in self.past

    # ------------------------------------------------------------------ requests
    def want_blocks(self, new_cids: Iterable[int]) -> None:
        """``wantBlocks``: queue ``new_cids``, fill the live window, send the new live wants."""
        now = self._net.env.now
        to_fetch = self.to_fetch
        for cid in new_cids:
            to_fetch.push(cid)
        limit = (
            self._cfg.targeted_live_wants_limit
            if self.peers.has_peers()
            else self._cfg.broadcast_live_wants_limit
        )
        live = self.live
        cids = []
        while len(live) < limit:
            popped = to_fetch.pop()
            if popped is None:
                break
            live[popped] = now
            cids.append(popped)
        if not cids:
            return
        peers = self.peers.get_optimized_peers()
        if peers:
            for group_peers, group_cids in self.splitter.split_request(peers, cids):
                self.peers.record_requests(group_peers, group_cids)
                self._wm.want_blocks(group_cids, group_peers, self.id)
        else:
            self.peers.record_requests(None, cids)
            self._wm.want_blocks(cids, None, self.id)

    # ------------------------------------------------------------------ receiving
    def receive_from(self, sender: Hashable, cids: list[int]) -> None:
        """Blocks for ``cids`` arrived from ``sender`` (``ReceiveFrom`` + ``handleReceive``)."""
        interested = [c for c in cids if self.is_interesting(c)]
        if not interested or self.closed:
            return
        splitter = self.splitter
        for cid in interested:
            if self.is_wanted(cid):
                splitter.record_unique()
            elif cid in self.past:
                splitter.record_duplicate()
        self.peers.record_response(sender, interested)
        now = self._net.env.now
        wanted = []
        for cid in interested:
            if self.is_wanted(cid):
                wanted.append(cid)
                sent_at = self.live.pop(cid, None)
                if sent_at is not None:
                    self.latency_total_s += now - sent_at
                else:
                    self.to_fetch.remove(cid)
                self.past.add(cid)
        if not wanted:
            return
        self.peers.record_cancels(wanted)
        self._wm.cancel_wants(wanted, None, self.id)
        self._idle.stop()
        self.fetch_count += len(wanted)
        self.consecutive_ticks = 0
        self.want_blocks(())
        self._reset_idle_tick()

    # ------------------------------------------------------------------ timers
    def average_latency_s(self) -> float:
        """Mean of (receipt - last sent) over the wanted blocks received, seconds."""
        return self.latency_total_s / self.fetch_count if self.fetch_count else 0.0

    def _reset_idle_tick(self) -> None:
        cfg = self._cfg
        if self.latency_total_s == 0:
            delay = cfg.prov_search_delay_s
        else:
            delay = cfg.base_tick_delay_s + cfg.tick_latency_multiplier * self.average_latency_s()
        self._idle.reset(delay * (1 + self.consecutive_ticks))

    def _live_in_map_order(self) -> list[int]:
        live = list(self.live)
        if len(live) > 1:
            order = self._rng.permutation(len(live))
            live = [live[i] for i in order]
        return live

    def _idle_tick(self) -> None:
        """``handleIdleTick``: re-broadcast every live want, search on the first tick."""
        self.idle_ticks += 1
        now = self._net.env.now
        live = self._live_in_map_order()
        for cid in live:
            self.live[cid] = now
        self.peers.record_requests(None, live)
        self._wm.want_blocks(live, None, self.id)
        if live and self.consecutive_ticks == 0:
            self.peers.find_more_peers(live[0])
        self._reset_idle_tick()
        if self.live:
            self.consecutive_ticks += 1

    def _periodic_search(self) -> None:
        """``handlePeriodicSearch``. As in go-bitswap, the timer is not re-armed when no want is
        live at that moment."""
        if not self.live:
            return
        live = list(self.live)
        cid = live[int(self._rng.integers(len(live)))]
        self.peers.find_more_peers(cid)
        self._wm.want_blocks([cid], None, self.id)
        self._periodic.reset(self._cfg.periodic_search_delay_s)

    def close(self) -> None:
        """``handleShutdown``: stop the timers and cancel what is still live."""
        if self.closed:
            return
        self.closed = True
        self._idle.stop()
        self._periodic.stop()
        if self.live:
            self._wm.cancel_wants(list(self.live), None, self.id)
