"""What an output folder gets besides the Parquet files: a summary table and the figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from experiments.stats import summarise

__all__ = ["summary_table", "write_figures"]

METRICS = ("makespan_s", "mean_time_to_fetch_s", "dup_block_rate", "control_bytes")


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI (Student-t over replications) per strategy and sweep point, wide: one
    row per group, ``<metric>``, ``<metric>_lo``, ``<metric>_hi`` columns, and ``runs``."""
    swept = [c for c in runs.attrs.get("swept", []) if c in runs.columns]
    by = ["strategy", *[c for c in swept if c != "strategy"]]
    long = summarise(runs, by=by, metrics=[m for m in METRICS if m in runs.columns])
    rows = []
    for key, group in long.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        row["runs"] = int(group["n"].max())
        for r in group.itertuples():
            row[r.metric] = r.mean
            row[f"{r.metric}_lo"] = r.ci_low
            row[f"{r.metric}_hi"] = r.ci_high
        rows.append(row)
    return pd.DataFrame(rows)


def write_figures(
    runs: pd.DataFrame,
    peers: pd.DataFrame,
    out_dir: str | Path,
    reference: dict[str, float] | None = None,
) -> list[Path]:
    """Every figure that makes sense for these results, as PNG under ``out_dir/figures``."""
    from experiments.plots import write_all

    folder = Path(out_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    return list(write_all(runs, peers, folder, reference=reference))
