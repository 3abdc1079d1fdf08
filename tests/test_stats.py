"""Confidence intervals and tables: exact values worked out by hand, seeded determinism."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from experiments.stats import bootstrap_ci, mean_ci, paired_ratio, summarise


def test_mean_ci_matches_hand_computed_t_interval():
    # mean 3, s^2 = 2.5, half-width t_{0.975,4} * sqrt(2.5) / sqrt(5) = 2.776445 * 0.7071068
    mean, low, high = mean_ci([1, 2, 3, 4, 5])
    assert mean == 3.0
    assert high - mean == pytest.approx(1.963243, abs=1e-6)
    assert mean - low == pytest.approx(1.963243, abs=1e-6)


def test_mean_ci_confidence_level_and_nan_dropping():
    # 90 %: t_{0.95,4} = 2.131847
    mean, low, high = mean_ci([1, 2, 3, 4, 5, math.nan], confidence=0.90)
    assert (mean, high - mean) == pytest.approx((3.0, 2.131847 * math.sqrt(0.5)), abs=1e-6)
    assert low == pytest.approx(2 * mean - high)


def test_mean_ci_degenerate_samples():
    assert mean_ci([7.0]) == (
        7.0,
        pytest.approx(math.nan, nan_ok=True),
        pytest.approx(math.nan, nan_ok=True),
    )
    assert all(math.isnan(v) for v in mean_ci([]))
    assert mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1, 2], confidence=95)


def test_bootstrap_is_deterministic_with_a_seed():
    x = [3.1, 4.7, 2.2, 9.0, 5.5, 6.1, 4.4, 3.9]
    a = bootstrap_ci(x, seed=42, n_resamples=999)
    b = bootstrap_ci(x, seed=42, n_resamples=999)
    assert a == b
    estimate, low, high = a
    assert estimate == np.median(x)
    assert low < estimate < high
    assert bootstrap_ci(x, seed=7, n_resamples=999) != a  # the seed is actually used


def test_bootstrap_degenerate_samples():
    assert bootstrap_ci([4.0, 4.0, 4.0]) == (4.0, 4.0, 4.0)
    est, low, high = bootstrap_ci([5.0])
    assert est == 5.0 and math.isnan(low) and math.isnan(high)
    # few distinct values: BCa is undefined, the percentile interval is returned instead
    est, low, high = bootstrap_ci([1.0, 1.0, 1.0, 1.0, 2.0], n_resamples=999)
    assert est == 1.0 and 1.0 <= low <= high <= 2.0


def _paired_runs(master, poc):
    rows = [
        {"strategy": s, "replicate": r, "makespan_s": v}
        for s, values in (("master", master), ("poc", poc))
        for r, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_paired_ratio_exact_ratio_has_zero_width_interval():
    runs = _paired_runs(master=[6.0, 9.0, 12.0], poc=[2.0, 3.0, 4.0])
    for method in ("delta", "bootstrap"):
        res = paired_ratio(runs, "makespan_s", "master", "poc", method=method)
        assert res["n"] == 3
        assert res["ratio"] == pytest.approx(3.0)
        assert res["ci_low"] == pytest.approx(3.0) and res["ci_high"] == pytest.approx(3.0)
        assert (res["numerator_mean"], res["denominator_mean"]) == (9.0, 3.0)


def test_paired_ratio_delta_method_by_hand():
    # num = [2, 4], den = [1, 1]: means 3 and 1, ratio 3; var(num) = 2, var(den) = cov = 0
    # var(log R) = (2 / 9) / 2 = 1/9, half-width on log scale t_{0.975,1} / 3 = 12.706205 / 3
    runs = _paired_runs(master=[2.0, 4.0], poc=[1.0, 1.0])
    res = paired_ratio(runs, "makespan_s", "master", "poc")
    half = 12.706205 / 3
    assert res["ratio"] == pytest.approx(3.0)
    assert res["ci_low"] == pytest.approx(3.0 * math.exp(-half), rel=1e-6)
    assert res["ci_high"] == pytest.approx(3.0 * math.exp(half), rel=1e-6)


def test_paired_ratio_pairs_on_replicate_and_drops_incomplete_pairs():
    runs = _paired_runs(master=[6.0, 9.0, 12.0, 99.0], poc=[2.0, 3.0, 4.0])
    runs.loc[(runs.strategy == "poc") & (runs.replicate == 0), "makespan_s"] = math.nan
    res = paired_ratio(runs, "makespan_s", "master", "poc")
    assert res["n"] == 2  # replicate 3 has no poc run, replicate 0 a NaN
    assert res["ratio"] == pytest.approx(21.0 / 7.0)


def test_paired_ratio_bootstrap_is_seeded():
    runs = _paired_runs(master=[9.1, 8.7, 9.9, 10.2, 8.8], poc=[3.2, 3.0, 3.6, 3.1, 3.3])
    a = paired_ratio(runs, "makespan_s", "master", "poc", method="bootstrap", n_resamples=999)
    b = paired_ratio(runs, "makespan_s", "master", "poc", method="bootstrap", n_resamples=999)
    assert a == b
    assert a["ci_low"] < a["ratio"] < a["ci_high"]


def test_paired_ratio_refuses_ambiguous_pairs():
    runs = _paired_runs(master=[6.0, 9.0], poc=[2.0, 3.0])
    runs = pd.concat([runs.assign(x=1), runs.assign(x=2)], ignore_index=True)
    with pytest.raises(ValueError, match="ambiguous"):
        paired_ratio(runs, "makespan_s", "master", "poc")
    res = paired_ratio(runs, "makespan_s", "master", "poc", pair_on=["replicate", "x"])
    assert res["n"] == 4 and res["ratio"] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="no runs"):
        paired_ratio(runs, "makespan_s", "master", "registry")


def test_summarise_is_tidy_with_t_intervals():
    runs = pd.DataFrame(
        {
            "strategy": ["poc"] * 5 + ["master"] * 2,
            "makespan_s": [1, 2, 3, 4, 5, 9.0, 9.0],
            "dup_block_rate": [0.1, 0.1, 0.1, 0.1, math.nan, 0.5, 0.7],
        }
    )
    table = summarise(runs, metrics=["makespan_s", "dup_block_rate"], warn=False)
    assert list(table.columns) == ["strategy", "metric", "n", "mean", "ci_low", "ci_high", "note"]
    assert len(table) == 4
    row = table.set_index(["strategy", "metric"]).loc[("poc", "makespan_s")]
    assert (row["n"], row["mean"]) == (5, 3.0)
    assert row["ci_high"] - row["mean"] == pytest.approx(1.963243, abs=1e-6)
    assert table.set_index(["strategy", "metric"]).loc[("poc", "dup_block_rate"), "n"] == 4
    with pytest.raises(KeyError):
        summarise(runs, metrics=["nope"])
