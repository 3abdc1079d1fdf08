"""Hosts: the CPU cores and the disk that a node's messages pass through.

Without a host (the default, and the ``ideal`` preset) sending, receiving and storing take no
simulated time: a message leaves as soon as it is sent and its receiver acts the instant its
last byte arrives. A :class:`Host` charges what a real machine spends on the way:

* **CPU**, on ``cores`` identical cores, first come first served: a job that can start at t
  takes, among the cores already free at t, the one that became free last (so a job held back
  by its lane does not take a core another job could use sooner); if none is free, the core
  that frees first. An idle gap on a core before a job is never filled by a later one.
  Hardware threads that share a physical core (an AWS vCPU is one) deliver less together than
  as many cores: ``capacity_cores`` says how much, in single-thread cores, and a job that
  starts while every other thread is busy runs ``cores / capacity_cores`` times longer.
  Per message sent: ``send_message_s`` plus ``size / send_Bps`` (copies and syscalls), plus
  ``stream_open_s`` when the message opens a new stream, plus whatever work the sender adds
  (``work_s``: e.g. encoding). Per message received: ``receive_message_s`` plus
  ``size / receive_Bps``, plus the receiver's own work on it (e.g. decoding, hashing).
* **A cipher per connection**: with a security transport, each message is encrypted by its
  sender and decrypted by its receiver at ``cipher_Bps`` (one core's throughput). A connection's
  cipher is one stream per direction, so the messages of one direction of one connection are
  processed one after another (a lane), while different connections use different cores.
  Messages are whole frames here: a frame is encrypted before its first byte is written and
  decrypted after its last byte has arrived (secio, TLS and noise all authenticate a frame
  before handing it on), so the cipher and the wire are sequential stages, not a pipeline.
* **A disk**, one device queue shared by reads and writes: an operation of S bytes occupies the
  device for ``max(S / rate, 1 / iops)`` (throughput and IOPS limits, each per direction) and
  then completes after a further ``latency_s`` (the access and sync time, which overlaps with
  other operations as in a deep device queue). Reads served from the page cache: leave the
  read rate, IOPS and latency unlimited / zero.

All of it is busy-until arithmetic, like the ``fifo`` transport's links: no SimPy process and
no event per cost; the network schedules one event where a cost delays a delivery (see
:meth:`sim.network.Network.send`). Several nodes may share one :class:`Host` (go-bitswap's
virtual-network benchmarks run every node in one process on one machine).

Units: seconds, bytes, bytes per second (``math.inf``: no cost).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field, fields

__all__ = ["CIPHERS", "IDEAL", "DiskSpec", "Host", "HostSpec"]

_INF = math.inf

CIPHERS = ("none", "secio", "tls", "noise")
"""Security transports a host may name (only ``cipher_Bps`` enters the arithmetic)."""


def _check(
    owner: str, name: str, value: object, *, rate: bool = False, minimum: float = 0.0
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError(f"{owner}.{name} must be a number, got {value!r}")
    if rate:
        if not value > 0:
            raise ValueError(
                f"{owner}.{name} must be > 0 bytes/s (math.inf: no cost), got {value!r}"
            )
    elif not (value >= minimum and value != _INF):
        raise ValueError(f"{owner}.{name} must be a finite number >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class DiskSpec:
    """A disk: one device queue shared by reads and writes. Rates in bytes/s, times in s."""

    write_Bps: float = _INF
    """Write throughput of the device (the smaller of the volume's and the instance's link)."""
    read_Bps: float = _INF
    """Read throughput of the device."""
    write_iops: float = _INF
    """Write operations per second the device completes (syncs included)."""
    read_iops: float = _INF
    """Read operations per second the device completes."""
    write_latency_s: float = 0.0
    """Time from a write reaching the device to its completion, sync included."""
    read_latency_s: float = 0.0
    """Time from a read reaching the device to its data being available."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            _check("disk", f.name, value, rate=f.name.endswith(("_Bps", "iops")))

    @property
    def is_ideal(self) -> bool:
        """Whether every operation is free."""
        return (
            self.write_Bps == _INF
            and self.read_Bps == _INF
            and self.write_iops == _INF
            and self.read_iops == _INF
            and self.write_latency_s == 0.0
            and self.read_latency_s == 0.0
        )


