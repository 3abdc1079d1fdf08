"""The poc server side: go-bitswap's decision engine at v0.2.0 and its workers.

**Requests** (``MessageReceived``, ``internal/decision/engine.go@v0.2.0``). Blocks in the message
are counted in the sender's :class:`~models.poc.ledger.Ledger`; a ``full`` wantlist clears it;
then the cancels: a cancel whose want was in the ledger removes it and the pending task of that
CID (a cancel for a want the ledger no longer has leaves a queued task alone, as in Go); then
the wants, each recorded in the ledger with its type whether or not we hold the block. Each
want becomes at most one :class:`BitswapTask` (a :class:`~models.poc.peertaskqueue.Task`: topic
= CID, the entry's priority), all pushed together:

=============================  ===========================  =================================
want                           block held (size S bytes)    block absent
=============================  ===========================  =================================
want-block                     block task, Work = S         DONT_HAVE task if sendDontHave,
want-have, S <= 1024 B         block task, Work = S         Work = P; else nothing (the want
want-have, S > 1024 B          HAVE task, Work = P          stays in the ledger)
=============================  ===========================  =================================

P is ``BlockPresenceSize(cid)``: the protobuf size of ``BlockPresence{cid, Have}``, i.e. the cid
field only (36 B for CIDv0, 38 B for CIDv1; ``message/message.go@v0.2.0``); DONT_HAVE tasks use
it too. The 1024 B is ``max_block_size_replace_has_with_block`` (``sendAsBlock``). The engine's
``sendDontHaves`` switch (``SetSendDontHaves``, default true) is always on here. Block sizes
come from the blockstore at no cost (``GetSize``; see :mod:`models.blockstore`).

**New local blocks** (``ReceiveFrom``, here :meth:`PocEngine.add_blocks`): for every ledger
that wants one of them, a block task (want-block, or want-have with S <= 1024 B) or a HAVE task,
with ``sendDontHave`` false, pushed one by one (a ledger's tasks in one batch, which is the
same). This is how leeches reseed each other.

**Task merging** (:class:`BitswapTaskMerger`, ``internal/decision/taskmerger.go@v0.2.0``; the
queue's rules are in :mod:`models.poc.peertaskqueue`): one pending task per CID per peer. A new
task merges into the pending one: the higher priority wins; "have block" replaces "don't have"
(taking the block size); want-block replaces want-have (taking the new task's Work if the old
one was a DONT_HAVE or the new one has the block); a want-block task with the block always has
Work = block size. A new task is dropped if a task for that CID is being sent (active) and it
brings neither a want-block nor a "have block" that the active ones lack (``HasNewInfo``).

**Workers** (:mod:`models.decision.engine_workers`: engine task workers paired with Bitswap send
workers through the unbuffered outbox, ``workSignal``, the 100 ms ticker, blockstore reads;
``internal/decision/engine.go@v0.2.0``, ``workers.go@v0.2.0``): ``engine_task_workers`` (8)
engine workers and ``send_workers`` (8) send workers, as in master. Signals come from a request
that created tasks, from ``add_blocks`` with work, and from every response sent. What is poc's
own:

* *Ticker*: ``ThawRound`` changes nothing (``IgnoreFreezing(true)``: no peer is ever frozen),
  but the tick still matters: it wakes one waiting pair, which pops. Since one request creates
  one signal, a request with more than 16 KiB of work is served by one pair at first; the other
  pairs join at the ticks (0.1 s, 0.2 s, …) or when a response has been sent. So the ticker is
  kept, with master's timing rules (ticks at k x ``thaw_interval_s``, one buffered tick, armed
  only while a pair waits and a pop would find work); :attr:`PocEngine.thaw_rounds` counts the
  ticks taken.
* *Pop*: ``PopTasks(target_message_size_bytes)`` (16 KiB): the best peer's tasks in priority
  order until their Work reaches 16 KiB. 8,000 B blocks go 3 per response (8,000, 16,000 <
  16,384, 24,000); 256 KiB leaves 1 per response; presences alone 432 (CIDv1, 38 B) or 456
  (CIDv0, 36 B) per response.
* *Response*: HAVE tasks become HAVE presences, DONT_HAVE tasks DONT_HAVE presences; block
  tasks become the blocks in the blockstore (which are then read, as in master). A block task
  whose block is not there becomes a DONT_HAVE if its want asked for one, else nothing. A
  response with nothing in it is dropped, its tasks done without a signal.
* *Send*: the wire message is built fresh (``sendBlocks``: ``bsmsg.New(false)`` with the
  presences and blocks only, so ``pendingBytes`` never reaches the wire). The
  send worker first runs ``MessageSent``: a sent block counts its bytes and removes the CID's
  want of either type (``RemoveType(c, Block)``); a sent HAVE removes a want-have but not a
  want-block (``RemoveType(c, Have)``); a DONT_HAVE removes nothing. Then
  ``host.send_response(dst, msg, on_sent)``; at ``on_sent()`` the tasks are done (their active
  work released), ``workSignal`` is signalled and the send worker takes the next pair.

Deliberate discrepancies with Go: insertion order where Go iterates maps (a message's wantlist,
the ledgers in ``add_blocks``, the blocks and presences of a response); goroutines run in a
fixed order (woken pairs before new pairs); when a token and a tick are both ready Go picks at
random, here the token. Disconnecting a peer does not clear its queued tasks (as in Go).

Cost: that of the workers (:mod:`models.decision.engine_workers`); no SimPy process.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol, cast

from models.decision import engine_workers
from models.decision.engine_workers import EngineWorkers
from models.decision.ledgers import Ledgers
from models.messages import Message, PresenceType, WantType, presence_wire_size
from models.poc.config import PocConfig
from models.poc.ledger import Ledger
from models.poc.peertaskqueue import PeerTaskQueue, Task

__all__ = [
    "QUEUED_TAG_VALUE",
    "BitswapTask",
    "BitswapTaskMerger",
    "EngineHost",
    "PocEngine",
    "block_presence_size",
    "dont_have_task",
    "have_block_task",
    "new_block_task",
]

QUEUED_TAG_VALUE = 10
"""``queuedTagWeight``: the engine's tag on a peer it has work queued for
(``internal/decision/engine.go@v0.2.0``)."""


class EngineHost(engine_workers.EngineHost, Protocol):
    """What the engine needs from the peer it serves."""

    cid_version: int
    """0 or 1: the length of the CIDs, for ``BlockPresenceSize``."""


def block_presence_size(cid_version: int) -> int:
    """``BlockPresenceSize`` (``message/message.go@v0.2.0``): bytes of a ``BlockPresence``
    protobuf with type Have (omitted), i.e. the cid field only: 36 B (CIDv0), 38 B (CIDv1).
    The wire size of a HAVE minus its 2 B repeated-field framing."""
    return presence_wire_size(PresenceType.Have, cid_version) - 2


class BitswapTask(Task):
    """A queue task with what it is about (``taskData``,
    ``internal/decision/taskmerger.go@v0.2.0``) in its own fields rather than in ``data``: one
    object per want instead of two.

    The flags are keyword-only. The engine builds one task per want, through the factories
    :func:`have_block_task`, :func:`dont_have_task` and :func:`new_block_task` (the three
    ``peertask.Task{...}`` of ``internal/decision/engine.go@v0.2.0``), which fill the slots
    without a keyword call."""

    __slots__ = ("block_size", "have_block", "is_want_block", "send_dont_have")

    def __init__(
        self,
        topic: int,
        priority: int,
        work: int,
        *,
        is_want_block: bool,
        send_dont_have: bool,
        block_size: int,
        have_block: bool,
    ) -> None:
        # Task.__init__(self, topic, priority, work), written out: one call per want.
        self.topic = topic
        self.priority = priority
        self.work = work
        self.data = None
        self.is_want_block = is_want_block
        """Send the block (want-block, or a want-have for a small block) rather than a HAVE."""
        self.send_dont_have = send_dont_have
        """The want asked for a DONT_HAVE if we do not have the block."""
        self.block_size = block_size
        """Block size in bytes (0 if we did not have it when the task was made)."""
        self.have_block = have_block
        """We had the block when the task was made."""

    def __repr__(self) -> str:
        return (
            f"BitswapTask(topic={self.topic!r}, priority={self.priority}, work={self.work}, "
            f"is_want_block={self.is_want_block}, send_dont_have={self.send_dont_have}, "
            f"block_size={self.block_size}, have_block={self.have_block})"
        )


_new = object.__new__


def _task(
    cid: int,
    priority: int,
    work: int,
    is_want_block: bool,
    send_dont_have: bool,
    size: int,
    have_block: bool,
) -> BitswapTask:
    """A :class:`BitswapTask` with every field set, without ``__init__``'s keyword handling
    (the factories below name the three kinds the engine makes)."""
    t = _new(BitswapTask)
    t.topic = cid
    t.priority = priority
    t.work = work
    t.data = None
    t.is_want_block = is_want_block
    t.send_dont_have = send_dont_have
    t.block_size = size
    t.have_block = have_block
    return t


def have_block_task(
    cid: int, priority: int, work: int, is_want_block: bool, send_dont_have: bool, size: int
) -> BitswapTask:
    """``MessageReceived``, a want for a block we have (``HaveBlock: true``, its size)."""
    return _task(cid, priority, work, is_want_block, send_dont_have, size, True)


def dont_have_task(cid: int, priority: int, work: int, is_want_block: bool) -> BitswapTask:
    """``MessageReceived``, a want with ``sendDontHave`` for a block we lack: answered with
    DONT_HAVE (``HaveBlock: false``, size 0)."""
    return _task(cid, priority, work, is_want_block, True, 0, False)


def new_block_task(
    cid: int, priority: int, work: int, is_want_block: bool, size: int
) -> BitswapTask:
    """``ReceiveFrom``, a block just stored that a ledger wants (``HaveBlock: true``,
    ``SendDontHave: false``)."""
    return _task(cid, priority, work, is_want_block, False, size, True)


def _bt(task: Task) -> BitswapTask:
    return cast(BitswapTask, task)


class BitswapTaskMerger:
    """The engine's ``TaskMerger`` (``internal/decision/taskmerger.go@v0.2.0``)."""

    def has_new_info(self, task: Task, existing: list[Task]) -> bool:
        """True if ``task`` is a want-block and no ``existing`` task is, or it has the block and
        no ``existing`` task has (``HasNewInfo``)."""
        new = _bt(task)
        if new.is_want_block and not any(_bt(t).is_want_block for t in existing):
            return True
        return new.have_block and not any(_bt(t).have_block for t in existing)

    def merge(self, task: Task, existing: Task) -> None:
        """Fold ``task`` into the pending ``existing`` task of the same CID (``Merge``; the
        queue has already raised the priority)."""
        new = _bt(task)
        old = _bt(existing)
        if new.have_block and not old.have_block:
            old.have_block = True
            old.block_size = new.block_size
        if new.is_want_block and not old.is_want_block:
            old.is_want_block = True
            if new.have_block or not old.have_block:
                old.have_block = new.have_block
                existing.work = task.work
        if old.is_want_block and old.have_block:
            existing.work = old.block_size


