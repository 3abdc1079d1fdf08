"""poc's node-wide knowledge: who has which block, and which sessions care about which CID.

* :class:`BlockPresenceManager` (``internal/blockpresencemanager/blockpresencemanager.go@v0.2.0``):
  CID -> peer -> HAVE / DONT_HAVE as last reported. HAVE is sticky: a later DONT_HAVE never
  overwrites it.
* :class:`SessionInterestManager`
  (``internal/sessioninterestmanager/sessioninterestmanager.go@v0.2.0``): which sessions are
  *interested* in a CID (from request until the session ends: HAVE/DONT_HAVE/blocks for it are
  routed to them) and which still *want* it (until received: only wanted blocks are stored).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from models.poc.sessionwantlist import SessionWantlist

__all__ = ["BlockPresenceManager", "SessionInterestManager"]


class BlockPresenceManager:
    """CID -> {peer: True (HAVE) | False (DONT_HAVE)}."""

    __slots__ = ("by_cid",)

    def __init__(self) -> None:
        self.by_cid: dict[int, dict[Hashable, bool]] = {}
        """CID -> {peer: True (HAVE) | False (DONT_HAVE)}; read directly on the want sender's
        hot path, changed only by the methods here."""

    def receive_from(self, peer: Hashable, haves: Iterable[int], dont_haves: Iterable[int]) -> None:
        presence = self.by_cid
        for cid in haves:
            known = presence.get(cid)
            if known is None:
                presence[cid] = {peer: True}
            else:
                known[peer] = True
        for cid in dont_haves:
            known = presence.get(cid)
            if known is None:
                presence[cid] = {peer: False}
            elif not known.get(peer, False):  # HAVE is sticky
                known[peer] = False

    def presence(self, peer: Hashable, cid: int) -> bool | None:
        """What ``peer`` last reported for ``cid``: True (HAVE), False (DONT_HAVE) or None."""
        known = self.by_cid.get(cid)
        return None if known is None else known.get(peer)

    def peer_has_block(self, peer: Hashable, cid: int) -> bool:
        return self.by_cid.get(cid, {}).get(peer, False)

    def peer_has_any_block(self, peer: Hashable, cids: Iterable[int]) -> bool:
        """Whether ``peer`` sent HAVE for any of ``cids``: ``any(peer_has_block(peer, c) for c
        in cids)`` in one loop (the want sender asks this over all its wants)."""
        presence = self.by_cid
        for cid in cids:
            known = presence.get(cid)
            if known is not None and known.get(peer, False):
                return True
        return False

    def peer_does_not_have_block(self, peer: Hashable, cid: int) -> bool:
        return self.by_cid.get(cid, {}).get(peer) is False

    def all_peers_do_not_have_block(self, peers: list[Hashable], cids: Iterable[int]) -> list[int]:
        """The CIDs for which every one of ``peers`` said DONT_HAVE (none if no peers)."""
        out = []
        presence = self.by_cid
        for cid in cids:
            known = presence.get(cid)
            if known is None:
                continue
            # all(known.get(p) is False for p in peers), without a generator per CID
            for p in peers:
                if known.get(p) is not False:
                    break
            else:
                out.append(cid)
        return out

    def remove_keys(self, cids: Iterable[int]) -> None:
        for cid in cids:
            self.by_cid.pop(cid, None)


class SessionInterestManager:
    """Interest (until the session ends) and wants (until received) per session."""

    __slots__ = ("interested", "wanted")

    def __init__(self) -> None:
        self.interested = SessionWantlist()
        self.wanted = SessionWantlist()

    def record_session_interest(self, session: Hashable, cids: list[int]) -> None:
        self.interested.add(cids, session)
        self.wanted.add(cids, session)

    def remove_session_interest(self, session: Hashable) -> list[int]:
        """The session ended: the CIDs nobody is interested in any more."""
        self.wanted.remove_session(session)
        return self.interested.remove_session(session)

    def remove_session_wants(self, session: Hashable, cids: Iterable[int]) -> None:
        self.wanted.remove_session_keys(session, cids)

    def is_wanted(self, cid: int) -> bool:
        return self.wanted.has(cid)

    def interested_sessions(self, cids: Iterable[int]) -> list[Hashable]:
        return self.interested.sessions_for(cids)

    def filter_interested(self, session: Hashable, cids: Iterable[int]) -> list[int]:
        return self.interested.filter_session(session, cids)
