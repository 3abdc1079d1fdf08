"""poc (go-bitswap v0.2.0) end to end on tiny scenarios worked out by hand.

Links have a one-way latency of 10 ms and unlimited bandwidth; poc's message queue sends 1 ms
after the last enqueue (``sendMessageDebounce``), so a want queued at t leaves at t + 1 ms and
reaches its peer at t + 11 ms; responses are not debounced.
"""

from __future__ import annotations

import dataclasses

import pytest

from models.dag import CidAllocator, benchmark_blocks, chunked_file
from models.peer import STRATEGIES
from models.poc.client import PocClient
from models.poc.config import PocConfig
from models.swarm import Swarm
from sim import Network

from _scenarios import L, dag_with_children, drain, items, mesh, swarm

D = 0.001  # debounce


def one_block(size):
    return benchmark_blocks(1, cid_alloc=CidAllocator(), root_size=size)


def test_discovery_by_want_have_then_want_block_to_the_peer_that_said_have():
    """session.go@v0.2.0: with no session peer yet, the want is broadcast as want-have without
    sendDontHave; an 8,000 B block (> 1,024 B) is answered with HAVE; the first HAVE makes its
    sender a session peer and the want sender sends it the want-block."""
    net, sw = swarm(["s1", "s2", "leech"], mesh(["s1", "s2", "leech"]), strategy="poc")
    obj = one_block(8000)
    sw.seed("s1", obj)
    sw.seed("s2", obj)
    sw.fetch("leech", obj)
    assert sw.run()
    drain(net)
    c = obj.root
    t1 = round(D + L, 9)  # broadcast arrives
    t2 = round(t1 + L, 9)  # HAVEs arrive
    t3 = round(t2 + D + L, 9)  # want-block arrives
    assert items(net, {"want-have", "have", "want-block", "block"}) == [
        (t1, "leech", "s1", "want-have", c),
        (t1, "leech", "s2", "want-have", c),
        (t2, "s1", "leech", "have", c),
        (t2, "s2", "leech", "have", c),
        (t3, "leech", "s1", "want-block", c),
        (round(t3 + L, 9), "s1", "leech", "block", c),
    ]
    broadcast = next(m for _, src, _, m in net.log if src == "leech")
    assert not broadcast.entries[c].send_dont_have
    assert sw.peer("leech").fetches[0].time_to_fetch_s == pytest.approx(t3 + L)
    # CANCEL to both: each was sent a want for it
    assert [(dst, cid) for _, _, dst, k, cid in items(net, {"cancel"})] == [("s1", c), ("s2", c)]


def test_an_800_byte_root_is_answered_with_the_block_itself():
    """internal/decision/engine.go@v0.2.0: a want-have for a block of at most 1,024 B
    (maxBlockSizeReplaceHasWithBlock) is answered with the block: both seeds send it."""
    net, sw = swarm(["s1", "s2", "leech"], mesh(["s1", "s2", "leech"]), strategy="poc")
    obj = one_block(800)
    sw.seed("s1", obj)
    sw.seed("s2", obj)
    sw.fetch("leech", obj)
    assert sw.run()
    leech = sw.peer("leech")
    assert leech.fetches[0].time_to_fetch_s == pytest.approx(D + 2 * L)
    assert (leech.stats.blocks_received, leech.stats.dup_blocks_received) == (2, 1)
    assert items(net, {"have", "want-block"}) == []


def test_dont_have_then_exhausted_wants_are_broadcast():
    """sessionwantsender.go@v0.2.0: a's DONT_HAVE for x leaves no session peer that may have it,
    so x is exhausted and broadcast as want-have; b, never asked before, says HAVE and gets the
    want-block."""
    net, sw = swarm(["a", "b", "leech"], mesh(["a", "b", "leech"]), strategy="poc")
    obj = dag_with_children(1)
    root, x = obj.cids_in_order
    sw.peer("a").seed(obj, [root])
    sw.peer("b").seed(obj, [x])
    sw.fetch("leech", obj)
    assert sw.run()
    t_root = D + L + L + D + L + L  # want-have, HAVE, want-block, block
    t_dh = t_root + D + L + L  # want-block x to a, DONT_HAVE back
    t_have = t_dh + D + L + L  # broadcast want-have x to b, HAVE back
    got = [(t, src, dst, k) for t, src, dst, k, cid in items(net) if cid == x and k != "cancel"]
    assert got == [
        (pytest.approx(t_root + D + L), "leech", "a", "want-block"),
        (pytest.approx(t_dh), "a", "leech", "dont-have"),
        (pytest.approx(t_dh + D + L), "leech", "b", "want-have"),
        (pytest.approx(t_have), "b", "leech", "have"),
        (pytest.approx(t_have + D + L), "leech", "b", "want-block"),
        (pytest.approx(t_have + D + 2 * L), "b", "leech", "block"),
    ]


