"""Connections that open and close during a run: go-libp2p-connmgr's basic connection manager
(sim/connmgr.py) with Bitswap's tags, and peers that dial the providers a DHT query finds."""

from __future__ import annotations

import networkx as nx
import pytest

from models.dag import CidAllocator, chunked_file
from models.routing import DhtRouting
from models.swarm import DIAL_ROUND_TRIPS, Swarm
from sim import FixedLatency, Network, build_network, mbit
from sim.connmgr import SILENCE_PERIOD_S, ConnLimits, ConnManager

L = 0.010
"""One-way latency of every connection in these worlds, seconds."""


def _manager(n_peers: int, limits: ConnLimits, values: dict | None = None):
    """Node "me" connected to p0 .. p{n-1} at t = 0, p_i valued ``values.get(p_i, 0)``."""
    net = Network(seed=1)
    closed: list[str] = []
    net.add_node("me")
    cm = ConnManager(
        net,
        "me",
        limits,
        value=lambda p: (values or {}).get(p, 0),
        close=lambda p: (closed.append(p), cm.disconnected(p)),
    )
    for i in range(n_peers):
        net.add_node(f"p{i}")
        cm.connected(f"p{i}")
    return net, cm, closed


def test_below_the_high_water_mark_the_manager_schedules_nothing():
    net, cm, closed = _manager(5, ConnLimits(low_water=2, high_water=6, grace_period_s=0.0))
    assert net.env.peek() == float("inf")
    net.run(until=600)
    assert closed == [] and cm.trims == 0


def test_a_trim_on_the_minute_ticker_closes_the_least_valued_down_to_low_water():
    values = {"p0": 10, "p1": 5, "p4": 15}
    net, cm, closed = _manager(6, ConnLimits(low_water=3, high_water=6), values)
    net.run(until=59.9)
    assert closed == []  # v0.2.1 trims only on its ticker, every minute from its start
    net.run(until=60.1)
    assert sorted(closed) == ["p2", "p3", "p5"]  # the value-0 peers; p1 (5), p0, p4 stay
    assert cm.connections == 3 and cm.trims == 1
    net.run(until=600)
    assert cm.trims == 1  # back below high water: the ticker stopped


def test_ties_are_broken_at_random_from_the_nodes_stream():
    picks = set()
    for seed in range(6):
        net = Network(seed=seed)
        net.add_node("me")
        closed: list[str] = []
        cm = ConnManager(
            net, "me", ConnLimits(2, 4, grace_period_s=0.0), value=lambda p: 0, close=closed.append
        )
        for i in range(4):
            cm.connected(f"p{i}")
        cm.trim()
        picks.add(tuple(sorted(closed)))
    assert len(picks) > 1


def test_the_grace_period():
    """Four connections at 0 s, one more at 15 s; grace 20 s. At 10 s all are young: fewer than
    low_water candidates, nothing closes. At 30 s the first four are old enough: go closes
    candidates down to low_water *candidates* (``target = ncandidates - lowWater``), so two
    close, and the young one is spared, leaving three."""
    net, cm, closed = _manager(4, ConnLimits(low_water=2, high_water=4, grace_period_s=20.0))
    net.run(until=10.0)
    assert cm.trim() == []
    net.run(until=15.0)
    net.add_node("late")
    cm.connected("late")
    net.run(until=30.0)
    assert len(cm.trim()) == 2 and "late" not in closed
    assert cm.connections == 3


def test_silence_period_skips_a_second_trim():
    net, cm, _ = _manager(6, ConnLimits(low_water=2, high_water=4, grace_period_s=0.0))
    net.run(until=1.0)
    assert len(cm.trim()) == 4
    for i in range(6, 10):
        cm.connected(f"p{i}")
    net.run(until=1.0 + SILENCE_PERIOD_S - 0.5)
    assert cm.trim() == []
    net.run(until=1.0 + SILENCE_PERIOD_S + 0.5)
    assert len(cm.trim()) == 4


def test_limits_are_checked():
    with pytest.raises(ValueError, match="low_water \\(5\\) must be <= high_water \\(4\\)"):
        ConnLimits(5, 4)
    with pytest.raises(ValueError, match="trim_interval_s must be > 0"):
        ConnLimits(1, 2, trim_interval_s=0)


