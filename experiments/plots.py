"""Figures from the runner's tidy tables: ``runs`` (one row per run) and ``peers``.

Every function takes DataFrames and returns a ``matplotlib.figure.Figure`` built directly (no
``pyplot``), so nothing touches the global figure registry or the backend: figures are not
shown and never pile up in a long sweep, and save with ``fig.savefig(path)`` (PNG, PDF, SVG)
on a headless worker. In a notebook, run ``%matplotlib inline`` first so that a returned
figure is drawn in the cell.

**Intervals** are those of the tables (``experiments.stats.summarise``): the mean over runs
with its Student-t 95% interval, clipped to what the metric can be; titles say how many runs
each point rests on. **Leeches that never finish** are shown, not dropped: time to fetch is
drawn as a Kaplan–Meier curve (unfinished leeches censored, :func:`km_time_to_fetch`), the
share that finished has its own figure, and a sweep point where no leech finished is marked.

**Styles.** Every strategy has a fixed colour (Okabe–Ito, safe for colour-blind readers),
marker, line dash and bar hatch (:func:`strategy_style`), so figures of different experiments
compare side by side and stay readable in greyscale; a strategy not known here gets a style
derived from its name, the same in every figure. Swept parameters are labelled in words
(``peers in group leeches``, not ``groups.leeches.count``); counts get integer ticks.

Functions pool every row they are given: filter ``runs`` and ``peers`` to one scenario and one
parameter point first, or use ``write_all``, which splits by scenario and draws sweeps as lines.
The figures that need the runner's ``transfers`` and ``progress`` tables or a run's network
graph (who served whom, progress curves, topology) are in :mod:`experiments.runplots`;
``write_all`` draws them too when it is given those tables.
"""

from __future__ import annotations

import math
import re
import textwrap
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import EngFormatter, MaxNLocator

from experiments.stats import bounds, mean_ci, summarise, time_to_fetch_km

__all__ = [
    "Style",
    "completion_by_strategy",
    "ecdf_time_to_fetch",
    "hue_order",
    "km_time_to_fetch",
    "label",
    "makespan_by_strategy",
    "palette",
    "path_label",
    "strategy_style",
    "styles",
    "sweep_line",
    "swept_parameters",
    "tradeoff_scatter",
    "write_all",
]

STRATEGY_ORDER = ("master", "poc", "poc-potential", "poc-2020-02", "registry", "mixed")
"""Display order of the known strategies; any others follow alphabetically."""

SWEEP_METRICS = ("fraction_completed", "makespan_s", "mean_time_to_fetch_s", "dup_block_rate")
"""Run-level metrics ``write_all`` draws against each swept parameter."""

BLOG_REFERENCE_S = {"master": 9.08, "poc": 3.16, "registry": 3.93}
"""Mean times to fetch (s) in the Netflix/IPFS blog post of 2020-02-14 (32 leeches, a 300 MiB
image; registry = DockerHub): averages over leeches, so compare them with
``makespan_by_strategy(runs, reference, y="mean_time_to_fetch_s")``."""

LABELS = {
    "makespan_s": "makespan (s)",
    "mean_time_to_fetch_s": "mean time to fetch (s)",
    "time_to_fetch_s": "time to fetch (s)",
    "dup_block_rate": "duplicate block rate (fraction of blocks)",
    "dup_byte_rate": "duplicate byte rate (fraction of bytes)",
    "fraction_completed": "leeches that finished (fraction)",
    "completed_leeches": "leeches that finished",
    "leeches": "leeches",
    "control_bytes": "control traffic (bytes)",
    "payload_bytes": "payload traffic (bytes)",
    "bytes_received": "bytes received (bytes)",
    "dup_bytes_received": "duplicate bytes received (bytes)",
    "bytes_sent": "bytes sent (bytes)",
    "sim_events": "simulation events",
    "wall_s": "wall-clock time (s)",
    "seed": "seed",
    "max_sim_time_s": "time limit (s)",
}
"""Axis labels, with units, for the known columns; swept parameters are put in words from
their paths (:func:`path_label`); other columns are labelled by name."""

COUNT_COLUMNS = ("leeches", "completed_leeches", "sim_events", "msgs_lost", "msgs_in_flight")
"""Columns that count things: integer ticks."""

_FIGSIZE = (6.4, 4.4)
_TITLE_WIDTH = 58


# --------------------------------------------------------------------------------- styles
@dataclass(frozen=True)
class Style:
    """How one strategy (or level) is drawn: colour, marker, line dash, bar hatch."""

    colour: str
    marker: str
    dashes: tuple[float, ...]
    hatch: str

    @property
    def linestyle(self) -> Any:
        return (0, self.dashes) if self.dashes else "-"