@dataclass(frozen=True)
class HostSpec:
    """What a node's machine costs. Times in seconds, rates in bytes/s of one core."""

    name: str = "custom"
    cores: int = 1
    """CPU cores, or hardware threads (vCPUs the process can use at once)."""
    capacity_cores: float | None = None
    """What the ``cores`` deliver when all are busy, in single-thread cores (two
    hyper-threads of one core: about 1.3); ``None``: ``cores`` (a value equal to ``cores`` is
    stored as ``None``)."""
    send_message_s: float = 0.0
    """CPU per message sent (syscalls, framing, the hand-off to the writer)."""
    send_Bps: float = _INF
    """Per-byte CPU work on send (copies), as one core's throughput."""
    receive_message_s: float = 0.0
    """CPU per message received (syscalls, framing, the hand-off to the reader)."""
    receive_Bps: float = _INF
    """Per-byte CPU work on receive (copies), as one core's throughput."""
    cipher: str = "none"
    """The security transport's name (one of :data:`CIPHERS`)."""
    cipher_Bps: float = _INF
    """Encryption (sender) and decryption (receiver) throughput of one core."""
    stream_open_s: float = 0.0
    """CPU to open a new stream (muxer frame, protocol negotiation), on the sender."""
    disk: DiskSpec = field(default_factory=DiskSpec)

    def __post_init__(self) -> None:
        if isinstance(self.cores, bool) or not isinstance(self.cores, int) or self.cores < 1:
            raise ValueError(f"host.cores must be a whole number >= 1, got {self.cores!r}")
        cap = self.capacity_cores
        if cap is not None and (
            isinstance(cap, bool) or not isinstance(cap, int | float) or not 0 < cap <= self.cores
        ):
            raise ValueError(
                f"host.capacity_cores must be a number in (0, cores = {self.cores}], got {cap!r}"
            )
        if cap == self.cores:  # every core a full core: one spelling of the same machine
            object.__setattr__(self, "capacity_cores", None)
        if self.cipher not in CIPHERS:
            raise ValueError(
                f"host.cipher: unknown cipher {self.cipher!r}; allowed: {', '.join(CIPHERS)}"
            )
        for f in fields(self):
            if f.name in ("name", "cores", "capacity_cores", "cipher", "disk"):
                continue
            _check("host", f.name, getattr(self, f.name), rate=f.name.endswith("_Bps"))
        if self.cipher == "none" and self.cipher_Bps != _INF:
            raise ValueError("host.cipher_Bps needs a cipher; with cipher = 'none' it must be inf")

    @property
    def is_ideal(self) -> bool:
        """Whether nothing costs anything (a network then skips the host altogether)."""
        return (
            self.send_message_s == 0.0
            and self.send_Bps == _INF
            and self.receive_message_s == 0.0
            and self.receive_Bps == _INF
            and self.cipher_Bps == _INF
            and self.stream_open_s == 0.0
            and self.disk.is_ideal
        )


IDEAL = HostSpec(name="ideal")
"""No costs at all: what every node is without a host."""


