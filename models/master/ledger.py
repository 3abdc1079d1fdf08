"""The engine's per-partner ledger (``decision/ledger.go@v0.1.11``, same in ``@v0.1.8``).

What a peer wants from us (every want is recorded whether or not we hold the block, so the
engine can answer it when the block arrives later: the reseeding path), plus byte accounting.
The usefulness scores (``shortScore``/``longScore``, used only to tag connections) are not
modelled.
"""

from __future__ import annotations

from collections.abc import Hashable

__all__ = ["Ledger"]


class Ledger:
    """The data exchange relationship with one partner (Go's ``ledger``)."""

    __slots__ = ("bytes_received", "bytes_sent", "exchange_count", "partner", "ref", "wantlist")

    def __init__(self, partner: Hashable) -> None:
        self.partner = partner
        self.wantlist: dict[int, int] = {}
        """CID -> priority the partner wants, in the order first wanted (Go: a map)."""
        self.bytes_sent = 0
        """Block bytes (raw data) sent to the partner."""
        self.bytes_received = 0
        """Block bytes (raw data) received from the partner."""
        self.exchange_count = 0
        """Blocks sent plus blocks received (``exchangeCount``: +1 per block either way)."""
        self.ref = 0
        """Connection reference count (``PeerConnected`` +1, ``PeerDisconnected`` -1)."""

    def wants(self, cid: int, priority: int) -> None:
        """Record a want (``Wants`` -> ``Wantlist.Add``, ``wantlist/wantlist.go@v0.1.11``): a
        CID already wanted keeps its first priority."""
        if cid not in self.wantlist:
            self.wantlist[cid] = priority

    def cancel_want(self, cid: int) -> None:
        """Forget a want (``CancelWant``)."""
        self.wantlist.pop(cid, None)

    def wantlist_contains(self, cid: int) -> int | None:
        """The priority of the partner's want for ``cid``, or None (``WantListContains``)."""
        return self.wantlist.get(cid)

    def clear_wantlist(self) -> None:
        """A full wantlist arrived: it replaces the old one (``MessageReceived``, ``m.Full()``)."""
        self.wantlist = {}

    def sent_bytes(self, n: int) -> None:
        """A block of ``n`` bytes was sent (``SentBytes``)."""
        self.exchange_count += 1
        self.bytes_sent += n

    def received_bytes(self, n: int) -> None:
        """A block of ``n`` bytes was received (``ReceivedBytes``)."""
        self.exchange_count += 1
        self.bytes_received += n

    def debt_ratio(self) -> float:
        """``BytesSent / (BytesRecv + 1)`` (``debtRatio.Value``)."""
        return self.bytes_sent / (self.bytes_received + 1)

    def __repr__(self) -> str:
        return (
            f"Ledger({self.partner!r}, wants={len(self.wantlist)}, sent={self.bytes_sent}, "
            f"received={self.bytes_received})"
        )
