"""The registry baseline: clients pulling an image's blobs from one central server over HTTP.

Not Bitswap. This is the "DockerHub" bar of the Netflix/IPFS headline (32 peers pulling a
300 MiB image: master 9.08 s, poc 3.16 s, DockerHub 3.93 s): every client downloads the image
from a registry server (a CDN edge), nobody reseeds anybody.

Model, per client (what ``docker pull`` does, reduced to its data transfers):

1. **Manifest**: an HTTP GET of :attr:`RegistryConfig.request_bytes` to the server, answered
   by a manifest of :attr:`RegistryConfig.manifest_bytes`.
2. **Blobs**: once the manifest is in, the client GETs the blobs (the config blob and each
   layer, each one HTTP response of the blob's bytes) over :attr:`RegistryConfig.connections`
   parallel connections: K requests go out at once and each arriving blob frees its connection
   for the next blob, in the given order. K defaults to 3, dockerd's default
   ``max-concurrent-downloads`` (``DefaultMaxConcurrentDownloads = 3``,
   ``daemon/config/config.go`` in moby/moby): docker's default, not a value fitted to the
   headline.
3. A client's **time to fetch** runs from its start (``at_s``) until its last blob arrives.

Every request and response is one message of the project's ``fair`` transport
(:mod:`sim.transports.fair`): flow-level max-min fair sharing of the server's uplink and of the
clients' downlinks (and of the clients' uplinks and the server's downlink for the requests),
then the connection's one-way latency as a pure delay. A lone message of S bytes therefore takes
``L + S/min(U, D)``; a blob fetched on an idle path takes one round trip plus its transfer,
``2L + S/min(U, D)`` (plus ``request_bytes/min(client up, server down)`` if those are finite).
The model needs the ``fair`` transport (``fifo`` would serialise the K connections, which is
not what K TCP connections do) and raises ``ValueError`` on a network built with another one.

Set-up is the caller's: the server is a node of ``net`` whose ``upload_Bps`` is the CDN edge's
upload capacity and whose ``region`` places it (a :class:`~sim.latency.RegionMatrixLatency`
then gives each client its latency to it); every client must be connected to the server. The
model registers the receive callbacks of the server and of every client it pulls to, so those
nodes must not run Bitswap peers on the same network.

Assumptions, and their likely effect on the figure (a registry time that comes out *lower* than
reality flatters the baseline):

- **The CDN edge is one node** with the given upload capacity, shared max-min fairly by every
  transfer; a real CDN spreads clients over several edges and servers, and its capacity per
  client is not published. The upload capacity is therefore the knob that sets the bandwidth-
  bound part of the result (``n * image bytes / upload``); treat it as **[guess]** unless
  measured.
- **Blobs are not chunked**: each blob is one HTTP response, one flow. Real registries serve a
  blob as one response too (range requests only on resume), so this is close.
- **HTTP/TLS set-up folded into one round trip per request** **[guess]**: TCP and TLS
  handshakes, DockerHub's token request to ``auth.docker.io`` and the 307 redirect from the
  registry to the CDN for each blob are not modelled. Each costs one or more extra round trips
  per pull or per blob, so the model is optimistic by a few RTTs (tens of ms between AWS
  regions, up to a few hundred ms on long paths): small against seconds of transfer, large for
  tiny images.
- **No TCP slow start**, no congestion-window or receive-window limits: a transfer gets its
  max-min share from its first byte. Real connections ramp up over several RTTs (and a
  long-RTT connection may never fill a fast link), so the model is optimistic, most for small
  blobs and long paths.
- **No CDN cache misses**: every blob is served from the edge at its upload capacity, never
  fetched from an origin first. A cold cache would add origin latency and origin bandwidth to
  the first pulls: optimistic.
- **The config blob takes one of the K download slots**, in list order. dockerd fetches the
  config in its own goroutine alongside the layer downloads (``pullSchema2`` in
  ``distribution/pull_v2.go``) **[inference]**; with a config of a few KB this delays the next
  layer's start by about one round trip at most.
- **No decompression or layer extraction** time, no disk limit: the time stops when the last
  byte arrives (the headline compares download times too).
- The request and manifest sizes are **[guess]**es; they matter only on slow uplinks.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import simpy

from models.dag import Dag
from sim.network import Network

__all__ = [
    "BLOB",
    "MANIFEST",
    "REGISTRY_KINDS",
    "REQUEST",
    "RegistryConfig",
    "RegistryPull",
    "image_blobs",
]

REQUEST = "request"
"""Message kind of an HTTP GET (for the manifest or a blob), client -> server."""
MANIFEST = "manifest"
"""Message kind of the manifest response, server -> client."""
BLOB = "blob"
"""Message kind of a blob response (the config or one layer), server -> client."""
REGISTRY_KINDS: tuple[str, ...] = (REQUEST, MANIFEST, BLOB)
"""Every message kind the registry model sends (``msgs_sent_<kind>`` columns)."""

STRATEGY = "registry"
"""The ``strategy`` column of the registry's rows."""

