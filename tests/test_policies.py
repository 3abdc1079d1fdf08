"""Fan-out policies: the knobs of both strategies, and a policy class passed from outside."""

from __future__ import annotations

from dataclasses import replace

import pytest

from models.master.config import MasterConfig
from models.master.splitter import RequestSplitter
from models.poc.config import PocConfig
from models.poc.policy import WantPolicy

from _scenarios import dag_with_children, drain, items, mesh, swarm


def three_seeds(strategy, children=8, **opts):
    names = ["s1", "s2", "s3", "leech"]
    net, sw = swarm(names, mesh(names), strategy=strategy, **opts)
    obj = dag_with_children(children)
    for s in names[:3]:
        sw.seed(s, obj)
    sw.fetch("leech", obj)
    assert sw.run()
    drain(net)
    return net, sw, obj


def want_blocks_per_cid(net, cids):
    wb = items(net, {"want-block"})
    return {c: sorted(d for _, _, d, _, cid in wb if cid == c) for c in cids}


def test_poc_default_one_want_block_per_cid_and_want_haves_to_the_rest():
    """go-bitswap v0.2.0: exactly one want-block per child, want-haves to the two others."""
    net, sw, obj = three_seeds("poc")
    kids = obj.cids_in_order[1:]
    assert all(len(p) == 1 for p in want_blocks_per_cid(net, kids).values())
    wh = items(net, {"want-have"})
    assert all(len({d for _, _, d, _, cid in wh if cid == c}) == 2 for c in kids)
    assert sw.peer("leech").stats.dup_blocks_received == 0


def test_poc_two_want_block_peers_per_cid():
    cfg = PocConfig(want_block_peers=2)
    net, sw, obj = three_seeds("poc", config=cfg)
    kids = obj.cids_in_order[1:]
    assert all(len(p) == 2 for p in want_blocks_per_cid(net, kids).values())
    assert sw.peer("leech").stats.dup_blocks_received == len(kids) + 1  # the root too


def test_poc_want_have_fanout_k():
    """want_have_fanout = 1: besides its want-block peer, each child goes as want-have to one
    other peer only (piggy-backing can still add more)."""
    cfg = PocConfig(want_have_fanout=1)
    net, _sw, obj = three_seeds("poc", config=cfg, children=1)
    x = obj.cids_in_order[1]
    targeted = [d for _, _, d, k, cid in items(net, {"want-have", "want-block"}) if cid == x]
    assert len(targeted) == 2


@pytest.mark.parametrize("choice", ["random", "lowest-latency", "first-responder"])
def test_poc_peer_choices_complete(choice):
    _, sw, _ = three_seeds("poc", config=PocConfig(peer_choice=choice))
    assert sw.peer("leech").fetches[0].completed


class AlwaysFirst(WantPolicy):
    """A policy from outside the package: the want-block always goes to the first candidate of
    the best group, and no want-haves are sent."""

    calls = 0

    def want_block_peers(self, cid, groups, outstanding, view):
        AlwaysFirst.calls += 1
        return [groups[0][0]] if outstanding == 0 else []

    def want_have_peers(self, cid, session_peers, want_block_peers, view):
        return []


def test_a_custom_poc_policy_class():
    AlwaysFirst.calls = 0
    net, sw, obj = three_seeds("poc", policy=AlwaysFirst)
    kids = obj.cids_in_order[1:]
    assert AlwaysFirst.calls >= len(kids)
    targets = want_blocks_per_cid(net, kids)
    assert len({tuple(t) for t in targets.values()}) == 1  # always the same peer
    assert sw.peer("leech").fetches[0].completed


class OnePeerPerKey(RequestSplitter):
    """A master policy from outside: each live want to exactly one session peer, round robin
    (go-bitswap's splitter sends a want to len(peers) / split peers)."""

    def split_request(self, peers, keys):
        return [([peers[i % len(peers)]], [key]) for i, key in enumerate(keys)]


def test_a_custom_master_splitter_class():
    """With 3 seeds, go-bitswap's splitter oscillates between split 1 (every want to every
    peer) and higher splits, duplicating many blocks; one peer per key leaves only the root
    broadcast's 2 duplicates."""
    names = ["s1", "s2", "s3", "leech"]

    def run(policy):
        _net, sw = swarm(names, mesh(names), strategy="master", policy=policy)
        obj = dag_with_children(100)
        for s in names[:3]:
            sw.seed(s, obj)
        sw.fetch("leech", obj)
        assert sw.run()
        return sw.peer("leech").stats.dup_blocks_received

    assert run(OnePeerPerKey) == 2
    assert run(None) > 50


def test_master_split_bounds_are_knobs():
    cfg = replace(MasterConfig(), initial_split=4, max_split=4, min_dupes_to_try_less_splits=0.0)
    s = RequestSplitter(cfg)
    for _ in range(10):
        s.record_unique()
        s.record_duplicate()
    assert s.split == 4
