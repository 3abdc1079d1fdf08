"""poc engine (server side): go-peertaskqueue v0.2.0, ledger, decision engine and its workers.

Tiny topologies, times worked out by hand. The stub host uses CIDv1 (HAVE / DONT_HAVE task work
38 B), sends each response over a real ``fifo`` network and charges only its block bytes on the
seed's uplink, so with an uplink of 300,000 B/s a 300,000 B block leaves in exactly 1 s and a
presence-only response leaves at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

import numpy as np
import pytest

from models.blockstore import Blockstore
from models.messages import MAX_PRIORITY, Message, PresenceType, WantType, message_kind
from models.messages import payload_bytes as payload
from models.poc.config import PocConfig
from models.poc.engine import (
    BitswapTask,
    BitswapTaskMerger,
    PocEngine,
    block_presence_size,
    dont_have_task,
    have_block_task,
    new_block_task,
)
from models.poc.ledger import Ledger
from models.poc.peertaskqueue import PeerTaskQueue, PeerTracker, Task, peer_compare
from sim.network import Network

KIB = 1024
LEAF = 262_158  # a 256 KiB unixfs leaf block
B300 = 300_000  # 1 s on a 300,000 B/s uplink
P = 38  # BlockPresenceSize of a CIDv1
H, DH = PresenceType.Have, PresenceType.DontHave

Sent = tuple[float, Hashable, tuple[int, ...], dict[int, PresenceType]]


class Host:
    """Stub ``EngineHost``: records every response (time, dst, block cids, presences)."""

    host = None  # no machine: reads cost only the blockstore latency

    def get_delay(self, sizes: object) -> float:
        raise AssertionError("an engine without a host never asks for read delays")

    cid_version = 1

    def __init__(self, net: Network, name: Hashable, blockstore: Blockstore) -> None:
        self.net = net
        self.name = name
        self.blockstore = blockstore
        self.sent: list[Sent] = []
        self.done: list[tuple[float, Hashable, tuple[int, ...]]] = []

    def send_response(self, dst: Hashable, msg: Message, on_sent: Callable[[], None]) -> None:
        assert not msg.full and not msg.entries
        cids = tuple(msg.blocks)
        self.sent.append((self.net.now, dst, cids, dict(msg.presences)))

        def sent() -> None:
            self.done.append((self.net.now, dst, cids))
            on_sent()

        self.net.send(self.name, dst, msg, payload(msg), message_kind(msg), sent)


def setup(
    blocks: dict[int, int],
    *,
    upload_Bps: float = math.inf,
    get_latency_s: float = 0.0,
    peers: tuple[str, ...] = ("a", "b"),
    **config: object,
) -> tuple[Network, Host, PocEngine]:
    net = Network("fifo")
    net.add_node("seed", upload_Bps=upload_Bps)
    for p in peers:
        net.add_node(p)
        net.connect("seed", p, latency_s=0.0)
    bs = Blockstore(get_latency_s)
    bs.put_many(blocks.items())
    host = Host(net, "seed", bs)
    engine = PocEngine(host, PocConfig(**config))  # type: ignore[arg-type]
    for p in peers:
        engine.peer_connected(p)
    return net, host, engine


def wants(
    *cids: int,
    want_type: WantType = WantType.Block,
    send_dont_have: bool = True,
    priorities: tuple[int, ...] | None = None,
) -> Message:
    """A poc want message; priorities count down from MaxInt32 as the per-peer message queue
    does (internal/messagequeue/messagequeue.go@v0.2.0)."""
    msg = Message()
    for i, c in enumerate(cids):
        prio = priorities[i] if priorities else MAX_PRIORITY - i
        msg.add_entry(c, prio, want_type, send_dont_have)
    return msg


def have_wants(*cids: int, **kw: object) -> Message:
    return wants(*cids, want_type=WantType.Have, **kw)  # type: ignore[arg-type]


def cancels(*cids: int) -> Message:
    msg = Message()
    for c in cids:
        msg.add_cancel(c)
    return msg


def at(net: Network, t: float, fn: Callable[..., object], *args: object) -> None:
    def call(_event: object) -> None:
        fn(*args)

    net.call_at(t - net.now, call, None)


def log(host: Host) -> list[tuple[float, Hashable, tuple[int, ...], dict[int, PresenceType]]]:
    return [(round(t, 9), dst, cids, pres) for t, dst, cids, pres in host.sent]


def task(topic: int, prio: int, work: int, wb: bool, have: bool, size: int = 0) -> BitswapTask:
    return BitswapTask(
        topic, prio, work, is_want_block=wb, send_dont_have=True, block_size=size, have_block=have
    )


# --------------------------------------------------------------------------- peertaskqueue


def test_pop_takes_tasks_in_priority_order_until_the_target_work():
    """PeerTracker.PopTasks (peertracker.go@go-peertaskqueue v0.2.0): priority order (ties
    FIFO here), until popped work >= target, the last one overshooting; pending work returned
    (PeerTaskQueue.PopTasks)."""
    q = PeerTaskQueue()
    q.push_tasks("a", [Task(1, 5, 10), Task(2, 9, 10), Task(3, 5, 10), Task(4, 1, 30)])
    peer, out, pending = q.pop_tasks(15)
    assert peer == "a" and [t.topic for t in out] == [2, 1] and pending == 40
    assert q.trackers["a"].active_work == 20
    peer, out, pending = q.pop_tasks(1)
    assert [t.topic for t in out] == [3] and pending == 30
    assert q.pop_tasks(0) == ("a", [], 30)  # target 0: nothing (Go's loop condition)
    peer, out, pending = q.pop_tasks(1000)
    assert [t.topic for t in out] == [4] and pending == 0
    assert q.pop_tasks(10) == ("a", [], 0)  # active tasks keep the tracker
    q.tasks_done("a", q.trackers["a"].active[1] + q.trackers["a"].active[2])
    assert q.trackers["a"].active_work == 40
    q.tasks_done("a", [t for ts in list(q.trackers["a"].active.values()) for t in ts])
    assert q.pop_tasks(10) == ("a", [], 0)  # idle now: dropped by this pop
    assert len(q) == 0 and q.pop_tasks(10) == (None, [], -1)


def test_default_merger_keeps_one_pending_task_per_topic_and_drops_active_duplicates():
    """PeerTracker.PushTasks with DefaultTaskMerger: a pending topic only takes the higher
    priority; a topic being sent (active) drops the new task (HasNewInfo is false)."""
    q = PeerTaskQueue()
    q.push_tasks("a", [Task(1, 5, 10), Task(2, 4, 10)])
    q.push_tasks("a", [Task(2, 9, 99), Task(1, 1, 99)])
    t = q.trackers["a"]
    assert [(x.topic, x.priority, x.work) for x in t.pending.values()] == [(1, 5, 10), (2, 9, 10)]
    _, out, _ = q.pop_tasks(1)
    assert [x.topic for x in out] == [2]
    q.push_tasks("a", [Task(2, 100, 10)])  # active: dropped
    assert list(t.pending) == [1]
    assert q.remove(1, "a") and not q.remove(1, "a") and not q.remove(1, "zz")
    assert q.pop_tasks(100) == ("a", [], 0)
    q.tasks_done("a", out)
    q.push_tasks("a", [Task(2, 100, 10)])  # no longer active: queued
    assert list(t.pending) == [2]


def test_peer_compare_order():
    """PeerCompare (peertracker.go@go-peertaskqueue v0.2.0): pending tasks first; then less
    active *work*; equal active work: more pending tasks."""
    m = BitswapTaskMerger()
    a, b = PeerTracker("a", m, 1), PeerTracker("b", m, 2)
    b.pending[1] = Task(1, 1, 1)
    assert peer_compare(b, a) and not peer_compare(a, b)
    a.pending[1] = Task(1, 1, 1)
    a.active_work, b.active_work = 300_000, 24_000
    assert peer_compare(b, a) and not peer_compare(a, b)
    a.active_work = 24_000
    a.pending[2] = Task(2, 1, 1)
    assert peer_compare(a, b) and not peer_compare(b, a)


def test_ties_go_to_the_least_recently_served_peer():
    """Go's heap order on PeerCompare ties is unspecified; the model serves round-robin."""
    q = PeerTaskQueue()
    for p in ("a", "b", "c"):
        q.push_tasks(p, [Task(1, 1, 10), Task(2, 1, 10)])
    order = []
    while (popped := q.pop_tasks(10))[1]:
        peer, out, _ = popped
        order.append((peer, out[0].topic))
        q.tasks_done(peer, out)
    assert order == [("a", 1), ("b", 1), ("c", 1), ("a", 2), ("b", 2), ("c", 2)]


