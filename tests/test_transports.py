"""Transports: exact delivery times worked out by hand, as event logs (SimPy's test style).

Numbers are chosen so every time is exact in binary floating point (sizes and rates whose
quotients are halves and quarters), so the logs compare with ``==``.
"""

from __future__ import annotations

import math

import pytest

from sim import FairTransport, FifoTransport, GoTestnetTransport, Network

INF = math.inf


def make_net(transport, nodes, links, **kw):
    """``nodes``: name -> (upload_Bps, download_Bps); ``links``: (a, b, one-way latency)."""
    net = Network(transport, **kw)
    log = []
    for name, (up, down) in nodes.items():
        net.add_node(name, upload_Bps=up, download_Bps=down)
        net.on_receive(name, lambda src, msg, me=name: log.append((msg, src, me, net.now)))
    for a, b, lat in links:
        net.connect(a, b, latency_s=lat)
    return net, log


def send_at(net, t, src, dst, msg, size, kind="block"):
    net.call_at(t, lambda ev: net.send(src, dst, msg, size, kind), None)


# --------------------------------------------------------------------------- fifo


def test_fifo_one_message_pays_latency_plus_slower_end():
    # S = 1000 B, U = 1000 B/s (1 s), L = 0.5 s, D = 500 B/s (2 s): pipelined, the slower end
    # dominates: 0.5 + max(1, 2) = 2.5 s.
    net, log = make_net("fifo", {"a": (1000, INF), "b": (INF, 500)}, [("a", "b", 0.5)])
    net.send("a", "b", "m", 1000, "block")
    net.run()
    assert log == [("m", "a", "b", 2.5)]


def test_fifo_back_to_back_messages_serialise_on_the_uplink():
    # Three 1000 B messages at t=0, U = 1000 B/s, L = 0.5: last bytes leave at 1, 2, 3 s.
    net, log = make_net("fifo", {"a": (1000, 1000), "b": (1000, 1000)}, [("a", "b", 0.5)])
    for i in range(3):
        net.send("a", "b", i, 1000, "block")
    net.run()
    assert log == [(0, "a", "b", 1.5), (1, "a", "b", 2.5), (2, "a", "b", 3.5)]


def test_fifo_two_senders_contend_for_one_downlink():
    # a, b upload 2000 B/s; c downloads 1000 B/s; L = 0.25; 1000 B each at t=0.
    # a: uplink 0..0.5, first byte at c 0.25, downlink 0.25..1.25 -> 1.25
    # b: same uplink times, waits for c's downlink: 1.25..2.25 -> 2.25
    net, log = make_net(
        "fifo",
        {"a": (2000, INF), "b": (2000, INF), "c": (INF, 1000)},
        [("a", "c", 0.25), ("b", "c", 0.25)],
    )
    net.send("a", "c", "x", 1000, "block")
    net.send("b", "c", "y", 1000, "block")
    net.run()
    assert log == [("x", "a", "c", 1.25), ("y", "b", "c", 2.25)]


def test_fifo_priority_lane_lets_control_messages_overtake_blocks():
    # At t=0 a (U = 1000 B/s, L = 0) sends a 2000 B block, a 100 B want, then a 1000 B block.
    # Without the lane: 2, 2.1, 3.1 s. With it the want leaves at once (0.1 s), the block on
    # the wire keeps its time (2 s) and the next block is pushed back by the want's 0.1 s
    # (3.1 s): the link carries the same bytes by the same time, no capacity is created.
    def run(priority):
        net, log = make_net(
            FifoTransport(priority_kinds=["want"] if priority else ()),
            {"a": (1000, INF), "b": (INF, INF)},
            [("a", "b", 0.0)],
        )
        net.send("a", "b", "block1", 2000, "block")
        net.send("a", "b", "want", 100, "want")
        net.send("a", "b", "block2", 1000, "block")
        net.run()
        return [(m, t) for m, _, _, t in log]

    assert run(False) == [("block1", 2.0), ("want", 2.1), ("block2", 3.1)]
    assert run(True) == [("want", 0.1), ("block1", 2.0), ("block2", 3.1)]


