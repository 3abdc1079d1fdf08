"""The decision engine's workers: engine task workers, Bitswap send workers, the thaw ticker.

``taskWorker``/``nextEnvelope`` (``decision/engine.go@v0.1.11``,
``internal/decision/engine.go@v0.2.0``) and ``taskWorker``/``sendBlocks`` (``workers.go@v0.1.11``,
``workers.go@v0.2.0``) work the same way in both versions; :class:`EngineWorkers` models them
once. The engines (:class:`~models.master.engine.MasterEngine`,
:class:`~models.poc.engine.PocEngine`) subclass it and supply only what differs: how the queue
pops the tasks of one response, what a ``ThawRound`` does, how popped tasks become a response
message, the ledger updates on send (``MessageSent``) and how the tasks are marked done.

There are ``engine_task_workers`` engine workers (1 in v0.1.8, 8 from v0.1.9) and
``send_workers`` Bitswap send workers (8). The engine's outbox is unbuffered: an engine worker
first hands its one-time result channel to an idle send worker, and only then pops. So a
preparation starts only when one engine worker *and* one send worker are free; the two stay
paired while the engine worker waits for work and prepares.

* *Waiting for work*: a pair whose pop found nothing waits for the engine's ``workSignal`` or
  its 100 ms ticker. ``workSignal`` is a channel of capacity 1 written without blocking: each
  signal (a request with new work, new local blocks with work, a response sent) wakes **one**
  waiting pair, which pops again; with nobody waiting it is kept (one token at most) for the
  next pair that starts waiting. Several pairs can wait at once; one signal never wakes two.
* *Ticker*: it ticks at ``k * thaw_interval_s`` (k = 1, 2, … from t = 0). A tick wakes one
  waiting pair, which runs ``ThawRound`` and pops. Go's ticker channel buffers one tick, so a
  pair that starts waiting after a tick passed while nobody waited takes it at once (thaw +
  pop), else it waits for the next tick or signal. While nobody waits there is no thaw at all.
  When a token and a tick are both ready Go's ``select`` picks at random; here the token first.
* *Preparation*: the response message is built from the popped tasks and the blockstore as it
  is at the pop; then its blocks are read. With ``parallel_blockstore_reads`` (v0.1.9+
  ``blockstoremanager.go``) every read runs in a pool of ``blockstore_workers`` (128) shared by
  all engine workers, so a response costs one ``blockstore.get_latency_s`` unless more than 128
  reads overlap (then reads queue for the earliest free worker, in the order preparations
  start: an approximation of Go's channel order). Without it (v0.1.8) the reads run one after
  another: k × latency. With zero latency (or nothing to read) the preparation takes no
  simulated time and no event.
* *Host*: with a host on the node (:mod:`models.hostwork`), each block read also costs the
  datastore's ``Get`` (CPU, then a disk read), in parallel for the blocks of a response, added
  to the blockstore latency above.
* *Send*: the wire message is built fresh (``sendBlocks``: ``bsmsg.New(false)``; the
  envelope's own message never reaches the wire). A response with nothing in it is dropped,
  its tasks done without a signal, and the same pair pops again. Otherwise it goes to the
  paired send worker and the engine worker returns to the outbox. The send worker first runs
  ``MessageSent`` (the engine's ledger updates), then calls
  ``host.send_response(dst, msg, on_sent)``; it stays busy until ``on_sent()`` (the last byte
  left the sender: go's synchronous ``SendMessage``). Then the tasks are done (``TaskDone`` /
  ``TasksDone``), ``workSignal`` is signalled, and the send worker takes the next engine
  worker waiting at the outbox.

Concurrent goroutines run in a fixed order here (woken pairs before new pairs).

Cost: no SimPy process; one event per preparation with latency, at most one pending tick (only
while a pair waits and a pop would change something), plus the host's send events.
"""

from __future__ import annotations

import heapq
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable
from functools import partial
from typing import Generic, Protocol, TypeVar, cast

from simpy.events import Event

from models.blockstore import Blockstore
from models.messages import Message
from sim.host import Host
from sim.network import Network

__all__ = ["EngineHost", "EngineWorkers", "TaskQueue", "WorkersConfig"]

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

    @property
    def host(self) -> Host | None:
        """The node's host (:mod:`sim.host`), or None."""
        ...

    def get_delay(self, sizes: Iterable[int]) -> float:
        """Seconds the host takes to read blocks of these sizes in parallel (``getBlocks``)."""
        ...


class WorkersConfig(Protocol):
    """The worker parameters of a strategy's config."""

    @property
    def engine_task_workers(self) -> int: ...
    @property
    def send_workers(self) -> int: ...
    @property
    def thaw_interval_s(self) -> float: ...
    @property
    def parallel_blockstore_reads(self) -> bool: ...
    @property
    def blockstore_workers(self) -> int: ...


class TaskQueue(Protocol):
    """What the workers ask the engine's peer task queue."""

    def pop_would_act(self) -> bool:
        """Whether a ``ThawRound`` + pop now would change anything."""
        ...


Q = TypeVar("Q", bound=TaskQueue)
"""The engine's peer task queue."""
W = TypeVar("W")
"""The tasks of one response, as popped from the queue."""


