"""poc's era knobs and the ``poc-2020-02`` strategy, on tiny swarms worked out by hand.

Each knob of :class:`models.poc.config.PocConfig` switches one behaviour that changed between
go-bitswap master at ``f298c9b`` (2020-02-10) and v0.2.0 (2020-03-10) back to its earlier
form; each test names the go code and commit on both sides. Links have a one-way latency of
10 ms (``L``) and no bandwidth limit unless a test says otherwise; a want queued at t leaves at
t + 1 ms (the debounce, ``D``).
"""

from __future__ import annotations

import dataclasses

import pytest

from experiments.scenario import parse_scenario
from models.dag import CidAllocator, benchmark_blocks
from models.peer import STRATEGIES
from models.poc.config import Poc202002Config, PocConfig
from models.poc.messagequeue import MessageQueue
from models.poc.policy import WantPolicy
from models.routing import DhtRouting
from sim.network import Network

from _scenarios import L, dag_with_children, drain, items, mesh, swarm

D = 0.001  # sendMessageDebounce

ERA_KNOBS = {
    "dont_have_timeouts": False,
    "debounce": "trailing",
    "prune_peers": False,
    "exhausted_broadcast": "live",
    "sessions_track_connectivity": True,
    "provider_counts_as_have": False,
}
"""The six knobs at ``f298c9b``: every other parameter is v0.2.0's."""


class FirstPeer(WantPolicy):
    """go's choice among equally good peers, made deterministic for the hand-worked timelines:
    always the peer that joined the session first."""

    def pick(self, peers, view):  # type: ignore[no-untyped-def]
        return peers[0]


def one_block(size: int = 8000):  # type: ignore[no-untyped-def]
    return benchmark_blocks(1, cid_alloc=CidAllocator(), root_size=size)


def _root_and_child(root_size: int, child_size: int):  # type: ignore[no-untyped-def]
    from models.dag import Dag

    alloc = CidAllocator()
    root, x = alloc.allocate(), alloc.allocate()
    return Dag(root=root, size_of={root: root_size, x: child_size},
               children={root: (x,), x: ()}, cids_in_order=(root, x))  # fmt: skip


def poc(**changes: object) -> PocConfig:
    return PocConfig(**changes)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ the strategy
def test_poc_2020_02_is_v020_with_the_six_knobs_of_f298c9b():
    """``poc-2020-02`` is registered beside poc and poc-potential, speaks poc's wire schema,
    and its config is v0.2.0's with exactly the six era knobs changed."""
    strat = STRATEGIES["poc-2020-02"]
    assert strat.config_class is Poc202002Config
    assert strat.client_class is STRATEGIES["poc"].client_class
    assert strat.engine_class is STRATEGIES["poc"].engine_class
    assert strat.protocol == "poc"
    era = dataclasses.asdict(Poc202002Config())
    assert era == dataclasses.asdict(dataclasses.replace(PocConfig(), **ERA_KNOBS))
    assert {k for k, v in dataclasses.asdict(PocConfig()).items() if era[k] != v} == set(ERA_KNOBS)


def test_a_scenario_names_the_strategy_and_overrides_its_knobs():
    raw = {
        "name": "era",
        "network": {"latency": {"model": "fixed", "one_way": "5 ms"}},
        "defaults": {"strategy": "poc-2020-02"},
        "objects": [{"name": "f", "type": "blocks", "count": 3}],
        "groups": [
            {"name": "s", "seed_objects": ["f"]},
            {"name": "l", "count": 2, "fetch": {"object": "f", "pattern": "big-batch"}},
        ],
        "strategy": {"poc-2020-02": {"debounce": "capped"}},
    }
    scenario = parse_scenario(raw, source="test")
    cfg = scenario.strategy_configs["poc-2020-02"]
    assert isinstance(cfg, Poc202002Config)
    assert (cfg.debounce, cfg.dont_have_timeouts) == ("capped", False)
    assert scenario.groups[1].strategy == "poc-2020-02"


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("dont_have_timeout_peers", "none", "all, legacy"),
        ("debounce", "leading", "capped, trailing"),
        ("exhausted_broadcast", "all", "exhausted, live"),
    ],
)
def test_a_bad_era_value_is_one_error_naming_the_field(key, value, allowed):
    with pytest.raises(ValueError, match=rf"poc\.{key} must be one of {allowed}, got '{value}'"):
        poc(**{key: value})