STRATEGY_STYLES: dict[str, Style] = {
    "master": Style("#0072B2", "o", (), ""),  # blue
    "poc": Style("#E69F00", "s", (5.0, 2.0), "//"),  # orange
    "poc-potential": Style("#CC79A7", "^", (6.0, 2.0, 1.5, 2.0), "\\\\"),  # reddish purple
    "poc-2020-02": Style("#009E73", "v", (1.5, 1.5), "xx"),  # bluish green
    "registry": Style("#000000", "D", (8.0, 3.0), ""),  # black: the baseline
    "mixed": Style("#56B4E9", "P", (3.0, 1.5, 1.0, 1.5, 1.0, 1.5), ".."),  # sky blue
}
"""Okabe–Ito colours (Okabe & Ito 2008) for the known strategies, each with its own marker,
dash pattern and hatch, so that no two are told apart by colour alone (poc and registry
differ in lightness, marker and dash, not only in hue)."""

_SPARE_COLOURS = ("#D55E00", "#999999", "#F0E442", "#332288", "#117733", "#882255")
_SPARE_MARKERS = ("X", "<", ">", "p", "h", "*", "d", "8")
_SPARE_DASHES: tuple[tuple[float, ...], ...] = (
    (2.0, 1.0),
    (4.0, 1.0, 1.0, 1.0),
    (7.0, 1.5, 1.5, 1.5, 1.5, 1.5),
    (1.0, 2.5),
    (10.0, 2.0),
)
_SPARE_HATCHES = ("--", "++", "oo", "||", "**")


def strategy_style(name: str) -> Style:
    """The fixed style of a strategy. One not in :data:`STRATEGY_STYLES` (a new strategy name)
    gets one derived from its name (CRC-32), so it is the same in every figure."""
    known = STRATEGY_STYLES.get(name)
    if known is not None:
        return known
    h = zlib.crc32(str(name).encode("utf-8"))
    return Style(
        _SPARE_COLOURS[h % len(_SPARE_COLOURS)],
        _SPARE_MARKERS[(h >> 8) % len(_SPARE_MARKERS)],
        _SPARE_DASHES[(h >> 16) % len(_SPARE_DASHES)],
        _SPARE_HATCHES[(h >> 24) % len(_SPARE_HATCHES)],
    )


def hue_order(levels: Iterable[Any], hue: str = "strategy") -> list[Any]:
    """Distinct ``levels`` in display order: known strategies first when ``hue`` is strategy."""
    distinct = list(dict.fromkeys(x for x in levels if not pd.isna(x)))
    if hue != "strategy":
        return sorted(distinct, key=_natural)
    known = [s for s in STRATEGY_ORDER if s in distinct]
    return known + sorted((x for x in distinct if x not in STRATEGY_ORDER), key=str)


def _natural(x: Any) -> tuple[Any, ...]:
    if isinstance(x, bool | int | float | np.number):
        return (0, float(x), "")
    parts = re.split(r"(\d+)", str(x))
    return (1, 0.0, tuple((int(p), "") if i % 2 else (0, p) for i, p in enumerate(parts)))


def styles(levels: Iterable[Any], hue: str = "strategy") -> dict[Any, Style]:
    """Style per level: strategies keep theirs whatever else is in the figure; other levels
    (groups, parameter values) get the colour-blind palette, markers and dashes in order."""
    order = hue_order(levels, hue)
    if hue == "strategy":
        return {level: strategy_style(str(level)) for level in order}
    base = sns.color_palette("colorblind", 10).as_hex()
    colours = base if len(order) <= len(base) else sns.color_palette("husl", len(order)).as_hex()
    markers = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "p")
    dashes = ((), (5.0, 2.0), (1.5, 1.5), (6.0, 2.0, 1.5, 2.0), (8.0, 3.0), *_SPARE_DASHES)
    hatches = ("", "//", "\\\\", "xx", "..", *_SPARE_HATCHES)
    return {
        level: Style(
            colours[i],
            markers[i % len(markers)],
            dashes[i % len(dashes)],
            hatches[i % len(hatches)],
        )
        for i, level in enumerate(order)
    }


def palette(levels: Iterable[Any], hue: str = "strategy") -> dict[Any, Any]:
    """Colour per level (see :func:`styles`)."""
    return {k: v.colour for k, v in styles(levels, hue).items()}


