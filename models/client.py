"""The contract between a Bitswap peer and its client half, for every strategy.

A :class:`~models.peer.Peer` builds its client (:class:`~models.master.client.MasterClient`,
:class:`~models.poc.client.PocClient`, :class:`~models.poc.potential.PotentialClient`) and hands
it itself. Neither side imports the other's class:

* :class:`ClientHost` is what a client may use of its peer (the peer implements it), as
  :class:`~models.decision.engine_workers.EngineHost` is what an engine may use;
* :class:`Client` is what the peer and its fetches (:mod:`models.fetch`) use of a client.

In go-bitswap both halves live in one ``Bitswap`` struct (``bitswap.go@v0.1.8``,
``bitswap.go@v0.2.0``): the client reads the node's blockstore, counters, network and content
routing, and tells the engine about the blocks it stored (``engine.AddBlocks`` in v0.1.8,
``engine.ReceiveFrom`` in v0.2.0).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from models.blockstore import Blockstore
    from models.messages import Message
    from models.routing import Routing
    from models.stats import PeerStats
    from sim.network import Network

__all__ = ["BlockAnnouncer", "Client", "ClientHost"]


class BlockAnnouncer(Protocol):
    """What a client tells its peer's engine."""

    def add_blocks(self, cids: list[int]) -> None:
        """``AddBlocks`` / ``ReceiveFrom``: ``cids`` were just stored; serve the ledgers that
        want them."""
        ...


class ClientHost(Protocol):
    """What a client may use of the peer it runs in (read only)."""

    @property
    def name(self) -> Hashable:
        """The peer's node on :attr:`net`."""
        ...

    @property
    def net(self) -> Network: ...

    @property
    def rng(self) -> np.random.Generator:
        """The peer's own random stream (Go map order, random picks)."""
        ...

    @property
    def blockstore(self) -> Blockstore: ...

    @property
    def stats(self) -> PeerStats:
        """Counters the client updates for every received block."""
        ...

    @property
    def routing(self) -> Routing:
        """Content routing for provider queries."""
        ...

    @property
    def cid_version(self) -> int:
        """0 or 1: the length of CIDs on the wire."""
        ...

    @property
    def engine(self) -> BlockAnnouncer: ...

    @property
    def writing(self) -> dict[int, float]:
        """CIDs whose ``PutMany`` has not returned yet -> when it returns (with a host)."""
        ...

    def is_duplicate(self, cid: int) -> bool:
        """A block received now is a duplicate (in the blockstore, or being written)."""
        ...

    def put_delay(self, wanted: list[tuple[int, int]]) -> float:
        """Seconds until ``PutMany(wanted)`` returns (0.0 without a host)."""
        ...

    def stored(self, wanted: list[tuple[int, int]]) -> None:
        """``PutMany(wanted)`` returned: the blocks are in the blockstore."""
        ...

    def send_want_message(self, dst: Hashable, msg: Message) -> None:
        """Send a wantlist message (from a per-peer message queue) to ``dst``."""
        ...

    def supports_have(self, other: Hashable) -> bool:
        """Whether ``other`` speaks ``/ipfs/bitswap/1.2.0`` (HAVE / DONT_HAVE)."""
        ...


class Client(Protocol):
    """What the peer and its fetches use of a client. A session is the client's own type."""

    def peer_connected(self, other: Hashable) -> None:
        """``PeerConnected``."""
        ...

    def peer_disconnected(self, other: Hashable) -> None:
        """``PeerDisconnected``."""
        ...

    def receive_message(self, sender: Hashable, msg: Message) -> None:
        """A message from ``sender`` arrived (after the engine saw it)."""
        ...

    def new_session(self) -> Any:
        """``NewSession``: one per fetch."""
        ...

    def get_blocks(self, session: Any, cids: list[int], on_block: Callable[[int], None]) -> None:
        """``GetBlocks`` on ``session``: ``on_block(cid)`` once each of ``cids`` is stored."""
        ...

    def close_session(self, session: Any) -> None:
        """The fetch is over: the session stops."""
        ...

    def shutdown(self) -> None:
        """Stop every timer (end of run)."""
        ...
