"""Per-peer counters, as go-bitswap's ``Stat()`` and p2plab's per-node report keep them.

Blocks and bytes count block *data* (``len(block.RawData())``), as go-bitswap's counters do; wire
bytes per message kind are in the network's per-node metrics. A received block is a duplicate
if it was already in the blockstore when it arrived (``updateReceiveCounters``, bitswap.go).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

__all__ = ["PeerStats"]


@dataclass(slots=True)
class PeerStats:
    """Counters of one peer. Bytes are block data bytes."""

    blocks_received: int = 0
    bytes_received: int = 0
    dup_blocks_received: int = 0
    dup_bytes_received: int = 0
    blocks_sent: int = 0
    bytes_sent: int = 0
    entries_sent: dict[str, int] = field(default_factory=dict)
    """Wantlist entries, blocks and presences sent, by kind (want-block, cancel, block, ...)."""
    entries_received: dict[str, int] = field(default_factory=dict)
    blocks_from: dict[Hashable, int] = field(default_factory=dict)
    """Blocks received from each peer (who served whom), duplicates included."""
    bytes_from: dict[Hashable, int] = field(default_factory=dict)
    """Block data bytes received from each peer, duplicates included."""
    dup_blocks_from: dict[Hashable, int] = field(default_factory=dict)
    """Duplicate blocks received from each peer (only peers that sent one)."""
    blocks_to: dict[Hashable, int] = field(default_factory=dict)
    """Blocks sent to each peer."""
    blocks_lost: int = 0
    """Blocks this peer sent that never arrived (their connection closed on the way)."""
    bytes_lost: int = 0
    blocks_lost_to: dict[Hashable, int] = field(default_factory=dict)
    """Blocks sent to each peer that were lost (only peers that lost one)."""

    def count_received_block(self, sender: Hashable, size_bytes: int, duplicate: bool) -> None:
        self.blocks_received += 1
        self.bytes_received += size_bytes
        if duplicate:
            self.dup_blocks_received += 1
            self.dup_bytes_received += size_bytes
            self.dup_blocks_from[sender] = self.dup_blocks_from.get(sender, 0) + 1
        self.blocks_from[sender] = self.blocks_from.get(sender, 0) + 1
        self.bytes_from[sender] = self.bytes_from.get(sender, 0) + size_bytes

    def count_sent_block(self, receiver: Hashable, size_bytes: int) -> None:
        self.blocks_sent += 1
        self.bytes_sent += size_bytes
        self.blocks_to[receiver] = self.blocks_to.get(receiver, 0) + 1

    def count_lost_block(self, receiver: Hashable, size_bytes: int) -> None:
        self.blocks_lost += 1
        self.bytes_lost += size_bytes
        self.blocks_lost_to[receiver] = self.blocks_lost_to.get(receiver, 0) + 1

    @staticmethod
    def add_counts(into: dict[str, int], counts: dict[str, int]) -> None:
        for kind, n in counts.items():
            if n:
                into[kind] = into.get(kind, 0) + n
