"""The engine's ledgers: one per partner, kept while the partner is connected.

``PeerConnected`` / ``PeerDisconnected`` and ``findOrCreate`` (``decision/engine.go@v0.1.8``,
``internal/decision/engine.go@v0.2.0``) are the same in both versions; only the ledger class
differs, so both engines keep their ledgers in a :class:`Ledgers`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["Ledgers"]

L = TypeVar("L")


class Ledgers(dict[Hashable, L], Generic[L]):
    """Partner -> ledger, in creation order (go: ``ledgerMap``).

    ``make(partner)`` builds a ledger; a ledger has a ``ref`` count of connections.
    """

    def __init__(self, make: Callable[[Hashable], L]) -> None:
        super().__init__()
        self._make = make

    def find_or_create(self, partner: Hashable) -> L:
        """``findOrCreate``."""
        ledger = self.get(partner)
        if ledger is None:
            ledger = self[partner] = self._make(partner)
        return ledger

    def connected(self, partner: Hashable) -> None:
        """``PeerConnected``: create the ledger if needed, count the connection."""
        ledger: Any = self.find_or_create(partner)
        ledger.ref += 1

    def disconnected(self, partner: Hashable) -> None:
        """``PeerDisconnected``: drop the ledger on the last connection (queued tasks stay)."""
        ledger: Any = self.get(partner)
        if ledger is None:
            return
        ledger.ref -= 1
        if ledger.ref <= 0:
            del self[partner]
