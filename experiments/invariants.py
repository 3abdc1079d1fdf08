"""Invariants every run must satisfy, checked on demand (``bitswap-sim run/sweep --check``).

:func:`check_invariants` takes a finished run (a :class:`~experiments.build.Built` and the
:class:`Start` snapshot taken before it ran) and returns the violations, one line each (empty
when all is well):

1. **Termination**: after the run, with every peer's periodic timers stopped
   (``Swarm.shutdown``), the event queue empties (within :data:`DRAIN_HORIZON_S` simulated
   seconds): nothing keeps scheduling itself for ever.
2. **Completion**: every leech whose fetch started before ``max_sim_time_s`` and that can reach
   every block of its object has completed by ``max_sim_time_s``. A block is reachable from a
   leech if some peer held it at the start and a path of connections leads from that peer to
   the leech through peers that fetch an object with that block (Bitswap never forwards a block
   a peer does not want itself). A reachable leech that is merely slow is reported too: raise
   ``max_sim_time_s`` if the scenario needs longer. Not checked when the scenario has churn,
   link or partition faults: whether a leech cut off for a while can still finish depends on
   the protocol's recovery (go-bitswap v0.2.0 sessions, for one, never hear of a disconnect),
   which is what such scenarios study; termination and conservation still hold.
3. **Conservation** (after draining what was in flight): per message kind, messages and bytes
   sent by all nodes equal those received plus those lost to a closed connection; blocks (and
   their bytes) sent equal blocks received plus blocks lost, per pair of peers, duplicates
   included.
4. **Duplicates**: per peer, duplicate blocks (bytes) received <= blocks (bytes) received.
5. **Storage**: every block in a blockstore has the size the object says and ``bytes_stored``
   is their sum (each CID stored once); a leech that completed holds every block of its object,
   and the blocks it received that were not duplicates are exactly the blocks it lacked at the
   start; a peer that fetched nothing received no block.

Determinism (two runs of one seed give identical results) is checked by the tests, and by
:func:`check_run` against a result saved by the runner.

Checking ends the run: it stops the timers and runs the simulation until nothing is left, so
read results first (:func:`run_checked` does both).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import pandas as pd
from simpy.core import StopSimulation

from experiments.build import Built, build_run
from experiments.collect import records
from experiments.scenario import Scenario
from sim.topology import reachable

__all__ = [
    "DRAIN_HORIZON_S",
    "DRAIN_MAX_EVENTS",
    "MAX_PER_CHECK",
    "Start",
    "check_invariants",
    "check_run",
    "check_runs",
    "drain",
    "run_checked",
    "snapshot",
]

DRAIN_HORIZON_S = 86_400.0
"""Simulated seconds after the run within which the event queue must empty once timers stop."""
DRAIN_MAX_EVENTS = 5_000_000
"""Events after the run within which the event queue must empty once timers stop."""

MAX_PER_CHECK = 5
"""At most this many violations of one invariant are listed (then a count of the rest)."""


@dataclass(frozen=True)
class Start:
    """What each peer's blockstore held before the run (node -> CIDs)."""

    stored: Mapping[Hashable, frozenset[int]]


def snapshot(built: Built) -> Start:
    """The blockstores of a run that has been built but not run yet."""
    if built.swarm is None:
        return Start({})
    return Start({name: frozenset(p.blockstore) for name, p in built.swarm.peers.items()})


def drain(
    built: Built, horizon_s: float = DRAIN_HORIZON_S, max_events: int = DRAIN_MAX_EVENTS
) -> bool:
    """Stop every periodic timer, then run until no event is left (at most ``horizon_s``
    simulated seconds and ``max_events`` events more). True if the event queue emptied."""
    if built.swarm is not None:
        built.swarm.shutdown()
    env = built.net.env
    deadline = env.now + horizon_s
    events = 0
    while env.peek() <= deadline and events < max_events:
        with contextlib.suppress(StopSimulation):  # a run's leftover stop marker
            env.step()
        events += 1
    return math.isinf(env.peek())


# --------------------------------------------------------------------------------- checks
class _Report:
    def __init__(self, limit: int) -> None:
        self.lines: list[str] = []
        self._limit = limit
        self._counts: dict[str, int] = {}

    def add(self, check: str, message: str) -> None:
        n = self._counts[check] = self._counts.get(check, 0) + 1
        if n <= self._limit:
            self.lines.append(f"{check}: {message}")

    def result(self) -> list[str]:
        more = [
            f"{check}: ... and {n - self._limit} more"
            for check, n in self._counts.items()
            if n > self._limit
        ]
        return self.lines + more


