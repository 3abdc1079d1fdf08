"""The master engine's request queue: go-peertaskqueue v0.1.1, one task block per response.

A *task* is ``(cid, priority)``. Tasks are pushed per peer in *task blocks* (the tasks of one
response message, grouped by the engine). A :class:`PeerTracker` holds one peer's queued blocks
(highest priority first), the tasks being sent to it (*active*), and its *freeze* value. The
:class:`PeerTaskQueue` pops one whole block from the peer chosen by :func:`peer_compare`
(``peertaskqueue.go``, ``peertracker/peertracker.go``, ``peertask/peertask.go``
@go-peertaskqueue v0.1.1, the version in go-bitswap's ``go.mod@v0.1.8`` … ``@v0.1.11``).

Go's quirks are kept on purpose:

* A cancelled task stays in its block (marked prunable) and in the tracker's task map until the
  block is popped, so a re-want of that CID meanwhile only raises the (dead) task's priority and
  is lost, and a second cancel decrements ``num_tasks`` again (it can go negative).
* Every successful :meth:`PeerTaskQueue.remove` freezes the peer one more step; a frozen peer
  yields nothing until :meth:`PeerTaskQueue.thaw_round` brings its freeze value back to 0.
* :meth:`PeerTaskQueue.pop_block` only looks at the best peer: if that one yields nothing (it is
  frozen, or all its queued blocks were cancelled), the pop returns None even when another peer
  has work.
* A tracker is dropped (and with it its freeze value) when a pop leaves it idle.

Go keeps peers and task blocks in heaps; so does this module: the peers are a lazy ``heapq``
keyed by :func:`_order_key` (O(log peers) per pop) and each peer's blocks are a lazy ``heapq``.
Where Go's heap order is unspecified (ties), this module picks a deterministic order and says
so.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable

from models.decision.trackerheap import TrackerHeap

__all__ = ["PeerTaskQueue", "PeerTracker", "Task", "TaskBlock", "peer_compare"]

Task = tuple[int, int]
"""``(cid, priority)`` (``peertask.Task``: Identifier, Priority)."""


class TaskBlock:
    """Tasks to answer in one response to ``target`` (``peertask.TaskBlock``).

    ``priority`` is the highest task priority at creation, never below 0 (Go starts the maximum
    at 0), raised when a queued task is wanted again with a higher priority. ``created`` is the
    queue's creation sequence number (Go stores ``time.Now()``).
    """

    __slots__ = ("created", "priority", "queued", "target", "tasks", "to_prune")

    def __init__(self, tasks: list[Task], priority: int, target: Hashable, created: int) -> None:
        self.tasks = tasks
        self.priority = priority
        self.target = target
        self.created = created
        self.to_prune: set[int] = set()
        """CIDs cancelled while queued; dropped from :attr:`tasks` when the block is popped
        (``MarkPrunable`` / ``PruneTasks``). Only tested for membership."""
        self.queued = True
        """Still in its tracker's queue (False once popped)."""

    @property
    def cids(self) -> list[int]:
        """The CIDs of :attr:`tasks`, in order."""
        return [c for c, _ in self.tasks]

    def __repr__(self) -> str:
        return f"TaskBlock(target={self.target!r}, tasks={self.tasks!r}, priority={self.priority})"


