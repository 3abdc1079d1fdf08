"""sim.kernel against SimPy's public API: a SimPy release that changes the internals the kernel
relies on (the heap, the event counter, the clock, ``Event._value``) fails here.

``call_at`` must order events exactly as ``env.timeout`` would (time, then priority, then
scheduling order), among timeouts and process events at equal times; its event's ``value``
must be what was passed, wherever SimPy reads it; and it must count as one event, as a timeout
does.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Generator
from typing import Any

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.kernel import Call, Environment, Scheduler, call_value

DELAYS = (0.0, 0.0, 0.25, 0.5, 1.0)
"""Few distinct delays, zero twice: most events share their time with others."""


def _simpy_now(env: simpy.Environment) -> Any:
    """The clock as SimPy's own ``now`` property reads it."""
    return simpy.Environment.now.fget(env)  # type: ignore[attr-defined]


def _script_run(seed: int, kernel: bool) -> tuple[list[tuple[Any, ...]], int, Any]:
    """Run a random tree of scheduled callbacks. With ``kernel`` the "at" and "soon" nodes use
    ``call_at`` / ``call_soon`` on a kernel ``Environment``; without, every node is a plain
    SimPy timeout on a plain ``simpy.Environment``. Returns the log, the event count and the
    final time."""
    env: simpy.Environment = Environment() if kernel else simpy.Environment()
    sched = Scheduler(env)
    call_at, call_soon = sched.call_at, sched.call_soon
    rng = random.Random(seed)
    labels = itertools.count()
    log: list[tuple[Any, ...]] = []

    def fire(label: int, value: Any, depth: int) -> None:
        now = env.now
        assert now == _simpy_now(env)
        log.append((now, label, value))
        if depth < 4:
            for _ in range(rng.randint(0, 3)):
                schedule(depth + 1)

    def waiter(delay: float, label: int, depth: int) -> Generator[simpy.Event, Any, None]:
        if rng.random() < 0.5:
            yield env.timeout(rng.choice(DELAYS))  # a process event between its own
        if kernel:
            value = yield call_at(delay, _ignore, ("p", label))
        else:
            value = yield env.timeout(delay, ("p", label))
        fire(label, value, depth)

    def schedule(depth: int) -> None:
        label = next(labels)
        how = rng.choice(("at", "soon", "timeout", "process"))
        delay = rng.choice(DELAYS)
        if how == "process":
            env.process(waiter(delay, label, depth))
        elif how == "soon" and kernel:
            call_soon(lambda: fire(label, "soon", depth))
        elif how == "soon":
            env.timeout(0, "soon").callbacks.append(lambda ev: fire(label, ev.value, depth))
        elif how == "at" and kernel:
            call_at(delay, lambda ev: fire(label, ev.value, depth), ("at", label))
        else:
            value = ("at", label) if how == "at" else ("timeout", label)
            env.timeout(delay, value).callbacks.append(lambda ev: fire(label, ev.value, depth))

    for _ in range(rng.randint(1, 6)):
        schedule(0)
    env.run(until=rng.choice((None, 0.5, 1.75)))
    return log, sched.events_scheduled(), env.now


def _ignore(_event: Call) -> None:
    pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_call_at_runs_in_timeout_order_and_counts_as_timeouts(seed: int) -> None:
    """Random trees of call_at / call_soon / timeouts / processes at shared times: the same
    callbacks at the same times in the same order, the same values, the same event count and
    the same final clock as with SimPy timeouts only."""
    with_kernel = _script_run(seed, kernel=True)
    plain = _script_run(seed, kernel=False)
    assert with_kernel == plain