def check_invariants(
    built: Built,
    scenario: Scenario,
    start: Start | None = None,
    *,
    max_per_check: int = MAX_PER_CHECK,
) -> list[str]:
    """The violated invariants of a finished run (see the module docstring), one line each,
    ``invariant: message``; at most ``max_per_check`` per invariant, then a count of the rest.

    ``built`` must have run (``built.run(scenario.max_sim_time_s)``) and ``start`` be the
    :func:`snapshot` taken before it ran (``None``: rebuild the run to take it, which is
    deterministic). Drains the run (:func:`drain`) before comparing counters.
    """
    report = _Report(max_per_check)
    if start is None:
        start = snapshot(build_run(scenario, *_replicate_and_seed(built, scenario)))
    done_at_stop = _completion(built)
    stopped_at = built.net.now
    if not drain(built):
        report.add(
            "termination",
            f"events still scheduled after the run with every timer stopped (drained up to "
            f"{DRAIN_HORIZON_S:g} s and {DRAIN_MAX_EVENTS} events; next at "
            f"t = {built.net.env.peek():.6g} s)",
        )
    _check_completion(built, scenario, start, done_at_stop, stopped_at, report)
    _check_messages(built, report)
    if built.swarm is not None:
        _check_blocks(built, report)
        _check_storage(built, start, done_at_stop, report)
    else:
        _check_registry(built, report)
    return report.result()


def _replicate_and_seed(built: Built, scenario: Scenario) -> tuple[int, int]:
    rr = built.net.random
    return int(getattr(rr, "replicate", 0)), int(getattr(rr, "seed", scenario.seed))


def _completion(built: Built) -> dict[Hashable, bool]:
    """Node -> whether all its started fetches were complete when the run stopped (before
    draining): leeches only."""
    if built.swarm is not None:
        return {
            name: all(f.completed for f in p.fetches)
            for name, p in built.swarm.peers.items()
            if p.fetches
        }
    assert built.registry is not None
    frame = built.registry.client_frame()
    leeches = frame[frame["role"] == "leech"]
    return dict(zip(leeches["peer"], leeches["completed"].astype(bool), strict=True))


def _fetch_starts(scenario: Scenario) -> dict[str, tuple[str, float]]:
    """Member -> (object it fetches, when its fetch starts, seconds)."""
    out = {}
    for g in scenario.groups:
        if g.fetch is not None:
            for i, m in enumerate(g.members()):
                out[m] = (g.fetch.object, g.fetch.start_s + i * g.fetch.stagger_s)
    return out


def _reachable_leeches(built: Built, scenario: Scenario, start: Start) -> set[Hashable]:
    """Leeches that can get every block of their object: for each block, the peers that
    held it at the start, then (repeatedly) their neighbours that fetch an object with it."""
    starts = _fetch_starts(scenario)
    wants: dict[Hashable, frozenset[int]] = {
        m: frozenset(built.objects[obj].cids_in_order) for m, (obj, _) in starts.items()
    }
    holders: dict[int, set[Hashable]] = {}
    for peer, cids in start.stored.items():
        for cid in cids:
            holders.setdefault(cid, set()).add(peer)
    net = built.net
    reach: dict[Hashable, bool] = dict.fromkeys(wants, True)
    for obj in {obj for obj, _ in starts.values()}:
        fetchers = {m for m, (o, _) in starts.items() if o == obj}
        closure_of: dict[frozenset[Hashable], set[Hashable]] = {}  # blocks with one holder set
        for cid in built.objects[obj].cids_in_order:
            seeds = frozenset(holders.get(cid, ()))
            got = closure_of.get(seeds)
            if got is None:
                got = closure_of[seeds] = reachable(net.neighbors, seeds, fetchers)
            for m in fetchers - got:
                reach[m] = False
    return {m for m, ok in reach.items() if ok}