def test_bitswap_merger_rules():
    """taskmerger.go@v0.2.0: want-block supersedes want-have, "have block" supersedes "don't
    have", Work becomes the block size for a want-block with the block, priority max
    (peertracker.go@go-peertaskqueue v0.2.0)."""
    q = PeerTaskQueue(BitswapTaskMerger())
    # HAVE (38) + want-block with block (8000) -> block task, Work 8000, priority max.
    q.push_tasks("a", [task(1, 5, P, wb=False, have=True, size=8000)])
    q.push_tasks("a", [task(1, 3, 8000, wb=True, have=True, size=8000)])
    # DONT_HAVE for want-have + DONT_HAVE for want-block -> want-block DONT_HAVE, Work 38.
    q.push_tasks("a", [task(2, 1, P, wb=False, have=False)])
    q.push_tasks("a", [task(2, 1, P, wb=True, have=False)])
    # want-block DONT_HAVE + want-have with a 8000 B block (ReceiveFrom) -> block task, 8000.
    q.push_tasks("a", [task(3, 1, P, wb=True, have=False)])
    q.push_tasks("a", [task(3, 1, P, wb=False, have=True, size=8000)])
    # want-block with block + want-have HAVE: nothing changes.
    q.push_tasks("a", [task(4, 1, 8000, wb=True, have=True, size=8000)])
    q.push_tasks("a", [task(4, 9, P, wb=False, have=True, size=8000)])
    got = {
        c: (t.priority, t.work, t.is_want_block, t.have_block)
        for c, t in q.trackers["a"].pending.items()
    }
    assert got == {
        1: (5, 8000, True, True),
        2: (1, P, True, False),
        3: (1, 8000, True, True),
        4: (9, 8000, True, True),
    }
    assert q.trackers["a"].pending_work == 3 * 8000 + P


