"""How the headline moves over what the blog does not say: ``reproduce``'s sensitivity table.

The headline preset (``container-image.toml``) fixes three things the blog post does not give:
each node's bandwidth (10 Gbit/s), its host (the ``p2plab-2020`` preset) and, for go-bitswap
v0.2.0's poc, the latency its DONT_HAVE timeout takes for a peer (``rtt``). This module varies
each one at a time around those values, all else equal and on the same seed (common random
numbers), and reports the strategies' mean time to fetch, their ratio and the duplicate rate:

* ``bandwidth``: 1, 2, 5 and 10 Gbit/s up and down per node (and the registry's uplink), on the
  2020 host: master, poc-potential, the registry baseline;
* ``host``: ``ideal`` (no host costs), ``p2plab-2020-fast``, ``p2plab-2020``,
  ``p2plab-2020-slow`` (every ranged number of the 2020 preset at the end of its range that
  makes the host fastest, or slowest: the envelope of what its sources allow), ``modern``, at
  10 Gbit/s: master and poc-potential (the registry baseline has no host model);
* ``dont_have_latency``: ``rtt``, ``one-way``, ``unknown`` (5 s) for poc v0.2.0, the only
  strategy here with DONT_HAVE timeouts (``internal/messagequeue/donthavetimeoutmgr.go@v0.2.0``),
  against master on the same network and host.

One run per point. At the full size a poc run of 32 leeches takes minutes, so ``reproduce``
runs the grid on a smaller image (:data:`SIZES`) and says so; the ratios it shows are that
size's, which docs/model.md compares with the full-size headline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.runner import RunSpec, plan
from experiments.scenario import parse_scenario, preset_raw, set_path

__all__ = [
    "AXES",
    "BLOG_RATIO",
    "SIZES",
    "Point",
    "format_table",
    "points",
    "sensitivity_figure",
    "sensitivity_specs",
    "sensitivity_table",
]

BASELINE: dict[str, Any] = {"bandwidth": 10, "host": "p2plab-2020", "dont_have_latency": "rtt"}
"""The headline preset's values of the three unknowns (Gbit/s, host preset, latency source)."""

AXES: dict[str, tuple[Any, ...]] = {
    "bandwidth": (1, 2, 5, 10),
    "host": ("ideal", "p2plab-2020-fast", "p2plab-2020", "p2plab-2020-slow", "modern"),
    "dont_have_latency": ("rtt", "one-way", "unknown"),
}
"""Each unknown's values (bandwidth in Gbit/s per node, up and down)."""

AXIS_LABELS = {
    "bandwidth": "bandwidth per node (Gbit/s)",
    "host": "host preset",
    "dont_have_latency": "DONT_HAVE timeout latency (poc v0.2.0)",
}

STRATEGIES: dict[str, tuple[str, ...]] = {
    "bandwidth": ("master", "poc-potential", "registry"),
    "host": ("master", "poc-potential"),
    "dont_have_latency": ("master", "poc"),
}
"""Who runs on each axis; the poc of each axis is the last non-registry strategy."""

BLOG_RATIO = 3.16 / 9.08
"""The blog's poc/master mean time to fetch (2020-02-14)."""

SIZES: dict[str, dict[str, Any]] = {
    "quarter": {
        "groups.leeches.count": 32,
        "objects.image.layers": ["8 MiB", "25 MiB", "30 MiB", "12 MiB"],
    },
    "quick": {
        "groups.leeches.count": 8,
        "objects.image.layers": ["10 MiB", "20 MiB", "20 MiB", "10 MiB"],
    },
    "full": {},
}
"""Grid sizes: ``quarter`` (the headline's 32 leeches and 4 seeds, a 75 MiB image in the same
four layers), ``quick`` (8 leeches, 60 MiB, as ``reproduce --quick``), ``full`` (the preset)."""


@dataclass(frozen=True)
class Point:
    """One run of the grid: a strategy at one value of each unknown."""

    strategy: str
    bandwidth: int
    host: str
    dont_have_latency: str

    @property
    def run_name(self) -> str:
        return (
            f"sensitivity-{self.strategy}-{self.bandwidth}gbit-{self.host}-{self.dont_have_latency}"
        )


def _point(strategy: str, axis: str, value: Any) -> Point:
    """``strategy`` at the baseline but for ``axis = value``. Only poc v0.2.0 has DONT_HAVE
    timeouts, so the others keep the baseline's latency source (one run serves them all)."""
    settings = BASELINE | {axis: value}
    if strategy != "poc":
        settings["dont_have_latency"] = BASELINE["dont_have_latency"]
    return Point(strategy=strategy, **settings)


def points() -> Iterator[tuple[str, Any, Point]]:
    """``(axis, value, point)`` for every axis value and strategy (the baseline recurs)."""
    for axis, values in AXES.items():
        for value in values:
            for strategy in STRATEGIES[axis]:
                yield axis, value, _point(strategy, axis, value)


def _scenario_raw(point: Point, size: str) -> dict[str, Any]:
    raw = preset_raw("container-image.toml")
    raw.pop("sweep", None)
    raw["name"] = point.run_name
    raw["replications"] = 1
    for key, value in SIZES[size].items():
        set_path(raw, key, value)
    rate = f"{point.bandwidth} Gbit/s"
    set_path(raw, "defaults.strategy", point.strategy)
    set_path(raw, "defaults.upload", rate)
    set_path(raw, "defaults.download", rate)
    set_path(raw, "registry.upload", rate)
    set_path(raw, "defaults.host", point.host)
    set_path(raw, "strategy.poc.dont_have_latency_source", point.dont_have_latency)
    return raw


