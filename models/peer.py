"""One Bitswap peer: blockstore + engine (server) + client + content routing over a sim node.

The peer gives its engine a :class:`~models.decision.engine_workers.EngineHost` and its client
a :class:`~models.client.ClientHost` (itself); it uses the client as a
:class:`~models.client.Client`.

The strategy (``"master"``, ``"poc"``, ``"poc-2020-02"`` or ``"poc-potential"``) chooses the
client and engine classes and the wire schema. Incoming messages go to the engine first (ledger
wants and cancels), then their blocks to the client (``ReceiveMessage``, ``bitswap.go``). Want
messages leave through the client's per-peer queues (``send_want_message``); responses through
the engine's send workers (``send_response``), whose ``on_sent`` runs when the message has left
the uplink.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from models.blockstore import Blockstore
from models.client import Client, ClientHost
from models.dag import Dag
from models.fetch import Fetch
from models.hostwork import NO_WORK, HostWork
from models.master.client import MasterClient
from models.master.config import MasterConfig
from models.master.engine import MasterEngine
from models.messages import Message, account, count_entries
from models.poc.client import PocClient
from models.poc.config import Poc202002Config, PocConfig
from models.poc.engine import PocEngine
from models.poc.potential import PotentialClient, PotentialConfig
from models.routing import NilRouting, Routing
from models.stats import PeerStats
from sim.network import Network

__all__ = ["STRATEGIES", "Peer", "Strategy"]


@dataclass(frozen=True)
class Strategy:
    """A Bitswap implementation: its config class, client, engine and wire schema."""

    name: str
    config_class: type
    client_class: Callable[[ClientHost, Any, Any], Client]
    """``client_class(peer, config, policy)``."""
    engine_class: type
    protocol: str


STRATEGIES: dict[str, Strategy] = {
    "master": Strategy("master", MasterConfig, MasterClient, MasterEngine, "master"),
    "poc": Strategy("poc", PocConfig, PocClient, PocEngine, "poc"),
    "poc-2020-02": Strategy("poc-2020-02", Poc202002Config, PocClient, PocEngine, "poc"),
    "poc-potential": Strategy("poc-potential", PotentialConfig, PotentialClient, PocEngine, "poc"),
}
"""Strategies by name. ``protocol`` is the wire schema: ``master`` speaks
``/ipfs/bitswap/1.1.0`` (no HAVE / DONT_HAVE), ``poc`` ``/ipfs/bitswap/1.2.0``. ``master`` is
go-bitswap v0.1.8, ``poc`` v0.2.0 (``a22261a``), ``poc-2020-02`` master at ``f298c9b``
(2020-02-10: v0.2.0 with the era knobs of :class:`~models.poc.config.Poc202002Config`),
``poc-potential`` the autumn-2019 branch at ``164b203`` (``docs/poc.md``, "Eras")."""


class Peer:
    """A Bitswap node on ``net``'s node ``name``.

    Args:
        strategy: a key of :data:`STRATEGIES`.
        config: the strategy's config (its dataclass); defaults to go-bitswap's values.
        routing: content routing (default :class:`~models.routing.NilRouting`).
        policy: the fan-out policy factory, called with the config once per session (default:
            the strategy's go-bitswap behaviour; see :mod:`models.poc.policy`).
        cid_version: 0 (34-byte CIDs, the go benchmarks) or 1 (36-byte, p2plab/Testground).
        blockstore_latency_s: seconds per blockstore read (go-bitswap's bstoreLatency).
        work: go-bitswap's own work on the node's host (:mod:`models.hostwork`): charged only
            if the network gave the node a host (:meth:`sim.network.Network.host_of`).
    """

    def __init__(
        self,
        net: Network,
        name: Hashable,
        *,
        strategy: str = "master",
        config: Any = None,
        routing: Routing | None = None,
        cid_version: int = 1,
        blockstore_latency_s: float = 0.0,
        policy: Callable[[Any], Any] | None = None,
        work: HostWork | None = None,
    ) -> None:
        if work is not None and not isinstance(work, HostWork):
            raise ValueError(f"work must be a models.hostwork.HostWork, got {work!r}")
        try:
            strat = STRATEGIES[strategy]
        except (KeyError, TypeError):
            raise ValueError(
                f"unknown strategy {strategy!r}; allowed: {', '.join(STRATEGIES)}"
            ) from None
        if cid_version not in (0, 1):
            raise ValueError(f"cid_version must be 0 or 1, got {cid_version!r}")
        if config is None:
            config = strat.config_class()
        elif not isinstance(config, strat.config_class):
            raise ValueError(
                f"config for strategy {strategy!r} must be a {strat.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        net.node(name)  # raises for an unknown node
        self.net = net
        self.name = name
        self.strategy = strat
        self.config = config
        self.cid_version = cid_version
        self.blockstore = Blockstore(get_latency_s=blockstore_latency_s)
        self.stats = PeerStats()
        self.rng = net.random.stream(f"peer/{name}")
        self.routing = routing if routing is not None else NilRouting()
        self.peer_protocol: Callable[[Hashable], str] = lambda other: strat.protocol
        """The wire protocol another peer speaks (the swarm tells; default: the same as ours)."""
        self.host = net.host_of(name)
        """The node's host (:mod:`sim.host`), or None: Bitswap's work takes no time."""
        self.work = work if work is not None and self.host is not None else NO_WORK
        self.writing: dict[int, float] = {}
        """CIDs whose ``PutMany`` has not returned yet -> when it returns (seconds)."""
        self.engine = strat.engine_class(self, config)
        self.client = strat.client_class(self, config, policy)
        self.fetches: list[Fetch] = []
        if self.host is None:
            net.on_receive(name, self._on_message)
        else:
            net.on_receive(name, self._on_message, work=self._receive_work)
        net.on_lost(name, self._on_lost)

    # ------------------------------------------------------------------ wiring
    def connect_neighbors(self) -> None:
        """``PeerConnected`` for every peer this node has a connection to."""
        for other in self.net.neighbors(self.name):
            self.connected(other)

    def connected(self, other: Hashable) -> None:
        """``PeerConnected(other)`` (``bitswap.go``): the engine opens a ledger, the want
        manager a queue seeded with the broadcast wantlist. (go calls the want manager first;
        neither sends anything synchronously, so the order does not matter here.)"""
        self.engine.peer_connected(other)
        self.client.peer_connected(other)

    def disconnected(self, other: Hashable) -> None:
        """``PeerDisconnected(other)`` (``bitswap.go@v0.1.8`` and ``@v0.2.0``): the want manager
        closes the peer's queue (poc also forgets what it sent the peer), then the engine drops
        the peer's ledger; tasks already queued for the peer stay and their sends are lost.
        Sessions are not told (master's session peer manager has no disconnect path; v0.2.0
        never registers sessions for availability signals): a session keeps the peer until
        latency penalties (master) or DONT_HAVE pruning (poc) push it out."""
        self.client.peer_disconnected(other)
        self.engine.peer_disconnected(other)

    def seed(self, dag: Dag, cids: Iterable[int] | None = None) -> None:
        """Put ``dag``'s blocks (or only ``cids`` of it) in the blockstore before the run."""
        size_of = dag.size_of
        chosen = dag.cids_in_order if cids is None else cids
        self.blockstore.put_many((c, size_of[c]) for c in chosen)

    def fetch(
        self,
        dag: Dag,
        pattern: str = "dag-walk",
        on_done: Callable[[Fetch], None] | None = None,
    ) -> Fetch:
        """Start fetching ``dag`` now with ``pattern``; returns the :class:`Fetch`."""
        fetch = Fetch(self, dag, pattern, on_done)
        self.fetches.append(fetch)
        fetch.start()
        return fetch

    def shutdown(self) -> None:
        """Stop the peer's periodic timers (end of run)."""
        self.client.shutdown()

    def supports_have(self, other: Hashable) -> bool:
        """Whether ``other`` speaks ``/ipfs/bitswap/1.2.0`` (HAVE / DONT_HAVE)."""
        return self.peer_protocol(other) == "poc"

    # ------------------------------------------------------------------ messages
    def _on_message(self, sender: Hashable, msg: Message) -> None:
        counts = msg.counts  # recorded by the sender's _send
        into = self.stats.entries_received
        if counts is None:
            count_entries(msg, into)
        else:
            for k, n in counts:
                into[k] = into.get(k, 0) + n
        self.engine.message_received(sender, msg)
        self.client.receive_message(sender, msg)

    def _on_lost(self, dst: Hashable, msg: Message) -> None:
        stats = self.stats
        for size in msg.blocks.values():
            stats.count_lost_block(dst, size)

    def send_want_message(self, dst: Hashable, msg: Message) -> None:
        """Send a wantlist message (from a message queue)."""
        self._send(dst, msg, None)

    def send_response(self, dst: Hashable, msg: Message, on_sent: Callable[[], None]) -> None:
        """Send an engine response; ``on_sent()`` when it has left the uplink."""
        stats = self.stats
        for size in msg.blocks.values():
            stats.count_sent_block(dst, size)
        self._send(dst, msg, on_sent)

    def _send(self, dst: Hashable, msg: Message, on_sent: Callable[[], None] | None) -> None:
        size, kind, counts = account(msg, self.cid_version, self.strategy.protocol)
        msg.counts = counts  # the receiver adds the same counts (messages are not changed)
        into = self.stats.entries_sent
        for k, n in counts:
            into[k] = into.get(k, 0) + n
        if self.host is None:
            self.net.send(self.name, dst, msg, size, kind, on_sent)
            return
        # Encoding (ToNetV1); a response opens a new stream (SendMessage, network/ipfs_impl.go
        # @v0.1.8 and @v0.2.0), wants go on the peer's long-lived stream (NewMessageSender).
        work = self.work
        items = len(msg.entries) + len(msg.blocks) + len(msg.presences)
        self.net.send(
            self.name,
            dst,
            msg,
            size,
            kind,
            on_sent,
            work_s=work.send_message_s + items * work.send_entry_s,
            new_stream=on_sent is not None,
        )

    # ------------------------------------------------------------------ host work
    def _receive_work(self, sender: Hashable, msg: Message, size_bytes: int) -> float:
        """Seconds of go-bitswap's CPU on a received message (:mod:`models.hostwork`): decode
        and hand-offs, the SHA-256 of every block, a datastore ``Has`` per block (the duplicate
        count) and a ``GetSize`` per want (the engine)."""
        work = self.work
        blocks = msg.blocks
        entries = msg.entries
        wants = sum(1 for e in entries.values() if not e.cancel) if work.has_s else 0
        return (
            work.receive_message_s
            + (len(entries) + len(blocks) + len(msg.presences)) * work.receive_entry_s
            + sum(blocks.values()) / work.hash_Bps
            + (len(blocks) + wants) * work.has_s
        )

    def is_duplicate(self, cid: int) -> bool:
        """Whether a block received now is a duplicate: already in the blockstore
        (``updateReceiveCounters``), or being written by a ``PutMany`` that has not returned.
        (go-bitswap would count the second copy of a block still being written as new and
        write it again: a race of its receive goroutines that this model leaves out.)"""
        return cid in self.blockstore or cid in self.writing

    def put_delay(self, wanted: list[tuple[int, int]]) -> float:
        """Seconds until ``PutMany(wanted)`` returns (:mod:`models.hostwork`): CPU per new block,
        then the datastore's writes on the host's disk; a block another ``PutMany`` is writing
        is not written again, but waited for. 0.0 without a host."""
        host = self.host
        if host is None or not wanted:
            return 0.0
        now = self.net.now
        writing = self.writing
        store = self.blockstore
        new = [(c, s) for c, s in wanted if c not in writing and c not in store]
        done = now
        if new:
            work = self.work
            t = host.cpu(now, work.put_s * len(new)) if work.put_s else now
            if work.datastore == "badger":  # one synchronous write of the batch
                t = host.disk_write(t, sum(s for _, s in new))
            elif work.datastore == "flatfs":  # file + fsync each, shard dir fsync each, root
                for _, s in new:
                    t = host.disk_write(t, s)
                for _ in new:
                    t = host.disk_write(t, 0)
                t = host.disk_write(t, 0)
            done = t
            for c, _ in new:
                writing[c] = done
        for c, _ in wanted:
            w = writing.get(c)
            if w is not None and w > done:
                done = w
        return done - now

    def stored(self, wanted: list[tuple[int, int]]) -> None:
        """``PutMany(wanted)`` has returned: the blocks are in the blockstore."""
        self.blockstore.put_many(wanted)
        writing = self.writing
        if writing:
            for c, _ in wanted:
                writing.pop(c, None)

    def get_delay(self, sizes: Iterable[int]) -> float:
        """Seconds the engine's parallel ``Get`` of blocks of these sizes takes on the host
        (CPU per read, then the disk read); 0.0 without a host."""
        host = self.host
        if host is None:
            return 0.0
        now = self.net.now
        get_s = self.work.get_s
        end = now
        for size in sizes:
            t = host.cpu(now, get_s) if get_s else now
            t = host.disk_read(t, size)
            if t > end:
                end = t
        return end - now