def test_poc_potential_refuses_pruning():
    from models.poc.potential import PotentialConfig

    with pytest.raises(ValueError, match=r"poc-potential\.prune_peers must be false"):
        PotentialConfig(prune_peers=True)


def test_poc_2020_02_fetches_a_file_end_to_end():
    _, sw = swarm(["s1", "s2", "leech"], mesh(["s1", "s2", "leech"]), strategy="poc-2020-02")
    obj = dag_with_children(20)
    sw.seed("s1", obj)
    sw.seed("s2", obj)
    sw.fetch("leech", obj)
    assert sw.run()
    assert sw.peer("leech").client.dont_have_timeouts == 0


# ------------------------------------------------------------------------ DONT_HAVE timeouts
def _silent_master(strategy: str = "poc", config: PocConfig | None = None):  # type: ignore[no-untyped-def]
    """The set-up of test_poc_scenarios.test_silent_master_peer_gets_a_simulated_dont_have_
    after_the_timeout: master seed m has the root only, poc peer p has x only."""
    per_peer = {} if config is None else {p: {"config": config} for p in ("p", "leech")}
    net, sw = swarm(["m", "p", "leech"], mesh(["m", "p", "leech"]), strategy=strategy,
                    strategies={"m": "master"}, per_peer=per_peer)  # fmt: skip
    obj = dag_with_children(1)
    root, x = obj.cids_in_order
    sw.peer("m").seed(obj, [root])
    sw.peer("p").seed(obj, [x])
    sw.fetch("leech", obj)
    return net, sw, x


def test_legacy_scope_times_out_a_master_peer_as_v020_does():
    """``messagequeue.go@f4c9702`` (PR #248): the timeout manager runs only for peers without
    HAVE support, so a master peer (1.1.0) that never answers x is timed exactly as in v0.2.0:
    want-block x leaves at 2D + 2L, the simulated DONT_HAVE comes 200 ms + 2 x RTT later, x is
    exhausted and broadcast to p."""
    net, sw, x = _silent_master(config=poc(dont_have_timeout_peers="legacy"))
    assert sw.run()
    sent_x = 2 * D + 2 * L
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


def test_without_timeouts_a_silent_master_peer_holds_the_want_for_ever():
    """``f298c9b`` has no timeout manager: want-block x stays with m, which lacks x and, on
    1.1.0, never says DONT_HAVE. The idle tick (500 ms + 3 x the 22 ms the root took, after the
    root arrived at D + 2L) broadcasts x: p answers HAVE and joins the session, but x already
    has its one want-block out (``sentTo`` in ``sessionwantsender.go@f298c9b``), so nothing else
    is sent and the fetch never completes (go-bitswap fixed this with PR #248)."""
    net, sw, x = _silent_master(config=poc(dont_have_timeouts=False))
    assert not sw.run(max_sim_time_s=1.0)
    t_root = D + 2 * L
    tick = t_root + 0.5 + 3 * t_root
    got = [(t, src, dst, k) for t, src, dst, k, cid in items(net) if cid == x]
    assert got == [
        (pytest.approx(t_root + D + L), "leech", "m", "want-block"),
        (pytest.approx(tick + D + L), "leech", "p", "want-have"),
        (pytest.approx(tick + D + 2 * L), "p", "leech", "have"),
    ]
    assert sw.peer("leech").client.dont_have_timeouts == 0


