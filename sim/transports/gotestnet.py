"""``go-testnet``: go-bitswap's virtual test network, so the go benchmarks replay exactly.

What it models (go-bitswap ``testnet/virtual.go@v0.1.8``, ``internal/testnet/virtual.go@v0.2.0``:
``SendMessage`` and ``receiverQueue.process``):

* Per directed pair a one-way delay, fixed for the run (go draws it from the delay generator
  on first use; here the latency model draws it when the connection is made, see
  :class:`sim.latency.InternetLatency`).
* Optional bandwidth: per directed pair a token bucket (go-libp2p ``mocknet.RateLimiter``,
  ``p2p/net/mock/ratelimiter.go@v0.6.0``, the go-libp2p of go-bitswap v0.2.0; unchanged since
  v0.1.1, that of v0.1.8):
  rate B bytes/s drawn once per pair, credit starting at 0 and capped at B (one second of
  burst); each message debits its size; a negative credit delays the message by
  ``deficit / B`` and the deficit carries over. Go truncates that delay to whole nanoseconds;
  this model does not.
* Delivery time = send time + delay + bandwidth delay. Each receiver hands messages to its
  callback one at a time in delivery-time order: it sorts its queue, commits to the head if it
  is due within 100 ms (sleeping until it is due; a message that arrives meanwhile with an
  earlier time waits), otherwise it sleeps 100 ms and looks again. Sending never blocks.

Node bandwidths are not link ends here: they only give the default pair rate
``min(sender upload, receiver download)`` when no rate generator is configured.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.transports.base import Transport

__all__ = ["GoTestnetTransport"]

if TYPE_CHECKING:
    from sim.kernel import Call
    from sim.network import Link, NodeState

_INF = math.inf

POLL_INTERVAL_S = 0.1
"""The receiver loop's look-ahead and poll period (``receiverQueue.process``, 100 ms)."""


class _Bucket:
    __slots__ = ("allowance", "last", "rate")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.allowance = 0.0
        self.last = now


class _ReceiverQueue:
    __slots__ = ("active", "heap", "node", "seq")

    def __init__(self, node: NodeState) -> None:
        self.node = node
        # (due, seq, link, message, size_bytes, kind, t_sent), ordered by due time then arrival
        self.heap: list[tuple[float, int, Link, Any, int, str, float]] = []
        self.active = False
        self.seq = 0


class GoTestnetTransport(Transport):
    """go-bitswap's ``VirtualNetwork`` / ``RateLimitedVirtualNetwork``.

    Args:
        rate_Bps: mean token-bucket rate per directed pair in bytes/s (go's
            ``VariableRateLimitGenerator`` mean). ``None`` (default): the pair rate is
            ``min(sender upload, receiver download)``, unlimited if both are.
        rate_sigma_Bps: standard deviation of the per-pair rate draw (0: every pair gets
            ``rate_Bps``, go's ``FixedRateLimitGenerator``). Draws below 1 B/s are clipped to 1.
        poll_interval_s: the receiver loop's poll period (100 ms in go-bitswap).
    """

    name = "go-testnet"
    supports_jitter = False

    def __init__(
        self,
        rate_Bps: float | None = None,
        rate_sigma_Bps: float = 0.0,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        if rate_Bps is not None and not (isinstance(rate_Bps, int | float) and rate_Bps > 0):
            raise ValueError(f"rate_Bps must be > 0 bytes/s or None, got {rate_Bps!r}")
        if not (isinstance(rate_sigma_Bps, int | float) and rate_sigma_Bps >= 0):
            raise ValueError(f"rate_sigma_Bps must be >= 0 bytes/s, got {rate_sigma_Bps!r}")
        if not (isinstance(poll_interval_s, int | float) and poll_interval_s > 0):
            raise ValueError(f"poll_interval_s must be > 0 seconds, got {poll_interval_s!r}")
        self.rate_Bps = rate_Bps
        self.rate_sigma_Bps = float(rate_sigma_Bps)
        self.poll_interval_s = float(poll_interval_s)
        self._queues: dict[Any, _ReceiverQueue] = {}

    def _pair_rate(self, link: Link) -> float:
        if self.rate_Bps is None:
            return min(link.src.upload_Bps, link.dst.download_Bps)
        if self.rate_sigma_Bps == 0.0:
            return float(self.rate_Bps)
        rng = self.net.random.stream("go-testnet-rate")
        return max(1.0, float(rng.normal(self.rate_Bps, self.rate_sigma_Bps)))

    def bandwidth_delay(self, link: Link, size_bytes: int) -> float:
        """``RateLimiter.Limit(size)``: seconds this message waits for credit on its pair."""
        now = self.net.env.now
        bucket = link.state
        if bucket is None:
            bucket = link.state = _Bucket(self._pair_rate(link), now)
        rate = bucket.rate
        if rate == _INF:
            return 0.0
        allowance = bucket.allowance + (now - bucket.last) * rate
        bucket.last = now
        if allowance > rate:
            allowance = rate
        allowance -= size_bytes
        bucket.allowance = allowance
        return -allowance / rate if allowance < 0.0 else 0.0

    def send(
        self,
        link: Link,
        message: Any,
        size_bytes: int,
        kind: str,
        on_sent: Callable[[], None] | None = None,
        ready_at: float | None = None,
    ) -> None:
        """go's ``SendMessage`` returns at once: ``on_sent`` runs at the current time."""
        net = self.net
        now = net.env.now
        due = now + link.latency_s + self.bandwidth_delay(link, size_bytes)
        bucket_rate = link.state.rate
        if bucket_rate != _INF:
            link.src.up_busy_s += size_bytes / bucket_rate
        queue = self._queues.get(link.dst.name)
        if queue is None:
            queue = self._queues[link.dst.name] = _ReceiverQueue(link.dst)
        queue.seq += 1
        heapq.heappush(queue.heap, (due, queue.seq, link, message, size_bytes, kind, now))
        if not queue.active:
            queue.active = True
            self._process(queue)
        if on_sent is not None:
            net.call_soon(on_sent)

    def _process(self, queue: _ReceiverQueue) -> None:
        """One pass of go's ``receiverQueue.process`` loop, from now until it has to sleep."""
        net = self.net
        heap = queue.heap
        while heap:
            now = net.env.now
            wait = heap[0][0] - now
            if wait >= self.poll_interval_s:
                net.call_at(self.poll_interval_s, self._wake, queue)
                return
            item = heapq.heappop(heap)
            if wait > 0.0:
                net.call_at(wait, self._due, (queue, item))
                return
            net.deliver(item[2], item[3], item[4], item[5], item[6])
        queue.active = False

    def _wake(self, event: Call) -> None:
        self._process(event.value)

    def _due(self, event: Call) -> None:
        queue, item = event.value
        self.net.deliver(item[2], item[3], item[4], item[5], item[6])
        self._process(queue)
