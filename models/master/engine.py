"""The master server side: go-bitswap's decision engine (v0.1.8 … v0.1.11) and its workers.

**Requests** (``MessageReceived``, ``decision/engine.go@v0.1.11``): every want is recorded in
the sender's :class:`~models.master.ledger.Ledger` whether or not we hold the block. Wants for
blocks we hold are grouped, in message order, into task blocks of at most
``max_message_size_bytes`` (512 KiB) of block data: a want that would push the running sum past
the limit closes the current block (a lone bigger block still goes alone). Two 256 KiB unixfs
leaves (262,158 B each) exceed 512 KiB, so master sends one leaf per response. A cancel removes
the want from the ledger and the task from the queue, which freezes the peer
(:mod:`models.master.peertaskqueue`). Block sizes come from the blockstore at no cost (go's ARC
cache answers ``GetSize``; see :mod:`models.blockstore`). ``AddBlocks`` (new local blocks)
pushes a one-task block for every ledger that wants one: how leeches reseed each other.

**Workers** (``taskWorker``/``nextEnvelope``, ``decision/engine.go@v0.1.11``; ``taskWorker``/
``sendBlocks``, ``workers.go@v0.1.11``). There are ``engine_task_workers`` engine workers (1 in
v0.1.8, 8 from v0.1.9) and ``send_workers`` Bitswap send workers (8). The engine's outbox is
unbuffered: an engine worker first hands its one-time result channel to an idle send worker,
and only then pops a task block. So a preparation starts only when one engine worker *and* one
send worker are free; the two stay paired while the engine worker waits for work and prepares.

* *Waiting for work*: a pair whose pop returned None waits for the engine's ``workSignal`` or
  its 100 ms ticker. ``workSignal`` is a channel of capacity 1 written without blocking: each
  signal (a request with new work, ``AddBlocks`` with work, a response sent) wakes **one**
  waiting pair, which pops again; with nobody waiting it is kept (one token at most) for the
  next pair that starts waiting. Several pairs can wait at once; one signal never wakes two.
* *Thaw*: the ticker ticks at ``k * thaw_interval_s`` (k = 1, 2, … from t = 0). A tick wakes
  one waiting pair, which runs ``ThawRound`` and pops. Go's ticker channel buffers one tick, so
  a pair that starts waiting after a tick passed while nobody waited takes it at once (thaw +
  pop), else it waits for the next tick or signal. While nobody waits there is no thaw at all.
  When a token and a tick are both ready Go's ``select`` picks at random; here the token first.
* *Preparation*: the pair reads the popped block's blocks (those still in the blockstore).
  With ``parallel_blockstore_reads`` (v0.1.9+ ``blockstoremanager.go``) every read runs in a
  pool of 128 blockstore workers shared by all engine workers, so a response costs one
  ``blockstore.get_latency_s`` unless more than 128 reads overlap (then reads queue for the
  earliest free worker, in the order preparations start: an approximation of Go's channel
  order). Without it (v0.1.8) the reads run one after another: k × latency. With zero latency
  (or nothing to read) the preparation takes no simulated time and no event.
* *Send*: the response (the blocks only: ``sendBlocks`` builds ``bsmsg.New(false)``; the
  envelope's ``New(true)`` never reaches the wire) goes to the paired send worker and the engine
  worker returns to the outbox. An empty response (no block left) is dropped, its tasks marked
  done without a signal, and the same pair pops again. The send worker first runs
  ``MessageSent`` (the ledger forgets the wants for the sent blocks and counts the bytes), then
  calls ``host.send_response(dst, msg, on_sent)``; it stays busy until ``on_sent()`` (the last
  byte left the sender: go's synchronous ``SendMessage``). Then the block's tasks are done
  (``TaskDone``), ``workSignal`` is signalled, and the send worker takes the next engine
  worker waiting at the outbox.

Discrepancies with Go that are deliberate: Go iterates maps where this module uses insertion
order (a message's wantlist in ``MessageReceived``, the ledgers in ``AddBlocks``, the blocks of
a response); concurrent goroutines are run in a fixed order (woken pairs before new pairs).
Disconnecting a peer does not clear its queued tasks (as in v0.1.11): they are still prepared
and handed to ``send_response``, which must cope; ``MessageSent`` re-creates the ledger
(``findOrCreate``).

Cost: no SimPy process; one event per preparation with latency, at most one pending tick (only
while a pair waits and a tick would change something), plus the host's send events.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Hashable
from functools import partial
from typing import Protocol, cast

from simpy.events import Event

from models.blockstore import Blockstore
from models.master.config import MasterConfig
from models.master.ledger import Ledger
from models.master.peertaskqueue import PeerTaskQueue, Task, TaskBlock
from models.messages import Message
from sim.network import Network

__all__ = ["EngineHost", "MasterEngine"]

_EPS = 1e-9


class EngineHost(Protocol):
    """What the engine needs from the peer it serves."""

    name: Hashable
    blockstore: Blockstore
    net: Network

    def send_response(self, dst: Hashable, msg: Message, on_sent: Callable[[], None]) -> None:
        """Send a response message to ``dst``; call ``on_sent()`` once its last byte has left
        (also if it cannot be sent, e.g. ``dst`` is gone)."""
        ...


class MasterEngine:
    """go-bitswap master's decision engine plus the Bitswap send workers (module docstring).

    Introspection: :attr:`ledgers`, :attr:`queue`, :attr:`responses_sent`,
    :attr:`blocks_sent`, :attr:`block_bytes_sent`, :attr:`empty_responses`,
    :attr:`thaw_rounds` and the worker counts (:meth:`worker_counts`).
    """

    def __init__(self, host: EngineHost, config: MasterConfig) -> None:
        self.host = host
        self.config = config
        self.net = host.net
        self.blockstore = host.blockstore
        self.queue = PeerTaskQueue(freezing=config.freezing)
        self.ledgers: dict[Hashable, Ledger] = {}
        """Partner -> ledger, in creation order (Go: ``ledgerMap``)."""
        self.responses_sent = 0
        """Response messages handed to ``send_response``."""
        self.blocks_sent = 0
        self.block_bytes_sent = 0
        """Raw block bytes in those responses."""
        self.empty_responses = 0
        """Popped task blocks dropped because none of their blocks was in the blockstore."""
        self.thaw_rounds = 0
        """``ThawRound`` calls (ticks taken by a waiting pair)."""

        # Workers (see the module docstring). Every pair handshakes and finds no work at start.
        pairs = min(config.engine_task_workers, config.send_workers)
        self._free_engine = config.engine_task_workers - pairs  # blocked on the outbox
        self._free_send = config.send_workers - pairs  # waiting for an outbox channel
        self._waiting = pairs  # paired, waiting for workSignal or a tick
        self._ready = 0  # paired and about to pop (woken, or continuing after an empty response)
        self._preparing = 0  # paired, reading blocks
        self._sending = 0  # send workers between envelope and on_sent
        self._pumping = False
        # workSignal: a buffered token (capacity 1).
        self._signal = False
        # Ticker: index of the last tick taken, or passed while pairs were waiting.
        self._interval = config.thaw_interval_s
        self._last_tick = self._tick_now()
        self._tick_pending = False
        # Parallel reads: when each busy blockstore worker is free (absolute seconds).
        self._bs_free: list[float] = []

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
    def message_received(self, src: Hashable, msg: Message) -> None:
        """``MessageReceived``: record wants and cancels, queue task blocks for the blocks we
        hold (grouped up to ``max_message_size_bytes``), count the blocks received."""
        ledger = self._find_or_create(src)
        if msg.full:
            ledger.clear_wantlist()
        queue = self.queue
        size_of = self.blockstore.size_of
        limit = self.config.max_message_size_bytes
        new_work = False
        batch: list[Task] = []
        batch_bytes = 0
        # Go iterates the message's wantlist map (random order); here the message's order.
        for e in msg.entries.values():
            cid = e.cid
            if e.cancel:
                ledger.cancel_want(cid)
                queue.remove(cid, src)
                continue
            ledger.wants(cid, e.priority)
            size = size_of(cid)
            if size is None:
                continue  # recorded in the ledger; answered by add_blocks if it arrives
            new_work = True
            if batch_bytes + size > limit:
                # Go pushes even an empty batch (a first block > limit): that only creates
                # the peer's tracker.
                queue.push_block(src, batch)
                batch = []
                batch_bytes = 0
            batch.append((cid, e.priority))
            batch_bytes += size
        if batch:
            queue.push_block(src, batch)
        for size in msg.blocks.values():
            ledger.received_bytes(size)
        if new_work:
            self._signal_new_work()
        self._pump()

    def add_blocks(self, cids: list[int]) -> None:
        """``AddBlocks``: new local blocks; push a one-task block for every ledger wanting one.

        Go iterates ``ledgerMap`` (random order); here ledgers in creation order.
        """
        work = False
        push = self.queue.push_block
        for ledger in self.ledgers.values():
            wantlist = ledger.wantlist
            for cid in cids:
                prio = wantlist.get(cid)
                if prio is not None:
                    push(ledger.partner, [(cid, prio)])
                    work = True
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
        block = queue.pop_block()
        while block is None:
            # Go's select; with both ready it picks at random, here the token first.
            if self._signal:
                self._signal = False
            elif self._waiting == 0 and self._tick_now() > self._last_tick:
                self._last_tick = self._tick_now()  # the buffered tick
                queue.thaw_round()
                self.thaw_rounds += 1
            else:
                self._waiting += 1
                return
            block = queue.pop_block()
        size_of = self.blockstore.size_of
        blocks: dict[int, int] = {}
        for cid, _ in block.tasks:
            size = size_of(cid)
            if size is not None:
                blocks[cid] = size
        delay = self._read_delay(len(blocks))
        if delay > 0.0:
            self._preparing += 1
            self.net.call_at(delay, self._on_read, (block, blocks))
        else:
            self._deliver(block, blocks)

    def _read_delay(self, n: int) -> float:
        """Seconds to read ``n`` blocks now (see the module docstring)."""
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
        block, blocks = cast(tuple[TaskBlock, dict[int, int]], event.value)
        self._preparing -= 1
        self._deliver(block, blocks)
        self._pump()

    def _deliver(self, block: TaskBlock, blocks: dict[int, int]) -> None:
        """The envelope is ready: hand it to the paired send worker (or drop it if empty)."""
        if not blocks:
            # "If we don't have the block, don't hold that against the peer": done, no signal,
            # and the same pair pops again.
            self.queue.task_done(block.target, block.cids)
            self.empty_responses += 1
            self._ready += 1
            return
        self._free_engine += 1
        self._sending += 1
        dst = block.target
        # MessageSent runs before the send (workers.go@v0.1.11).
        ledger = self._find_or_create(dst)
        wantlist = ledger.wantlist
        total = 0
        for cid, size in blocks.items():
            ledger.sent_bytes(size)
            wantlist.pop(cid, None)
            total += size
        self.responses_sent += 1
        self.blocks_sent += len(blocks)
        self.block_bytes_sent += total
        self.host.send_response(dst, Message(blocks=blocks), partial(self._on_sent, block))

    def _on_sent(self, block: TaskBlock) -> None:
        """The envelope's ``Sent`` callback, then the send worker returns to the outbox."""
        self._sending -= 1
        self.queue.task_done(block.target, block.cids)
        self._signal_new_work()
        self._free_send += 1
        self._pump()

    # ------------------------------------------------------------------ ticker
    def _tick_now(self) -> int:
        """Index of the last tick at or before now."""
        return math.floor(self.net.now / self._interval + _EPS)

    def _arm_ticker(self) -> None:
        """Schedule the next tick if a pair waits and a thaw + pop would change something
        (skipped ticks would only find nothing: skipping them changes no state)."""
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
        self.queue.thaw_round()
        self.thaw_rounds += 1
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