class PeerTracker:
    """One peer's queued task blocks and active tasks (``peertracker.PeerTracker``)."""

    __slots__ = (
        "_heap",
        "active",
        "active_tasks",
        "created",
        "dirty",
        "freeze_val",
        "last_served",
        "num_blocks",
        "num_tasks",
        "target",
        "task_map",
        "version",
    )

    def __init__(self, target: Hashable, seq: int) -> None:
        self.target = target
        self.active = 0
        """Tasks popped and not yet done (counted one by one)."""
        self.active_tasks: dict[int, None] = {}
        """CIDs of the active tasks (Go's ``activeTasks`` set)."""
        self.num_tasks = 0
        """Queued tasks: + pushed, - cancelled (every time), - popped. Can go negative (Go)."""
        self.freeze_val = 0
        self.task_map: dict[int, TaskBlock] = {}
        """CID -> the queued block holding it; kept after a cancel until the block is popped."""
        self.num_blocks = 0
        """Queued task blocks, cancelled ones included (Go's ``taskBlockQueue.Len()``)."""
        # Lazy heap of (-priority, created, block); an entry is stale once the block was popped
        # or its priority raised (a fresher entry was pushed then).
        self._heap: list[tuple[int, int, TaskBlock]] = []
        self.created = seq
        """Queue sequence number at creation."""
        self.last_served = -1
        """Queue sequence number of the last pop that returned a block; -1 if none yet."""
        self.version = 0
        """Stamp of this tracker's live entry in the queue's peer heap (-1 once dropped)."""
        self.dirty = False
        """Changed since its live heap entry was made (the queue re-keys it before a pop)."""

    # ------------------------------------------------------------------ tasks
    def push_block(self, tasks: Iterable[Task], created: int) -> TaskBlock | None:
        """Queue the tasks that are neither active nor queued as one new block
        (``PeerTracker.PushBlock``). A task already queued only raises its block's priority.
        Returns the new block, or None if no task was new."""
        priority = 0
        new: list[Task] = []
        for task in tasks:
            cid, prio = task
            if cid in self.active_tasks:
                continue
            block = self.task_map.get(cid)
            if block is not None:
                if prio > block.priority:
                    block.priority = prio
                    heapq.heappush(self._heap, (-prio, block.created, block))
                continue
            if prio > priority:
                priority = prio
            new.append(task)
        if not new:
            return None
        block = TaskBlock(new, priority, self.target, created)
        # Within a peer Go compares blocks by priority only (PriorityCompare, same target); its
        # heap order on equal priorities is unspecified. Here ties go in creation order (FIFO).
        heapq.heappush(self._heap, (-priority, created, block))
        self.num_blocks += 1
        for cid, _ in new:
            self.task_map[cid] = block
        self.num_tasks += len(new)
        return block

    def pop_block(self) -> TaskBlock | None:
        """The highest-priority block with any task left, its tasks made active; blocks whose
        tasks were all cancelled are discarded on the way. None if frozen or nothing is left
        (``PeerTracker.PopBlock``)."""
        heap = self._heap
        while heap and self.freeze_val == 0:
            neg_prio, _, block = heapq.heappop(heap)
            if not block.queued or -neg_prio != block.priority:
                continue  # stale entry
            block.queued = False
            self.num_blocks -= 1
            task_map = self.task_map
            for cid, _ in block.tasks:
                task_map.pop(cid, None)
            if block.to_prune:
                prune = block.to_prune
                block.tasks = [t for t in block.tasks if t[0] not in prune]
            if not block.tasks:
                continue
            self.num_tasks -= len(block.tasks)
            for cid, _ in block.tasks:
                self.active_tasks[cid] = None
            self.active += len(block.tasks)
            return block
        return None

    def remove(self, cid: int) -> bool:
        """Mark a queued task cancelled (``PeerTracker.Remove``): True if ``cid`` is in the task
        map, even if it was cancelled before (then ``num_tasks`` drops once more, as in Go)."""
        block = self.task_map.get(cid)
        if block is None:
            return False
        block.to_prune.add(cid)
        self.num_tasks -= 1
        return True

    def task_done(self, cid: int) -> None:
        """An active task was sent (``PeerTracker.TaskDone``)."""
        self.active_tasks.pop(cid, None)
        self.active -= 1
        if self.active < 0:
            raise RuntimeError(f"more tasks finished than started for peer {self.target!r}")

    def is_idle(self) -> bool:
        """No queued and no active tasks (``IsIdle``)."""
        return self.num_tasks == 0 and self.active == 0

    # ------------------------------------------------------------------ freezing
    def freeze(self) -> None:
        self.freeze_val += 1

    def thaw(self) -> bool:
        """Subtract ceil(freeze / 2); True once thawed (``Thaw``)."""
        self.freeze_val -= (self.freeze_val + 1) // 2
        return self.freeze_val <= 0

    def full_thaw(self) -> None:
        self.freeze_val = 0

    def is_frozen(self) -> bool:
        return self.freeze_val > 0

    def __repr__(self) -> str:
        return (
            f"PeerTracker({self.target!r}, num_tasks={self.num_tasks}, active={self.active}, "
            f"blocks={self.num_blocks}, freeze={self.freeze_val})"
        )


_Key = tuple[int, int, int, int, int, int]


def _order_key(t: PeerTracker) -> _Key:
    """Sort key whose minimum is the peer :func:`peer_compare` serves first. Trackers without
    queued tasks are all equivalent; ties go to the least recently served (see
    :meth:`PeerTaskQueue.pop_block`)."""
    if t.num_tasks == 0:
        return (1, 0, 0, 0, t.last_served, t.created)
    return (0, t.freeze_val, t.active, -t.num_blocks, t.last_served, t.created)


def peer_compare(a: PeerTracker, b: PeerTracker) -> bool:
    """True if ``a`` is served before ``b`` (``peertracker.PeerCompare``): peers with queued
    tasks first; then the lower freeze value; then fewer active tasks; with equal active
    tasks, more queued task blocks first. (Go's tie-break is absent; see ``pop_block``.)"""
    if a.num_tasks == 0:
        return False
    if b.num_tasks == 0:
        return True
    if a.freeze_val != b.freeze_val:
        return a.freeze_val < b.freeze_val
    if a.active == b.active:
        return a.num_blocks > b.num_blocks
    return a.active < b.active


