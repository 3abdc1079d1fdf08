"""Who served whom, progress and topology figures, drawn from a real small run: types, axis
labels, series counts, PNG files from write_all and the command."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection, QuadMesh
from matplotlib.figure import Figure

from experiments.plots import write_all
from experiments.runner import plan, run_one
from experiments.runplots import (
    PROGRESS_X_LABEL,
    progress_by_strategy,
    progress_curves,
    run_graph,
    topology,
    who_served_whom,
    who_served_whom_groups,
)
from experiments.scenario import load_scenario

DATA = Path(__file__).parent / "data"
DPI = 40
PEERS = 6  # small.toml: 2 seeds, 4 leeches
LEECHES = 4


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(DATA / "small.toml")


@pytest.fixture(scope="module")
def tables(scenario):
    """(runs, peers, transfers, progress) of small.toml's two replicates, from run_one."""
    results = [run_one(spec) for spec in plan(scenario)]
    runs = pd.DataFrame([r.row for r in results])
    peers = pd.DataFrame([p for r in results for p in r.peers])
    transfers = pd.concat([r.transfers for r in results], ignore_index=True)
    progress = pd.concat([r.progress for r in results], ignore_index=True)
    return runs, peers, transfers, progress


def _mesh(ax):
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    return mesh


def test_who_served_whom_one_cell_per_pair_of_peers(tables):
    runs, peers, transfers, _ = tables
    first = runs["run_id"].min()
    fig = who_served_whom(transfers, peers=peers)
    assert isinstance(fig, Figure)
    ax, colorbar = fig.axes
    assert ax.get_xlabel() == "receiver (dst)" and ax.get_ylabel() == "sender (src)"
    assert first in ax.get_title()
    assert colorbar.get_ylabel() == "blocks received from the sender (duplicates included)"
    cells = _mesh(ax).get_array()
    assert cells.size == PEERS * PEERS
    # seeds first, then leeches; a blank cell is a pair that exchanged nothing
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == ["seeds-0", "seeds-1", "leeches-0", "leeches-1", "leeches-2", "leeches-3"]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    mine = transfers[transfers["run_id"] == first]
    assert cells.sum() == mine["blocks"].sum()
    grid = np.ma.filled(cells, 0).reshape(PEERS, PEERS)
    assert grid[:, :2].sum() == 0  # nobody sends to the seeds
    assert grid[0, 2] == mine.set_index(["src", "dst"]).loc[("seeds-0", "leeches-0"), "blocks"]
    assert len(ax.texts) == np.count_nonzero(grid)  # annotated: 6 peers
    # without the peers table: only peers that took part (all of them here)
    other = who_served_whom(transfers, runs["run_id"].max(), value="bytes")
    assert _mesh(other.axes[0]).get_array().size == PEERS * PEERS


def test_who_served_whom_by_group_one_panel_per_strategy(tables):
    _, _, transfers, _ = tables
    both = pd.concat([transfers, transfers.assign(strategy="master")], ignore_index=True)
    fig = who_served_whom_groups(both)
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "receiver group"]
    assert [ax.get_title() for ax in panels] == ["master (mean of 2 runs)", "poc (mean of 2 runs)"]
    assert panels[0].get_ylabel() == "sender group"
    for ax in panels:
        cells = _mesh(ax).get_array()
        assert cells.size == 2 * 2  # seeds, leeches
        # the mean over the two runs of what the seeds sent the leeches
        seeds_to_leeches = transfers.loc[transfers["src_group"] == "seeds", "blocks"].sum() / 2
        assert cells.reshape(2, 2)[0, 1] == pytest.approx(seeds_to_leeches)
    assert len(fig.axes) == 3  # two panels and one shared colour bar


