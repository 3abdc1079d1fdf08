"""poc's peer manager and peer want manager (``internal/peermanager/*.go@v0.2.0``).

:class:`PeerWantManager` remembers, per connected peer, which CIDs were sent as want-block and
as want-have, so that a want is never sent twice, a want-block supersedes a want-have, and a
CANCEL only goes to peers that were sent a want. :class:`PeerManager` owns the per-peer message
queues: a newly connected peer's queue starts with the broadcast want-haves.

Go iterates its peer maps; here peers are visited in the order they connected.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from models.poc.messagequeue import MessageQueue

__all__ = ["PeerManager", "PeerWantManager"]


class PeerWantManager:
    """Per peer: CIDs sent as want-block, CIDs sent as want-have."""

    __slots__ = ("_added", "_rank", "_sent", "peer_wants")

    def __init__(self) -> None:
        self.peer_wants: dict[Hashable, tuple[set[int], set[int]]] = {}
        self._sent: dict[int, set[Hashable]] = {}
        """CID -> peers sent a want for it (so cancels visit only those)."""
        self._rank: dict[Hashable, int] = {}
        self._added = 0

    def add_peer(self, peer: Hashable) -> None:
        if peer not in self.peer_wants:
            self.peer_wants[peer] = (set(), set())
            self._added += 1
            self._rank[peer] = self._added

    def remove_peer(self, peer: Hashable) -> None:
        sets = self.peer_wants.pop(peer, None)
        if sets is not None:
            for cid in sets[0] | sets[1]:
                self._sent[cid].discard(peer)
            del self._rank[peer]

    def _mark(self, peer: Hashable, cid: int) -> None:
        sent = self._sent.get(cid)
        if sent is None:
            self._sent[cid] = {peer}
        else:
            sent.add(peer)

    def prepare_broadcast_want_haves(self, cids: list[int]) -> dict[Hashable, list[int]]:
        """Per peer, the want-haves it has not been sent in any form yet (and record them)."""
        out: dict[Hashable, list[int]] = {}
        for peer, (blocks, haves) in self.peer_wants.items():
            for cid in cids:
                if cid not in blocks and cid not in haves:
                    haves.add(cid)
                    self._mark(peer, cid)
                    out.setdefault(peer, []).append(cid)
        return out

    def prepare_send_wants(
        self, peer: Hashable, want_blocks: Iterable[int], want_haves: Iterable[int]
    ) -> tuple[list[int], list[int]]:
        """Filter one peer's wants: new want-blocks (superseding want-haves), new want-haves."""
        sets = self.peer_wants.get(peer)
        if sets is None:
            return [], []
        blocks, haves = sets
        if not want_blocks and haves.issuperset(want_haves):
            return [], []  # every want-have was sent already (the common case)
        res_blocks = []
        for cid in want_blocks:
            if cid not in blocks:
                blocks.add(cid)
                res_blocks.append(cid)
                haves.discard(cid)
                self._mark(peer, cid)
        res_haves = []
        for cid in want_haves:
            if cid not in blocks and cid not in haves:
                haves.add(cid)
                res_haves.append(cid)
                self._mark(peer, cid)
        return res_blocks, res_haves

    def prepare_send_cancel(self, cid: int) -> list[Hashable]:
        """:meth:`prepare_send_cancels` of one CID: the peers it was sent to, in the order they
        connected (and forget it). ``_sent[cid]`` holds exactly the peers whose sets contain
        ``cid``, so those are the targets, taken whole."""
        sent = self._sent.pop(cid, None)
        if not sent:
            return []
        peer_wants = self.peer_wants
        targets = sorted(sent, key=self._rank.__getitem__) if len(sent) > 1 else list(sent)
        for peer in targets:
            blocks, haves = peer_wants[peer]
            blocks.discard(cid)
            haves.discard(cid)
        return targets

    def prepare_send_cancels(self, cids: list[int]) -> dict[Hashable, list[int]]:
        """Per peer, the CIDs it was sent a want for (and forget them). Peers come in the order
        they connected, as a scan of every peer would visit them."""
        targets: set[Hashable] = set()
        for cid in cids:
            targets |= self._sent.get(cid, set())
        out: dict[Hashable, list[int]] = {}
        for peer in sorted(targets, key=self._rank.__getitem__):
            blocks, haves = self.peer_wants[peer]
            for cid in cids:
                if cid in blocks or cid in haves:
                    blocks.discard(cid)
                    haves.discard(cid)
                    self._sent[cid].discard(peer)
                    out.setdefault(peer, []).append(cid)
        return out


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

    def connected(self, peer: Hashable, initial_want_haves: list[int]) -> None:
        """``Connected``: a new peer gets the broadcast want-haves."""
        queue = self.queues.get(peer)
        if queue is None:
            queue = self.queues[peer] = self._make_queue(peer)
        self._refcount[peer] = self._refcount.get(peer, 0) + 1
        if self._refcount[peer] == 1:
            self.pwm.add_peer(peer)
            self.pwm.prepare_send_wants(peer, (), initial_want_haves)
            queue.add_broadcast_want_haves(initial_want_haves)

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