# --------------------------------------------------------------------------------- labels
_FIELD_WORDS = {
    "count": "peers",
    "upload": "upload bandwidth",
    "download": "download bandwidth",
    "instance": "instance type",
    "blockstore_latency": "blockstore latency",
    "dht_lookup_delay": "DHT lookup delay",
    "fetch.pattern": "fetch pattern",
    "fetch.start": "fetch start",
    "fetch.stagger": "fetch stagger",
    "size": "size",
    "layers": "layer sizes",
    "chunk_size": "chunk size",
    "fraction": "fraction of peers",
    "bandwidth_factor": "bandwidth factor",
    "added_latency": "added latency",
}


def path_label(path: str) -> str:
    """A swept parameter's dotted path in words: ``groups.leeches.count`` -> ``peers in group
    leeches``; ``strategy.master.max_split`` -> ``max split (master)``;
    ``faults.seed-churn.fraction`` -> ``fraction of peers (fault seed-churn)``;
    ``hosts.fast-disk.cipher_rate`` -> ``cipher rate (host fast-disk)``."""
    parts = path.split(".")
    if parts[0] in ("groups", "objects", "faults", "hosts") and len(parts) >= 3:
        kind = parts[0][:-1]
        field = ".".join(parts[2:])
        if parts[0] == "groups" and field == "count":
            return f"peers in group {parts[1]}"
        words = _FIELD_WORDS.get(field, field.replace("_", " ").replace(".", " "))
        return f"{words} ({kind} {parts[1]})"
    if parts[0] == "defaults" and len(parts) >= 2:
        field = ".".join(parts[1:])
        if field == "count":
            return "peers per group"
        words = _FIELD_WORDS.get(field, field.replace("_", " ").replace(".", " "))
        return f"{words} (every group)"
    if parts[0] == "strategy" and len(parts) >= 3:
        return f"{' '.join(parts[2:]).replace('_', ' ')} ({parts[1]})"
    if parts[0] == "network" and len(parts) >= 2:
        return "network " + " ".join(parts[1:]).replace("_", " ")
    if parts[0] == "registry" and len(parts) >= 2:
        return "registry " + " ".join(parts[1:]).replace("_", " ")
    return LABELS.get(path, path.replace("_", " ").replace(".", " "))


def label(column: str, runs: pd.DataFrame | Mapping[str, str] | None = None) -> str:
    """Axis label (with units) for a column name; a swept parameter in words (its path from
    ``runs.attrs["swept_paths"]``, or the mapping given)."""
    if column in LABELS:
        return LABELS[column]
    paths: Mapping[str, str] = {}
    if isinstance(runs, pd.DataFrame):
        paths = runs.attrs.get("swept_paths") or {}
    elif runs is not None:
        paths = runs
    if column in paths:
        return path_label(paths[column])
    if "." in column:  # a dotted path (results written before column names were identifiers)
        return path_label(column)
    return column


def _what(column: str, runs: Any = None) -> str:
    return label(column, runs).split(" (")[0]


def _title(ax: Axes, text: str) -> None:
    lines = [textwrap.fill(line, _TITLE_WIDTH) for line in text.split("\n")]
    ax.set_title("\n".join(lines), fontsize="medium")


def _new_axes(figsize: tuple[float, float] = _FIGSIZE) -> tuple[Figure, Axes]:
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _nunique(col: pd.Series) -> int:
    try:
        return int(col.nunique(dropna=True))
    except TypeError:  # unhashable values such as lists
        return int(col.dropna().astype(str).nunique())


def swept_parameters(runs: pd.DataFrame, exclude: Iterable[str] = ("strategy",)) -> list[str]:
    """Swept parameter columns of ``runs`` that take at least two values.

    The names come from ``runs.attrs["swept"]`` when the runner stored them; otherwise every
    column that is not one of the runner's own (nor a ``..._strategy`` choice, which the
    ``strategy`` column shows) is a candidate.
    """
    declared = runs.attrs.get("swept")
    if declared is not None:
        candidates = [c for c in declared if c in runs.columns]
    else:
        from experiments.runner import RUN_COLUMNS

        candidates = [
            c
            for c in runs.columns
            if c not in RUN_COLUMNS and not str(c).endswith(("strategy", "_strategy"))
        ]
    skip = set(exclude)
    return [c for c in candidates if c not in skip and _nunique(runs[c]) > 1]