class EngineWorkers(ABC, Generic[Q, W]):
    """The engine and send workers of a decision engine (module docstring).

    Introspection: :attr:`queue`, :attr:`responses_sent`, :attr:`blocks_sent`,
    :attr:`block_bytes_sent`, :attr:`empty_responses`, :attr:`thaw_rounds`,
    :meth:`worker_counts`, :attr:`busy_send_workers`, :attr:`busy_engine_workers`.
    """

    def __init__(self, host: EngineHost, config: WorkersConfig, queue: Q) -> None:
        self.host = host
        self.net = host.net
        self.blockstore = host.blockstore
        self.queue = queue
        self.responses_sent = 0
        """Response messages handed to ``send_response``."""
        self.blocks_sent = 0
        self.block_bytes_sent = 0
        """Raw block bytes in those responses."""
        self.empty_responses = 0
        """Popped tasks dropped because their response had nothing in it."""
        self.thaw_rounds = 0
        """Ticks taken by a waiting pair (each runs the engine's ``ThawRound``)."""

        # Every pair handshakes and finds no work at start.
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
        self._parallel_reads = config.parallel_blockstore_reads
        self._blockstore_workers = config.blockstore_workers
        self._bs_free: list[float] = []  # when each busy blockstore worker is free (absolute s)
        self._host_reads = host.host is not None
        """Reads cost the host time too (``get_delay``): the datastore's Get and disk read."""

    # ------------------------------------------------------------------ what engines supply
    @abstractmethod
    def _pop(self) -> W | None:
        """Pop the tasks of the next response (made active), or None if there are none."""

    @abstractmethod
    def _thaw_round(self) -> None:
        """``ThawRound``, run by a pair that took a tick."""

    @abstractmethod
    def _envelope(self, work: W) -> tuple[Hashable, Message]:
        """The response to popped ``work``: its destination and wire message (possibly empty),
        from the blockstore as it is now."""

    @abstractmethod
    def _message_sent(self, dst: Hashable, msg: Message) -> None:
        """``MessageSent``: the ledger updates (and engine-specific counts) for ``msg``."""

    @abstractmethod
    def _tasks_done(self, work: W) -> None:
        """Release popped ``work`` in the queue (sent, or dropped as empty)."""

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
        work = self._pop()
        while work is None:
            # Go's select; with both ready it picks at random, here the token first.
            if self._signal:
                self._signal = False
            elif self._waiting == 0 and self._tick_now() > self._last_tick:
                self._last_tick = self._tick_now()  # the buffered tick
                self._thaw()
            else:
                self._waiting += 1
                return
            work = self._pop()
        dst, msg = self._envelope(work)
        delay = self._read_delay(len(msg.blocks))
        if self._host_reads and msg.blocks:
            delay += self.host.get_delay(msg.blocks.values())
        if delay > 0.0:
            self._preparing += 1
            self.net.call_at(delay, self._on_read, (work, dst, msg))
        else:
            self._deliver(work, dst, msg)

    def _read_delay(self, n: int) -> float:
        """Seconds to read ``n`` blocks now (see the module docstring)."""
        latency = self.blockstore.get_latency_s
        if n == 0 or latency == 0.0:
            return 0.0
        if not self._parallel_reads:
            return n * latency
        now = self.net.now
        free = self._bs_free
        end = 0.0
        for _ in range(n):
            if free and free[0] <= now:
                heapq.heappop(free)
                start = 0.0
            elif len(free) < self._blockstore_workers:
                start = 0.0
            else:
                start = heapq.heappop(free) - now
            done = start + latency  # offsets from now, so a lone read is exactly `latency`
            heapq.heappush(free, now + done)
            if done > end:
                end = done
        return end

    def _on_read(self, event: Event) -> None:
        work, dst, msg = cast(tuple[W, Hashable, Message], event.value)
        self._preparing -= 1
        self._deliver(work, dst, msg)
        self._pump()

    def _deliver(self, work: W, dst: Hashable, msg: Message) -> None:
        """The envelope is ready: hand it to the paired send worker (or drop it if empty)."""
        if msg.is_empty():
            # "If we don't have the block, don't hold that against the peer": done, no signal,
            # and the same pair pops again.
            self._tasks_done(work)
            self.empty_responses += 1
            self._ready += 1
            return
        self._free_engine += 1
        self._sending += 1
        self._message_sent(dst, msg)  # MessageSent runs in the send worker before the send
        self.responses_sent += 1
        self.blocks_sent += len(msg.blocks)
        self.block_bytes_sent += sum(msg.blocks.values())
        self.host.send_response(dst, msg, partial(self._on_sent, work))

    def _on_sent(self, work: W) -> None:
        """The envelope's ``Sent`` callback (tasks done + ``signalNewWork``), then the send
        worker returns to the outbox."""
        self._sending -= 1
        self._tasks_done(work)
        self._signal_new_work()
        self._free_send += 1
        self._pump()

    # ------------------------------------------------------------------ ticker
    def _tick_now(self) -> int:
        """Index of the last tick at or before now."""
        return math.floor(self.net.now / self._interval + _EPS)

    def _thaw(self) -> None:
        self._thaw_round()
        self.thaw_rounds += 1

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
        self._thaw()
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
