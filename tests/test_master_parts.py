"""master client parts in isolation: splitter, session peer manager, wantlists, queues."""

from __future__ import annotations

import numpy as np
import pytest

from models.master.config import MasterConfig
from models.master.sessionpeers import SessionPeerManager
from models.master.splitter import RequestSplitter
from models.master.wantlist import SessionTrackedWantlist

CFG = MasterConfig()


# --------------------------------------------------------------------------- splitter


def test_split_drops_to_1_after_the_first_unique_then_climbs_on_duplicates():
    """sessionrequestsplitter.go@v0.1.8: a unique block with dup ratio 0 < 0.2 lowers the split
    (no minimum-received guard); duplicates raise it once received > 2 and ratio > 0.4."""
    s = RequestSplitter(CFG)
    assert s.split == 2
    s.record_unique()  # received 1, dups 0 -> ratio 0 < 0.2 -> 1
    assert s.split == 1
    s.record_duplicate()  # received 2, dups 1: 0.5 > 0.4 but received 2 is not > 2
    assert s.split == 1
    s.record_duplicate()  # received 3, dups 2: 0.67 > 0.4 -> 2
    assert s.split == 2
    s.record_duplicate()  # received 4, dups 3 -> 3
    assert s.split == 3
    s.record_unique()  # received 5, dups 3: 0.6, not < 0.2 -> stays
    assert s.split == 3


def test_split_is_capped_at_max_split():
    s = RequestSplitter(CFG)
    for _ in range(100):
        s.record_duplicate()
    assert s.split == 16


def test_split_request_groups_peers_and_keys_round_robin():
    s = RequestSplitter(CFG)  # split 2
    peers = ["p0", "p1", "p2", "p3", "p4"]
    keys = [0, 1, 2, 3, 4, 5, 6]
    assert s.split_request(peers, keys) == [
        (["p0", "p2", "p4"], [0, 2, 4, 6]),
        (["p1", "p3"], [1, 3, 5]),
    ]


def test_split_request_with_fewer_keys_than_groups_leaves_peer_groups_out():
    s = RequestSplitter(MasterConfig(initial_split=3))
    assert s.split_request(["a", "b", "c", "d"], [10, 11]) == [(["a", "d"], [10]), (["b"], [11])]
    # fewer peers than the split: one group per peer
    assert s.split_request(["a"], [10, 11, 12]) == [(["a"], [10, 11, 12])]


# --------------------------------------------------------------------------- wantlist


def test_session_tracked_wantlist():
    """wantlist/wantlist.go@v0.1.8: Add is True only for a new CID; Remove only when the last
    session lets go."""
    wl = SessionTrackedWantlist()
    assert wl.add(7, 100, "s1") is True
    assert wl.add(7, 99, "s2") is False
    assert wl.remove(7, "s1") is False
    assert 7 in wl
    assert wl.remove(7, "s2") is True
    assert 7 not in wl
    assert wl.remove(7, "s2") is False


# --------------------------------------------------------------------------- session peers


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def spm(clock, cfg=CFG, seed=0):
    found = []
    m = SessionPeerManager(cfg, clock, np.random.default_rng(seed), lambda c, cb: found.append(c))
    return m, found


def test_latency_samples_order_peers_and_ewma_weight_half():
    """peerdata.go@v0.1.8: first sample taken as is, then EWMA with weight 0.5; optimized peers
    sorted by latency ahead of unoptimized ones."""
    clock = Clock()
    m, _ = spm(clock)
    m.record_response("slow", [])  # joins, no sample: unoptimized
    m.record_response("a", [])
    m.record_response("b", [])
    m.record_requests(["a", "b"], [1])
    clock.t = 0.1
    m.record_response("a", [1])  # 0.1
    clock.t = 0.3
    m.record_response("b", [1])  # 0.3
    assert m.get_optimized_peers() == ["a", "b", "slow"]
    m.record_requests(["a"], [2])
    clock.t = 1.3
    m.record_response("a", [2])  # sample 1.0 -> 0.5 * 0.1 + 0.5 * 1.0 = 0.55
    assert m.latency_of("a") == pytest.approx(0.55)
    assert m.get_optimized_peers() == ["b", "a", "slow"]


def test_broadcast_time_is_the_fallback_sample():
    """A block from a peer never asked directly is timed from the CID's broadcast."""
    clock = Clock()
    m, _ = spm(clock)
    m.record_requests(None, [5])
    clock.t = 0.25
    m.record_response("x", [5])
    assert m.latency_of("x") == 0.25


def test_unanswered_targeted_want_costs_a_5s_sample_at_its_deadline():
    """latencytracker.go@v0.1.8: the 5 s timeout records a ~5 s latency unless the block has
    arrived from anyone (RecordCancels)."""
    clock = Clock()
    m, _ = spm(clock)
    m.record_response("a", [])
    m.record_response("b", [])
    m.record_requests(["a", "b"], [1, 2])
    clock.t = 0.5
    m.record_response("b", [1])  # b answers 1 after 0.5 s
    m.record_cancels([1])  # the session got 1: a's request for 1 no longer penalises
    clock.t = 4.99
    assert m.latency_of("a") is None  # nothing has expired yet
    assert m.latency_of("b") == 0.5
    clock.t = 5.0
    # both requests for 2 expire at 5.0: a gets a first sample of 5 s; b's EWMA takes 5 s in;
    # a's request for 1 expires cancelled, without a sample
    assert m.latency_of("a") == 5.0
    assert m.latency_of("b") == pytest.approx(0.5 * 0.5 + 0.5 * 5.0)


def test_at_most_32_peers_and_unoptimized_order_is_random_but_seeded():
    clock = Clock()
    m1, _ = spm(clock, seed=1)
    m2, _ = spm(clock, seed=1)
    for i in range(40):
        m1.record_response(f"p{i}", [])
        m2.record_response(f"p{i}", [])
    a, b = m1.get_optimized_peers(), m2.get_optimized_peers()
    assert len(a) == 32 and a == b
    assert a != [f"p{i}" for i in range(32)]


def test_provider_search_results_join_unoptimized():
    clock = Clock()
    found_peers = []

    def finder(cid, on_provider):
        found_peers.append(cid)
        on_provider("prov")

    m = SessionPeerManager(CFG, clock, np.random.default_rng(0), finder)
    m.find_more_peers(9)
    assert found_peers == [9]
    assert m.has_peers() and m.get_optimized_peers() == ["prov"]
