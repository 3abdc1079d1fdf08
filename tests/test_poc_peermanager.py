"""poc's peer want manager (internal/peermanager/peerwantmanager.go@v0.2.0).

:class:`PeerWantManager` keeps one byte per peer and CID where Go keeps two CID sets per peer
(``wantBlocks``, ``wantHaves``). :class:`_GoSets` is Go's representation, written out plainly;
every operation must give the same result with both, in the same peer order.
"""

from __future__ import annotations

from collections.abc import Hashable

from hypothesis import given, settings
from hypothesis import strategies as st

from models.poc.peermanager import PeerWantManager


class _GoSets:
    """The reference: per peer (in connection order) a want-block set and a want-have set."""

    def __init__(self) -> None:
        self.peers: dict[Hashable, tuple[set[int], set[int]]] = {}

    def add_peer(self, peer: Hashable) -> None:
        self.peers.setdefault(peer, (set(), set()))

    def remove_peer(self, peer: Hashable) -> None:
        self.peers.pop(peer, None)

    def prepare_broadcast_want_haves(self, cids: list[int]) -> dict[Hashable, list[int]]:
        out: dict[Hashable, list[int]] = {}
        for peer, (blocks, haves) in self.peers.items():
            for cid in cids:
                if cid not in blocks and cid not in haves:
                    haves.add(cid)
                    out.setdefault(peer, []).append(cid)
        return out

    def prepare_send_wants(self, peer, want_blocks, want_haves):
        if peer not in self.peers:
            return [], []
        blocks, haves = self.peers[peer]
        res_blocks, res_haves = [], []
        for cid in want_blocks:
            if cid not in blocks:  # a want-block supersedes a want-have
                blocks.add(cid)
                haves.discard(cid)
                res_blocks.append(cid)
        for cid in want_haves:
            if cid not in blocks and cid not in haves:
                haves.add(cid)
                res_haves.append(cid)
        return res_blocks, res_haves

    def prepare_send_cancels(self, cids: list[int]) -> dict[Hashable, list[int]]:
        out: dict[Hashable, list[int]] = {}
        for peer, (blocks, haves) in self.peers.items():
            for cid in cids:
                if cid in blocks or cid in haves:
                    blocks.discard(cid)
                    haves.discard(cid)
                    out.setdefault(peer, []).append(cid)
        return out


_cids = st.integers(0, 300)  # past the first table sizes, so the tables grow mid-run
_op = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 5)),
    st.tuples(st.just("remove"), st.integers(0, 5)),
    st.tuples(st.just("bcst"), st.lists(_cids, max_size=4)),
    st.tuples(
        st.just("wants"),
        st.tuples(st.integers(0, 5), st.lists(_cids, max_size=3), st.lists(_cids, max_size=3)),
    ),
    st.tuples(st.just("cancel"), st.lists(_cids, min_size=1, max_size=3)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_op, max_size=40))
def test_byte_tables_behave_as_gos_two_sets_per_peer(ops):
    pwm, ref = PeerWantManager(), _GoSets()
    for op, arg in ops:
        if op == "add":
            pwm.add_peer(arg)
            ref.add_peer(arg)
        elif op == "remove":
            pwm.remove_peer(arg)
            ref.remove_peer(arg)
        elif op == "bcst":
            got, expected = (
                pwm.prepare_broadcast_want_haves(arg),
                ref.prepare_broadcast_want_haves(arg),
            )
            assert list(got.items()) == list(expected.items())
        elif op == "wants":
            peer, blocks, haves = arg
            assert pwm.prepare_send_wants(peer, blocks, haves) == ref.prepare_send_wants(
                peer, blocks, haves
            )
        else:
            cids = list(dict.fromkeys(arg))
            expected = ref.prepare_send_cancels(cids)
            if len(cids) == 1:
                got = {peer: cids for peer in pwm.prepare_send_cancel(cids[0])}
            else:
                got = pwm.prepare_send_cancels(cids)
            assert list(got.items()) == list(expected.items())
        # the same state: byte 2 = in wantBlocks, byte 1 = in wantHaves
        assert list(pwm.peer_wants) == list(ref.peers)
        for peer, sent in pwm.peer_wants.items():
            assert len(sent) == pwm.size
            blocks, haves = ref.peers[peer]
            assert {c for c, b in enumerate(sent) if b == 2} == blocks
            assert {c for c, b in enumerate(sent) if b == 1} == haves


def test_a_want_block_supersedes_a_want_have_and_is_never_sent_twice():
    """peerwantmanager.go@v0.2.0 PrepareSendWants: a want-have already sent as a want-block is
    dropped; a want-block replaces a want-have sent earlier."""
    pwm = PeerWantManager()
    pwm.add_peer("a")
    assert pwm.prepare_send_wants("a", [], [5, 6]) == ([], [5, 6])
    assert pwm.prepare_send_wants("a", [5], [6, 7]) == ([5], [7])
    assert pwm.prepare_send_wants("a", [5], [5]) == ([], [])
    assert pwm.prepare_send_cancels([5, 6, 9]) == {"a": [5, 6]}
    assert pwm.prepare_send_wants("a", [], [5]) == ([], [5])
