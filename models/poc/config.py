"""Protocol parameters of the "poc" strategy (go-bitswap v0.2.0) and its February 2020 era.

Every constant is go-bitswap's value at v0.2.0, with the file it comes from; a sweep varies any
of them with ``dataclasses.replace``. Times in seconds, sizes in bytes.

Six *era knobs* switch a behaviour that changed between the merge of the protocol extensions
(go-bitswap ``86178ba``, 2020-01-30) and v0.2.0 (``a22261a``, 2020-03-10) back to what it was;
their defaults are v0.2.0's. :class:`Poc202002Config` sets them all to go-bitswap master at
``f298c9b`` (2020-02-10), the strategy ``poc-2020-02`` (``docs/poc.md``, "Eras").
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, fields

from sim.units import MAX_DURATION_S, MIN_PERIOD_S

__all__ = [
    "DEBOUNCES",
    "DONT_HAVE_LATENCY_SOURCES",
    "DONT_HAVE_TIMEOUT_PEERS",
    "EXHAUSTED_BROADCASTS",
    "PEER_CHOICES",
    "Poc202002Config",
    "PocConfig",
]

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

DONT_HAVE_TIMEOUT_PEERS = ("all", "legacy")
"""Which peers' want-blocks get a DONT_HAVE timeout (with ``dont_have_timeouts`` on): ``all``
(PR #284, ``internal/messagequeue/messagequeue.go@v0.2.0`` ``sendMessage`` starts the timeout
manager for every peer) or ``legacy``, only peers that do not speak ``/ipfs/bitswap/1.2.0``
(PR #248: ``if !mq.sender.SupportsHave()`` in ``messagequeue.go@f4c9702``, so between poc peers
no timer is ever armed)."""

DEBOUNCES = ("capped", "trailing")
"""How a message queue debounces its sends: ``capped`` (PR #255, ``runQueue`` in
``internal/messagequeue/messagequeue.go@v0.2.0``: 1 ms after the last enqueue, but at once above
256 pending entries or 20 ms after the first) or ``trailing`` (``bep/debounce`` with 1 ms in
``messagequeue.go@f298c9b``, and a hand-written ``Debounce`` in
``messagequeue/debounce.go@164b203``: every enqueue restarts the 1 ms timer, with no cap,
go-bitswap issue #245)."""

EXHAUSTED_BROADCASTS = ("exhausted", "live")
"""What a session broadcasts when every session peer has said DONT_HAVE for some wants:
``exhausted`` (PR #272, ``internal/session/session.go@v0.2.0`` ``broadcastWantHaves(ctx, keys)``:
only those CIDs; exhaustion is also checked when a peer leaves the session) or ``live``
(``session.go@f298c9b`` ``opBroadcast`` -> ``handleIdleTick``: every live want, as an idle tick
does; checked only on DONT_HAVEs)."""


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
    sessions_track_connectivity: bool = False
    """Era knob. Whether sessions hear of their peers' connects and disconnects. v0.2.0: no
    (PR #275 left ``RegisterSession`` uncalled, ``internal/peermanager/peermanager.go@v0.2.0``):
    a want-block lost with a departed peer is never re-sent. True (``@f298c9b``): a session
    registers with the peer manager for each peer that sends it a block or HAVE
    (``sessionwantsender.go@f298c9b`` ``Update``); the peer's disconnect takes it out of the
    session and frees its want-blocks for the next best peer, its reconnect brings it back
    (``PeerManager.signalAvailability``)."""
    provider_counts_as_have: bool = True
    """Era knob. Whether a provider found by content routing counts as a HAVE from it, so that
    it joins the session's want sender at once (PR #275, ``Session.findMorePeers`` in
    ``internal/session/session.go@v0.2.0``). False (``@f298c9b``): the session peer manager only
    records it as a discovered peer (``peerFoundMessage`` in
    ``internal/sessionpeermanager/sessionpeermanager.go@f298c9b``), which stops the session's
    initial broadcasts; the want sender learns of the provider when it answers a want."""

    # --- session want sender (internal/session/sessionwantsender.go@v0.2.0)
    peer_dont_have_limit: int = 16
    """``peerDontHaveLimit``: a peer is pruned from the session on the 17th consecutive
    DONT_HAVE (unless it has sent HAVE for a pending want)."""
    first_responder_default_count: int = 1
    """Weight of a peer that has not delivered a block first yet (``peerResponseTracker``)."""
    prune_peers: bool = True
    """Era knob. Whether DONT_HAVEs prune peers from the session (PRs #261, #276:
    ``peerDontHaveLimit`` in ``sessionwantsender.go@v0.2.0``). False: the want sender never
    drops a peer for its DONT_HAVEs (``sessionwantsender.go@f298c9b`` has no counter), and
    ``peer_dont_have_limit`` is not used."""
    exhausted_broadcast: str = "exhausted"
    """Era knob: one of :data:`EXHAUSTED_BROADCASTS`."""

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
    debounce: str = "capped"
    """Era knob: one of :data:`DEBOUNCES`; ``trailing`` uses neither the cutoff nor the max
    delay."""

    # --- DONT_HAVE timeouts (internal/messagequeue/donthavetimeoutmgr.go@v0.2.0)
    dont_have_timeouts: bool = True
    """Era knob. Simulate a DONT_HAVE for a want-block unanswered after the timeout (the
    timeout manager, ``donthavetimeoutmgr.go``, came with PR #248 on 2020-02-12: absent at
    ``f298c9b`` and in the autumn-2019 "want potential" variant)."""
    dont_have_timeout_peers: str = "all"
    """Era knob, with ``dont_have_timeouts`` on: one of :data:`DONT_HAVE_TIMEOUT_PEERS`
    (``all`` in v0.2.0, ``legacy`` at ``f4c9702``)."""
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
        for name, allowed in _CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"poc.{name} must be one of {', '.join(allowed)}, got {value!r}")


