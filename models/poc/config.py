"""Protocol parameters of the "poc" strategy (go-bitswap v0.2.0).

Every constant is go-bitswap's value at v0.2.0, with the file it comes from; a sweep varies any
of them with ``dataclasses.replace``. Times in seconds, sizes in bytes.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, fields

from sim.units import MAX_DURATION_S, MIN_PERIOD_S

__all__ = ["DONT_HAVE_LATENCY_SOURCES", "PEER_CHOICES", "PocConfig"]

_PERIODS = (
    "prov_search_delay_s",
    "base_tick_delay_s",
    "periodic_search_delay_s",
    "rebroadcast_interval_s",
    "thaw_interval_s",
)
"""Timers that re-arm themselves: at least :data:`~sim.units.MIN_PERIOD_S`."""

PEER_CHOICES = ("first-responder", "lowest-latency", "random")
"""How the want sender picks among equally good peers: ``first-responder`` (go-bitswap:
weighted by how often each peer delivered a block first), ``lowest-latency`` (smallest
measured want-block round trip first: the project's own EWMA, which v0.2.0 does not keep),
``random`` (uniform)."""

DONT_HAVE_LATENCY_SOURCES = ("rtt", "one-way", "unknown")
"""What the DONT_HAVE timeout takes as the peer's latency: ``rtt`` (a real libp2p host: the
peerstore's ping RTT, ``network/ipfs_impl.go@v0.2.0`` ``Latency``), ``one-way`` (go-bitswap's
virtual test network returns the link's one-way delay, ``internal/testnet/virtual.go``), or
``unknown`` (no measurement: the 5 s default throughout)."""


@dataclass(frozen=True)
class PocConfig:
    """go-bitswap v0.2.0 parameters (defaults are go-bitswap's)."""

    # --- session (internal/session/session.go@v0.2.0, bitswap.go@v0.2.0)
    broadcast_live_wants_limit: int = 64
    """Wants broadcast as want-have before the session has found a peer
    (``broadcastLiveWantsLimit``)."""
    prov_search_delay_s: float = 1.0
    """First idle tick, and the idle tick until a latency is known (``defaultProvSearchDelay``)."""
    base_tick_delay_s: float = 0.5
    """Idle tick = base + 3 x average latency, x (1 + consecutive ticks) (``baseTickDelay``)."""
    tick_latency_multiplier: float = 3.0
    """The 3 of ``baseTickDelay + 3 * avLat`` (``resetIdleTick``)."""
    periodic_search_delay_s: float = 60.0
    """Period of the random-want provider search and broadcast (``rebroadcastDelay``)."""

    # --- session want sender (internal/session/sessionwantsender.go@v0.2.0)
    peer_dont_have_limit: int = 16
    """``peerDontHaveLimit``: a peer is pruned from the session on the 17th consecutive
    DONT_HAVE (unless it has sent HAVE for a pending want)."""
    first_responder_default_count: int = 1
    """Weight of a peer that has not delivered a block first yet (``peerResponseTracker``)."""

    # --- fan-out policy knobs (go-bitswap's behaviour by default; see models/poc/policy.py)
    want_block_peers: int = 1
    """Outstanding want-blocks per CID: go-bitswap sends one, to the best peer."""
    want_have_fanout: int = 0
    """Want-haves per CID besides the want-block peers: 0 means every other session peer
    (go-bitswap); k > 0 means only the k best others."""
    peer_choice: str = "first-responder"
    """Tie-break among equally good peers: one of :data:`PEER_CHOICES`."""

    # --- message queue (internal/messagequeue/messagequeue.go@v0.2.0)
    rebroadcast_interval_s: float = 30.0
    """``defaultRebroadcastInterval``: the full per-peer wantlist is re-sent this often."""
    max_message_size_bytes: int = 2 * 1024 * 1024
    """``maxMessageSize``: a want message stops growing at 2 MiB; the rest waits."""
    send_message_debounce_s: float = 0.001
    """``sendMessageDebounce``: send 1 ms after the last enqueue..."""
    send_message_cutoff: int = 256
    """``sendMessageCutoff``: ... or at once with more than 256 pending entries..."""
    send_message_max_delay_s: float = 0.020
    """``sendMessageMaxDelay``: ... or at once 20 ms after the first pending enqueue."""

    # --- DONT_HAVE timeouts (internal/messagequeue/donthavetimeoutmgr.go@v0.2.0)
    dont_have_timeouts: bool = True
    """Simulate a DONT_HAVE for a want-block unanswered after the timeout (PR #248, #284: in
    v0.2.0; absent from the autumn-2019 "want potential" variant)."""
    dont_have_timeout_s: float = 5.0
    """``dontHaveTimeout``: used until the peer's latency is known."""
    max_expected_want_process_time_s: float = 0.2
    """``maxExpectedWantProcessTime`` (2 s from v0.2.13)."""
    latency_multiplier: float = 2.0
    """``latencyMultiplier``: timeout = 200 ms + 2 x latency (3 from v0.2.13)."""
    dont_have_latency_source: str = "rtt"
    """Which latency the timeout uses: one of :data:`DONT_HAVE_LATENCY_SOURCES`."""

    # --- engine (internal/decision/engine.go@v0.2.0, workers.go)
    engine_task_workers: int = 8
    """``taskWorkerCount``."""
    send_workers: int = 8
    """Bitswap's ``TaskWorkerCount`` send workers (workers.go)."""
    target_message_size_bytes: int = 16 * 1024
    """``targetMessageSize``: pop a peer's tasks until their work reaches 16 KiB."""
    max_block_size_replace_has_with_block: int = 1024
    """``maxBlockSizeReplaceHasWithBlock``: a want-have for a block this small gets the block."""
    blockstore_workers: int = 128
    """``blockstoreWorkerCount``: the parallel read pool."""
    thaw_interval_s: float = 0.1
    """The engine's ticker (freezing is off in v0.2.0, ``IgnoreFreezing(true)``)."""
    parallel_blockstore_reads: bool = True
    """Blocks of a response are read in parallel (blockstoremanager.go)."""

    # --- provider queries (internal/providerquerymanager/providerquerymanager.go@v0.2.0)
    max_providers: int = 10
    """``maxProviders``."""
    max_in_process_provider_queries: int = 6
    """``maxInProcessRequests``."""
    provider_query_timeout_s: float = 10.0
    """``defaultTimeout``."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "str":
                continue
            if f.type == "bool":
                if not isinstance(value, bool):
                    raise ValueError(f"poc.{f.name} must be true or false, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise ValueError(f"poc.{f.name} must be a number, got {value!r}")
            if f.type == "int" and not isinstance(value, int):
                raise ValueError(f"poc.{f.name} must be a whole number, got {value!r}")
            if math.isinf(value):
                raise ValueError(f"poc.{f.name} must be finite, got {value!r}")
            if value != 0 and abs(value) < sys.float_info.min:
                raise ValueError(f"poc.{f.name} must not be a denormal float, got {value!r}")
            if value < 0 or (value == 0 and f.name != "want_have_fanout"):
                raise ValueError(f"poc.{f.name} must be > 0, got {value!r}")
            if f.name.endswith("_s") and value > MAX_DURATION_S:
                raise ValueError(f"poc.{f.name} must be <= {MAX_DURATION_S:g} s, got {value!r}")
            if f.name in _PERIODS and value < MIN_PERIOD_S:
                raise ValueError(
                    f"poc.{f.name} must be >= {MIN_PERIOD_S} s (a timer that re-arms itself), "
                    f"got {value!r}"
                )
        if self.peer_choice not in PEER_CHOICES:
            raise ValueError(
                f"poc.peer_choice must be one of {', '.join(PEER_CHOICES)}, "
                f"got {self.peer_choice!r}"
            )
        if self.dont_have_latency_source not in DONT_HAVE_LATENCY_SOURCES:
            raise ValueError(
                f"poc.dont_have_latency_source must be one of "
                f"{', '.join(DONT_HAVE_LATENCY_SOURCES)}, got {self.dont_have_latency_source!r}"
            )
