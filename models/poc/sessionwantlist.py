"""CID -> the set of sessions that want it (``internal/sessionwantlist/sessionwantlist.go@v0.2.0``).

The building block of poc's broadcast wantlist and session interest manager.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

__all__ = ["SessionWantlist"]


class SessionWantlist:
    """CID -> sessions, in the order CIDs were first added."""

    __slots__ = ("_wants",)

    def __init__(self) -> None:
        self._wants: dict[int, set[Hashable]] = {}

    def add(self, cids: Iterable[int], session: Hashable) -> None:
        wants = self._wants
        for cid in cids:
            sessions = wants.get(cid)
            if sessions is None:
                wants[cid] = {session}
            else:
                sessions.add(session)

    def remove_keys(self, cids: Iterable[int]) -> None:
        """Forget ``cids`` for every session."""
        wants = self._wants
        for cid in cids:
            wants.pop(cid, None)

    def remove_session(self, session: Hashable) -> list[int]:
        """Drop ``session`` everywhere; the CIDs no session wants any more."""
        gone = []
        for cid, sessions in list(self._wants.items()):
            if session in sessions:
                sessions.discard(session)
                if not sessions:
                    del self._wants[cid]
                    gone.append(cid)
        return gone

    def remove_session_keys(self, session: Hashable, cids: Iterable[int]) -> None:
        wants = self._wants
        for cid in cids:
            sessions = wants.get(cid)
            if sessions is not None:
                sessions.discard(session)
                if not sessions:
                    del wants[cid]

    def has(self, cid: int) -> bool:
        return cid in self._wants

    def session_has(self, session: Hashable, cid: int) -> bool:
        sessions = self._wants.get(cid)
        return sessions is not None and session in sessions

    def filter_session(self, session: Hashable, cids: Iterable[int]) -> list[int]:
        """The ``cids`` ``session`` wants, in order: :meth:`session_has` for each, in one loop."""
        wants = self._wants
        return [c for c in cids if session in wants.get(c, ())]

    def sessions_for(self, cids: Iterable[int]) -> list[Hashable]:
        """Sessions wanting any of ``cids``, in first-seen order."""
        out: dict[Hashable, None] = {}
        wants = self._wants
        for cid in cids:
            sessions = wants.get(cid)
            if sessions:
                if len(sessions) == 1:
                    for s in sessions:
                        out[s] = None
                else:
                    for s in sorted(sessions):  # type: ignore[type-var]
                        out[s] = None
        return list(out)

    def keys(self) -> list[int]:
        return list(self._wants)

    def __len__(self) -> int:
        return len(self._wants)
