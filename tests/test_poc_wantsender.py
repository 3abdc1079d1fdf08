"""poc's session want sender (internal/session/sessionwantsender.go@v0.2.0) against go's plain scan.

:class:`SessionWantSender` decides only for the wants whose state changed since the last round
(its dirty set) and piggy-backs on a peer's want-blocks only the wants added since that peer was
last given them (a cursor into the log of wants). Go's ``sendNextWants`` visits every want on
every round, and ``sendWants`` / ``getPiggybackWantHaves`` give every peer of the round a
want-have for every want never sent to it as want-block. The peer want manager forgets a peer
when it disconnects (``peermanager.go@v0.2.0``), so go's scan sends a reconnected peer those
want-haves again: the cursor restarts with each connection. :class:`_GoFullScan` is that plain
scan, on the same state-keeping code. Driven by the same changes, both must get the same wants
through the peer want manager (which drops what a peer was already sent) to the same peers, leave
every want with the same want-block peers, tell the session the same CIDs went out and report
the same exhausted wants.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from models.poc.config import PocConfig
from models.poc.peermanager import PeerWantManager
from models.poc.policy import WantPolicy
from models.poc.presence import BlockPresenceManager
from models.poc.wantsender import DONT_HAVE, HAVE, UNKNOWN, SessionWantSender

PEERS = range(4)


class _GoFullScan(SessionWantSender):
    """sessionwantsender.go@v0.2.0 ``sendNextWants`` + ``sendWants`` written plainly: every
    want is looked at on every round (no dirty set); every peer sent anything in a round gets a
    want-have for every want not sent to it as want-block (no cursor)."""

    def _send_next_wants(self, newly_available: list[Hashable]) -> None:
        self._dirty = {}
        to_send: dict[Hashable, tuple[list[int], list[int]]] = {}  # peer -> (blocks, haves)
        policy = self.policy
        for cid, wi in self.wants.items():
            for p in newly_available:
                to_send.setdefault(p, ([], []))[1].append(cid)
            if len(wi.sent_to) >= policy.want_blocks:
                continue  # a want-block is out and no answer yet
            have = [p for p, bp in wi.presence.items() if bp == HAVE and p not in wi.sent_to]
            unknown = [p for p, bp in wi.presence.items() if bp == UNKNOWN and p not in wi.sent_to]
            groups = [g for g in (have, unknown) if g]
            if not groups:
                continue  # no best peer
            chosen = policy.want_block_peers(cid, groups, len(wi.sent_to), self)
            wi.sent_to.extend(chosen)
            for p in chosen:
                to_send.setdefault(p, ([], []))[0].append(cid)
            for p in policy.want_have_peers(cid, list(self.peers), wi.sent_to, self):
                to_send.setdefault(p, ([], []))[1].append(cid)
        now = self._net.env.now
        sent: list[int] = []
        for p, (blocks, haves) in to_send.items():
            sent_wb = self.sent_want_blocks.setdefault(p, set())
            haves += [c for c in self.wants if c not in blocks and c not in sent_wb]
            self._pm.send_wants(p, blocks, haves)
            sent += blocks + haves
            sent_wb.update(blocks)
            for cid in blocks:
                self._wb_sent_at[(p, cid)] = now
        if sent:
            self._on_wants_sent(sent)


class _Env:
    now = 0.0


class _Net:
    """What the want sender uses of the network: the clock, and ``call_soon`` (run by hand)."""

    def __init__(self) -> None:
        self.env = _Env()
        self.soon: list[Callable[[], None]] = []

    def call_soon(self, fn: Callable[[], None]) -> None:
        self.soon.append(fn)


class _PeerManager:
    """The peer want manager in front of every connected peer; records what passed it."""

    def __init__(self) -> None:
        self.pwm = PeerWantManager()
        self.epochs: dict[Hashable, int] = {}
        for p in PEERS:
            self.reconnect(p)
        self.round: dict[Hashable, tuple[set[int], set[int]]] = {}

    def reconnect(self, peer: Hashable) -> None:
        """``Disconnected`` + ``Connected``: the peer want manager forgets the peer."""
        self.pwm.remove_peer(peer)
        self.pwm.add_peer(peer)
        self.epochs[peer] = self.epochs.get(peer, 0) + 1

    def send_wants(self, peer: Hashable, want_blocks: list[int], want_haves: list[int]) -> None:
        blocks, haves = self.pwm.prepare_send_wants(peer, want_blocks, want_haves)
        got = self.round.setdefault(peer, (set(), set()))
        got[0].update(blocks)
        got[1].update(haves)


class _Rng:
    """A generator that always draws the same: the choice among peers depends on the state
    only, not on how many draws came before (the two senders visit wants in other orders)."""

    def random(self) -> float:
        return 0.6

    def integers(self, n: int) -> int:
        return n // 2

    def permutation(self, n: int) -> list[int]:
        return list(range(n))[::-1]


class _Side:
    """One want sender with its own peer manager, network and session callbacks."""

    def __init__(self, cls: type[SessionWantSender], cfg: PocConfig, bpm: Any) -> None:
        self.net = _Net()
        self.pm = _PeerManager()
        self.sent: set[int] = set()
        self.exhausted: list[int] = []
        self.sws = cls(
            cfg,
            self.net,
            bpm,
            self.pm,
            WantPolicy(cfg),
            _Rng(),
            self.sent.update,
            self._exhausted,
        )

    def _exhausted(self, cids: list[int]) -> None:
        # the session broadcasts them (PeerManager.BroadcastWantHaves)
        self.exhausted += cids
        self.pm.pwm.prepare_broadcast_want_haves(cids)

    def state(self) -> tuple[Any, ...]:
        s = self.sws
        return (
            {p: sets for p, sets in self.pm.round.items() if sets[0] or sets[1]},
            {cid: sorted(wi.sent_to) for cid, wi in s.wants.items()},
            {cid: wi.exhausted for cid, wi in s.wants.items()},
            sorted(self.sent),
            sorted(self.exhausted),
            list(s.peers),
            s.pruned,
        )


_cids = st.lists(st.integers(0, 12), max_size=4)
_peer = st.sampled_from(list(PEERS))
_op = st.one_of(
    st.tuples(st.just("add"), _cids),
    st.tuples(st.just("update"), st.tuples(_peer, _cids, _cids, _cids)),
    st.tuples(st.just("available"), st.tuples(_peer, st.booleans())),
    st.tuples(st.just("tick"), st.integers(1, 50)),
    st.tuples(st.just("soon"), st.none()),
    st.tuples(st.just("reconnect"), _peer),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_op, max_size=40),
    st.sampled_from(["first-responder", "lowest-latency"]),
    st.integers(1, 2),
    st.integers(1, 3),
)
def test_dirty_set_and_cursor_send_what_gos_full_scan_sends(ops, choice, want_blocks, limit):
    cfg = PocConfig(peer_choice=choice, want_block_peers=want_blocks, peer_dont_have_limit=limit)
    bpm = BlockPresenceManager()
    fast, plain = _Side(SessionWantSender, cfg, bpm), _Side(_GoFullScan, cfg, bpm)
    sides = (fast, plain)
    for op, arg in ops:
        for side in sides:
            side.pm.round = {}
        if op == "add":
            for side in sides:
                side.sws.add(arg)
        elif op == "update":
            peer, blocks, haves, dont_haves = arg
            blocks = list(dict.fromkeys(blocks))
            # the client: the block presence manager first, then the session, then cancels
            bpm.receive_from(peer, haves, dont_haves)
            for side in sides:
                side.sws.update(peer, blocks, haves, dont_haves)
                side.pm.pwm.prepare_send_cancels(blocks)
        elif op == "available":
            for side in sides:
                side.sws.signal_availability(*arg)
        elif op == "reconnect":
            for side in sides:
                side.pm.reconnect(arg)
        elif op == "tick":
            for side in sides:
                side.net.env.now += arg / 1000
        else:
            for side in sides:
                soon, side.net.soon = side.net.soon, []
                for fn in soon:
                    fn()
        assert fast.state() == plain.state(), op


def test_presence_classes_keep_gos_order():
    """``BPDontHave < BPUnknown < BPHave`` (sessionwantsender.go@v0.2.0)."""
    assert DONT_HAVE < UNKNOWN < HAVE


def test_go_piggybacks_for_every_peer_of_a_round():
    """go's ``sendWants`` piggy-backs for every peer it sends to, want-haves only included.

    Peers 0 and 1 said HAVE for 0 and DONT_HAVE for 1 before the session wanted them. Adding
    both: the want-block for 0 goes to one peer, a want-have for 0 to the other; want 1 has no
    candidate. go sends both peers a want-have for 1 (piggy-backed)."""
    cfg = PocConfig(peer_choice="lowest-latency")
    bpm = BlockPresenceManager()
    side = _Side(SessionWantSender, cfg, bpm)
    for peer in (0, 1):
        bpm.receive_from(peer, [0], [1])
        side.sws.update(peer, [], [0], [1])
    side.pm.round = {}
    side.sws.add([0, 1])
    assert side.pm.round == {0: ({0}, {1}), 1: (set(), {0, 1})}


def test_a_reconnected_peer_is_piggy_backed_every_want_again():
    """Peer 0 was sent a want-have for 1, then disconnected and came back: the peer want manager
    forgot it (``peermanager.go@v0.2.0``). The next round that sends peer 0 anything gives it
    a want-have for 1 again, as go's full scan does."""
    cfg = PocConfig(peer_choice="lowest-latency")
    bpm = BlockPresenceManager()
    side = _Side(SessionWantSender, cfg, bpm)
    side.sws.add([1])
    for peer in (1, 0):
        bpm.receive_from(peer, [0], [])
        side.sws.update(peer, [], [0], [])
    assert side.sws.wants[1].sent_to == [1]
    side.pm.reconnect(0)
    side.pm.round = {}
    side.sws.add([0])
    assert side.pm.round == {1: ({0}, set()), 0: (set(), {0, 1})}
