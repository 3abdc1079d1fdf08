"""poc's peer manager and peer want manager (``internal/peermanager/*.go@v0.2.0``).

:class:`PeerWantManager` remembers, per connected peer, which CIDs were sent as want-block and
as want-have, so that a want is never sent twice, a want-block supersedes a want-have, and a
CANCEL only goes to peers that were sent a want. :class:`PeerManager` owns the per-peer message
queues: a newly connected peer's queue starts with the broadcast want-haves. Sessions may
register for a peer (``RegisterSession``, called before PR #275: ``sessions_track_connectivity``);
they are then told when it connects and disconnects (``signalAvailability``,
``internal/peermanager/peermanager.go@f298c9b``).

Go iterates its peer maps; here peers are visited in the order they connected.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol

from models.poc.messagequeue import MessageQueue

__all__ = ["AvailabilityListener", "PeerManager", "PeerWantManager"]

_NOT_SENT, _SENT_HAVE, _SENT_BLOCK = 0, 1, 2


class PeerWantManager:
    """Per peer: which CIDs were sent as want-block and which as want-have
    (``peerWantManager``, ``internal/peermanager/peerwantmanager.go@v0.2.0``).

    Go keeps two CID sets per peer (``wantBlocks``, ``wantHaves``). A CID is in at most one of
    them, so here each peer has one ``bytearray`` indexed by CID holding ``0`` (not sent),
    ``1`` (sent as want-have) or ``2`` (sent as want-block). CIDs are the small consecutive
    ints of :class:`models.dag.CidAllocator`. The tables hold an entry per pair of peers and
    CID, the largest state of a big poc run: two Python sets cost 30 to 60 bytes per entry, a
    byte table 1 byte for every CID up to the largest one wanted, wanted or not
    (docs/performance.md, "Memory"). All tables have the same length, :attr:`size`, grown
    (doubling) when a larger CID shows up.

    Cancels scan every peer, as Go's ``PrepareSendCancels`` does.
    """

    __slots__ = ("peer_wants", "size")

    def __init__(self) -> None:
        self.peer_wants: dict[Hashable, bytearray] = {}
        """Peer -> CID -> 0 (not sent), 1 (want-have) or 2 (want-block); in connection order
        (a peer that reconnects goes last)."""
        self.size = 0
        """Length of every table: the CIDs it can hold are ``0 .. size - 1``."""

    def _fit(self, cids: list[int]) -> None:
        """Grow every table so that it holds ``cids``."""
        top = max(cids)
        if top >= self.size:
            size = max(top + 1, 2 * self.size)
            extra = bytes(size - self.size)
            for sent in self.peer_wants.values():
                sent.extend(extra)
            self.size = size

    def add_peer(self, peer: Hashable) -> None:
        if peer not in self.peer_wants:
            self.peer_wants[peer] = bytearray(self.size)

    def remove_peer(self, peer: Hashable) -> None:
        self.peer_wants.pop(peer, None)

    def prepare_broadcast_want_haves(self, cids: list[int]) -> dict[Hashable, list[int]]:
        """Per peer, the want-haves it has not been sent in any form yet (and record them)."""
        out: dict[Hashable, list[int]] = {}
        if not cids:
            return out
        self._fit(cids)
        for peer, sent in self.peer_wants.items():
            new = []
            for cid in cids:
                if not sent[cid]:
                    sent[cid] = _SENT_HAVE
                    new.append(cid)
            if new:
                out[peer] = new
        return out

    def prepare_send_wants(
        self, peer: Hashable, want_blocks: list[int], want_haves: list[int]
    ) -> tuple[list[int], list[int]]:
        """Filter one peer's wants: new want-blocks (superseding want-haves), new want-haves."""
        sent = self.peer_wants.get(peer)
        if sent is None:
            return [], []
        if want_blocks:
            self._fit(want_blocks)
        if want_haves:
            self._fit(want_haves)
        res_blocks = []
        for cid in want_blocks:
            if sent[cid] != _SENT_BLOCK:
                sent[cid] = _SENT_BLOCK
                res_blocks.append(cid)
        res_haves = []
        for cid in want_haves:
            if not sent[cid]:
                sent[cid] = _SENT_HAVE
                res_haves.append(cid)
        return res_blocks, res_haves

    def prepare_send_cancel(self, cid: int) -> list[Hashable]:
        """:meth:`prepare_send_cancels` of one CID: the peers it was sent to, in the order they
        connected (and forget it)."""
        targets: list[Hashable] = []
        if cid < self.size:
            for peer, sent in self.peer_wants.items():
                if sent[cid]:
                    sent[cid] = _NOT_SENT
                    targets.append(peer)
        return targets

    def prepare_send_cancels(self, cids: list[int]) -> dict[Hashable, list[int]]:
        """Per peer, in the order they connected, the CIDs it was sent a want for (and forget
        them)."""
        size = self.size
        cids = [cid for cid in cids if cid < size]
        out: dict[Hashable, list[int]] = {}
        for peer, sent in self.peer_wants.items():
            ks = []
            for cid in cids:
                if sent[cid]:
                    sent[cid] = _NOT_SENT
                    ks.append(cid)
            if ks:
                out[peer] = ks
        return out


