"""``fair``: flow-level max-min fair sharing of uplinks and downlinks.

Every message in transit is a flow through two resources, its sender's uplink and its
receiver's downlink (an unlimited end is no resource). Whenever a flow starts or ends, the
rates of all flows are recomputed by progressive filling (max-min fairness: raise every rate
together; a resource that saturates freezes the flows through it), the flow model of SimGrid
and of most P2P overlay simulators, and the closest of the three transports to many TCP
connections sharing a NIC. When a flow's last byte has left, the message is delivered after the
connection's one-way latency (a pure delay). A lone message therefore takes
``L + S/min(U, D)``, the same as under ``fifo``.

Events: one "next completion" timer for the whole transport, replaced whenever the rates change
(stale timers are recognised by a generation number and ignored, as SimPy cannot cancel an
event), plus one delivery timer per message with a non-zero latency. Transfers that start at
the same instant share one reallocation (a zero-delay "settle" event). A reallocation costs
O(active transfers), which makes this transport much slower than ``fifo`` under heavy load.

Round-off guard: the flow a timer was set for completes unconditionally when that timer fires
(along with any flow whose remaining bytes are within round-off of zero), so no flow is ever
rescheduled for "zero progress" and the run cannot spin.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.transports.base import Transport

__all__ = ["FairTransport"]

if TYPE_CHECKING:
    from sim.kernel import Call
    from sim.network import Link

_INF = math.inf
_ROUNDOFF_BYTES = 1e-6
"""A flow with fewer bytes left than this (or a relative 1e-9 of its size) has finished."""


class _Flow:
    __slots__ = (
        "down",
        "kind",
        "link",
        "message",
        "on_sent",
        "rate",
        "remaining",
        "size",
        "t_sent",
        "up",
    )

    def __init__(
        self,
        link: Link,
        message: Any,
        size: int,
        kind: str,
        t_sent: float,
        on_sent: Callable[[], None] | None,
    ) -> None:
        self.link = link
        self.on_sent = on_sent
        self.message = message
        self.size = size
        self.kind = kind
        self.t_sent = t_sent
        self.remaining = float(size)
        self.rate = 0.0
        self.up = link.src if link.src.upload_Bps != _INF else None
        self.down = link.dst if link.dst.download_Bps != _INF else None


class FairTransport(Transport):
    """Max-min fair sharing among concurrent transfers (see the module docstring)."""

    name = "fair"

    def __init__(self) -> None:
        self._flows: list[_Flow] = []
        self._updated_at = 0.0
        self._generation = 0
        self._settle_pending = False
        self.recomputations = 0

    @property
    def active_flows(self) -> int:
        """Transfers currently sharing bandwidth."""
        return len(self._flows)

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
        flow = _Flow(link, message, size_bytes, kind, now, on_sent)
        if flow.up is not None:
            flow.up.up_busy_s += size_bytes / flow.up.upload_Bps
        if flow.down is not None:
            flow.down.down_busy_s += size_bytes / flow.down.download_Bps
        if size_bytes == 0 or (flow.up is None and flow.down is None):
            self._arrive(flow)
            return
        self._advance(now)
        self._flows.append(flow)
        if not self._settle_pending:
            # Transfers started at the same instant share one reallocation.
            self._settle_pending = True
            self.net.call_at(0.0, self._settle, None)

    def link_closed(self, link: Link) -> None:
        """Stop the link's transfers at once (their bytes stop sharing the links) and re-share;
        each stopped transfer's ``on_sent`` still runs and the network counts it lost."""
        stopped = [f for f in self._flows if f.link is link]
        if not stopped:
            return
        self._advance(self.net.env.now)
        self._flows = [f for f in self._flows if f.link is not link]
        self._reallocate()
        for flow in stopped:
            if flow.on_sent is not None:
                self.net.call_soon(flow.on_sent)
            self.net.deliver(flow.link, flow.message, flow.size, flow.kind, flow.t_sent)

    def rates_changed(self) -> None:
        """Re-share the capacity among the transfers under the new rates."""
        self._advance(self.net.env.now)
        unlimited = []
        for flow in self._flows:
            flow.up = flow.link.src if flow.link.src.upload_Bps != _INF else None
            flow.down = flow.link.dst if flow.link.dst.download_Bps != _INF else None
            if flow.up is None and flow.down is None:
                unlimited.append(flow)  # nothing limits it any more: the rest goes at once
        if unlimited:
            self._flows = [f for f in self._flows if f.up is not None or f.down is not None]
        self._reallocate()
        for flow in unlimited:
            self._arrive(flow)

    # ------------------------------------------------------------------ internals
    def _advance(self, now: float) -> None:
        dt = now - self._updated_at
        if dt > 0.0:
            for flow in self._flows:
                flow.remaining -= flow.rate * dt
        self._updated_at = now

    def _settle(self, _event: Call) -> None:
        self._settle_pending = False
        self._reallocate()

    def _reallocate(self) -> None:
        """Progressive filling over the active flows, then arm the next-completion timer."""
        self.recomputations += 1
        flows = self._flows
        # Resources in first-use order (deterministic); key = (node, direction).
        capacity: dict[tuple[int, bool], float] = {}
        members: dict[tuple[int, bool], list[_Flow]] = {}
        order: dict[tuple[int, bool], int] = {}
        for flow in flows:
            flow.rate = -1.0  # not yet frozen
            for node, is_up in ((flow.up, True), (flow.down, False)):
                if node is None:
                    continue
                key = (id(node), is_up)
                users = members.get(key)
                if users is None:
                    members[key] = [flow]
                    capacity[key] = node.upload_Bps if is_up else node.download_Bps
                    order[key] = len(order)
                else:
                    users.append(flow)
        unfrozen = {key: len(users) for key, users in members.items()}

        def share_of(key: tuple[int, bool]) -> float:
            return max(capacity[key], 0.0) / unfrozen[key]

        heap = [(share_of(k), order[k], k) for k in members]
        heapq.heapify(heap)
        while heap:
            share, _, key = heapq.heappop(heap)
            if unfrozen[key] == 0:
                continue
            current = share_of(key)
            if current != share:  # stale entry: shares only grow, so re-queue the current one
                heapq.heappush(heap, (current, order[key], key))
                continue
            for flow in members[key]:
                if flow.rate >= 0.0:
                    continue
                flow.rate = share
                for node, is_up in ((flow.up, True), (flow.down, False)):
                    if node is None:
                        continue
                    other = (id(node), is_up)
                    capacity[other] -= share
                    unfrozen[other] -= 1
            unfrozen[key] = 0
            for flow in members[key]:
                for node, is_up in ((flow.up, True), (flow.down, False)):
                    if node is None:
                        continue
                    other = (id(node), is_up)
                    if unfrozen[other] > 0:
                        heapq.heappush(heap, (share_of(other), order[other], other))
        self._arm()

    def _arm(self) -> None:
        self._generation += 1
        if not self._flows:
            return
        target = min(self._flows, key=_time_left)
        delay = _time_left(target)
        self.net.call_at(delay if delay > 0.0 else 0.0, self._complete, (self._generation, target))

    def _complete(self, event: Call) -> None:
        generation, target = event.value
        if generation != self._generation:
            return  # the rates changed since this timer was set
        self._advance(self.net.env.now)
        done = []
        keep = []
        for flow in self._flows:
            if flow is target or flow.remaining <= _ROUNDOFF_BYTES + 1e-9 * flow.size:
                done.append(flow)
            else:
                keep.append(flow)
        self._flows = keep
        self._reallocate()
        for flow in done:
            self._arrive(flow)

    def _arrive(self, flow: _Flow) -> None:
        """The flow's last byte has left the sender: deliver after the latency."""
        net = self.net
        if flow.on_sent is not None:
            net.call_soon(flow.on_sent)
        lat = net.latency_of(flow.link) if net.jitter else flow.link.latency_s
        if lat > 0.0:
            net.call_at(lat, self._deliver, flow)
        else:
            net.deliver(flow.link, flow.message, flow.size, flow.kind, flow.t_sent)

    def _deliver(self, event: Call) -> None:
        flow = event.value
        self.net.deliver(flow.link, flow.message, flow.size, flow.kind, flow.t_sent)


def _time_left(flow: _Flow) -> float:
    return flow.remaining / flow.rate if flow.rate > 0.0 else _INF
