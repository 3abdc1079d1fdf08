"""The network substrate of bitswap-sim: peers, connections, latency, bandwidth, transports.

Nothing here knows about Bitswap: :class:`Network` moves opaque, sized messages between peers
and counts them by a ``kind`` label.
"""

from sim.latency import (
    EdgeLatency,
    FixedLatency,
    InternetLatency,
    LatencyModel,
    RegionMatrixLatency,
    latency_model,
)
from sim.network import Link, Network, NodeState
from sim.rng import RunRandom, as_generator
from sim.topology import build_network, full_mesh, region_meshes
from sim.transports import (
    TRANSPORTS,
    FairTransport,
    FifoTransport,
    GoTestnetTransport,
    Transport,
    make_transport,
)
from sim.units import gbit, kbit, mbit, parse_bandwidth, parse_duration, parse_size

__all__ = [
    "TRANSPORTS",
    "EdgeLatency",
    "FairTransport",
    "FifoTransport",
    "FixedLatency",
    "GoTestnetTransport",
    "InternetLatency",
    "LatencyModel",
    "Link",
    "Network",
    "NodeState",
    "RegionMatrixLatency",
    "RunRandom",
    "Transport",
    "as_generator",
    "build_network",
    "full_mesh",
    "gbit",
    "kbit",
    "latency_model",
    "make_transport",
    "mbit",
    "parse_bandwidth",
    "parse_duration",
    "parse_size",
    "region_meshes",
]
