"""The peer task queues' choice of the next peer: a lazy min-heap of peer trackers.

go-peertaskqueue keeps its peer trackers in a priority queue ordered by ``PeerCompare``; both
:mod:`models.master.peertaskqueue` (v0.1.1) and :mod:`models.poc.peertaskqueue` (v0.2.0) use
this heap with their own order key. A tracker whose key may have changed is *touched*; before
the next :meth:`TrackerHeap.top` every touched tracker is re-keyed at once (a new heap entry
with a new version), and entries whose version is no longer the tracker's are skipped. The
keys must be unique (they end with the tracker's creation number), so ties never reach the
heap's own order. Keys are tuples of one length; a heap entry is the key with the version and
the tracker appended, one flat tuple (``heapq`` compares flat tuples of ints about twice as
fast as a key tuple nested in an entry tuple; the order is the same).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["TrackerHeap"]


class _Tracker(Protocol):
    dirty: bool
    version: int


T = TypeVar("T", bound=_Tracker)


class TrackerHeap(Generic[T]):
    """Trackers ordered by ``key(tracker)`` (least first), re-keyed lazily.

    A tracker needs two attributes the heap owns: ``dirty`` (False) and ``version`` (0).
    """

    __slots__ = ("_dirty", "_heap", "_key")

    def __init__(self, key: Callable[[T], tuple[Any, ...]]) -> None:
        self._key = key
        self._heap: list[tuple[Any, ...]] = []  # key + (version, tracker)
        self._dirty: list[T] = []

    def touch(self, tracker: T) -> None:
        """``tracker``'s key may have changed: re-key it before the next :meth:`top`."""
        if not tracker.dirty:
            tracker.dirty = True
            self._dirty.append(tracker)

    @staticmethod
    def drop(tracker: T) -> None:
        """``tracker`` leaves the queue: every heap entry of it is stale from now on."""
        tracker.version = -1
        tracker.dirty = False

    def top(self, live: Iterable[T], count: int) -> T | None:
        """The tracker with the least key, or None. ``live``: every tracker in the queue
        (``count`` of them), used to rebuild the heap when it is mostly stale entries."""
        heap = self._heap
        dirty = self._dirty
        if dirty:
            key = self._key
            if len(heap) > 4 * count + 64:
                for t in dirty:
                    t.dirty = False
                dirty.clear()
                heap[:] = [key(t) + (t.version, t) for t in live]  # noqa: RUF005 (faster)
                heapq.heapify(heap)
            else:
                push = heapq.heappush
                for t in dirty:
                    if t.dirty:
                        t.dirty = False
                        t.version += 1
                        push(heap, key(t) + (t.version, t))  # noqa: RUF005 (faster)
                dirty.clear()
        while heap:
            entry = heap[0]
            t = entry[-1]
            if entry[-2] == t.version:
                return t
            heapq.heappop(heap)
        return None
