"""What an output folder gets besides the Parquet files: the summary and the figures.

``summary.csv`` is :func:`summary_table`: the long table of ``experiments.stats.summarise``
(one row per strategy, sweep point and metric: ``n`` runs, mean, Student-t interval clipped
to what the metric can be, and a note when the interval says little or the value leaves
leeches out), the same shape as in Python. ``summary.txt`` prints it, followed by the
censoring-aware median time to fetch (Kaplan–Meier over leeches) per group.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from experiments.folder import FIGURE_FORMATS, TABLES
from experiments.stats import km_median, leech_times, summarise

if TYPE_CHECKING:
    from experiments.runner import Tables
    from experiments.scenario import Scenario

__all__ = [
    "METRICS",
    "check_formats",
    "km_table",
    "summary_table",
    "summary_text",
    "write_figures",
    "write_outputs",
]

METRICS = (
    "fraction_completed",
    "makespan_s",
    "mean_time_to_fetch_s",
    "dup_block_rate",
    "control_bytes",
)
"""The run-level metrics of the summary, the share of leeches that finished first."""


def _by(runs: pd.DataFrame) -> list[str]:
    swept = [c for c in runs.attrs.get("swept", []) if c in runs.columns]
    return ["strategy", *[c for c in swept if c != "strategy"]]


def summary_table(runs: pd.DataFrame, *, warn: bool = False) -> pd.DataFrame:
    """Mean and 95% Student-t interval per strategy, sweep point and metric, long: the columns
    of :func:`experiments.stats.summarise` (``n`` is the number of runs behind each value).

    ``fraction_completed`` (completed leeches over leeches, per run) comes first. A
    ``mean_time_to_fetch_s`` is over the leeches that finished only, and a ``makespan_s`` only
    exists for runs in which every leech finished: their ``note`` says how many leeches or
    runs are left out (see :func:`km_table` for a time to fetch that counts them)."""
    by = _by(runs)
    metrics = [m for m in METRICS if m in runs.columns]
    table = summarise(runs, by=by, metrics=metrics, warn=warn)
    if not {"leeches", "completed_leeches"} <= set(runs.columns):
        return table
    groups = [g for _, g in runs.groupby(by, sort=True, dropna=False)]  # summarise's order
    notes = table["note"].tolist()
    for i, metric in enumerate(table["metric"]):
        group = groups[i // len(metrics)]
        done, total = int(group["completed_leeches"].sum()), int(group["leeches"].sum())
        extra = ""
        if metric == "mean_time_to_fetch_s" and done < total:
            extra = f"finished leeches only: {done} of {total}"
        elif metric == "makespan_s":
            left = int(group["makespan_s"].isna().sum())
            if left:
                extra = f"{left} of {len(group)} runs have unfinished leeches: no makespan"
        elif metric == "fraction_completed":
            extra = f"{done} of {total} leeches"
        if extra:
            notes[i] = f"{notes[i]}; {extra}" if notes[i] else extra
    return table.assign(note=notes)


def km_table(runs: pd.DataFrame, peers: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Median time to fetch per strategy and sweep point, from the Kaplan–Meier estimate over
    all their leeches (unfinished ones censored at the time they had been fetching):
    ``[*by, "leeches", "finished", "median_time_to_fetch_s", "ci_low", "ci_high"]``; NaN where
    fewer than half the leeches finished."""
    by = _by(runs)
    data = leech_times(peers).merge(runs[["run_id", *by[1:]]], on="run_id", how="left")
    rows = []
    for key, group in data.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        median, low, high = km_median(group["t_s"], group["done"], confidence)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "leeches": len(group),
                "finished": int(group["done"].sum()),
                "median_time_to_fetch_s": median,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[*by, "leeches", "finished", "median_time_to_fetch_s", "ci_low", "ci_high"],
    )


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def summary_text(table: pd.DataFrame, km: pd.DataFrame | None = None) -> str:
    """``summary.txt``: the summary table, then the Kaplan–Meier medians."""
    text = table.to_string(index=False, formatters=dict.fromkeys(table.columns, _fmt))
    text = "Mean over runs with its 95% Student-t interval (n: runs)\n" + text
    if km is not None and len(km):
        text += (
            "\n\nMedian time to fetch, Kaplan-Meier over leeches (unfinished ones censored; "
            "nan: fewer than half finished)\n"
            + km.to_string(index=False, formatters=dict.fromkeys(km.columns, _fmt))
        )
    return text