def test_new_task_dropped_unless_it_tells_more_than_the_active_ones():
    """taskHasMoreInfoThanActiveTasks (peertracker.go@go-peertaskqueue v0.2.0) with HasNewInfo
    (taskmerger.go@v0.2.0): while a HAVE is being sent, a want-have HAVE is dropped but a
    want-block is queued; while a DONT_HAVE is being sent, a HAVE (we got the block) is
    queued; while a block is being sent, nothing is queued."""
    q = PeerTaskQueue(BitswapTaskMerger())
    q.push_tasks("a", [task(1, 1, P, wb=False, have=True, size=8000)])
    q.push_tasks("a", [task(2, 1, P, wb=True, have=False)])
    q.push_tasks("a", [task(3, 1, 8000, wb=True, have=True, size=8000)])
    _, out, _ = q.pop_tasks(10**6)
    assert len(out) == 3
    q.push_tasks("a", [task(1, 1, P, wb=False, have=True, size=8000)])
    q.push_tasks("a", [task(2, 1, P, wb=True, have=False)])
    q.push_tasks("a", [task(3, 1, 8000, wb=True, have=True, size=8000)])
    q.push_tasks("a", [task(3, 1, P, wb=False, have=True, size=8000)])
    assert q.trackers["a"].pending == {}
    q.push_tasks("a", [task(1, 1, 8000, wb=True, have=True, size=8000)])
    q.push_tasks("a", [task(2, 1, P, wb=False, have=True, size=8000)])
    assert list(q.trackers["a"].pending) == [1, 2]


# --------------------------------------------------------------------------- ledger


