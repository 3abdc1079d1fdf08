"""Protocol benchmarks: the headline, a scaling series, a parallel sweep and a 1,000-peer swarm.

Each measured run executes in a fresh worker process, so its peak resident memory is its own
(``ru_maxrss``, which includes the interpreter and the imported libraries, about 150 MB). A
"protocol entry" is one wantlist entry, block or block presence sent (want-block, want-have,
cancel, HAVE, DONT_HAVE, block): the unit of work the protocol itself creates.
"""

from __future__ import annotations

import copy
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from experiments.build import build_run
from experiments.scenario import Scenario, parse_scenario, preset_raw, set_path

__all__ = [
    "bench_headline",
    "bench_hosts",
    "bench_scaling",
    "bench_swarm",
    "bench_sweep",
    "measure",
    "measure_scenario",
    "swarm_preset",
]

ENTRY_KINDS = ("want-block", "want-have", "cancel", "have", "dont-have", "block")


def _preset(
    strategy: str, leeches: int | None, layers: list[str] | None, host: str | None = None
) -> Scenario:
    """The headline preset for one strategy. ``host=None``: the ideal host with every
    strategy's default configuration, the headline as it stood before host presets, so that
    the ``headline`` and ``scaling`` parts compare across versions; a preset name: the shipped
    preset (master v0.1.8's engine) on that host."""
    raw = preset_raw("container-image.toml")
    raw.pop("sweep", None)
    if host is None:
        raw.pop("strategy", None)
        set_path(raw, "defaults.host", "ideal")
    else:
        set_path(raw, "defaults.host", host)
    set_path(raw, "defaults.strategy", strategy)
    if leeches is not None:
        set_path(raw, "groups.leeches.count", leeches)
    if layers is not None:
        set_path(raw, "objects.image.layers", layers)
    raw["replications"] = 1
    return parse_scenario(raw, source="container-image.toml (bench)")


