"""Figures from the runner's two tidy tables: ``runs`` (one row per run) and ``peers``.

Every function takes DataFrames and returns a ``matplotlib.figure.Figure`` built directly (no
``pyplot``), so nothing touches the global figure registry or the backend: figures are not
shown and never pile up in a long sweep, and save with ``fig.savefig(path)`` on a headless
worker. In a notebook, run ``%matplotlib inline`` first so that a returned figure is drawn in
the cell. Seaborn draws on the figure's axes (``ax=``).

Intervals are seaborn's ``errorbar=("ci", 95)`` over replicate-level rows: a percentile bootstrap
of the mean, seeded (``seed=0``) so a figure is the same every time it is redrawn. The tradeoff
scatter's crosshairs use ``experiments.stats.mean_ci`` (Student-t). Colours are fixed per
strategy (master, poc, poc-2020-02, poc-potential, registry and mixed always get the same
colour), so figures of different experiments can be compared side by side.

Functions pool every row they are given: filter ``runs`` and ``peers`` to one scenario and one
parameter point first, or use ``write_all``, which splits by scenario and draws sweeps as lines.

The figures that need the runner's ``transfers`` and ``progress`` tables or a run's network
graph (who served whom, progress curves, topology) are in :mod:`experiments.runplots`;
``write_all`` draws them too when it is given those tables.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from experiments.stats import mean_ci

STRATEGY_ORDER = ("master", "poc", "poc-2020-02", "poc-potential", "registry", "mixed")
"""Display order of the known strategies; any others follow alphabetically."""

SWEEP_METRICS = ("makespan_s", "mean_time_to_fetch_s", "dup_block_rate")
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
    "control_bytes": "control traffic (bytes)",
    "payload_bytes": "payload traffic (bytes)",
    "bytes_received": "bytes received (bytes)",
    "dup_bytes_received": "duplicate bytes received (bytes)",
    "bytes_sent": "bytes sent (bytes)",
    "sim_events": "simulation events",
    "wall_s": "wall-clock time (s)",
}
"""Axis labels, with units, for the known columns; other columns are labelled by name."""

_FIXED_COLOUR_INDEX = {
    "master": 0,
    "poc": 1,
    "poc-2020-02": 4,
    "poc-potential": 2,
    "registry": 3,
    "mixed": 7,
}
_FIGSIZE = (6.4, 4.4)
_SEED = 0


def label(column: str) -> str:
    """Axis label (with units) for a column name; a swept parameter's dotted path as is."""
    return LABELS.get(column, column)


def _new_axes() -> tuple[Figure, Axes]:
    fig = Figure(figsize=_FIGSIZE, layout="constrained")
    return fig, fig.add_subplot()


def hue_order(levels: Iterable[Any], hue: str = "strategy") -> list[Any]:
    """Distinct ``levels`` in display order: known strategies first when ``hue`` is strategy."""
    distinct = list(dict.fromkeys(x for x in levels if not pd.isna(x)))
    if hue != "strategy":
        return sorted(distinct, key=str)
    known = [s for s in STRATEGY_ORDER if s in distinct]
    return known + sorted((x for x in distinct if x not in STRATEGY_ORDER), key=str)


def palette(levels: Iterable[Any], hue: str = "strategy") -> dict[Any, Any]:
    """Colour per level; strategies keep a fixed colour whatever else is in the figure."""
    order = hue_order(levels, hue)
    base = sns.color_palette("colorblind", 10)
    if hue != "strategy":
        colours = base if len(order) <= len(base) else sns.color_palette("husl", len(order))
        return {level: colours[i] for i, level in enumerate(order)}
    spare = [c for i, c in enumerate(base) if i not in _FIXED_COLOUR_INDEX.values()]
    unknown = [x for x in order if x not in _FIXED_COLOUR_INDEX]
    if len(unknown) > len(spare):
        spare = sns.color_palette("husl", len(unknown))
    out = {x: base[_FIXED_COLOUR_INDEX[x]] for x in order if x in _FIXED_COLOUR_INDEX}
    out.update(zip(unknown, spare, strict=False))
    return out


def _nunique(col: pd.Series) -> int:
    try:
        return int(col.nunique(dropna=True))
    except TypeError:  # unhashable values such as lists
        return int(col.dropna().astype(str).nunique())


def swept_parameters(runs: pd.DataFrame, exclude: Iterable[str] = ("strategy",)) -> list[str]:
    """Swept parameter columns of ``runs`` that take at least two values.

    The names come from ``runs.attrs["swept"]`` when the runner stored them; otherwise every
    column whose name is a dotted path (``"strategy.master.max_split"``), except a
    ``<...>.strategy`` choice, is a candidate.
    """
    declared = runs.attrs.get("swept")
    if declared is not None:
        candidates = [c for c in declared if c in runs.columns]
    else:
        # a sweep over a group's strategy shows up in the strategy column, not as a parameter
        candidates = [c for c in runs.columns if "." in str(c) and not str(c).endswith(".strategy")]
    skip = set(exclude)
    return [c for c in candidates if c not in skip and _nunique(runs[c]) > 1]


