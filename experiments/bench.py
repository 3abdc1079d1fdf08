"""Benchmarks (never timed tests): how fast the simulator runs on this machine.

Parts (``bitswap-sim bench [PART ...]``, all by default):

* ``substrate``: the network substrate alone: messages delivered per wall-clock second on a
  64-node full mesh with random traffic, next to a bare SimPy timeout loop measured in the same
  process, so the ratio says how much work the substrate adds per message.
* ``headline``: the headline preset (300 MiB image, 32 leeches) under master and under poc on
  the ideal host with each strategy's defaults (the preset as it stood before host presets, so
  figures compare across versions): wall seconds, simulated makespan, slowdown, events and
  protocol entries per wall second, peak resident memory (:mod:`experiments.bench_runs`).
* ``hosts``: the shipped headline preset under master and poc-potential on the ideal host, on
  the 2020 host preset with every cost scaled to nothing (the host model's own overhead on the
  ideal host's traffic) and on the 2020 preset: wall time, messages, events and wall time per
  message, each against the ideal host.
* ``scaling``: wall seconds per protocol entry from 8 to 128 leeches on a 100 MiB image.
* ``sweep``: a 16-run sweep on one worker and on two.
* ``swarm``: the 1,000-peer preset (``swarm-1000.toml``) under master and poc, next to the
  8-leech full mesh: wall and CPU seconds, events, entries, peak memory, cost per entry.

Figures are medians over ``--repeats`` runs (3 by default).
"""

from __future__ import annotations

import functools
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import simpy

from sim import RegionMatrixLatency, RunRandom, build_network, full_mesh, gbit

__all__ = [
    "bare_simpy_events_per_s",
    "bench_substrate",
    "machine_info",
    "median_of",
    "run_parts",
    "substrate_messages_per_s",
]

CONTROL_BYTES = 48
"""A small control message (about one wantlist entry on the wire)."""
BLOCK_BYTES = 262_158
"""A 256 KiB unixfs leaf block on the wire."""
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


def bare_simpy_events_per_s(n_events: int = 300_000) -> float:
    """Timeout events per wall second of a bare ``yield env.timeout()`` loop: the ceiling."""
    env = simpy.Environment()

    def loop(env: simpy.Environment):
        timeout = env.timeout
        for _ in range(n_events):
            yield timeout(1e-6)

    env.process(loop(env))
    t0 = time.perf_counter()
    env.run()
    return n_events / (time.perf_counter() - t0)


def substrate_messages_per_s(
    n_messages: int = 200_000,
    *,
    transport: str = "fifo",
    n_nodes: int = 64,
    block_share: float = 0.2,
    messages_per_ms: int = 40,
    seed: int = 1,
) -> dict[str, Any]:
    """Deliver ``n_messages`` random messages on a full mesh of ``n_nodes`` peers.

    Peers sit in three AWS regions (region-matrix latency), upload and download 1 Gbit/s. A
    feeder sends ``messages_per_ms`` messages every simulated millisecond between random
    pairs; ``block_share`` of them are 256 KiB blocks, the rest 48 B control messages.
    Returns wall seconds, messages delivered per wall second and SimPy events processed.
    """
    rr = RunRandom(seed)
    names = [f"p{i}" for i in range(n_nodes)]
    graph = full_mesh(
        {n: {"region": REGIONS[i % len(REGIONS)]} for i, n in enumerate(names)},
        upload_Bps=gbit(1),
        download_Bps=gbit(1),
    )
    net = build_network(graph, transport=transport, latency=RegionMatrixLatency(), seed=rr)
    rng = rr.stream("workload")
    src = rng.integers(0, n_nodes, n_messages)
    dst = (src + rng.integers(1, n_nodes, n_messages)) % n_nodes
    sizes = [BLOCK_BYTES if b else CONTROL_BYTES for b in rng.random(n_messages) < block_share]
    kinds = ["block" if s == BLOCK_BYTES else "control" for s in sizes]
    pairs = [(names[s], names[d]) for s, d in zip(src.tolist(), dst.tolist(), strict=True)]
    delivered = [0]

    def on_receive(_src: object, _msg: object) -> None:
        delivered[0] += 1

    for n in names:
        net.on_receive(n, on_receive)
    send = net.send
    state = {"next": 0}

    def feed(_event: object) -> None:
        i = state["next"]
        j = min(i + messages_per_ms, n_messages)
        for k in range(i, j):
            a, b = pairs[k]
            send(a, b, None, sizes[k], kinds[k])
        state["next"] = j
        if j < n_messages:
            net.call_at(0.001, feed, None)

    net.call_at(0.0, feed, None)
    env = net.env
    events = 0
    t0 = time.perf_counter()
    step = env.step
    try:
        while True:
            step()
            events += 1
    except simpy.core.EmptySchedule:
        pass
    wall = time.perf_counter() - t0
    return {
        "transport": transport,
        "messages": delivered[0],
        "wall_s": wall,
        "messages_per_s": delivered[0] / wall,
        "events": events,
        "events_per_message": events / delivered[0],
        "sim_time_s": env.now,
    }