def test_ledger_wantlist_types():
    """wantlist.go@v0.2.0: Add keeps the first entry unless a want-block replaces a want-have;
    RemoveType(Have) spares a want-block, RemoveType(Block) removes any; ledger.go@v0.2.0
    accounting."""
    led = Ledger("a")
    assert led.wants(1, 10, WantType.Have)
    assert not led.wants(1, 20, WantType.Have)
    assert led.wants(1, 30, WantType.Block)
    assert not led.wants(1, 40, WantType.Have) and not led.wants(1, 50, WantType.Block)
    assert led.wantlist_contains(1) == (30, WantType.Block)
    assert not led.remove_type(1, WantType.Have) and led.remove_type(1, WantType.Block)
    led.wants(2, 1, WantType.Have)
    assert led.remove_type(2, WantType.Block)
    led.wants(3, 1, WantType.Have)
    assert led.remove_type(3, WantType.Have) and not led.remove_type(3, WantType.Have)
    led.wants(4, 1, WantType.Block)
    assert led.cancel_want(4) and not led.cancel_want(4) and not led.wantlist
    led.sent_bytes(100)
    led.received_bytes(50)
    assert (led.bytes_sent, led.bytes_received, led.exchange_count) == (100, 50, 2)


# --------------------------------------------------------------------------- engine


def test_block_presence_size():
    """BlockPresenceSize (message/message.go@v0.2.0): the cid field only."""
    assert (block_presence_size(0), block_presence_size(1)) == (36, 38)


def test_want_have_small_block_is_answered_with_the_block_else_have():
    """sendAsBlock (internal/decision/engine.go@v0.2.0): a want-have for a block of at most
    maxBlockSizeReplaceHasWithBlock (1024 B) gets the block, a bigger one a HAVE; one pop takes
    all (838 + 1024 + 38 < 16 KiB)."""
    net, host, eng = setup({1: 800, 2: 8000, 3: 1024, 4: 1025})
    eng.message_received("a", have_wants(1, 2, 3, 4))
    tasks = eng.queue.trackers["a"].active
    assert {c: ts[0].work for c, ts in tasks.items()} == {1: 800, 2: P, 3: 1024, 4: P}
    net.run()
    assert log(host) == [(0.0, "a", (1, 3), {2: H, 4: H})]
    assert not eng.ledgers["a"].wantlist  # block and HAVE both answer a want-have
    assert (eng.blocks_sent, eng.haves_sent, eng.block_bytes_sent) == (2, 2, 1824)


def test_missing_blocks_dont_have_or_nothing_then_add_blocks_answers():
    """MessageReceived (internal/decision/engine.go@v0.2.0): a want for a missing block gets a
    DONT_HAVE only if it asked (sendDontHave); either way the want stays in the ledger
    (MessageSent removes nothing for a DONT_HAVE), and ReceiveFrom answers it later: a block
    for a want-block or a want-have of <= 1 KiB, a HAVE for a bigger want-have."""
    net, host, eng = setup({})
    eng.message_received("a", wants(10))
    eng.message_received("a", wants(11, send_dont_have=False))
    eng.message_received("b", have_wants(12, 13, send_dont_have=False))
    net.run(until=0.5)
    assert log(host) == [(0.0, "a", (), {10: DH})]
    assert list(eng.ledgers["a"].wantlist) == [10, 11]
    assert list(eng.ledgers["b"].wantlist) == [12, 13]

    def arrive() -> None:
        for c, s in ((10, 2000), (11, 3000), (12, 500), (13, 8000)):
            host.blockstore.put(c, s)
        eng.add_blocks([10, 11, 12, 13, 99])

    at(net, 1.0, arrive)
    net.run()
    assert log(host)[1:] == [
        # a and b: 2 pending tasks each, no active work: a (older tracker; its first one was
        # dropped when idle). One pop takes 2000 + 3000 B.
        (1.0, "a", (10, 11), {}),
        (1.0, "b", (12,), {13: H}),  # popped after a's on_sent signal: 500 B + 38 B
    ]
    assert not eng.ledgers["a"].wantlist and not eng.ledgers["b"].wantlist


