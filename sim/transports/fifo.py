"""``fifo``: first-in first-out serialisation at each link end, pipelined through the latency.

A message of S bytes sent at time t from A (upload rate U) to B (download rate D) over a
connection of one-way latency L:

* A's uplink serialises messages in the order they are sent: it starts at
  ``s = max(t, uplink free)`` and finishes at ``e = s + S/U``.
* The bytes stream through the latency (a pure delay): the first byte reaches B at ``s + L``,
  the last at ``e + L``.
* B's downlink serialises at rate D. It serves messages in the order their last byte arrives,
  starting each at ``max(first byte arrives, downlink free)``; the message is delivered at
  ``max(e + L, downlink start + S/D)``.

So a lone message takes ``L + max(S/U, S/D) = L + S/min(U, D)``, as a TCP stream would, and
the same as under ``fair`` and ``go-testnet`` with a pair rate of ``min(U, D)``. A
store-and-forward model (``S/U + L + S/D``) would double-count the bottleneck for every
256 KiB block; that is why the stages are pipelined.

Cost: one timer event per message when the receiver's downlink is unlimited or idle enough to
keep up, two when the message has to queue at the downlink; no process, no queue object.

Hosts (:mod:`sim.host`): a message whose sender's host needs time to prepare it is booked on
the uplink when it is handed over, to start no earlier than it is ready (``ready_at``): no
extra event. So the uplink serves messages in the order they were handed over; one handed over
later but ready sooner (another connection's cipher lane was free) does not overtake it. The
difference is bounded by the sender's CPU backlog and matters only while the uplink, not the
CPU, is the bottleneck.

Priority lane (``priority_kinds``): messages of those kinds (the caller's small control
messages: wants, HAVE, DONT_HAVE, cancels) start serialising at once instead of waiting behind
queued blocks, as they would on a separate multiplexed libp2p stream. Messages that start after
them are pushed back by the control message's own serialisation time (the one already on the
wire keeps its time), so over a busy period no capacity is created.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sim.kernel import Call, call_value
from sim.transports.base import Transport

__all__ = ["FifoTransport"]

if TYPE_CHECKING:
    from sim.network import Link

_INF = math.inf


class FifoTransport(Transport):
    """FIFO uplinks and downlinks with busy-until arithmetic (see the module docstring).

    Args:
        priority_kinds: message kinds that take the priority lane (default: none).
    """

    name = "fifo"
    accepts_ready_at = True

    def __init__(self, priority_kinds: Iterable[str] = ()) -> None:
        if isinstance(priority_kinds, str):
            raise ValueError(
                f"priority_kinds must be a list of message kinds, got the string {priority_kinds!r}"
            )
        self.priority_kinds = frozenset(priority_kinds)

    def send(
        self,
        link: Link,
        message: Any,
        size_bytes: int,
        kind: str,
        on_sent: Callable[[], None] | None = None,
        ready_at: float | None = None,
    ) -> None:
        net = self.net
        now = net.env.now
        # ready_at: when the sender's host has the message ready (later than now); the uplink
        # books it now, in the order messages are handed over (see accepts_ready_at).
        t0 = now if ready_at is None else ready_at
        src = link.src
        prio = kind in self.priority_kinds
        up = src.upload_Bps
        if up == _INF:
            start = end = t0
        else:
            tx = size_bytes / up
            src.up_busy_s += tx
            free = src.up_free_at
            if prio:
                start = t0
                end = t0 + tx
                src.up_free_at = (free if free > t0 else t0) + tx
            else:
                start = free if free > t0 else t0
                end = start + tx
                src.up_free_at = end
        if on_sent is not None:
            net.call_at(end - now, call_value, on_sent)
        lat = net.latency_of(link) if net.jitter else link.latency_s
        if link.dst.download_Bps == _INF:
            net.call_at(end + lat - now, self._deliver, (link, message, size_bytes, kind, t0))
        else:
            net.call_at(
                end + lat - now,
                self._downlink,
                (link, message, size_bytes, kind, t0, start + lat, prio),
            )

    def _downlink(self, event: Call) -> None:
        link, message, size_bytes, kind, t_sent, first_byte, prio = event.value
        net = self.net
        now = net.env.now
        dst = link.dst
        tx = size_bytes / dst.download_Bps
        dst.down_busy_s += tx
        free = dst.down_free_at
        if prio:
            done = first_byte + tx
            dst.down_free_at = (free if free > first_byte else first_byte) + tx
        else:
            done = (free if free > first_byte else first_byte) + tx
            dst.down_free_at = done
        if done <= now:
            net.deliver(link, message, size_bytes, kind, t_sent)
        else:
            net.call_at(done - now, self._deliver, (link, message, size_bytes, kind, t_sent))

    def _deliver(self, event: Call) -> None:
        link, message, size_bytes, kind, t_sent = event.value
        self.net.deliver(link, message, size_bytes, kind, t_sent)
