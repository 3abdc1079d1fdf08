"""Figures of what happens inside runs: who served whom, fetch progress, the topology.

:mod:`experiments.plots` draws run-level summaries from ``runs`` and ``peers``; the figures
here need the runner's other two tables (``transfers`` and ``progress``, see
:mod:`experiments.collect`) or a run's network graph. Same conventions: each function returns
a ``matplotlib.figure.Figure`` built without ``pyplot``; seaborn draws with ``ax=``; strategies
keep their fixed colours.

* :func:`who_served_whom`: heatmap of the blocks one run's peers sent each other, peers
  ordered by group (seeds first, leeches last); :func:`who_served_whom_groups`: group x group,
  mean per run, one panel per strategy.
* :func:`progress_curves`: one step line per leech of one run, blocks (or bytes) local against
  seconds since its fetch started; :func:`progress_by_strategy`: the median curve per strategy
  with an interquartile band over leeches, pooled over runs.
* :func:`topology`: a network graph (``Network.graph``) with nodes coloured by region and
  marked by role; :func:`run_graph` rebuilds a scenario run's graph and roles without running
  it, so results never need to store graphs.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import EngFormatter

from experiments.plots import hue_order, palette, styles

if TYPE_CHECKING:
    from experiments.scenario import Scenario

__all__ = [
    "ROLE_MARKERS",
    "progress_by_strategy",
    "progress_curves",
    "run_graph",
    "run_topology_figures",
    "topology",
    "who_served_whom",
    "who_served_whom_groups",
]

ROLE_MARKERS = {"seed": "s", "leech": "o", "other": "^"}
"""Marker per role in :func:`topology` (squares: seeds, circles: leeches, triangles: others)."""
_ROLE_RANK = {"seed": 0, "other": 1, "leech": 2}

TRANSFER_LABELS = {
    "blocks": "blocks received from the sender (duplicates included)",
    "bytes": "block bytes received from the sender (duplicates included)",
    "dup_blocks": "duplicate blocks received from the sender",
    "blocks_sent": "blocks sent",
}
PROGRESS_LABELS = {"blocks": "blocks fetched (cumulative)", "bytes": "bytes fetched (cumulative)"}
PROGRESS_X_LABEL = "time since the leech's fetch started (s)"


# --------------------------------------------------------------------------------- helpers
def _natural(name: Any) -> tuple[Any, ...]:
    """Sort key: ``leeches-2`` before ``leeches-10``."""
    parts = re.split(r"(\d+)", str(name))
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def _group_order(groups: Iterable[Any], roles: Mapping[Any, str]) -> list[Any]:
    """Groups by role (seeds, others, leeches; ``roles`` maps group to role), then name."""
    distinct = {g for g in groups if not pd.isna(g)}
    return sorted(distinct, key=lambda g: (_ROLE_RANK.get(roles.get(g, "other"), 1), _natural(g)))


def _transfer_roles(transfers: pd.DataFrame) -> dict[Any, str]:
    """Role-like rank of groups from transfers alone: a group that only sends is a ``seed``,
    one that only receives a ``leech``."""
    senders, receivers = set(transfers["src_group"]), set(transfers["dst_group"])
    return {
        g: "seed" if g not in receivers else "leech" if g not in senders else "other"
        for g in senders | receivers
    }


def _first_run(frame: pd.DataFrame, run_id: str | None, what: str) -> tuple[str, pd.DataFrame]:
    if frame.empty:
        raise ValueError(f"{what} has no rows")
    rid = str(min(frame["run_id"])) if run_id is None else run_id
    part = frame.loc[frame["run_id"] == rid]
    if part.empty:
        known = sorted(map(str, frame["run_id"].unique()))[:5]
        raise ValueError(f"{what} has no rows for run {rid!r}; runs: {known} ...")
    return rid, part


def _size(n: int, lo: float = 5.0, hi: float = 12.0, per: float = 0.2) -> float:
    return min(hi, max(lo, 2.5 + per * n))


# --------------------------------------------------------------------------------- who served whom
def who_served_whom(
    transfers: pd.DataFrame,
    run_id: str | None = None,
    *,
    peers: pd.DataFrame | None = None,
    value: str = "blocks",
    annotate: bool | None = None,
) -> Figure:
    """Heatmap of one run (default: the first ``run_id``): row = sender, column = receiver,
    cell = ``value`` (``blocks``, ``bytes``, ``dup_blocks`` or ``blocks_sent``).

    Peers are ordered by group (seed groups first, leech groups last) and by name, with red
    lines between groups. With ``peers`` (the runner's peer table) every peer of the run gets a row
    and a column, also those that exchanged nothing; otherwise only peers in ``transfers``.
    Pairs that exchanged nothing are left blank. ``annotate``: write the numbers in the cells
    (default: when there are at most 12 peers).
    """
    rid, part = _first_run(transfers, run_id, "transfers")
    group_of: dict[Any, Any] = dict(zip(part["src"], part["src_group"], strict=True))
    group_of.update(zip(part["dst"], part["dst_group"], strict=True))
    group_role = _transfer_roles(part)
    if peers is not None:
        group_role = {}
        mine = peers.loc[peers["run_id"] == rid]
        group_of.update(zip(mine["peer"], mine["group"], strict=True))
        for g, role in zip(mine["group"], mine["role"], strict=True):  # its most seed-like
            group_role[g] = min(role, group_role.get(g, role), key=lambda r: _ROLE_RANK.get(r, 1))
    groups = _group_order(group_of.values(), group_role)
    rank = {g: i for i, g in enumerate(groups)}
    order = sorted(group_of, key=lambda p: (rank.get(group_of[p], len(rank)), _natural(p)))
    matrix = (
        part.groupby(["src", "dst"])[value]
        .sum()
        .unstack(fill_value=0)
        .reindex(index=order, columns=order, fill_value=0)
    )
    n = len(order)
    side = _size(n)
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.add_subplot()
    annot = n <= 12 if annotate is None else annotate
    ticks = n <= 40
    sns.heatmap(
        matrix,
        ax=ax,
        mask=matrix.to_numpy() == 0,
        vmin=0.0,  # explicit: with every cell masked (no block moved) seaborn cannot infer it
        vmax=float(matrix.to_numpy().max()) or 1.0,
        cmap="viridis",
        annot=matrix.map(lambda v: _cell_text(v, value)) if annot else False,
        fmt="",
        square=True,
        xticklabels=ticks,
        yticklabels=ticks,
        cbar_kws={"label": TRANSFER_LABELS.get(value, value)},
    )
    ax.set_facecolor("white")
    bounds = [i for i in range(1, n) if group_of[order[i]] != group_of[order[i - 1]]]
    for b in bounds:  # red: visible on every viridis colour and on blank cells
        ax.axhline(b, color="tab:red", linewidth=1.2, zorder=3)
        ax.axvline(b, color="tab:red", linewidth=1.2, zorder=3)
    if not ticks:  # too many peers to name: name the groups at their centres
        edges = [0, *bounds, n]
        centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        names = [str(group_of[order[a]]) for a in edges[:-1]]
        ax.set_xticks(centres, names, rotation=90)
        ax.set_yticks(centres, names, rotation=0)
    ax.set_xlabel("receiver (dst)")
    ax.set_ylabel("sender (src)")
    strategy = ", ".join(map(str, dict.fromkeys(part["strategy"])))
    what = TRANSFER_LABELS.get(value, value).split(" received")[0].split(" (")[0]
    ax.set_title(f"Who served whom ({what})\n{rid} ({strategy})")
    return fig


def who_served_whom_groups(
    transfers: pd.DataFrame, *, value: str = "blocks", hue: str = "strategy"
) -> Figure:
    """Group x group heatmaps, one panel per ``hue`` level (strategy): the mean ``value`` per
    run that peers of the row group sent to peers of the column group, over the runs (with at
    least one transfer) of that level. Each panel has the groups of its own runs; one colour
    scale for all panels. The registry's ``blocks`` are blobs: compare it with Bitswap in
    ``bytes``."""
    if transfers.empty:
        raise ValueError("transfers has no rows")
    levels = hue_order(transfers[hue], hue)
    order = _group_order(
        [*transfers["src_group"], *transfers["dst_group"]], _transfer_roles(transfers)
    )
    mats = []
    for level in levels:
        part = transfers.loc[transfers[hue] == level]
        mine = set(part["src_group"]) | set(part["dst_group"])
        groups = [g for g in order if g in mine]
        runs = part["run_id"].nunique()
        mat = (
            part.groupby(["src_group", "dst_group"])[value]
            .sum()
            .unstack(fill_value=0)
            .reindex(index=groups, columns=groups, fill_value=0)
            / runs
        )
        mats.append((level, runs, mat))
    vmax = max(float(m.to_numpy().max()) for _, _, m in mats) or 1.0
    side = _size(max(len(m) for _, _, m in mats), lo=3.6, hi=6.0, per=0.5)
    fig = Figure(figsize=(max(6.4, side * len(levels) + 1.6), side + 1.2), layout="constrained")
    axes = fig.subplots(1, len(levels), squeeze=False)[0]
    for i, (ax, (level, runs, mat)) in enumerate(zip(axes, mats, strict=True)):
        last = i == len(mats) - 1
        sns.heatmap(
            mat,
            ax=ax,
            vmin=0.0,
            vmax=vmax,
            cmap="viridis",
            annot=mat.map(lambda v: _cell_text(v, value)) if len(mat) <= 8 else False,
            fmt="",
            square=True,
            cbar=last,
            cbar_kws={"label": f"{value} per run (mean)"} if last else None,
        )
        if value == "bytes":
            cbar = ax.collections[0].colorbar
            if cbar is not None:
                cbar.formatter = EngFormatter(unit="B")
        blobs = "blobs; " if level == "registry" and value in ("blocks", "blocks_sent") else ""
        ax.set_title(f"{level} ({blobs}mean of {runs} run{'s' if runs != 1 else ''})")
        ax.set_xlabel("receiver group")
        ax.set_ylabel("sender group" if i == 0 else "")
    what = TRANSFER_LABELS.get(value, value).split(" received")[0].split(" (")[0]
    fig.suptitle(f"Who served whom by group: {what} per run\n(sender group → receiver group)")
    return fig


def _cell_text(v: float, value: str) -> str:
    if v == 0:
        return "0"
    if value == "bytes":
        return str(EngFormatter(unit="B", places=1)(v))
    return f"{v:.0f}" if abs(v) >= 10 else f"{v:.2g}"


# --------------------------------------------------------------------------------- progress
def progress_curves(
    progress: pd.DataFrame, run_id: str | None = None, *, y: str = "blocks", hue: str = "group"
) -> Figure:
    """One step line per leech of one run (default: the first ``run_id``): ``y`` (``blocks``
    or ``bytes`` fetched, cumulative) against seconds since that leech's fetch started, from
    (0, 0) to its last block; coloured by ``hue`` (group, or strategy). A leech that received
    no block has no rows in ``progress`` and no line."""
    rid, part = _first_run(progress, run_id, "progress")
    style = styles(part[hue], hue)
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    counts: dict[Any, int] = {}
    for peer in sorted(dict.fromkeys(part["peer"]), key=_natural):
        rows = part.loc[part["peer"] == peer]
        level = rows[hue].iloc[0]
        counts[level] = counts.get(level, 0) + 1
        xs = np.concatenate([[0.0], rows["t_s"].to_numpy(dtype=float)])
        ys = np.concatenate([[0], rows[y].to_numpy()])
        st = style[level]
        ax.step(
            xs,
            ys,
            where="post",
            color=st.colour,
            linestyle=st.linestyle,
            linewidth=1.1,
            alpha=0.85,
        )
    handles = [
        Line2D(
            [],
            [],
            color=style[level].colour,
            linestyle=style[level].linestyle,
            label=f"{level} ({counts[level]})",
        )
        for level in hue_order(counts, hue)
    ]
    ax.legend(handles=handles, title=f"{hue} (leeches)", loc="lower right")
    _progress_axes(ax, y)
    strategy = ", ".join(map(str, dict.fromkeys(part["strategy"])))
    ax.set_title(f"Fetch progress per leech\n{rid} ({strategy})")
    return fig


def _progress_axes(ax: Any, y: str) -> None:
    """Axes of a progress plot: from 0, time since fetch start on x, ``y`` (bytes in B)."""
    ax.set_xlim(left=0.0)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel(PROGRESS_X_LABEL)
    ax.set_ylabel(PROGRESS_LABELS.get(y, y))
    if y == "bytes":
        ax.yaxis.set_major_formatter(EngFormatter(unit="B"))


def progress_by_strategy(
    progress: pd.DataFrame,
    *,
    y: str = "bytes",
    hue: str = "strategy",
    band: tuple[float, float] = (0.25, 0.75),
    points: int = 400,
) -> Figure:
    """Median fetch progress per ``hue`` level over every leech of every run in ``progress``,
    with a band between the ``band`` quantiles (default: the interquartile range).

    Each leech's step curve is read on a common grid of ``points`` times from 0 to the last
    ``t_s``; a leech that is done stays at its total. ``y`` defaults to ``bytes`` so that the
    registry (whose ``blocks`` are blobs) compares with Bitswap.
    """
    if progress.empty:
        raise ValueError("progress has no rows")
    grid = np.linspace(0.0, float(progress["t_s"].max()), points)
    style = styles(progress[hue], hue)
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    for level in hue_order(progress[hue], hue):
        part = progress.loc[progress[hue] == level]
        curves = []
        for _, rows in part.groupby(["run_id", "peer"], sort=False):
            t = rows["t_s"].to_numpy(dtype=float)
            v = rows[y].to_numpy(dtype=float)
            k = np.searchsorted(t, grid, side="right")
            curves.append(np.where(k > 0, v[np.maximum(k - 1, 0)], 0.0))
        stack = np.vstack(curves)
        lo, mid, hi = np.quantile(stack, [band[0], 0.5, band[1]], axis=0)
        runs = part["run_id"].nunique()
        ax.plot(
            grid,
            mid,
            color=style[level].colour,
            linestyle=style[level].linestyle,
            label=f"{level} ({len(curves)} leeches, {runs} run{'s' if runs != 1 else ''})",
        )
        ax.fill_between(grid, lo, hi, color=style[level].colour, alpha=0.2, linewidth=0)
    ax.legend(title=hue, loc="lower right")
    _progress_axes(ax, y)
    pct = f"{band[0] * 100:g}–{band[1] * 100:g}%"
    ax.set_title(f"Fetch progress: median over leeches (band: {pct} of leeches)")
    return fig


# --------------------------------------------------------------------------------- topology
def _region_layout(graph: nx.Graph, region_of: Mapping[Any, str]) -> dict[Any, tuple[float, float]]:
    """Regions' centres on a unit circle, each region's nodes on a small circle round it."""
    regions = sorted(set(region_of.values()), key=_natural)
    r_out = 0.0 if len(regions) == 1 else 1.0
    r_in = 1.0 if len(regions) == 1 else 0.6 * math.sin(math.pi / len(regions))
    pos: dict[Any, tuple[float, float]] = {}
    for i, region in enumerate(regions):
        a = math.pi - 2 * math.pi * i / len(regions)  # the first region on the left
        cx, cy = r_out * math.cos(a), r_out * math.sin(a)
        members = sorted((n for n in graph if region_of[n] == region), key=_natural)
        for j, node in enumerate(members):
            if len(members) == 1:
                pos[node] = (cx, cy)
                continue
            b = math.pi / 2 - 2 * math.pi * j / len(members)
            pos[node] = (cx + r_in * math.cos(b), cy + r_in * math.sin(b))
    return pos


def topology(
    graph: nx.Graph,
    roles: Mapping[Hashable, str],
    regions: Mapping[Hashable, str | None] | None = None,
    *,
    layout: str = "regions",
    seed: int = 0,
    labels: bool | None = None,
    title: str | None = None,
) -> Figure:
    """The network drawn with networkx: one marker per node, one line per connection (both
    directions of a ``DiGraph`` are one line).

    Colour: region (``regions`` maps node to region; default: the nodes' ``region``
    attribute, as :class:`~sim.network.Network` sets it). Marker: role from ``roles``
    (:data:`ROLE_MARKERS`; nodes missing from ``roles`` are ``other``). ``layout``:
    ``regions`` (regions on a circle, each region's nodes on a small circle), ``spring``
    (networkx's spring layout, seeded with ``seed``) or ``circular``. ``labels``: write node
    names (default: at most 24 nodes).
    """
    g = nx.Graph(graph)
    if g.number_of_nodes() == 0:
        raise ValueError("the graph has no nodes")
    given = regions or {}
    region_of = {
        n: str(given.get(n, g.nodes[n].get("region")) or "no region")
        for n in g  # None: "no region"
    }
    if layout == "regions":
        pos = _region_layout(g, region_of)
    elif layout == "spring":
        pos = {n: (float(x), float(y)) for n, (x, y) in nx.spring_layout(g, seed=seed).items()}
    elif layout == "circular":
        ordered = nx.Graph()
        ordered.add_nodes_from(sorted(g, key=_natural))
        pos = {n: (float(x), float(y)) for n, (x, y) in nx.circular_layout(ordered).items()}
    else:
        raise ValueError(f"unknown layout {layout!r}; allowed: regions, spring, circular")
    n_nodes, n_edges = g.number_of_nodes(), g.number_of_edges()
    side = _size(n_nodes, lo=5.0, hi=9.0, per=0.08)
    fig = Figure(figsize=(side + 2.2, side), layout="constrained")
    ax = fig.add_subplot()
    segments = [(pos[u], pos[v]) for u, v in g.edges()]
    alpha = min(0.7, max(0.05, 6.0 / math.sqrt(max(n_edges, 1))))
    ax.add_collection(
        LineCollection(segments, colors="0.45", linewidths=0.6, alpha=alpha, zorder=1)
    )
    colours = palette(region_of.values(), hue="region")
    marker_size = max(25.0, 160.0 - 2.0 * n_nodes)
    present = {str(roles.get(n, "other")) for n in g}
    role_list = [r for r in ROLE_MARKERS if r in present] + sorted(present - set(ROLE_MARKERS))
    for role in role_list:
        nodes = sorted((n for n in g if str(roles.get(n, "other")) == role), key=_natural)
        ax.scatter(
            [pos[n][0] for n in nodes],
            [pos[n][1] for n in nodes],
            c=[colours[region_of[n]] for n in nodes],
            marker=ROLE_MARKERS.get(role, "D"),
            s=marker_size,
            edgecolors="black",
            linewidths=0.6,
            zorder=3,
            label=role,
        )
    if labels if labels is not None else n_nodes <= 24:
        for n in g:
            ax.annotate(
                str(n), pos[n], xytext=(0, 7), textcoords="offset points", ha="center", fontsize=7
            )
    region_legend = ax.legend(
        handles=[Patch(color=colours[r], label=r) for r in hue_order(colours, "region")],
        title="region (colour)",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    ax.add_artist(region_legend)
    ax.legend(
        handles=[
            Line2D(
                [],
                [],
                linestyle="",
                marker=ROLE_MARKERS.get(r, "D"),
                markerfacecolor="0.8",
                markeredgecolor="black",
                markersize=8,
                label=f"{r} ({sum(1 for n in g if str(roles.get(n, 'other')) == r)})",
            )
            for r in role_list
        ],
        title="role (marker)",
        loc="lower left",
        bbox_to_anchor=(1.01, 0.0),
    )
    ax.autoscale_view()
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.08)
    ax.set_axis_off()
    ax.set_title(f"{title or 'Topology'}: {n_nodes} peers, {n_edges} connections")
    return fig


def run_graph(
    scenario: Scenario, run_id: str | None = None, *, seed: int | None = None
) -> tuple[nx.DiGraph, dict[Hashable, str]]:
    """(network graph, role per node) of one run of ``scenario`` (default: its first run;
    ``seed``: the root seed the runs used, the ``seed`` column of ``runs``), rebuilt with
    :func:`experiments.build.build_run` without running it: the same topology, regions and
    latencies the run had. Roles are ``seed``, ``leech`` or ``other`` (the registry server is a
    seed, its clients leeches)."""
    from experiments.build import build_run
    from experiments.runner import plan

    specs = plan(scenario, seed=seed)
    spec = specs[0] if run_id is None else next((s for s in specs if s.run_id == run_id), None)
    if spec is None:
        raise ValueError(f"{scenario.name} has no run {run_id!r} (runs: {specs[0].run_id} ...)")
    built = build_run(spec.scenario, spec.replicate, spec.seed)
    if built.swarm is not None:
        roles = dict(built.swarm.roles)
    else:
        assert built.registry is not None
        server = built.registry.server
        roles = {n: "seed" if n == server else "leech" for n in built.net.nodes}
    return built.net.graph, roles


# --------------------------------------------------------------------------------- write_all
def run_topology_figures(
    runs: pd.DataFrame,
    peers: pd.DataFrame | None,
    transfers: pd.DataFrame | None,
    progress: pd.DataFrame | None,
    topology_of: tuple[nx.Graph, Mapping[Hashable, str]] | None,
    *,
    pooled: bool,
    run_ids: Sequence[str] = (),
) -> list[tuple[str, Figure]]:
    """(name, figure) pairs of this module for one scenario's tables (what
    :func:`experiments.plots.write_all` adds): ``who_served_whom`` and ``progress`` of the first
    run of each strategy (named ``..._<strategy>`` when there are several, as in a sweep over
    strategies) and of every run in ``run_ids`` (``..._<run_id>``), ``topology`` of the first
    run, and, when ``pooled`` (no swept parameter to keep apart), ``who_served_whom_groups``
    and ``progress_by_strategy`` over all runs."""
    figures: list[tuple[str, Figure]] = []
    if not len(runs):
        return figures
    ordered = runs.sort_values("run_id")
    firsts = ordered.groupby("strategy", sort=False)["run_id"].first()
    chosen = [(str(s), str(firsts[s])) for s in hue_order(firsts.index)]
    several = len(chosen) > 1
    picks = [(f"_{_file(s)}" if several else "", rid) for s, rid in chosen]
    known = set(runs["run_id"])
    for rid in run_ids:
        if rid not in known:
            raise ValueError(f"no run {rid!r} in these results; runs: {sorted(known)[:3]} ...")
        picks.append((f"_{_file(rid)}", rid))
    for suffix, rid in picks:
        if transfers is not None and (transfers["run_id"] == rid).any():
            figures.append(
                (f"who_served_whom{suffix}", who_served_whom(transfers, rid, peers=peers))
            )
    if transfers is not None and pooled and len(transfers):
        value = "bytes" if "registry" in set(transfers["strategy"]) else "blocks"
        figures.append(("who_served_whom_groups", who_served_whom_groups(transfers, value=value)))
    for suffix, rid in picks:
        if progress is not None and (progress["run_id"] == rid).any():
            figures.append((f"progress{suffix}", progress_curves(progress, rid)))
    if progress is not None and pooled and len(progress):
        figures.append(("progress_by_strategy", progress_by_strategy(progress)))
    if topology_of is not None:
        graph, roles = topology_of
        rid = str(ordered["run_id"].iloc[0])
        figures.append(("topology", topology(graph, roles, title=f"Topology of {rid}")))
    return figures


def _file(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "x"
