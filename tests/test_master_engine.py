"""Master engine (server side): peertaskqueue v0.1.1, ledger, decision engine and its workers.

Tiny topologies, times worked out by hand. The stub host sends each response over a real
``fifo`` network and charges only its block bytes on the seed's uplink, so with an uplink of
300,000 B/s a 300,000 B block leaves in exactly 1 s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

import numpy as np
import pytest

from models.blockstore import Blockstore
from models.master.config import MasterConfig
from models.master.engine import MasterEngine
from models.master.ledger import Ledger
from models.master.peertaskqueue import PeerTaskQueue, PeerTracker, peer_compare
from models.messages import MAX_PRIORITY, Message, message_kind, payload_bytes
from sim.network import Network

KIB = 1024
LEAF = 262_158  # a 256 KiB unixfs leaf block
B300 = 300_000  # 1 s on a 300,000 B/s uplink


class Host:
    """Stub ``EngineHost``: records every response (time, dst, cids) and every ``on_sent``."""

    host = None  # no machine: reads cost only the blockstore latency

    def get_delay(self, sizes: object) -> float:
        raise AssertionError("an engine without a host never asks for read delays")

    def __init__(self, net: Network, name: Hashable, blockstore: Blockstore) -> None:
        self.net = net
        self.name = name
        self.blockstore = blockstore
        self.sent: list[tuple[float, Hashable, tuple[int, ...]]] = []
        self.done: list[tuple[float, Hashable, tuple[int, ...]]] = []
        self.in_flight: list[int] = []
        self.engine: MasterEngine | None = None

    def send_response(self, dst: Hashable, msg: Message, on_sent: Callable[[], None]) -> None:
        cids = tuple(msg.blocks)
        assert not msg.full and not msg.entries
        self.sent.append((self.net.now, dst, cids))
        assert self.engine is not None
        self.in_flight.append(self.engine.busy_send_workers)

        def sent() -> None:
            self.done.append((self.net.now, dst, cids))
            on_sent()

        self.net.send(self.name, dst, msg, payload_bytes(msg), message_kind(msg), sent)


def setup(
    blocks: dict[int, int],
    *,
    upload_Bps: float = math.inf,
    get_latency_s: float = 0.0,
    peers: tuple[str, ...] = ("a", "b"),
    **config: object,
) -> tuple[Network, Host, MasterEngine]:
    net = Network("fifo")
    net.add_node("seed", upload_Bps=upload_Bps)
    for p in peers:
        net.add_node(p)
        net.connect("seed", p, latency_s=0.0)
    bs = Blockstore(get_latency_s)
    bs.put_many(blocks.items())
    host = Host(net, "seed", bs)
    engine = MasterEngine(host, MasterConfig(**config))  # type: ignore[arg-type]
    host.engine = engine
    for p in peers:
        engine.peer_connected(p)
    return net, host, engine


def wants(*cids: int, priorities: tuple[int, ...] | None = None) -> Message:
    """A master want message; priorities count down from MaxInt32 as wantmanager@v0.1.8 does."""
    msg = Message()
    for i, c in enumerate(cids):
        msg.add_entry_master(c, priorities[i] if priorities else MAX_PRIORITY - i)
    return msg


def cancels(*cids: int) -> Message:
    msg = Message()
    for c in cids:
        msg.add_entry_master(c, 0, cancel=True)
    return msg


def at(net: Network, t: float, fn: Callable[..., object], *args: object) -> None:
    def call(_event: object) -> None:
        fn(*args)

    net.call_at(t - net.now, call, None)


def times(
    log: list[tuple[float, Hashable, tuple[int, ...]]],
) -> list[tuple[float, Hashable, tuple]]:
    return [(round(t, 9), dst, cids) for t, dst, cids in log]


# --------------------------------------------------------------------------- peertaskqueue


def test_push_skips_active_raises_queued_and_groups_new_tasks():
    """PeerTracker.PushBlock (peertracker.go@v0.1.1): active tasks are skipped, a queued task
    only raises its block's priority, the new ones form one block."""
    q = PeerTaskQueue()
    q.push_block("a", [(1, 5), (2, 4)])
    q.push_block("a", [(3, 9)])
    first = q.pop_block()
    assert first is not None and first.cids == [3]
    q.push_block("a", [(3, 20), (1, 30), (4, 1)])  # 3 active: skipped; 1 queued: raised
    t = q.trackers["a"]
    assert t.num_tasks == 3 and t.num_blocks == 2 and t.active == 1
    block = q.pop_block()
    assert block is not None and block.cids == [1, 2] and block.priority == 30
    block = q.pop_block()
    assert block is not None and block.cids == [4]