def check_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    """Figure formats from ``"png,pdf"`` or a sequence; each one of :data:`FIGURE_FORMATS`."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = tuple(dict.fromkeys(str(f).strip().lower().lstrip(".") for f in items if str(f).strip()))
    bad = [f for f in out if f not in FIGURE_FORMATS]
    if bad or not out:
        raise ValueError(
            f"--format: unknown figure format {bad[0] if bad else ''!r}; allowed: "
            f"{', '.join(FIGURE_FORMATS)} (comma-separated)"
        )
    return out


def write_outputs(
    tables: Tables,
    scenario: Scenario,
    out: Path,
    *,
    reference: Mapping[str, float] | None = None,
    figures: bool = True,
    formats: Sequence[str] = ("png",),
    echo: Callable[[str], None] | None = print,
) -> list[Path]:
    """The summary (printed through ``echo`` and saved as ``summary.txt`` and ``summary.csv``)
    and the figures (``figures/``) of ``tables`` in ``out``; returns the figure paths."""
    table = summary_table(tables.runs)
    km = km_table(tables.runs, tables.peers) if len(tables.peers) else None
    text = summary_text(table, km)
    (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
    table.to_csv(out / "summary.csv", index=False)
    say = echo if echo is not None else (lambda _text: None)
    say(text)
    few = table["note"].str.contains(r"^(?:identical|\d+ runs \(<|1 run)", regex=True)
    same = table["note"].str.startswith("identical")
    if few.any():
        say(
            f"note: {int(few.sum())} of {len(table)} summary values have an interval that says "
            "little: "
            + (
                f"{int(same.sum())} rest on identical replications (zero width: nothing random "
                "differs between them; add network.jitter or a random choice), "
                if same.any()
                else ""
            )
            + f"{int((few & ~same).sum())} on fewer than 3 runs"
        )
    paths: list[Path] = []
    if figures:
        paths = write_figures(
            tables.runs,
            tables.peers,
            out,
            reference=reference,
            transfers=tables.transfers,
            progress=tables.progress,
            scenario=scenario,
            formats=formats,
        )
        if paths:
            say(f"wrote {len(paths)} figures in {out / 'figures'} ({', '.join(formats)})")
    say("wrote " + ", ".join(str(out / f"{name}.parquet") for name in TABLES))
    return paths


def write_figures(
    runs: pd.DataFrame,
    peers: pd.DataFrame,
    out_dir: str | Path,
    reference: Mapping[str, float] | None = None,
    *,
    transfers: pd.DataFrame | None = None,
    progress: pd.DataFrame | None = None,
    scenario: Scenario | None = None,
    formats: Sequence[str] = ("png",),
    run_ids: Sequence[str] = (),
) -> list[Path]:
    """Every figure that makes sense for these results under ``out_dir/figures``, in each of
    ``formats``.

    ``transfers`` and ``progress`` add the who-served-whom and progress figures (per strategy,
    and for each of ``run_ids``); ``scenario`` (the one the runs came from) adds ``topology``,
    rebuilt from its first run.
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
            formats=check_formats(formats),
            run_ids=run_ids,
        )
    )


def _topology(runs: pd.DataFrame, scenario: Scenario) -> dict[str, tuple[Any, Any]]:
    """{scenario name: (graph, roles)} of the scenario's first run in ``runs``, if any."""
    from experiments.runplots import run_graph

    mine = runs.loc[runs["scenario"] == scenario.name].sort_values("run_id")
    if mine.empty:
        return {}
    first = mine.iloc[0]
    seed = int(first["seed"]) if "seed" in mine.columns and "seed" not in scenario.sweep else None
    try:
        return {scenario.name: run_graph(scenario, str(first["run_id"]), seed=seed)}
    except ValueError as exc:  # a scenario file that does not match these runs
        warnings.warn(f"no topology figure: {exc}", stacklevel=3)
        return {}
