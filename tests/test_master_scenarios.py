"""master end to end on tiny scenarios whose right answer is worked out by hand.

Every link has a one-way latency of 10 ms and (unless said) unlimited bandwidth, so a want
reaches its peer 10 ms after it is sent and a block comes back 10 ms after that.
"""

from __future__ import annotations

import pytest

from models.dag import CidAllocator, benchmark_blocks, chunked_file
from models.messages import Message, wire_size
from models.swarm import Swarm
from sim import Network

from _scenarios import L, cancels, drain, mesh, messages, swarm


def test_root_broadcast_as_want_block_every_holder_answers():
    """session.go@v0.1.8: with no session peers the first wants are broadcast as want-block to
    every connected peer, so each of the 3 holders sends the block: 2 duplicates."""
    net, sw = swarm(["s1", "s2", "s3", "leech"], mesh(["s1", "s2", "s3", "leech"]))
    obj = benchmark_blocks(1, cid_alloc=CidAllocator())
    for s in ("s1", "s2", "s3"):
        sw.seed(s, obj)
    sw.fetch("leech", obj, "dag-walk")
    assert sw.run()
    drain(net)
    leech = sw.peer("leech")
    assert leech.fetches[0].time_to_fetch_s == pytest.approx(2 * L)
    assert (leech.stats.blocks_received, leech.stats.dup_blocks_received) == (3, 2)
    assert messages(net, "want-block") == [("leech", s, 0.0, L) for s in ("s1", "s2", "s3")]
    assert messages(net, "block") == [(s, "leech", L, 2 * L) for s in ("s1", "s2", "s3")]
    # CANCEL through every queue that had sent the want: all three, right after the first block
    assert cancels(net) == [(s, 2 * L, obj.root) for s in ("s1", "s2", "s3")]


def overlap1():
    """a holds [root, x], b holds [y] only; the leech fetches root, x, y one at a time."""
    net, sw = swarm(["a", "b", "leech"], mesh(["a", "b", "leech"]))
    obj = benchmark_blocks(3, cid_alloc=CidAllocator())
    root, x, y = obj.blocks
    sw.peer("a").seed(obj, [root, x])
    sw.peer("b").seed(obj, [y])
    sw.fetch("leech", obj, "one-at-a-time")
    assert sw.run()
    drain(net)
    return net, sw, (root, x, y)


def test_want_to_a_peer_without_the_block_waits_for_the_idle_tick():
    """The Overlap1 case: only a answered the root, so the session's only peer is a and y is
    asked of a alone (want-block, no DONT_HAVE in master). Nothing comes back; the idle tick
    (500 ms + 3 x average latency 20 ms = 560 ms after x arrived at 40 ms) re-broadcasts y at
    600 ms to the peers not yet asked: b, which answers at 620 ms."""
    net, sw, (_root, _x, _y) = overlap1()
    leech = sw.peer("leech")
    assert leech.fetches[0].time_to_fetch_s == pytest.approx(0.62)
    wants = [(m.src, m.dst, round(m.t_sent, 9)) for m in net.trace_frame().itertuples()
             if m.kind == "want-block"]  # fmt: skip
    assert wants == [
        ("leech", "a", 0.0),  # root, broadcast
        ("leech", "b", 0.0),
        ("leech", "a", 0.02),  # x, targeted at the session's only peer
        ("leech", "a", 0.04),  # y, targeted at a, which lacks it
        ("leech", "b", 0.6),  # y again, idle-tick broadcast, only to b
    ]
    assert leech.stats.dup_blocks_received == 0
    # b still records the leech's wants in its ledger, and answered from it
    assert sw.peer("b").stats.blocks_sent == 1


def test_cancel_goes_to_exactly_the_peers_that_were_asked():
    """messagequeue.go@v0.1.8: a cancel leaves a queue only if that peer was sent the want."""
    net, _, (root, x, y) = overlap1()
    assert cancels(net) == [
        ("a", 0.02, root),  # root: both were asked (broadcast)
        ("b", 0.02, root),
        ("a", 0.04, x),  # x: only a was asked
        ("a", 0.62, y),  # y: a (targeted) and b (idle tick) were asked
        ("b", 0.62, y),
    ]