@pytest.mark.parametrize("scope", ["all", "legacy"])
def test_a_slow_poc_seed_is_timed_out_only_when_every_peer_is_timed(scope):
    """Seeds a (10 ms away, 20 kB/s uplink) and b (20 ms away) have the root (1,100 B: a
    want-have gets HAVE) and x (8,000 B). a's HAVE comes first, so a joins the session first and
    serves the root; x's want-block goes to a too (the first session peer: the test's policy),
    its want-have to b, which says HAVE. a's block x needs 0.4 s on a's uplink.
    ``all`` (PR #284, ``messagequeue.go@v0.2.0``): 200 ms + 2 x RTT (20 ms) after want-block x
    left, a is treated as having said DONT_HAVE and the want-block goes to b; b's block
    arrives first and a's is a duplicate. ``legacy`` (PR #248, ``@f4c9702``): a speaks 1.2.0,
    no timer is armed, the leech waits for a's block."""
    links = [("a", "leech", L), ("b", "leech", 2 * L), ("a", "b", L)]
    net, sw = swarm(["a", "b", "leech"], links, bandwidth={"a": (20_000, float("inf"))},
                    strategy="poc", policy=FirstPeer,
                    config=poc(dont_have_timeout_peers=scope))  # fmt: skip
    obj = _root_and_child(1100, 8000)
    _, x = obj.cids_in_order
    sw.seed("a", obj)
    sw.seed("b", obj)
    sw.fetch("leech", obj)
    assert sw.run()
    drain(net)  # a's block x, if the fetch ended first
    log = [(t, src, dst, k) for t, src, dst, k, cid in items(net) if cid == x and k != "cancel"]
    t_wb = log[0][0] - L  # want-block x leaves for a
    assert log[:3] == [
        (pytest.approx(t_wb + L), "leech", "a", "want-block"),
        (pytest.approx(t_wb + 2 * L), "leech", "b", "want-have"),
        (pytest.approx(t_wb + 4 * L), "b", "leech", "have"),
    ]
    block_a = next(t for t, src, dst, k in log if (src, k) == ("a", "block"))
    assert block_a > t_wb + L + 0.4  # a's block x is on a's uplink for 0.4 s
    leech = sw.peer("leech")
    if scope == "all":
        timeout = t_wb + 0.2 + 2 * (2 * L)
        assert log[3:] == [
            (pytest.approx(timeout + D + 2 * L), "leech", "b", "want-block"),
            (pytest.approx(timeout + D + 4 * L), "b", "leech", "block"),
            (block_a, "a", "leech", "block"),
        ]
        assert leech.fetches[0].time_to_fetch_s == pytest.approx(timeout + D + 4 * L)
        assert (leech.client.dont_have_timeouts, leech.stats.dup_blocks_received) == (1, 1)
    else:
        assert log[3:] == [(block_a, "a", "leech", "block")]
        assert leech.fetches[0].time_to_fetch_s == pytest.approx(block_a)
        assert (leech.client.dont_have_timeouts, leech.stats.dup_blocks_received) == (0, 0)


# -------------------------------------------------------------------------------- debounce
def _timed_queue(**config: object) -> tuple[Network, list[float]]:
    """A queue towards b whose sends are logged by time."""
    net = Network("fifo")
    net.add_node("a")
    net.add_node("b")
    net.connect("a", "b", latency_s=0.0)
    times: list[float] = []
    q = MessageQueue(net, "b", poc(**config), lambda dst, m: times.append(round(net.now, 9)),
                     True, 1.0, lambda p, c: None, 1)  # fmt: skip
    net.queue = q  # type: ignore[attr-defined]
    return net, times