class AvailabilityListener(Protocol):
    """What the peer manager tells a registered session (its want sender)."""

    def signal_availability(self, peer: Hashable, available: bool) -> None: ...


class PeerManager:
    """Message queues of the connected peers plus the peer want manager.

    Args:
        make_queue: ``make_queue(peer)`` -> a started :class:`MessageQueue`.
    """

    def __init__(self, make_queue: Callable[[Hashable], MessageQueue]) -> None:
        self._make_queue = make_queue
        self.queues: dict[Hashable, MessageQueue] = {}
        self._refcount: dict[Hashable, int] = {}
        self.pwm = PeerWantManager()
        self.epochs: dict[Hashable, int] = {}
        """Peer -> how many times it has connected. The peer want manager forgets what a peer
        was sent when it disconnects: what a want sender remembers of sending to the peer
        (its piggy-back cursor) holds only within one epoch."""
        self.peer_sessions: dict[Hashable, dict[int, AvailabilityListener]] = {}
        """Peer -> session id -> the session's want sender, for sessions registered for it
        (``peerSessions``); empty unless sessions track connectivity."""

    def connected(self, peer: Hashable, initial_want_haves: list[int]) -> None:
        """``Connected``: a new peer gets the broadcast want-haves."""
        queue = self.queues.get(peer)
        if queue is None:
            queue = self.queues[peer] = self._make_queue(peer)
        self._refcount[peer] = self._refcount.get(peer, 0) + 1
        if self._refcount[peer] == 1:
            self.epochs[peer] = self.epochs.get(peer, 0) + 1
            self.pwm.add_peer(peer)
            self.pwm.prepare_send_wants(peer, [], initial_want_haves)
            queue.add_broadcast_want_haves(initial_want_haves)
            if self.peer_sessions:
                self._signal_availability(peer, True)

    def disconnected(self, peer: Hashable) -> None:
        count = self._refcount.get(peer, 0) - 1
        if count > 0:
            self._refcount[peer] = count
            return
        self._refcount.pop(peer, None)
        queue = self.queues.pop(peer, None)
        if queue is not None:
            queue.shutdown()
        self.pwm.remove_peer(peer)
        if self.peer_sessions:
            # go signals first, but the sessions act on their own goroutine: by then the
            # peer's queue is gone
            self._signal_availability(peer, False)

    # ------------------------------------------------------------------ sessions
    def register_session(
        self, peer: Hashable, session_id: int, listener: AvailabilityListener
    ) -> bool:
        """``RegisterSession``: ``listener`` hears of ``peer``'s connects and disconnects from
        now on; returns whether ``peer`` is connected."""
        self.peer_sessions.setdefault(peer, {})[session_id] = listener
        return peer in self.queues

    def unregister_session(self, session_id: int) -> None:
        """``UnregisterSession``: the session hears of no peer any more."""
        for peer in list(self.peer_sessions):
            sessions = self.peer_sessions[peer]
            sessions.pop(session_id, None)
            if not sessions:
                del self.peer_sessions[peer]

    def _signal_availability(self, peer: Hashable, connected: bool) -> None:
        """``signalAvailability``: tell the sessions registered for ``peer``."""
        for listener in list(self.peer_sessions.get(peer, {}).values()):
            listener.signal_availability(peer, connected)

    def broadcast_want_haves(self, cids: list[int]) -> None:
        for peer, ks in self.pwm.prepare_broadcast_want_haves(cids).items():
            queue = self.queues.get(peer)
            if queue is not None:
                queue.add_broadcast_want_haves(ks)

    def send_wants(self, peer: Hashable, want_blocks: list[int], want_haves: list[int]) -> None:
        queue = self.queues.get(peer)
        if queue is not None:
            blocks, haves = self.pwm.prepare_send_wants(peer, want_blocks, want_haves)
            if blocks or haves:  # most often the peer was sent them all already
                queue.add_wants(blocks, haves)

    def send_cancels(self, cids: list[int]) -> None:
        if not cids:
            return
        if len(cids) == 1:
            # One CID (a received block): the same steps without a list per peer.
            cid = cids[0]
            queues = self.queues
            for peer in self.pwm.prepare_send_cancel(cid):
                queue = queues.get(peer)
                if queue is not None:
                    queue.add_cancel(cid)
            return
        for peer, ks in self.pwm.prepare_send_cancels(cids).items():
            queue = self.queues.get(peer)
            if queue is not None:
                queue.add_cancels(ks)

    def shutdown(self) -> None:
        for queue in self.queues.values():
            queue.shutdown()
