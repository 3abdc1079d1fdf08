"""The network substrate: one SimPy environment, peers (nodes) and connections (edges).

A message of ``size_bytes`` sent from A to B pays A's uplink, the one-way latency of the A→B
connection (a pure delay, never a queue), then B's downlink. How concurrent messages share a
link is the transport's job (:mod:`sim.transports`); the network only validates, counts, records
and delivers. Messages are opaque here: only their size and a ``kind`` label (for metrics) are
read.

Hot path rules (``docs/performance.md``, "SimPy costs measured"): no SimPy process per message,
one or two timer events per message (:meth:`~sim.kernel.Scheduler.call_at`), counters in plain
lists, records appended as tuples and turned into a DataFrame at the end.
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Callable, Hashable, Iterator
from typing import Any, cast

import networkx as nx
import numpy as np
import pandas as pd
import simpy
from simpy.events import Event

from sim.host import Host, HostSpec
from sim.kernel import Environment, Scheduler
from sim.rng import RunRandom
from sim.transports import Transport, make_transport
from sim.units import parse_bandwidth

__all__ = [
    "GC_THRESHOLD0",
    "Link",
    "LostCallback",
    "Network",
    "NodeState",
    "ReceiveCallback",
    "ReceiveWork",
    "rare_gc",
]

ReceiveCallback = Callable[[Hashable, Any], None]
"""``callback(src, message)``, called at the simulated time the message is delivered."""
LostCallback = Callable[[Hashable, Any], None]
"""``callback(dst, message)``, called on the sender when a message it sent is lost."""
ReceiveWork = Callable[[Hashable, Any, int], float]
"""``work(src, message, size_bytes)``: seconds of CPU the receiver spends on a message (decoding
it, checking it), charged to its host with the message's receive costs."""

_JITTER_BATCH = 8192

_Pending = tuple["Link", Any, int, str, Callable[[], None] | None]
"""A message waiting for its sender's host: link, message, size, kind, on_sent."""
_Arrived = tuple["Link", Any, int, str, float]
"""A message being processed by its receiver's host: link, message, size, kind, t_sent."""

GC_THRESHOLD0 = 100_000
"""Allocations between young-generation collections while a simulation runs (CPython's default
is 700). A run allocates millions of short-lived objects (events, messages, entries) and keeps
a growing heap of long-lived ones (ledgers, wantlists, blockstores); with the default, the
cyclic collector's full passes over that heap made the cost per message grow with the number
of peers (master, 100 MiB: 25 µs per message at 16 leeches, 49 µs at 128; with this
threshold, 24 and 31). Reference counting still frees almost everything at once; results do
not depend on it."""


@contextlib.contextmanager
def rare_gc(threshold0: int = GC_THRESHOLD0) -> Iterator[None]:
    """Collect cyclic garbage rarely while the block runs (see :data:`GC_THRESHOLD0`)."""
    old = gc.get_threshold()
    gc.set_threshold(max(threshold0, old[0]), max(50, old[1]), max(100, old[2]))
    try:
        yield
    finally:
        gc.set_threshold(*old)


class NodeState:
    """Per-node state the transports and metrics use. Bandwidths in bytes per second."""

    __slots__ = (
        "down_busy_s",
        "down_free_at",
        "download_Bps",
        "host",
        "in_flight",
        "lost",
        "name",
        "on_lost",
        "receive_work",
        "received",
        "receiver",
        "region",
        "sent",
        "up_busy_s",
        "up_free_at",
        "upload_Bps",
    )

    def __init__(
        self,
        name: Hashable,
        upload_Bps: float,
        download_Bps: float,
        region: str | None,
        host: Host | None = None,
    ):
        self.name = name
        self.upload_Bps = upload_Bps
        self.download_Bps = download_Bps
        self.region = region
        self.host = host
        """The node's machine (:mod:`sim.host`), or None: sending and receiving cost nothing."""
        self.receiver: ReceiveCallback | None = None
        self.receive_work: ReceiveWork | None = None
        # FIFO bookkeeping (seconds of simulated time): when each link end is next free.
        self.up_free_at = 0.0
        self.down_free_at = 0.0
        # Utilisation: total seconds each link end spent serialising.
        self.up_busy_s = 0.0
        self.down_busy_s = 0.0
        # kind -> [messages, bytes]
        self.sent: dict[str, list[int]] = {}
        self.received: dict[str, list[int]] = {}
        # kind -> [messages, bytes] this node sent that were lost to a closed connection
        self.lost: dict[str, list[int]] = {}
        # messages this node sent that are neither handed over nor lost yet (on its host, in the
        # transport, on the wire or on the receiver's host): sent = delivered + lost + in_flight
        self.in_flight = 0
        self.on_lost: LostCallback | None = None