@pytest.mark.parametrize(("debounce", "sends"), [("capped", [0.02, 0.031]), ("trailing", [0.031])])
def test_a_steady_trickle_is_sent_at_20_ms_only_with_the_capped_debounce(debounce, sends):
    """A want every 0.5 ms from 0 to 30 ms. ``capped`` (PR #255, ``runQueue`` in
    ``messagequeue.go@v0.2.0``): the enqueue at 20 ms finds the first pending one 20 ms old and
    sends at once (``sendMessageMaxDelay``), the rest goes 1 ms after the last enqueue.
    ``trailing`` (``bep/debounce`` in ``messagequeue.go@f298c9b``, issue #245): every enqueue
    restarts the 1 ms timer, so nothing leaves until 1 ms after the last one."""
    net, times = _timed_queue(debounce=debounce)
    q = net.queue  # type: ignore[attr-defined]
    for i in range(61):
        net.call_at(i * 0.0005, lambda e: q.add_wants([e.value], []), i)
    net.run(until=1.0)
    assert times == sends


@pytest.mark.parametrize(("debounce", "sends"), [("capped", [0.0]), ("trailing", [0.001])])
def test_more_than_256_wants_go_at_once_only_with_the_capped_debounce(debounce, sends):
    """300 wants at once: ``sendMessageCutoff`` (256, ``messagequeue.go@v0.2.0``) sends them
    without waiting; ``@f298c9b`` has no cutoff, the debounce's 1 ms applies."""
    net, times = _timed_queue(debounce=debounce)
    net.queue.add_wants(list(range(300)), [])  # type: ignore[attr-defined]
    net.run(until=1.0)
    assert times == sends


# ------------------------------------------------------------------------------------ pruning
@pytest.mark.parametrize(("prune", "pruned"), [(True, True), (False, False)])
def test_the_17th_consecutive_dont_have_prunes_only_with_pruning(prune, pruned):
    """The set-up of test_poc_scenarios.test_a_peer_is_pruned_on_its_17th_consecutive_dont_have
    with 17 children: v0.2.0 (PRs #261, #276, ``peerDontHaveLimit`` in
    ``sessionwantsender.go@v0.2.0``) removes a from the session; ``sessionwantsender.go@f298c9b``
    counts no DONT_HAVEs and keeps it."""
    _, sw = swarm(["a", "b", "leech"], mesh(["a", "b", "leech"]), strategy="poc",
                  config=poc(prune_peers=prune))  # fmt: skip
    obj = dag_with_children(17)
    sw.peer("a").seed(obj, [obj.root])
    sw.peer("b").seed(obj, obj.cids_in_order[1:])
    sw.fetch("leech", obj)
    assert sw.run()
    sws = sw.peer("leech").fetches[0].session.sws
    assert (sws.pruned, "a" in sws.peers) == (int(pruned), not pruned)


# -------------------------------------------------------------------------- exhausted wants
def _chain():  # type: ignore[no-untyped-def]
    """root -> (z, u), u -> (w): 8,000 B blocks (a want-have gets HAVE, not the block)."""
    from models.dag import Dag

    alloc = CidAllocator()
    root, z, u, w = (alloc.allocate() for _ in range(4))
    children = {root: (z, u), z: (), u: (w,), w: ()}
    return Dag(root=root, size_of=dict.fromkeys(children, 8000), children=children,
               cids_in_order=(root, z, u, w))  # fmt: skip


@pytest.mark.parametrize("broadcast", ["exhausted", "live"])
def test_exhaustion_broadcasts_the_exhausted_wants_or_every_live_want(broadcast):
    """a has root, u and w; c has z only (silent on the root's broadcast: no DONT_HAVE is asked
    for). The root comes from a at 2D + 4L; want-blocks z and u go to a, its only session peer;
    a answers with u and DONT_HAVE z at 3D + 6L: z is exhausted, and u's arrival makes the fetch
    ask for w (want-block to a). ``exhausted`` (PR #272, ``broadcastWantHaves(ctx, keys)`` in
    ``session.go@v0.2.0``): c is sent a want-have for z only. ``live``
    (``session.go@f298c9b``: ``opBroadcast`` runs ``handleIdleTick`` once the message is
    handled): every live want, z and w; c, without w, stays silent about it."""
    net, sw = swarm(["a", "c", "leech"], mesh(["a", "c", "leech"]), strategy="poc",
                    config=poc(exhausted_broadcast=broadcast))  # fmt: skip
    obj = _chain()
    root, z, u, w = obj.cids_in_order
    sw.peer("a").seed(obj, [root, u, w])
    sw.peer("c").seed(obj, [z])
    sw.fetch("leech", obj)
    assert sw.run()
    t_dh = 3 * D + 6 * L
    to_c = sorted((cid, k) for t, src, dst, k, cid in items(net)
                  if dst == "c" and t == pytest.approx(t_dh + D + L))  # fmt: skip
    assert to_c == (
        [(z, "want-have")]
        if broadcast == "exhausted"
        else sorted([(z, "want-have"), (w, "want-have")])
    )
    t_have = t_dh + D + 2 * L
    assert sw.peer("leech").fetches[0].time_to_fetch_s == pytest.approx(t_have + D + 2 * L)
    session = sw.peer("leech").fetches[0].session
    assert (session.broadcasts, session.idle_ticks) == (1, 0)


