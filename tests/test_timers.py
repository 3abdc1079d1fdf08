"""ResettableTimer: Go time.Timer semantics without one SimPy event per reset."""

from __future__ import annotations

from sim import Network
from sim.timers import ResettableTimer


def run_with(actions):
    """``actions``: (time, 'reset', delay) or (time, 'stop'); returns fire times and events."""
    net = Network()
    fired = []
    timer = ResettableTimer(net, lambda: fired.append(net.now))
    for t, what, *arg in actions:
        cb = (lambda ev, d=arg[0]: timer.reset(d)) if what == "reset" else (lambda ev: timer.stop())
        net.call_at(t, cb, None)
    events = 0
    while net.env.peek() != float("inf"):
        net.env.step()
        events += 1
    return fired, events


def test_fires_once_at_the_deadline():
    assert run_with([(0.0, "reset", 1.0)])[0] == [1.0]


def test_moving_the_deadline_later_costs_no_event():
    # 100 resets, each pushing the deadline on (last one at 0.99 s -> 1.49 s): besides the 100
    # action events only 3 wake-ups, at 0.5 (deadline moved to 0.99), 0.99 (moved to 1.49)
    # and 1.49 (fires). One event per reset would have left 100 stale events.
    actions = [(i * 0.01, "reset", 0.5) for i in range(100)]
    fired, events = run_with(actions)
    assert fired == [0.99 + 0.5]
    assert events == 100 + 3


def test_moving_the_deadline_earlier_fires_early_and_once():
    fired, _ = run_with([(0.0, "reset", 5.0), (1.0, "reset", 0.25)])
    assert fired == [1.25]


def test_stop_and_rearm():
    assert run_with([(0.0, "reset", 1.0), (0.5, "stop")])[0] == []
    assert run_with([(0.0, "reset", 1.0), (0.5, "stop"), (0.75, "reset", 1.0)])[0] == [1.75]