def sensitivity_specs(size: str = "quarter") -> dict[Point, RunSpec]:
    """One run per distinct point of the grid at ``size`` (a key of :data:`SIZES`)."""
    if size not in SIZES:
        raise ValueError(f"sensitivity size must be one of {', '.join(SIZES)}, got {size!r}")
    specs: dict[Point, RunSpec] = {}
    for _axis, _value, point in points():
        if point not in specs:
            scenario = parse_scenario(_scenario_raw(point, size), source=f"sensitivity ({size})")
            (specs[point],) = plan(scenario)
    return specs


def sensitivity_table(runs: pd.DataFrame, specs: dict[Point, RunSpec]) -> pd.DataFrame:
    """One row per axis value: each strategy's mean time to fetch (s), poc/master and the
    poc's duplicate rate, from the ``runs`` table of the grid's runs."""
    by_id: dict[Any, dict[Any, Any]] = runs.set_index("run_id").to_dict("index")
    rows = []
    for axis, values in AXES.items():
        strategies = STRATEGIES[axis]
        poc = [s for s in strategies if s not in ("master", "registry")][-1]
        for value in values:
            row: dict[str, Any] = {"axis": axis, "value": value}
            for strategy in strategies:
                point = _point(strategy, axis, value)
                run = by_id[specs[point].run_id]
                row[f"{strategy}_s"] = float(run["mean_time_to_fetch_s"])
                if strategy == poc:
                    row["poc"] = poc
                    row["poc_dup_block_rate"] = float(run["dup_block_rate"])
                    row["poc_completed"] = f"{run['completed_leeches']}/{run['leeches']}"
            row["poc_over_master"] = row[f"{poc}_s"] / row["master_s"]
            row["baseline"] = value == BASELINE[axis]
            rows.append(row)
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame, size: str) -> str:
    """The table as text, with what was run and the blog's ratio."""
    lines = [
        f"Sensitivity ({size} size, {_size_words(size)}, one run per point, seed as the "
        "preset's): mean time to fetch (s); * = the preset's value",
    ]
    width = max(len(str(v)) for values in AXES.values() for v in values)
    for axis in AXES:
        part = table[table["axis"] == axis]
        lines.append(f"  {AXIS_LABELS[axis]}:")
        for _, r in part.iterrows():
            times = "  ".join(f"{s} {r[f'{s}_s']:6.2f}" for s in STRATEGIES[axis] if f"{s}_s" in r)
            mark = "*" if r["baseline"] else " "
            lines.append(
                f"   {mark}{r['value']!s:<{width}} {times}  {r['poc']}/master "
                f"{r['poc_over_master']:.2f}  {r['poc']} duplicates "
                f"{r['poc_dup_block_rate']:.2f}, done {r['poc_completed']}"
            )
    lines.append(f"  blog: poc/master = 3.16/9.08 = {BLOG_RATIO:.2f} (32 leeches, 300 MiB)")
    return "\n".join(lines)


def _size_words(size: str) -> str:
    if size == "full":
        return "32 leeches, 300 MiB"
    s = SIZES[size]
    from sim.units import parse_size

    mib = sum(parse_size(x) for x in s["objects.image.layers"]) / 2**20
    return f"{s['groups.leeches.count']} leeches, a {mib:g} MiB image"


def sensitivity_figure(table: pd.DataFrame, size: str, path: Path) -> Path:
    """Times (top) and poc/master (bottom) along each axis; the blog's ratio as a line and the
    0.25-0.50 window as a band. Written to ``path`` (format from its suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from experiments.plots import strategy_style

    fig, axes = plt.subplots(2, len(AXES), figsize=(4.2 * len(AXES), 6.4), sharey="row")
    for col, axis in enumerate(AXES):
        part = table[table["axis"] == axis].reset_index(drop=True)
        x = range(len(part))
        top, bottom = axes[0][col], axes[1][col]
        for strategy in STRATEGIES[axis]:
            style = strategy_style(strategy)
            top.plot(
                x,
                part[f"{strategy}_s"],
                color=style.colour,
                marker=style.marker,
                linestyle=style.linestyle,
                label=strategy,
            )
        top.set_yscale("log")
        top.set_title(AXIS_LABELS[axis], fontsize=10)
        top.legend(fontsize=8)
        bottom.plot(x, part["poc_over_master"], marker="s", color="black")
        bottom.axhline(BLOG_RATIO, linestyle="--", color="grey", label="blog 0.35")
        bottom.axhspan(0.25, 0.50, color="grey", alpha=0.15, label="0.25-0.50")
        bottom.legend(fontsize=8)
        for ax in (top, bottom):
            ax.set_xticks(list(x))
            marks = zip(part["value"], part["baseline"], strict=True)
            labels = [f"{v}{'*' if b else ''}" for v, b in marks]
            long = max(len(label) for label in labels) > 8  # host names: slanted
            ax.set_xticklabels(labels, rotation=25 if long else 0, ha="right" if long else "center")
    axes[0][0].set_ylabel("mean time to fetch (s, log)")
    axes[1][0].set_ylabel("poc / master")
    fig.suptitle(f"Headline sensitivity ({_size_words(size)}; * = preset)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
