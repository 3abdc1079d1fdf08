"""master's client half of a Bitswap node (``bitswap.go``, ``sessionmanager`` @v0.1.8).

``receive_blocks`` follows ``ReceiveMessage`` / ``receiveBlocksFrom``: count every block
(duplicate = already in the blockstore), keep only blocks some session still wants, store them,
show every block (duplicates included) to the sessions, tell the engine about the stored ones
(so peers whose ledger wants them are served: the reseeding path), then wake the fetchers
waiting for them (the notifications pubsub).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, cast

from simpy.events import Event

from models.master.config import MasterConfig
from models.master.session import MasterSession
from models.master.splitter import RequestSplitter
from models.master.wantmanager import WantManager
from models.routing import ProviderQueryManager

if TYPE_CHECKING:
    from models.client import ClientHost
    from models.messages import Message

__all__ = ["MasterClient"]

OnBlock = Callable[[int], None]


class MasterClient:
    """Sessions, the want manager and the provider query manager of one peer.

    Args:
        policy: builds one fan-out policy per session from the config: something with
            :class:`~models.master.splitter.RequestSplitter`'s methods (default: that class,
            go-bitswap's splitter).
    """

    def __init__(
        self,
        peer: ClientHost,
        cfg: MasterConfig,
        policy: Callable[[MasterConfig], Any] | None = None,
    ) -> None:
        self.peer = peer
        self.cfg = cfg
        self.policy_factory = policy if policy is not None else RequestSplitter
        self.wantmanager = WantManager(peer, cfg)
        self.providers = ProviderQueryManager.for_peer(peer, cfg)
        self.sessions: dict[int, MasterSession] = {}
        self._next_session = 0
        self._waiters: dict[int, list[OnBlock]] = {}

    def peer_connected(self, other: Hashable) -> None:
        self.wantmanager.connected(other)

    def peer_disconnected(self, other: Hashable) -> None:
        self.wantmanager.disconnected(other)

    # ------------------------------------------------------------------ sessions
    def new_session(self) -> MasterSession:
        """``NewSession``: one per fetch."""
        self._next_session += 1
        session = MasterSession(
            self._next_session,
            self.cfg,
            self.peer.net,
            self.wantmanager,
            self.peer.rng,
            self.providers.find_providers,
            self.policy_factory(self.cfg),
        )
        self.sessions[session.id] = session
        return session

    def close_session(self, session: MasterSession) -> None:
        """The fetch's context ended: the session shuts down and leaves the session manager."""
        session.close()
        self.sessions.pop(session.id, None)

    def get_blocks(self, session: MasterSession, cids: list[int], on_block: OnBlock) -> None:
        """``Session.GetBlocks``: subscribe to ``cids``, then want them on ``session``."""
        for cid in cids:
            self._waiters.setdefault(cid, []).append(on_block)
        session.want_blocks(cids)

    def is_wanted(self, cid: int) -> bool:
        """Some session still wants ``cid`` (``SessionManager.IsWanted``)."""
        return any(s.is_wanted(cid) for s in self.sessions.values())

    # ------------------------------------------------------------------ receiving
    def receive_message(self, sender: Hashable, msg: Message) -> None:
        """A message arrived (after the engine saw it): master only reads its blocks."""
        if msg.blocks:
            self.receive_blocks(sender, msg.blocks)

    def receive_blocks(self, sender: Hashable, blocks: dict[int, int]) -> None:
        """Blocks (cid -> data bytes) arrived from ``sender``. The rest of ``receiveBlocksFrom``
        runs once ``PutMany`` of the wanted blocks has returned (at once without a host)."""
        peer = self.peer
        stats = peer.stats
        wanted: list[tuple[int, int]] = []
        is_dup = peer.blockstore.has if not peer.writing else peer.is_duplicate
        for cid, size in blocks.items():
            stats.count_received_block(sender, size, is_dup(cid))
            if self.is_wanted(cid):
                wanted.append((cid, size))
        delay = peer.put_delay(wanted)
        if delay > 0.0:
            peer.net.call_at(delay, self._on_stored, (sender, blocks, wanted))
        else:
            self._stored(sender, blocks, wanted)

    def _on_stored(self, event: Event) -> None:
        sender, blocks, wanted = cast(
            tuple[Hashable, dict[int, int], list[tuple[int, int]]], event.value
        )
        self._stored(sender, blocks, wanted)

    def _stored(
        self, sender: Hashable, blocks: dict[int, int], wanted: list[tuple[int, int]]
    ) -> None:
        """``PutMany`` returned: show the blocks to the sessions, tell the engine, publish."""
        peer = self.peer
        peer.stored(wanted)
        cids = list(blocks)
        for session in list(self.sessions.values()):
            session.receive_from(sender, cids)
        wanted_cids = [cid for cid, _ in wanted]
        if wanted_cids:
            peer.engine.add_blocks(wanted_cids)
            self._publish(wanted_cids)

    def _publish(self, cids: Iterable[int]) -> None:
        for cid in cids:
            for on_block in self._waiters.pop(cid, ()):
                on_block(cid)

    def shutdown(self) -> None:
        """Stop every timer (end of run)."""
        for session in list(self.sessions.values()):
            self.close_session(session)
        self.wantmanager.shutdown()