def test_leeches_reseed_each_other():
    """decision/engine.go@v0.1.8 AddBlocks: a's ledger holds b's want for the root (it reached a
    at 10 ms, before a had the block); when the root reaches a at 20 ms, a's engine sends it on
    to b, which has it at 30 ms instead of 200 ms from the far seed."""
    links = [("seed", "a", L), ("seed", "b", 0.1), ("a", "b", L)]
    net, sw = swarm(["seed", "a", "b"], links)
    obj = benchmark_blocks(1, cid_alloc=CidAllocator())
    sw.seed("seed", obj)
    sw.fetch("a", obj)
    sw.fetch("b", obj)
    assert sw.run()
    drain(net)
    a, b = sw.peer("a"), sw.peer("b")
    assert a.fetches[0].time_to_fetch_s == pytest.approx(0.02)
    assert b.fetches[0].time_to_fetch_s == pytest.approx(0.03)
    assert b.stats.blocks_from == {"a": 1, "seed": 1}  # the seed's copy lands at 200 ms
    assert b.stats.dup_blocks_received == 1
    # The reverse happens too: a's broadcast want reached b at 10 ms; a's block reaches b at
    # 30 ms just before a's cancel (a sent the block before its queue flushed the cancel), so
    # b's engine serves a's want: a duplicate for a at 40 ms.
    assert messages(net, "block", src="b") == [("b", "a", 0.03, 0.04)]
    assert a.stats.dup_blocks_received == 1


def test_engine_groups_at_most_512_kib_per_response():
    """decision/engine.go@v0.1.8: wants of one message become task blocks of <= 512 KiB of
    blocks, one response each. Four 200 KiB blocks asked in one message: two responses."""
    net, sw = swarm(["seed", "leech"], mesh(["seed", "leech"]))
    kib200 = 200 * 1024
    obj = benchmark_blocks(4, cid_alloc=CidAllocator(), block_size=kib200, root_size=kib200)
    sw.seed("seed", obj)
    sw.fetch("leech", obj, "big-batch")
    assert sw.run()
    assert len(messages(net, "want-block")) == 1  # 4 wants (the broadcast limit), one message
    responses = [m for m in net.trace_frame().itertuples() if m.kind == "block"]
    assert len(responses) == 2
    assert all(m.size_bytes > 2 * kib200 for m in responses)


def test_unixfs_leaves_go_one_per_response():
    """Two 256 KiB unixfs leaves (262,158 B each) exceed 512 KiB by 28 B, so master's engine
    sends every leaf in a response of its own."""
    net, sw = swarm(["seed", "leech"], mesh(["seed", "leech"]))
    obj = chunked_file(4 * 262_144, cid_alloc=CidAllocator())
    sw.seed("seed", obj)
    sw.fetch("leech", obj)
    assert sw.run()
    assert len(messages(net, "block")) == 5  # root + 4 leaves
    assert sw.peer("leech").stats.dup_blocks_received == 0


def test_timing_follows_latency_and_bandwidth():
    """One 8,000 B block from a seed uploading 100,000 B/s: want 10 ms + serialisation of the
    response on the wire (its protobuf size) + 10 ms."""
    bw = {"seed": (100_000.0, float("inf"))}
    _net, sw = swarm(["seed", "leech"], mesh(["seed", "leech"]), bandwidth=bw, cid_version=0)
    obj = benchmark_blocks(1, cid_alloc=CidAllocator(), root_size=8000)
    sw.seed("seed", obj)
    sw.fetch("leech", obj)
    assert sw.run()
    response = Message()
    response.add_block(obj.root, 8000)
    size = wire_size(response, 0, "master")
    assert size == 8000 + 12 + 2 + 2  # data + block framing + empty wantlist + length prefix
    expected = L + size / 100_000 + L
    assert sw.peer("leech").fetches[0].time_to_fetch_s == pytest.approx(expected)