def test_fifo_unlimited_bandwidth_is_pure_latency():
    net, log = make_net("fifo", {"a": (INF, INF), "b": (INF, INF)}, [("a", "b", 0.125)])
    for i in range(3):
        net.send("a", "b", i, 10**9, "block")
    net.run()
    assert [t for *_, t in log] == [0.125, 0.125, 0.125]


# --------------------------------------------------------------------------- fair


def test_fair_max_min_shares_between_two_bottlenecks():
    # f1: a->c, f2: b->c, f3: b->d. c's downlink 600 B/s is the tighter bottleneck: f1 and f2
    # get 300 B/s each; f3 takes what is left of b's 1000 B/s uplink: 700 B/s.
    # 600 B each: f3 done at 6/7 s; f1 and f2 at 2 s (f2 stays capped by c's downlink).
    net, log = make_net(
        "fair",
        {"a": (INF, INF), "b": (1000, INF), "c": (INF, 600), "d": (INF, INF)},
        [("a", "c", 0.0), ("b", "c", 0.0), ("b", "d", 0.0)],
    )
    net.send("a", "c", "f1", 600, "block")
    net.send("b", "c", "f2", 600, "block")
    net.send("b", "d", "f3", 600, "block")
    net.run()
    times = {m: t for m, _, _, t in log}
    assert times["f3"] == pytest.approx(6 / 7, rel=1e-12)
    assert times["f1"] == pytest.approx(2.0, rel=1e-12)
    assert times["f2"] == pytest.approx(2.0, rel=1e-12)


def test_fair_rates_grow_when_a_flow_leaves():
    # a (U = 1000 B/s) sends 1000 B to b and 3000 B to c at t=0, L = 0.5.
    # Shared at 500 B/s until 2 s (b's done), then c's remaining 2000 B at 1000 B/s: 4 s.
    net, log = make_net(
        "fair",
        {"a": (1000, INF), "b": (INF, INF), "c": (INF, INF)},
        [("a", "b", 0.5), ("a", "c", 0.5)],
    )
    net.send("a", "b", "b1", 1000, "block")
    net.send("a", "c", "c1", 3000, "block")
    net.run()
    assert log == [("b1", "a", "b", 2.5), ("c1", "a", "c", 4.5)]


def test_fair_long_run_terminates_and_respects_bounds():
    """Round-off guard: thousands of overlapping flows of awkward sizes all complete, none
    earlier than its lone-transfer time, and the transport's work stays bounded."""
    import numpy as np

    rng = np.random.default_rng(7)
    names = [f"n{i}" for i in range(8)]
    ups = rng.uniform(1e6, 1e7, len(names))
    downs = rng.uniform(1e6, 1e7, len(names))
    net = Network("fair", trace=True)
    for n, u, d in zip(names, ups, downs, strict=True):
        net.add_node(n, upload_Bps=float(u), download_Bps=float(d))
    lat = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            lat[a, b] = lat[b, a] = float(rng.uniform(0, 0.05))
            net.connect(a, b, latency_s=lat[a, b])
    n_msgs = 4000
    t = np.cumsum(rng.exponential(0.01, n_msgs))
    pairs = rng.integers(0, len(names), (n_msgs, 2))
    sizes = rng.integers(1, 200_000, n_msgs)
    for ti, (i, j), s in zip(t, pairs, sizes, strict=True):
        if i == j:
            j = (i + 1) % len(names)
        send_at(net, float(ti), names[i], names[j], None, int(s))
    net.run()
    tr = net.trace_frame()
    assert len(tr) == n_msgs == net.messages_delivered
    assert tr["size_bytes"].sum() == sizes.sum()
    up = dict(zip(names, ups, strict=True))
    down = dict(zip(names, downs, strict=True))
    lone = [r.size_bytes / min(up[r.src], down[r.dst]) + lat[r.src, r.dst] for r in tr.itertuples()]
    assert ((tr["t_delivered"] - tr["t_sent"]) >= np.array(lone) * (1 - 1e-9)).all()
    assert net.transport.active_flows == 0
    assert net.transport.recomputations <= 2 * n_msgs


# --------------------------------------------------------------------------- go-testnet