def test_want_have_then_want_block_merge_into_one_block_task():
    """Task merging (taskmerger.go@v0.2.0, PushTasks in peertracker.go@go-peertaskqueue v0.2.0):
    a want-have then a want-block for the same CID, queued while the only worker is busy,
    become one block task with the higher priority; in one message the message-level merge
    (message.go@v0.2.0 addEntry) already made it a want-block."""
    net, host, eng = setup(
        {1: B300, 10: 8000}, upload_Bps=B300, engine_task_workers=1, send_workers=1
    )
    eng.message_received("b", wants(1))  # busy until 1.0
    eng.message_received("a", have_wants(10, priorities=(5,)))
    eng.message_received("a", wants(10, priorities=(3,)))
    (t,) = eng.queue.trackers["a"].pending.values()
    fields = (t.priority, t.work, t.is_want_block, t.send_dont_have, t.block_size, t.have_block)
    assert fields == (5, 8000, True, True, 8000, True)
    assert eng.ledgers["a"].wantlist_contains(10) == (3, WantType.Block)
    assert list(eng.ledgers["a"].wantlist) == [10]
    net.run()
    assert log(host) == [(0.0, "b", (1,), {}), (1.0, "a", (10,), {})]

    net, host, eng = setup({10: 8000})
    msg = have_wants(10)
    msg.add_entry(10, 7, WantType.Block, True)
    eng.message_received("a", msg)
    net.run()
    assert log(host) == [(0.0, "a", (10,), {})]


@pytest.mark.parametrize(
    ("size", "n", "per_response"),
    [(8000, 7, [3, 3, 1]), (LEAF, 3, [1, 1, 1]), (16_383, 3, [2, 1]), (16_384, 2, [1, 1])],
)
def test_pop_16_kib_of_blocks_per_response(size, n, per_response):
    """PopTasks(targetMessageSize = 16 KiB) (internal/decision/engine.go@v0.2.0): 8000 B blocks
    go 3 per response (8000, 16000 < 16384, 24000), 256 KiB leaves 1 per response."""
    net, host, eng = setup({c: size for c in range(n)})
    eng.message_received("a", wants(*range(n)))
    net.run()
    assert [len(cids) for _, _, cids, _ in host.sent] == per_response
    assert [c for _, _, cids, _ in host.sent for c in cids] == list(range(n))


def test_pop_16_kib_of_presences_per_response():
    """Presences alone: Work 38 B each (CIDv1), 431 x 38 = 16,378 < 16,384 <= 432 x 38, so 432
    DONT_HAVEs per response (456 for CIDv0's 36 B)."""
    net, host, eng = setup({})
    eng.message_received("a", wants(*range(1000)))
    net.run()
    assert [len(pres) for _, _, _, pres in host.sent] == [432, 432, 136]
    assert eng.dont_haves_sent == 1000 and set(eng.ledgers["a"].wantlist) == set(range(1000))
    assert math.ceil(16 * KIB / 36) == 456


def test_peer_with_less_active_work_is_served_first():
    """PeerCompare (peertracker.go@go-peertaskqueue v0.2.0) counts active *work*, not tasks: at
    0.1 s a has one 300,000 B block in flight and b three 8000 B blocks (24,000 B), so b's next
    three go before a's second block although a asked first (master, counting tasks, would
    pick a)."""
    sizes = {21: 30_000, 1: B300, 2: B300} | {c: 8000 for c in range(11, 17)}
    net, host, eng = setup(sizes, upload_Bps=B300, send_workers=3, peers=("a", "b", "c"))
    eng.message_received("c", wants(21))  # 0 -> 0.1 s on the uplink
    eng.message_received("a", wants(1, 2))  # 0.1 -> 1.1
    eng.message_received("b", wants(*range(11, 17)))  # b: 0 active work -> b before a
    net.run()
    assert [(t, dst, cids) for t, dst, cids, _ in log(host)] == [
        (0.0, "c", (21,)),
        (0.0, "a", (1,)),
        (0.0, "b", (11, 12, 13)),
        (0.1, "b", (14, 15, 16)),
        (1.1, "a", (2,)),
    ]


def test_one_signal_wakes_one_pair_and_the_ticker_wakes_the_others():
    """workSignal has capacity 1 (signalNewWork, internal/decision/engine.go@v0.2.0): one want
    message wakes one waiting pair; the others join at the 100 ms ticks (ThawRound is a no-op
    with IgnoreFreezing(true), but the tick still wakes a pair that pops)."""
    net, host, eng = setup({c: B300 for c in range(4)}, upload_Bps=B300)
    eng.message_received("a", wants(0, 1, 2, 3))
    net.run()
    assert [t for t, *_ in log(host)] == [0.0, 0.1, 0.2, 0.3]
    assert eng.thaw_rounds == 3


