"""poc's client half of a Bitswap node (``bitswap.go``, ``internal/wantmanager``,
``internal/sessionmanager`` @v0.2.0).

``receive_message`` follows ``ReceiveMessage`` / ``receiveBlocksFrom``: count every block
(duplicate = already in the blockstore), store the blocks some session still wants, then the
want manager's ``ReceiveFrom``: record HAVE/DONT_HAVE in the block presence manager, hand
blocks, HAVEs and DONT_HAVEs to the interested sessions, drop the received CIDs from the
broadcast wantlist and send CANCEL for every received block to every peer that was sent a want
for it; then tell the engine about the stored blocks (it answers the ledgers that want them:
the reseeding path) and wake the fetchers. A DONT_HAVE timeout is processed as a DONT_HAVE from
that peer (``onDontHaveTimeout``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, cast

from simpy.events import Event

from models.poc.config import PocConfig
from models.poc.messagequeue import MessageQueue
from models.poc.peermanager import PeerManager
from models.poc.policy import WantPolicy
from models.poc.presence import BlockPresenceManager, SessionInterestManager
from models.poc.session import PocSession
from models.poc.sessionwantlist import SessionWantlist
from models.poc.wantsender import SessionWantSender
from models.routing import ProviderQueryManager

if TYPE_CHECKING:
    from models.client import ClientHost
    from models.messages import Message

__all__ = ["PocClient"]

OnBlock = Callable[[int], None]
_Stored = tuple[Hashable, dict[int, int], list[int], list[int], list[tuple[int, int]]]
"""A message whose wanted blocks are being written: sender, blocks, HAVEs, DONT_HAVEs, wanted."""


class PocClient:
    """Sessions, want manager, peer manager and provider queries of one poc peer.

    ``want_sender_class`` is the session want sender each session uses (v0.2.0's
    :class:`~models.poc.wantsender.SessionWantSender`; the potential variant overrides it).

    Args:
        policy: builds one fan-out policy per session from the config (default
            :class:`~models.poc.policy.WantPolicy`, go-bitswap's behaviour).
    """

    want_sender_class: type = SessionWantSender

    def __init__(
        self, peer: ClientHost, cfg: PocConfig, policy: Callable[[PocConfig], Any] | None = None
    ) -> None:
        self.peer = peer
        self.cfg = cfg
        self.policy_factory = policy if policy is not None else WantPolicy
        self.bpm = BlockPresenceManager()
        self.sim = SessionInterestManager()
        self.bcwl = SessionWantlist()
        self.pm = PeerManager(self._make_queue)
        self.providers = ProviderQueryManager.for_peer(peer, cfg)
        self.sessions: dict[int, PocSession] = {}
        self._next_session = 0
        self._waiters: dict[int, list[OnBlock]] = {}
        self.dont_have_timeouts = 0

    # ------------------------------------------------------------------ peers
    def _make_queue(self, other: Hashable) -> MessageQueue:
        return MessageQueue(
            self.peer.net,
            other,
            self.cfg,
            self.peer.send_want_message,
            self.peer.supports_have(other),
            self._dont_have_timeout_s(other),
            self._on_dont_have_timeout,
            self.peer.cid_version,
        )

    def _dont_have_timeout_s(self, other: Hashable) -> float:
        """``200 ms + 2 x latency``, the latency per ``dont_have_latency_source``."""
        cfg = self.cfg
        net = self.peer.net
        source = cfg.dont_have_latency_source
        if source == "unknown":
            return cfg.dont_have_timeout_s
        latency = net.link(self.peer.name, other).latency_s
        if source == "rtt":
            latency += net.link(other, self.peer.name).latency_s
        return cfg.max_expected_want_process_time_s + cfg.latency_multiplier * latency

    def peer_connected(self, other: Hashable) -> None:
        self.pm.connected(other, self.bcwl.keys())

    def peer_disconnected(self, other: Hashable) -> None:
        self.pm.disconnected(other)

    # ------------------------------------------------------------------ sessions
    def new_session(self) -> PocSession:
        self._next_session += 1
        session = PocSession(
            self._next_session,
            self.cfg,
            self,
            self.policy_factory(self.cfg),
            self.peer.rng,
            self.providers.find_providers,
        )
        self.sessions[session.id] = session
        return session

    def close_session(self, session: PocSession) -> None:
        """``RemoveSession``: cancel what nobody is interested in any more."""
        session.close()
        if self.sessions.pop(session.id, None) is None:
            return
        cancel = self.sim.remove_session_interest(session.id)
        self.bcwl.remove_session(session.id)
        self.bpm.remove_keys(cancel)
        self.pm.send_cancels(cancel)

    def get_blocks(self, session: PocSession, cids: list[int], on_block: OnBlock) -> None:
        """``Session.GetBlocks``: subscribe to ``cids``, then want them on ``session``."""
        for cid in cids:
            self._waiters.setdefault(cid, []).append(on_block)
        session.want_blocks(cids)

    def broadcast_want_haves(self, session_id: int, cids: list[int]) -> None:
        """``WantManager.BroadcastWantHaves``."""
        self.bcwl.add(cids, session_id)
        self.pm.broadcast_want_haves(cids)

    # ------------------------------------------------------------------ receiving
    def receive_message(self, sender: Hashable, msg: Message) -> None:
        blocks = msg.blocks
        haves: list[int] = []
        dont_haves: list[int] = []
        for c, p in msg.presences.items():
            if p:  # PresenceType.DontHave (comparing with the enum member costs a lookup)
                dont_haves.append(c)
            else:
                haves.append(c)
        if blocks:
            self._receive_blocks(sender, blocks, haves, dont_haves)
        elif haves or dont_haves:
            self._want_manager_receive(sender, [], haves, dont_haves)

    def _receive_blocks(
        self, sender: Hashable, blocks: dict[int, int], haves: list[int], dont_haves: list[int]
    ) -> None:
        """``receiveBlocksFrom`` for a message with blocks (and maybe presences)."""
        peer = self.peer
        stats = peer.stats
        wanted: list[tuple[int, int]] = []
        is_wanted = self.sim.is_wanted
        is_dup = peer.blockstore.has if not peer.writing else peer.is_duplicate
        for cid, size in blocks.items():
            stats.count_received_block(sender, size, is_dup(cid))
            if is_wanted(cid):
                wanted.append((cid, size))
        delay = peer.put_delay(wanted)
        if delay > 0.0:
            peer.net.call_at(delay, self._on_stored, (sender, blocks, haves, dont_haves, wanted))
        else:
            self._stored(sender, blocks, haves, dont_haves, wanted)

    def _on_stored(self, event: Event) -> None:
        sender, blocks, haves, dont_haves, wanted = cast(_Stored, event.value)
        self._stored(sender, blocks, haves, dont_haves, wanted)

    def _stored(
        self,
        sender: Hashable,
        blocks: dict[int, int],
        haves: list[int],
        dont_haves: list[int],
        wanted: list[tuple[int, int]],
    ) -> None:
        """``PutMany`` of the wanted blocks returned (at once without a host): the want
        manager's ``ReceiveFrom``, the engine, the fetchers."""
        peer = self.peer
        if wanted:
            peer.stored(wanted)
        self._want_manager_receive(sender, list(blocks), haves, dont_haves)
        if wanted:
            wanted_cids = [cid for cid, _ in wanted]
            peer.engine.add_blocks(wanted_cids)
            for cid in wanted_cids:
                for on_block in self._waiters.pop(cid, ()):
                    on_block(cid)

    def _want_manager_receive(
        self, sender: Hashable, blocks: list[int], haves: list[int], dont_haves: list[int]
    ) -> None:
        """``WantManager.ReceiveFrom``."""
        self.bpm.receive_from(sender, haves, dont_haves)
        sessions = self.sessions
        if len(sessions) == 1:
            # InterestedSessions can only name this session, and a session that is interested
            # in none of the CIDs ignores the message (it filters them by its interest): hand it
            # over without looking the sessions up.
            for session in sessions.values():
                session.receive_from(sender, blocks, haves, dont_haves)
        elif sessions:
            for sid in self.sim.interested_sessions([*blocks, *haves, *dont_haves]):
                session = sessions.get(sid)  # type: ignore[call-overload]
                if session is not None:
                    session.receive_from(sender, blocks, haves, dont_haves)
        if blocks:
            self.bcwl.remove_keys(blocks)
            self.pm.send_cancels(blocks)

    def _on_dont_have_timeout(self, other: Hashable, cids: list[int]) -> None:
        """A want-block timed out: as if ``other`` had sent DONT_HAVE for ``cids``."""
        self.dont_have_timeouts += len(cids)
        self._want_manager_receive(other, [], [], cids)

    def shutdown(self) -> None:
        for session in list(self.sessions.values()):
            session.close()
        self.pm.shutdown()