def test_go_testnet_token_bucket():
    # Pair rate 1000 B/s, L = 0.125. Credit starts at 0: 500 B at t=0 waits 0.5 s -> 0.625;
    # another 500 B at t=0: deficit 1000 B -> 1 s -> 1.125. At t=3 the credit has refilled to
    # its cap of 1000 B (one second of rate): 500 B goes at once -> 3.125.
    net, log = make_net(
        GoTestnetTransport(rate_Bps=1000), {"a": (INF, INF), "b": (INF, INF)}, [("a", "b", 0.125)]
    )
    net.send("a", "b", 1, 500, "block")
    net.send("a", "b", 2, 500, "block")
    send_at(net, 3.0, "a", "b", 3, 500)
    send_at(net, 3.0, "a", "b", 4, 1000)
    net.run()
    # message 4: credit 1000 - 500 - 1000 = -500 -> waits 0.5 s
    assert log == [(1, "a", "b", 0.625), (2, "a", "b", 1.125), (3, "a", "b", 3.125),
                   (4, "a", "b", 3.625)]  # fmt: skip


def test_go_testnet_receiver_commits_to_its_head():
    # a's message is due at 0.09 (< 100 ms away), so b's receiver sleeps until then. b's
    # message, sent at 0.01 with latency 0.02, is due at 0.03 but waits behind it.
    net, log = make_net(
        "go-testnet",
        {"a": (INF, INF), "b": (INF, INF), "c": (INF, INF)},
        [("a", "c", 0.09), ("b", "c", 0.02)],
    )
    net.send("a", "c", "far", 10, "want")
    send_at(net, 0.01, "b", "c", "near", 10, "want")
    net.run()
    assert log == [("far", "a", "c", 0.09), ("near", "b", "c", 0.09)]


def test_go_testnet_receiver_polls_every_100ms():
    # a's message is due at 0.25: the receiver polls at 0, 0.1, 0.2 and commits at 0.2.
    # b's message arrives (due 0.0625) while the receiver sleeps until its 0.1 poll.
    net, log = make_net(
        "go-testnet",
        {"a": (INF, INF), "b": (INF, INF), "c": (INF, INF)},
        [("a", "c", 0.25), ("b", "c", 0.0125)],
    )
    net.send("a", "c", "slow", 10, "want")
    send_at(net, 0.05, "b", "c", "quick", 10, "want")
    net.run()
    assert [(m, t) for m, _, _, t in log] == [
        ("quick", pytest.approx(0.1)),
        ("slow", pytest.approx(0.25)),
    ]


def test_go_testnet_rate_draws_are_seeded():
    def run(seed):
        net = Network(GoTestnetTransport(rate_Bps=1e5, rate_sigma_Bps=2e4), seed=seed, trace=True)
        for n in "abc":
            net.add_node(n)
        for a, b in ("ab", "ac", "bc"):
            net.connect(a, b, latency_s=0.01)
        for i in range(30):
            net.send("abc"[i % 3], "abc"[(i + 1) % 3], i, 8000, "block")
        net.run()
        return net.trace_frame()

    assert run(1).equals(run(1))
    assert not run(1)["t_delivered"].equals(run(2)["t_delivered"])


# --------------------------------------------------------------------------- cross-model


@pytest.mark.parametrize("transport", ["fifo", "fair", "go-testnet"])
def test_single_transfer_takes_the_same_time_in_every_transport(transport):
    # S = 4096 B, U = 2048 B/s, D = 1024 B/s, L = 0.25: 0.25 + 4096 / 1024 = 4.25 s.
    net, log = make_net(transport, {"a": (2048, INF), "b": (INF, 1024)}, [("a", "b", 0.25)])
    net.send("a", "b", "m", 4096, "block")
    net.run()
    assert log == [("m", "a", "b", 4.25)]