def _format_axes(ax: Axes, x: str | None, y: str | None) -> None:
    """Units on the axis labels; SI prefixes on byte axes (1.2M rather than 1200000)."""
    if x is not None:
        ax.set_xlabel(label(x))
        if x.endswith("bytes"):
            ax.xaxis.set_major_formatter(EngFormatter())
    if y is not None:
        ax.set_ylabel(label(y))
        if y.endswith("bytes"):
            ax.yaxis.set_major_formatter(EngFormatter())


def _interval_text(errorbar: Any) -> str:
    if isinstance(errorbar, tuple) and len(errorbar) == 2 and errorbar[0] == "ci":
        return f"{errorbar[1]:g}% CI"
    if errorbar is None:
        return "no interval"
    return str(errorbar[0] if isinstance(errorbar, tuple) else errorbar)


def _n_text(counts: pd.Series) -> str:
    lo, hi = int(counts.min()), int(counts.max())
    return f"n = {lo} runs each" if lo == hi else f"n = {lo}–{hi} runs"


def ecdf_time_to_fetch(peers: pd.DataFrame, hue: str = "strategy") -> Figure:
    """ECDF of leeches' time to fetch (s), one step line per ``hue`` level.

    Leeches (``role == "leech"``) of every run in ``peers`` are pooled. The denominator is every
    leech, completed or not, so a line that ends below 1 shows the share that never finished;
    the legend then says how many did (``"master (30/32 completed)"``).
    """
    leeches = peers.loc[peers["role"] == "leech", [hue, "time_to_fetch_s", "run_id"]]
    if leeches.empty:
        raise ValueError("peers has no leeches (role == 'leech')")
    fig, ax = _new_axes()
    colours = palette(leeches[hue], hue)
    for level in hue_order(leeches[hue], hue):
        times = leeches.loc[leeches[hue] == level, "time_to_fetch_s"].to_numpy(dtype=float)
        total = times.size
        done = np.sort(times[~np.isnan(times)])
        text = str(level) if done.size == total else f"{level} ({done.size}/{total} completed)"
        if done.size == 0:
            ax.plot([], [], color=colours[level], label=text)
            continue
        xs = np.concatenate([[done[0]], done])
        ys = np.concatenate([[0.0], np.arange(1, done.size + 1) / total])
        ax.step(xs, ys, where="post", color=colours[level], label=text)
    ax.set_xlim(left=0.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel(label("time_to_fetch_s"))
    ax.set_ylabel("fraction of leeches done")
    ax.legend(title=hue, loc="best")
    n_runs = leeches["run_id"].nunique()
    ax.set_title(f"Time to fetch: {len(leeches)} leeches pooled over {n_runs} runs")
    return fig


def makespan_by_strategy(
    runs: pd.DataFrame,
    reference: Mapping[str, float] | None = None,
    *,
    y: str = "makespan_s",
    reference_label: str = "reference",
    errorbar: Any = ("ci", 95),
) -> Figure:
    """Bar per strategy: mean ``y`` (default makespan, s) over runs with its 95% CI.

    Runs with a NaN ``y`` are left out (the title says how many): the mean is then over runs
    in which every leech finished, which flatters a strategy that sometimes stalls.

    ``reference`` maps strategy to a published value in the units of ``y`` (for instance
    ``BLOG_REFERENCE_S``), drawn as black diamonds labelled ``reference_label`` in the
    legend; a strategy that is only in ``reference`` gets an empty slot with its diamond.
    """
    data = runs.dropna(subset=[y])
    if data.empty:
        raise ValueError(f"runs has no non-NaN {y!r}")
    ref = dict(reference or {})
    order = hue_order([*data["strategy"], *ref])
    fig, ax = _new_axes()
    sns.barplot(
        data=data,
        x="strategy",
        y=y,
        hue="strategy",
        order=order,
        hue_order=[s for s in order if s in set(data["strategy"])],
        palette=palette(data["strategy"]),
        errorbar=errorbar,
        seed=_SEED,
        capsize=0.15,
        legend=False,
        ax=ax,
    )
    if ref:
        xs = [order.index(s) for s in ref]
        ax.scatter(
            xs,
            list(ref.values()),
            marker="D",
            s=45,
            color="black",
            zorder=5,
            label=reference_label,
        )
        ax.legend(loc="best")
    _format_axes(ax, None, y)
    ax.set_xlabel("strategy")
    counts = data.groupby("strategy").size()
    what = label(y).split(" (")[0]
    title = f"{what.capitalize()} by strategy (mean, {_interval_text(errorbar)}; {_n_text(counts)})"
    omitted = len(runs) - len(data)
    if omitted:  # e.g. the runner leaves makespan NaN when a leech did not finish
        title += f"\n{omitted} run(s) without a {what} left out"
    ax.set_title(title)
    return fig


def sweep_line(
    runs: pd.DataFrame,
    x: str,
    y: str,
    hue: str = "strategy",
    *,
    style: str | None = None,
    errorbar: Any = ("ci", 95),
    logx: bool | None = None,
) -> Figure:
    """Mean ``y`` against a swept parameter ``x``, one line and 95% CI band per ``hue`` level.

    Runs at the same ``x`` (and ``style``) are the replicates the interval is taken over; pass
    a second swept parameter as ``style`` rather than letting it pool. A numeric ``x`` is drawn
    on a linear axis, or a log axis when ``logx`` is true (None: log when positive and spanning
    at least a factor of 100); any other ``x`` as sorted categories.
    """
    cols = [x, y, hue] + ([style] if style else [])
    data = runs.loc[:, cols].dropna(subset=[x, y])
    if data.empty:
        raise ValueError(f"runs has no rows with both {x!r} and {y!r}")
    numeric = pd.api.types.is_numeric_dtype(data[x]) and not pd.api.types.is_bool_dtype(data[x])
    if not numeric:
        data = data.assign(**{x: data[x].astype(str)}).sort_values(x, kind="stable")
    fig, ax = _new_axes()
    sns.lineplot(
        data=data,
        x=x,
        y=y,
        hue=hue,
        style=style,
        hue_order=hue_order(data[hue], hue),
        palette=palette(data[hue], hue),
        errorbar=errorbar,
        seed=_SEED,
        marker="o",
        ax=ax,
    )
    if numeric:
        xs = data[x].to_numpy(dtype=float)
        if logx is None:
            logx = bool(xs.min() > 0 and xs.max() >= 100 * xs.min())
        if logx:
            ax.set_xscale("log")
    _format_axes(ax, x, y)
    what = label(y).split(" (")[0]
    counts = data.groupby([hue, x] + ([style] if style else []), dropna=False).size()
    ax.set_title(
        f"{what.capitalize()} vs {x} (mean, {_interval_text(errorbar)}; {_n_text(counts)})"
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
    """One point per run, ``y`` against ``x``, coloured by ``hue``.

    With ``means`` (default), each level also gets a large marker at its mean with Student-t
    95% interval crosshairs in both directions (``experiments.stats.mean_ci``); turn it off
    when ``runs`` pools several parameter points.
    """
    data = runs.dropna(subset=[x, y])
    if data.empty:
        raise ValueError(f"runs has no rows with both {x!r} and {y!r}")
    order = hue_order(data[hue], hue)
    colours = palette(data[hue], hue)
    fig, ax = _new_axes()
    sns.scatterplot(
        data=data,
        x=x,
        y=y,
        hue=hue,
        hue_order=order,
        palette=colours,
        alpha=0.55 if means else 0.8,
        s=28,
        ax=ax,
    )
    if means:
        for level in order:
            part = data.loc[data[hue] == level]
            mx, xlo, xhi = mean_ci(part[x])
            my, ylo, yhi = mean_ci(part[y])
            xerr = None if np.isnan(xlo) else [[mx - xlo], [xhi - mx]]
            yerr = None if np.isnan(ylo) else [[my - ylo], [yhi - my]]
            ax.errorbar(
                [mx],
                [my],
                xerr=xerr,
                yerr=yerr,
                fmt="o",
                markersize=9,
                markeredgecolor="black",
                color=colours[level],
                ecolor=colours[level],
                capsize=3,
                zorder=4,
                label="_nolegend_",
            )
    _format_axes(ax, x, y)
    title = f"{label(y).split(' (')[0].capitalize()} vs {label(x).split(' (')[0]}"
    if means:
        title += "\n(points: runs; large markers: mean, 95% t CI)"
    ax.set_title(title)
    return fig


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
            if _has(runs, x, metric):
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
        if peers is not None and _has(peers.loc[peers["role"] == "leech"], "time_to_fetch_s"):
            figures.append(("ecdf_time_to_fetch", ecdf_time_to_fetch(peers)))
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
) -> list[Path]:
    """Write every figure that makes sense for the data as PNG into ``out_dir``; return paths.

    Without a swept parameter: ``makespan.png``, ``mean_time_to_fetch.png`` (with
    ``reference`` markers: published times are averages over leeches),
    ``ecdf_time_to_fetch.png`` and ``tradeoff.png``. With swept parameters (see
    ``swept_parameters``): ``sweep_<param>_<metric>.png`` for each of ``SWEEP_METRICS``, and
    ``tradeoff.png`` without means; the pooled makespan and ECDF figures are skipped, since they
    would mix parameter points. With two swept parameters each is drawn against the other as
    line style; with more, no sweep figure (and a warning). Several scenarios get one set of
    figures each, named ``<scenario>-<figure>.png``; ``reference`` applies to every one of them.

    With ``transfers`` (and ``progress``), also ``who_served_whom.png`` (``progress.png``) of
    each scenario's first run and, without a swept parameter, ``who_served_whom_groups.png``
    (``progress_by_strategy.png``) over all its runs. ``topologies`` maps a scenario name to
    ``(graph, roles)`` of its first run (:func:`experiments.runplots.run_graph`):
    ``topology.png``.
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
        )
        for name, fig in figures:
            path = out / f"{prefix}{name}.png"
            fig.savefig(path, dpi=dpi)
            paths.append(path)
    return paths
