"""Timers on a SimPy environment, without one event per reset and without events while idle.

SimPy cannot cancel a scheduled event. Protocol timers (an idle tick reset on every received
block, a periodic search) would otherwise leave one stale event per reset in the heap. A
:class:`ResettableTimer` keeps a deadline and at most one live wake-up event: moving the
deadline later costs nothing (the wake-up re-arms itself when it finds the deadline moved),
moving it earlier schedules one new wake-up and retires the old one by a token.

A :class:`PeriodicTimer` is a ticker that schedules nothing until it is started: an object
that has one but never needs it (a message queue towards a peer that is never asked for
anything) puts no event in the heap, however long the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.kernel import Call
    from sim.network import Network

__all__ = ["PeriodicTimer", "ResettableTimer"]

_EPS_S = 1e-9
"""Wake-ups within this many seconds of the deadline fire (float round-off of now + delay)."""


class ResettableTimer:
    """Calls ``callback()`` once the deadline set by :meth:`reset` passes, unless stopped.

    Like Go's ``time.Timer``: ``reset(delay_s)`` (re)arms it ``delay_s`` seconds from now,
    ``stop()`` disarms it; it fires at most once per arming.
    """

    __slots__ = ("_callback", "_deadline", "_net", "_token", "_wake_at")

    def __init__(self, net: Network, callback: Callable[[], None]) -> None:
        self._net = net
        self._callback = callback
        self._deadline: float | None = None
        self._wake_at: float | None = None
        self._token = 0

    @property
    def deadline(self) -> float | None:
        """When it fires (seconds of simulated time), or ``None`` when stopped."""
        return self._deadline

    def reset(self, delay_s: float) -> None:
        """Fire ``delay_s`` seconds from now (``delay_s`` >= 0)."""
        now = self._net.env.now
        deadline = now + delay_s
        self._deadline = deadline
        if self._wake_at is None or self._wake_at > deadline + _EPS_S:
            self._arm(deadline - now)

    def stop(self) -> None:
        """Disarm; a pending wake-up will find nothing to do."""
        self._deadline = None

    def _arm(self, delay_s: float) -> None:
        self._token += 1
        self._wake_at = self._net.env.now + delay_s
        self._net.call_at(delay_s, self._wake, self._token)

    def _wake(self, event: Call) -> None:
        if event.value != self._token:
            return  # retired by an earlier deadline
        self._wake_at = None
        deadline = self._deadline
        if deadline is None:
            return
        now = self._net.env.now
        if now + _EPS_S >= deadline:
            self._deadline = None
            self._callback()
        else:
            self._arm(deadline - now)


class PeriodicTimer:
    """Calls ``callback()`` every ``interval_s`` seconds once :meth:`start`-ed, until stopped.

    Its ticks fall where those of a :class:`ResettableTimer` reset to ``interval_s`` when this
    timer was created, and again from each wake-up, would fall (the same floating-point
    sums), however late :meth:`start` is called: it only skips the ticks before the start. It
    is re-armed before ``callback`` runs, as a Go ticker loop that resets its timer first.
    :meth:`stop` is for good (a stopped timer does not start again).
    """

    __slots__ = ("_callback", "_interval_s", "_net", "_next", "_running", "_stopped")

    def __init__(self, net: Network, interval_s: float, callback: Callable[[], None]) -> None:
        self._net = net
        self._callback = callback
        self._interval_s = interval_s
        self._next = self._after(net.env.now)
        """The first tick not yet scheduled or passed."""
        self._running = False
        self._stopped = False

    def _after(self, t: float) -> float:
        """The tick after one at ``t``: ``ResettableTimer.reset(interval_s)``'s wake-up time
        from ``t`` (``t + (deadline - t)``, which floating point may round off ``deadline``)."""
        deadline = t + self._interval_s
        return t + (deadline - t)

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Tick from the next tick time after now on (nothing if running or stopped)."""
        if self._running or self._stopped:
            return
        now = self._net.env.now
        t = self._next
        while t <= now:
            t = self._after(t)
        self._running = True
        self._next = t
        self._net.call_at_time(t, self._tick, None)

    def stop(self) -> None:
        """No more ticks."""
        self._stopped = True
        self._running = False

    def _tick(self, event: Call) -> None:
        if not self._running:
            return
        now = self._net.env.now
        deadline = now + self._interval_s
        self._next = now + (deadline - now)
        self._net.call_at(deadline - now, self._tick, None)
        self._callback()
