"""Fan-out policies for poc: who gets a want-block and who a want-have for each CID.

The session want sender (:mod:`models.poc.wantsender`) asks its policy two questions whenever a
CID needs a want-block peer (it was just requested, or its want-block peer answered DONT_HAVE
or timed out, or a peer just announced HAVE for it):

* :meth:`WantPolicy.want_block_peers`: which peers get a want-block now. The candidates come
  grouped by what the peer is known to have, best group first: peers that sent HAVE, then peers
  that have said nothing (peers that sent DONT_HAVE and peers that already hold an outstanding
  want-block for the CID are never offered).
* :meth:`WantPolicy.want_have_peers`: which of the other session peers get a want-have.

The default, :class:`WantPolicy` with the default :class:`~models.poc.config.PocConfig`, is
go-bitswap v0.2.0 (``sessionwantsender.go``, ``peerresponsetracker.go``): one want-block per CID,
to a peer of the best group chosen at random with weights equal to how often each peer
delivered a block first (1 for a peer that has not yet); want-haves to every other session
peer. The knobs ``want_block_peers``, ``want_have_fanout`` and ``peer_choice`` of
:class:`~models.poc.config.PocConfig` change that without code.

Your own policy: subclass :class:`WantPolicy`, override one or both methods, and pass the
class as ``policy=`` to :class:`~models.peer.Peer` or :class:`~models.swarm.Swarm` (it is
called with the peer's config once per session)::

    class TwoWantBlocks(WantPolicy):
        def want_block_peers(self, cid, groups, outstanding, view):
            flat = [p for group in groups for p in group]
            return flat[: max(0, 2 - outstanding)]

A policy sees the session through a :class:`PolicyView`: its random generator, first-responder
counts and measured want-block round trips (the last are the project's own addition).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol

import numpy as np

from models.poc.config import PocConfig

__all__ = ["PolicyView", "WantPolicy"]


class PolicyView(Protocol):
    """What a policy may look at."""

    rng: np.random.Generator

    def first_responder_count(self, peer: Hashable) -> int:
        """Blocks ``peer`` delivered first in this session (the default count if none)."""
        ...

    def latency_s(self, peer: Hashable) -> float | None:
        """EWMA (weight 0.5) of ``peer``'s want-block -> block round trips, seconds, or None.
        The project's own measure: go-bitswap v0.2.0 keeps no per-peer latency in a session."""
        ...


class WantPolicy:
    """go-bitswap v0.2.0's choice, with the knobs of :class:`PocConfig` (module docstring)."""

    def __init__(self, cfg: PocConfig) -> None:
        self.want_blocks = cfg.want_block_peers
        self.want_have_fanout = cfg.want_have_fanout
        self.peer_choice = cfg.peer_choice

    def want_block_peers(
        self,
        cid: int,
        groups: Sequence[Sequence[Hashable]],
        outstanding: int,
        view: PolicyView,
    ) -> list[Hashable]:
        """Peers to send a want-block for ``cid`` now.

        ``groups``: candidate peers, best group first (HAVE, then unknown); ``outstanding``:
        want-blocks for ``cid`` already out. go-bitswap takes one peer from the best non-empty
        group and only while none is outstanding (``calculateBestPeer``).
        """
        need = self.want_blocks - outstanding
        chosen: list[Hashable] = []
        for group in groups:
            left = list(group)
            while left and len(chosen) < need:
                pick = self.pick(left, view)
                chosen.append(pick)
                left.remove(pick)
            if chosen and self.want_blocks == 1:
                break
        return chosen

    def want_have_peers(
        self,
        cid: int,
        session_peers: Sequence[Hashable],
        want_block_peers: Sequence[Hashable],
        view: PolicyView,
    ) -> list[Hashable]:
        """Session peers that get a want-have for ``cid`` (every other one in go-bitswap)."""
        others = [p for p in session_peers if p not in want_block_peers]
        k = self.want_have_fanout
        if k == 0 or len(others) <= k:
            return others
        return self.rank(others, view)[:k]

    # ------------------------------------------------------------------ helpers
    def pick(self, peers: Sequence[Hashable], view: PolicyView) -> Hashable:
        """One peer among equals, by ``peer_choice``."""
        if len(peers) == 1:
            return peers[0]
        if self.peer_choice == "random":
            return peers[int(view.rng.integers(len(peers)))]
        if self.peer_choice == "lowest-latency":
            return self.rank(peers, view)[0]
        # peerResponseTracker.choose: cumulative weights against one uniform draw
        counts = [view.first_responder_count(p) for p in peers]
        total = sum(counts)
        rnd = view.rng.random()
        counted = 0.0
        for p, count in zip(peers, counts, strict=True):
            counted += count / total
            if counted > rnd:
                return p
        return peers[-1]

    def rank(self, peers: Sequence[Hashable], view: PolicyView) -> list[Hashable]:
        """Peers best first: by first-responder count, measured latency, or at random."""
        if self.peer_choice == "random":
            return [peers[i] for i in view.rng.permutation(len(peers))]
        if self.peer_choice == "lowest-latency":
            inf = float("inf")
            return sorted(
                peers, key=lambda p: lat if (lat := view.latency_s(p)) is not None else inf
            )
        return sorted(peers, key=lambda p: -view.first_responder_count(p))
