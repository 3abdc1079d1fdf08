"""What an output folder gets besides the Parquet files: a summary table and the figures."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from experiments.stats import summarise

if TYPE_CHECKING:
    from experiments.scenario import Scenario

__all__ = ["summary_table", "write_figures"]

METRICS = ("makespan_s", "mean_time_to_fetch_s", "dup_block_rate", "control_bytes")


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI (Student-t over replications) per strategy and sweep point, wide: one
    row per group, ``<metric>``, ``<metric>_lo``, ``<metric>_hi`` columns, ``runs``, and
    ``leeches_done`` (completed leeches / leeches over the group's runs: below 1 when a leech
    did not finish by ``max_sim_time_s``; means of times are over the finished ones)."""
    swept = [c for c in runs.attrs.get("swept", []) if c in runs.columns]
    by = ["strategy", *[c for c in swept if c != "strategy"]]
    long = summarise(runs, by=by, metrics=[m for m in METRICS if m in runs.columns])
    done: dict[tuple, float] = {}
    if {"leeches", "completed_leeches"} <= set(runs.columns):
        for key, group in runs.groupby(by, sort=True, dropna=False):
            total = group["leeches"].sum()
            done[key if isinstance(key, tuple) else (key,)] = (
                float(group["completed_leeches"].sum() / total) if total else float("nan")
            )
    rows = []
    for key, group in long.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        row["runs"] = int(group["n"].max())
        if done:
            row["leeches_done"] = done[key]
        for r in group.itertuples():
            row[str(r.metric)] = r.mean
            row[f"{r.metric}_lo"] = r.ci_low
            row[f"{r.metric}_hi"] = r.ci_high
        rows.append(row)
    return pd.DataFrame(rows)


def write_figures(
    runs: pd.DataFrame,
    peers: pd.DataFrame,
    out_dir: str | Path,
    reference: dict[str, float] | None = None,
    *,
    transfers: pd.DataFrame | None = None,
    progress: pd.DataFrame | None = None,
    scenario: Scenario | None = None,
) -> list[Path]:
    """Every figure that makes sense for these results, as PNG under ``out_dir/figures``.

    ``transfers`` and ``progress`` add the who-served-whom and progress figures; ``scenario``
    (the one the runs came from) adds ``topology.png``, rebuilt from its first run.
    """
    from experiments.plots import write_all

    folder = Path(out_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    topologies = {} if scenario is None else _topology(runs, scenario)
    return list(
        write_all(
            runs,
            peers,
            folder,
            reference=reference,
            transfers=transfers,
            progress=progress,
            topologies=topologies,
        )
    )


def _topology(runs: pd.DataFrame, scenario: Scenario) -> dict[str, tuple[Any, Any]]:
    """{scenario name: (graph, roles)} of the scenario's first run in ``runs``, if any."""
    from experiments.runplots import run_graph

    mine = runs.loc[runs["scenario"] == scenario.name].sort_values("run_id")
    if mine.empty:
        return {}
    first = mine.iloc[0]
    seed = int(first["seed"]) if "seed" in mine.columns else None
    try:
        return {scenario.name: run_graph(scenario, str(first["run_id"]), seed=seed)}
    except ValueError as exc:  # a scenario file that does not match these runs
        warnings.warn(f"no topology figure: {exc}", stacklevel=3)
        return {}