def test_dont_have_moves_the_want_block_to_the_next_peer():
    """Two session peers, x unknown at both: the want-block goes to one of them (drawn at random,
    weighted by first responses) and a want-have to the other; if the one picked lacks x, its
    DONT_HAVE moves the want-block to the other, which has it. Seeds are searched until the
    draw picks the peer without x, then the timing is checked."""
    for seed in range(30):
        net, sw = swarm(["a", "b", "leech"], mesh(["a", "b", "leech"]), seed=seed, strategy="poc")
        obj = dag_with_children(1)
        root, x = obj.cids_in_order
        sw.peer("a").seed(obj, [root])
        sw.peer("b").seed(obj, [root, x])
        sw.fetch("leech", obj)
        assert sw.run()
        dont_haves = [(t, src) for t, src, _, k, cid in items(net) if k == "dont-have" and cid == x]
        if dont_haves and dont_haves[0][1] == "a":
            break
    else:
        pytest.fail("no seed in 0..29 drew a for the first want-block")
    t_root = D + L + L + D + L + L
    t_dh = t_root + D + L + L
    assert dont_haves == [(pytest.approx(t_dh), "a")]
    # b already had a want-have for x (no DONT_HAVE requested from it): the move costs one
    # debounce and a round trip
    assert sw.peer("leech").fetches[0].time_to_fetch_s == pytest.approx(t_dh + D + 2 * L)


def test_silent_master_peer_gets_a_simulated_dont_have_after_the_timeout():
    """A poc leech fetching from a master seed (protocol 1.1.0): its broadcast want-have goes as
    want-block (extractOutgoingMessage@v0.2.0), the master seed sends the root and joins the
    session; asked for x, which it lacks, it stays silent (no DONT_HAVE in 1.1.0), so after
    200 ms + 2 x RTT (20 ms) = 240 ms the queue simulates a DONT_HAVE; x is exhausted and
    broadcast to the poc peer p, which has it."""
    strategies = {"m": "master"}
    net, sw = swarm(["m", "p", "leech"], mesh(["m", "p", "leech"]), strategy="poc",
                    strategies=strategies)  # fmt: skip
    obj = dag_with_children(1)
    root, x = obj.cids_in_order
    sw.peer("m").seed(obj, [root])
    sw.peer("p").seed(obj, [x])
    sw.fetch("leech", obj)
    assert sw.run()
    first = [(t, dst, k) for t, src, dst, k, cid in items(net) if cid == root and src == "leech"]
    assert first[:2] == [(D + L, "m", "want-block"), (D + L, "p", "want-have")]
    t_root = D + 2 * L  # the master seed answers the want-block at once
    sent_x = t_root + D  # want-block x leaves for m
    timeout = sent_x + 0.2 + 2 * (2 * L)
    got = [(t, src, dst, k) for t, src, dst, k, cid in items(net) if cid == x and k != "cancel"]
    assert got == [
        (pytest.approx(sent_x + L), "leech", "m", "want-block"),
        (pytest.approx(timeout + D + L), "leech", "p", "want-have"),
        (pytest.approx(timeout + D + 2 * L), "p", "leech", "have"),
        (pytest.approx(timeout + 2 * D + 3 * L), "leech", "p", "want-block"),
        (pytest.approx(timeout + 2 * D + 4 * L), "p", "leech", "block"),
    ]
    assert sw.peer("leech").client.dont_have_timeouts == 1


@pytest.mark.parametrize(
    ("source", "timeout_s"),
    [("rtt", 0.2 + 2 * (2 * L)), ("one-way", 0.2 + 2 * L), ("unknown", 5.0)],
)
def test_the_dont_have_timeout_per_latency_source(source, timeout_s):
    """The set-up above under each ``dont_have_latency_source``: 200 ms + 2 x the latency
    (``donthavetimeoutmgr.go@v0.2.0`` ``calculateTimeoutFromLatency``), the latency being the
    RTT (a libp2p ping, ``rtt``) or the one-way delay (go's virtual network, ``one-way``), or
    the 5 s ``dontHaveTimeout`` (``unknown``). With 5 s the idle tick (500 ms + 3 x the root's
    21 ms, after the root at D + 2L) broadcasts x first: p says HAVE, but x's one want-block
    stays with m until the timeout, and then goes to p."""
    config = PocConfig(dont_have_latency_source=source)
    net, sw = swarm(["m", "p", "leech"], mesh(["m", "p", "leech"]), strategy="poc",
                    strategies={"m": "master"},
                    per_peer={q: {"config": config} for q in ("p", "leech")})  # fmt: skip
    obj = dag_with_children(1)
    root, x = obj.cids_in_order
    sw.peer("m").seed(obj, [root])
    sw.peer("p").seed(obj, [x])
    sw.fetch("leech", obj)
    assert sw.run()
    t_root = D + 2 * L
    sent_x = t_root + D
    timeout = sent_x + timeout_s
    got = [(t, src, dst, k) for t, src, dst, k, cid in items(net) if cid == x and k != "cancel"]
    # x is broadcast to p at the idle tick (unknown) or on the simulated DONT_HAVE (exhausted)
    broadcast = t_root + 0.5 + 3 * t_root if source == "unknown" else timeout
    want_block_to_p = timeout + D + L if source == "unknown" else timeout + 2 * D + 3 * L
    expected = [
        (sent_x + L, "leech", "m", "want-block"),
        (broadcast + D + L, "leech", "p", "want-have"),
        (broadcast + D + 2 * L, "p", "leech", "have"),
        (want_block_to_p, "leech", "p", "want-block"),
        (want_block_to_p + L, "p", "leech", "block"),
    ]
    assert got == [(pytest.approx(t), *rest) for t, *rest in expected]
    assert sw.peer("leech").client.dont_have_timeouts == 1


