"""A resettable timer on a SimPy environment, without one event per reset.

SimPy cannot cancel a scheduled event. Protocol timers (an idle tick reset on every received
block, a periodic search) would otherwise leave one stale event per reset in the heap. A
:class:`ResettableTimer` keeps a deadline and at most one live wake-up event: moving the
deadline later costs nothing (the wake-up re-arms itself when it finds the deadline moved),
moving it earlier schedules one new wake-up and retires the old one by a token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.kernel import Call
    from sim.network import Network

__all__ = ["ResettableTimer"]

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
