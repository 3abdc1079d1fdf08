"""The one module that uses SimPy's private API: scheduling a callback, the clock, the counter.

Why it exists: speed, measured. A run schedules one or two events per message and reads the
clock several times per message. SimPy's public way to run a callback later
(``env.timeout(delay, value)`` and a callback appended to it) builds the event through two
``__init__`` frames and ``env.schedule``; its ``env.now`` and ``event.value`` are properties
(a Python call per read). What each costs, and what this module saves, is in
``docs/performance.md`` ("SimPy costs measured"). Every other module of the project uses the
names below, never a private attribute of SimPy.

What it pins: SimPy 4's internals, as of 4.1.2 (``pyproject.toml`` requires ``simpy>=4.1,<5``).

* ``Environment._queue`` is the schedule: a heap (``heapq``) of ``(time, priority, event id,
  event)`` tuples, never replaced by another list; ``Environment._eid`` is the
  ``itertools.count`` that numbers events (the tie-break of equal times and priorities, so
  events at the same time run in the order they were scheduled); ``NORMAL`` is the priority
  of ``env.timeout`` and ``env.schedule``'s default.
* ``Environment.step`` pops the heap, sets ``Environment._now``, calls each of the event's
  ``callbacks`` with the event, and reads ``_ok`` (a failed event's ``_value`` is the
  exception); ``Event.value`` and ``Event.triggered`` read ``Event._value``, and so does a
  process that waits for the event.

``tests/test_kernel.py`` checks each of these against SimPy's public API (``env.timeout``,
``env.now``, ``event.value``, a process yielding an event), so a SimPy release that changes
them fails that test, not a result.

API:

* :class:`Environment`: SimPy's environment, with ``now`` a plain attribute (the same slot
  ``step`` writes) instead of a property. A plain :class:`simpy.Environment` works with
  everything here; its clock reads just cost a property call each.
* :class:`Call`: the event :meth:`Scheduler.call_at` schedules, created triggered (ok), with
  ``value`` a plain attribute instead of a property.
* :class:`Scheduler`: ``call_at(delay_s, callback, value)``, ``call_soon(callback)`` and
  ``events_scheduled()`` on one environment; :class:`sim.network.Network` is a scheduler.
* :func:`call_value`: the callback that runs a zero-argument function given as the value.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL, Event

__all__ = ["Call", "Callback", "Environment", "Scheduler", "call_value"]


class Environment(simpy.Environment):
    """:class:`simpy.Environment` whose ``now`` is read as a plain attribute.

    ``_now``, the clock SimPy's ``step`` writes, is a slot here, and ``now`` is a second name
    for that slot: the same value as SimPy's ``now`` property, read without a call. Read it;
    never assign it.
    """

    __slots__ = ("_now",)


# The slot's descriptor under a second name: ``env.now`` reads ``env._now`` (class attributes
# for slots exist only once the class is made, hence after the class body).
setattr(Environment, "now", vars(Environment)["_now"])  # noqa: B010


class Call(Event):
    """A SimPy event created triggered (ok) with one callback: what :meth:`Scheduler.call_at`
    schedules. ``value`` is what was passed, a plain attribute (SimPy's own ``_value`` and
    ``value`` name one slot); only :class:`Scheduler` builds one, without an ``__init__``
    frame."""

    __slots__ = ("_value",)
    _ok = True  # never fails: ok for every instance
    value: Any  # the slot ``_value`` under its public name (set below)


# As Environment.now above: ``event.value`` reads ``event._value``.
setattr(Call, "value", vars(Call)["_value"])  # noqa: B010

Callback = Callable[[Call], None]
"""``callback(event)``, called when a :class:`Call` is processed; ``event.value`` is the value
given to :meth:`Scheduler.call_at`."""

_new = object.__new__


class Scheduler:
    """Runs callbacks on one SimPy environment, one event each, no process.
    :class:`sim.network.Network` is one.

    ``call_at`` and ``call_soon`` are methods (not closures bound to the environment) because
    a method call is the cheapest call CPython has for ``net.call_at(...)``: its lookup is
    specialised, an instance attribute's is not.
    """

    env: simpy.Environment
    """The environment the events are scheduled on."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env

    def call_at(self, delay_s: float, callback: Callback, value: Any) -> Call:
        """Schedule ``callback(event)`` ``delay_s`` seconds from now with ``event.value ==
        value``; return the event.

        One :class:`Call` event, pushed onto SimPy's heap with the key ``env.timeout(delay_s,
        value)`` would get: it runs in the same order (time, then priority, then scheduling
        order) and counts as one event, as a timeout does. No checks (``delay_s`` must be
        >= 0)."""
        env = self.env
        ev = _new(Call)  # no __init__ frame: one per event of the run
        ev.env = env
        ev.callbacks = [callback]
        ev._value = value
        heappush(env._queue, (env._now + delay_s, NORMAL, next(env._eid), ev))
        return ev

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run ``callback()`` from its own event at the current time, after what is running
        and what is already scheduled for now: ``call_at(0.0, call_value, callback)`` in one
        call."""
        env = self.env
        ev = _new(Call)
        ev.env = env
        ev.callbacks = [call_value]
        ev._value = callback
        # + 0.0: the key call_at(0.0, ...) gives (a float even at SimPy's integer start time 0)
        heappush(env._queue, (env._now + 0.0, NORMAL, next(env._eid), ev))

    def events_scheduled(self) -> int:
        """How many events the environment has scheduled so far (SimPy's event counter: every
        timeout, :class:`Call`, process start and resumption). It takes one event id, so read
        it once, after the run; ids only break ties in scheduling order, so this changes no
        order."""
        return next(self.env._eid)


def call_value(event: Call) -> None:
    """A callback for :meth:`Scheduler.call_at` whose value is a zero-argument function: call
    it."""
    event._value()
