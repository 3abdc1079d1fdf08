"""The peer heap of both peer task queues picks exactly the peer a scan of every tracker would.

``PeerTaskQueue.top`` keeps the trackers in a lazy heap keyed by ``_order_key``. Random
operation sequences (hypothesis) check after every step that it returns the tracker with the
least key among all live trackers, the rule the queues were first written with.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.master import peertaskqueue as mq
from models.poc import peertaskqueue as pq
from models.poc.engine import BitswapTask, BitswapTaskMerger

PEERS = ("a", "b", "c", "d", "e")


def _scan(trackers, order_key):
    return min(trackers.values(), key=order_key, default=None)


_ops = st.lists(
    st.tuples(
        st.sampled_from(("push", "pop", "done", "remove", "thaw", "full_thaw")),
        st.sampled_from(PEERS),
        st.lists(st.integers(0, 7), min_size=1, max_size=4),
        st.integers(0, 3),
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(_ops)
def test_poc_top_is_the_least_key(ops):
    q = pq.PeerTaskQueue(BitswapTaskMerger())
    popped: list[tuple[object, list[pq.Task]]] = []
    for op, peer, cids, n in ops:
        if op == "push":
            tasks = [
                BitswapTask(
                    c,
                    n,
                    38 if c % 2 else 8000,
                    is_want_block=c % 3 == 0,
                    send_dont_have=True,
                    block_size=8000,
                    have_block=c % 2 == 0,
                )
                for c in cids
            ]
            q.push_tasks(peer, tasks)
        elif op == "pop":
            target, out, _ = q.pop_tasks(n * 8000)
            if out:
                popped.append((target, out))
        elif op == "done" and popped:
            target, out = popped.pop(n % len(popped))
            q.tasks_done(target, out)
        elif op == "remove":
            q.remove(cids[0], peer)
        assert q.top() is _scan(q.trackers, pq._order_key)
        assert q.pop_would_act() == (
            (t := _scan(q.trackers, pq._order_key)) is not None and (bool(t.pending) or t.is_idle())
        )


@settings(max_examples=150, deadline=None)
@given(_ops)
def test_master_top_is_the_least_key(ops):
    q = mq.PeerTaskQueue()
    popped: list[mq.TaskBlock] = []
    for op, peer, cids, n in ops:
        if op == "push":
            q.push_block(peer, [(c, n) for c in cids])
        elif op == "pop":
            block = q.pop_block()
            if block is not None:
                popped.append(block)
        elif op == "done" and popped:
            block = popped.pop(n % len(popped))
            if block.target in q.trackers:
                q.task_done(block.target, block.cids)
        elif op == "remove":
            q.remove(cids[0], peer)
        elif op == "thaw":
            q.thaw_round()
        elif op == "full_thaw":
            q.full_thaw()
        assert q.top() is _scan(q.trackers, mq._order_key)


_tracker_ops = st.lists(
    st.tuples(
        st.sampled_from(("push", "push", "pop", "done", "remove")),
        st.lists(st.integers(0, 9), min_size=1, max_size=5),
        st.integers(0, 4),
    ),
    max_size=60,
)


def _scan_pop(pending: list[pq.Task], target_min_work: int) -> list[pq.Task]:
    """PopTasks by selection: the first task of the highest priority (ties FIFO), again and
    again, until the work reaches the target."""
    left = list(pending)
    out: list[pq.Task] = []
    work = 0
    while left and work < target_min_work:
        best = max(t.priority for t in left)
        task = next(t for t in left if t.priority == best)
        left.remove(task)
        out.append(task)
        work += task.work
    return out


@settings(max_examples=300, deadline=None)
@given(_tracker_ops, st.integers(0, 5))
def test_poc_tracker_pop_is_the_selection_pop(ops, n):
    """After pushes (with merges and raised priorities), pops, dones and removes, a tracker's
    pop (a stable sort of the pending tasks by priority) gives the selection order; the work
    counters follow."""
    tracker = pq.PeerTracker("a", BitswapTaskMerger(), 0)
    active: list[pq.Task] = []
    for op, cids, k in [*ops, ("pop", [0], n)]:
        if op == "push":
            tracker.push_tasks(
                [
                    BitswapTask(
                        c,
                        k,
                        38 if c % 2 else 8000,
                        is_want_block=c % 3 == 0,
                        send_dont_have=True,
                        block_size=8000,
                        have_block=c % 2 == 1,
                    )
                    for c in cids
                ]
            )
        elif op == "pop":
            before = list(tracker.pending.values())
            pending_work, active_work = tracker.pending_work, tracker.active_work
            expected = _scan_pop(before, k * 8000)
            out = tracker.pop_tasks(k * 8000)
            assert [id(t) for t in out] == [id(t) for t in expected]
            assert list(tracker.pending.values()) == [t for t in before if t not in out]
            work = sum(t.work for t in out)
            assert tracker.pending_work == pending_work - work
            assert tracker.pending_work == sum(t.work for t in tracker.pending.values())
            assert tracker.active_work == active_work + work
            active += out
        elif op == "done" and active:
            tracker.tasks_done([active.pop(k % len(active))])
        elif op == "remove":
            tracker.remove(cids[0])