def test_equal_priorities_pop_in_creation_order():
    """PriorityCompare (peertask.go@v0.1.1) leaves equal priorities to the heap; here FIFO."""
    q = PeerTaskQueue()
    for c in (1, 2, 3):
        q.push_block("a", [(c, 7)])
    popped = []
    while (b := q.pop_block()) is not None:
        popped.append(b.cids)
        q.task_done("a", b.cids)
    assert popped == [[1], [2], [3]]
    assert len(q) == 0  # the idle tracker was dropped


def test_empty_push_creates_a_tracker_that_the_next_pop_drops():
    """PeerTaskQueue.PushBlock creates the tracker before looking at the tasks."""
    q = PeerTaskQueue()
    q.push_block("a", [])
    assert list(q.trackers) == ["a"]
    assert q.pop_block() is None
    assert len(q) == 0


def test_cancel_quirks_rewant_lost_and_double_cancel():
    """PeerTracker.Remove keeps the task map entry until the block is popped: a re-want of a
    cancelled task is lost, and a second cancel counts the task out twice."""
    q = PeerTaskQueue(freezing=False)
    q.push_block("a", [(1, 5)])
    q.push_block("a", [(2, 4)])
    assert q.remove(1, "a")
    q.push_block("a", [(1, 9)])  # raises the dead task's priority, nothing new
    assert q.remove(2, "a") and q.remove(2, "a")
    t = q.trackers["a"]
    assert t.num_tasks == -1 and t.num_blocks == 2
    assert q.pop_block() is None  # both blocks discarded (all their tasks pruned)
    assert t.num_blocks == 0 and t.task_map == {}
    assert "a" in q.trackers  # num_tasks != 0: never idle (Go leaks it too)
    assert not q.remove(1, "b")


def test_remove_freezes_and_thaw_rounds_halve_the_freeze():
    """PeerTaskQueue.Remove freezes the peer once per removed task; ThawRound subtracts
    ceil(freeze/2): 5 -> 2 -> 1 -> 0; a frozen peer yields nothing."""
    q = PeerTaskQueue()
    q.push_block("a", [(c, 10 - c) for c in range(1, 7)])
    for c in range(1, 6):
        assert q.remove(c, "a")
    t = q.trackers["a"]
    assert t.freeze_val == 5 and list(q.frozen) == ["a"]
    assert q.pop_block() is None
    seen = []
    for _ in range(3):
        q.thaw_round()
        seen.append(t.freeze_val)
    assert seen == [2, 1, 0] and not q.frozen
    block = q.pop_block()
    assert block is not None and block.cids == [6]


def test_full_thaw_and_frozen_idle_tracker_is_dropped_with_its_freeze():
    """FullThaw zeroes every freeze; a pop that leaves a tracker idle drops it (and its
    freeze value): peertaskqueue.go@v0.1.1 PopBlock."""
    q = PeerTaskQueue()
    q.push_block("a", [(1, 1), (2, 1)])
    q.remove(1, "a")
    q.remove(2, "a")
    q.full_thaw()
    assert q.trackers["a"].freeze_val == 0 and not q.frozen
    q.push_block("b", [(3, 1)])
    q.remove(3, "b")
    assert q.pop_block() is None  # a and b tie (no queued task): a, never served and older
    assert list(q.trackers) == ["b"]  # a's block was all cancelled: discarded, a idle: dropped
    assert q.pop_block() is None  # b: frozen, idle -> dropped with its freeze
    assert len(q) == 0 and not q.frozen