_GET_MANIFEST = (REQUEST, MANIFEST)
"""The manifest request message (the blob requests are ``(REQUEST, blob index)``)."""


def _whole_number(value: object, minimum: int, field: str, meaning: str) -> int:
    """``value`` as an int >= ``minimum`` (numpy integers accepted), or a ValueError naming
    ``field``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{field} must be a whole number >= {minimum} ({meaning}), got {value!r}")
    return int(value)


@dataclass(frozen=True)
class RegistryConfig:
    """How a client pulls from the registry.

    Attributes:
        connections: K, blobs downloaded in parallel per client (>= 1). Default 3: dockerd's
            default ``max-concurrent-downloads`` (moby ``daemon/config/config.go``), not fitted.
        request_bytes: wire bytes of one HTTP GET, client -> server (>= 1). **[guess]** 400 B:
            request line, Host, User-Agent, Accept headers and a bearer token.
        manifest_bytes: wire bytes of the manifest response (>= 1). **[guess]** 2 KiB: an
            image manifest (schema 2 / OCI) listing a config and a handful of layers.
    """

    connections: int = 3
    request_bytes: int = 400
    manifest_bytes: int = 2048

    def __post_init__(self) -> None:
        _whole_number(
            self.connections,
            1,
            "RegistryConfig.connections",
            "parallel blob downloads per client; dockerd's max-concurrent-downloads default is 3",
        )
        _whole_number(self.request_bytes, 1, "RegistryConfig.request_bytes", "bytes")
        _whole_number(self.manifest_bytes, 1, "RegistryConfig.manifest_bytes", "bytes")


class _Pull:
    """One client's pull. Times in seconds of simulated time, ``None`` until they happen."""

    __slots__ = (
        "arrivals",
        "blobs_received",
        "bytes_received",
        "client",
        "done_at",
        "in_flight",
        "next_blob",
        "started_at",
    )

    def __init__(self, client: Hashable) -> None:
        self.client = client
        self.started_at: float | None = None
        self.done_at: float | None = None
        self.next_blob = 0  # index of the next blob to request
        self.in_flight = 0  # blob requests sent whose blob has not arrived yet
        self.blobs_received = 0
        self.bytes_received = 0
        self.arrivals: list[tuple[float, int]] = []  # (time, blob index) per blob received