def _format_axes(ax: Axes, x: str | None, y: str | None, runs: Any = None) -> None:
    """Labels with units; SI prefixes on byte axes; integer ticks for counts."""
    if x is not None:
        ax.set_xlabel(label(x, runs))
        if x.endswith("bytes"):
            ax.xaxis.set_major_formatter(EngFormatter())
    if y is not None:
        ax.set_ylabel(label(y, runs))
        if y.endswith("bytes"):
            ax.yaxis.set_major_formatter(EngFormatter())
        if y in COUNT_COLUMNS:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        lo, hi = bounds(y)
        if lo == 0.0 and hi == 1.0:
            ax.set_ylim(-0.02, 1.02)
        elif lo == 0.0:
            ax.set_ylim(bottom=0.0)


def _n_text(counts: pd.Series) -> str:
    counts = counts[counts > 0]
    if counts.empty:
        return "no runs"
    lo, hi = int(counts.min()), int(counts.max())
    return f"n = {lo} runs each" if lo == hi else f"n = {lo}–{hi} runs"


# --------------------------------------------------------------------------------- time to fetch
def ecdf_time_to_fetch(peers: pd.DataFrame, hue: str = "strategy") -> Figure:
    """ECDF of leeches' time to fetch (s), one step line per ``hue`` level, pooled over runs.

    The denominator is every leech, completed or not, so a line that ends below 1 shows the
    share that never finished (the legend says how many did). Unlike :func:`km_time_to_fetch`
    it ignores how long an unfinished leech had been fetching.
    """
    leeches = peers.loc[peers["role"] == "leech", [hue, "time_to_fetch_s", "run_id"]]
    if leeches.empty:
        raise ValueError("peers has no leeches (role == 'leech')")
    fig, ax = _new_axes()
    style = styles(leeches[hue], hue)
    for level in hue_order(leeches[hue], hue):
        times = pd.to_numeric(
            leeches.loc[leeches[hue] == level, "time_to_fetch_s"], errors="coerce"
        ).to_numpy(dtype=float)
        total = times.size
        done = np.sort(times[~np.isnan(times)])
        text = str(level) if done.size == total else f"{level} ({done.size}/{total} completed)"
        st = style[level]
        if done.size == 0:
            ax.plot([], [], color=st.colour, linestyle=st.linestyle, label=text)
            continue
        xs = np.concatenate([[done[0]], done])
        ys = np.concatenate([[0.0], np.arange(1, done.size + 1) / total])
        ax.step(xs, ys, where="post", color=st.colour, linestyle=st.linestyle, label=text)
    ax.set_xlim(left=0.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel(label("time_to_fetch_s"))
    ax.set_ylabel("fraction of leeches done")
    ax.legend(title=hue, loc="best")
    n_runs = leeches["run_id"].nunique()
    _title(ax, f"Time to fetch: {len(leeches)} leeches pooled over {n_runs} runs")
    return fig


def km_time_to_fetch(
    peers: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    *,
    hue: str = "strategy",
    facet: str | None = None,
    confidence: float = 0.95,
) -> Figure:
    """Time to fetch as a censored distribution: the Kaplan–Meier estimate of the fraction of
    leeches done by each time, one step line (with its pointwise ``confidence`` band) per
    ``hue`` level, pooled over runs (``experiments.stats.time_to_fetch_km``).

    A leech that had not finished when its run stopped is censored at the time it had been
    fetching (``+`` marks), so a curve that levels off below 1 is the share of leeches that
    stalled, not a loss of data. ``facet``: a ``runs`` column (a swept parameter) to draw one
    panel per value of (``runs`` is then needed to tell which run had which value).
    """
    data = peers.loc[peers["role"] == "leech"]
    if data.empty:
        raise ValueError("peers has no leeches (role == 'leech')")
    if facet is not None:
        if runs is None or facet not in runs.columns:
            raise ValueError(f"facet {facet!r} needs the runs table with that column")
        data = data.merge(runs[["run_id", facet]], on="run_id", how="left")
        panels = _ordered_values(runs, facet)
    else:
        panels = [None]
    width = min(4.2 * len(panels) + 1.0, 16.0) if len(panels) > 1 else _FIGSIZE[0]
    fig = Figure(figsize=(width, 4.6), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    style = styles(data[hue], hue)
    for i, (ax, value) in enumerate(zip(axes, panels, strict=True)):
        part = data if facet is None else data.loc[data[facet].astype(str) == str(value)]
        curves = time_to_fetch_km(part, by=hue, confidence=confidence)
        times = part.assign(
            _t=pd.to_numeric(part.get("time_fetching_s", part["time_to_fetch_s"]), errors="coerce")
        )
        for level in hue_order(curves[hue], hue):
            c = curves.loc[curves[hue] == level]
            st = style[level]
            leeches, done = int(c["leeches"].iloc[0]), int(c["done"].iloc[0])
            text = f"{level}: {done}/{leeches} done"
            ax.step(
                c["t_s"],
                c["fraction_done"],
                where="post",
                color=st.colour,
                linestyle=st.linestyle,
                linewidth=1.6,
                label=text,
            )
            ax.fill_between(
                c["t_s"],
                c["ci_low"].fillna(c["fraction_done"]),
                c["ci_high"].fillna(c["fraction_done"]),
                step="post",
                color=st.colour,
                alpha=0.15,
                linewidth=0,
            )
            mine = times.loc[(times[hue] == level) & ~times["completed"].fillna(False).astype(bool)]
            cens = mine["_t"].dropna().to_numpy(dtype=float)
            if cens.size:
                at = np.interp(cens, c["t_s"], c["fraction_done"])
                ax.plot(
                    cens,
                    at,
                    linestyle="",
                    marker="+",
                    markersize=9,
                    color=st.colour,
                    markeredgewidth=1.4,
                )
        ax.set_xlim(left=0.0)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(label("time_to_fetch_s"))
        if i == 0:
            ax.set_ylabel("fraction of leeches done")
        if facet is not None:
            _title(ax, f"{label(facet, runs)} = {value}")
        ax.legend(loc="best", fontsize="small")
    pct = f"{confidence * 100:g}%"
    n_runs = data["run_id"].nunique()
    fig.suptitle(
        textwrap.fill(
            f"Time to fetch, Kaplan–Meier ({pct} band; +: still fetching when the run "
            f"stopped, censored), {n_runs} runs",
            80,
        ),
        fontsize="medium",
    )
    return fig


def _ordered_values(runs: pd.DataFrame, column: str) -> list[Any]:
    """The distinct values of a column in plan order (runs sorted by run id)."""
    ordered = runs.sort_values("run_id") if "run_id" in runs.columns else runs
    return list(dict.fromkeys(v for v in ordered[column] if not pd.isna(v)))


# --------------------------------------------------------------------------------- bars
def makespan_by_strategy(
    runs: pd.DataFrame,
    reference: Mapping[str, float] | None = None,
    *,
    y: str = "makespan_s",
    reference_label: str = "reference",
    confidence: float = 0.95,
) -> Figure:
    """Bar per strategy: mean ``y`` (default makespan, s) over runs with its Student-t
    interval (clipped to what ``y`` can be), hatched per strategy.

    Runs with a NaN ``y`` are left out and the title says how many (the runner leaves
    makespan NaN when a leech did not finish: the mean is then over runs in which every leech
    finished, which flatters a strategy that sometimes stalls; see ``fraction_completed``).

    ``reference`` maps strategy to a published value in the units of ``y`` (for instance
    ``BLOG_REFERENCE_S``), drawn as black diamonds labelled ``reference_label`` in the
    legend; a strategy that is only in ``reference`` gets an empty slot with its diamond.
    """
    data = runs.dropna(subset=[y])
    if data.empty:
        raise ValueError(f"runs has no non-NaN {y!r}")
    ref = dict(reference or {})
    order = hue_order([*data["strategy"], *ref])
    table = summarise(data, by="strategy", metrics=[y], confidence=confidence, warn=False)
    table = table.set_index("strategy")
    style = styles(order)
    fig, ax = _new_axes()
    for i, strategy in enumerate(order):
        if strategy not in table.index:
            continue
        row = table.loc[strategy]
        st = style[strategy]
        ax.bar(
            i,
            row["mean"],
            width=0.7,
            color=st.colour,
            hatch=st.hatch,
            edgecolor="0.15",
            linewidth=0.8,
        )
        if not math.isnan(row["ci_low"]):
            ax.errorbar(
                i,
                row["mean"],
                yerr=[[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]],
                color="0.1",
                capsize=6,
                linewidth=1.2,
            )
    if ref:
        xs = [order.index(s) for s in ref]
        ax.scatter(
            xs,
            list(ref.values()),
            marker="D",
            s=45,
            color="black",
            edgecolors="white",
            zorder=5,
            label=reference_label,
        )
        ax.legend(loc="best")
    ax.set_xticks(range(len(order)), [str(s) for s in order])
    ax.set_xlim(-0.6, len(order) - 0.4)
    _format_axes(ax, None, y, runs)
    ax.set_xlabel("strategy")
    counts = table["n"]
    what = _what(y)
    title = f"{what.capitalize()} by strategy (mean, {confidence * 100:g}% t CI; {_n_text(counts)})"
    omitted = len(runs) - len(data)
    if omitted:
        title += f"\n{omitted} run(s) without a {what} left out"
    _title(ax, title)
    return fig


def completion_by_strategy(runs: pd.DataFrame, *, confidence: float = 0.95) -> Figure:
    """Bar per strategy: the mean fraction of leeches that finished per run, with its interval
    (clipped to [0, 1]); the title gives the leeches behind it."""
    fig = makespan_by_strategy(runs, y="fraction_completed", confidence=confidence)
    ax = fig.axes[0]
    if {"leeches", "completed_leeches"} <= set(runs.columns):
        done, total = int(runs["completed_leeches"].sum()), int(runs["leeches"].sum())
        _title(
            ax,
            f"Leeches that finished by strategy (mean per run, {confidence * 100:g}% t CI)\n"
            f"{done} of {total} leeches over {len(runs)} runs",
        )
    return fig


# --------------------------------------------------------------------------------- sweeps
def sweep_line(
    runs: pd.DataFrame,
    x: str,
    y: str,
    hue: str = "strategy",
    *,
    style: str | None = None,
    logx: bool | None = None,
    confidence: float = 0.95,
    dodge: bool = True,
) -> Figure:
    """Mean ``y`` against a swept parameter ``x``, one line per ``hue`` level (and line dash per
    ``style`` level), with the Student-t interval of the tables as error bars.

    Runs at the same ``x`` (and ``style``) are the replicates the interval is taken over; pass
    a second swept parameter as ``style`` rather than letting it pool. A numeric ``x`` is drawn
    on a linear axis (integer ticks at the values when they are whole numbers), or a log axis
    when ``logx`` is true (None: log when positive and spanning at least a factor of 100); any
    other ``x`` as categories in plan order. ``dodge`` shifts the levels a little sideways so
    that overlapping lines and bars stay visible. A point where every run has a NaN ``y`` (no
    leech finished, so no time to fetch) is marked with an ``x`` on the axis, not dropped.
    """
    cols = [
        c for c in dict.fromkeys(["run_id", x, y, hue] + ([style] if style else [])) if c in runs
    ]
    data = runs.loc[:, cols].dropna(subset=[x])
    if data.empty or data[y].notna().sum() == 0:
        raise ValueError(f"runs has no rows with both {x!r} and {y!r}")
    numeric = pd.api.types.is_numeric_dtype(data[x]) and not pd.api.types.is_bool_dtype(data[x])
    categories: list[Any] = []
    if not numeric:
        data = data.assign(**{x: data[x].astype(str)})
        categories = _ordered_values(data, x)
    by = [hue, x] + ([style] if style else [])
    table = summarise(data, by=by, metrics=[y], confidence=confidence, warn=False)
    fig, ax = _new_axes()
    levels = hue_order(data[hue], hue)
    hue_styles = styles(data[hue], hue)
    style_levels = hue_order(data[style], style) if style else [None]
    dash_of = {v: s.linestyle for v, s in styles(style_levels, style or "x").items()}
    groups = [(h, s) for h in levels for s in style_levels]
    xs_all = np.array(
        [categories.index(v) for v in data[x]] if not numeric else data[x].to_numpy(dtype=float)
    )
    if numeric:
        if logx is None:
            logx = bool(xs_all.min() > 0 and xs_all.max() >= 100 * xs_all.min())
        if logx:
            ax.set_xscale("log")
    span = (xs_all.max() - xs_all.min()) if len(xs_all) else 0.0
    missing_drawn = False
    for k, (h, s) in enumerate(groups):
        part = table.loc[table[hue] == h]
        if style:
            part = part.loc[part[style] == s]
        if part.empty:
            continue
        pos = (
            part[x].map(categories.index).to_numpy(dtype=float)
            if not numeric
            else part[x].to_numpy(dtype=float)
        )
        order = np.argsort(pos)
        pos, part = pos[order], part.iloc[order]
        shift = (k - (len(groups) - 1) / 2) if dodge and len(groups) > 1 else 0.0
        if not numeric:
            pos = pos + 0.08 * shift
        elif logx:
            pos = pos * 10 ** (0.01 * shift * max(1.0, math.log10(xs_all.max() / xs_all.min())))
        else:
            pos = pos + 0.012 * shift * (span or 1.0)
        st = hue_styles[h]
        mean = part["mean"].to_numpy(dtype=float)
        low = part["ci_low"].to_numpy(dtype=float)
        high = part["ci_high"].to_numpy(dtype=float)
        yerr = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
        text = str(h) if not style else f"{h}, {s}"
        ax.errorbar(
            pos,
            mean,
            yerr=yerr,
            color=st.colour,
            marker=st.marker,
            markersize=6,
            linestyle=dash_of[s] if style else st.linestyle,
            linewidth=1.5,
            capsize=3,
            label=text,
        )
        gone = np.isnan(mean)
        if gone.any():
            ax.plot(
                pos[gone],
                np.zeros(int(gone.sum())),
                linestyle="",
                marker="x",
                markersize=9,
                color=st.colour,
                markeredgewidth=2,
                clip_on=False,
                zorder=5,
                label="_nolegend_",
            )
            missing_drawn = True
    if not numeric:
        ax.set_xticks(range(len(categories)), [textwrap.fill(str(c), 18) for c in categories])
    elif np.allclose(xs_all, np.round(xs_all)) and not logx:
        values = np.unique(xs_all)
        if len(values) <= 10:
            ax.set_xticks(values, [f"{v:g}" for v in values])
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _format_axes(ax, x, y, runs)
    handles, texts = ax.get_legend_handles_labels()
    if missing_drawn:
        handles.append(Line2D([], [], linestyle="", marker="x", color="0.3", markeredgewidth=2))
        texts.append("x: no run with a value")
    ax.legend(
        handles,
        texts,
        title=hue if not style else f"{hue}, {label(style, runs)}",
        fontsize="small",
    )
    what = _what(y)
    counts = table["n"]
    _title(
        ax,
        f"{what.capitalize()} vs {_what(x, runs)} "
        f"(mean, {confidence * 100:g}% t CI; {_n_text(counts)})",
    )
    return fig


def tradeoff_scatter(
    runs: pd.DataFrame,
    x: str = "dup_block_rate",
    y: str = "mean_time_to_fetch_s",
    hue: str = "strategy",
    *,
    means: bool = True,
) -> Figure:
    """One point per run, ``y`` against ``x``, coloured and marked by ``hue``.

    With ``means`` (default), each level also gets a large marker at its mean with Student-t
    95% interval crosshairs in both directions (``experiments.stats.mean_ci``, clipped); turn
    it off when ``runs`` pools several parameter points.
    """
    data = runs.dropna(subset=[x, y])
    if data.empty:
        raise ValueError(f"runs has no rows with both {x!r} and {y!r}")
    order = hue_order(data[hue], hue)
    style = styles(data[hue], hue)
    fig, ax = _new_axes()
    for level in order:
        part = data.loc[data[hue] == level]
        st = style[level]
        ax.scatter(
            part[x],
            part[y],
            color=st.colour,
            marker=st.marker,
            s=30,
            alpha=0.55 if means else 0.8,
            edgecolors="none",
            label=str(level),
        )
        if means:
            mx, xlo, xhi = mean_ci(part[x], limits=bounds(x))
            my, ylo, yhi = mean_ci(part[y], limits=bounds(y))
            xerr = None if np.isnan(xlo) else [[mx - xlo], [xhi - mx]]
            yerr = None if np.isnan(ylo) else [[my - ylo], [yhi - my]]
            ax.errorbar(
                [mx],
                [my],
                xerr=xerr,
                yerr=yerr,
                fmt=st.marker,
                markersize=10,
                markeredgecolor="black",
                color=st.colour,
                ecolor=st.colour,
                capsize=3,
                zorder=4,
                label="_nolegend_",
            )
    _format_axes(ax, x, y, runs)
    if bounds(x) == (0.0, 1.0):
        ax.set_xlim(left=-0.02)
    ax.legend(title=hue, fontsize="small")
    title = f"{_what(y).capitalize()} vs {_what(x)}"
    if means:
        title += "\n(points: runs; large markers: mean, 95% t CI)"
    _title(ax, title)
    return fig


# --------------------------------------------------------------------------------- write_all
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "x"


def _has(frame: pd.DataFrame, *cols: str) -> bool:
    return all(c in frame.columns for c in cols) and bool(
        frame[list(cols)].notna().all(axis=1).any()
    )


def _figures_for(
    runs: pd.DataFrame, peers: pd.DataFrame | None, reference: Mapping[str, float] | None
) -> list[tuple[str, Figure]]:
    """(name, figure) pairs that make sense for one scenario's runs and peers."""
    swept = swept_parameters(runs)
    figures: list[tuple[str, Figure]] = []
    for x in swept:
        others = [c for c in swept if c != x]
        if len(others) > 1:
            warnings.warn(
                f"{len(swept)} parameters vary together; no sweep figure against {x!r} "
                "(filter runs to two varying parameters or fewer)",
                stacklevel=3,
            )
            continue
        style = others[0] if others else None
        for metric in SWEEP_METRICS:
            if metric in runs.columns and runs[x].notna().any() and runs[metric].notna().any():
                name = f"sweep_{_slug(x)}_{metric}"
                figures.append((name, sweep_line(runs, x, metric, style=style)))
    if not swept:
        if _has(runs, "makespan_s"):
            figures.append(("makespan", makespan_by_strategy(runs)))
        if _has(runs, "mean_time_to_fetch_s"):
            # published figures (the blog's) are averages over leeches: compare them here
            figures.append(
                (
                    "mean_time_to_fetch",
                    makespan_by_strategy(
                        runs, reference, y="mean_time_to_fetch_s", reference_label="published"
                    ),
                )
            )
        if _has(runs, "fraction_completed"):
            figures.append(("fraction_completed", completion_by_strategy(runs)))
    if peers is not None and len(peers.loc[peers["role"] == "leech"]):
        facet = swept[0] if len(swept) == 1 else None
        if len(swept) <= 1:
            figures.append(("time_to_fetch_km", km_time_to_fetch(peers, runs, facet=facet)))
    if _has(runs, "dup_block_rate", "mean_time_to_fetch_s"):
        figures.append(("tradeoff", tradeoff_scatter(runs, means=not swept)))
    return figures


def write_all(
    runs: pd.DataFrame,
    peers: pd.DataFrame | None,
    out_dir: str | Path,
    reference: Mapping[str, float] | None = None,
    *,
    transfers: pd.DataFrame | None = None,
    progress: pd.DataFrame | None = None,
    topologies: Mapping[str, tuple[Any, Mapping[Any, str]]] | None = None,
    dpi: int = 150,
    formats: Sequence[str] = ("png",),
    run_ids: Sequence[str] = (),
) -> list[Path]:
    """Write every figure that makes sense for the data into ``out_dir``, once per format of
    ``formats`` (``png``, ``pdf``, ``svg``); return the paths.

    Without a swept parameter: ``makespan``, ``mean_time_to_fetch`` (with ``reference``
    markers: published times are averages over leeches), ``fraction_completed``,
    ``time_to_fetch_km`` and ``tradeoff``. With swept parameters (see ``swept_parameters``):
    ``sweep_<param>_<metric>`` for each of ``SWEEP_METRICS`` (the fraction of leeches that
    finished among them), ``time_to_fetch_km`` with one panel per value (one swept parameter)
    and ``tradeoff`` without means. With two swept parameters each is drawn against the other
    as line style; with more, no sweep figure (and a warning). Several scenarios get one set of
    figures each, named ``<scenario>-<figure>``; ``reference`` applies to every one of them.

    With ``transfers`` (and ``progress``), also ``who_served_whom`` (``progress``) of the first
    run of each strategy (suffixed ``_<strategy>`` when there are several) and of each run in
    ``run_ids`` (suffixed ``_<run_id>``) and, without a swept parameter,
    ``who_served_whom_groups`` (``progress_by_strategy``) over all runs. ``topologies`` maps a
    scenario name to ``(graph, roles)`` of its first run
    (:func:`experiments.runplots.run_graph`): ``topology``.
    """
    from experiments.runplots import run_topology_figures

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scenarios = hue_order(runs["scenario"], hue="scenario")
    paths: list[Path] = []
    for scenario in scenarios:
        scenario_runs = runs.loc[runs["scenario"] == scenario]
        scenario_runs.attrs = dict(runs.attrs)
        scenario_peers = None if peers is None else peers.loc[peers["scenario"] == scenario]
        prefix = f"{_slug(scenario)}-" if len(scenarios) > 1 else ""
        figures = _figures_for(scenario_runs, scenario_peers, reference)
        figures += run_topology_figures(
            scenario_runs,
            scenario_peers,
            None if transfers is None else transfers.loc[transfers["scenario"] == scenario],
            None if progress is None else progress.loc[progress["scenario"] == scenario],
            (topologies or {}).get(scenario),
            pooled=not swept_parameters(scenario_runs),
            run_ids=run_ids,
        )
        for name, fig in figures:
            for fmt in formats:
                path = out / f"{prefix}{name}.{fmt}"
                fig.savefig(path, dpi=dpi, format=fmt)
                paths.append(path)
    return paths