def test_cancel_removes_a_pending_task_without_freezing():
    """MessageReceived + Remove (peertaskqueue.go@go-peertaskqueue v0.2.0, IgnoreFreezing):
    a cancel removes the want and its pending task, and the next block goes as soon as the
    worker is free (no freeze). A cancel for a want the ledger no longer has (here wiped by a
    full wantlist) leaves the queued task alone (CancelWant returned false)."""
    sizes = {c: B300 for c in range(1, 5)}
    net, host, eng = setup(sizes, upload_Bps=B300, engine_task_workers=1, send_workers=1)
    eng.message_received("a", wants(1, 2, 3))
    at(net, 0.5, eng.message_received, "a", cancels(2))
    net.run()
    assert [(t, cids) for t, _, cids, _ in log(host)] == [(0.0, (1,)), (1.0, (3,))]

    net, host, eng = setup(sizes, upload_Bps=B300, engine_task_workers=1, send_workers=1)
    eng.message_received("a", wants(1, 2, 3))
    full = wants(4)
    full.full = True
    at(net, 0.5, eng.message_received, "a", full)
    at(net, 0.6, eng.message_received, "a", cancels(2, 3, 4))
    net.run()
    assert [(t, cids) for t, _, cids, _ in log(host)] == [(0.0, (1,)), (1.0, (2,)), (2.0, (3,))]
    assert not eng.ledgers["a"].wantlist


def test_ledger_updates_when_the_response_is_sent():
    """MessageSent (internal/decision/engine.go@v0.2.0), run by the send worker before the send
    (workers.go@v0.2.0): a block removes the CID's want of either type, a HAVE removes a
    want-have but not a want-block, a DONT_HAVE removes nothing; block bytes counted."""
    net, host, eng = setup({1: 2000, 2: 8000}, upload_Bps=B300)
    msg = wants(1, 3)
    msg.add_entry(2, 9, WantType.Have, True)
    msg.add_entry(4, 8, WantType.Have, True)
    eng.message_received("a", msg)
    assert [c for _, _, cids, _ in host.sent for c in cids] == [1]
    led = eng.ledgers["a"]
    assert list(led.wantlist) == [3, 4]  # at send start, before on_sent
    assert (led.bytes_sent, led.exchange_count, eng.responses_sent) == (2000, 1, 1)
    assert log(host) == [(0.0, "a", (1,), {2: H, 3: DH, 4: DH})]
    net.run()
    received = Message()
    received.add_block(50, 1234)
    eng.message_received("a", received)
    assert (led.bytes_received, led.exchange_count) == (1234, 2)


def test_vanished_block_becomes_dont_have_and_empty_response_is_dropped():
    """nextEnvelope (internal/decision/engine.go@v0.2.0): a block task whose block is gone gives
    a DONT_HAVE if the want asked for one, else nothing; a response with nothing in it is
    dropped (tasks done, no signal) and the same pair pops again."""
    net, host, eng = setup({1: 1000})
    eng.queue.push_tasks("a", [have_block_task(98, 9, 500, True, True, 500)])
    eng.queue.push_tasks("b", [new_block_task(99, 9, 500, True, 500)])
    eng.message_received("a", wants(1))
    net.run()
    assert log(host) == [(0.0, "a", (1,), {98: DH})]
    assert eng.empty_responses == 1 and len(eng.queue) == 0


def test_blockstore_reads_cost_one_latency_per_response():
    """blockstoremanager.go@v0.2.0: a response's blocks are read in parallel by up to 128
    workers, so 3 x 8000 B blocks take one 25 ms read; presences need no read. b's DONT_HAVE
    (b has no active work) leaves at 0; its on_sent signal starts a's last block, read in
    parallel with the first three."""
    net, host, eng = setup({c: 8000 for c in range(4)}, get_latency_s=0.025)
    eng.message_received("a", wants(0, 1, 2, 3))
    eng.message_received("b", wants(7))
    net.run(until=0.01)
    assert eng.busy_engine_workers == 2 and log(host) == [(0.0, "b", (), {7: DH})]
    net.run()
    assert log(host)[1:] == [(0.025, "a", (0, 1, 2), {}), (0.025, "a", (3,), {})]