class RegistryPull:
    """Clients pulling ``blobs`` from the registry ``server`` on ``net`` (see the module
    docstring for the model and its assumptions).

    Args:
        net: a :class:`~sim.network.Network` built with ``transport="fair"``.
        server: the registry node (its ``upload_Bps`` is the CDN edge's upload capacity).
        blobs: blob sizes in bytes (each >= 1), in the order clients request them: the config
            blob, then the layers (:func:`image_blobs` reads them from an image DAG).
        config: connections per client, request and manifest sizes.

    Raises ``ValueError`` for a network with another transport, an unknown server (the
    network's message) or bad blob sizes.
    """

    def __init__(
        self,
        net: Network,
        server: Hashable,
        blobs: Sequence[int],
        config: RegistryConfig = RegistryConfig(),
    ) -> None:
        if net.transport.name != "fair":
            raise ValueError(
                "the registry model needs the 'fair' transport (max-min sharing of the server "
                f"uplink among K parallel connections per client); this network uses "
                f"{net.transport.name!r}: build it with transport='fair'"
            )
        if not isinstance(config, RegistryConfig):
            raise ValueError(f"config must be a RegistryConfig, got {type(config).__name__}")
        net.node(server)  # the network's ValueError for an unknown node
        if isinstance(blobs, str | bytes) or not isinstance(blobs, Sequence) or not blobs:
            raise ValueError(
                f"blobs must be a non-empty list of blob sizes in bytes (each >= 1), got {blobs!r}"
            )
        sizes = [
            _whole_number(s, 1, f"blobs[{i}]", "a blob size in bytes") for i, s in enumerate(blobs)
        ]
        self.net = net
        self.server = server
        self.blobs: tuple[int, ...] = tuple(sizes)
        self.config = config
        self._pulls: dict[Hashable, _Pull] = {}
        self._pending = 0
        self._all_done = simpy.Event(net.env)
        self.blobs_sent = 0
        """Blob responses the server has sent."""
        self.bytes_sent = 0
        """Blob bytes the server has sent (manifests not included)."""
        net.on_receive(server, self._server_receive)

    # ------------------------------------------------------------------ scheduling
    def fetch(self, client: Hashable, at_s: float = 0.0) -> None:
        """``client`` starts pulling the image at ``at_s`` seconds (now if already past).

        Raises ``ValueError`` for an unknown client or one not connected to the server (the
        network's messages), the server itself, a client already pulling, or a bad ``at_s``.
        """
        net = self.net
        if client == self.server:
            raise ValueError(f"the registry server {client!r} cannot pull from itself")
        net.link(client, self.server)  # unknown or unconnected: the network's ValueError
        if client in self._pulls:
            raise ValueError(f"client {client!r} is already pulling the image")
        if isinstance(at_s, bool) or not isinstance(at_s, int | float) or not 0 <= at_s < math.inf:
            raise ValueError(f"at_s must be a finite start time >= 0 seconds, got {at_s!r}")
        pull = _Pull(client)
        self._pulls[client] = pull
        self._pending += 1

        def receive(src: Hashable, message: Any) -> None:
            self._client_receive(pull, message)

        net.on_receive(client, receive)
        if at_s <= net.now:
            self._start(pull)
        else:
            net.call_at(at_s - net.now, self._start_event, pull)

    def _start_event(self, event: Any) -> None:
        self._start(event.value)

    def _start(self, pull: _Pull) -> None:
        pull.started_at = self.net.now
        self.net.send(pull.client, self.server, _GET_MANIFEST, self.config.request_bytes, REQUEST)

    # ------------------------------------------------------------------ protocol
    def _server_receive(self, src: Hashable, message: Any) -> None:
        tag, what = message
        if tag != REQUEST:
            return  # not ours (the server answers only requests)
        net = self.net
        if what == MANIFEST:
            net.send(self.server, src, (MANIFEST, None), self.config.manifest_bytes, MANIFEST)
            return
        size = self.blobs[what]
        self.blobs_sent += 1
        self.bytes_sent += size
        net.send(self.server, src, (BLOB, what), size, BLOB)

    def _client_receive(self, pull: _Pull, message: Any) -> None:
        tag, what = message
        if tag == MANIFEST:
            self._request_more(pull)
        elif tag == BLOB:
            pull.in_flight -= 1
            pull.arrivals.append((self.net.now, what))
            pull.blobs_received += 1
            pull.bytes_received += self.blobs[what]
            if pull.blobs_received == len(self.blobs):
                pull.done_at = self.net.now
                self._pending -= 1
                if self._pending == 0 and not self._all_done.triggered:
                    self._all_done.succeed()
            else:
                self._request_more(pull)

    def _request_more(self, pull: _Pull) -> None:
        """Fill the client's free connections with requests for the next blobs."""
        n_blobs = len(self.blobs)
        while pull.in_flight < self.config.connections and pull.next_blob < n_blobs:
            index = pull.next_blob
            pull.next_blob = index + 1
            pull.in_flight += 1
            # A zero-latency, unlimited path delivers inside send(): state is updated first.
            self.net.send(
                pull.client, self.server, (REQUEST, index), self.config.request_bytes, REQUEST
            )

    # ------------------------------------------------------------------ running
    def run(self, max_sim_time_s: float = 3600.0) -> bool:
        """Run until every scheduled pull is complete or ``max_sim_time_s`` (absolute simulated
        seconds); True if all completed."""
        if self._pending and not self._all_done.triggered:
            limit = self.net.env.timeout(max(0.0, max_sim_time_s - self.net.now))
            self.net.run(until=self._all_done | limit)
        return self._pending == 0

    # ------------------------------------------------------------------ results
    @property
    def makespan_s(self) -> float | None:
        """Last pull done minus first pull started, seconds; ``None`` until all are done."""
        pulls = list(self._pulls.values())
        if not pulls or any(p.done_at is None for p in pulls):
            return None
        return max(p.done_at for p in pulls if p.done_at is not None) - min(
            p.started_at for p in pulls if p.started_at is not None
        )

    def time_to_fetch_s(self, client: Hashable) -> float | None:
        """Seconds from ``client``'s start to its last blob; ``None`` if not done."""
        pull = self._pulls.get(client)
        if pull is None:
            raise ValueError(f"{client!r} is not pulling; clients: {list(self._pulls)[:10]}")
        if pull.done_at is None or pull.started_at is None:
            return None
        return pull.done_at - pull.started_at

    def arrivals(self, client: Hashable) -> list[tuple[float, int]]:
        """``(seconds since the client's start, blob bytes)`` of each blob the client has
        received, in arrival order."""
        pull = self._pulls.get(client)
        if pull is None:
            raise ValueError(f"{client!r} is not pulling; clients: {list(self._pulls)[:10]}")
        start = pull.started_at or 0.0
        return [(t - start, self.blobs[i]) for t, i in pull.arrivals]

    def client_frame(self) -> pd.DataFrame:
        """One row per node of the network, with the columns of
        :meth:`models.swarm.Swarm.peer_frame` where they apply.

        ``role``: ``"seed"`` for the server, ``"leech"`` for clients, ``"other"`` otherwise;
        ``strategy``: ``"registry"``. ``blocks_*`` count blobs and ``bytes_*`` blob bytes
        (manifests and requests are in the network's per-kind metrics); no duplicates exist,
        so ``dup_*`` are 0. ``msgs_*`` count every message of the node on the network;
        ``msgs_sent_request``, ``msgs_sent_manifest``, ``msgs_sent_blob`` by kind.
        ``completed`` and ``time_to_fetch_s`` are ``None`` for nodes that pull nothing.
        """
        rows = []
        for name in self.net.nodes:
            node = self.net.node(name)
            pull = self._pulls.get(name)
            is_server = name == self.server
            if pull is not None:
                role = "leech"
                completed: bool | None = pull.done_at is not None
                ttf = self.time_to_fetch_s(name)
            else:
                role = "seed" if is_server else "other"
                completed = ttf = None
            row: dict[str, Any] = {
                "peer": name,
                "role": role,
                "strategy": STRATEGY,
                "region": node.region,
                "completed": completed,
                "time_to_fetch_s": ttf,
                "blocks_received": pull.blobs_received if pull else 0,
                "dup_blocks_received": 0,
                "bytes_received": pull.bytes_received if pull else 0,
                "dup_bytes_received": 0,
                "blocks_sent": self.blobs_sent if is_server else 0,
                "bytes_sent": self.bytes_sent if is_server else 0,
                "msgs_sent": sum(c[0] for c in node.sent.values()),
                "msgs_received": sum(c[0] for c in node.received.values()),
            }
            for kind in REGISTRY_KINDS:
                row[f"msgs_sent_{kind}"] = node.sent.get(kind, (0, 0))[0]
            rows.append(row)
        return pd.DataFrame(rows)

    peer_frame = client_frame
    """Alias, so runners can treat a :class:`RegistryPull` and a ``Swarm`` alike."""


def image_blobs(dag: Dag) -> list[int]:
    """Blob sizes in bytes of an image DAG built by :func:`models.dag.oci_image`: for each child
    of the root (the config, then each layer), the total bytes of its subtree.

    These are the DAG's bytes (unixfs leaves and link nodes), a little above the raw blob sizes
    (about 0.025 % for 256 KiB chunks; exact with ``raw_leaves=True`` for blobs of one chunk),
    so the registry moves the same bytes as Bitswap does. For the raw sizes pass
    ``[HEADLINE_CONFIG_SIZE, *HEADLINE_LAYER_SIZES]`` to :class:`RegistryPull` directly.
    """
    if dag.flat or not dag.children[dag.root]:
        raise ValueError(
            "image_blobs needs an image DAG (models.dag.oci_image: a root linking the config "
            "and layer subtrees), got a flat block set or a single block"
        )
    children, size_of = dag.children, dag.size_of
    out = []
    for blob_root in children[dag.root]:
        total = 0
        stack = [blob_root]
        while stack:
            cid = stack.pop()
            total += size_of[cid]
            stack.extend(children[cid])
        out.append(total)
    return out