def test_equal_transfers_fair_finish_together_fifo_one_after_another():
    # a (U = 1000 B/s) sends 500 B to each of 4 receivers at t=0, L = 0.25.
    # fair: each at 250 B/s, all done at 4 * 500 / 1000 = 2 s (+ L).
    # fifo: one after another at 0.5, 1, 1.5, 2 s (+ L). Same last finish.
    def run(transport):
        nodes = {"a": (1000, INF)} | {f"r{i}": (INF, INF) for i in range(4)}
        net, log = make_net(transport, nodes, [("a", f"r{i}", 0.25) for i in range(4)])
        for i in range(4):
            net.send("a", f"r{i}", i, 500, "block")
        net.run()
        return [t for *_, t in log]

    assert run("fair") == [2.25] * 4
    assert run("fifo") == [0.75, 1.25, 1.75, 2.25]
    # go-testnet has a token bucket per directed pair, not per node: each pair runs at
    # min(U, D) = 1000 B/s on its own, so the sender's uplink is overcommitted four times.
    assert run("go-testnet") == [0.75] * 4


def test_equal_transfers_into_one_downlink():
    # 4 senders (unlimited uplinks) send 500 B each to r (D = 1000 B/s) at t=0, L = 0.25.
    def run(transport):
        nodes = {f"s{i}": (INF, INF) for i in range(4)} | {"r": (INF, 1000)}
        net, log = make_net(transport, nodes, [(f"s{i}", "r", 0.25) for i in range(4)])
        for i in range(4):
            net.send(f"s{i}", "r", i, 500, "block")
        net.run()
        return [t for *_, t in log]

    assert run("fair") == [2.25] * 4
    assert run("fifo") == [0.75, 1.25, 1.75, 2.25]


# --------------------------------------------------------------------------- events


def count_events(net):
    n = 0
    env = net.env
    while env.peek() != math.inf:
        env.step()
        n += 1
    return n


@pytest.mark.parametrize(
    ("transport", "up", "down", "expected"),
    [
        ("fifo", 1e9, INF, 100),  # one timer per message
        ("fifo", 1e9, 1e9, 100),  # receiver keeps up: still one
        ("fair", INF, INF, 100),  # unlimited: the latency timer only
        ("go-testnet", 1e9, INF, 100),  # receiver loop: one sleep per message
    ],
)
def test_event_count_of_a_fixed_workload(transport, up, down, expected):
    """Pins the SimPy events a fixed workload schedules, so an accidental process per message
    (several events each) fails here instead of showing up as a slow benchmark."""
    net = Network(transport)
    net.add_node("a", upload_Bps=up)
    net.add_node("b", download_Bps=down)
    net.connect("a", "b", latency_s=0.01)
    for i in range(100):
        net.send("a", "b", i, 1000, "want")
    assert count_events(net) == expected
    assert net.messages_delivered == 100


def test_event_count_fair_with_bandwidth():
    # 100 back-to-back transfers on one uplink under fair: one completion timer and one
    # latency timer per transfer, plus one stale completion timer per start (SimPy cannot
    # cancel): at most 3 events per message.
    net = Network("fair")
    net.add_node("a", upload_Bps=1e6)
    net.add_node("b")
    net.connect("a", "b", latency_s=0.01)
    for i in range(100):
        net.send("a", "b", i, 1000, "block")
    assert count_events(net) <= 300
    assert net.messages_delivered == 100


def test_fair_transport_instances_are_not_shared():
    t = FairTransport()
    Network(t)
    with pytest.raises(ValueError, match="already serves another Network"):
        Network(t)


# --------------------------------------------------------------------------- on_sent


@pytest.mark.parametrize(
    ("transport", "expected"),
    [
        # uplink 1000 B/s: the 2000 B message leaves a at 2 s, then the 1000 B one at 3 s
        ("fifo", [("sent", 1, 2.0), ("sent", 2, 3.0)]),
        # shared 500 B/s each until 2 s (message 2 done), then message 1 alone until 3 s
        ("fair", [("sent", 2, 2.0), ("sent", 1, 3.0)]),
        # go's SendMessage returns at once
        ("go-testnet", [("sent", 1, 0.0), ("sent", 2, 0.0)]),
    ],
)
def test_on_sent_fires_when_the_sender_is_done(transport, expected):
    net, _ = make_net(transport, {"a": (1000, INF), "b": (INF, INF)}, [("a", "b", 0.5)])
    log = []
    net.send("a", "b", 1, 2000, "block", on_sent=lambda: log.append(("sent", 1, net.now)))
    net.send("a", "b", 2, 1000, "block", on_sent=lambda: log.append(("sent", 2, net.now)))
    net.run()
    assert log == expected
