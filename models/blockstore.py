"""A peer's blockstore: which CIDs it holds and their sizes in bytes.

The store itself takes no simulated time. ``get_latency_s`` is the delay the engine (the caller)
must schedule for each block read, the way go-bitswap's benchmarks slow their seeds down with
``bstoreLatency``: ``SetBlockstoreLatency`` sets a ``delay.Fixed`` used by a
``delayed.Datastore`` under the instance's blockstore
(``internal/testinstance/testinstance.go@v0.2.0``; go-datastore ``delayed/delayed.go@v0.4.4``
waits on every Get, Has, GetSize and Put).
**[inference]** In practice only ``Get`` pays it: the benchmarks set the latency after
``PutMany`` (``runDistribution``, ``benchmarks_test.go@v0.2.0``), and the ARC cache of
``CachedBlockstore`` (go-ipfs-blockstore ``arc_cache.go@v0.1.4``) then answers ``Has`` and
``GetSize`` from the sizes it recorded on ``PutMany``, while ``Get`` always reaches the
datastore. Only seeds get a latency (25 ms in ``BenchmarkDatacenter*``, 0 elsewhere); the v0.2.0
engine reads blocks with up to 128 concurrent blockstore workers
(``internal/decision/blockstoremanager.go@v0.2.0``), so concurrent Gets overlap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["Blockstore"]


class Blockstore:
    """A set of CIDs with block sizes in bytes, and counters of what was stored."""

    __slots__ = ("_sizes", "bytes_stored", "get_latency_s", "size_of")

    def __init__(self, get_latency_s: float = 0.0) -> None:
        """``get_latency_s``: delay per block Get in seconds, applied by the caller."""
        if not get_latency_s >= 0.0:
            raise ValueError(f"get_latency_s must be >= 0 seconds, got {get_latency_s!r}")
        self._sizes: dict[int, int] = {}
        self.get_latency_s = float(get_latency_s)
        self.bytes_stored = 0
        """Sum of the sizes of the blocks stored, bytes."""
        self.size_of = self._sizes.get
        """``size_of(cid)``: block size in bytes, or None if absent (go's ``GetSize``). The
        dict's own ``get``, without a Python call around it: both engines ask it for every want
        received (1.3 million times in the poc headline)."""

    def has(self, cid: int) -> bool:
        """Whether the block is stored."""
        return cid in self._sizes

    __contains__ = has

    def put(self, cid: int, size_bytes: int) -> bool:
        """Store a block; returns False (and changes nothing) if it was already present."""
        if cid in self._sizes:
            return False
        self._sizes[cid] = size_bytes
        self.bytes_stored += size_bytes
        return True

    def put_many(self, blocks: Iterable[tuple[int, int]]) -> int:
        """Store ``(cid, size_bytes)`` pairs; returns how many were new."""
        put = self.put
        return sum(put(c, s) for c, s in blocks)

    @property
    def blocks_stored(self) -> int:
        """Number of distinct blocks stored."""
        return len(self._sizes)

    def __len__(self) -> int:
        return len(self._sizes)

    def __iter__(self) -> Iterator[int]:
        """CIDs in the order they were stored."""
        return iter(self._sizes)
