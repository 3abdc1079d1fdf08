"""Network: building, validation, metrics, trace, topology builders and determinism."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from sim import (
    FixedLatency,
    InternetLatency,
    Network,
    RegionMatrixLatency,
    RunRandom,
    build_network,
    full_mesh,
    mbit,
    region_meshes,
)

# --------------------------------------------------------------------------- bad input


def two_nodes(**kw):
    net = Network(**kw)
    net.add_node("a", upload_Bps=mbit(10))
    net.add_node("b", download_Bps="100 Mbit/s")
    net.connect("a", "b", latency_s=0.01)
    return net


def test_send_to_unknown_node_names_it_and_the_known_ones():
    net = two_nodes()
    with pytest.raises(ValueError, match=r"unknown node 'zz'; known nodes: 'a', 'b'"):
        net.send("a", "zz", None, 10, "want")


def test_send_between_unconnected_nodes():
    net = two_nodes()
    net.add_node("c")
    with pytest.raises(ValueError, match="nodes 'a' and 'c' are not connected"):
        net.send("a", "c", None, 10, "want")


def test_connect_unknown_node():
    net = two_nodes()
    with pytest.raises(ValueError, match="unknown node 'q'"):
        net.connect("a", "q", latency_s=0.1)


@pytest.mark.parametrize("bad", [0, -5, float("nan"), True, "fast"])
def test_zero_negative_or_malformed_bandwidth(bad):
    net = Network()
    with pytest.raises(ValueError, match="upload_Bps of node 'a'"):
        net.add_node("a", upload_Bps=bad)


def test_bandwidth_string_without_unit():
    net = Network()
    with pytest.raises(ValueError, match="download_Bps of node 'a'"):
        net.add_node("a", download_Bps="100")


@pytest.mark.parametrize("bad", [-0.001, float("nan"), math.inf, "5 ms"])
def test_negative_or_malformed_latency(bad):
    net = Network()
    net.add_node("a")
    net.add_node("b")
    with pytest.raises(ValueError, match="latency of connection 'a'->'b'"):
        net.connect("a", "b", latency_s=bad)


def test_duplicate_node_and_self_connection():
    net = two_nodes()
    with pytest.raises(ValueError, match="node 'a' already exists"):
        net.add_node("a")
    with pytest.raises(ValueError, match="cannot connect node 'a' to itself"):
        net.connect("a", "a", latency_s=0.0)


def test_unknown_transport_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="transport 'tcp'; allowed: fair, fifo, go-testnet"):
        Network("tcp")


def test_jitter_refused_on_go_testnet_and_negative_jitter():
    with pytest.raises(ValueError, match="jitter is not supported by the 'go-testnet'"):
        Network("go-testnet", jitter=0.1)
    with pytest.raises(ValueError, match="jitter must be a fraction >= 0"):
        Network(jitter=-0.1)


def test_negative_seed_refused():
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        Network(seed=-1)


def test_no_latency_for_a_connected_pair():
    g = full_mesh(["a", "b"])
    with pytest.raises(ValueError, match="no latency for connected pair 'a'-'b'"):
        build_network(g)


def test_unknown_node_attribute_in_a_graph():
    g = full_mesh(["a", "b"])
    g.nodes["a"]["uplaod_Bps"] = 5
    with pytest.raises(ValueError, match=r"unknown attribute\(s\) \['uplaod_Bps'\]"):
        build_network(g, latency=FixedLatency(0.01))


def test_unknown_region_names_the_allowed_regions():
    g = full_mesh({"a": {"region": "us-east-1"}, "b": {"region": "mars-1"}})
    with pytest.raises(ValueError, match=r"mars-1.*us-east-1"):
        build_network(g, latency=RegionMatrixLatency())


# --------------------------------------------------------------------------- metrics


def test_metrics_count_messages_and_bytes_by_kind():
    net = two_nodes(trace=True)
    net.send("a", "b", "w", 46, "want-block")
    net.send("a", "b", "w", 46, "want-block")
    net.send("b", "a", "blk", 262_158, "block")
    net.run()
    m = net.node_metrics().set_index(["node", "kind"])
    assert m.loc[("a", "want-block")].tolist() == [2, 92, 0, 0, 0, 0]
    assert m.loc[("b", "want-block")].tolist() == [0, 0, 2, 92, 0, 0]
    assert m.loc[("b", "block")].tolist() == [1, 262_158, 0, 0, 0, 0]
    assert m.loc[("a", "block")].tolist() == [0, 0, 1, 262_158, 0, 0]
    tr = net.trace_frame()
    assert list(tr.columns) == ["t_sent", "t_delivered", "src", "dst", "kind", "size_bytes"]
    assert len(tr) == 3 and (tr["t_delivered"] >= tr["t_sent"] + 0.01).all()


def test_utilisation_is_serialisation_time():
    # 1.25 MB at 10 Mbit/s (1.25 MB/s) keeps a's uplink busy 1 s.
    net = two_nodes()
    net.send("a", "b", None, 1_250_000, "block")
    net.run()
    u = net.utilisation().set_index("node")
    assert u.loc["a", "up_busy_s"] == pytest.approx(1.0)
    assert u.loc["b", "down_busy_s"] == pytest.approx(0.1)
    assert 0 < u.loc["a", "up_util"] <= 1


def test_trace_needs_trace_flag():
    with pytest.raises(ValueError, match="trace=True"):
        two_nodes().trace_frame()


# --------------------------------------------------------------------------- topology


def test_full_mesh_and_graph_attributes():
    g = full_mesh(["a", "b", "c", "d"], upload_Bps="1 Gbit/s", region="us-east-1")
    assert g.number_of_edges() == 6
    net = build_network(g, latency=FixedLatency(0.005))
    assert net.graph.number_of_edges() == 12  # one directed edge per direction
    assert net.graph.nodes["a"]["upload_Bps"] == 1.25e8
    assert net.graph.edges["a", "b"]["latency_s"] == 0.005
    assert net.neighbors("a") == ["b", "c", "d"]


def test_region_matrix_latencies_on_a_region_mesh():
    g = region_meshes({"us-east-1": ["e1", "e2"], "us-west-2": ["w1"], "eu-west-1": ["x1"]})
    net = build_network(g, latency=RegionMatrixLatency())
    # RTT 87.8 ms -> 43.9 ms one way; intra-region 0.5 ms one way.
    assert net.link("e1", "w1").latency_s == pytest.approx(0.0439)
    assert net.link("w1", "e2").latency_s == pytest.approx(0.0439)
    assert net.link("e1", "e2").latency_s == pytest.approx(0.0005)
    assert net.link("x1", "w1").latency_s == pytest.approx(0.137 / 2)


def test_region_meshes_with_gateways_is_seeded():
    regions = {"r1": [f"a{i}" for i in range(5)], "r2": [f"b{i}" for i in range(5)]}
    g1 = region_meshes(regions, inter_region=1, seed=3)
    g2 = region_meshes(regions, inter_region=1, seed=3)
    assert sorted(g1.edges) == sorted(g2.edges)
    assert g1.number_of_edges() == 10 + 10 + 1
    assert region_meshes(regions, inter_region="none").number_of_edges() == 20
    with pytest.raises(ValueError, match="seed is required"):
        region_meshes(regions, inter_region=2)
    with pytest.raises(ValueError, match="inter_region must be 'full', 'none'"):
        region_meshes(regions, inter_region="some")


def test_any_networkx_graph_messages_only_along_edges():
    g = nx.path_graph(["a", "b", "c"])
    nx.set_edge_attributes(g, 0.002, "latency_s")
    net = build_network(g)
    net.send("a", "b", None, 10, "want")
    with pytest.raises(ValueError, match="not connected"):
        net.send("a", "c", None, 10, "want")


# --------------------------------------------------------------------------- determinism


def random_run(seed, transport="fifo", jitter=0.1):
    rr = RunRandom(seed)
    g = full_mesh([f"n{i}" for i in range(6)], upload_Bps=mbit(50), download_Bps=mbit(100))
    net = build_network(
        g,
        transport=transport,
        latency=InternetLatency.preset("average-variable-speed"),
        seed=rr,
        trace=True,
        jitter=jitter if transport != "go-testnet" else 0.0,
    )
    work = rr.stream("workload")
    for _ in range(300):
        i, j = work.choice(6, size=2, replace=False)
        t = float(work.uniform(0, 2))
        size = int(work.integers(40, 300_000))
        net.call_at(t, lambda ev, a=f"n{i}", b=f"n{j}", s=size: net.send(a, b, None, s, "m"), 0)
    net.run()
    return net.trace_frame()


@pytest.mark.parametrize("transport", ["fifo", "fair", "go-testnet"])
def test_same_seed_same_trace(transport):
    a, b = random_run(11, transport), random_run(11, transport)
    assert a.equals(b)
    assert not a["t_delivered"].equals(random_run(12, transport)["t_delivered"])


def test_streams_do_not_depend_on_the_order_they_are_asked_for():
    r1, r2 = RunRandom(5), RunRandom(5)
    x1 = r1.stream("latency").random(3)
    r2.stream("workload").random(10)
    x2 = r2.stream("latency").random(3)
    assert np.array_equal(x1, x2)
    assert not np.array_equal(RunRandom(5, replicate=1).stream("latency").random(3), x1)


def test_a_run_collects_cyclic_garbage_rarely_and_restores_the_thresholds():
    """Network.run raises the young-generation threshold while it runs (GC_THRESHOLD0: the
    collector's full passes over a growing heap made the cost per message grow with the number
    of peers), and puts the caller's thresholds back afterwards, also after an error."""
    import gc

    from sim.network import GC_THRESHOLD0

    before = gc.get_threshold()
    seen = []
    net = Network()
    net.call_at(1.0, lambda e: seen.append(gc.get_threshold()), None)
    net.run()
    assert seen[0][0] == max(GC_THRESHOLD0, before[0]) and gc.get_threshold() == before

    def boom(_e):
        raise RuntimeError("boom")

    net.call_at(1.0, boom, None)
    with pytest.raises(RuntimeError):
        net.run()
    assert gc.get_threshold() == before