def demo_run(seed):
    net = Network("fifo", seed=seed, trace=True)
    names = ["seed", "l1", "l2", "l3", "l4"]
    for n in names:
        net.add_node(n, upload_Bps=12.5e6, download_Bps=12.5e6)
    for a, b, lat in mesh(names):
        net.connect(a, b, latency_s=lat)
    sw = Swarm(net)
    obj = chunked_file(4 * 2**20, cid_alloc=CidAllocator())
    sw.seed("seed", obj)
    for n in names[1:]:
        sw.fetch(n, obj)
    assert sw.run()
    return sw.peer_frame(), net.trace_frame()


def test_same_seed_same_result():
    (p1, t1), (p2, t2) = demo_run(3), demo_run(3)
    assert p1.equals(p2)
    assert t1.equals(t2)
    assert p1.loc[p1.role == "leech", "completed"].all()


def test_idle_ticks_back_off_and_the_wantlist_is_resent_every_30s():
    """Nobody has the block. session.go@v0.1.8: ticks at 1 s, then (1 s while no latency is
    known) x (1 + consecutive ticks): 1, 2, 4, 7, 11, 16, 22, 29 s; a provider search only on
    the first tick of the run. messagequeue.go@v0.1.8: the per-peer wantlist goes out again
    every 30 s."""
    net, sw = swarm(["a", "leech"], mesh(["a", "leech"]))
    obj = benchmark_blocks(1, cid_alloc=CidAllocator())
    queries = []
    leech = sw.peer("leech")
    real = leech.client.providers.find_providers
    leech.client.providers.find_providers = lambda cid, cb: (queries.append(net.now), real(cid, cb))
    sw.fetch("leech", obj)
    session = leech.fetches[0].session
    assert not sw.run(max_sim_time_s=31.0)
    assert session.idle_ticks == 8
    assert queries == [1.0]
    wants = [(t, dst) for t, src, dst, m in net.log if src == "leech" and m.entries]
    assert wants == [(L, "a"), (30.0 + L, "a")]


def test_newly_connected_peer_gets_the_broadcast_wantlist():
    """wantmanager.go@v0.1.8 / peermanager.go: a new connection's queue starts with the
    broadcast wantlist, so a holder that connects later is asked at once."""
    net, sw = swarm(["a", "late", "leech"], [("a", "leech", L)])
    obj = benchmark_blocks(1, cid_alloc=CidAllocator())
    sw.seed("late", obj)
    sw.fetch("leech", obj)
    net.call_at(0.5, lambda ev: sw.connect("leech", "late", latency_s=L), None)
    assert sw.run()
    assert sw.peer("leech").fetches[0].time_to_fetch_s == pytest.approx(0.5 + 2 * L)


def test_provider_search_on_the_first_idle_tick_finds_a_peer_to_ask():
    """The DHT model reports the holder after its lookup delay; it joins the session, and the
    next wants are targeted at it."""
    from models.routing import DhtRouting

    net, sw = swarm(["a", "b", "leech"], mesh(["a", "b", "leech"]))
    obj = benchmark_blocks(3, cid_alloc=CidAllocator())
    root, x, y = obj.blocks
    sw.peer("a").seed(obj, [root])
    sw.peer("b").seed(obj, [x, y])
    lookups = []

    def holders(cid):
        lookups.append((round(net.now, 9), cid))
        return sw.holders(cid)

    routing = DhtRouting(holders=holders, lookup_delay_s=0.25)
    for p in sw.peers.values():
        p.client.providers._routing = routing
    sw.fetch("leech", obj, "one-at-a-time")
    assert sw.run()
    # root from a at 20 ms; x is asked of a alone (the session's only peer), which lacks it; the
    # idle tick 560 ms later (0.58 s) broadcasts x and searches providers for it (the only live
    # want); b answers the broadcast and is also reported by the DHT at 0.83 s
    assert lookups == [(0.58, x)]
    session_peers = sw.peer("leech").fetches[0].session.peers.active
    assert set(session_peers) == {"a", "b"}