def _check_completion(
    built: Built,
    scenario: Scenario,
    start: Start,
    done_at_stop: Mapping[Hashable, bool],
    stopped_at: float,
    report: _Report,
) -> None:
    limit = scenario.max_sim_time_s
    starts = _fetch_starts(scenario)
    if any(f.kind != "slow" for f in scenario.faults):
        return  # a leech cut off by churn or a partition may rightly never finish
    if any(g.connection_manager is not None for g in scenario.groups):
        return  # a connection trimmed mid-fetch can leave a session waiting, as churn can
    if built.swarm is None:
        reachable: set[Hashable] = set(starts)  # every client is connected to the registry
    else:
        reachable = _reachable_leeches(built, scenario, start)
    for m, (obj, at) in starts.items():
        if at >= limit or m not in reachable:
            continue
        if m not in done_at_stop:
            report.add(
                "completion",
                f"{m}: its fetch of {obj!r} (start {at:g} s) had not started when the run "
                f"stopped at t = {stopped_at:g} s (max_sim_time_s = {limit:g} s)",
            )
        elif not done_at_stop[m]:
            report.add(
                "completion",
                f"{m}: fetch of {obj!r} not complete when the run stopped at t = "
                f"{stopped_at:g} s (max_sim_time_s = {limit:g} s) though every block is "
                "reachable from a holder",
            )


def _check_messages(built: Built, report: _Report) -> None:
    net = built.net
    metrics = net.node_metrics()
    if len(metrics):
        totals = metrics.groupby("kind")[
            [
                "msgs_sent",
                "msgs_received",
                "msgs_lost",
                "bytes_sent",
                "bytes_received",
                "bytes_lost",
            ]
        ].sum()
        for kind, t in totals.iterrows():
            if (
                t["msgs_sent"] != t["msgs_received"] + t["msgs_lost"]
                or t["bytes_sent"] != t["bytes_received"] + t["bytes_lost"]
            ):
                report.add(
                    "conservation",
                    f"{kind} messages: {t['msgs_sent']} sent ({t['bytes_sent']} B), "
                    f"{t['msgs_received']} received ({t['bytes_received']} B), "
                    f"{t['msgs_lost']} lost ({t['bytes_lost']} B)",
                )
    if net.messages_sent != net.messages_delivered + net.messages_lost:
        report.add(
            "conservation",
            f"network: {net.messages_sent} messages sent, {net.messages_delivered} delivered, "
            f"{net.messages_lost} lost",
        )


def _check_blocks(built: Built, report: _Report) -> None:
    assert built.swarm is not None
    peers = built.swarm.peers
    sent = sum(p.stats.blocks_sent for p in peers.values())
    received = sum(p.stats.blocks_received for p in peers.values())
    lost = sum(p.stats.blocks_lost for p in peers.values())
    sent_b = sum(p.stats.bytes_sent for p in peers.values())
    received_b = sum(p.stats.bytes_received for p in peers.values())
    lost_b = sum(p.stats.bytes_lost for p in peers.values())
    if sent != received + lost or sent_b != received_b + lost_b:
        report.add(
            "conservation",
            f"blocks: {sent} sent ({sent_b} B), {received} received ({received_b} B), "
            f"{lost} lost ({lost_b} B)",
        )
    pairs = {(src, dst) for src, p in peers.items() for dst in p.stats.blocks_to}
    pairs |= {(src, dst) for dst, p in peers.items() for src in p.stats.blocks_from}
    for src, dst in sorted(pairs, key=repr):
        n = peers[src].stats.blocks_to.get(dst, 0)
        gone = peers[src].stats.blocks_lost_to.get(dst, 0)
        got = peers[dst].stats.blocks_from.get(src, 0)
        if got + gone != n:
            report.add(
                "conservation",
                f"{src} sent {n} blocks to {dst}, which received {got} ({gone} lost)",
            )
    for name, p in peers.items():
        s = p.stats
        if s.dup_blocks_received > s.blocks_received or s.dup_bytes_received > s.bytes_received:
            report.add(
                "duplicates",
                f"{name}: {s.dup_blocks_received} duplicate blocks ({s.dup_bytes_received} B) "
                f"of {s.blocks_received} received ({s.bytes_received} B)",
            )


