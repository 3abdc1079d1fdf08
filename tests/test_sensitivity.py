"""The headline's sensitivity grid (experiments/sensitivity.py): one unknown at a time."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.sensitivity import (
    AXES,
    BASELINE,
    Point,
    format_table,
    sensitivity_figure,
    sensitivity_specs,
    sensitivity_table,
)


@pytest.fixture(scope="module")
def specs():
    return sensitivity_specs("quick")


def test_one_run_per_distinct_point(specs):
    # bandwidth: 4 values x (master, poc-potential, registry); host: 4 more values x 2;
    # DONT_HAVE latency: poc v0.2.0 x 3 (master's baseline run serves every latency source)
    assert len(specs) == 12 + 8 + 3
    assert len({s.run_id for s in specs.values()}) == len(specs)


def test_each_point_changes_only_its_unknown(specs):
    slow = Point("master", 1, "p2plab-2020", "rtt")
    peers = specs[slow].scenario.groups
    assert all(g.upload_Bps == pytest.approx(1e9 / 8) for g in peers)
    assert all(g.host.name == "p2plab-2020" for g in peers)
    ideal = specs[Point("poc-potential", 10, "ideal", "rtt")].scenario
    assert all(g.host.name == "ideal" and g.strategy == "poc-potential" for g in ideal.groups)
    unknown = specs[Point("poc", 10, "p2plab-2020", "unknown")].scenario
    assert unknown.strategy_configs["poc"].dont_have_latency_source == "unknown"
    assert specs[slow].scenario.registry.upload_Bps == pytest.approx(1e9 / 8)


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="sensitivity size must be one of quarter, quick, full"):
        sensitivity_specs("huge")


def _fake_runs(specs):
    rows = []
    for point, spec in specs.items():
        base = {"master": 4.0, "poc-potential": 1.0, "poc": 2.0, "registry": 3.0}[point.strategy]
        rows.append(
            {
                "run_id": spec.run_id,
                "mean_time_to_fetch_s": base * 10 / point.bandwidth,
                "dup_block_rate": 0.25,
                "completed_leeches": 8,
                "leeches": 8,
            }
        )
    return pd.DataFrame(rows)


def test_table_has_a_row_per_axis_value_and_the_ratio(specs, tmp_path):
    table = sensitivity_table(_fake_runs(specs), specs)
    assert len(table) == sum(len(v) for v in AXES.values())
    slow = table[(table["axis"] == "bandwidth") & (table["value"] == 1)].iloc[0]
    assert slow["master_s"] == 40.0 and slow["registry_s"] == 30.0
    assert slow["poc_over_master"] == 0.25 and slow["poc"] == "poc-potential"
    latency = table[table["axis"] == "dont_have_latency"]
    assert set(latency["poc"]) == {"poc"} and (latency["poc_over_master"] == 0.5).all()
    assert table["baseline"].sum() == len(AXES)
    assert BASELINE["host"] in set(table.loc[table["baseline"], "value"])
    text = format_table(table, "quick")
    assert "8 leeches, a 60 MiB image" in text and "*10" in text and "blog" in text
    assert sensitivity_figure(table, "quick", tmp_path / "s.png").stat().st_size > 0