def median_of(repeats: int, fn: Callable[[], dict[str, Any]], key: str) -> dict[str, Any]:
    """Run ``fn`` ``repeats`` times; the run whose ``key`` is the median, plus all values."""
    runs = [fn() for _ in range(repeats)]
    runs.sort(key=lambda r: r[key])
    chosen = dict(runs[len(runs) // 2])
    chosen[f"{key}_all"] = [r[key] for r in runs]
    return chosen


def bench_substrate(repeats: int = 3, n_messages: int = 200_000) -> dict[str, Any]:
    """The ``substrate`` part: bare SimPy ceiling and substrate throughput per transport."""
    bare = statistics.median(bare_simpy_events_per_s() for _ in range(repeats))
    out: dict[str, Any] = {"bare_simpy_events_per_s": bare, "transports": {}}
    # fair reallocates on every start and end (O(active transfers)): give it a quarter.
    sizes = {"fifo": n_messages, "go-testnet": n_messages, "fair": n_messages // 4}
    for transport, n in sizes.items():
        res = median_of(
            repeats,
            functools.partial(substrate_messages_per_s, n, transport=transport),
            "messages_per_s",
        )
        res["ratio_to_bare"] = bare / res["messages_per_s"]
        out["transports"][transport] = res
    return out


def machine_info() -> dict[str, str]:
    """Where a figure was measured."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "simpy": simpy.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _print_substrate(res: dict[str, Any]) -> None:
    bare = res["bare_simpy_events_per_s"]
    print(f"bare SimPy timeout loop: {bare:,.0f} events/s")
    print(f"{'transport':<12}{'messages/s':>14}{'events/msg':>12}{'bare / msgs':>13}")
    for name, r in res["transports"].items():
        print(
            f"{name:<12}{r['messages_per_s']:>14,.0f}{r['events_per_message']:>12.2f}"
            f"{r['ratio_to_bare']:>12.1f}x"
        )


def _print_headline(res: dict[str, Any]) -> None:
    print(
        f"{'strategy':<9}{'wall s':>9}{'makespan s':>12}{'slowdown':>10}{'events/s':>11}"
        f"{'entries/s':>11}{'entries':>10}{'messages':>10}{'us/msg':>8}{'peak MB':>9}"
    )
    for strategy, r in res.items():
        print(
            f"{strategy:<9}{r['wall_s']:>9.2f}{r['makespan_s']:>12.3f}{r['slowdown']:>10.1f}"
            f"{r['events_per_s']:>11,.0f}{r['entries_per_s']:>11,.0f}{r['entries_total']:>10,}"
            f"{r['messages']:>10,}{r['wall_s_per_message'] * 1e6:>8.1f}{r['peak_rss_mb']:>9.0f}"
        )


def _print_hosts(res: dict[str, Any]) -> None:
    print(
        f"{'strategy':<14}{'host':<20}{'wall s':>9}{'makespan s':>12}{'messages':>11}"
        f"{'events/msg':>11}{'us/msg':>8}{'peak MB':>9}"
    )
    for strategy, r in res.items():
        for host, run in r["runs"].items():
            print(
                f"{strategy:<14}{host:<20}{run['wall_s']:>9.2f}{run['makespan_s']:>12.3f}"
                f"{run['messages']:>11,}{run['events'] / run['messages']:>11.2f}"
                f"{run['wall_s_per_message'] * 1e6:>8.1f}{run['peak_rss_mb']:>9.0f}"
            )
        print(
            f"{strategy:<14}host model's overhead (negligible costs / ideal): wall "
            f"{r['machinery_wall_ratio']:.2f}x, messages {r['machinery_messages_ratio']:.2f}x, "
            f"wall per message {r['machinery_wall_per_message_ratio']:.2f}x"
        )
        print(
            f"{strategy:<14}2020 preset / ideal: wall {r['wall_ratio']:.2f}x, messages "
            f"{r['messages_ratio']:.2f}x, wall per message {r['wall_per_message_ratio']:.2f}x"
        )


def _print_scaling(res: dict[str, Any]) -> None:
    for strategy, r in res.items():
        print(f"{strategy}: leeches, wall s, entries, us per entry, relative to the smallest")
        for row, rel in zip(r["series"], r["relative_to_smallest"], strict=True):
            print(
                f"  {row['leeches']:>5}{row['wall_s']:>9.2f}{row['entries_total']:>11,}"
                f"{row['wall_s_per_entry'] * 1e6:>9.1f}{rel:>8.2f}"
                f"  peak {row['peak_rss_mb']:.0f} MB"
            )


def _print_sweep(res: dict[str, Any]) -> None:
    print(
        f"{res['runs']} runs: 1 worker {res['wall_s_1']:.2f} s, 2 workers {res['wall_s_2']:.2f} s, "
        f"speed-up {res['speedup']:.2f}x"
    )


def _print_swarm(res: dict[str, Any]) -> None:
    print(
        f"{'strategy':<9}{'run':<16}{'wall s':>8}{'cpu s':>8}{'events':>10}{'entries':>11}"
        f"{'us/entry':>9}{'cpu us/e':>9}{'peak MB':>9}{'makespan':>9}"
    )
    for strategy, r in res.items():
        for name, run in (("swarm-1000", r["swarm"]), ("8-leech mesh", r["mesh"])):
            print(
                f"{strategy:<9}{name:<16}{run['wall_s']:>8.2f}{run['cpu_s']:>8.2f}"
                f"{run['events']:>10,}{run['entries_total']:>11,}"
                f"{run['wall_s_per_entry'] * 1e6:>9.1f}{run['cpu_s_per_entry'] * 1e6:>9.1f}"
                f"{run['peak_rss_mb']:>9.0f}{run['makespan_s'] or float('nan'):>9.3f}"
            )
        print(
            f"{strategy}: cost per entry, swarm / mesh: {r['relative_wall_per_entry']:.2f} (wall), "
            f"{r['relative_cpu_per_entry']:.2f} (cpu)"
        )


def _headline(repeats: int = 3, n_messages: int | None = None, quick: bool = False) -> Any:
    from experiments.bench_runs import bench_headline

    return bench_headline(repeats, quick)


def _scaling(
    repeats: int = 3,
    n_messages: int | None = None,
    quick: bool = False,
    leeches: tuple[int, ...] | None = None,
) -> Any:
    from experiments.bench_runs import SCALING_LEECHES, bench_scaling

    sizes = None if leeches is None else {strategy: leeches for strategy in SCALING_LEECHES}
    return bench_scaling(repeats, quick, sizes)


def _hosts(repeats: int = 3, n_messages: int | None = None, quick: bool = False) -> Any:
    from experiments.bench_runs import bench_hosts

    return bench_hosts(repeats, quick)


def _sweep(repeats: int = 3, n_messages: int | None = None, quick: bool = False) -> Any:
    from experiments.bench_runs import bench_sweep

    return bench_sweep(repeats, quick)


def _swarm(repeats: int = 3, n_messages: int | None = None, quick: bool = False) -> Any:
    from experiments.bench_runs import bench_swarm

    return bench_swarm(repeats, quick)


def _substrate(repeats: int = 3, n_messages: int | None = None, quick: bool = False) -> Any:
    return bench_substrate(repeats, n_messages or (20_000 if quick else 200_000))


PARTS: dict[str, tuple[Callable[..., Any], Callable[[dict[str, Any]], None]]] = {
    "substrate": (_substrate, _print_substrate),
    "headline": (_headline, _print_headline),
    "hosts": (_hosts, _print_hosts),
    "scaling": (_scaling, _print_scaling),
    "sweep": (_sweep, _print_sweep),
    "swarm": (_swarm, _print_swarm),
}
"""Benchmark parts by name: (measure, print)."""


def run_parts(
    parts: list[str],
    *,
    repeats: int = 3,
    quick: bool = False,
    leeches: tuple[int, ...] | None = None,
) -> dict[str, Any]:
    """Run the named parts, print each table, return the JSON-able report. ``leeches``: the
    swarm sizes of the scaling series, for both strategies (default
    :data:`~experiments.bench_runs.SCALING_LEECHES`)."""
    report: dict[str, Any] = {"machine": machine_info()}
    for part in parts:
        measure, show = PARTS[part]
        print(f"== {part}", flush=True)
        extra = {"leeches": leeches} if part == "scaling" and leeches is not None else {}
        report[part] = measure(repeats=repeats, quick=quick, **extra)
        show(report[part])
    return report
