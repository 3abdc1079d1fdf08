"""ResettableTimer: Go time.Timer semantics without one SimPy event per reset; PeriodicTimer: a
ticker that costs nothing until started."""

from __future__ import annotations

from sim import Network
from sim.timers import PeriodicTimer, ResettableTimer


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


def _drain(net):
    events = 0
    while net.env.peek() != float("inf") and net.env.peek() <= 200.0:
        net.env.step()
        events += 1
    return events


def test_a_periodic_timer_schedules_nothing_until_started():
    net = Network()
    PeriodicTimer(net, 30.0, lambda: None)
    assert net.env.peek() == float("inf")


def test_a_late_start_ticks_where_a_timer_reset_at_creation_would():
    """Created at 0.1 s (ticks of a ResettableTimer reset every 30 s from there: 30.1, 60.1,
    ...), started at 45 s: the first tick is 60.1 s, the same float as the reset chain's."""
    net = Network()
    ticks, chain = [], []
    net.call_at(0.1, lambda ev: make(), None)

    def make():
        timer = PeriodicTimer(net, 30.0, lambda: ticks.append(net.now))
        reference = ResettableTimer(net, lambda: (chain.append(net.now), reference.reset(30.0)))
        reference.reset(30.0)
        net.call_at(44.9, lambda ev: timer.start(), None)

    _drain(net)
    assert ticks == chain[1:]
    assert ticks[0] == chain[1] and len(ticks) == 5


def test_start_is_idempotent_and_stop_is_for_good():
    net = Network()
    ticks = []
    timer = PeriodicTimer(net, 1.0, lambda: ticks.append(net.now))
    timer.start()
    timer.start()
    net.call_at(2.5, lambda ev: timer.stop(), None)
    net.call_at(3.0, lambda ev: timer.start(), None)
    _drain(net)
    assert ticks == [1.0, 2.0]
    assert not timer.running