def test_have_sent_while_the_ledger_holds_a_want_block_keeps_it():
    """MessageSent (internal/decision/engine.go@v0.2.0) removes a want-have for a HAVE
    (RemoveType(c, Have)) but not a want-block: b's want-block for 5 arrives while the HAVE
    for 5 is being prepared (25 ms read of block 6); it is queued (a want-block is new info
    over the active HAVE task) and answered by the block at 0.035 s."""
    net, host, eng = setup({5: 8000, 6: 500}, get_latency_s=0.025)
    eng.message_received("b", have_wants(6, 5))
    at(net, 0.01, eng.message_received, "b", wants(5))
    net.run(until=0.03)
    assert list(eng.ledgers["b"].wantlist) == [5]
    assert eng.ledgers["b"].wantlist_contains(5) == (MAX_PRIORITY, WantType.Block)
    net.run()
    assert log(host) == [(0.025, "b", (6,), {5: H}), (0.035, "b", (5,), {})]
    assert not eng.ledgers["b"].wantlist


def test_send_workers_limit_responses_in_flight():
    """The outbox is unbuffered (internal/decision/engine.go@v0.2.0) and each send worker
    sends synchronously (workers.go@v0.2.0): with 2 send workers, two want messages send two
    responses at 0; the third is popped when the first's on_sent fires at 1.0 s."""
    net, host, eng = setup({1: B300, 2: B300, 3: B300}, upload_Bps=B300, send_workers=2)
    eng.message_received("a", wants(1, priorities=(30,)))
    eng.message_received("a", wants(2, 3, priorities=(20, 10)))
    net.run()
    assert [(t, cids) for t, _, cids, _ in log(host)] == [(0.0, (1,)), (0.0, (2,)), (1.0, (3,))]
    assert eng.worker_counts() == {
        "waiting": 2,
        "preparing": 0,
        "sending": 0,
        "engine_idle": 6,
        "send_idle": 0,
    }


def _run_random_workload(seed: int) -> tuple[list, dict, int]:
    rng = np.random.default_rng(seed)
    sizes = {c: int(rng.choice([500, 8000, LEAF])) for c in range(40)}
    net, host, eng = setup(sizes, upload_Bps=2_000_000, get_latency_s=0.005, peers=("a", "b", "c"))
    for _ in range(40):
        t = float(rng.uniform(0, 2))
        peer = ("a", "b", "c")[int(rng.integers(3))]
        cids = [int(c) for c in rng.choice(60, size=int(rng.integers(1, 8)), replace=False)]
        r = rng.random()
        if r < 0.25:
            msg = cancels(*cids)
        elif r < 0.6:
            msg = have_wants(*cids, send_dont_have=bool(rng.random() < 0.5))
        else:
            msg = wants(*cids)
        at(net, t, eng.message_received, peer, msg)

    def arrive() -> None:
        host.blockstore.put_many((c, 8000) for c in range(40, 50))
        eng.add_blocks(list(range(40, 50)))

    at(net, 1.0, arrive)
    net.run()
    ledgers = {p: (dict(led.wantlist.items()), led.bytes_sent) for p, led in eng.ledgers.items()}
    return host.sent, ledgers, eng.thaw_rounds


def test_determinism():
    """Same workload twice: identical responses, times, ledgers and ticks (no Go map order or
    randomness leaks into the model)."""
    first = _run_random_workload(7)
    assert first == _run_random_workload(7)
    assert len(first[0]) > 5


def test_task_factories_fill_the_fields_gos_engine_sets():
    """The three ``peertask.Task{...}`` of internal/decision/engine.go@v0.2.0."""
    kw = dict(is_want_block=True, send_dont_have=True, block_size=500, have_block=True)
    assert repr(have_block_task(7, 9, 500, True, True, 500)) == repr(BitswapTask(7, 9, 500, **kw))
    kw.update(block_size=0, have_block=False, is_want_block=False)
    assert repr(dont_have_task(7, 9, 38, False)) == repr(BitswapTask(7, 9, 38, **kw))
    kw.update(block_size=500, have_block=True, send_dont_have=False)
    assert repr(new_block_task(7, 9, 38, False, 500)) == repr(BitswapTask(7, 9, 38, **kw))