# ---------------------------------------------------------------------- session connectivity
@pytest.mark.parametrize("track", [False, True])
def test_a_departed_peers_want_block_moves_on_only_when_sessions_track_connectivity(track):
    """s1 (10 ms away, 50 ms blockstore reads) and s2 (20 ms away) have c. s1's HAVE comes first
    (D + 2L) and it gets the want-block (leaves 2D + 2L); s2's HAVE (D + 4L) makes it a session
    peer. s1 leaves at 60 ms, before its 50 ms read is done. v0.2.0 (PR #275 left
    ``RegisterSession`` uncalled, ``peermanager.go@v0.2.0``): the session still counts the
    want-block as sent to s1, and the DONT_HAVE timeout died with s1's queue: no block within
    5 s. ``@f298c9b``: the session registered for s1 when s1 said HAVE, hears of the disconnect
    (``signalAvailability``) and sends the want-block to s2 at once."""
    links = [("s1", "leech", L), ("s2", "leech", 2 * L), ("s1", "s2", L)]
    net, sw = swarm(["s1", "s2", "leech"], links, strategy="poc",
                    config=poc(sessions_track_connectivity=track),
                    per_peer={"s1": {"blockstore_latency_s": 0.05}})  # fmt: skip
    obj = one_block()
    c = obj.root
    sw.seed("s1", obj)
    sw.seed("s2", obj)
    sw.fetch("leech", obj)
    net.call_at(0.06, lambda e: sw.connectivity.leave("s1"), None)
    assert sw.run(max_sim_time_s=5.0) is track
    got = [(t, src, dst, k) for t, src, dst, k, cid in items(net) if k != "cancel"]
    assert got[:4] == [
        (D + L, "leech", "s1", "want-have"),
        (pytest.approx(D + 2 * L), "s1", "leech", "have"),
        (pytest.approx(D + 2 * L), "leech", "s2", "want-have"),
        (pytest.approx(2 * D + 3 * L), "leech", "s1", "want-block"),
    ]
    assert (pytest.approx(D + 4 * L), "s2", "leech", "have") in got
    if track:
        assert got[-2:] == [
            (pytest.approx(0.06 + D + 2 * L), "leech", "s2", "want-block"),
            (pytest.approx(0.06 + D + 4 * L), "s2", "leech", "block"),
        ]
    else:
        assert [k for *_, k in got].count("block") == 0
    assert c in sw.peer("s2").blockstore


