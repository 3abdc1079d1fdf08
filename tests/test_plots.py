"""Figures from small synthetic runner tables: types, labels, series counts, PNG files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from experiments.plots import (
    BLOG_REFERENCE_S,
    ecdf_time_to_fetch,
    makespan_by_strategy,
    palette,
    strategy_style,
    sweep_line,
    swept_parameters,
    tradeoff_scatter,
    write_all,
)
from experiments.stats import summarise

STRATEGIES = ("master", "poc")
REPLICATES = 3
LEECHES = 4
PARAM = "network_latency"
PATH = "network.latency"
PARAM_VALUES = (0.01, 0.05)
DPI = 40
"""Low resolution keeps the PNG-writing tests fast."""
MSG_KINDS = ("want-block", "want-have", "cancel", "block", "have", "dont-have")


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """2 strategies x 3 replicates x 2 latencies; 1 seed and 4 leeches per run.

    One master leech (run master-r0-0.01, leech3) never completes.
    """
    rng = np.random.default_rng(5)
    peer_rows, run_rows = [], []
    for strategy in STRATEGIES:
        for latency in PARAM_VALUES:
            for rep in range(REPLICATES):
                run_id = f"{strategy}-r{rep}-{latency}"
                base = (9.0 if strategy == "master" else 3.0) + 40 * latency
                common = {
                    "run_id": run_id,
                    "scenario": "tiny",
                    "strategy": strategy,
                    "replicate": rep,
                    "seed": 100 + rep,
                }
                for i in range(LEECHES + 1):
                    role = "seed" if i == 0 else "leech"
                    failed = run_id == "master-r0-0.01" and i == 3
                    done = role == "leech" and not failed
                    blocks = 80 if role == "leech" else 0
                    dup = int(rng.integers(5, 20)) if strategy == "master" and blocks else 0
                    peer_rows.append(
                        {
                            **common,
                            "group": "seeds" if role == "seed" else "leeches",
                            "peer": f"{role}{i}",
                            "role": role,
                            "completed": done if role == "leech" else None,
                            "time_to_fetch_s": base + rng.normal(0, 0.5) if done else np.nan,
                            "blocks_received": blocks,
                            "dup_blocks_received": dup,
                            "bytes_received": blocks * 262_158,
                            "dup_bytes_received": dup * 262_158,
                            "blocks_sent": 0 if role == "leech" else 320,
                            "bytes_sent": 0 if role == "leech" else 320 * 262_158,
                            "msgs_sent": 10,
                            "msgs_received": 10,
                            **{f"msgs_sent_{k}": 1 for k in MSG_KINDS},
                            "region": None,
                        }
                    )
                run_peers = pd.DataFrame(peer_rows[-(LEECHES + 1) :])
                leech = run_peers[run_peers.role == "leech"]
                done = int(leech.completed.sum())
                run_rows.append(
                    {
                        **common,
                        PARAM: latency,
                        "leeches": LEECHES,
                        "completed_leeches": done,
                        "fraction_completed": done / LEECHES,
                        "makespan_s": leech.time_to_fetch_s.max(),
                        "mean_time_to_fetch_s": leech.time_to_fetch_s.mean(),
                        "dup_block_rate": leech.dup_blocks_received.sum()
                        / leech.blocks_received.sum(),
                        "dup_byte_rate": leech.dup_bytes_received.sum()
                        / leech.bytes_received.sum(),
                        "control_bytes": 5_000,
                        "payload_bytes": int(leech.bytes_received.sum()),
                        "sim_events": 1_000,
                        "wall_s": 0.1,
                    }
                )
    runs = pd.DataFrame(run_rows)
    runs.attrs["swept"] = [PARAM]
    runs.attrs["swept_paths"] = {PARAM: PATH}
    return runs, pd.DataFrame(peer_rows)


@pytest.fixture(scope="module")
def tables():
    return _tables()


@pytest.fixture(scope="module")
def one_point(tables):
    """The runs and peers at one latency: no parameter varies any more."""
    runs, peers = tables
    keep = runs.loc[runs[PARAM] == PARAM_VALUES[0], "run_id"]
    return runs[runs.run_id.isin(keep)].copy(), peers[peers.run_id.isin(keep)].copy()


def _data_lines(ax):
    """Lines that carry data (seaborn also adds empty lines as legend handles)."""
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 0]


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_ecdf_one_step_line_per_strategy_over_all_leeches(one_point):
    _, peers = one_point
    fig = ecdf_time_to_fetch(peers)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "time to fetch (s)"
    assert ax.get_ylabel() == "fraction of leeches done"
    assert ax.get_title()
    lines = _data_lines(ax)
    assert len(lines) == 2
    # master: 11 of its 12 leeches finished, so its ECDF tops out at 11/12, poc's at 1
    assert max(lines[0].get_ydata()) == pytest.approx(11 / 12)
    assert max(lines[1].get_ydata()) == pytest.approx(1.0)
    assert _legend_texts(ax) == ["master (11/12 completed)", "poc"]
    assert [line.get_color() for line in lines] == [
        palette(["master", "poc"])[s] for s in STRATEGIES
    ]


def _error_spans(container):
    """(low, high) of each error bar of an errorbar container."""
    (bars,) = container.lines[2]
    return [v for seg in bars.get_segments() for v in (min(seg[:, 1]), max(seg[:, 1]))]


def test_makespan_bars_with_ci_and_reference_markers(one_point):
    runs, _ = one_point
    fig = makespan_by_strategy(runs, reference=BLOG_REFERENCE_S)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_ylabel() == "makespan (s)"
    assert "95% t CI" in ax.get_title() and "n = 3 runs each" in ax.get_title()
    # two bars; the reference adds an empty slot for registry, which was not simulated
    assert len(ax.patches) == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["master", "poc", "registry"]
    (markers,) = [c for c in ax.collections if c.get_label() == "reference"]
    np.testing.assert_allclose(markers.get_offsets(), [[0, 9.08], [1, 3.16], [2, 3.93]])
    assert _legend_texts(ax) == ["reference"]
    # bar heights are the means, whiskers the summary table's intervals (one method for both)
    table = summarise(runs, metrics=["makespan_s"], warn=False).set_index("strategy")
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx(list(table["mean"]))
    spans = [v for c in ax.containers if isinstance(c, ErrorbarContainer) for v in _error_spans(c)]
    assert spans == pytest.approx(list(table[["ci_low", "ci_high"]].to_numpy().ravel()))
    # strategies are told apart by hatch as well as colour (greyscale)
    assert [p.get_hatch() or "" for p in ax.patches] == ["", "//"]


def test_makespan_without_reference_has_no_legend(one_point):
    runs, _ = one_point
    (ax,) = makespan_by_strategy(runs).axes
    assert ax.get_legend() is None
    assert [t.get_text() for t in ax.get_xticklabels()] == ["master", "poc"]
    assert "left out" not in ax.get_title()


def test_makespan_says_how_many_runs_it_left_out(one_point):
    runs, _ = one_point
    runs = runs.assign(makespan_s=runs.makespan_s.where(runs.run_id != "master-r0-0.01"))
    (ax,) = makespan_by_strategy(runs).axes
    assert "n = 2–3 runs" in ax.get_title()
    assert "1 run(s) without a makespan left out" in ax.get_title()
    assert len(ax.patches) == 2


def test_sweep_line_one_line_per_strategy(tables):
    runs, _ = tables
    fig = sweep_line(runs, x=PARAM, y="makespan_s")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "network latency"  # the swept path in words
    assert ax.get_ylabel() == "makespan (s)"
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2  # one line with error bars per strategy
    table = summarise(runs, by=["strategy", PARAM], metrics=["makespan_s"], warn=False)
    for container, strategy in zip(bars, STRATEGIES, strict=True):
        line = container.lines[0]
        # dodged a little sideways, so overlapping lines stay visible
        np.testing.assert_allclose(line.get_xdata(), PARAM_VALUES, atol=0.002)
        assert not np.allclose(line.get_xdata(), PARAM_VALUES)
        assert line.get_marker() == strategy_style(strategy).marker
        mine = table[table.strategy == strategy]
        assert _error_spans(container) == pytest.approx(
            list(mine[["ci_low", "ci_high"]].to_numpy().ravel())
        )
    assert ax.get_xscale() == "linear"


def test_sweep_line_categorical_parameter(tables):
    runs, _ = tables
    runs = runs.assign(policy_fanout=runs[PARAM].map({0.01: "b", 0.05: "a"}))
    (ax,) = sweep_line(runs, x="policy_fanout", y="dup_block_rate").axes
    # categories in plan order (runs sorted by run id: the 0.01 runs come first)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b", "a"]
    assert len([c for c in ax.containers if isinstance(c, ErrorbarContainer)]) == 2
    assert ax.get_ylim()[0] <= 0 and ax.get_ylim()[1] >= 1  # a rate: its whole range


def test_tradeoff_scatter_points_and_means(one_point):
    runs, _ = one_point
    fig = tradeoff_scatter(runs)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xlabel().startswith("duplicate block rate")
    assert ax.get_ylabel() == "mean time to fetch (s)"
    assert _legend_texts(ax) == list(STRATEGIES)
    points = [c for c in ax.collections if len(c.get_offsets()) and c.get_label() in STRATEGIES]
    assert sum(len(c.get_offsets()) for c in points) == len(runs)  # every run is a point
    assert len(ax.containers) == 2  # one mean marker with crosshairs per strategy


def test_swept_parameters_from_attrs_or_dotted_names(tables, one_point):
    runs, _ = tables
    assert swept_parameters(runs) == [PARAM]
    assert swept_parameters(runs.drop(columns=PARAM).assign(**{PARAM: 1.0})) == []
    bare = pd.DataFrame(runs)
    bare.attrs = {}
    assert swept_parameters(bare) == [PARAM]  # not one of the runner's own columns
    # a swept group strategy is the strategy column, not a parameter
    bare["groups_leeches_strategy"] = bare["strategy"]
    assert swept_parameters(bare) == [PARAM]
    assert swept_parameters(one_point[0]) == []  # one value left: nothing is swept


def _assert_pngs(paths, tmp_path):
    for path in paths:
        assert path.parent == tmp_path
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_write_all_with_a_sweep(tables, tmp_path):
    import matplotlib.pyplot as plt

    runs, peers = tables
    figures_before = plt.get_fignums()
    paths = write_all(runs, peers, tmp_path, reference=BLOG_REFERENCE_S, dpi=DPI)
    assert plt.get_fignums() == figures_before  # no pyplot state touched, nothing left open
    _assert_pngs(paths, tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        [
            f"sweep_{PARAM}_{m}.png"
            for m in ("fraction_completed", "makespan_s", "mean_time_to_fetch_s", "dup_block_rate")
        ]
        + ["time_to_fetch_km.png", "tradeoff.png"]
    )


def test_write_all_without_a_sweep(one_point, tmp_path):
    runs, peers = one_point
    paths = write_all(runs, peers, tmp_path, reference=BLOG_REFERENCE_S, dpi=DPI)
    _assert_pngs(paths, tmp_path)
    assert sorted(p.name for p in paths) == [
        "fraction_completed.png",
        "makespan.png",
        "mean_time_to_fetch.png",
        "time_to_fetch_km.png",
        "tradeoff.png",
    ]


def test_write_all_one_set_per_scenario(one_point, tmp_path):
    runs, _ = one_point
    runs = pd.concat([runs, runs.assign(scenario="other one")], ignore_index=True)
    paths = write_all(runs, None, tmp_path / "figs", dpi=DPI)
    assert sorted(p.name for p in paths) == [
        f"{s}-{f}.png"
        for s in ("other-one", "tiny")
        for f in ("fraction_completed", "makespan", "mean_time_to_fetch", "tradeoff")
    ]
    assert all(p.stat().st_size > 0 for p in paths)


def test_every_figure_from_a_small_real_sweep():
    """The same figures from real runs (tests/data/small-sweep.toml: master and poc x 2 and 4
    leeches x 2 replicates), not synthetic tables."""
    from pathlib import Path

    from experiments import load_scenario, run

    runs, peers = run(load_scenario(Path(__file__).parent / "data" / "small-sweep.toml"))
    point = runs.query("groups_leeches_count == 2")
    ax = ecdf_time_to_fetch(peers[peers["run_id"].isin(point["run_id"])]).axes[0]
    assert ax.get_xlabel() == "time to fetch (s)" and len(ax.get_lines()) == 2
    ax = makespan_by_strategy(point).axes[0]
    assert ax.get_ylabel() == "makespan (s)" and len(ax.patches) == 2
    ax = sweep_line(runs, "groups_leeches_count", "mean_time_to_fetch_s").axes[0]
    assert ax.get_xlabel() == "peers in group leeches" and len(ax.get_lines()) >= 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4"]  # integer ticks
    ax = tradeoff_scatter(runs).axes[0]
    assert ax.get_ylabel() == "mean time to fetch (s)"
