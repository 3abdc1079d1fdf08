"""master's request splitter (``sessionrequestsplitter/sessionrequestsplitter.go@v0.1.8``).

Live wants are split into ``split`` key groups, each sent as want-block to one group of peers, so
each key reaches about ``len(peers) / split`` peers. ``split`` starts at 2 and adapts to the
session's cumulative duplicate ratio: up (to at most 16) when it passes 0.4 after more than two
blocks, down (to at least 1) whenever it is below 0.2.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from models.master.config import MasterConfig

__all__ = ["RequestSplitter"]


class RequestSplitter:
    """The splitter of one session; counters are cumulative for the session's lifetime."""

    __slots__ = ("_cfg", "duplicates", "received", "split")

    def __init__(self, cfg: MasterConfig) -> None:
        self._cfg = cfg
        self.split = cfg.initial_split
        self.received = 0
        self.duplicates = 0

    def record_duplicate(self) -> None:
        """A block the session already had arrived (``recordDuplicateMessage``)."""
        self.received += 1
        self.duplicates += 1
        cfg = self._cfg
        if (
            self.received > cfg.min_received_to_adjust_split
            and self.duplicates / self.received > cfg.max_acceptable_dupes
            and self.split < cfg.max_split
        ):
            self.split += 1

    def record_unique(self) -> None:
        """A wanted block arrived (``recordUniqueMessage``: no minimum-received guard)."""
        self.received += 1
        if (
            self.split > 1
            and self.duplicates / self.received < self._cfg.min_dupes_to_try_less_splits
        ):
            self.split -= 1

    def split_request(
        self, peers: Sequence[Hashable], keys: Sequence[int]
    ) -> list[tuple[list[Hashable], list[int]]]:
        """(peer group, key group) pairs: peer i in group i mod s, key j in group j mod s'.

        ``s = min(split, len(peers))``, ``s' = min(s, len(keys))``; peer groups beyond ``s'``
        get nothing this round (``splitRequestMessage.handle``).
        """
        split = min(self.split, len(peers))
        peer_groups = [list(peers[i::split]) for i in range(split)]
        split = min(split, len(keys))
        return [(peer_groups[i], list(keys[i::split])) for i in range(split)]
