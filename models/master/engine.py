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

**Workers** (:mod:`models.decision.engine_workers`: engine task workers paired with Bitswap send
workers through the unbuffered outbox, ``workSignal``, the 100 ms ticker, blockstore reads;
``decision/engine.go@v0.1.11``, ``workers.go@v0.1.11``). ``engine_task_workers`` is 1 in v0.1.8,
8 from v0.1.9; ``parallel_blockstore_reads`` is off in v0.1.8 (reads one after another). What is
master's own:

* *Pop*: ``PopBlock``, one task block per response.
* *Thaw*: a tick taken by a waiting pair runs ``ThawRound``: every frozen peer's freeze value
  drops by half, rounded up (:mod:`models.master.peertaskqueue`).
* *Response*: the block's blocks still in the blockstore (``sendBlocks`` builds
  ``bsmsg.New(false)`` with the blocks only; the envelope's ``New(true)`` never reaches the
  wire). A task block with none of its blocks left gives an empty response, dropped.
* *Send*: ``MessageSent`` (before the send): the ledger forgets the wants for the sent blocks
  and counts the bytes. At ``on_sent()`` the block's tasks are done (``TaskDone``).

Discrepancies with Go that are deliberate: Go iterates maps where this module uses insertion
order (a message's wantlist in ``MessageReceived``, the ledgers in ``AddBlocks``, the blocks of
a response); concurrent goroutines are run in a fixed order (woken pairs before new pairs).
Disconnecting a peer does not clear its queued tasks (as in v0.1.11): they are still prepared
and handed to ``send_response``, which must cope; ``MessageSent`` re-creates the ledger
(``findOrCreate``).

Cost: that of the workers (:mod:`models.decision.engine_workers`); no SimPy process.
"""

from __future__ import annotations

from collections.abc import Hashable

from models.decision.engine_workers import EngineHost, EngineWorkers
from models.decision.ledgers import Ledgers
from models.master.config import MasterConfig
from models.master.ledger import Ledger
from models.master.peertaskqueue import PeerTaskQueue, Task, TaskBlock
from models.messages import Message

__all__ = ["EngineHost", "MasterEngine"]


class MasterEngine(EngineWorkers[PeerTaskQueue, TaskBlock]):
    """go-bitswap master's decision engine plus the Bitswap send workers (module docstring).

    Introspection: :attr:`ledgers`, :attr:`queue`, :attr:`responses_sent`,
    :attr:`blocks_sent`, :attr:`block_bytes_sent`, :attr:`empty_responses`,
    :attr:`thaw_rounds` and the worker counts (:meth:`worker_counts`).
    """

    def __init__(self, host: EngineHost, config: MasterConfig) -> None:
        super().__init__(host, config, PeerTaskQueue(freezing=config.freezing))
        self.config = config
        self.ledgers: Ledgers[Ledger] = Ledgers(Ledger)
        """Partner -> ledger, in creation order (Go: ``ledgerMap``)."""

    # ------------------------------------------------------------------ connections
    def peer_connected(self, p: Hashable) -> None:
        """``PeerConnected``: create the ledger if needed, count the connection."""
        self.ledgers.connected(p)

    def peer_disconnected(self, p: Hashable) -> None:
        """``PeerDisconnected``: drop the ledger on the last connection (queued tasks stay)."""
        self.ledgers.disconnected(p)

    # ------------------------------------------------------------------ requests
    def message_received(self, src: Hashable, msg: Message) -> None:
        """``MessageReceived``: record wants and cancels, queue task blocks for the blocks we
        hold (grouped up to ``max_message_size_bytes``), count the blocks received."""
        ledger = self.ledgers.find_or_create(src)
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

    # ------------------------------------------------------------------ worker hooks
    def _pop(self) -> TaskBlock | None:
        """``PopBlock``."""
        return self.queue.pop_block()

    def _thaw_round(self) -> None:
        """``ThawRound``: frozen peers thaw."""
        self.queue.thaw_round()

    def _envelope(self, block: TaskBlock) -> tuple[Hashable, Message]:
        """The blocks of ``block`` still in the blockstore, in task order."""
        size_of = self.blockstore.size_of
        blocks: dict[int, int] = {}
        for cid, _ in block.tasks:
            size = size_of(cid)
            if size is not None:
                blocks[cid] = size
        return block.target, Message(blocks=blocks)

    def _message_sent(self, dst: Hashable, msg: Message) -> None:
        """``MessageSent``: the ledger counts the bytes and forgets the wants (re-created if
        ``dst`` disconnected meanwhile: ``findOrCreate``)."""
        ledger = self.ledgers.find_or_create(dst)
        wantlist = ledger.wantlist
        for cid, size in msg.blocks.items():
            ledger.sent_bytes(size)
            wantlist.pop(cid, None)

    def _tasks_done(self, block: TaskBlock) -> None:
        """``TaskDone`` for the block's tasks."""
        self.queue.task_done(block.target, block.cids)
