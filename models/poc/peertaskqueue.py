"""The poc engine's request queue: go-peertaskqueue v0.2.0 (tasks with work, popped by size).

A :class:`Task` has a *topic* (the CID), a *priority* (higher first), an amount of *work* (the
bytes it will put in a response) and *data* for the user (the engine subclasses :class:`Task`
instead: :class:`~models.poc.engine.BitswapTask`). Each peer's :class:`PeerTracker` holds at
most one *pending* task per topic and the *active* tasks (popped, not yet done). Sources:
``peertaskqueue.go``, ``peertracker/peertracker.go``, ``peertask/peertask.go`` @go-peertaskqueue
v0.2.0, the version in go-bitswap's ``go.mod@v0.2.0``.

* **Push** (``PeerTracker.PushTasks``): a task whose topic is active is dropped unless the
  :class:`TaskMerger` says it has new information over *all* active tasks of that topic
  (``taskHasMoreInfoThanActiveTasks``); otherwise, if a task of that topic is pending, the
  pending one takes the higher priority and is merged with the new one (``Merge`` is called
  every time, whatever ``HasNewInfo`` would say); otherwise the task is queued.
* **Pop** (``PeerTaskQueue.PopTasks(targetMinWork)``): the best peer by :func:`peer_compare`
  gives its pending tasks in priority order until the popped work reaches ``target_min_work``
  (the last one may overshoot; at least one if any is pending); they become active and count in
  the peer's *active work* until :meth:`PeerTaskQueue.tasks_done`. A peer left idle (nothing
  pending, nothing active) is dropped.
* **Remove** (``Remove(topic, peer)``): drops the pending task of that topic.

Freezing is not modelled: the v0.2.0 engine builds its queue with ``IgnoreFreezing(true)``
(``internal/decision/engine.go@v0.2.0``), so no peer is ever frozen, ``freezeVal`` stays 0 in
``PeerCompare`` and ``PopTasks``, and ``ThawRound`` / ``FullThaw`` change nothing.

Go keeps peers and each peer's tasks in heaps (go-ipfs-pq). The peers here are a lazy
``heapq`` keyed by :func:`_order_key` (O(log peers) per pop). A peer's pending tasks are a dict
in queue order: a pop that takes them all (nine pops in ten in the poc headline run) sorts them
by priority; a lazy ``heapq`` is built only when a pop takes some of them, and kept while they
stay pending. Where Go's heap order is unspecified (ties), this module picks a deterministic
order and says so.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable
from operator import attrgetter
from typing import Any, Protocol

from models.decision.trackerheap import TrackerHeap

__all__ = [
    "DefaultTaskMerger",
    "PeerTaskQueue",
    "PeerTracker",
    "Task",
    "TaskMerger",
    "peer_compare",
]


class Task:
    """One unit of work for a peer (``peertask.Task``; ``QueueTask`` while pending).

    Compared and hashed by identity, as Go keys active tasks by pointer.
    """

    __slots__ = ("data", "priority", "topic", "work")

    def __init__(self, topic: int, priority: int, work: int, data: Any = None) -> None:
        self.topic = topic
        self.priority = priority
        self.work = work
        """Bytes this task adds to a response (the tracker's active/pending work)."""
        self.data = data

    def __repr__(self) -> str:
        return (
            f"Task(topic={self.topic!r}, priority={self.priority}, work={self.work}, "
            f"data={self.data!r})"
        )


_priority = attrgetter("priority")


class TaskMerger(Protocol):
    """How a new task combines with tasks of the same topic (``peertracker.TaskMerger``)."""

    def has_new_info(self, task: Task, existing: list[Task]) -> bool:
        """Whether ``task`` tells more than the ``existing`` (active) tasks of its topic."""
        ...

    def merge(self, task: Task, existing: Task) -> None:
        """Copy what matters from ``task`` into the pending ``existing`` task."""
        ...


class DefaultTaskMerger:
    """Never merges anything (``peertracker.DefaultTaskMerger``)."""

    def has_new_info(self, task: Task, existing: list[Task]) -> bool:
        return False

    def merge(self, task: Task, existing: Task) -> None:
        return None


class PeerTracker:
    """One peer's pending and active tasks (``peertracker.PeerTracker``, v0.2.0)."""

    __slots__ = (
        "_heap",
        "_heap_seq",
        "active",
        "active_work",
        "created",
        "dirty",
        "last_served",
        "merger",
        "pending",
        "pending_work",
        "target",
        "version",
    )

    def __init__(self, target: Hashable, merger: TaskMerger, seq: int) -> None:
        self.target = target
        self.merger = merger
        self.pending: dict[int, Task] = {}
        """Topic -> the pending task (Go's ``pendingTasks``), in the order queued (a merge
        keeps the place; a topic queued again after a pop or remove goes last)."""
        self.active: dict[int, list[Task]] = {}
        """Topic -> its active tasks, popped in that order (Go: a set of task pointers)."""
        self.active_work = 0
        """Work of the active tasks (``activeWork``)."""
        self.pending_work = 0
        """Work of the pending tasks (what ``getPendingWork`` sums on every pop)."""
        # For pops that take only some pending tasks: a lazy heap of (-priority, place, task),
        # built at the first such pop and kept while tasks stay pending (None otherwise). An
        # entry is stale once its task is no longer the pending one of its topic; a raised
        # priority drops the heap.
        self._heap: list[tuple[int, int, Task]] | None = None
        self._heap_seq = 0
        self.created = seq
        """Queue sequence number at creation."""
        self.last_served = -1
        """Queue sequence number of the last pop that returned tasks; -1 if none yet."""
        self.version = 0
        """Stamp of this tracker's live entry in the queue's peer heap (-1 once dropped)."""
        self.dirty = False
        """Changed since its live heap entry was made (the queue re-keys it before a pop)."""

    # ------------------------------------------------------------------ tasks
    def push_tasks(self, tasks: Iterable[Task]) -> None:
        """Queue, merge or drop each task (``PeerTracker.PushTasks``; see the module docstring)."""
        pending = self.pending
        active = self.active
        merger = self.merger
        for task in tasks:
            topic = task.topic
            same = active.get(topic)
            if same and not merger.has_new_info(task, same):
                continue  # nothing new over what is being sent
            existing = pending.get(topic)
            if existing is not None:
                if task.priority > existing.priority:
                    existing.priority = task.priority
                    self._heap = None  # its entry is out of order
                old_work = existing.work
                merger.merge(task, existing)
                self.pending_work += existing.work - old_work
                continue
            pending[topic] = task
            self.pending_work += task.work
            if self._heap is not None:
                self._heap_seq += 1
                heapq.heappush(self._heap, (-task.priority, self._heap_seq, task))

    def pop_tasks(self, target_min_work: int) -> list[Task]:
        """Pending tasks in priority order until their work reaches ``target_min_work``, made
        active (``PeerTracker.PopTasks``).

        Within a peer Go compares tasks by priority only (``PriorityCompare``, same target); its
        heap order on equal priorities is unspecified. Here ties go FIFO: ``pending`` is in
        queue order. When they all fit under the target (the usual case), a stable sort by
        priority; else the heap."""
        pending = self.pending
        if not pending:
            return []  # the queue's best peer may have only active tasks
        if self.pending_work < target_min_work:
            out = sorted(pending.values(), key=_priority, reverse=True)  # stable
            pending.clear()
            self._heap = None
            work = self.pending_work
        else:
            out, work = self._pop_heap(target_min_work)
        self.pending_work -= work
        self.active_work += work
        active = self.active
        for task in out:
            # startTask: pending -> active
            same = active.get(task.topic)
            if same is None:
                active[task.topic] = [task]
            else:
                same.append(task)
        return out

    def _pop_heap(self, target_min_work: int) -> tuple[list[Task], int]:
        """Remove pending tasks in heap order until their work reaches ``target_min_work``
        (at most ``pending_work``); returns them and their work."""
        pending = self.pending
        heap = self._heap
        if heap is None:
            heap = self._heap = [(-t.priority, i, t) for i, t in enumerate(pending.values())]
            heapq.heapify(heap)
            self._heap_seq = len(heap)
        out: list[Task] = []
        work = 0
        while work < target_min_work:
            task = heapq.heappop(heap)[2]
            if pending.get(task.topic) is not task:
                continue  # stale: popped or removed
            del pending[task.topic]
            out.append(task)
            work += task.work
        if not pending:
            self._heap = None
        return out, work

    def tasks_done(self, tasks: Iterable[Task]) -> None:
        """Active tasks were sent (``PeerTracker.TaskDone`` for each); unknown tasks are
        ignored."""
        active = self.active
        for task in tasks:
            same = active.get(task.topic)
            if same is None or task not in same:
                continue
            same.remove(task)
            if not same:
                del active[task.topic]
            self.active_work -= task.work
        if self.active_work < 0:
            raise RuntimeError(f"more work finished than started for peer {self.target!r}")

    def remove(self, topic: int) -> bool:
        """Drop the pending task of ``topic`` (``PeerTracker.Remove``); True if there was one."""
        task = self.pending.pop(topic, None)
        if task is None:
            return False
        self.pending_work -= task.work
        if not self.pending:
            self._heap = None  # only stale entries are left
        return True

    def is_idle(self) -> bool:
        """No pending and no active tasks (``IsIdle``)."""
        return not self.pending and not self.active

    def __repr__(self) -> str:
        return (
            f"PeerTracker({self.target!r}, pending={len(self.pending)}, "
            f"active_work={self.active_work}, pending_work={self.pending_work})"
        )


_Key = tuple[int, int, int, int, int]


def _order_key(t: PeerTracker) -> _Key:
    """Sort key whose minimum is the peer :func:`peer_compare` serves first. Trackers without
    pending tasks are all equivalent; ties go to the least recently served (see
    :meth:`PeerTaskQueue.pop_tasks`)."""
    if not t.pending:
        return (1, 0, 0, t.last_served, t.created)
    return (0, t.active_work, -len(t.pending), t.last_served, t.created)


def peer_compare(a: PeerTracker, b: PeerTracker) -> bool:
    """True if ``a`` is served before ``b`` (``peertracker.PeerCompare``, v0.2.0): peers with
    pending tasks first; (the freeze value, always 0 here); then less active work; with equal
    active work, more pending tasks first. (Go's tie-break is absent; see ``pop_tasks``.)"""
    if not a.pending:
        return False
    if not b.pending:
        return True
    if a.active_work == b.active_work:
        return len(a.pending) > len(b.pending)
    return a.active_work < b.active_work


class PeerTaskQueue:
    """Per-peer tasks, served peer by peer (``peertaskqueue.PeerTaskQueue``, v0.2.0, with
    ``IgnoreFreezing(true)``).

    Args:
        merger: the ``TaskMerger`` option (default :class:`DefaultTaskMerger`).
    """

    __slots__ = ("_order", "_seq", "_touch", "merger", "trackers")

    def __init__(self, merger: TaskMerger | None = None) -> None:
        self.merger: TaskMerger = merger if merger is not None else DefaultTaskMerger()
        self.trackers: dict[Hashable, PeerTracker] = {}
        """Peer -> tracker, in creation order (Go: a map plus a heap)."""
        self._seq = 0
        self._order: TrackerHeap[PeerTracker] = TrackerHeap(_order_key)
        self._touch = self._order.touch
        """``_touch(tracker)``: its order key may have changed (re-keyed before :meth:`top`)."""

    def _drop(self, tracker: PeerTracker) -> None:
        del self.trackers[tracker.target]
        self._order.drop(tracker)

    # ------------------------------------------------------------------ queue
    def push_tasks(self, peer: Hashable, tasks: Iterable[Task]) -> None:
        """Queue tasks for ``peer`` (``PushTasks``); the tracker is created if needed, even if
        every task is dropped (as in Go)."""
        tracker = self.trackers.get(peer)
        if tracker is None:
            self._seq += 1
            tracker = self.trackers[peer] = PeerTracker(peer, self.merger, self._seq)
        tracker.push_tasks(tasks)
        self._touch(tracker)

    def top(self) -> PeerTracker | None:
        """The tracker :meth:`pop_tasks` would pop from, or None if there is none: the one with
        the least :func:`_order_key` (keys are unique: they end with the creation number)."""
        return self._order.top(self.trackers.values(), len(self.trackers))

    def pop_tasks(self, target_min_work: int) -> tuple[Hashable | None, list[Task], int]:
        """Pop tasks of the best peer by :func:`peer_compare` until their work reaches
        ``target_min_work`` (``PopTasks``). Returns ``(peer, tasks, pending_work)``, or
        ``(None, [], -1)`` without trackers. ``tasks`` may be empty (the best peer has nothing
        pending); a tracker left idle is dropped.

        Ties left by PeerCompare go to the tracker served least recently: never-served trackers
        first (oldest first), then the one whose last pop returned tasks longest ago. This
        replaces Go's heap order, which is unspecified on ties.
        """
        tracker = self.top()
        if tracker is None:
            return None, [], -1
        out = tracker.pop_tasks(target_min_work)
        if out:
            self._seq += 1
            tracker.last_served = self._seq
        if tracker.is_idle():
            self._drop(tracker)
        elif out:
            self._touch(tracker)
        return tracker.target, out, tracker.pending_work

    def tasks_done(self, peer: Hashable, tasks: Iterable[Task]) -> None:
        """The tasks were sent: release their active work (``TasksDone``); ignored for a peer
        without tracker."""
        tracker = self.trackers.get(peer)
        if tracker is None:
            return
        tracker.tasks_done(tasks)
        if tracker.pending:
            # Without pending tasks its order key ignores the active work: unchanged.
            self._touch(tracker)

    def remove(self, topic: int, peer: Hashable) -> bool:
        """Drop ``peer``'s pending task of ``topic`` (``Remove``); no freezing. Returns whether
        a task was removed."""
        tracker = self.trackers.get(peer)
        if tracker is None or not tracker.remove(topic):
            return False
        self._touch(tracker)
        return True

    # ------------------------------------------------------------------ queries
    def pop_would_act(self) -> bool:
        """Whether a ``PopTasks`` now would change anything: the peer a pop would pick has
        pending tasks, or is idle (and would be dropped)."""
        top = self.top()
        return top is not None and (bool(top.pending) or top.is_idle())

    def __len__(self) -> int:
        """Number of peer trackers."""
        return len(self.trackers)

    def num_pending_tasks(self) -> int:
        """Pending tasks over all peers."""
        return sum(len(t.pending) for t in self.trackers.values())
