"""The poc server side: go-bitswap's decision engine at v0.2.0 and its workers.

**Requests** (``MessageReceived``, ``internal/decision/engine.go@v0.2.0``). Blocks in the message
are counted in the sender's :class:`~models.poc.ledger.Ledger`; a ``full`` wantlist clears it;
then the cancels: a cancel whose want was in the ledger removes it and the pending task of that
CID (a cancel for a want the ledger no longer has leaves a queued task alone, as in Go); then
the wants, each recorded in the ledger with its type whether or not we hold the block. Each
want becomes at most one :class:`~models.poc.peertaskqueue.Task` (topic = CID, the entry's
priority), all pushed together:

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
with ``sendDontHave`` false, pushed one by one. This is how leeches reseed each other.

**Task merging** (:class:`BitswapTaskMerger`, ``internal/decision/taskmerger.go@v0.2.0``; the
queue's rules are in :mod:`models.poc.peertaskqueue`): one pending task per CID per peer. A new
task merges into the pending one: the higher priority wins; "have block" replaces "don't have"
(taking the block size); want-block replaces want-have (taking the new task's Work if the old
one was a DONT_HAVE or the new one has the block); a want-block task with the block always has
Work = block size. A new task is dropped if a task for that CID is being sent (active) and it
brings neither a want-block nor a "have block" that the active ones lack (``HasNewInfo``).

**Workers** (``taskWorker``/``nextEnvelope``, ``internal/decision/engine.go@v0.2.0``;
``taskWorker``/``sendBlocks``, ``workers.go@v0.2.0``), the same machinery as
:mod:`models.master.engine`: ``engine_task_workers`` (8) engine workers and ``send_workers`` (8)
send workers; the unbuffered outbox pairs one of each before a pop. A pair whose pop finds
nothing waits for ``workSignal`` (capacity 1: one signal wakes one waiting pair, or is kept for
the next one) or for the 100 ms ticker. Signals come from a request that created tasks, from
``add_blocks`` with work, and from every response sent.

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
* *Preparation*: HAVE tasks become HAVE presences, DONT_HAVE tasks DONT_HAVE presences; the
  blocks of block tasks are read (only those in the blockstore; as master, one
  ``get_latency_s`` per response in a pool of ``blockstore_workers`` with
  ``parallel_blockstore_reads``, else one read after another). A block task whose block is not
  there becomes a DONT_HAVE if its want asked for one, else nothing. A response with nothing in
  it is dropped, its tasks done without a signal, and the same pair pops again.
* *Send*: the wire message is built fresh (``sendBlocks``: ``bsmsg.New(false)`` with the
  presences and blocks only; ``pendingBytes`` never reaches the wire, ``reference`` §2.4). The
  send worker first runs ``MessageSent``: a sent block counts its bytes and removes the CID's
  want of either type (``RemoveType(c, Block)``); a sent HAVE removes a want-have but not a
  want-block (``RemoveType(c, Have)``); a DONT_HAVE removes nothing. Then
  ``host.send_response(dst, msg, on_sent)``; at ``on_sent()`` the tasks are done (their active
  work released), ``workSignal`` is signalled and the send worker takes the next pair.

Deliberate discrepancies with Go: insertion order where Go iterates maps (a message's wantlist,
the ledgers in ``add_blocks``, the blocks and presences of a response); goroutines run in a
fixed order (woken pairs before new pairs); when a token and a tick are both ready Go picks at
random, here the token. Disconnecting a peer does not clear its queued tasks (as in Go).

Cost: no SimPy process; one event per preparation with latency, at most one pending tick, plus
the host's send events.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Protocol, cast

from simpy.events import Event

from models.blockstore import Blockstore
from models.messages import Message, PresenceType, WantType, presence_wire_size
from models.poc.config import PocConfig
from models.poc.ledger import Ledger
from models.poc.peertaskqueue import PeerTaskQueue, Task
from sim.network import Network

__all__ = ["BitswapTaskMerger", "EngineHost", "PocEngine", "TaskData", "block_presence_size"]

_EPS = 1e-9


class EngineHost(Protocol):
    """What the engine needs from the peer it serves."""

    name: Hashable
    blockstore: Blockstore
    net: Network
    cid_version: int
    """0 or 1: the length of the CIDs, for ``BlockPresenceSize``."""

    def send_response(self, dst: Hashable, msg: Message, on_sent: Callable[[], None]) -> None:
        """Send a response message to ``dst``; call ``on_sent()`` once its last byte has left
        (also if it cannot be sent, e.g. ``dst`` is gone)."""
        ...


def block_presence_size(cid_version: int) -> int:
    """``BlockPresenceSize`` (``message/message.go@v0.2.0``): bytes of a ``BlockPresence``
    protobuf with type Have (omitted), i.e. the cid field only: 36 B (CIDv0), 38 B (CIDv1).
    The wire size of a HAVE minus its 2 B repeated-field framing."""
    return presence_wire_size(PresenceType.Have, cid_version) - 2


@dataclass(slots=True)
class TaskData:
    """What a task is about (``taskData``, ``internal/decision/taskmerger.go@v0.2.0``)."""

    is_want_block: bool
    """Send the block (want-block, or a want-have for a small block) rather than a HAVE."""
    send_dont_have: bool
    """The want asked for a DONT_HAVE if we do not have the block."""
    block_size: int
    """Block size in bytes (0 if we did not have it when the task was made)."""
    have_block: bool
    """We had the block when the task was made."""


def _data(task: Task) -> TaskData:
    return cast(TaskData, task.data)


class BitswapTaskMerger:
    """The engine's ``TaskMerger`` (``internal/decision/taskmerger.go@v0.2.0``)."""

    def has_new_info(self, task: Task, existing: list[Task]) -> bool:
        """True if ``task`` is a want-block and no ``existing`` task is, or it has the block and
        no ``existing`` task has (``HasNewInfo``)."""
        new = _data(task)
        if new.is_want_block and not any(_data(t).is_want_block for t in existing):
            return True
        return new.have_block and not any(_data(t).have_block for t in existing)

    def merge(self, task: Task, existing: Task) -> None:
        """Fold ``task`` into the pending ``existing`` task of the same CID (``Merge``; the
        queue has already raised the priority)."""
        new = _data(task)
        old = _data(existing)
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


