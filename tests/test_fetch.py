"""Fetch patterns (benchmarks_test.go@v0.1.8/@v0.2.0, DAG walk), routing and bad input."""

from __future__ import annotations

import pytest

from models.dag import CidAllocator, benchmark_blocks, chunked_file
from models.fetch import PATTERNS
from models.master.config import MasterConfig
from models.peer import Peer
from models.routing import DhtRouting, NilRouting, ProviderQueryManager
from models.swarm import Swarm
from sim import Network


def one_seed(n_blocks=200, pattern="big-batch", **kw):
    net = Network("fifo", trace=True)
    for p in ("seed", "leech"):
        net.add_node(p)
    net.connect("seed", "leech", latency_s=0.01)
    sw = Swarm(net, **kw)
    obj = benchmark_blocks(n_blocks, cid_alloc=CidAllocator())
    sw.seed("seed", obj)
    sw.fetch("leech", obj, pattern)
    assert sw.run()
    return net, sw


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if p != "dag-walk"])
def test_every_benchmark_pattern_completes_without_duplicates(pattern):
    _, sw = one_seed(200, pattern)
    leech = sw.peer("leech")
    assert leech.fetches[0].completed
    assert (leech.stats.blocks_received, leech.stats.dup_blocks_received) == (200, 0)


def test_one_at_a_time_asks_for_one_block_per_round_trip():
    """oneAtATime: GetBlock after GetBlock, so 200 want messages of one entry each and a fetch
    time of 200 round trips (20 ms each, unlimited bandwidth)."""
    net, sw = one_seed(200, "one-at-a-time")
    wants = net.trace_frame().query("kind == 'want-block'")
    assert len(wants) == 200
    assert sw.peer("leech").fetches[0].time_to_fetch_s == pytest.approx(200 * 0.02)


def test_big_batch_keeps_32_wants_live_once_the_session_has_a_peer():
    """session.go@v0.1.8: 4 live wants before the session has peers, 32 after. Round trips: the
    first 4 blocks (20 ms), then the window refills block by block."""
    _, sw = one_seed(200, "big-batch")
    session = sw.peer("leech").fetches[0].session
    assert session.fetch_count == 200
    # 4 blocks after one round trip, then 28 more asked at once, then 1 per block received:
    # 200 blocks in ceil((200 - 4) / 32) + 1 = 8 round trips at most with unlimited bandwidth
    assert sw.peer("leech").fetches[0].time_to_fetch_s <= 8 * 0.02 + 1e-9


def test_dag_walk_fetches_level_by_level():
    """Get(root), then GetMany of its children: a 3 MiB file (12 leaves) takes 2 round trips."""
    net = Network("fifo")
    for p in ("seed", "leech"):
        net.add_node(p)
    net.connect("seed", "leech", latency_s=0.01)
    sw = Swarm(net)
    obj = chunked_file(3 * 2**20, cid_alloc=CidAllocator())
    sw.seed("seed", obj)
    sw.fetch("leech", obj, "dag-walk")
    assert sw.run()
    # root at 20 ms; the seed is then a session peer, so all 12 leaves are wanted at once
    # (limit 32) and arrive at 40 ms
    assert sw.peer("leech").fetches[0].time_to_fetch_s == pytest.approx(0.04)


def test_blocks_already_local_are_not_asked_for():
    net = Network("fifo", trace=True)
    for p in ("seed", "leech"):
        net.add_node(p)
    net.connect("seed", "leech", latency_s=0.01)
    sw = Swarm(net)
    obj = benchmark_blocks(10, cid_alloc=CidAllocator())
    sw.seed("seed", obj)
    sw.peer("leech").seed(obj, obj.blocks[:6])
    sw.fetch("leech", obj, "big-batch")
    assert sw.run()
    assert sw.peer("leech").stats.blocks_received == 4


# --------------------------------------------------------------------------- routing


class FakeNet:
    """Just enough of a Network for the provider query manager."""

    def __init__(self, edges):
        import networkx as nx

        self._net = Network()
        self.graph = nx.DiGraph(edges)
        self.env = self._net.env
        self.call_at = self._net.call_at


def test_provider_queries_dedupe_limit_and_skip_unconnected():
    """providerquerymanager.go@v0.1.8: one lookup per CID in flight, at most 6 at once, at most
    10 providers, each connected to before it is reported (here: unconnected ones skipped)."""
    import numpy as np

    net = FakeNet([("me", f"p{i}") for i in range(12)])
    holders = {c: [f"p{i}" for i in range(12)] + ["far"] for c in range(10)}
    lookups = []

    def who(cid):
        lookups.append((net.env.now, cid))
        return holders[cid]

    pqm = ProviderQueryManager(net, "me", DhtRouting(holders=who, lookup_delay_s=1.0),
                               np.random.default_rng(0))  # fmt: skip
    found = {}
    for cid in range(8):
        pqm.find_providers(cid, lambda p, cid=cid: found.setdefault(cid, []).append(p))
    pqm.find_providers(0, lambda p: found.setdefault("dup", []).append(p))
    net.env.run()
    assert [t for t, _ in lookups] == [0.0] * 6 + [1.0] * 2  # 6 in process, 2 waited
    assert all(len(found[c]) == 10 and "far" not in found[c] for c in range(8))
    assert len(found["dup"]) == 10  # served by the same lookup as cid 0
    assert len(lookups) == 8


def test_nil_routing_finds_nothing():
    import numpy as np

    assert NilRouting().lookup(1, "me", np.random.default_rng(0)) is None


# --------------------------------------------------------------------------- bad input


def test_bad_peer_construction():
    net = Network()
    net.add_node("a")
    with pytest.raises(ValueError, match="unknown strategy 'bogus'; allowed: master"):
        Peer(net, "a", strategy="bogus")
    with pytest.raises(ValueError, match="unknown node 'zz'"):
        Peer(net, "zz")
    with pytest.raises(ValueError, match="cid_version must be 0 or 1"):
        Peer(net, "a", cid_version=2)
    with pytest.raises(ValueError, match="must be a MasterConfig"):
        Peer(net, "a", config={"split": 3})


def test_unknown_pattern_and_peer():
    net = Network()
    net.add_node("a")
    sw = Swarm(net)
    obj = benchmark_blocks(2, cid_alloc=CidAllocator())
    with pytest.raises(ValueError, match="unknown fetch pattern 'zigzag'; allowed: dag-walk"):
        sw.fetch("a", obj, "zigzag")
    with pytest.raises(ValueError, match="unknown peer 'q'"):
        sw.fetch("q", obj)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("send_workers", 0, "master.send_workers must be > 0"),
        ("freezing", "yes", "master.freezing must be true or false"),
        ("max_split", 2.5, "master.max_split must be a whole number"),
        ("initial_split", 20, r"master.initial_split \(20\) must be <= master.max_split"),
        ("latency_timeout_s", -1.0, "master.latency_timeout_s must be > 0"),
    ],
)
def test_master_config_validation(field, value, message):
    with pytest.raises(ValueError, match=message):
        MasterConfig(**{field: value})