def test_peer_compare_order():
    """PeerCompare (peertracker.go@v0.1.1): tasks first, lower freeze, fewer active, then more
    queued blocks."""
    a, b = PeerTracker("a", 1), PeerTracker("b", 2)
    a.num_tasks, b.num_tasks = 1, 0
    assert peer_compare(a, b) and not peer_compare(b, a)
    b.num_tasks = 1
    a.freeze_val = 1
    assert peer_compare(b, a) and not peer_compare(a, b)
    a.freeze_val = 0
    a.active, b.active = 2, 1
    assert peer_compare(b, a)
    a.active = 1
    a.num_blocks, b.num_blocks = 3, 2
    assert peer_compare(a, b) and not peer_compare(b, a)


def test_ties_go_to_the_least_recently_served_peer():
    """Go's heap order on PeerCompare ties is unspecified; the model serves round-robin."""
    q = PeerTaskQueue()
    for p in ("a", "b", "c"):
        q.push_block(p, [(1, 1)])
        q.push_block(p, [(2, 1)])
    order = []
    while (blk := q.pop_block()) is not None:
        order.append((blk.target, blk.cids[0]))
        q.task_done(blk.target, blk.cids)
    assert order == [("a", 1), ("b", 1), ("c", 1), ("a", 2), ("b", 2), ("c", 2)]


# --------------------------------------------------------------------------- ledger


def test_ledger_keeps_first_priority_and_counts_exchanges():
    """ledger.go / wantlist.go@v0.1.11: Add does not update an existing priority."""
    led = Ledger("a")
    led.wants(1, 10)
    led.wants(1, 99)
    assert led.wantlist_contains(1) == 10
    led.cancel_want(1)
    led.cancel_want(1)
    assert led.wantlist_contains(1) is None
    led.sent_bytes(100)
    led.received_bytes(50)
    assert (led.bytes_sent, led.bytes_received, led.exchange_count) == (100, 50, 2)
    assert led.debt_ratio() == 100 / 51


# --------------------------------------------------------------------------- engine


def test_task_grouping_up_to_512_kib():
    """MessageReceived (decision/engine.go@v0.1.11): wants of one message are grouped into task
    blocks of <= 512 KiB of block bytes; two 256 KiB leaves never share a response."""
    sizes = {1: 300 * KIB, 2: 200 * KIB, 3: 100 * KIB, 4: LEAF, 5: LEAF}
    net, host, eng = setup(sizes)
    eng.message_received("a", wants(1, 2, 3, 4, 5))
    net.run()
    assert times(host.sent) == [(0.0, "a", (1, 2)), (0.0, "a", (3, 4)), (0.0, "a", (5,))]
    for _, _, cids in host.sent:
        assert sum(sizes[c] for c in cids) <= 512 * KIB
    assert [sum(sizes[c] for c in cids) for _, _, cids in host.sent] == [512_000, 364_558, LEAF]

    net, host, eng = setup({c: LEAF for c in range(1, 5)})
    eng.message_received("a", wants(1, 2, 3, 4))
    net.run()
    assert [cids for _, _, cids in host.sent] == [(1,), (2,), (3,), (4,)]


def test_a_lone_block_bigger_than_the_limit_goes_alone():
    """MessageReceived: a block > 512 KiB closes the (empty) current batch and goes alone."""
    net, host, eng = setup({1: 600 * KIB, 2: 100 * KIB, 3: 100 * KIB})
    eng.message_received("a", wants(1, 2, 3))
    net.run()
    assert [cids for _, _, cids in host.sent] == [(1,), (2, 3)]