class PeerTaskQueue:
    """Per-peer task blocks, served peer by peer (``peertaskqueue.PeerTaskQueue``, v0.1.1).

    Args:
        freezing: freeze a peer when one of its queued tasks is cancelled (v0.1.1's default;
            ``IgnoreFreezing(true)`` turns it off).
    """

    __slots__ = ("_order", "_seq", "_touch", "freezing", "frozen", "trackers")

    def __init__(self, freezing: bool = True) -> None:
        self.freezing = freezing
        self.trackers: dict[Hashable, PeerTracker] = {}
        """Peer -> tracker, in creation order (Go: a map plus a heap)."""
        self.frozen: dict[Hashable, None] = {}
        """Peers frozen by a cancel and not yet thawed (Go's ``frozenPeers`` set)."""
        self._seq = 0
        self._order: TrackerHeap[PeerTracker] = TrackerHeap(_order_key)
        self._touch = self._order.touch
        """``_touch(tracker)``: its order key may have changed (re-keyed before :meth:`top`)."""

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # ------------------------------------------------------------------ queue
    def push_block(self, peer: Hashable, tasks: Iterable[Task]) -> None:
        """Queue tasks for ``peer`` as one block (``PushBlock``). Tasks active for that peer are
        skipped; a task already queued only raises its block's priority; the rest form one new
        block. The peer's tracker is created even if no task is new (as in Go)."""
        tracker = self.trackers.get(peer)
        if tracker is None:
            tracker = self.trackers[peer] = PeerTracker(peer, self._next_seq())
        tracker.push_block(tasks, self._next_seq())
        self._touch(tracker)

    def top(self) -> PeerTracker | None:
        """The tracker :meth:`pop_block` would pop from, or None if there is none: the one with
        the least :func:`_order_key` (keys are unique: they end with the creation number)."""
        return self._order.top(self.trackers.values(), len(self.trackers))

    def pop_block(self) -> TaskBlock | None:
        """Pop the next block of the best peer by :func:`peer_compare` (``PopBlock``).

        Ties left by PeerCompare go to the tracker served least recently: never-served trackers
        first (oldest first), then the one whose last block was popped longest ago. This
        replaces Go's heap order, which is unspecified on ties. Only that one peer is tried; a
        tracker left idle is dropped.
        """
        tracker = self.top()
        if tracker is None:
            return None
        out = tracker.pop_block()
        if out is not None:
            tracker.last_served = self._next_seq()
        if tracker.is_idle():
            del self.trackers[tracker.target]
            self.frozen.pop(tracker.target, None)
            self._order.drop(tracker)
        else:
            # pop_block may have discarded cancelled blocks even when it returns None
            self._touch(tracker)
        return out

    def remove(self, cid: int, peer: Hashable) -> bool:
        """Cancel a queued task (``Remove``): mark it prunable and, if freezing is on, freeze
        the peer one step. Returns whether the task was found (its block still queued)."""
        tracker = self.trackers.get(peer)
        if tracker is None or not tracker.remove(cid):
            return False
        self._touch(tracker)
        if self.freezing:
            # Go: a cancel for a block about to be sent means more cancels may be in flight;
            # wait a little before sending that peer anything.
            if not tracker.is_frozen():
                self.frozen[peer] = None
            tracker.freeze()
        return True

    def task_done(self, peer: Hashable, cids: Iterable[int]) -> None:
        """The block's tasks were sent: release them (the block's ``Done`` callback)."""
        tracker = self.trackers[peer]
        for cid in cids:
            tracker.task_done(cid)
        self._touch(tracker)

    # ------------------------------------------------------------------ freezing
    def thaw_round(self) -> None:
        """Every frozen peer's freeze value drops by ceil(value / 2) (``ThawRound``)."""
        for peer in list(self.frozen):
            tracker = self.trackers.get(peer)
            if tracker is not None:
                self._touch(tracker)
                if tracker.thaw():
                    del self.frozen[peer]

    def full_thaw(self) -> None:
        """Unfreeze every peer (``FullThaw``)."""
        for peer in list(self.frozen):
            tracker = self.trackers.get(peer)
            if tracker is not None:
                tracker.full_thaw()
                self._touch(tracker)
                del self.frozen[peer]

    # ------------------------------------------------------------------ queries
    def pop_would_act(self) -> bool:
        """Whether a ``ThawRound`` + ``PopBlock`` now would change anything: a peer is frozen,
        or the peer a pop would pick has queued blocks or is idle (and would be dropped)."""
        if self.frozen:
            return True
        top = self.top()
        return top is not None and (top.num_blocks > 0 or top.is_idle())

    def __len__(self) -> int:
        """Number of peer trackers."""
        return len(self.trackers)

    def num_queued_tasks(self) -> int:
        """Sum of the trackers' ``num_tasks``."""
        return sum(t.num_tasks for t in self.trackers.values())
