"""How an application asks Bitswap for content: the fetch patterns.

* ``dag-walk``: ``Get(root)``, then ``GetMany`` of each node's children as the node arrives,
  recursively and concurrently, all on one session: how the Testground bitswap-tuning plan and
  p2plab walk a DAG (go-merkledag's walker over a session).
* The go-bitswap benchmarks' patterns (``benchmarks_test.go@v0.1.8`` and ``@v0.2.0``), on a flat
  list of blocks (root first), one session each:
  ``one-at-a-time`` (``GetBlock`` after ``GetBlock``), ``big-batch`` (one ``GetBlocks``),
  ``batch-by-10`` (``GetBlocks`` of 10, one batch after the other), ``all-concurrent`` (one
  ``GetBlock`` per block, all at once), ``unixfs-fetch`` (1, then 10, then the remaining 89),
  ``unixfs-fetch-large`` (1, 10, 89, then the rest in rounds of 5 concurrent ``GetBlocks`` of
  10).

Like go-blockservice, blocks already in the local blockstore are returned at once, without
asking Bitswap. A fetch is complete when every block of its object is local; its time to fetch
runs from its start to that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from models.dag import Dag

if TYPE_CHECKING:
    from models.blockstore import Blockstore
    from models.client import Client
    from sim.network import Network

__all__ = ["PATTERNS", "Fetch", "FetchHost"]


class FetchHost(Protocol):
    """What a fetch uses of its peer (:class:`~models.peer.Peer` implements it)."""

    @property
    def name(self) -> Hashable: ...

    @property
    def net(self) -> Network: ...

    @property
    def blockstore(self) -> Blockstore:
        """Blocks already here are returned without asking Bitswap."""
        ...

    @property
    def client(self) -> Client:
        """Sessions and ``GetBlocks``."""
        ...


PATTERNS = (
    "dag-walk",
    "one-at-a-time",
    "big-batch",
    "batch-by-10",
    "all-concurrent",
    "unixfs-fetch",
    "unixfs-fetch-large",
)


class Fetch:
    """One peer fetching one object with one pattern on one session.

    Attributes (seconds of simulated time): ``started_at``, ``done_at`` (``None`` until
    complete); ``time_to_fetch_s``. Progress: ``progress_s`` and ``progress_cids``, the
    simulated time (s) at which each block that was missing at the start became local, and
    that block, in the order they did (block i+1 of the fetch arrived at ``progress_s[i]``).
    """

    def __init__(
        self,
        peer: FetchHost,
        dag: Dag,
        pattern: str = "dag-walk",
        on_done: Callable[[Fetch], None] | None = None,
    ) -> None:
        if pattern not in PATTERNS:
            raise ValueError(f"unknown fetch pattern {pattern!r}; allowed: {', '.join(PATTERNS)}")
        self.peer = peer
        self.dag = dag
        self.pattern = pattern
        self._on_done = on_done
        self._missing = {c for c in dag.cids_in_order if not peer.blockstore.has(c)}
        self.started_at: float | None = None
        self.done_at: float | None = None
        self.session: Any = None
        self.progress_s: list[float] = []
        self.progress_cids: list[int] = []

    @property
    def completed(self) -> bool:
        return self.done_at is not None

    @property
    def time_to_fetch_s(self) -> float | None:
        if self.done_at is None or self.started_at is None:
            return None
        return self.done_at - self.started_at

    @property
    def blocks_missing(self) -> int:
        return len(self._missing)

    # ------------------------------------------------------------------ plumbing
    def start(self) -> None:
        """Begin now (``started_at`` = now)."""
        peer = self.peer
        self.started_at = peer.net.env.now
        self.session = peer.client.new_session()
        if not self._missing:
            self._finish()
            return
        getattr(self, "_" + self.pattern.replace("-", "_"))()

    def _got(self, cid: int) -> None:
        missing = self._missing
        if cid in missing:
            missing.discard(cid)
            self.progress_s.append(self.peer.net.env.now)
            self.progress_cids.append(cid)
            if not missing:
                self._finish()

    def _finish(self) -> None:
        self.done_at = self.peer.net.env.now
        self.peer.client.close_session(self.session)
        if self._on_done is not None:
            self._on_done(self)

    def get_many(self, cids: Sequence[int], on_each: Callable[[int], None]) -> None:
        """``GetBlocks`` through a blockservice: local blocks at once, the rest via Bitswap."""
        store = self.peer.blockstore
        remote = []
        for cid in cids:
            if store.has(cid):
                self._got(cid)
                on_each(cid)
            else:
                remote.append(cid)
        if remote:

            def arrived(cid: int) -> None:
                self._got(cid)
                on_each(cid)

            self.peer.client.get_blocks(self.session, remote, arrived)

    def get_all(self, cids: Sequence[int], then: Callable[[], None]) -> None:
        """``GetBlocks(cids)`` and wait for all of them before ``then()``."""
        left = set(cids)
        if not left:
            then()
            return

        def each(cid: int) -> None:
            left.discard(cid)
            if not left:
                then()

        self.get_many(list(dict.fromkeys(cids)), each)

    @property
    def _keys(self) -> list[int]:
        return list(self.dag.cids_in_order)

    # ------------------------------------------------------------------ patterns
    def _dag_walk(self) -> None:
        children = self.dag.children

        def visit(cid: int) -> None:
            kids = children.get(cid, ())
            if kids:
                self.get_many(kids, visit)

        self.get_many([self.dag.root], visit)

    def _one_at_a_time(self) -> None:
        keys = self._keys

        def step(i: int) -> None:
            if i < len(keys):
                self.get_all([keys[i]], lambda: step(i + 1))

        step(0)

    def _big_batch(self) -> None:
        self.get_many(self._keys, _ignore)

    def _batch_by_10(self) -> None:
        self._batches(self._keys, 10)

    def _batches(self, keys: list[int], size: int, then: Callable[[], None] | None = None) -> None:
        def step(i: int) -> None:
            if i < len(keys):
                self.get_all(keys[i : i + size], lambda: step(i + size))
            elif then is not None:
                then()

        step(0)

    def _all_concurrent(self) -> None:
        for cid in self._keys:
            self.get_many([cid], _ignore)

    def _unixfs_fetch(self) -> None:
        keys = self._keys
        self.get_all(
            keys[:1], lambda: self.get_all(keys[1:11], lambda: self.get_many(keys[11:], _ignore))
        )

    def _unixfs_fetch_large(self) -> None:
        keys = self._keys
        rest = keys[100:]

        def rounds(i: int) -> None:
            # 5 concurrent GetBlocks of 10 per round, next round when all 5 are done
            if i >= len(rest):
                return
            groups = [rest[j : j + 10] for j in range(i, min(i + 50, len(rest)), 10)]
            pending = [len(groups)]

            def group_done() -> None:
                pending[0] -= 1
                if pending[0] == 0:
                    rounds(i + 50)

            for group in groups:
                self.get_all(group, group_done)

        self.get_all(
            keys[:1],
            lambda: self.get_all(keys[1:11], lambda: self.get_all(keys[11:100], lambda: rounds(0))),
        )


def _ignore(cid: int) -> None:
    pass