def test_wants_for_missing_blocks_are_kept_and_answered_by_add_blocks():
    """Ledger records every want (decision/engine.go@v0.1.11); AddBlocks pushes a one-task
    block for each ledger that wants a new block: the reseeding path."""
    net, host, eng = setup({})
    eng.message_received("a", wants(10, 11, 12))
    eng.message_received("b", wants(11))
    net.run(until=0.5)
    assert host.sent == [] and len(eng.queue) == 0
    assert eng.ledgers["a"].wantlist == {10: MAX_PRIORITY, 11: MAX_PRIORITY - 1, 12: 2**31 - 3}

    def arrive() -> None:
        host.blockstore.put(10, 1000)
        host.blockstore.put(11, 2000)
        eng.add_blocks([10, 11])

    at(net, 1.0, arrive)
    net.run()
    assert times(host.sent) == [
        (1.0, "a", (10,)),  # a has 2 queued blocks, b 1
        (1.0, "b", (11,)),  # then a tie: b was never served
        (1.0, "a", (11,)),
    ]
    assert eng.ledgers["a"].wantlist == {12: MAX_PRIORITY - 2}
    assert eng.ledgers["b"].wantlist == {}
    assert eng.ledgers["a"].bytes_sent == 3000


def test_cancel_freezes_until_thaw_rounds_at_100ms_ticks():
    """PeerTaskQueue.Remove freezes the peer; the engine's 100 ms ticker runs ThawRound only
    while a worker waits (nextEnvelope, decision/engine.go@v0.1.11). Without cancels the
    queued blocks go one per tick (workSignal wakes one waiting worker): 0, 0.1, 0.2, 0.3.
    Cancelling 2 and 3 at 50 ms freezes a (freeze 2): thawed to 1 at the 0.1 s tick, to 0 at
    the 0.2 s tick, when 4 goes."""
    blocks = {c: B300 for c in range(1, 5)}
    net, host, eng = setup(blocks, upload_Bps=B300)
    eng.message_received("a", wants(1, 2, 3, 4))
    net.run(until=1.0)
    assert times(host.sent) == [
        (0.0, "a", (1,)),
        (0.1, "a", (2,)),
        (0.2, "a", (3,)),
        (0.3, "a", (4,)),
    ]

    net, host, eng = setup(blocks, upload_Bps=B300)
    eng.message_received("a", wants(1, 2, 3, 4))
    at(net, 0.05, eng.message_received, "a", cancels(2, 3))
    net.run(until=0.06)
    assert eng.queue.trackers["a"].freeze_val == 2
    net.run(until=0.15)
    assert eng.queue.trackers["a"].freeze_val == 1 and eng.thaw_rounds == 1
    net.run()
    assert times(host.sent) == [(0.0, "a", (1,)), (0.2, "a", (4,))]
    assert eng.ledgers["a"].wantlist == {}


def test_ticks_buffered_while_all_workers_are_busy_thaw_at_once():
    """Go's ticker channel keeps one tick: with the only worker busy sending until 1.0 s, the
    worker that then waits thaws at once (freeze 3 -> 1), then at the next tick (1.1 s: 1 -> 0)
    and serves 5. ThawRound never runs while no worker waits."""
    net, host, eng = setup(
        {c: B300 for c in range(1, 6)}, upload_Bps=B300, engine_task_workers=1, send_workers=1
    )
    eng.message_received("a", wants(1, 2, 3, 4, 5))
    at(net, 0.25, eng.message_received, "a", cancels(2, 3, 4))
    net.run(until=0.99)
    assert eng.queue.trackers["a"].freeze_val == 3 and eng.thaw_rounds == 0
    net.run(until=1.05)
    assert eng.queue.trackers["a"].freeze_val == 1 and eng.thaw_rounds == 1
    net.run()
    assert times(host.sent) == [(0.0, "a", (1,)), (1.1, "a", (5,))]
    assert times(host.done) == [(1.0, "a", (1,)), (2.1, "a", (5,))]


