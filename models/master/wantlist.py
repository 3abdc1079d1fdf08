"""Session-tracked wantlist: which sessions want each CID (``wantlist/wantlist.go@v0.1.8``).

Used by master's want manager (the node's whole wantlist and its broadcast wantlist) and by each
per-peer message queue, whose copy decides what reaches the wire: a want is emitted only for a
CID not already in that peer's list (from any session), a cancel only when the last session
referencing the CID removes it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

__all__ = ["SessionTrackedWantlist"]


class SessionTrackedWantlist:
    """CID -> (priority, sessions wanting it), in insertion order."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set: dict[int, tuple[int, set[Hashable]]] = {}

    def add(self, cid: int, priority: int, session: Hashable) -> bool:
        """Add ``session``'s want; True only if the CID was not wanted before (``Add``)."""
        entry = self._set.get(cid)
        if entry is not None:
            entry[1].add(session)
            return False
        self._set[cid] = (priority, {session})
        return True

    def remove(self, cid: int, session: Hashable) -> bool:
        """Drop ``session``'s want; True only if no session wants the CID any more (``Remove``)."""
        entry = self._set.get(cid)
        if entry is None:
            return False
        entry[1].discard(session)
        if not entry[1]:
            del self._set[cid]
            return True
        return False

    def __contains__(self, cid: int) -> bool:
        return cid in self._set

    def __len__(self) -> int:
        return len(self._set)

    def entries(self) -> Iterator[tuple[int, int]]:
        """(cid, priority) pairs in the order the CIDs were first added."""
        for cid, (priority, _) in self._set.items():
            yield cid, priority

    def copy_wants_to(self, other: SessionTrackedWantlist) -> list[int]:
        """Add every (cid, session) want of this list to ``other`` (``CopyWants``); returns the
        CIDs that were new in ``other``."""
        new = []
        for cid, (priority, sessions) in self._set.items():
            for session in sessions:
                if other.add(cid, priority, session):
                    new.append(cid)
        return new