class Link:
    """One direction of a connection. ``latency_s`` is the one-way delay in seconds.

    A link object lives as long as one connection: :meth:`Network.disconnect` marks it
    ``up = False`` (whatever is still on it is lost) and a later :meth:`Network.connect` of the
    same pair makes a new one, so a message sent before a disconnect never arrives after a
    reconnect.
    """

    __slots__ = ("dst", "latency_s", "src", "state", "up")

    def __init__(self, src: NodeState, dst: NodeState, latency_s: float):
        self.src = src
        self.dst = dst
        self.latency_s = latency_s
        self.up = True
        self.state: Any = None  # owned by the transport (e.g. go-testnet's token bucket)


class Network(Scheduler):
    """Peers and connections over one :class:`simpy.Environment`; a
    :class:`~sim.kernel.Scheduler` (``call_at``, ``call_soon``, ``events_scheduled``) on it.

    Args:
        transport: ``"fifo"`` (default), ``"fair"``, ``"go-testnet"`` or a
            :class:`~sim.transports.Transport` instance.
        seed: root seed of the run, or a :class:`~sim.rng.RunRandom` (streams are named, so the
            network's own draws never disturb the model's).
        trace: record every delivered message as ``(t_sent, t_delivered, src, dst, kind, size)``.
        jitter: per-message latency jitter as a fraction of the connection's one-way latency
            (Testground's ``jitter_pct`` / 100): each message's latency is drawn from
            ``Normal(L, jitter * L)`` clipped at 0. Like netem, jitter can reorder messages of
            one connection. 0 (the default) draws nothing.
        env: an existing environment to run in (a :class:`sim.kernel.Environment` is created
            otherwise; a plain :class:`simpy.Environment` works too, its clock reads cost a
            property call each).

    The :attr:`graph` (a ``networkx.DiGraph``) mirrors the topology: node attributes
    ``upload_Bps``, ``download_Bps``, ``region``; one directed edge per direction of a
    connection with attribute ``latency_s``.
    """

    def __init__(
        self,
        transport: str | Transport = "fifo",
        *,
        seed: int | RunRandom = 0,
        trace: bool = False,
        jitter: float = 0.0,
        env: simpy.Environment | None = None,
    ) -> None:
        super().__init__(env if env is not None else Environment())
        self.random = seed if isinstance(seed, RunRandom) else RunRandom(seed)
        if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not jitter >= 0:
            raise ValueError(f"jitter must be a fraction >= 0 of the latency, got {jitter!r}")
        self.jitter = float(jitter)
        self.transport = make_transport(transport) if isinstance(transport, str) else transport
        if self.jitter and not self.transport.supports_jitter:
            raise ValueError(
                f"jitter is not supported by the {self.transport.name!r} transport "
                "(its one-way delays are fixed per directed pair); use jitter = 0"
            )
        self.graph = nx.DiGraph()
        self._nodes: dict[Hashable, NodeState] = {}
        self._links: dict[tuple[Hashable, Hashable], Link] = {}
        self._closed: dict[tuple[Hashable, Hashable], Link] = {}
        self._trace: list[tuple[float, float, Hashable, Hashable, str, int]] | None = (
            [] if trace else None
        )
        self._jitter_buf = np.empty(0)
        self._jitter_pos = 0
        self.messages_sent = 0
        self.messages_delivered = 0
        self.messages_lost = 0
        self.transport.bind(self)

    # ------------------------------------------------------------------ building
    def add_node(
        self,
        name: Hashable,
        *,
        upload_Bps: float | str = math.inf,
        download_Bps: float | str = math.inf,
        region: str | None = None,
        host: HostSpec | Host | None = None,
    ) -> None:
        """Add a peer. ``upload_Bps``/``download_Bps``: bytes per second as a number (build it
        with :func:`sim.units.mbit`, :func:`sim.units.gbit`, ...), or a string with a unit
        (``"10 Gbit/s"``, ``"125 MB/s"``); ``math.inf`` means unlimited.

        ``host``: the node's machine (:mod:`sim.host`). A :class:`~sim.host.HostSpec` gives the
        node a machine of its own; a :class:`~sim.host.Host` object may be given to several
        nodes, which then share its cores and disk (nodes in one process). ``None`` or an ideal
        spec: no host, sending and receiving cost no time."""
        if name in self._nodes:
            raise ValueError(f"node {name!r} already exists")
        up = _bandwidth(upload_Bps, f"upload_Bps of node {name!r}")
        down = _bandwidth(download_Bps, f"download_Bps of node {name!r}")
        self._nodes[name] = NodeState(name, up, down, region, _host(host, name))
        self.graph.add_node(name, upload_Bps=up, download_Bps=down, region=region)

    def connect(
        self, a: Hashable, b: Hashable, *, latency_s: float, latency_ba_s: float | None = None
    ) -> None:
        """Connect ``a`` and ``b`` both ways. ``latency_s`` is the one-way a→b delay in seconds;
        ``latency_ba_s`` the b→a delay (defaults to ``latency_s``). A pair that was
        disconnected can be connected again (a new connection: nothing sent on the old one
        arrives)."""
        na, nb = self.node(a), self.node(b)
        if a == b:
            raise ValueError(f"cannot connect node {a!r} to itself")
        if (a, b) in self._links:
            raise ValueError(f"nodes {a!r} and {b!r} are already connected")
        for src, dst, lat in (
            (na, nb, latency_s),
            (nb, na, latency_s if latency_ba_s is None else latency_ba_s),
        ):
            lat = _latency(lat, f"latency of connection {src.name!r}->{dst.name!r}")
            link = Link(src, dst, lat)
            self._links[(src.name, dst.name)] = link
            self._closed.pop((src.name, dst.name), None)
            self.graph.add_edge(src.name, dst.name, latency_s=lat)

    def disconnect(self, a: Hashable, b: Hashable) -> None:
        """Close the connection between ``a`` and ``b`` (both directions) now.

        Messages still on it in either direction are lost (counted in each sender's ``lost``
        metrics and reported to its ``on_lost`` callback); later sends between the two are
        lost at once, as a write on a closed stream fails. What the transport had already
        booked on the sender's uplink stays booked (see the transport).
        """
        for src, dst in ((a, b), (b, a)):
            link = self.link(src, dst)
            link.up = False
            del self._links[(src, dst)]
            self._closed[(src, dst)] = link
            self.graph.remove_edge(src, dst)
            self.transport.link_closed(link)

    def is_connected(self, a: Hashable, b: Hashable) -> bool:
        """Whether ``a`` and ``b`` are connected now."""
        self.node(a)
        self.node(b)
        return (a, b) in self._links

    def set_bandwidth(
        self,
        name: Hashable,
        *,
        upload_Bps: float | str | None = None,
        download_Bps: float | str | None = None,
    ) -> None:
        """Change a node's link rates now (bytes per second, or a string with a unit; ``None``
        leaves one as it is). Messages already being serialised keep the times the transport
        gave them under ``fifo`` and ``go-testnet``; ``fair`` re-shares at once."""
        node = self.node(name)
        if upload_Bps is not None:
            node.upload_Bps = _bandwidth(upload_Bps, f"upload_Bps of node {name!r}")
            self.graph.nodes[name]["upload_Bps"] = node.upload_Bps
        if download_Bps is not None:
            node.download_Bps = _bandwidth(download_Bps, f"download_Bps of node {name!r}")
            self.graph.nodes[name]["download_Bps"] = node.download_Bps
        self.transport.rates_changed()

    def set_latency(self, src: Hashable, dst: Hashable, latency_s: float) -> None:
        """Change the one-way ``src``→``dst`` delay of a connection (seconds) for messages sent
        from now on."""
        link = self.link(src, dst)
        link.latency_s = _latency(latency_s, f"latency of connection {src!r}->{dst!r}")
        self.graph.edges[src, dst]["latency_s"] = link.latency_s

    def on_receive(
        self, name: Hashable, callback: ReceiveCallback, work: ReceiveWork | None = None
    ) -> None:
        """Register ``callback(src, message)`` for messages delivered to ``name``.

        ``work(src, message, size_bytes)``, if given and the node has a host, is the receiver's
        own CPU work on each message in seconds, charged with the message's receive costs: the
        callback runs once the host has done all of it."""
        node = self.node(name)
        node.receiver = callback
        node.receive_work = work

    def host_of(self, name: Hashable) -> Host | None:
        """Node ``name``'s host, or None if sending and receiving cost it nothing."""
        return self.node(name).host

    def on_lost(self, name: Hashable, callback: LostCallback) -> None:
        """Register ``callback(dst, message)`` for messages ``name`` sent that are lost."""
        self.node(name).on_lost = callback

    # ------------------------------------------------------------------ queries
    def node(self, name: Hashable) -> NodeState:
        """The state of node ``name``; a ``ValueError`` naming the known nodes if unknown."""
        try:
            return self._nodes[name]
        except (KeyError, TypeError):
            known = list(self._nodes)
            shown = ", ".join(map(repr, known[:10])) + (" ..." if len(known) > 10 else "")
            raise ValueError(f"unknown node {name!r}; known nodes: {shown or '(none)'}") from None

    def link(self, src: Hashable, dst: Hashable) -> Link:
        """The directed connection ``src``→``dst``."""
        link = self._links.get((src, dst))
        if link is None:
            self.node(src)
            self.node(dst)
            if (src, dst) in self._closed:
                raise ValueError(f"nodes {src!r} and {dst!r} are disconnected")
            raise ValueError(f"nodes {src!r} and {dst!r} are not connected")
        return link

    @property
    def nodes(self) -> list[Hashable]:
        return list(self._nodes)

    def neighbors(self, name: Hashable) -> list[Hashable]:
        """Nodes ``name`` has a connection to, in the order the connections were made."""
        self.node(name)
        return list(self.graph.successors(name))

    @property
    def messages_in_flight(self) -> int:
        """Messages sent and neither handed to their receiver nor lost yet (a run that stops
        when its last leech is done leaves some on the way): ``messages_sent ==
        messages_delivered + messages_lost + messages_in_flight``; per sender,
        :attr:`NodeState.in_flight`."""
        return self.messages_sent - self.messages_delivered - self.messages_lost

    @property
    def now(self) -> float:
        """Current simulated time in seconds."""
        return self.env.now

    # ------------------------------------------------------------------ sending
    def send(
        self,
        src: Hashable,
        dst: Hashable,
        message: Any,
        size_bytes: int,
        kind: str,
        on_sent: Callable[[], None] | None = None,
        *,
        work_s: float = 0.0,
        new_stream: bool = False,
    ) -> None:
        """Send ``message`` (``size_bytes`` on the wire, counted under ``kind``) from ``src`` to
        ``dst``; the destination's receive callback runs when the transport delivers it.

        ``on_sent()``, if given, runs when the message's last byte has left the sender (its
        uplink is done with it): what a blocking stream write would wait for. It always runs
        from its own event, never inside ``send``.

        With a host on ``src``, the message enters the transport once the host has done its
        send work: the host's per-message and per-byte costs, ``work_s`` seconds of the
        sender's own (encoding it), the cipher, and the cost of opening a stream if
        ``new_stream``. Without a host these cost nothing and are ignored.

        Between nodes that were connected and are now disconnected the message is lost at
        once (``on_sent`` still runs: the write returned, with an error); between nodes never
        connected, ``send`` raises.
        """
        link = self._links.get((src, dst))
        if size_bytes < 0:
            raise ValueError(f"size_bytes must be >= 0, got {size_bytes!r}")
        if link is None:
            closed = self._closed.get((src, dst))
            if closed is None:
                link = self.link(src, dst)  # raises the right error
            else:
                self._count(closed.src.sent, kind, size_bytes)
                self.messages_sent += 1
                closed.src.in_flight += 1  # for the instant before _lose counts it lost
                self._lose(closed, message, size_bytes, kind)
                if on_sent is not None:
                    self.call_soon(on_sent)
                return
        # self._count(link.src.sent, kind, size_bytes), inlined (one per message)
        counter = link.src.sent.get(kind)
        if counter is None:
            counter = link.src.sent[kind] = [0, 0]
        counter[0] += 1
        counter[1] += size_bytes
        self.messages_sent += 1
        link.src.in_flight += 1
        host = link.src.host
        if host is not None:
            now = self.env.now
            ready = host.send_ready(
                now, (src, dst), size_bytes, new_stream=new_stream, work_s=work_s
            )
            if ready > now:
                if self.transport.accepts_ready_at:
                    self.transport.send(link, message, size_bytes, kind, on_sent, ready)
                else:  # the transport sees the message once it is ready (one event)
                    self.call_at(
                        ready - now, self._send_ready, (link, message, size_bytes, kind, on_sent)
                    )
                return
        self.transport.send(link, message, size_bytes, kind, on_sent)

    def _send_ready(self, event: Event) -> None:
        link, message, size_bytes, kind, on_sent = cast(_Pending, event.value)
        self.transport.send(link, message, size_bytes, kind, on_sent)

    def latency_of(self, link: Link) -> float:
        """One message's one-way latency on ``link``: the link's latency, jittered if asked."""
        if not self.jitter:
            return link.latency_s
        pos = self._jitter_pos
        if pos >= len(self._jitter_buf):
            self._jitter_buf = self.random.stream("jitter").standard_normal(_JITTER_BATCH)
            pos = 0
        self._jitter_pos = pos + 1
        lat = link.latency_s * (1.0 + self.jitter * float(self._jitter_buf[pos]))
        return lat if lat > 0.0 else 0.0

    def deliver(self, link: Link, message: Any, size_bytes: int, kind: str, t_sent: float) -> None:
        """Hand a message to its destination now (called by transports when its last byte has
        arrived); a message on a connection closed since it was sent is lost instead. With a
        host on the destination, the receive callback runs once the host has processed the
        message (its receive costs, the cipher and the receiver's own ``work``)."""
        if not link.up:
            self._lose(link, message, size_bytes, kind)
            return
        dst = link.dst
        host = dst.host
        if host is not None:
            now = self.env.now
            work = dst.receive_work
            done = host.receive_done(
                now,
                (link.src.name, dst.name),
                size_bytes,
                work(link.src.name, message, size_bytes) if work is not None else 0.0,
            )
            if done > now:
                self.call_at(done - now, self._processed, (link, message, size_bytes, kind, t_sent))
                return
        self._hand_over(link, message, size_bytes, kind, t_sent)

    def _processed(self, event: Event) -> None:
        link, message, size_bytes, kind, t_sent = cast(_Arrived, event.value)
        self._hand_over(link, message, size_bytes, kind, t_sent)

    def _hand_over(
        self, link: Link, message: Any, size_bytes: int, kind: str, t_sent: float
    ) -> None:
        """The receiver has the message now: count, trace and call its callback. (Once its
        last byte arrived, a message is the receiver's: a disconnect while its host is still
        processing it does not lose it.)"""
        dst = link.dst
        # self._count(dst.received, kind, size_bytes), inlined (one per message)
        counter = dst.received.get(kind)
        if counter is None:
            counter = dst.received[kind] = [0, 0]
        counter[0] += 1
        counter[1] += size_bytes
        self.messages_delivered += 1
        link.src.in_flight -= 1
        if self._trace is not None:
            self._trace.append((t_sent, self.env.now, link.src.name, dst.name, kind, size_bytes))
        if dst.receiver is not None:
            dst.receiver(link.src.name, message)

    @staticmethod
    def _count(counters: dict[str, list[int]], kind: str, size_bytes: int) -> None:
        counter = counters.get(kind)
        if counter is None:
            counter = counters[kind] = [0, 0]
        counter[0] += 1
        counter[1] += size_bytes

    def _lose(self, link: Link, message: Any, size_bytes: int, kind: str) -> None:
        self._count(link.src.lost, kind, size_bytes)
        self.messages_lost += 1
        link.src.in_flight -= 1
        if link.src.on_lost is not None:
            link.src.on_lost(link.dst.name, message)

    # ------------------------------------------------------------------ running
    def run(self, until: float | Event | None = None) -> None:
        """Run the simulation until ``until`` (seconds, or an event such as "every fetch is
        done"), or until no event is left; with rare cyclic garbage collection
        (:func:`rare_gc`)."""
        with rare_gc():
            self.env.run(until=until)

    # ------------------------------------------------------------------ results
    def node_metrics(self) -> pd.DataFrame:
        """One row per node and message kind: messages and bytes sent, received, and lost
        (sent by this node on a connection that closed before they arrived)."""
        rows = []
        for node in self._nodes.values():
            for kind in sorted(set(node.sent) | set(node.received)):
                s = node.sent.get(kind, (0, 0))
                r = node.received.get(kind, (0, 0))
                lost = node.lost.get(kind, (0, 0))
                rows.append((node.name, kind, s[0], s[1], r[0], r[1], lost[0], lost[1]))
        return pd.DataFrame(
            rows,
            columns=[
                "node",
                "kind",
                "msgs_sent",
                "bytes_sent",
                "msgs_received",
                "bytes_received",
                "msgs_lost",
                "bytes_lost",
            ],
        )

    def utilisation(self) -> pd.DataFrame:
        """Per node: seconds each link end spent serialising, and that as a share of the run."""
        now = self.env.now
        rows = [
            (
                n.name,
                n.region,
                n.up_busy_s,
                n.down_busy_s,
                n.up_busy_s / now if now > 0 else 0.0,
                n.down_busy_s / now if now > 0 else 0.0,
            )
            for n in self._nodes.values()
        ]
        return pd.DataFrame(
            rows, columns=["node", "region", "up_busy_s", "down_busy_s", "up_util", "down_util"]
        )

    def host_metrics(self) -> pd.DataFrame:
        """Per node with a host: core-seconds of CPU charged, jobs, seconds the disk was busy,
        and the share of the run the cores (averaged) and the disk were busy. Nodes that share
        one host show the shared totals."""
        now = self.env.now
        rows = []
        for n in self._nodes.values():
            host = n.host
            if host is None:
                continue
            cpu_util, disk_util = host.utilisation(now)
            rows.append(
                (
                    n.name,
                    host.spec.name,
                    host.cpu_busy_s,
                    host.jobs,
                    host.disk_busy_s,
                    cpu_util,
                    disk_util,
                )
            )
        return pd.DataFrame(
            rows,
            columns=[
                "node",
                "host",
                "cpu_busy_s",
                "cpu_jobs",
                "disk_busy_s",
                "cpu_util",
                "disk_util",
            ],
        )

    def trace_frame(self) -> pd.DataFrame:
        """The event trace as a DataFrame (needs ``trace=True``)."""
        if self._trace is None:
            raise ValueError("no trace was recorded: create the Network with trace=True")
        return pd.DataFrame(
            self._trace, columns=["t_sent", "t_delivered", "src", "dst", "kind", "size_bytes"]
        )


def _host(host: HostSpec | Host | None, name: Hashable) -> Host | None:
    if host is None or isinstance(host, Host):
        return host
    if not isinstance(host, HostSpec):
        raise ValueError(
            f"host of node {name!r} must be a sim.host.HostSpec, a sim.host.Host or None, "
            f"got {host!r}"
        )
    return None if host.is_ideal else Host(host)


def _bandwidth(value: float | str, field: str) -> float:
    if isinstance(value, str):
        return parse_bandwidth(value, field=field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(
            f"{field} must be > 0 bytes/s (a number such as mbit(100), math.inf for unlimited, "
            f"or a string with a unit such as '10 Gbit/s'), got {value!r}"
        )
    return float(value)


def _latency(value: float, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{field} must be a one-way delay >= 0 seconds, got {value!r}")
    if math.isinf(value):
        raise ValueError(f"{field} must be finite, got {value!r}")
    return float(value)
