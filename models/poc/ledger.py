"""The poc engine's per-partner ledger (``internal/decision/ledger.go@v0.2.0``).

What a peer wants from us, with the want type, plus byte accounting. Every want is recorded
whether or not we hold the block, so the engine can answer it when the block arrives later (the
reseeding path). The wantlist follows ``wantlist/wantlist.go@v0.2.0``:

* ``Add``: a new CID is recorded with its priority and type; a want-block replaces a recorded
  want-have (taking the new priority); anything else leaves the recorded entry as it is (a
  want-have never downgrades a want-block, a repeated want keeps its first priority).
* ``RemoveType``: removing with type want-block removes any entry; removing with type
  want-have leaves a want-block in place.

The usefulness scores (``shortScore``/``longScore``, used only to tag connections) are not
modelled.
"""

from __future__ import annotations

from collections.abc import Hashable

from models.messages import WantType
from models.poc.packedwant import WantTable, pack_want, unpack_want

__all__ = ["Ledger"]


class Ledger:
    """The data exchange relationship with one partner (Go's ``ledger``)."""

    __slots__ = ("bytes_received", "bytes_sent", "exchange_count", "partner", "ref", "wantlist")

    def __init__(self, partner: Hashable) -> None:
        self.partner = partner
        self.wantlist = WantTable()
        """CID -> the partner's want, packed (:mod:`models.poc.packedwant`)."""
        self.bytes_sent = 0
        """Block bytes (raw data) sent to the partner (presences are not counted, as in Go)."""
        self.bytes_received = 0
        """Block bytes (raw data) received from the partner."""
        self.exchange_count = 0
        """Blocks sent plus blocks received (``exchangeCount``: +1 per block either way)."""
        self.ref = 0
        """Connection reference count (``PeerConnected`` +1, ``PeerDisconnected`` -1)."""

    def wants(self, cid: int, priority: int, want_type: WantType) -> bool:
        """Record a want (``Wants`` -> ``Wantlist.Add``); True if the wantlist changed."""
        return self.wantlist.add(cid, pack_want(priority, want_type))

    def cancel_want(self, cid: int) -> bool:
        """Forget a want of any type (``CancelWant`` -> ``Wantlist.Remove``); True if it was
        there."""
        return self.wantlist.pop(cid) is not None

    def remove_type(self, cid: int, want_type: WantType) -> bool:
        """Forget a want after a response (``Wantlist.RemoveType``): type want-block removes
        any want, type want-have only a want-have. True if removed."""
        return self.wantlist.remove_type(cid, want_type)

    def wantlist_contains(self, cid: int) -> tuple[int, WantType] | None:
        """The partner's ``(priority, want_type)`` for ``cid``, or None
        (``WantListContains``)."""
        packed = self.wantlist.get(cid)
        return None if packed is None else unpack_want(packed)

    def clear_wantlist(self) -> None:
        """A full wantlist arrived: it replaces the old one (``MessageReceived``, ``m.Full()``)."""
        self.wantlist = WantTable()

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