_Prepared = tuple[Hashable, list[Task], dict[int, PresenceType], list[Task], dict[int, int]]
"""(peer, popped tasks, presences, block tasks, sizes of the blocks found)."""


class PocEngine:
    """go-bitswap v0.2.0's decision engine plus the Bitswap send workers (module docstring).

    Introspection: :attr:`ledgers`, :attr:`queue`, :attr:`responses_sent`,
    :attr:`blocks_sent`, :attr:`block_bytes_sent`, :attr:`haves_sent`,
    :attr:`dont_haves_sent`, :attr:`empty_responses`, :attr:`thaw_rounds`,
    :attr:`presence_work_bytes` and the worker counts (:meth:`worker_counts`).
    """

    def __init__(self, host: EngineHost, config: PocConfig) -> None:
        self.host = host
        self.config = config
        self.net = host.net
        self.blockstore = host.blockstore
        self.queue = PeerTaskQueue(BitswapTaskMerger())
        self.ledgers: dict[Hashable, Ledger] = {}
        """Partner -> ledger, in creation order (Go: ``ledgerMap``)."""
        self.presence_work_bytes = block_presence_size(host.cid_version)
        """Work of a HAVE or DONT_HAVE task (``BlockPresenceSize``), bytes."""
        self.responses_sent = 0
        """Response messages handed to ``send_response``."""
        self.blocks_sent = 0
        self.block_bytes_sent = 0
        """Raw block bytes in those responses."""
        self.haves_sent = 0
        self.dont_haves_sent = 0
        self.empty_responses = 0
        """Popped tasks dropped because they produced nothing to send."""
        self.thaw_rounds = 0
        """Ticks taken by a waiting pair (each runs a ``ThawRound`` that changes nothing)."""

        # Workers (see the module docstring). Every pair handshakes and finds no work at start.
        pairs = min(config.engine_task_workers, config.send_workers)
        self._free_engine = config.engine_task_workers - pairs  # blocked on the outbox
        self._free_send = config.send_workers - pairs  # waiting for an outbox channel
        self._waiting = pairs  # paired, waiting for workSignal or a tick
        self._ready = 0  # paired and about to pop (woken, or continuing after an empty response)
        self._preparing = 0  # paired, reading blocks
        self._sending = 0  # send workers between envelope and on_sent
        self._pumping = False
        self._signal = False  # workSignal: a buffered token (capacity 1)
        self._interval = config.thaw_interval_s
        self._last_tick = self._tick_now()  # index of the last tick taken or passed while waiting
        self._tick_pending = False
        self._bs_free: list[float] = []  # when each busy blockstore worker is free (absolute s)

    # ------------------------------------------------------------------ connections
    def peer_connected(self, p: Hashable) -> None:
        """``PeerConnected``: create the ledger if needed, count the connection."""
        self._find_or_create(p).ref += 1

    def peer_disconnected(self, p: Hashable) -> None:
        """``PeerDisconnected``: drop the ledger on the last connection (queued tasks stay)."""
        ledger = self.ledgers.get(p)
        if ledger is None:
            return
        ledger.ref -= 1
        if ledger.ref <= 0:
            del self.ledgers[p]

    def _find_or_create(self, p: Hashable) -> Ledger:
        ledger = self.ledgers.get(p)
        if ledger is None:
            ledger = self.ledgers[p] = Ledger(p)
        return ledger

    # ------------------------------------------------------------------ requests
    def _send_as_block(self, want_type: WantType, size: int) -> bool:
        """``sendAsBlock``: a want-block, or a want-have for a block of at most 1024 B."""
        return (
            want_type == WantType.Block or size <= self.config.max_block_size_replace_has_with_block
        )

    def message_received(self, src: Hashable, msg: Message) -> None:
        """``MessageReceived``: count received blocks, apply cancels then wants, push the tasks
        (module docstring)."""
        ledger = self._find_or_create(src)
        for n in msg.blocks.values():
            ledger.received_bytes(n)
        if msg.full:
            ledger.clear_wantlist()
        entries = msg.entries.values()
        queue = self.queue
        for e in entries:
            if e.cancel and ledger.cancel_want(e.cid):
                queue.remove(e.cid, src)
        size_of = self.blockstore.size_of
        presence_work = self.presence_work_bytes
        tasks: list[Task] = []
        # Go iterates the message's wantlist map (random order); here the message's order.
        for e in entries:
            if e.cancel:
                continue
            cid = e.cid
            ledger.wants(cid, e.priority, e.want_type)
            size = size_of(cid)
            if size is None:
                if e.send_dont_have:
                    data = TaskData(e.want_type == WantType.Block, True, 0, False)
                    tasks.append(Task(cid, e.priority, presence_work, data))
                continue  # else recorded in the ledger only; add_blocks may answer it
            as_block = self._send_as_block(e.want_type, size)
            data = TaskData(as_block, e.send_dont_have, size, True)
            tasks.append(Task(cid, e.priority, size if as_block else presence_work, data))
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
        push = self.queue.push_tasks
        work = False
        for ledger in self.ledgers.values():
            wantlist = ledger.wantlist
            for cid, size in blocks:
                entry = wantlist.get(cid)
                if entry is None:
                    continue
                work = True
                priority, want_type = entry
                as_block = self._send_as_block(want_type, size)
                data = TaskData(as_block, False, size, True)
                push(
                    ledger.partner, [Task(cid, priority, size if as_block else presence_work, data)]
                )
        if work:
            self._signal_new_work()
        self._pump()

    # ------------------------------------------------------------------ workers
    def _signal_new_work(self) -> None:
        """``signalNewWork``: wake one waiting pair, else keep the token."""
        if self._waiting:
            self._take_waiting()
            self._ready += 1
        else:
            self._signal = True

    def _take_waiting(self) -> None:
        self._waiting -= 1
        if self._waiting == 0:
            # Every tick up to now was taken by a waiting pair; later ones get buffered.
            now_tick = self._tick_now()
            if now_tick > self._last_tick:
                self._last_tick = now_tick

    def _pump(self) -> None:
        """Run every pair that can act now, in a loop (never recursively), then arm the ticker."""
        if self._pumping:
            return
        self._pumping = True
        try:
            while True:
                if self._ready:
                    self._ready -= 1
                elif self._free_engine and self._free_send:
                    self._free_engine -= 1
                    self._free_send -= 1
                else:
                    break
                self._next_envelope()
        finally:
            self._pumping = False
        self._arm_ticker()

    def _next_envelope(self) -> None:
        """One pair runs ``nextEnvelope`` until it starts a preparation or waits."""
        queue = self.queue
        target = self.config.target_message_size_bytes
        peer, tasks, _ = queue.pop_tasks(target)
        while not tasks:
            # Go's select; with both ready it picks at random, here the token first.
            if self._signal:
                self._signal = False
            elif self._waiting == 0 and self._tick_now() > self._last_tick:
                self._last_tick = self._tick_now()  # the buffered tick: ThawRound is a no-op
                self.thaw_rounds += 1
            else:
                self._waiting += 1
                return
            peer, tasks, _ = queue.pop_tasks(target)
        presences: dict[int, PresenceType] = {}
        block_tasks: list[Task] = []
        for t in tasks:
            d = _data(t)
            if not d.have_block:
                presences[t.topic] = PresenceType.DontHave
            elif d.is_want_block:
                block_tasks.append(t)
            else:
                presences[t.topic] = PresenceType.Have
        size_of = self.blockstore.size_of
        found: dict[int, int] = {}
        for t in block_tasks:
            size = size_of(t.topic)
            if size is not None:
                found[t.topic] = size
        prepared: _Prepared = (peer, tasks, presences, block_tasks, found)
        delay = self._read_delay(len(found))
        if delay > 0.0:
            self._preparing += 1
            self.net.call_at(delay, self._on_read, prepared)
        else:
            self._deliver(prepared)

    def _read_delay(self, n: int) -> float:
        """Seconds to read ``n`` blocks now (as :meth:`MasterEngine._read_delay
        <models.master.engine.MasterEngine._read_delay>`)."""
        latency = self.blockstore.get_latency_s
        if n == 0 or latency == 0.0:
            return 0.0
        if not self.config.parallel_blockstore_reads:
            return n * latency
        now = self.net.now
        free = self._bs_free
        end = 0.0
        for _ in range(n):
            if free and free[0] <= now:
                heapq.heappop(free)
                start = 0.0
            elif len(free) < self.config.blockstore_workers:
                start = 0.0
            else:
                start = heapq.heappop(free) - now
            done = start + latency  # offsets from now, so a lone read is exactly `latency`
            heapq.heappush(free, now + done)
            if done > end:
                end = done
        return end

    def _on_read(self, event: Event) -> None:
        self._preparing -= 1
        self._deliver(cast(_Prepared, event.value))
        self._pump()

    def _deliver(self, prepared: _Prepared) -> None:
        """The envelope is ready: hand it to the paired send worker (or drop it if empty)."""
        peer, tasks, presences, block_tasks, found = prepared
        msg = Message(presences=presences)
        for t in block_tasks:
            size = found.get(t.topic)
            if size is not None:
                msg.add_block(t.topic, size)
            elif _data(t).send_dont_have:
                msg.add_dont_have(t.topic)  # the block vanished
        if msg.is_empty():
            # Nothing to send: done, no signal, and the same pair pops again.
            self.queue.tasks_done(peer, tasks)
            self.empty_responses += 1
            self._ready += 1
            return
        self._free_engine += 1
        self._sending += 1
        # MessageSent runs in the send worker before the send (workers.go@v0.2.0).
        ledger = self._find_or_create(peer)
        total = 0
        for cid, size in msg.blocks.items():
            ledger.sent_bytes(size)
            ledger.remove_type(cid, WantType.Block)
            total += size
        haves = 0
        for cid, presence in msg.presences.items():
            if presence == PresenceType.Have:
                ledger.remove_type(cid, WantType.Have)
                haves += 1
        self.responses_sent += 1
        self.blocks_sent += len(msg.blocks)
        self.block_bytes_sent += total
        self.haves_sent += haves
        self.dont_haves_sent += len(msg.presences) - haves
        self.host.send_response(peer, msg, partial(self._on_sent, peer, tasks))

    def _on_sent(self, peer: Hashable, tasks: list[Task]) -> None:
        """The envelope's ``Sent`` callback (``TasksDone`` + ``signalNewWork``), then the send
        worker returns to the outbox."""
        self._sending -= 1
        self.queue.tasks_done(peer, tasks)
        self._signal_new_work()
        self._free_send += 1
        self._pump()

    # ------------------------------------------------------------------ ticker
    def _tick_now(self) -> int:
        """Index of the last tick at or before now."""
        return math.floor(self.net.now / self._interval + _EPS)

    def _arm_ticker(self) -> None:
        """Schedule the next tick if a pair waits and a pop would change something (skipped
        ticks would only find nothing: skipping them changes no state)."""
        if self._tick_pending or not self._waiting or not self.queue.pop_would_act():
            return
        k = self._tick_now() + 1
        self._tick_pending = True
        delay = k * self._interval - self.net.now
        self.net.call_at(delay if delay > 0.0 else 0.0, self._on_tick, k)

    def _on_tick(self, event: Event) -> None:
        self._tick_pending = False
        if not self._waiting:
            return  # nobody waits: the tick stays in the ticker's buffer (lazily)
        self._last_tick = cast(int, event.value)
        self.thaw_rounds += 1  # ThawRound: nothing is frozen
        self._take_waiting()
        self._ready += 1
        self._pump()

    # ------------------------------------------------------------------ introspection
    def worker_counts(self) -> dict[str, int]:
        """Where the workers are now.

        ``waiting``: pairs waiting for work; ``preparing``: pairs reading blocks; ``sending``:
        send workers between envelope and ``on_sent``; ``engine_idle``: engine workers blocked
        on the outbox (no free send worker); ``send_idle``: send workers with no engine worker.
        """
        return {
            "waiting": self._waiting,
            "preparing": self._preparing,
            "sending": self._sending,
            "engine_idle": self._free_engine,
            "send_idle": self._free_send,
        }

    @property
    def busy_send_workers(self) -> int:
        """Send workers with a response in flight."""
        return self._sending

    @property
    def busy_engine_workers(self) -> int:
        """Engine workers preparing a response."""
        return self._preparing
