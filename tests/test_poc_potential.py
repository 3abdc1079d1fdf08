"""The autumn-2019 "want potential" variant (strategy poc-potential)."""

from __future__ import annotations

import pytest

from models.poc.potential import PotentialThresholdManager

from _scenarios import dag_with_children, drain, items, mesh, swarm


def ptm():
    """potentialthresholdmanager.go @164b203 with the branch's constants: [0.5, 0.8], tolerance
    0.05, last 256 outcomes, at least 8."""
    return PotentialThresholdManager(0.5, 0.8, 0.05, 256, 8)


@pytest.mark.parametrize(
    ("hits", "misses", "threshold"),
    [
        (0, 0, 0.8),  # starts at the maximum
        (4, 3, 0.8),  # fewer than 8 outcomes: unchanged
        (8, 0, 0.5),  # 8 / 8 x 0.475 = 0.475 -> clamped to 0.5
        (6, 2, 8 / 6 * 0.475),  # 0.633
        (4, 4, 0.8),  # 8 / 4 x 0.475 = 0.95 -> clamped to 0.8
        (0, 8, 0.8),  # no hit: the maximum
    ],
)
def test_threshold_from_recent_hits_and_misses(hits, misses, threshold):
    m = ptm()
    m.received(hits, misses)
    assert m.threshold == pytest.approx(threshold)


def test_threshold_window_keeps_the_last_256_outcomes():
    m = ptm()
    m.received(0, 256)
    m.received(256, 0)  # the misses are pushed out
    assert m.threshold == 0.5


def test_two_optimistic_want_blocks_for_unknown_peers_one_for_a_have():
    """At the starting threshold 0.8: the root, for which both seeds said HAVE (0.8 each), gets
    one want-block; the child, unknown at both (0.5 + 0.5), gets two, hence one duplicate."""
    net, sw = swarm(["a", "b", "leech"], mesh(["a", "b", "leech"]), strategy="poc-potential")
    obj = dag_with_children(1)
    root, x = obj.cids_in_order
    sw.seed("a", obj)
    sw.seed("b", obj)
    sw.fetch("leech", obj)
    assert sw.run()
    drain(net)
    want_blocks = [(cid, dst) for _, _, dst, k, cid in items(net, {"want-block"})]
    assert [c for c, _ in want_blocks].count(root) == 1
    assert sorted(d for c, d in want_blocks if c == x) == ["a", "b"]
    leech = sw.peer("leech")
    assert (leech.stats.blocks_received, leech.stats.dup_blocks_received) == (3, 1)


def test_no_dont_have_timeouts_in_the_variant():
    """A silent (master) peer is never timed out: the want waits for the idle tick."""
    _net, sw = swarm(["m", "leech"], mesh(["m", "leech"]), strategy="poc-potential",
                    strategies={"m": "master"})  # fmt: skip
    obj = dag_with_children(1)
    sw.peer("m").seed(obj, [obj.root])
    sw.fetch("leech", obj)
    assert not sw.run(max_sim_time_s=3.0)
    assert sw.peer("leech").client.dont_have_timeouts == 0


def test_the_variant_debounces_without_a_cap():
    """``messagequeue/messagequeue.go`` @164b203 runs every send through the hand-written
    ``Debounce`` of ``messagequeue/debounce.go``: each enqueue restarts the 1 ms timer (no
    cutoff, no max delay: those came with PR #255). A want every 0.5 ms for 30 ms leaves in one
    message 1 ms after the last one (test_poc_eras has the same trickle under v0.2.0's capped
    debounce, which sends at 20 ms)."""
    from models.poc.messagequeue import MessageQueue
    from models.poc.potential import PotentialConfig
    from sim.network import Network

    net = Network("fifo")
    net.add_node("a")
    net.add_node("b")
    net.connect("a", "b", latency_s=0.0)
    times = []
    q = MessageQueue(net, "b", PotentialConfig(), lambda dst, m: times.append(round(net.now, 9)),
                     True, 1.0, lambda p, c: None, 1)  # fmt: skip
    for i in range(61):
        net.call_at(i * 0.0005, lambda e: q.add_wants([e.value], []), i)
    net.run(until=1.0)
    assert PotentialConfig().debounce == "trailing"
    assert times == [0.031]
