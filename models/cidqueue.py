"""A session's queue of CIDs to fetch: ``session/cidqueue.go@v0.1.8`` (master) and
``internal/session/cidqueue.go@v0.2.0`` (poc), the same queue in both versions.

A CID is pushed once (a second push of a queued CID does nothing); ``remove`` only takes it out
of the membership set, and ``pop`` skips the list entries that are no longer members.
"""

from __future__ import annotations

__all__ = ["CidQueue"]


class CidQueue:
    """A FIFO of CIDs with O(1) membership and lazy removal (``cidQueue``)."""

    __slots__ = ("_items", "_pos", "_set")

    def __init__(self) -> None:
        self._items: list[int] = []
        self._pos = 0
        self._set: set[int] = set()

    def push(self, cid: int) -> None:
        if cid not in self._set:
            self._set.add(cid)
            self._items.append(cid)

    def pop(self) -> int | None:
        """Take out the oldest member, or None if the queue is empty."""
        items = self._items
        while self._pos < len(items):
            cid = items[self._pos]
            self._pos += 1
            if cid in self._set:
                self._set.discard(cid)
                if self._pos > 1024 and self._pos * 2 > len(items):
                    del items[: self._pos]
                    self._pos = 0
                return cid
        return None

    def remove(self, cid: int) -> None:
        """Take ``cid`` out (its list entry is skipped when reached)."""
        self._set.discard(cid)

    def __contains__(self, cid: int) -> bool:
        return cid in self._set

    def __len__(self) -> int:
        return len(self._set)