def test_in_flight_counts_what_was_sent_and_not_yet_delivered_or_lost():
    """sent = delivered + lost + in flight, per sender and in total, at any time: worked by hand
    on a 10 ms link at 10 Mbit/s (a 12 500-byte message takes 10 ms to serialise)."""
    net = two_nodes()
    net.add_node("c")
    net.connect("a", "c", latency_s=0.01)
    for _ in range(3):
        net.send("a", "b", None, 12_500, "block")
    net.send("a", "c", None, 12_500, "block")
    net.send("b", "a", None, 10, "want")
    assert (net.node("a").in_flight, net.node("b").in_flight, net.messages_in_flight) == (4, 1, 5)
    net.run(until=0.015)  # b's want (10 ms) and a's first block (10 ms + 10 ms) not yet: 0.02
    assert (net.node("a").in_flight, net.node("b").in_flight) == (4, 0)
    net.run(until=0.025)  # a's first block to b arrived at 0.02
    assert net.node("a").in_flight == 3
    net.disconnect("a", "b")  # the two blocks still on their way to b are lost when due
    net.send("a", "b", None, 10, "want")  # on the closed connection: lost at once
    assert net.node("a").in_flight == 3 and net.messages_lost == 1
    net.run()
    assert net.messages_in_flight == net.node("a").in_flight == 0 and net.messages_lost == 3
    assert net.messages_sent == net.messages_delivered + net.messages_lost == 6