def test_peer_with_fewer_active_tasks_is_served_first():
    """PeerCompare (peertracker.go@v0.1.1): at 1.0 s a has 1 active task and b none, so b's
    block goes before a's remaining one although a asked first."""
    net, host, eng = setup({1: B300, 2: B300, 3: B300, 4: B300}, upload_Bps=B300, send_workers=2)
    eng.message_received("a", wants(1, 2, 3))
    at(net, 0.5, eng.message_received, "b", wants(4))
    net.run()
    assert times(host.sent) == [
        (0.0, "a", (1,)),
        (0.1, "a", (2,)),  # the tick wakes the second waiting worker
        (1.0, "b", (4,)),  # a's 1 done; a: 1 active, b: 0 active
        (2.0, "a", (3,)),  # a's 2 done; a: 0 active, b: 1 active
    ]


def test_send_workers_limit_responses_in_flight():
    """The engine outbox is unbuffered (decision/engine.go) and each of the send_workers sends
    synchronously (workers.go@v0.1.11): with 2 send workers two responses leave at 0 (two want
    messages, two signals) and the third is popped when the first's on_sent fires at 1.0 s."""
    net, host, eng = setup({1: B300, 2: B300, 3: B300}, upload_Bps=B300, send_workers=2)
    eng.message_received("a", wants(1, 2, priorities=(30, 20)))
    eng.message_received("a", wants(3, priorities=(10,)))
    net.run()
    assert times(host.sent) == [(0.0, "a", (1,)), (0.0, "a", (2,)), (1.0, "a", (3,))]
    assert times(host.done) == [(1.0, "a", (1,)), (2.0, "a", (2,)), (3.0, "a", (3,))]
    assert host.in_flight == [1, 2, 2]
    assert eng.worker_counts() == {
        "waiting": 2,
        "preparing": 0,
        "sending": 0,
        "engine_idle": 6,
        "send_idle": 0,
    }


def test_one_signal_wakes_one_waiting_worker():
    """workSignal has capacity 1 and is written without blocking (signalNewWork): one want
    message wakes one of the waiting workers; the second block waits for the 100 ms tick, the
    third for the first send to finish."""
    net, host, eng = setup({1: B300, 2: B300, 3: B300}, upload_Bps=B300, send_workers=2)
    eng.message_received("a", wants(1, 2, 3))
    net.run()
    assert times(host.sent) == [(0.0, "a", (1,)), (0.1, "a", (2,)), (1.0, "a", (3,))]


@pytest.mark.parametrize(
    ("parallel", "expected"),
    [
        # v0.1.8: reads one by one: 5 x 25 ms, then b's 25 ms, then a's 25 ms.
        (False, [(0.125, "a", (1, 2, 3, 4, 5)), (0.15, "b", (7,)), (0.175, "a", (6,))]),
        # v0.1.9+ blockstore manager: one 25 ms per response.
        (True, [(0.025, "a", (1, 2, 3, 4, 5)), (0.05, "b", (7,)), (0.075, "a", (6,))]),
    ],
)
def test_one_engine_worker_prepares_serially_with_blockstore_latency(parallel, expected):
    """taskWorkerCount = 1 (decision/engine.go@v0.1.8) with 25 ms per blockstore Get:
    preparations follow each other; the worker picks b (0 active tasks) before a's second
    block (a has 5 active)."""
    sizes = {c: 100 * KIB for c in range(1, 6)} | {6: 300 * KIB, 7: 100 * KIB}
    net, host, eng = setup(
        sizes, get_latency_s=0.025, engine_task_workers=1, parallel_blockstore_reads=parallel
    )
    eng.message_received("a", wants(1, 2, 3, 4, 5, 6))
    eng.message_received("b", wants(7))
    net.run(until=0.01)
    assert eng.busy_engine_workers == 1
    net.run()
    assert times(host.sent) == expected


def test_parallel_reads_queue_beyond_128_blockstore_workers():
    """blockstoreWorkerCount = 128 (decision/engine.go@v0.1.11): 200 reads take two rounds."""
    net, host, eng = setup({c: KIB for c in range(200)}, get_latency_s=0.025)
    eng.message_received("a", wants(*range(200)))
    net.run()
    assert times(host.sent) == [(0.05, "a", tuple(range(200)))]


