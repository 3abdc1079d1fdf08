"""Protocol parameters of the "master" strategy (go-bitswap v0.1.8 – v0.1.11).

Every constant is go-bitswap's value, with the file it comes from; a sweep varies any of them
with ``dataclasses.replace``. Times in seconds, sizes in bytes.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, fields

from sim.units import MAX_DURATION_S, MIN_PERIOD_S

__all__ = ["MasterConfig"]

_FRACTIONS = ("max_acceptable_dupes", "min_dupes_to_try_less_splits", "new_latency_weight")
_MAY_BE_ZERO = ("min_received_to_adjust_split",)
_PERIODS = (
    "prov_search_delay_s",
    "base_tick_delay_s",
    "periodic_search_delay_s",
    "rebroadcast_interval_s",
    "thaw_interval_s",
)
"""Timers that re-arm themselves: at least :data:`~sim.units.MIN_PERIOD_S`."""


@dataclass(frozen=True)
class MasterConfig:
    """go-bitswap "master" parameters. Defaults are go-bitswap's (v0.1.11 for the engine)."""

    # --- session (session/session.go@v0.1.8, bitswap.go@v0.1.8)
    broadcast_live_wants_limit: int = 4
    """Live wants while the session has no peers (``broadcastLiveWantsLimit``)."""
    targeted_live_wants_limit: int = 32
    """Live wants once the session has peers (``targetedLiveWantsLimit``)."""
    prov_search_delay_s: float = 1.0
    """First idle tick, and the idle tick until a latency is known (``defaultProvSearchDelay``,
    bitswap.go@v0.1.8)."""
    base_tick_delay_s: float = 0.5
    """Idle tick = base + 3 x average latency, x (1 + consecutive ticks) (``baseTickDelay``)."""
    tick_latency_multiplier: float = 3.0
    """The 3 of ``baseTickDelay + 3 * avLat`` (``resetIdleTick``, session/session.go@v0.1.8)."""
    periodic_search_delay_s: float = 60.0
    """Period of the random-want provider search and rebroadcast (``rebroadcastDelay``,
    bitswap.go@v0.1.8)."""

    # --- request splitter (sessionrequestsplitter/sessionrequestsplitter.go@v0.1.8)
    initial_split: int = 2
    """``initialSplit``."""
    max_split: int = 16
    """``maxSplit``."""
    min_received_to_adjust_split: int = 2
    """``minReceivedToAdjustSplit`` (only guards raising the split)."""
    max_acceptable_dupes: float = 0.4
    """``maxAcceptableDupes``: raise the split when the duplicate ratio is above this."""
    min_dupes_to_try_less_splits: float = 0.2
    """``minDuplesToTryLessSplits``: lower the split when the duplicate ratio is below this."""

    # --- session peer manager (sessionpeermanager/*.go@v0.1.8)
    max_optimized_peers: int = 32
    """``maxOptimizedPeers``: peers returned to the splitter."""
    latency_timeout_s: float = 5.0
    """``defaultTimeoutDuration``: a targeted want unanswered this long counts as a latency
    sample of this size (a penalty)."""
    new_latency_weight: float = 0.5
    """``newLatencyWeight``: EWMA weight of a new latency sample (peerdata.go@v0.1.8)."""

    # --- message queue (messagequeue/messagequeue.go@v0.1.8)
    rebroadcast_interval_s: float = 30.0
    """``defaultRebroadcastInterval``: the full per-peer wantlist is re-sent this often."""

    # --- engine (decision/engine.go@v0.1.8 / @dcfe40e = v0.1.11, workers.go)
    engine_task_workers: int = 8
    """``taskWorkerCount``: 1 in v0.1.8, 8 from v0.1.9 (PR #216)."""
    send_workers: int = 8
    """Bitswap's ``TaskWorkerCount`` send workers (workers.go)."""
    max_message_size_bytes: int = 512 * 1024
    """``maxMessageSize``: wants of one incoming message are grouped into task blocks of at most
    this many block bytes (one response message each)."""
    thaw_interval_s: float = 0.1
    """The engine ticker that runs ``ThawRound`` while a worker waits for work."""
    freezing: bool = True
    """peertaskqueue v0.1.1 freezes a peer whose queued task was cancelled."""
    parallel_blockstore_reads: bool = True
    """v0.1.9+ reads a response's blocks in parallel; v0.1.8 reads them one after another."""
    blockstore_workers: int = 128
    """``blockstoreWorkerCount``: the parallel read pool (decision/engine.go@v0.1.9+)."""

    # --- provider queries (providerquerymanager/providerquerymanager.go@v0.1.8)
    max_providers: int = 10
    """``maxProviders``: providers reported per query."""
    max_in_process_provider_queries: int = 6
    """``maxInProcessRequests``: provider queries running at once; the rest wait."""
    provider_query_timeout_s: float = 10.0
    """``defaultTimeout`` of a provider query."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "bool":
                if not isinstance(value, bool):
                    raise ValueError(f"master.{f.name} must be true or false, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise ValueError(f"master.{f.name} must be a number, got {value!r}")
            if f.type == "int" and not isinstance(value, int):
                raise ValueError(f"master.{f.name} must be a whole number, got {value!r}")
            if math.isinf(value):
                raise ValueError(f"master.{f.name} must be finite, got {value!r}")
            if value != 0 and abs(value) < sys.float_info.min:
                raise ValueError(f"master.{f.name} must not be a denormal float, got {value!r}")
            if f.name in _FRACTIONS:
                if not 0 <= value <= 1:
                    raise ValueError(f"master.{f.name} must be in [0, 1], got {value!r}")
            elif value < 0 or (value == 0 and f.name not in _MAY_BE_ZERO):
                raise ValueError(f"master.{f.name} must be > 0, got {value!r}")
            if f.name.endswith("_s") and value > MAX_DURATION_S:
                raise ValueError(f"master.{f.name} must be <= {MAX_DURATION_S:g} s, got {value!r}")
            if f.name in _PERIODS and value < MIN_PERIOD_S:
                raise ValueError(
                    f"master.{f.name} must be >= {MIN_PERIOD_S} s (a timer that re-arms "
                    f"itself), got {value!r}"
                )
        if self.initial_split > self.max_split:
            raise ValueError(
                f"master.initial_split ({self.initial_split}) must be <= master.max_split "
                f"({self.max_split})"
            )
        if not self.min_dupes_to_try_less_splits <= self.max_acceptable_dupes:
            raise ValueError(
                "master.min_dupes_to_try_less_splits must be <= master.max_acceptable_dupes"
            )