def _check_storage(
    built: Built, start: Start, done_at_stop: Mapping[Hashable, bool], report: _Report
) -> None:
    assert built.swarm is not None
    size_of: dict[int, int] = {}
    for dag in built.objects.values():
        size_of.update(dag.size_of)
    for name, p in built.swarm.peers.items():
        store = p.blockstore
        cids = list(store)
        total = 0
        for cid in cids:
            size = store.size_of(cid)
            total += size or 0
            if size != size_of.get(cid):
                report.add(
                    "storage", f"{name}: block {cid} stored with {size} B, not {size_of.get(cid)}"
                )
        if len(set(cids)) != len(cids) or total != store.bytes_stored:
            report.add(
                "storage",
                f"{name}: {len(cids)} blocks ({len(set(cids))} distinct) of {total} B stored, "
                f"bytes_stored says {store.bytes_stored} B",
            )
        s = p.stats
        unique = s.blocks_received - s.dup_blocks_received
        before = start.stored.get(name, frozenset())
        grown = len(store) - len(before)
        if not p.fetches:
            if s.blocks_received:
                report.add("storage", f"{name} fetched nothing but received {s.blocks_received}")
            continue
        lacked: set[int] = set()
        for f in p.fetches:
            lacked |= set(f.dag.cids_in_order) - before
        if done_at_stop.get(name):
            missing = [c for f in p.fetches for c in f.dag.cids_in_order if c not in store]
            if missing:
                report.add(
                    "storage",
                    f"{name}: fetch complete but {len(missing)} blocks of its object are not in "
                    "its blockstore",
                )
            if unique != len(lacked) or grown != len(lacked):
                report.add(
                    "storage",
                    f"{name}: lacked {len(lacked)} blocks at the start, received {unique} "
                    f"non-duplicate blocks, stored {grown} new blocks",
                )
        elif grown > unique:
            report.add(
                "storage",
                f"{name}: stored {grown} new blocks but received only {unique} non-duplicates",
            )


def _check_registry(built: Built, report: _Report) -> None:
    assert built.registry is not None
    frame = built.registry.client_frame()
    received = int(frame["blocks_received"].sum())
    if built.registry.blobs_sent != received:
        report.add(
            "conservation",
            f"registry: {built.registry.blobs_sent} blobs sent, {received} received",
        )


# --------------------------------------------------------------------------------- runs
def run_checked(
    spec: Any, *, max_per_check: int = MAX_PER_CHECK
) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """Run one :class:`~experiments.runner.RunSpec` and check it: ``(row, peers,
    violations)``. ``row`` and ``peers`` are what :func:`~experiments.runner.run_one` returns
    for it (``wall_s`` aside), read before the checks drain the run."""
    from experiments.runner import collect

    scenario: Scenario = spec.scenario
    wall = time.perf_counter()
    built = build_run(scenario, spec.replicate, spec.seed)
    start = snapshot(built)
    built.run(scenario.max_sim_time_s)
    wall = time.perf_counter() - wall
    row, frame, _ = collect(spec, built, wall)
    violations = check_invariants(built, scenario, start, max_per_check=max_per_check)
    return row, records(frame), violations


def check_run(spec: Any, saved: Mapping[str, Any] | None = None) -> list[str]:
    """The violations of one run, each prefixed with its run id. With ``saved`` (the run's
    row as the runner saved it), a row that differs from it (``wall_s`` aside) is one too:
    the same spec must give the same result."""
    row, _, violations = run_checked(spec)
    if saved is not None:
        differ = [k for k in row if k in saved and k != "wall_s" and not _same(row[k], saved[k])]
        if differ:
            violations.append(
                "determinism: differs from the saved result in "
                + ", ".join(f"{k} ({row[k]!r} vs {saved[k]!r})" for k in differ[:3])
            )
    return [f"{spec.run_id}: {v}" for v in violations]


def _same(a: Any, b: Any) -> bool:
    if _isnan(a) and _isnan(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def check_runs(
    specs: Sequence[Any],
    executor: Executor | None = None,
    saved: pd.DataFrame | None = None,
) -> list[str]:
    """:func:`check_run` every spec (on ``executor``, else here); all violations, in spec
    order. ``saved``: the ``runs`` table the runner produced for them, to compare against."""
    rows: dict[str, Mapping[str, Any]] = {}
    if saved is not None and len(saved):
        rows = {r["run_id"]: r for r in records(saved)}
    args = [(s, rows.get(s.run_id)) for s in specs]
    results: Iterable[list[str]]
    if executor is None:
        results = (check_run(s, r) for s, r in args)
    else:
        results = executor.map(check_run, [s for s, _ in args], [r for _, r in args])
    return [v for vs in results for v in vs]