def test_ledger_forgets_sent_wants_at_send_start():
    """MessageSent (decision/engine.go@v0.1.11) runs in the send worker before sendBlocks
    (workers.go): wants of the sent blocks leave the ledger and their bytes are counted;
    received blocks are counted; cancels and full wantlists edit the ledger."""
    net, host, eng = setup({1: B300, 2: B300}, upload_Bps=B300)
    eng.message_received("a", wants(1, 2, 9))
    net.run(until=0.05)
    led = eng.ledgers["a"]
    assert host.done == [] and 1 not in led.wantlist and led.bytes_sent == B300
    assert list(led.wantlist) == [2, 9]
    received = Message()
    received.add_block(50, 1234)
    eng.message_received("a", received)
    eng.message_received("a", cancels(9))
    assert led.bytes_received == 1234 and list(led.wantlist) == [2]
    net.run()
    assert led.wantlist == {} and led.bytes_sent == 2 * B300 and led.exchange_count == 3
    full = wants(7)
    full.full = True
    eng.message_received("a", full)
    assert led.wantlist == {7: MAX_PRIORITY}
    eng.peer_disconnected("a")
    assert "a" not in eng.ledgers


def test_empty_response_is_dropped_and_its_tasks_marked_done():
    """nextEnvelope (decision/engine.go@v0.1.11) drops a message with no block, marks its tasks
    done without holding it against the peer, and the same worker pops again."""
    net, host, eng = setup({1: 1000})
    eng.queue.push_block("a", [(99, 1)])  # its block is not in the blockstore
    eng.message_received("a", wants(1))
    net.run()
    assert times(host.sent) == [(0.0, "a", (1,))]
    assert eng.empty_responses == 1 and len(eng.queue) == 0


def test_synchronous_preparation_and_sends_run_in_a_loop_not_a_recursion():
    """Zero blockstore latency prepares without an event; a host whose on_sent runs inside
    send_response must not make the engine recurse once per response."""

    class SyncHost(Host):
        def send_response(self, dst, msg, on_sent):
            self.sent.append((self.net.now, dst, tuple(msg.blocks)))
            on_sent()

    net = Network("fifo")
    bs = Blockstore()
    bs.put_many((c, 10) for c in range(5000))
    host = SyncHost(net, "seed", bs)
    eng = MasterEngine(host, MasterConfig())
    for c in range(1, 5000):
        eng.queue.push_block("a", [(c, 1)])
    eng.message_received("a", wants(0))  # one signal: the workers drain everything
    assert len(host.sent) == 5000 and len(eng.queue) == 0
    assert eng.worker_counts()["waiting"] == 8


def _run_random_workload(seed: int) -> tuple[list, dict, int]:
    rng = np.random.default_rng(seed)
    sizes = {c: int(rng.choice([1000, 100 * KIB, LEAF])) for c in range(40)}
    net, host, eng = setup(sizes, upload_Bps=2_000_000, get_latency_s=0.005, peers=("a", "b", "c"))
    for _ in range(30):
        t = float(rng.uniform(0, 2))
        peer = ("a", "b", "c")[int(rng.integers(3))]
        cids = [int(c) for c in rng.choice(60, size=int(rng.integers(1, 8)), replace=False)]
        msg = cancels(*cids) if rng.random() < 0.25 else wants(*cids)
        at(net, t, eng.message_received, peer, msg)
    at(net, 1.0, eng.add_blocks, list(range(40, 50)))
    net.run()
    ledgers = {p: (dict(led.wantlist), led.bytes_sent) for p, led in eng.ledgers.items()}
    return host.sent, ledgers, eng.thaw_rounds


def test_determinism():
    """Same workload twice: identical responses, times, ledgers and thaw rounds (no Go map
    order or randomness leaks into the model)."""
    first = _run_random_workload(7)
    assert first == _run_random_workload(7)
    assert len(first[0]) > 5
