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
from dataclasses import fields, replace
from typing import Any

from experiments.build import build_run
from experiments.hosts import PRESETS, HostPreset
from experiments.scenario import Scenario, parse_scenario, preset_raw, set_path
from experiments.scenario.load_hosts import host_dict

__all__ = [
    "bench_headline",
    "bench_hosts",
    "bench_scaling",
    "bench_swarm",
    "bench_sweep",
    "measure",
    "measure_scenario",
    "negligible_host",
    "swarm_preset",
]

ENTRY_KINDS = ("want-block", "want-have", "cancel", "have", "dont-have", "block")


def _preset(
    strategy: str, leeches: int | None, layers: list[str] | None, host: str | None = None
) -> Scenario:
    """The headline preset for one strategy. ``host=None``: the ideal host with every
    strategy's default configuration, the headline as it stood before host presets, so that
    the ``headline`` and ``scaling`` parts compare across versions; a preset name (or
    :data:`NEGLIGIBLE`): the shipped preset (master v0.1.8's engine) on that host."""
    raw = preset_raw("container-image.toml")
    raw.pop("sweep", None)
    if host is None:
        raw.pop("strategy", None)
        set_path(raw, "defaults.host", "ideal")
    else:
        if host == NEGLIGIBLE:
            raw.setdefault("hosts", {})[NEGLIGIBLE] = host_dict(
                negligible_host(PRESETS[NEGLIGIBLE_OF], NEGLIGIBLE)
            )
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


NEGLIGIBLE_OF = "p2plab-2020"
"""The preset whose costs the ``hosts`` part also runs scaled down to nothing."""
NEGLIGIBLE_FACTOR = 1e-6
"""How much the negligible host scales every cost: times x 1e-6 (at least 1 ns, the shortest
duration a scenario takes), rates / 1e-6. Its costs are then nanoseconds, five orders of
magnitude below the headline's latencies."""
NEGLIGIBLE = f"{NEGLIGIBLE_OF} x{NEGLIGIBLE_FACTOR:g}"
"""The name of that scaled-down host (a custom host of the benchmark's scenario)."""
HOSTS_COMPARED = ("ideal", NEGLIGIBLE, NEGLIGIBLE_OF)
"""The hosts the ``hosts`` part compares: no host costs; the 2020 preset's host model doing
all its work at negligible cost (the ideal host's traffic); the 2020 preset."""


def negligible_host(preset: HostPreset, name: str, factor: float = NEGLIGIBLE_FACTOR) -> HostPreset:
    """``preset`` with every time (seconds) multiplied and every rate (bytes/s, operations/s)
    divided by ``factor``, cores unchanged. The host model then does all its work, every
    cipher lane, disk operation and processing event, but its costs (nanoseconds) are too
    small to change what the protocol does: against ``ideal`` it measures the simulator's own
    overhead on the same traffic."""

    def scaled(obj: Any) -> Any:
        changes: dict[str, float] = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if f.name.endswith("_s"):
                # a scenario takes no duration between 0 and 1 ns
                changes[f.name] = max(value * factor, 1e-9) if value else 0.0
            elif f.name.endswith(("_Bps", "_iops")):
                changes[f.name] = value / factor
        return replace(obj, **changes)

    spec = replace(scaled(preset.spec), name=name, disk=scaled(preset.spec.disk))
    return replace(
        preset,
        name=name,
        spec=spec,
        work=scaled(preset.work),
        summary=f"{preset.name} with every cost scaled by {factor:g} (benchmark)",
        figures=(),
    )


def bench_hosts(repeats: int = 3, quick: bool = False) -> dict[str, Any]:
    """The shipped headline preset (300 MiB, 32 leeches; ``quick``: 8 leeches and a 40 MiB
    image) under master and poc-potential on each of :data:`HOSTS_COMPARED`, the hosts
    interleaved in each repeat: what the host model costs the simulator.

    Two ratios against ``ideal``: the negligible host's (``machinery_*``) is the host model's
    own overhead on the ideal host's traffic; the 2020 preset's (``wall_ratio`` ...) is what a
    user waits, which also counts what the protocol does differently on a slow host (a busy
    host spaces blocks out, so cancels and HAVEs batch differently, and master runs longer)."""
    leeches, layers = (8, ["10 MiB"] * 4) if quick else (None, None)
    out: dict[str, Any] = {}
    for strategy in ("master", "poc-potential"):
        samples: dict[str, list[dict[str, Any]]] = {h: [] for h in HOSTS_COMPARED}
        for _ in range(repeats):
            for host in HOSTS_COMPARED:
                samples[host].append(measure(strategy, leeches, layers, host=host))
        runs = {host: _median_run(samples[host]) for host in HOSTS_COMPARED}
        base, machinery, costed = (runs[h] for h in HOSTS_COMPARED)
        out[strategy] = {
            "runs": runs,
            "machinery_wall_ratio": machinery["wall_s"] / base["wall_s"],
            "machinery_messages_ratio": machinery["messages"] / base["messages"],
            "machinery_wall_per_message_ratio": (
                machinery["wall_s_per_message"] / base["wall_s_per_message"]
            ),
            "wall_ratio": costed["wall_s"] / base["wall_s"],
            "messages_ratio": costed["messages"] / base["messages"],
            "wall_per_message_ratio": costed["wall_s_per_message"] / base["wall_s_per_message"],
            "events_per_message": {
                h: r["events"] / r["messages"] for h, r in runs.items() if r["messages"]
            },
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
