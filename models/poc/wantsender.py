"""poc's session want sender (``internal/session/sessionwantsender.go@v0.2.0``).

Per CID a :class:`WantInfo`: what each session peer is known to have (HAVE > unknown >
DONT_HAVE, from the block presence manager), which peer holds the outstanding want-block, and
whether the CID is exhausted (every session peer said DONT_HAVE).

On every change (CIDs added, blocks / HAVEs / DONT_HAVEs from a peer, a peer joining or leaving):

* **availability**: a peer that sent a block or HAVE the session cares about joins the session
  (its presence is filled in for every pending want, its DONT_HAVE count is reset); a pruned
  peer leaves it, and so, when sessions track connectivity (before PR #275), does a peer that
  disconnects (its want-blocks are freed for other peers) until it reconnects;
* **blocks**: the want is done; the sender is credited as first responder;
* **DONT_HAVEs**: the peer's consecutive DONT_HAVE count grows (the 17th marks it for pruning,
  ``peerDontHaveLimit`` = 16, unless ``prune_peers`` is off); its presence becomes DONT_HAVE;
  if it held the want-block, the want-block is free to go elsewhere;
* **HAVEs**: presence HAVE (sticky), count reset, pruning cancelled; a pruned peer is kept if it
  has sent HAVE for any pending want;
* **exhaustion**: a want every session peer has DONT_HAVE for is reported once to the session,
  which broadcasts want-haves and searches for providers (checked on DONT_HAVEs and, from PR
  #272, when a peer leaves: ``exhausted_broadcast``);
* **send**: newly joined peers get want-haves for every pending want; every want without an
  outstanding want-block gets one to the peer(s) the policy picks (:mod:`models.poc.policy`),
  and want-haves to the others; every peer the round sends anything to also gets want-haves
  for every other want never sent to it as want-block ("piggy-backed",
  ``getPiggybackWantHaves``).

Modelling notes. go-bitswap runs this on its own goroutine, batching up to 128 changes; here
each change is applied when it happens. go-bitswap recomputes each want's best peer (one random
draw) on every presence change and uses the last one when it sends; here the best peer is drawn
when the want-block is sent, from the same presence state, which gives the same distribution
with fewer draws. go-bitswap iterates its wants map in random order; here wants are visited in
the order they were added, and only those whose state changed (the result is the same set of
messages; only the order of entries, hence their priorities within one round, differs). The
piggy-back step sends each peer the wants added since it was last given them in its current
connection, which reaches the same want-haves as go-bitswap's full scan after its peer want
manager drops duplicates (that manager forgets a peer that disconnects, so a reconnected peer
is given every want again). ``tests/test_poc_wantsender.py`` checks both shortcuts against
go's full scan.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Hashable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from models.poc.config import PocConfig
from models.poc.policy import WantPolicy

if TYPE_CHECKING:
    from models.poc.peermanager import PeerManager
    from models.poc.presence import BlockPresenceManager
    from sim.network import Network

__all__ = ["DONT_HAVE", "HAVE", "UNKNOWN", "SessionWantSender", "WantInfo", "WantSets", "for_peer"]

DONT_HAVE, UNKNOWN, HAVE = 0, 1, 2
"""Block presence classes (``BPDontHave < BPUnknown < BPHave``)."""


class WantInfo:
    """One pending want of the session."""

    __slots__ = ("exhausted", "presence", "sent_to")

    def __init__(self) -> None:
        self.presence: dict[Hashable, int] = {}
        self.sent_to: list[Hashable] = []
        self.exhausted = False


class WantSets:
    """What one round sends one peer (go's ``wantSets``): its want-blocks and want-haves, each a
    dict used as an insertion-ordered set of CIDs."""

    __slots__ = ("want_blocks", "want_haves")

    def __init__(self) -> None:
        self.want_blocks: dict[int, None] = {}
        self.want_haves: dict[int, None] = {}


def for_peer(sends: dict[Hashable, WantSets], peer: Hashable) -> WantSets:
    """``allWants.forPeer``: ``peer``'s sets in ``sends``, created empty on first use."""
    sets = sends.get(peer)
    if sets is None:
        sets = sends[peer] = WantSets()
    return sets


class SessionWantSender:
    """Decides and sends the wants of one session (module docstring).

    Args:
        on_wants_sent: ``f(cids)``: the session moves them from to-fetch to live.
        on_peers_exhausted: ``f(cids)``: the session broadcasts want-haves for them.
    """

    def __init__(
        self,
        cfg: PocConfig,
        net: Network,
        bpm: BlockPresenceManager,
        pm: PeerManager,
        policy: WantPolicy,
        rng: np.random.Generator,
        on_wants_sent: Callable[[list[int]], None],
        on_peers_exhausted: Callable[[list[int]], None],
    ) -> None:
        self._cfg = cfg
        self._net = net
        self._bpm = bpm
        self._pm = pm
        self.policy = policy
        self.rng = rng
        self._on_wants_sent = on_wants_sent
        self._on_peers_exhausted = on_peers_exhausted
        self.wants: dict[int, WantInfo] = {}
        self.peers: dict[Hashable, None] = {}
        self.peers_discovered = False
        self.consecutive_dont_haves: dict[Hashable, int] = {}
        self.sent_want_blocks: dict[Hashable, set[int]] = {}
        self.first_responder: dict[Hashable, int] = {}
        self._dirty: dict[int, None] = {}
        self._log: list[int] = []
        self._cursor: dict[Hashable, tuple[int, int]] = {}
        """Peer -> (connection epoch, length of :attr:`_log` when it was last piggy-backed)."""
        self._wb_sent_at: dict[tuple[Hashable, int], float] = {}
        self._latency: dict[Hashable, float] = {}
        self.pruned = 0

    # ------------------------------------------------------------------ PolicyView
    def first_responder_count(self, peer: Hashable) -> int:
        return self.first_responder.get(peer, self._cfg.first_responder_default_count)

    def latency_s(self, peer: Hashable) -> float | None:
        """EWMA (weight 0.5) of ``peer``'s want-block -> block round trips, seconds; None
        before the first sample.

        The project's own measure, not go-bitswap's: v0.2.0's session want sender keeps no
        per-peer latency (its session keeps one average over all received blocks,
        ``latencyTracker`` in ``internal/session/session.go@v0.2.0``). The weight is master's
        ``newLatencyWeight`` (``sessionpeermanager/peerdata.go@v0.1.8``). Only policies read
        it (``peer_choice = "lowest-latency"``, custom ones); go-bitswap's choice does not."""
        return self._latency.get(peer)

    # ------------------------------------------------------------------ changes
    def add(self, cids: Iterable[int]) -> None:
        """The session asked for ``cids``."""
        for cid in cids:
            self._track_want(cid)
        self._on_change({})

    def update(
        self, sender: Hashable, blocks: list[int], haves: list[int], dont_haves: list[int]
    ) -> None:
        """A peer sent blocks / HAVEs / DONT_HAVEs for CIDs the session is interested in.

        ``sender`` becomes available if it sent a block or HAVE; then, as on any change,
        exhausted wants are broadcast and the next wants sent (one call per received
        message)."""
        if blocks or haves:
            newly_available = [] if sender in self.peers else self._become_available(sender)
        elif dont_haves:
            newly_available = []
        else:
            return
        exhausted = self._process_update(sender, blocks, haves, dont_haves)
        if exhausted:
            self._check_for_exhausted_wants(exhausted, [])
        if self.peers:
            self._send_next_wants(newly_available)

    def signal_availability(self, peer: Hashable, available: bool) -> None:
        self._on_change({peer: available})

    def _on_change(self, availability: dict[Hashable, bool]) -> None:
        newly_available, newly_unavailable = self._process_availability(availability)
        self._check_for_exhausted_wants([], newly_unavailable)
        if self.peers:
            self._send_next_wants(newly_available)

    # ------------------------------------------------------------------ processing
    def _track_want(self, cid: int) -> None:
        if cid in self.wants:
            return
        wi = self.wants[cid] = WantInfo()
        self._log.append(cid)
        # wi.presence[peer] = what the block presence manager knows, for every session peer
        known_by_peer = self._bpm.by_cid.get(cid)
        if known_by_peer is None:
            wi.presence = dict.fromkeys(self.peers, UNKNOWN)  # nobody said anything yet
        else:
            presence = wi.presence
            for peer in self.peers:
                known = known_by_peer.get(peer)
                presence[peer] = UNKNOWN if known is None else HAVE if known else DONT_HAVE
        self._dirty[cid] = None

    def _record_presences(
        self,
        peer: Hashable,
        cids: Iterable[int],
        skip: Container[int] = (),
        sent_want_block: Container[int] = (),
    ) -> None:
        """For each wanted CID of ``cids`` not in ``skip``: record what the block presence
        manager now knows of ``peer`` having it, and if ``peer`` was sent a want-block for it
        (``sent_want_block``), take ``peer`` out of its sent-to (it answered DONT_HAVE). A CID
        whose decision may change is marked dirty. One call per list, not per CID: this runs
        for every presence received."""
        wants = self.wants
        by_cid = self._bpm.by_cid
        dirty = self._dirty
        for cid in cids:
            if cid in skip:
                continue
            wi = wants.get(cid)
            if wi is None:
                continue
            peers_known = by_cid.get(cid)  # bpm.presence(peer, cid), inlined
            known = None if peers_known is None else peers_known.get(peer)
            bp = UNKNOWN if known is None else HAVE if known else DONT_HAVE
            wi.presence[peer] = bp
            if bp == HAVE:
                wi.exhausted = False
            if bp != DONT_HAVE:
                dirty[cid] = None
            if cid in sent_want_block and peer in wi.sent_to:
                wi.sent_to.remove(peer)
                dirty[cid] = None

    def _process_availability(
        self, availability: dict[Hashable, bool]
    ) -> tuple[list[Hashable], list[Hashable]]:
        newly_available: list[Hashable] = []
        newly_unavailable: list[Hashable] = []
        for peer, available in availability.items():
            if available:
                if peer in self.peers:
                    continue
                newly_available.extend(self._become_available(peer))
                continue
            else:
                if peer not in self.peers:
                    continue
                del self.peers[peer]
                newly_unavailable.append(peer)
                for cid, wi in self.wants.items():
                    if peer in wi.sent_to:
                        wi.sent_to.remove(peer)
                    wi.presence.pop(peer, None)
                    self._dirty[cid] = None
            self.consecutive_dont_haves.pop(peer, None)
        return newly_available, newly_unavailable

    def _become_available(self, peer: Hashable) -> list[Hashable]:
        """A peer not in the session joins it: ``[peer]`` (newly available)."""
        self.peers[peer] = None
        self.peers_discovered = True
        self._record_presences(peer, self.wants)
        self.consecutive_dont_haves.pop(peer, None)
        return [peer]

    def _process_update(
        self, sender: Hashable, blocks: list[int], haves: list[int], dont_haves: list[int]
    ) -> list[int]:
        """Apply one peer's blocks, DONT_HAVEs and HAVEs to the wants (``processUpdates`` of
        sessionwantsender.go@v0.2.0); returns the CIDs it sent DONT_HAVE for."""
        wants = self.wants
        cdh = self.consecutive_dont_haves
        if blocks:
            now = self._net.env.now
            got: set[int] | tuple[()] = set(blocks)
            dirty = self._dirty
            wb_sent_at = self._wb_sent_at
            for cid in blocks:
                if wants.pop(cid, None) is not None:
                    self.first_responder[sender] = self.first_responder.get(sender, 0) + 1
                    dirty.pop(cid, None)
                sent_at = wb_sent_at.pop((sender, cid), None)
                if sent_at is not None:  # the project's own EWMA (see latency_s)
                    old = self._latency.get(sender)
                    sample = now - sent_at
                    self._latency[sender] = sample if old is None else 0.5 * old + 0.5 * sample
            cdh.pop(sender, None)
        else:
            got = ()
        prune = False
        out: dict[int, None] = {}
        if dont_haves:
            limit = self._cfg.peer_dont_have_limit
            for cid in dont_haves:
                count = cdh.get(sender, 0)
                if count == limit:
                    prune = True
                else:
                    cdh[sender] = count + 1
                if cid not in got:
                    out[cid] = None
            self._record_presences(sender, dont_haves, got, self.sent_want_blocks.get(sender, ()))
        if haves:
            self._record_presences(sender, haves, got)
            cdh.pop(sender, None)
            prune = False
        if prune and self._cfg.prune_peers and not self._bpm.peer_has_any_block(sender, wants):
            self.pruned += 1

            def unavailable() -> None:  # go: a goroutine signals unavailability later
                self.signal_availability(sender, False)

            self._net.call_soon(unavailable)
        return list(out)

    def _check_for_exhausted_wants(
        self, dont_haves: list[int], newly_unavailable: list[Hashable]
    ) -> None:
        """``checkForExhaustedWants`` (``sessionwantsender.go@v0.2.0``): the DONT_HAVEs' CIDs,
        and every want when a peer left. Before PR #272 (``exhausted_broadcast = "live"``,
        ``processUpdates`` in ``sessionwantsender.go@f298c9b``) only the DONT_HAVEs'."""
        if newly_unavailable and self._cfg.exhausted_broadcast == "live":
            newly_unavailable = []
        if not dont_haves and not newly_unavailable:
            return
        wants = dont_haves
        if newly_unavailable:
            wants = list(self.wants)
            if not self.peers:
                self._process_exhausted(wants)
                return
        if wants:
            self._process_exhausted(self._bpm.all_peers_do_not_have_block(list(self.peers), wants))

    def _process_exhausted(self, cids: list[int]) -> None:
        newly = []
        for cid in cids:
            wi = self.wants.get(cid)
            if wi is not None and not wi.exhausted:
                wi.exhausted = True
                newly.append(cid)
        if newly:
            self._on_peers_exhausted(newly)

    # ------------------------------------------------------------------ sending
    def _send_next_wants(self, newly_available: list[Hashable]) -> None:
        if not newly_available and not self._dirty:
            return  # nothing to decide: no message
        to_send: dict[Hashable, WantSets] = {}
        if newly_available:
            for peer in newly_available:
                # a want-have for every want
                for_peer(to_send, peer).want_haves.update(dict.fromkeys(self.wants))
        policy = self.policy
        want_blocks = policy.want_blocks
        session_peers: list[Hashable] | None = None
        wants = self.wants
        dirty = self._dirty
        self._dirty = {}
        for cid in dirty:
            wi = wants.get(cid)
            if wi is None:
                continue
            sent_to = wi.sent_to
            if len(sent_to) >= want_blocks:
                continue
            have = []
            unknown = []
            for p, bp in wi.presence.items():
                if bp == HAVE:
                    if p not in sent_to:
                        have.append(p)
                elif bp == UNKNOWN and p not in sent_to:
                    unknown.append(p)
            if not have and not unknown:
                continue
            groups = [g for g in (have, unknown) if g]
            chosen = policy.want_block_peers(cid, groups, len(sent_to), self)
            if not chosen:
                continue
            sent_to.extend(chosen)
            for peer in chosen:
                for_peer(to_send, peer).want_blocks[cid] = None
            if session_peers is None:
                session_peers = list(self.peers)
            for peer in policy.want_have_peers(cid, session_peers, sent_to, self):
                for_peer(to_send, peer).want_haves[cid] = None
        if to_send:
            self._send_wants(to_send)

    def _send_wants(self, sends: dict[Hashable, WantSets]) -> None:
        now = self._net.env.now
        log = self._log
        wants = self.wants
        epochs = self._pm.epochs
        sent: dict[int, None] = {}  # every CID sent, in the order first sent
        for peer, sets in sends.items():
            blocks = sets.want_blocks
            haves = sets.want_haves
            sent_wb = self.sent_want_blocks.setdefault(peer, set())
            # piggy-back want-haves for every want never sent to this peer as want-block: the
            # ones added since it was last given them in this connection (the peer want manager
            # drops the others)
            epoch = epochs.get(peer, 0)
            cursor = self._cursor.get(peer)
            start = cursor[1] if cursor is not None and cursor[0] == epoch else 0
            if start < len(log):
                for cid in log[start:]:
                    if cid in wants and cid not in blocks and cid not in sent_wb:
                        haves[cid] = None
                self._cursor[peer] = (epoch, len(log))
            wb = list(blocks)
            wh = [c for c in haves if c not in blocks] if blocks else list(haves)
            self._pm.send_wants(peer, wb, wh)
            sent.update(blocks)
            sent.update(haves)  # = wh after blocks
            sent_wb.update(wb)
            for cid in wb:
                self._wb_sent_at[(peer, cid)] = now
        # The session hears once which wants went out (go's onSend only queues them for the
        # session's loop; per peer, every CID after its first time would change nothing).
        self._on_wants_sent(list(sent))