def test_progress_one_line_per_leech_ending_at_the_file(tables):
    runs, _, _, progress = tables
    fig = progress_curves(progress)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xlabel() == PROGRESS_X_LABEL
    assert ax.get_ylabel() == "blocks fetched (cumulative)"
    assert runs["run_id"].min() in ax.get_title()
    lines = ax.get_lines()
    assert len(lines) == LEECHES
    for line in lines:
        assert line.get_xdata()[0] == 0.0 and line.get_ydata()[0] == 0
        assert line.get_ydata()[-1] == 17  # every block of the 4 MiB file
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"leeches ({LEECHES})"]
    (ax,) = progress_curves(progress, runs["run_id"].max(), y="bytes").axes
    assert ax.get_ylabel() == "bytes fetched (cumulative)" and len(ax.get_lines()) == LEECHES
    with pytest.raises(ValueError, match="no rows for run 'nope'"):
        progress_curves(progress, "nope")


def test_progress_by_strategy_median_and_band(tables):
    _, _, _, progress = tables
    both = pd.concat([progress, progress.assign(strategy="master")], ignore_index=True)
    (ax,) = progress_by_strategy(both).axes
    assert ax.get_xlabel() == PROGRESS_X_LABEL
    assert ax.get_ylabel() == "bytes fetched (cumulative)"
    lines = ax.get_lines()
    assert len(lines) == 2 and len(ax.collections) == 2  # a median and a band per strategy
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "master (8 leeches, 2 runs)",
        "poc (8 leeches, 2 runs)",
    ]
    total = progress.groupby(["run_id", "peer"])["bytes"].max().iloc[0]
    assert lines[1].get_ydata()[-1] == total and lines[1].get_ydata()[0] == 0


def test_topology_nodes_by_role_and_region(scenario):
    graph, roles = run_graph(scenario)
    assert isinstance(graph, nx.DiGraph) and graph.number_of_nodes() == PEERS
    assert roles == {**{f"seeds-{i}": "seed" for i in range(2)}, **{
        f"leeches-{i}": "leech" for i in range(LEECHES)}}  # fmt: skip
    for layout in ("regions", "spring", "circular"):
        fig = topology(graph, roles, layout=layout)
        (ax,) = fig.axes
        markers = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert [c.get_label() for c in markers] == ["seed", "leech"]
        assert [len(c.get_offsets()) for c in markers] == [2, LEECHES]
        (edges,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        assert len(edges.get_segments()) == PEERS * (PEERS - 1) // 2  # full mesh, one per pair
        region_legend, role_legend = ax.artists[0], ax.get_legend()
        assert [t.get_text() for t in region_legend.get_texts()] == ["us-east-1", "us-west-2"]
        assert [t.get_text() for t in role_legend.get_texts()] == ["seed (2)", "leech (4)"]
        assert "6 peers, 15 connections" in ax.get_title()
    # regions given explicitly override the graph's; unknown roles are "other"
    (ax,) = topology(graph, {"seeds-0": "seed"}, dict.fromkeys(graph, "eu")).axes
    assert [c.get_label() for c in ax.collections if isinstance(c, PathCollection)] == [
        "seed",
        "other",
    ]
    assert [t.get_text() for t in ax.artists[0].get_texts()] == ["eu"]
    with pytest.raises(ValueError, match="unknown layout"):
        topology(graph, roles, layout="hairball")


def test_write_all_adds_the_run_figures(tables, scenario, tmp_path):
    import matplotlib.pyplot as plt

    runs, peers, transfers, progress = tables
    before = plt.get_fignums()
    paths = write_all(
        runs,
        peers,
        tmp_path,
        transfers=transfers,
        progress=progress,
        topologies={"small": run_graph(scenario)},
        dpi=DPI,
    )
    assert plt.get_fignums() == before
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [
            "fraction_completed.png",
            "time_to_fetch_km.png",
            "makespan.png",
            "mean_time_to_fetch.png",
            "tradeoff.png",
            "who_served_whom.png",
            "who_served_whom_groups.png",
            "progress.png",
            "progress_by_strategy.png",
            "topology.png",
        ]
    )
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