@pytest.mark.parametrize(("broadcast", "broadcasts"), [("exhausted", 1), ("live", 0)])
def test_poc_2020_02_re_sends_a_want_block_lost_with_a_departed_peer(broadcast, broadcasts):
    """The set-up of test_faults.test_poc_v020_never_resends_a_want_block_lost_with_a_departed_
    peer under ``poc-2020-02``: s1 alone has c; its want-block (leaves 2D + 2L) is lost when s1
    leaves at 2D + 2.5L. The session hears of it and frees the want-block; with no session peer
    left nothing is sent. When s1 rejoins at 100 ms, ``PeerManager.Connected`` gives it the
    broadcast want-have and signals the session (``peermanager.go@f298c9b``), which marks s1
    available again (its HAVE is still in the block presence manager) and sends it the
    want-block: the queue merges both into one want-block, and the block arrives at
    0.1 + D + 2L. With v0.2.0's exhaustion check on peer loss (PR #272, ``exhausted``), s1's
    departure leaves no peer for c: c is broadcast (to nobody new: s2 already had it);
    ``@f298c9b`` checks exhaustion on DONT_HAVEs only."""
    net, sw = swarm(["s1", "s2", "leech"], mesh(["s1", "s2", "leech"]), strategy="poc-2020-02",
                    config=Poc202002Config(exhausted_broadcast=broadcast))  # fmt: skip
    obj = one_block()
    c = obj.root
    sw.seed("s1", obj)
    sw.fetch("leech", obj)
    net.call_at(2 * D + 2.5 * L, lambda e: sw.connectivity.leave("s1"), None)
    net.call_at(0.1, lambda e: sw.connectivity.rejoin("s1"), None)
    assert sw.run(max_sim_time_s=5.0)
    assert items(net, {"want-have", "have", "want-block", "block"}) == [
        (D + L, "leech", "s1", "want-have", c),
        (D + L, "leech", "s2", "want-have", c),
        (D + 2 * L, "s1", "leech", "have", c),
        (pytest.approx(0.1 + D + L), "leech", "s1", "want-block", c),
        (pytest.approx(0.1 + D + 2 * L), "s1", "leech", "block", c),
    ]
    assert net.node("leech").lost["want-block"][0] == 1
    assert sw.peer("leech").fetches[0].time_to_fetch_s == pytest.approx(0.1 + D + 2 * L)
    assert sw.peer("leech").fetches[0].session.broadcasts == broadcasts


# ------------------------------------------------------------------------- found providers
@pytest.mark.parametrize("counts", [True, False])
def test_a_found_provider_is_asked_only_if_it_counts_as_a_have(counts):
    """s holds nothing when the broadcast want-have reaches it (D + L, no DONT_HAVE asked for),
    so it stays silent; c is put in its blockstore at 50 ms (no Bitswap message tells anyone).
    The first idle tick (1 s, no latency known) searches providers: after the 250 ms lookup the
    DHT reports s. v0.2.0 (``Session.findMorePeers``, ``session.go@v0.2.0``, PR #275): a
    provider counts as a HAVE, s joins the want sender and gets the want-block.
    ``@f298c9b`` (``peerFoundMessage``, ``sessionpeermanager.go@f298c9b``): s is only a
    discovered peer; the want sender never hears of it, and c was already sent to s as a
    want-have, so no idle tick sends it again: the fetch waits."""
    net, sw = swarm(["s", "leech"], [("s", "leech", L)], strategy="poc",
                    config=poc(provider_counts_as_have=counts))  # fmt: skip
    obj = one_block()
    c = obj.root
    lookups = []

    def holders(cid: int) -> list[str]:
        lookups.append((round(net.now, 9), cid))
        return sw.holders(cid)

    routing = DhtRouting(holders=holders, lookup_delay_s=0.25)
    for p in sw.peers.values():
        p.client.providers._routing = routing
    sw.fetch("leech", obj)
    net.call_at(0.05, lambda e: sw.seed("s", obj), None)
    assert sw.run(max_sim_time_s=5.0) is counts
    assert lookups[0] == (1.0, c)
    session = sw.peer("leech").fetches[0].session
    assert session.sws.peers_discovered
    if counts:
        assert items(net, {"want-block", "block"}) == [
            (pytest.approx(1.25 + D + L), "leech", "s", "want-block", c),
            (pytest.approx(1.25 + D + 2 * L), "s", "leech", "block", c),
        ]
    else:
        assert items(net, {"want-block", "block"}) == []
        assert "s" not in session.sws.peers