def _ordered(kernel: bool) -> list[str]:
    env: simpy.Environment = Environment() if kernel else simpy.Environment()
    sched = Scheduler(env)
    call_at, call_soon = sched.call_at, sched.call_soon
    log: list[str] = []

    def later(name: str, delay: float) -> None:
        if kernel:
            call_at(delay, lambda ev: log.append(ev.value), name)
        else:
            env.timeout(delay, name).callbacks.append(lambda ev: log.append(ev.value))

    def soon(name: str) -> None:
        if kernel:
            call_soon(lambda: log.append(name))
        else:
            env.timeout(0, name).callbacks.append(lambda ev: log.append(ev.value))

    def proc() -> Generator[simpy.Event, Any, None]:
        log.append("process starts")  # its Initialize event is urgent: before the others at 0
        yield env.timeout(1.0)
        log.append("process at 1")
        later("scheduled by the process at 1", 0.0)
        soon("soon from the process at 1")

    def at_one(_ev: simpy.Event) -> None:
        log.append("timeout at 1")
        later("scheduled by the timeout at 1", 0.0)

    later("later 1 (first)", 1.0)
    env.timeout(1.0).callbacks.append(at_one)
    env.process(proc())
    later("later 1 (second, before the process's timeout: that is scheduled once it runs)", 1.0)
    later("later 0", 0.0)
    soon("soon at 0")
    env.run()
    return log


def test_equal_times_run_in_scheduling_order() -> None:
    """The rule spelled out: at equal times, events run in the order they were scheduled,
    whether by call_at, call_soon, a timeout or a process; zero delay runs after what is
    already scheduled for now."""
    assert (
        _ordered(kernel=True)
        == _ordered(kernel=False)
        == [
            "process starts",
            "later 0",
            "soon at 0",
            "later 1 (first)",
            "timeout at 1",
            "later 1 (second, before the process's timeout: that is scheduled once it runs)",
            "process at 1",
            "scheduled by the timeout at 1",
            "scheduled by the process at 1",
            "soon from the process at 1",
        ]
    )


def test_call_value_is_what_was_passed_wherever_simpy_reads_it() -> None:
    env = Environment()
    call_at = Scheduler(env).call_at
    payload = object()
    seen: list[Any] = []
    ev = call_at(0.5, lambda e: seen.append(e.value), payload)
    assert isinstance(ev, simpy.Event)
    assert ev.value is payload and ev.triggered and ev.ok and not ev.processed
    assert simpy.Event.value.fget(ev) is payload  # type: ignore[attr-defined]

    got: list[Any] = []

    def waiter(e: Call) -> Generator[simpy.Event, Any, None]:
        got.append((yield e))  # a process reads the value SimPy's way (Event._value)

    env.process(waiter(ev))
    both = env.all_of([ev, env.timeout(0.25, "t")])
    env.run()
    assert seen == [payload] and got == [payload] and ev.processed
    assert both.value[ev] is payload  # a condition reads it SimPy's way too
    assert env.now == 0.5


def test_call_value_and_call_soon_run_the_function() -> None:
    env = Environment()
    sched = Scheduler(env)
    call_at, call_soon = sched.call_at, sched.call_soon
    log: list[tuple[str, float]] = []
    call_at(0.25, call_value, lambda: log.append(("delayed", env.now)))
    call_soon(lambda: log.append(("soon", env.now)))
    env.run()
    assert log == [("soon", 0.0), ("delayed", 0.25)]


def test_events_scheduled_counts_as_simpy_does() -> None:
    """One event per call_at / call_soon, as one per timeout."""

    def count(schedule: Callable[[simpy.Environment], None], env: simpy.Environment) -> int:
        schedule(env)
        env.run()
        return Scheduler(env).events_scheduled()

    def with_kernel(env: simpy.Environment) -> None:
        sched = Scheduler(env)
        sched.call_soon(lambda: None)
        for d in (0.0, 1.0, 1.0):
            sched.call_at(d, _ignore, None)

    def with_timeouts(env: simpy.Environment) -> None:
        for d in (0, 0.0, 1.0, 1.0):
            env.timeout(d)

    assert Scheduler(simpy.Environment()).events_scheduled() == 0
    assert count(with_kernel, Environment()) == count(with_timeouts, simpy.Environment()) == 4


def test_environment_now_is_simpys_clock() -> None:
    env = Environment(initial_time=3)
    assert env.now == 3 and _simpy_now(env) == 3
    env.timeout(1.5)
    env.run(until=10)
    assert env.now == 10 == _simpy_now(env)
    assert "_now" not in vars(env)  # a slot, not a dict entry: the alias reads what step writes


def test_now_and_value_are_plain_attributes() -> None:
    """What makes the kernel fast: ``env.now`` and ``event.value`` name the slots SimPy writes
    (``_now``, ``_value``), read without a property call."""
    assert vars(Environment)["now"] is vars(Environment)["_now"]
    assert vars(Call)["value"] is vars(Call)["_value"]
