"""The autumn-2019 poc variant: "want potential" (strategy ``poc-potential``).

From the poc branch as it stood for the first published comparisons
(``session/sessionpotentialmanager.go`` and ``session/potentialthresholdmanager.go`` @
``refs/heads/feat/proto-ext-poc-profiling`` 164b203, 2019-11-06; why this commit:
``docs/poc.md``, "The want-potential variant").
It replaced v0.2.0's session want sender; everything else (block presence manager, peer want
manager, message queues, engine) is as in :mod:`models.poc`, except that this variant had no
DONT_HAVE timeouts, no peer pruning and the pure trailing 1 ms debounce of its message queues.

* Each (want, peer) has a *potential*: 0.5 while nothing is known (``basePotentialGain``), 0.8
  after a HAVE (``rcvdHavePotentialGain``), -0.8 after a DONT_HAVE.
* Sending a want-block to a peer moves that peer's potential into the want's *sent potential*
  (the peer's own drops to 0). A want keeps getting want-blocks, to its next best peer, while its
  sent potential is below the *threshold*; all other available peers get want-haves. A
  DONT_HAVE takes the peer's contribution back out of the sent potential.
* Wants are served best potential first, then lowest sent potential, then in request order.
* The threshold (``potentialThresholdManager``) starts at 0.8 and moves in [0.5, 0.8]: over the
  last 256 outcomes of want-blocks (hit: the block came from the peer asked; miss: it said
  DONT_HAVE), once there are at least 8, it is ``clamp(total / hits x 0.475, 0.5, 0.8)`` with
  0.475 = (1 - 0.05 ``dontHaveTolerance``) x 0.5, and 0.8 with no hit. At 0.8 a want goes to two
  unknown peers (0.5 + 0.5) or one that said HAVE; at 0.5 to one peer.

Modelling notes as in :mod:`models.poc.wantsender`: changes are applied as they happen (go
batches them on a goroutine); ties between peers of equal potential are drawn by the policy's
``pick`` (go: ``peerResponseTracker.choose``); Go map order becomes insertion order. Only wants
whose potentials changed since the last round, plus all wants when the threshold rises, are
reconsidered (the others cannot be sent).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from models.poc.client import PocClient
from models.poc.config import PocConfig
from models.poc.policy import WantPolicy
from models.poc.wantsender import WantSets, for_peer

if TYPE_CHECKING:
    from models.poc.peermanager import PeerManager
    from models.poc.presence import BlockPresenceManager
    from sim.network import Network

__all__ = [
    "PotentialClient",
    "PotentialConfig",
    "PotentialThresholdManager",
    "SessionPotentialManager",
]


@dataclass(frozen=True)
class PotentialConfig(PocConfig):
    """poc-potential parameters (``sessionpotentialmanager.go`` @ 164b203) on top of poc's."""

    dont_have_timeouts: bool = False
    """The variant predates DONT_HAVE timeouts (PR #248)."""
    prune_peers: bool = False
    """The variant's session manager never prunes peers (it keeps no DONT_HAVE count)."""
    debounce: str = "trailing"
    """Every enqueue restarts the queue's 1 ms timer, with no cutoff and no max delay: the
    hand-written ``Debounce`` that ``runQueue`` applies in ``messagequeue/messagequeue.go`` @
    164b203 (``messagequeue/debounce.go``; the same at p2plab's pin 0ee3b75). The capped
    debounce came with PR #255 (2020-02-13)."""
    base_potential_gain: float = 0.5
    """``basePotentialGain``: potential of a peer nothing is known about."""
    rcvd_have_potential_gain: float = 0.8
    """``rcvdHavePotentialGain``: after HAVE (minus this after DONT_HAVE)."""
    dont_have_tolerance: float = 0.05
    """``dontHaveTolerance``."""
    max_potential_threshold_recent: int = 256
    """``maxPotentialThresholdRecent``: outcomes remembered."""
    min_potential_threshold_item_count: int = 8
    """``minPotentialThresholdItemCount``: outcomes needed before the threshold moves."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.prune_peers:
            raise ValueError(
                "poc-potential.prune_peers must be false: the 164b203 session manager never "
                "prunes peers"
            )


class PotentialThresholdManager:
    """``potentialThresholdManager``: the sent-potential threshold from recent hits and misses."""

    def __init__(
        self, lo: float, hi: float, miss_tolerance: float, capacity: int, significance: int
    ) -> None:
        self.threshold = hi
        self.lo = lo
        self.hi = hi
        self.base = (1 - miss_tolerance) * lo
        self.capacity = capacity
        self.significance = significance
        self.recent: list[bool] = []

    def received(self, hits: int, misses: int) -> None:
        total = hits + misses
        if hits > 0 and misses > 0 and total > self.capacity:
            hits = math.floor(hits * self.capacity / total)
            misses = math.floor(misses * self.capacity / total)
        while hits > 0 or misses > 0:
            if hits > 0:
                self.recent.append(True)
                hits -= 1
            if misses > 0:
                self.recent.append(False)
                misses -= 1
        if len(self.recent) > self.capacity:
            del self.recent[: len(self.recent) - self.capacity]
        if len(self.recent) < self.significance:
            return
        hit_count = sum(self.recent)
        if hit_count == 0:
            self.threshold = self.hi
            return
        ratio = len(self.recent) / hit_count * self.base
        self.threshold = min(self.hi, max(self.lo, ratio))


class _Want:
    __slots__ = ("best", "best_peer", "by_peer", "exhausted", "sent", "sent_potential", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.by_peer: dict[Hashable, float] = {}
        self.sent: dict[Hashable, float] = {}
        self.sent_potential = 0.0
        self.best = 0.0
        self.best_peer: Hashable | None = None
        self.exhausted = False


class SessionPotentialManager:
    """The variant's session want sender; same interface as
    :class:`~models.poc.wantsender.SessionWantSender`."""

    def __init__(
        self,
        cfg: PocConfig,
        net: Network,
        bpm: BlockPresenceManager,
        pm: PeerManager,
        policy: WantPolicy,
        rng: np.random.Generator,
        on_wants_sent: Callable[[list[int]], None],
        on_peers_exhausted: Callable[[list[int]], None],
    ) -> None:
        if not isinstance(cfg, PotentialConfig):
            raise ValueError(
                "the poc-potential want sender needs a PotentialConfig (its potential "
                f"constants), got {type(cfg).__name__}"
            )
        self._cfg = cfg
        self._net = net
        self._bpm = bpm
        self._pm = pm
        self.policy = policy
        self.rng = rng
        self._on_wants_sent = on_wants_sent
        self._on_peers_exhausted = on_peers_exhausted
        self.threshold = PotentialThresholdManager(
            cfg.base_potential_gain,
            cfg.rcvd_have_potential_gain,
            cfg.dont_have_tolerance,
            cfg.max_potential_threshold_recent,
            cfg.min_potential_threshold_item_count,
        )
        self.wants: dict[int, _Want] = {}
        self.peers: dict[Hashable, None] = {}
        self.peers_discovered = False
        self.sent_want_blocks: dict[Hashable, set[int]] = {}
        self.first_responder: dict[Hashable, int] = {}
        self._count = 0
        self._dirty: dict[int, None] = {}
        self._log: list[int] = []
        self._cursor: dict[Hashable, tuple[int, int]] = {}
        """Peer -> (connection epoch, length of :attr:`_log` when it was last piggy-backed)."""
        self.pruned = 0  # this variant never prunes

    # ------------------------------------------------------------------ PolicyView
    def first_responder_count(self, peer: Hashable) -> int:
        return self.first_responder.get(peer, self._cfg.first_responder_default_count)

    def latency_s(self, peer: Hashable) -> float | None:
        return None

    # ------------------------------------------------------------------ potentials
    def _calculate_best(self, w: _Want) -> None:
        best = 0.0
        ties: list[Hashable] = []
        for peer, potential in w.by_peer.items():
            if potential > best:
                best = potential
                ties = [peer]
            elif potential == best and best > 0:
                ties.append(peer)
        w.best = best
        w.best_peer = None if not ties else self.policy.pick(ties, self)

    def _set_potential(self, cid: int, peer: Hashable) -> None:
        w = self.wants.get(cid)
        if w is None:
            return
        cfg = self._cfg
        if self._bpm.peer_has_block(peer, cid):
            potential = cfg.rcvd_have_potential_gain
        elif self._bpm.peer_does_not_have_block(peer, cid):
            potential = -cfg.rcvd_have_potential_gain
        else:
            potential = cfg.base_potential_gain
        w.by_peer[peer] = potential
        self._calculate_best(w)
        if w.best_peer is not None:
            w.exhausted = False
        self._dirty[cid] = None

    def _remove_sent(self, cid: int, peer: Hashable) -> None:
        w = self.wants.get(cid)
        if w is not None and peer in w.sent:
            w.sent_potential -= w.sent.pop(peer)
            self._dirty[cid] = None

    # ------------------------------------------------------------------ changes
    def add(self, cids: Iterable[int]) -> None:
        for cid in cids:
            if cid in self.wants:
                continue
            self.wants[cid] = _Want(self._count)
            self._count += 1
            self._log.append(cid)
            for peer in self.peers:
                self._set_potential(cid, peer)
            self._dirty[cid] = None
        self._on_change([])

    def update(
        self, sender: Hashable, blocks: list[int], haves: list[int], dont_haves: list[int]
    ) -> None:
        if not (blocks or haves or dont_haves):
            return
        newly = []
        if (blocks or haves) and sender not in self.peers:
            self.peers[sender] = None
            self.peers_discovered = True
            newly.append(sender)
            for cid in self.wants:
                self._set_potential(cid, sender)
        self._process_updates(sender, blocks, haves, dont_haves)
        self._on_change(newly)

    def signal_availability(self, peer: Hashable, available: bool) -> None:
        if available or peer not in self.peers:
            return
        del self.peers[peer]
        for cid, w in self.wants.items():
            w.by_peer.pop(peer, None)
            self._calculate_best(w)
            self._remove_sent(cid, peer)
        self._on_change([])

    def _process_updates(
        self, sender: Hashable, blocks: list[int], haves: list[int], dont_haves: list[int]
    ) -> None:
        hits = misses = 0
        sent_wb = self.sent_want_blocks.get(sender, set())
        for cid in dont_haves:
            self._remove_sent(cid, sender)
            self._set_potential(cid, sender)
            if cid in sent_wb:
                misses += 1
        for cid in haves:
            self._set_potential(cid, sender)
        for cid in blocks:
            if self.wants.pop(cid, None) is not None:
                self.first_responder[sender] = self.first_responder.get(sender, 0) + 1
                self._dirty.pop(cid, None)
            if cid in sent_wb:
                hits += 1
        if dont_haves:
            exhausted = self._bpm.all_peers_do_not_have_block(list(self.peers), dont_haves)
            newly = []
            for cid in exhausted:
                w = self.wants.get(cid)
                if w is not None and not w.exhausted:
                    w.exhausted = True
                    newly.append(cid)
            if newly:
                self._on_peers_exhausted(newly)
        before = self.threshold.threshold
        self.threshold.received(hits, misses)
        if self.threshold.threshold > before:
            for cid in self.wants:  # wants that had reached the old threshold may go again
                self._dirty[cid] = None

    def _on_change(self, newly_available: list[Hashable]) -> None:
        if self.peers:
            self._send_next_wants(newly_available)

    # ------------------------------------------------------------------ sending
    def _send_next_wants(self, newly_available: list[Hashable]) -> None:
        to_send: dict[Hashable, WantSets] = {p: WantSets() for p in newly_available}
        threshold = self.threshold.threshold
        wants = self.wants
        heap = []
        for cid in self._dirty:
            w = wants.get(cid)
            if w is not None:
                heap.append((-w.best, w.sent_potential, w.start, cid))
        self._dirty = {}
        heapq.heapify(heap)
        while heap:
            _, _, _, cid = heapq.heappop(heap)
            w = wants[cid]
            if w.best <= 0:
                self._dirty[cid] = None  # stays queued; nothing below it can go either
                for _, _, _, rest in heap:
                    self._dirty[rest] = None
                break
            if w.sent_potential >= threshold:
                continue
            peer = w.best_peer
            assert peer is not None
            potential = w.by_peer.get(peer, 0.0)
            w.by_peer[peer] = 0.0
            self._calculate_best(w)
            if peer in w.sent:
                w.sent_potential -= w.sent[peer]
            w.sent[peer] = potential
            w.sent_potential += potential
            if w.best > 0 and w.sent_potential < threshold:
                heapq.heappush(heap, (-w.best, w.sent_potential, w.start, cid))
            for_peer(to_send, peer).want_blocks[cid] = None
            for other in self.peers:
                if other != peer:
                    for_peer(to_send, other).want_haves[cid] = None
        log = self._log
        epochs = self._pm.epochs
        for peer, sets in to_send.items():
            blocks = sets.want_blocks
            haves = sets.want_haves
            sent_wb = self.sent_want_blocks.setdefault(peer, set())
            # piggy-back: every peer in this round gets want-haves for the wants never sent to
            # it as want-block (the ones added since it was last given them in this connection:
            # the peer want manager drops the others anyway)
            epoch = epochs.get(peer, 0)
            cursor = self._cursor.get(peer)
            start = cursor[1] if cursor is not None and cursor[0] == epoch else 0
            for cid in log[start:]:
                if cid in wants and cid not in blocks and cid not in sent_wb:
                    haves[cid] = None
            self._cursor[peer] = (epoch, len(log))
            wb = list(blocks)
            wh = [c for c in haves if c not in blocks]
            self._pm.send_wants(peer, wb, wh)
            self._on_wants_sent(wb + wh)
            sent_wb.update(wb)


class PotentialClient(PocClient):
    """poc's client with the potential-based session want sender."""

    want_sender_class = SessionPotentialManager
