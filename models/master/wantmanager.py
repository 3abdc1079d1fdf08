"""master's want path: want manager, peer manager and per-peer message queues.

* ``WantManager`` (``wantmanager/wantmanager.go@v0.1.8``): the node's wantlist and broadcast
  wantlist; ``want_blocks``/``cancel_wants`` number the keys of each call ``MaxInt32 - i`` and
  hand the entries to the target peers' queues, or to every connected peer's queue when no
  target is given (a broadcast, also remembered in the broadcast wantlist).
* ``PeerManager`` (``peermanager/peermanager.go@v0.1.8``) is folded in here: one queue per
  connected peer; a newly connected peer's queue starts with the broadcast wantlist.
* ``MessageQueue`` (``messagequeue/messagequeue.go@v0.1.8``): a per-peer wantlist that filters
  what reaches the wire (a want only for a CID not already sent to that peer by any session, a
  cancel only when the last session wanting it cancels), a pending message, and a full wantlist
  resend every 30 s. go-bitswap's queue goroutine sends the pending message as soon as it runs,
  with no timer; here the flush runs at the end of the current instant (one zero-delay event),
  so entries added at the same simulated time share a message, as they mostly would while the
  goroutine is being scheduled.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Protocol

from models.master.config import MasterConfig
from models.master.wantlist import SessionTrackedWantlist
from models.messages import MAX_PRIORITY, Message
from sim.timers import ResettableTimer

if TYPE_CHECKING:
    from sim.network import Network

__all__ = ["MessageQueue", "WantHost", "WantManager"]

WantEntry = tuple[int, int, bool]
"""(cid, priority, cancel)"""


class WantHost(Protocol):
    """What the want path needs from its peer (a part of :class:`~models.client.ClientHost`)."""

    @property
    def net(self) -> Network: ...

    def send_want_message(self, dst: Hashable, msg: Message) -> None: ...


class MessageQueue:
    """The want/cancel queue towards one peer."""

    __slots__ = (
        "_flush_pending",
        "_holders",
        "_host",
        "_interval_s",
        "_next",
        "order",
        "peer",
        "rebroadcast",
        "refcount",
        "wl",
    )

    def __init__(
        self,
        host: WantHost,
        peer: Hashable,
        cfg: MasterConfig,
        order: int = 0,
        holders: dict[int, set[MessageQueue]] | None = None,
    ) -> None:
        self._host = host
        self.peer = peer
        self.order = order
        """Creation rank among the node's queues (the order a broadcast visits them)."""
        self._holders = holders if holders is not None else {}
        """Shared index cid -> queues whose wantlist holds it (see ``WantManager._add``)."""
        self.wl = SessionTrackedWantlist()
        self._next: Message | None = None
        self._flush_pending = False
        self.refcount = 0
        self._interval_s = cfg.rebroadcast_interval_s
        self.rebroadcast = ResettableTimer(host.net, self._rebroadcast)
        self.rebroadcast.reset(self._interval_s)

    def add_message(self, entries: list[WantEntry], session: Hashable) -> None:
        """Merge entries into the pending message, filtered by this peer's wantlist."""
        wl = self.wl
        msg = self._next
        work = False
        holders = self._holders
        for cid, priority, cancel in entries:
            if cancel:
                if wl.remove(cid, session):
                    holders[cid].discard(self)
                    if msg is None:
                        msg = self._next = Message()
                    msg.add_entry_master(cid, 0, cancel=True)
                    work = True
            elif wl.add(cid, priority, session):
                holders.setdefault(cid, set()).add(self)
                if msg is None:
                    msg = self._next = Message()
                msg.add_entry_master(cid, priority)
                work = True
        if work:
            self._signal()

    def add_wantlist(self, initial: SessionTrackedWantlist | None = None) -> None:
        """Queue this peer's whole wantlist (after copying ``initial`` into it)."""
        if initial is not None:
            for cid in initial.copy_wants_to(self.wl):
                self._holders.setdefault(cid, set()).add(self)
        if len(self.wl) == 0:
            return
        if self._next is None:
            self._next = Message()
        for cid, priority in self.wl.entries():
            self._next.add_entry_master(cid, priority)
        self._signal()

    def _rebroadcast(self) -> None:
        self.rebroadcast.reset(self._interval_s)
        self.add_wantlist()

    def _signal(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            self._host.net.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        msg = self._next
        self._next = None
        if msg is not None and not msg.is_empty():
            self._host.send_want_message(self.peer, msg)

    def shutdown(self) -> None:
        """Stop the periodic resend (the peer disconnected or the run ends)."""
        self.rebroadcast.stop()

    def forget(self) -> None:
        """Leave the shared index (the queue is being dropped)."""
        for cid, _ in self.wl.entries():
            self._holders.get(cid, set()).discard(self)


class WantManager:
    """The node's wantlists and its per-peer queues."""

    def __init__(self, host: WantHost, cfg: MasterConfig) -> None:
        self._host = host
        self._cfg = cfg
        self.wl = SessionTrackedWantlist()
        self.bcwl = SessionTrackedWantlist()
        self.queues: dict[Hashable, MessageQueue] = {}
        self._holders: dict[int, set[MessageQueue]] = {}
        self._created = 0

    def _queue(self, peer: Hashable) -> MessageQueue:
        queue = self.queues.get(peer)
        if queue is None:
            self._created += 1
            queue = self.queues[peer] = MessageQueue(
                self._host, peer, self._cfg, self._created, self._holders
            )
        return queue

    def connected(self, peer: Hashable) -> None:
        """``PeerConnected``: a new queue starts with the broadcast wantlist."""
        queue = self._queue(peer)
        if queue.refcount == 0:
            queue.add_wantlist(self.bcwl)
        queue.refcount += 1

    def disconnected(self, peer: Hashable) -> None:
        """``PeerDisconnected``: the queue goes when its last connection does."""
        queue = self.queues.get(peer)
        if queue is None:
            return
        queue.refcount -= 1
        if queue.refcount <= 0:
            queue.shutdown()
            queue.forget()
            del self.queues[peer]

    def want_blocks(self, cids: list[int], peers: list[Hashable] | None, session: Hashable) -> None:
        """Want ``cids`` from ``peers`` (``None``: broadcast to every connected peer)."""
        self._add(cids, peers, session, cancel=False)

    def cancel_wants(
        self, cids: list[int], peers: list[Hashable] | None, session: Hashable
    ) -> None:
        """Cancel ``cids`` (``None``: on every queue, which emits only what it had sent)."""
        self._add(cids, peers, session, cancel=True)

    def _add(
        self, cids: list[int], peers: list[Hashable] | None, session: Hashable, cancel: bool
    ) -> None:
        if not cids:
            return
        entries = [(cid, MAX_PRIORITY - i, cancel) for i, cid in enumerate(cids)]
        broadcast = not peers
        wl, bcwl = self.wl, self.bcwl
        for cid, priority, _ in entries:
            if cancel:
                if broadcast:
                    bcwl.remove(cid, session)
                wl.remove(cid, session)
            else:
                if broadcast:
                    bcwl.add(cid, priority, session)
                wl.add(cid, priority, session)
        if peers:
            for peer in peers:
                self._queue(peer).add_message(entries, session)
        elif cancel:
            # A broadcast cancel only changes the queues whose wantlist holds one of the CIDs
            # (the others find nothing to remove): visit just those, in the same order as
            # visiting every queue would.
            targets: set[MessageQueue] = set()
            for cid in cids:
                targets |= self._holders.get(cid, set())
            for queue in sorted(targets, key=_queue_order):
                queue.add_message(entries, session)
        else:
            for queue in self.queues.values():
                queue.add_message(entries, session)

    def shutdown(self) -> None:
        """Stop every queue's periodic resend."""
        for queue in self.queues.values():
            queue.shutdown()


def _queue_order(queue: MessageQueue) -> int:
    return queue.order