class Host:
    """The busy-until state of one machine (see the module docstring).

    Introspection: :attr:`cpu_busy_s` (core-seconds of work charged), :attr:`disk_busy_s`
    (seconds the device was occupied), :attr:`jobs`.
    """

    __slots__ = (
        "_cipher_s",
        "_cores",
        "_disk_free",
        "_lanes",
        "_recv_s",
        "_send_s",
        "_shared_slowdown",
        "cpu_busy_s",
        "disk",
        "disk_busy_s",
        "jobs",
        "spec",
    )

    def __init__(self, spec: HostSpec) -> None:
        self.spec = spec
        self.disk = spec.disk
        self._cores = [0.0] * spec.cores  # when each core is next free
        self._lanes: dict[tuple[Hashable, Hashable], float] = {}
        self._disk_free = 0.0
        self._send_s = 1.0 / spec.send_Bps  # seconds per byte (0.0 for inf)
        self._recv_s = 1.0 / spec.receive_Bps
        self._cipher_s = 1.0 / spec.cipher_Bps
        cap = spec.capacity_cores
        self._shared_slowdown = 1.0 if cap is None else spec.cores / cap
        self.cpu_busy_s = 0.0
        self.disk_busy_s = 0.0
        self.jobs = 0

    # ------------------------------------------------------------------ CPU
    def cpu(self, t: float, work_s: float) -> float:
        """Run ``work_s`` seconds of work on the first free core, from time ``t`` at the
        earliest; returns when it is done."""
        cores = self._cores
        n = len(cores)
        if n == 1:
            free = cores[0]
            end = cores[0] = (t if t > free else free) + work_s
        elif n == 2:  # the common case (2 vCPUs), written out
            f0, f1 = cores
            if f0 <= t and (f1 > t or f0 >= f1):
                i, start, other = 0, t, f1  # core 0 is free, and became free last
            elif f1 <= t:
                i, start, other = 1, t, f0
            elif f0 <= f1:
                i, start, other = 0, f0, f1  # neither free: the one that frees first
            else:
                i, start, other = 1, f1, f0
            if other > start:
                work_s *= self._shared_slowdown  # the sibling thread is busy
            end = cores[i] = start + work_s
        else:
            best = -1  # the core free at t that became free last
            first = 0  # the core free first
            for i, free in enumerate(cores):
                if free <= t and (best < 0 or free > cores[best]):
                    best = i
                if free < cores[first]:
                    first = i
            chosen = best if best >= 0 else first
            start = t if best >= 0 else cores[first]
            if self._shared_slowdown != 1.0 and all(
                free > start for i, free in enumerate(cores) if i != chosen
            ):
                work_s *= self._shared_slowdown  # every sibling thread is busy
            end = cores[chosen] = start + work_s
        self.cpu_busy_s += work_s
        self.jobs += 1
        return end

    def send_ready(
        self,
        t: float,
        lane: tuple[Hashable, Hashable],
        size_bytes: int,
        *,
        new_stream: bool = False,
        work_s: float = 0.0,
    ) -> float:
        """When a message of ``size_bytes`` handed to the network at ``t`` is ready for the
        wire: the sender's CPU work and, with a cipher, its encryption in the connection's
        ``lane`` (``(sender, receiver)``)."""
        spec = self.spec
        work = spec.send_message_s + work_s + size_bytes * self._send_s
        if new_stream:
            work += spec.stream_open_s
        return self._job(t, lane, work, size_bytes)

    def receive_done(
        self, t: float, lane: tuple[Hashable, Hashable], size_bytes: int, work_s: float = 0.0
    ) -> float:
        """When a message whose last byte arrived at ``t`` has been processed: decryption in
        the connection's ``lane`` (``(sender, receiver)``), the receiver's CPU work and
        ``work_s`` of its own."""
        work = self.spec.receive_message_s + work_s + size_bytes * self._recv_s
        return self._job(t, lane, work, size_bytes)

    def _job(self, t: float, lane: tuple[Hashable, Hashable], work: float, size: int) -> float:
        if self._cipher_s:
            lanes = self._lanes
            free = lanes.get(lane, 0.0)
            end = self.cpu(t if t > free else free, work + size * self._cipher_s)
            lanes[lane] = end
            return end
        if work:
            return self.cpu(t, work)
        return t

    # ------------------------------------------------------------------ disk
    def disk_write(self, t: float, size_bytes: int) -> float:
        """When a write of ``size_bytes`` issued at ``t`` has completed (synced)."""
        disk = self.disk
        return self._disk_op(t, size_bytes / disk.write_Bps, disk.write_iops, disk.write_latency_s)

    def disk_read(self, t: float, size_bytes: int) -> float:
        """When a read of ``size_bytes`` issued at ``t`` has its data."""
        disk = self.disk
        return self._disk_op(t, size_bytes / disk.read_Bps, disk.read_iops, disk.read_latency_s)

    def _disk_op(self, t: float, transfer_s: float, iops: float, latency_s: float) -> float:
        occupy = 1.0 / iops
        if transfer_s > occupy:
            occupy = transfer_s
        free = self._disk_free
        done = (t if t > free else free) + occupy
        self._disk_free = done
        self.disk_busy_s += occupy
        return done + latency_s

    def utilisation(self, duration_s: float) -> tuple[float, float]:
        """Share of ``duration_s`` the cores (averaged over cores) and the disk were busy."""
        if duration_s <= 0:
            return 0.0, 0.0
        return (
            self.cpu_busy_s / (duration_s * self.spec.cores),
            self.disk_busy_s / duration_s,
        )
