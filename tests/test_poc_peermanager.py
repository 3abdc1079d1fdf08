"""poc's peer want manager (internal/peermanager/peerwantmanager.go@v0.2.0): the cancels of
one CID, taken from the CID -> sent-to index, go to the same peers in the same order as a scan
of every peer (in connection order) would find them."""

from __future__ import annotations

from collections.abc import Hashable

from hypothesis import given, settings
from hypothesis import strategies as st

from models.poc.peermanager import PeerWantManager

_op = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 5)),
    st.tuples(st.just("remove"), st.integers(0, 5)),
    st.tuples(st.just("bcst"), st.lists(st.integers(0, 8), max_size=4)),
    st.tuples(
        st.just("wants"),
        st.tuples(
            st.integers(0, 5),
            st.lists(st.integers(0, 8), max_size=3),
            st.lists(st.integers(0, 8), max_size=3),
        ),
    ),
    st.tuples(st.just("cancel"), st.lists(st.integers(0, 8), min_size=1, max_size=3)),
)


def _scan_cancels(pwm: PeerWantManager, cids: list[int]) -> dict[Hashable, list[int]]:
    """The reference: every peer in connection order, each CID it was sent a want for."""
    out: dict[Hashable, list[int]] = {}
    for peer in sorted(pwm.peer_wants, key=pwm._rank.__getitem__):
        blocks, haves = pwm.peer_wants[peer]
        for cid in cids:
            if cid in blocks or cid in haves:
                out.setdefault(peer, []).append(cid)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(_op, max_size=30))
def test_cancels_match_a_scan_of_every_peer(ops):
    pwm = PeerWantManager()
    for op, arg in ops:
        if op == "add":
            pwm.add_peer(arg)
        elif op == "remove":
            pwm.remove_peer(arg)
        elif op == "bcst":
            pwm.prepare_broadcast_want_haves(arg)
        elif op == "wants":
            peer, blocks, haves = arg
            pwm.prepare_send_wants(peer, blocks, haves)
        else:
            expected = _scan_cancels(pwm, list(dict.fromkeys(arg)))
            if len(arg) == 1:
                got = {peer: [arg[0]] for peer in pwm.prepare_send_cancel(arg[0])}
            else:
                got = pwm.prepare_send_cancels(list(dict.fromkeys(arg)))
            assert got == expected
            assert list(got) == list(expected)
            for cid in arg:
                assert not pwm._sent.get(cid)
        # the index: CID -> exactly the peers whose sets hold it
        for peer, (blocks, haves) in pwm.peer_wants.items():
            for cid in blocks | haves:
                assert peer in pwm._sent[cid]
        for cid, peers in pwm._sent.items():
            for peer in peers:
                assert cid in pwm.peer_wants[peer][0] | pwm.peer_wants[peer][1]