def _measure(scenario: Scenario, replicate: int) -> dict[str, Any]:
    built = build_run(scenario, replicate)
    t0 = time.perf_counter()
    c0 = time.process_time()
    built.run(scenario.max_sim_time_s)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    entries = {k: 0 for k in ENTRY_KINDS}
    assert built.swarm is not None
    for peer in built.swarm.peers.values():
        for kind, n in peer.stats.entries_sent.items():
            if kind in entries:
                entries[kind] += n
    events = built.net.events_scheduled()
    makespan = built.swarm.makespan_s
    total = sum(entries.values())
    messages = built.net.messages_delivered
    sent = built.net.node_metrics().groupby("kind")["msgs_sent"].sum()
    return {
        "wall_s": wall,
        "makespan_s": makespan,
        "slowdown": wall / makespan if makespan else None,
        "events": events,
        "events_per_s": events / wall,
        "messages": messages,
        "messages_by_kind": {str(k): int(n) for k, n in sent.items()},
        "wall_s_per_message": wall / messages if messages else None,
        "entries": entries,
        "entries_total": total,
        "entries_per_s": total / wall,
        "wall_s_per_entry": wall / total if total else None,
        "cpu_s": cpu,
        "cpu_s_per_entry": cpu / total if total else None,
        "peers": len(built.swarm.peers),
        "completed": built.swarm.makespan_s is not None,
        "dialled": built.swarm.dialled,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(
    strategy: str,
    leeches: int | None = None,
    layers: list[str] | None = None,
    replicate: int = 0,
    host: str | None = None,
) -> dict[str, Any]:
    """One run of the headline preset (optionally resized; ``host``: see :func:`_preset`) in a
    fresh process."""
    scenario = _preset(strategy, leeches, layers, host)
    with ProcessPoolExecutor(max_workers=1) as pool:
        result = pool.submit(_measure, scenario, replicate).result()
    result |= {"strategy": strategy, "leeches": scenario.groups[1].count, "host": host or "ideal"}
    return result


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    runs = sorted(runs, key=lambda r: r["wall_s"])
    out = copy.deepcopy(runs[len(runs) // 2])
    out["wall_s_all"] = [r["wall_s"] for r in runs]
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return out


def bench_headline(repeats: int = 3, quick: bool = False) -> dict[str, Any]:
    """The headline preset (300 MiB image, 32 leeches) under master and poc; median of runs.
    ``quick``: 8 leeches and a 40 MiB image."""
    leeches, layers = (8, ["10 MiB"] * 4) if quick else (None, None)
    return {
        strategy: _median_run([measure(strategy, leeches, layers) for _ in range(repeats)])
        for strategy in ("master", "poc")
    }


HOSTS_COMPARED = ("ideal", "p2plab-2020")
"""The host presets the ``hosts`` part compares: no host costs, and the 2020 preset."""


def bench_hosts(repeats: int = 3, quick: bool = False) -> dict[str, Any]:
    """The shipped headline preset (300 MiB, 32 leeches; ``quick``: 8 leeches and a 40 MiB
    image) under master and poc-potential, on the ideal host and on the 2020 preset: what the
    host model costs the simulator. Host costs change the protocol's traffic (a busy host
    spaces blocks out, so cancels and HAVEs batch differently), so the wall time per message
    isolates the model's own overhead and the total wall time says what a user waits."""
    leeches, layers = (8, ["10 MiB"] * 4) if quick else (None, None)
    out: dict[str, Any] = {}
    for strategy in ("master", "poc-potential"):
        runs = {
            host: _median_run(
                [measure(strategy, leeches, layers, host=host) for _ in range(repeats)]
            )
            for host in HOSTS_COMPARED
        }
        base, costed = (runs[h] for h in HOSTS_COMPARED)
        out[strategy] = {
            "runs": runs,
            "wall_ratio": costed["wall_s"] / base["wall_s"],
            "messages_ratio": costed["messages"] / base["messages"],
            "wall_per_message_ratio": costed["wall_s_per_message"] / base["wall_s_per_message"],
        }
    return out


SCALING_LEECHES = {"master": (8, 16, 32, 64, 128), "poc": (8, 16, 32, 64, 128)}
"""Swarm sizes of the scaling series. poc's want-have / HAVE / cancel traffic grows with
peers x blocks: 23 million entries at 128 leeches, about 5 minutes a run, so the poc series
takes most of the benchmark's time. ``bitswap-sim bench scaling --leeches`` runs other sizes."""


def bench_scaling(
    repeats: int = 3,
    quick: bool = False,
    leeches: dict[str, tuple[int, ...]] | None = None,
) -> dict[str, Any]:
    """Wall seconds per protocol entry as the swarm grows, on a 100 MiB image (``quick``: a
    20 MiB image and, unless ``leeches`` says otherwise, 4, 8, 16 leeches). ``leeches``: the
    swarm sizes per strategy (default :data:`SCALING_LEECHES`)."""
    layers = ["5 MiB"] * 4 if quick else ["25 MiB"] * 4
    if leeches is not None:
        sizes = dict(leeches)
    elif quick:
        sizes = {s: (4, 8, 16) for s in SCALING_LEECHES}
    else:
        sizes = dict(SCALING_LEECHES)
    out: dict[str, Any] = {}
    for strategy, series_sizes in sizes.items():
        series = []
        for n in series_sizes:
            series.append(_median_run([measure(strategy, n, layers) for _ in range(repeats)]))
        per_entry = [r["wall_s_per_entry"] for r in series]
        base = per_entry[0]
        out[strategy] = {
            "series": series,
            "wall_s_per_entry": per_entry,
            "relative_to_smallest": [p / base for p in per_entry],
        }
    return out


def bench_sweep(repeats: int = 3, quick: bool = False) -> dict[str, Any]:
    """A 16-run sweep (master and poc x 8 replicates, 8 leeches, a 20 MiB image) on one
    worker and on two: the parallel speed-up."""
    from experiments.runner import execute, plan

    raw = preset_raw("container-image.toml")
    set_path(raw, "groups.leeches.count", 4 if quick else 8)
    set_path(raw, "objects.image.layers", ["2 MiB"] * 4 if quick else ["5 MiB"] * 4)
    raw["sweep"] = {"defaults.strategy": ["master", "poc"]}
    raw["replications"] = 8
    specs = plan(parse_scenario(raw, source="container-image.toml (sweep bench)"))
    timings: dict[str, list[float]] = {"1": [], "2": []}
    for _ in range(repeats):
        for workers in (1, 2):
            t0 = time.perf_counter()
            with ProcessPoolExecutor(max_workers=workers) as pool:
                execute(specs, executor=pool)
            timings[str(workers)].append(time.perf_counter() - t0)
    one = statistics.median(timings["1"])
    two = statistics.median(timings["2"])
    return {"runs": len(specs), "wall_s_1": one, "wall_s_2": two, "speedup": one / two,
            "wall_s_all": timings}  # fmt: skip


SWARM_QUICK = {
    "groups.seeds.count": 2,
    "groups.leeches.count": 10,
    "groups.peers.count": 88,
    "objects.file.size": "4 MiB",
}
"""``bench swarm --quick``: the preset at a tenth of its peers, a 4 MiB file."""


def swarm_preset(strategy: str, quick: bool = False) -> Scenario:
    """``scenarios/swarm-1000.toml`` under ``strategy`` (``quick``: :data:`SWARM_QUICK`)."""
    raw = preset_raw("swarm-1000.toml")
    raw.pop("sweep", None)
    set_path(raw, "defaults.strategy", strategy)
    for key, value in (SWARM_QUICK if quick else {}).items():
        set_path(raw, key, value)
    raw["replications"] = 1
    return parse_scenario(raw, source="swarm-1000.toml (bench)")


def measure_scenario(scenario: Scenario, replicate: int = 0) -> dict[str, Any]:
    """One run of ``scenario`` in a fresh process (as :func:`measure`)."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        result = pool.submit(_measure, scenario, replicate).result()
    result |= {"strategy": scenario.strategy_label}
    return result


def bench_swarm(repeats: int = 3, quick: bool = False) -> dict[str, Any]:
    """The 1,000-peer preset (``swarm-1000.toml``: random 8-regular graph, 10 seeds, 100
    leeches, 100 MiB, DHT) under master and poc, next to the 8-leech full mesh on a 100 MiB
    image (the scaling series' first point, run interleaved with it): medians of ``repeats``
    runs, and the swarm's cost per protocol entry relative to the full mesh's, in wall and in
    CPU seconds (CPU time is steadier on a shared machine). ``quick``: :data:`SWARM_QUICK` and
    a 4 MiB image."""
    layers = ["1 MiB"] * 4 if quick else ["25 MiB"] * 4
    out: dict[str, Any] = {}
    for strategy in ("master", "poc"):
        mesh, swarm = [], []
        for _ in range(repeats):  # interleaved: the machine's speed drifts
            mesh.append(measure(strategy, 8, layers))
            swarm.append(measure_scenario(swarm_preset(strategy, quick)))
        m, s = _median_run(mesh), _median_run(swarm)
        out[strategy] = {
            "swarm": s,
            "mesh": m,
            "relative_wall_per_entry": s["wall_s_per_entry"] / m["wall_s_per_entry"],
            "relative_cpu_per_entry": s["cpu_s_per_entry"] / m["cpu_s_per_entry"],
        }
    return out