_CHOICES = {
    "peer_choice": PEER_CHOICES,
    "dont_have_latency_source": DONT_HAVE_LATENCY_SOURCES,
    "dont_have_timeout_peers": DONT_HAVE_TIMEOUT_PEERS,
    "debounce": DEBOUNCES,
    "exhausted_broadcast": EXHAUSTED_BROADCASTS,
}
"""The text parameters and their allowed values."""


@dataclass(frozen=True)
class Poc202002Config(PocConfig):
    """go-bitswap master at ``f298c9b`` (2020-02-10, "Merge pull request #251"): the protocol
    extensions as merged (PR #189, ``86178ba``) plus the availability-signal fix (PR #247),
    i.e. v0.2.0 without the six changes merged after it (strategy ``poc-2020-02``; why this
    commit and how it differs: ``docs/poc.md``, "Eras"). Every other parameter, and the engine,
    are as in v0.2.0 (go-peertaskqueue v0.2.0 throughout)."""

    dont_have_timeouts: bool = False
    """No DONT_HAVE timeout manager yet (PR #248 came on 2020-02-12)."""
    debounce: str = "trailing"
    """``bep/debounce`` 1 ms (``internal/messagequeue/messagequeue.go@f298c9b``; PR #255 came on
    2020-02-13)."""
    prune_peers: bool = False
    """No consecutive-DONT_HAVE pruning (PR #261 came on 2020-02-14, #276 on 2020-03-06)."""
    exhausted_broadcast: str = "live"
    """Exhausted wants trigger ``handleIdleTick`` (``session.go@f298c9b``; PR #272 came on
    2020-03-02)."""
    sessions_track_connectivity: bool = True
    """Sessions register with the peer manager (``sessionwantsender.go@f298c9b``; PR #275 came
    on 2020-03-05)."""
    provider_counts_as_have: bool = False
    """A found provider is a discovered peer only (``sessionpeermanager.go@f298c9b``; PR #275)."""
