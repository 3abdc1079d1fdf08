"""What the two decision engines (Bitswap's server side) share.

go-bitswap's ``decision/`` package (v0.1.8 – v0.1.11) and ``internal/decision/`` (v0.2.0)
differ in their ledgers and task queues but not in how they run: :mod:`.engine_workers` (the
engine task workers, the Bitswap send workers of ``workers.go`` and the thaw ticker) and
:mod:`.ledgers` (one ledger per connected partner) serve both
:class:`~models.master.engine.MasterEngine` and :class:`~models.poc.engine.PocEngine`.
:mod:`.trackerheap` is the heap of peer trackers that both versions of go-peertaskqueue (v0.1.1
for master, v0.2.0 for poc) pop the next peer from.
"""

__all__ = []
