"""Transports: how concurrent messages share uplinks and downlinks.

* ``fifo`` (:class:`FifoTransport`): each uplink and downlink serialises messages in order,
  pipelined through the latency (default, see its docstring for why).
* ``fair`` (:class:`FairTransport`): max-min fair sharing among concurrent transfers, the flow
  model of SimGrid and P2P overlay simulators.
* ``go-testnet`` (:class:`GoTestnetTransport`): go-bitswap's virtual test network.
"""

from __future__ import annotations

from sim.transports.base import Transport
from sim.transports.fair import FairTransport
from sim.transports.fifo import FifoTransport
from sim.transports.gotestnet import GoTestnetTransport

__all__ = [
    "TRANSPORTS",
    "FairTransport",
    "FifoTransport",
    "GoTestnetTransport",
    "Transport",
    "make_transport",
]

TRANSPORTS: dict[str, type[Transport]] = {
    "fifo": FifoTransport,
    "fair": FairTransport,
    "go-testnet": GoTestnetTransport,
}


def make_transport(name: str, **options: object) -> Transport:
    """A transport by name (``fifo``, ``fair``, ``go-testnet``) with its options."""
    try:
        cls = TRANSPORTS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown transport {name!r}; allowed: {', '.join(sorted(TRANSPORTS))}"
        ) from None
    return cls(**options)