@pytest.mark.parametrize(("children", "pruned"), [(16, False), (17, True)])
def test_a_peer_is_pruned_on_its_17th_consecutive_dont_have(children, pruned):
    """sessionwantsender.go@v0.2.0 peerDontHaveLimit = 16: a answered the root, then says
    DONT_HAVE to every child; with 17 children the 17th DONT_HAVE removes a from the session."""
    _, sw = swarm(["a", "b", "leech"], mesh(["a", "b", "leech"]), strategy="poc")
    obj = dag_with_children(children)
    sw.peer("a").seed(obj, [obj.root])
    sw.peer("b").seed(obj, obj.cids_in_order[1:])
    sw.fetch("leech", obj)
    session = sw.peer("leech").fetches[0]
    assert sw.run()
    sws = session.session.sws
    assert sws.pruned == (1 if pruned else 0)
    assert ("a" in sws.peers) is not pruned
    assert "b" in sws.peers


def test_master_leech_fetches_from_poc_seeds():
    """A master leech (1.1.0) and poc seeds: the poc engine serves its want-blocks."""
    net, sw = swarm(["s1", "s2", "leech"], mesh(["s1", "s2", "leech"]), strategy="poc",
                    strategies={"leech": "master"})  # fmt: skip
    obj = chunked_file(2 * 2**20, cid_alloc=CidAllocator())
    sw.seed("s1", obj)
    sw.seed("s2", obj)
    sw.fetch("leech", obj)
    assert sw.run()
    assert items(net, {"have", "dont-have", "want-have"}) == []


def demo(seed, strategy="poc"):
    net = Network("fifo", seed=seed, trace=True)
    names = ["seed", "l1", "l2", "l3", "l4"]
    for n in names:
        net.add_node(n, upload_Bps=12.5e6, download_Bps=12.5e6)
    for a, b, lat in mesh(names):
        net.connect(a, b, latency_s=lat)
    sw = Swarm(net, strategy=strategy)
    obj = chunked_file(4 * 2**20, cid_alloc=CidAllocator())
    sw.seed("seed", obj)
    for n in names[1:]:
        sw.fetch(n, obj)
    assert sw.run()
    return sw.peer_frame(), net.trace_frame()


def test_same_seed_same_result():
    (p1, t1), (p2, t2) = demo(5), demo(5)
    assert p1.equals(p2) and t1.equals(t2)


class _InterestedSessionsClient(PocClient):
    """The want manager's ``ReceiveFrom`` as go writes it: every received CID's interested
    sessions are looked up, whatever the number of sessions (the reference for the client's
    shortcut when it has a single session)."""

    def _want_manager_receive(self, sender, blocks, haves, dont_haves):
        self.bpm.receive_from(sender, haves, dont_haves)
        for sid in self.sim.interested_sessions([*blocks, *haves, *dont_haves]):
            session = self.sessions.get(sid)
            if session is not None:
                session.receive_from(sender, blocks, haves, dont_haves)
        if blocks:
            self.bcwl.remove_keys(blocks)
            self.pm.send_cancels(blocks)


@pytest.mark.parametrize("seed", [1, 2])
def test_single_session_shortcut_gives_the_same_run(monkeypatch, seed):
    """With one session the client hands every message to it (a session ignores CIDs it is not
    interested in): the same run as looking the interested sessions up."""
    fast = demo(seed)
    poc = STRATEGIES["poc"]
    monkeypatch.setitem(
        STRATEGIES, "poc", dataclasses.replace(poc, client_class=_InterestedSessionsClient)
    )
    reference = demo(seed)
    assert fast[0].equals(reference[0]) and fast[1].equals(reference[1])