_BLOCK = WantType.Block
_HAVE_WANT = WantType.Have
_HAVE = PresenceType.Have
_DONT_HAVE = PresenceType.DontHave

_Popped = tuple[Hashable, list[BitswapTask]]
"""(peer, tasks) of one ``PopTasks``."""


class PocEngine(EngineWorkers[PeerTaskQueue, _Popped]):
    """go-bitswap v0.2.0's decision engine plus the Bitswap send workers (module docstring).

    Introspection: :attr:`ledgers`, :attr:`queue`, :attr:`responses_sent`,
    :attr:`blocks_sent`, :attr:`block_bytes_sent`, :attr:`haves_sent`,
    :attr:`dont_haves_sent`, :attr:`empty_responses`, :attr:`thaw_rounds`,
    :attr:`presence_work_bytes` and the worker counts (:meth:`worker_counts`).
    """

    def __init__(self, host: EngineHost, config: PocConfig) -> None:
        super().__init__(host, config, PeerTaskQueue(BitswapTaskMerger()))
        self.config = config
        self.ledgers: Ledgers[Ledger] = Ledgers(Ledger)
        """Partner -> ledger, in creation order (Go: ``ledgerMap``)."""
        self.presence_work_bytes = block_presence_size(host.cid_version)
        """Work of a HAVE or DONT_HAVE task (``BlockPresenceSize``), bytes."""
        self.haves_sent = 0
        self.dont_haves_sent = 0

    # ------------------------------------------------------------------ connections
    def peer_connected(self, p: Hashable) -> None:
        """``PeerConnected``: create the ledger if needed, count the connection."""
        self.ledgers.connected(p)

    def peer_disconnected(self, p: Hashable) -> None:
        """``PeerDisconnected``: drop the ledger on the last connection (queued tasks stay)."""
        self.ledgers.disconnected(p)

    def tag_value(self, p: Hashable) -> int:
        """The connection manager tag the engine puts on ``p``: ``queuedTagWeight`` (10) while
        the peer task queue holds a tracker for it (``onPeerAdded`` / ``onPeerRemoved``,
        ``internal/decision/engine.go@v0.2.0``). The engine's ``useful`` tag, a score its
        ticker updates from the ledgers, is left out."""
        return QUEUED_TAG_VALUE if p in self.queue.trackers else 0

    # ------------------------------------------------------------------ requests
    def _send_as_block(self, want_type: WantType, size: int) -> bool:
        """``sendAsBlock``: a want-block, or a want-have for a block of at most 1024 B."""
        return (
            want_type == WantType.Block or size <= self.config.max_block_size_replace_has_with_block
        )

    def message_received(self, src: Hashable, msg: Message) -> None:
        """``MessageReceived``: count received blocks, apply cancels then wants, push the tasks
        (module docstring)."""
        ledger = self.ledgers.get(src) or self.ledgers.find_or_create(src)
        for n in msg.blocks.values():
            ledger.received_bytes(n)
        if msg.full:
            ledger.clear_wantlist()
        entries = msg.entries
        if not entries:
            self._pump()
            return
        queue = self.queue
        size_of = self.blockstore.size_of
        wantlist = ledger.wantlist  # after clear_wantlist (which replaces it)
        presence_work = self.presence_work_bytes
        max_as_block = self.config.max_block_size_replace_has_with_block
        tasks: list[Task] = []  # BitswapTasks
        # Cancels and wants in one pass: Go applies every cancel before any want, but each CID
        # has one entry and the tasks are pushed after the loop, so the result is the same.
        # Go iterates the message's wantlist map (random order); here the message's order.
        for cid, e in entries.items():
            if e.cancel:
                # ledger.cancel_want(cid), inlined (a cancel per peer per received block)
                if wantlist.pop(cid) is not None:
                    queue.remove(cid, src)
                continue
            want_type = e.want_type
            # ledger.wants(cid, e.priority, want_type), inlined
            wantlist.add(cid, e.priority << 1 | want_type)  # pack_want(e.priority, want_type)
            size = size_of(cid)
            if size is None:
                if e.send_dont_have:
                    tasks.append(
                        dont_have_task(cid, e.priority, presence_work, want_type == _BLOCK)
                    )
                continue  # else recorded in the ledger only; add_blocks may answer it
            # _send_as_block(want_type, size)
            as_block = want_type == _BLOCK or size <= max_as_block
            task_work = size if as_block else presence_work
            tasks.append(
                have_block_task(cid, e.priority, task_work, as_block, e.send_dont_have, size)
            )
        if tasks:
            queue.push_tasks(src, tasks)
            self._signal_new_work()
        self._pump()

    def add_blocks(self, cids: list[int]) -> None:
        """``ReceiveFrom``: new local blocks (sizes from the blockstore); push a task for every
        ledger that wants one. Go iterates ``ledgerMap`` (random order); here ledgers in
        creation order, blocks in the given order."""
        size_of = self.blockstore.size_of
        blocks = [(c, s) for c in cids if (s := size_of(c)) is not None]
        if not blocks:
            return
        presence_work = self.presence_work_bytes
        max_as_block = self.config.max_block_size_replace_has_with_block
        push = self.queue.push_tasks
        work = False
        if len(blocks) == 1:
            # One block (the common case): one wantlist lookup per ledger.
            cid, size = blocks[0]
            small = size <= max_as_block
            for ledger in self.ledgers.values():
                want = ledger.wantlist.get(cid)  # packed
                if want is None:
                    continue
                work = True
                # _send_as_block(want_type, size): a want-block (want & 1 == 0) or a small block
                as_block = small or not want & 1
                task_work = size if as_block else presence_work
                push(
                    ledger.partner,
                    [new_block_task(cid, want >> 1, task_work, as_block, size)],
                )
        else:
            for ledger in self.ledgers.values():
                wantlist = ledger.wantlist
                tasks: list[Task] = []
                for cid, size in blocks:
                    want = wantlist.get(cid)  # packed
                    if want is None:
                        continue
                    as_block = not want & 1 or size <= max_as_block
                    task_work = size if as_block else presence_work
                    tasks.append(new_block_task(cid, want >> 1, task_work, as_block, size))
                if tasks:
                    # One push per ledger: the same as pushing its tasks one by one (in order).
                    work = True
                    push(ledger.partner, tasks)
        if work:
            self._signal_new_work()
        self._pump()

    # ------------------------------------------------------------------ worker hooks
    def _pop(self) -> _Popped | None:
        """``PopTasks(target_message_size_bytes)``."""
        peer, tasks, _ = self.queue.pop_tasks(self.config.target_message_size_bytes)
        return (peer, cast(list[BitswapTask], tasks)) if tasks else None

    def _thaw_round(self) -> None:
        """``ThawRound`` with ``IgnoreFreezing(true)``: nothing is frozen, nothing to do (the
        tick still woke a pair)."""

    def _envelope(self, popped: _Popped) -> tuple[Hashable, Message]:
        """Presences for the HAVE and DONT_HAVE tasks, then the block tasks' blocks found in
        the blockstore (or a DONT_HAVE if the want asked for one), in task order."""
        peer, tasks = popped
        presences: dict[int, PresenceType] = {}
        block_tasks: list[BitswapTask] = []
        for t in tasks:
            if not t.have_block:
                presences[t.topic] = _DONT_HAVE
            elif t.is_want_block:
                block_tasks.append(t)
            else:
                presences[t.topic] = _HAVE
        msg = Message(presences=presences)
        if not block_tasks:
            return peer, msg
        size_of = self.blockstore.size_of
        for t in block_tasks:
            size = size_of(t.topic)
            if size is not None:
                msg.add_block(t.topic, size)
            elif t.send_dont_have:
                msg.add_dont_have(t.topic)  # the block vanished
        return peer, msg

    def _message_sent(self, peer: Hashable, msg: Message) -> None:
        """``MessageSent``: a sent block counts its bytes and removes the want of either type,
        a HAVE removes a want-have, a DONT_HAVE nothing."""
        ledger = self.ledgers.get(peer) or self.ledgers.find_or_create(peer)
        wantlist = ledger.wantlist
        for cid, size in msg.blocks.items():
            ledger.sent_bytes(size)
            wantlist.pop(cid)  # ledger.remove_type(cid, WantType.Block): any type
        haves = 0
        for cid, presence in msg.presences.items():
            if presence == _HAVE:
                wantlist.remove_type(cid, _HAVE_WANT)  # ledger.remove_type(cid, WantType.Have)
                haves += 1
        self.haves_sent += haves
        self.dont_haves_sent += len(msg.presences) - haves

    def _tasks_done(self, popped: _Popped) -> None:
        """``TasksDone``: release the tasks' active work."""
        self.queue.tasks_done(*popped)