# ------------------------------------------------------------------------ Bitswap's tags
def _star(strategy: str, limits: ConnLimits | None) -> tuple[Swarm, object]:
    """A leech connected to 2 seeds and 6 idle peers (a star), 100 Mbit/s uplinks; 2 MiB."""
    names = ["seed-0", "seed-1", "leech", *[f"idle-{i}" for i in range(6)]]
    graph = nx.Graph()
    graph.add_nodes_from(names, upload_Bps=mbit(100))
    graph.add_edges_from(("leech", other) for other in names if other != "leech")
    net = build_network(graph, latency=FixedLatency(L), seed=1)
    per_peer = {"leech": {"conn_limits": limits}} if limits else {}
    swarm = Swarm(net, strategy=strategy, per_peer=per_peer)
    obj = chunked_file(2 * 2**20, cid_alloc=CidAllocator())
    swarm.seed("seed-0", obj)
    swarm.seed("seed-1", obj)
    return swarm, obj


@pytest.mark.parametrize("strategy", ["master", "poc"])
def test_session_tags_protect_the_peers_that_serve_the_leech(strategy):
    limits = ConnLimits(low_water=3, high_water=8, grace_period_s=0.0, trim_interval_s=0.05)
    swarm, obj = _star(strategy, limits)
    swarm.fetch("leech", obj)
    leech = swarm.peer("leech")
    seen = {}

    def look(_event):
        seen.update({p: leech.tag_value(p) for p in swarm.net.neighbors("leech")})

    swarm.net.call_at(0.049, look, None)
    swarm.run(60)
    # while fetching, the seeds are session peers (master: 10 once they have a latency; poc: 5)
    assert seen["seed-0"] == seen["seed-1"] == (10 if strategy == "master" else 5)
    assert all(seen[f"idle-{i}"] == 0 for i in range(6))
    cm = leech.connmgr
    assert cm is not None and cm.trims >= 1 and cm.trimmed == 5  # 8 -> 3 connections
    assert swarm.net.is_connected("leech", "seed-0") and swarm.net.is_connected("leech", "seed-1")
    assert swarm.peer_frame().set_index("peer").loc["leech", "completed"]
    # both ends were told: the idle peers that were trimmed have no ledger for the leech
    gone = [p for p in (f"idle-{i}" for i in range(6)) if not swarm.net.is_connected("leech", p)]
    assert len(gone) == 5
    assert all("leech" not in swarm.peer(p).engine.ledgers for p in gone)


def test_without_limits_nothing_is_trimmed():
    swarm, obj = _star("poc", None)
    swarm.fetch("leech", obj)
    swarm.run(60)
    assert swarm.peer("leech").connmgr is None
    assert len(swarm.net.neighbors("leech")) == 8


# ------------------------------------------------------------------------ dialling providers
def _line(strategy: str, dial: bool):
    """seed - idle - leech: the leech's only neighbour has nothing; routing is the DHT."""
    net = build_network(nx.path_graph(["seed", "idle", "leech"]), latency=FixedLatency(L), seed=1)
    holder: list[Swarm] = []
    routing = DhtRouting(
        holders=lambda cid: holder[0].holders(cid),
        connect=(lambda a, b, then: holder[0].dial(a, b, then)) if dial else None,
    )
    swarm = Swarm(
        net,
        strategy=strategy,
        routing=routing,
        dial_latency=(lambda a, b: (L, L)) if dial else None,
    )
    holder.append(swarm)
    obj = chunked_file(100_000, cid_alloc=CidAllocator())  # one block
    swarm.seed("seed", obj)
    swarm.fetch("leech", obj)
    return swarm


@pytest.mark.parametrize("strategy", ["master", "poc"])
def test_a_leech_dials_the_provider_the_dht_finds(strategy):
    """The first idle tick (1 s) searches for providers; the lookup takes 1 s; the dial
    DIAL_ROUND_TRIPS round trips (0.1 s); then the want goes out and the block comes back one
    round trip later (poc's want waits for its 1 ms debounce)."""
    swarm = _line(strategy, dial=True)
    assert swarm.run(30)
    connected = 1.0 + 1.0 + DIAL_ROUND_TRIPS * 2 * L
    debounce = 0.001 if strategy == "poc" else 0.0
    t = swarm.peer_frame().set_index("peer").loc["leech", "time_to_fetch_s"]
    assert t == pytest.approx(connected + debounce + 2 * L)
    assert swarm.dialled == 1 and swarm.net.is_connected("leech", "seed")


@pytest.mark.parametrize("strategy", ["master", "poc"])
def test_without_dialling_a_leech_behind_an_idle_peer_never_finishes(strategy):
    swarm = _line(strategy, dial=False)
    assert not swarm.run(30)
    assert not swarm.net.is_connected("leech", "seed")


def test_a_leaving_peer_closes_its_dialled_connections_too():
    swarm = _line("master", dial=True)
    swarm.run(30)
    swarm.connectivity.leave("leech")
    assert swarm.net.neighbors("leech") == []
    swarm.connectivity.rejoin("leech")
    assert swarm.net.neighbors("leech") == ["idle"]  # only its starting neighbours come back
