"""poc's per-peer want queue and its DONT_HAVE timeouts.

:class:`MessageQueue` (``internal/messagequeue/messagequeue.go@v0.2.0``): pending broadcast
want-haves, peer wants (want-have / want-block) and cancels; queuing a want for a CID clears a
pending cancel for it and vice versa; each queued want takes the next priority of a per-peer
counter that starts at MaxInt32 (so a peer serves one peer's wants in FIFO order). Sending is
debounced: the first enqueue notes the time, every enqueue restarts a 1 ms timer, and the
message goes when the timer fires, or at once when more than 256 entries are pending or 20 ms
have passed since the first enqueue (``debounce = "trailing"``, before PR #255: only when the
timer fires). A message holds broadcast want-haves (``sendDontHave``
false), then peer wants (``sendDontHave`` true), then cancels, each by priority, stopping at
2 MiB (counted as ``message.Size()`` counts). The whole per-peer wantlist is re-sent every 30 s.

To a peer that only speaks ``/ipfs/bitswap/1.1.0`` (a master peer), broadcast want-haves go as
want-blocks and other want-haves are dropped (``extractOutgoingMessage``).

:class:`DontHaveTimeoutManager` (``internal/messagequeue/donthavetimeoutmgr.go@v0.2.0``): after
each message is sent, its want-blocks (with ``sendDontHave``) that are still wanted start a
timer; a CANCEL for the CID (the block arrived from anyone) stops it; otherwise, after
``200 ms + 2 x latency`` (5 s while the latency is unknown), the peer is treated as if it had
sent DONT_HAVE. A real DONT_HAVE or HAVE does not stop the timer in v0.2.0. One timer per queue
(the oldest pending want's deadline), as in go-bitswap. Whose want-blocks are timed:
``dont_have_timeouts`` and ``dont_have_timeout_peers`` (:mod:`models.poc.config`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from operator import itemgetter
from typing import TYPE_CHECKING

from models.messages import (
    MAX_PRIORITY,
    Entry,
    Message,
    WantType,
    broadcast_entry,
    cancel_entry,
    entry_size_poc_limit,
    want_entry,
)
from models.poc.config import PocConfig
from models.poc.packedwant import WantTable, unpack_want
from sim.timers import ResettableTimer

if TYPE_CHECKING:
    from sim.network import Network

__all__ = ["DontHaveTimeoutManager", "MessageQueue"]

BLOCK = WantType.Block
HAVE = WantType.Have


class _RecallWantlist:
    """``recallWantlist``: every want sent (``all``) and those not yet sent (``pending``).

    Each maps cid -> the want packed (:mod:`models.poc.packedwant`: ``want & 1`` is 1 for a
    want-have, ``want >> 1`` is the priority); adding a want-have over a want-block is a no-op,
    a want-block over a want-have upgrades it (``wantlist.go@v0.2.0`` ``Add``). ``all`` holds a
    want per CID the peer was sent, for as long as it is wanted, so it is a compact
    :class:`WantTable`; ``pending`` empties at every send, so it is a dict.
    """

    __slots__ = ("all", "pending")

    def __init__(self) -> None:
        self.all = WantTable()
        self.pending: dict[int, int] = {}

    @staticmethod
    def _add(wl: dict[int, int], cid: int, want: int) -> None:
        old = wl.get(cid)
        if old is None or (old & 1 and not want & 1):  # a want-block over a want-have
            wl[cid] = want

    def add(self, cid: int, priority: int, wtype: WantType) -> None:
        # self.all.add(cid, want) and _add(self.pending, cid, want), inlined
        want = priority << 1 | wtype  # pack_want(priority, wtype)
        self.all.add(cid, want)
        wl = self.pending
        old = wl.get(cid)
        if old is None or (old & 1 and wtype != HAVE):
            wl[cid] = want

    @staticmethod
    def _remove_type(wl: dict[int, int], cid: int, wtype: WantType) -> None:
        old = wl.get(cid)
        if old is None or (not old & 1 and wtype == HAVE):  # a want-block stays
            return
        del wl[cid]

    def remove_type(self, cid: int, wtype: WantType) -> None:
        self.all.remove_type(cid, wtype)
        self._remove_type(self.pending, cid, wtype)

    def absorb_all_into_pending(self) -> None:
        for cid, want in self.all.items():
            self._add(self.pending, cid, want)


class _PendingWant:
    """A want-block waiting for its answer: when it was sent, and whether it still waits (a
    cancel clears ``active``; the queue entry is dropped when reached)."""

    __slots__ = ("active", "sent_at")

    def __init__(self, sent_at: float) -> None:
        self.sent_at = sent_at
        self.active = True


class DontHaveTimeoutManager:
    """Simulated DONT_HAVEs for want-blocks that get no answer (one per message queue)."""

    __slots__ = ("_active", "_net", "_on_timeout", "_queue", "_timer", "started", "timeout_s")

    def __init__(self, net: Network, on_timeout: Callable[[list[int]], None]) -> None:
        self._net = net
        self._on_timeout = on_timeout
        self._active: dict[int, _PendingWant] = {}
        self._queue: deque[tuple[int, _PendingWant]] = deque()  # in the order sent
        self._timer = ResettableTimer(net, self._check)
        self.started = False
        self.timeout_s = 0.0

    def start(self, timeout_s: float) -> None:
        """``Start``: fix the timeout (from the peer's latency) on the queue's first send."""
        if not self.started:
            self.started = True
            self.timeout_s = timeout_s

    def add_pending(self, cids: Iterable[int]) -> None:
        now = self._net.env.now
        was_empty = not self._active
        for cid in cids:
            if cid not in self._active:
                entry = _PendingWant(now)
                self._active[cid] = entry
                self._queue.append((cid, entry))
        if was_empty:
            self._check()

    def cancel_pending(self, cids: Iterable[int]) -> None:
        for cid in cids:
            self.cancel_one(cid)

    def cancel_one(self, cid: int) -> None:
        """A CANCEL for ``cid`` (the block arrived): stop its timeout, if any."""
        entry = self._active.pop(cid, None)
        if entry is not None:
            entry.active = False

    def _check(self) -> None:
        queue = self._queue
        if not queue:
            return
        now = self._net.env.now
        timeout = self.timeout_s
        expired = []
        while queue:
            cid, entry = queue[0]
            if entry.active:
                if now - entry.sent_at < timeout - 1e-12:
                    break
                expired.append(cid)
                del self._active[cid]
            queue.popleft()
        if expired:
            self._net.call_soon(lambda: self._on_timeout(expired))  # go fireTimeout(...)
        if queue:
            self._timer.reset(queue[0][1].sent_at + timeout - now)

    def shutdown(self) -> None:
        self._timer.stop()
        self._queue.clear()
        self._active.clear()


class MessageQueue:
    """The want/cancel queue towards one peer (see the module docstring)."""

    def __init__(
        self,
        net: Network,
        peer: Hashable,
        cfg: PocConfig,
        send: Callable[[Hashable, Message], None],
        supports_have: bool,
        timeout_s: float,
        on_dont_have_timeout: Callable[[Hashable, list[int]], None],
        cid_version: int,
    ) -> None:
        self._net = net
        self.peer = peer
        self._cfg = cfg
        self._send = send
        self.supports_have = supports_have
        self._timeout_s = timeout_s
        self._cid_version = cid_version
        self.bcst = _RecallWantlist()
        self.peer_wants = _RecallWantlist()
        self.cancels: dict[int, None] = {}
        self.priority = MAX_PRIORITY
        self.dont_haves = DontHaveTimeoutManager(net, lambda cids: on_dont_have_timeout(peer, cids))
        self._work_scheduled: float | None = None
        self._debounce = ResettableTimer(net, self._debounce_fired)
        # cfg's debounce settings, read on every enqueue (max delay with the float slack)
        self._send_cutoff: float = cfg.send_message_cutoff
        self._send_max_delay_s = cfg.send_message_max_delay_s - 1e-12
        self._send_debounce_s = cfg.send_message_debounce_s
        if cfg.debounce == "trailing":  # bep/debounce: every enqueue restarts the timer, no cap
            self._send_cutoff = self._send_max_delay_s = math.inf
        self._dont_have_timeouts = cfg.dont_have_timeouts and (
            cfg.dont_have_timeout_peers == "all" or not supports_have
        )
        """Whether this queue times its want-blocks (``messagequeue.go@v0.2.0`` for every peer;
        ``@f4c9702`` only if the peer does not support HAVE)."""
        self._rebroadcast = ResettableTimer(net, self._rebroadcast_fired)
        self._rebroadcast.reset(cfg.rebroadcast_interval_s)
        self.messages_sent = 0
        # Most bytes one entry can count against max_message_size_bytes (a negative priority
        # takes 10 B): below limit / this many entries, _extract need not size them.
        self._max_entry_bytes = entry_size_poc_limit(
            Entry(0, -1, cancel=True, want_type=HAVE, send_dont_have=True), cid_version
        )

    # ------------------------------------------------------------------ adding work
    def add_broadcast_want_haves(self, cids: Iterable[int]) -> None:
        add = self.bcst.add
        cancels = self.cancels
        priority = self.priority
        for cid in cids:
            add(cid, priority, HAVE)
            priority -= 1
            cancels.pop(cid, None)
        if priority != self.priority:  # something was added
            self.priority = priority
            self._signal()

    def add_wants(self, want_blocks: Iterable[int], want_haves: Iterable[int]) -> None:
        add = self.peer_wants.add
        cancels = self.cancels
        priority = self.priority
        for cid in want_haves:
            add(cid, priority, HAVE)
            priority -= 1
            cancels.pop(cid, None)
        for cid in want_blocks:
            add(cid, priority, BLOCK)
            priority -= 1
            cancels.pop(cid, None)
        if priority != self.priority:  # something was added
            self.priority = priority
            self._signal()

    def add_cancels(self, cids: list[int]) -> None:
        if not cids:
            return
        self.dont_haves.cancel_pending(cids)
        for cid in cids:
            self._cancel(cid)
        self._signal()

    def add_cancel(self, cid: int) -> None:
        """:meth:`add_cancels` of one CID (a received block's cancel to each peer), without
        the list and the loops."""
        self.dont_haves.cancel_one(cid)
        self._cancel(cid)
        self._signal()

    def _cancel(self, cid: int) -> None:
        """Queue a CANCEL for ``cid``, taking the want out of the broadcast and peer
        wantlists."""
        bcst, peer_wants = self.bcst, self.peer_wants
        bcst.all.pop(cid)
        bcst.pending.pop(cid, None)
        peer_wants.all.pop(cid)
        peer_wants.pending.pop(cid, None)
        self.cancels[cid] = None

    # ------------------------------------------------------------------ sending
    def pending_work_count(self) -> int:
        return len(self.bcst.pending) + len(self.peer_wants.pending) + len(self.cancels)

    def _signal(self) -> None:
        """``signalWorkReady`` as handled by ``runQueue``: debounce, cutoff, max delay."""
        now = self._net.env.now  # a plain attribute (sim.kernel.Environment): hot
        scheduled = self._work_scheduled
        if scheduled is None:
            scheduled = self._work_scheduled = now
        if (
            len(self.bcst.pending) + len(self.peer_wants.pending) + len(self.cancels)
            > self._send_cutoff
            or now - scheduled >= self._send_max_delay_s
        ):
            self._debounce.stop()
            self._work_scheduled = None
            self._send_if_ready()
        else:
            self._debounce.reset(self._send_debounce_s)

    def _debounce_fired(self) -> None:
        self._work_scheduled = None
        self._send_if_ready()

    def _rebroadcast_fired(self) -> None:
        self._rebroadcast.reset(self._cfg.rebroadcast_interval_s)
        if self.bcst.all or self.peer_wants.all:
            self.bcst.absorb_all_into_pending()
            self.peer_wants.absorb_all_into_pending()
            self._send_message()

    def _send_if_ready(self) -> None:
        if self.pending_work_count():
            self._send_message()

    def _send_message(self) -> None:
        self.dont_haves.start(self._timeout_s)
        if self._fits_whole():
            self._send_whole()
            return
        msg = self._extract_sized()
        if msg.is_empty():
            return
        self._send(self.peer, msg)
        self.messages_sent += 1
        # onSent: these entries are no longer pending
        bcst_pending = self.bcst.pending
        wants_pending = self.peer_wants.pending
        for cid, entry in msg.entries.items():
            bcst_pending.pop(cid, None)
            # _RecallWantlist._remove_type(wants_pending, cid, entry.want_type)
            old = wants_pending.get(cid)
            if old is not None and (old & 1 or entry.want_type != HAVE):  # packed: a want-have
                del wants_pending[cid]
        if self._dont_have_timeouts:
            self._start_dont_have_timeouts(msg)
        if self.pending_work_count():
            self._signal()

    def _send_whole(self) -> None:
        """:meth:`_send_message` when every pending entry fits in one message
        (:meth:`_fits_whole`): they all go out, so onSent leaves nothing pending."""
        msg, want_blocks = self._extract_all()
        if not msg.entries:  # Message.is_empty(): a queue's message has entries only
            return
        self._send(self.peer, msg)
        self.messages_sent += 1
        # onSent: every entry of bcst.pending and peer_wants.pending is in msg (as a want-block
        # where it is one), the cancels were taken by _extract_all
        self.bcst.pending.clear()
        self.peer_wants.pending.clear()
        if want_blocks and self._dont_have_timeouts:
            self._start_dont_have_timeouts(msg)

    def _start_dont_have_timeouts(self, msg: Message) -> None:
        """``simulateDontHaveWithTimeout``: the sent want-blocks that are still wanted."""
        wanted = self.peer_wants.all
        self.dont_haves.add_pending(
            cid
            for cid, e in msg.entries.items()
            if e.want_type == BLOCK and e.send_dont_have and not e.cancel and cid in wanted
        )

    def _fits_whole(self) -> bool:
        """Whether even the largest possible entries, all pending ones, stay below the size
        limit, so that extraction need not size them."""
        pending = len(self.bcst.pending) + len(self.peer_wants.pending) + len(self.cancels)
        return pending * self._max_entry_bytes < self._cfg.max_message_size_bytes

    def _extract_sized(self) -> Message:
        """``extractOutgoingMessage``, sizing each entry against the limit (see
        :meth:`_extract_all` for when every entry fits)."""
        msg = Message()
        limit = self._cfg.max_message_size_bytes
        version = self._cid_version
        size = 0
        bcst_type = HAVE if self.supports_have else BLOCK
        for cid, want in sorted(self.bcst.pending.items(), key=_by_priority):
            if size >= limit:
                break
            if msg.add_entry(cid, want >> 1, bcst_type, send_dont_have=False):
                size += entry_size_poc_limit(msg.entries[cid], version)
        for cid, want in sorted(self.peer_wants.pending.items(), key=_by_priority):
            if size >= limit:
                break
            prio, wtype = unpack_want(want)
            if not self.supports_have and wtype == HAVE:
                self.peer_wants.remove_type(cid, HAVE)
                continue
            if msg.add_entry(cid, prio, wtype, send_dont_have=True):
                size += entry_size_poc_limit(msg.entries[cid], version)
        for cid in list(self.cancels):
            if size >= limit:
                break
            if msg.add_cancel(cid):
                size += entry_size_poc_limit(msg.entries[cid], version)
            del self.cancels[cid]
        return msg

    def _extract_all(self) -> tuple[Message, bool]:
        """:meth:`_extract_sized` when every pending entry fits under the size limit: the same
        message, without sizing each entry; and whether it holds a peer want-block."""
        msg = Message()
        entries = msg.entries
        want_blocks = False
        bcst_pending = self.bcst.pending
        if bcst_pending:
            bcst_type = HAVE if self.supports_have else BLOCK
            # Priorities are unique (one counter per queue): reverse order is by priority alone.
            for cid, want in _by_priority_desc(bcst_pending):
                entries[cid] = broadcast_entry(cid, want >> 1, bcst_type)
        wants_pending = self.peer_wants.pending
        if wants_pending:
            supports_have = self.supports_have
            add_entry = msg.add_entry
            for cid, want in _by_priority_desc(wants_pending):
                prio = want >> 1  # unpack_want(want), inlined
                if want & 1:
                    if not supports_have:
                        self.peer_wants.remove_type(cid, HAVE)
                        continue
                    wtype = HAVE
                else:
                    want_blocks = True
                    wtype = BLOCK
                if cid in entries:
                    add_entry(cid, prio, wtype, send_dont_have=True)
                else:
                    entries[cid] = want_entry(cid, prio, wtype)
        cancels = self.cancels
        if cancels:
            for cid in cancels:
                if cid in entries:
                    msg.add_cancel(cid)
                else:
                    entries[cid] = cancel_entry(cid)
            cancels.clear()
        return msg, want_blocks

    def shutdown(self) -> None:
        self._debounce.stop()
        self._rebroadcast.stop()
        self.dont_haves.shutdown()


def _by_priority(item: tuple[int, int]) -> int:
    """Sort key of a ``(cid, packed want)`` item: highest priority first."""
    return -(item[1] >> 1)


def _by_priority_desc(wl: dict[int, int]) -> list[tuple[int, int]]:
    """``wl``'s items, highest priority first (one item needs no sort), as a list: the
    caller may remove items from ``wl``. Packed wants sort as ``(priority, want type)``."""
    if len(wl) == 1:
        return list(wl.items())
    return sorted(wl.items(), key=_VALUE, reverse=True)


_VALUE = itemgetter(1)
"""The packed want of a ``(cid, packed want)`` item."""
