"""Running the validation cases and comparing them with the published figures.

``run_validation()`` runs every case's scenario (all cases' runs share one executor), reduces
each run to the metrics of :data:`~experiments.validation.expected.METRICS`, and returns one
row per (case, check, label): published, simulated (mean over replications and its Student-t
95 % interval), the signed error, the tolerance and the verdict. ``status`` is ``ok`` (within
tolerance), ``miss`` (outside it; ``known_gap`` says why if the case knows), ``info`` (a
``show`` metric: printed, not judged), ``shrunk`` (a ``--quick`` case smaller than the
measurement: no verdict) or ``no result`` (no run gave the metric, e.g. a leech did not
finish).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.collect import records as collect_records
from experiments.runner import RunSpec, execute_tables
from experiments.stats import mean_ci, paired_ratio
from experiments.validation.cases import Case, cases
from experiments.validation.expected import METRICS, Check

__all__ = ["COLUMNS", "compare", "format_report", "run_metrics", "run_validation"]

COLUMNS = (
    "case",
    "label",
    "metric",
    "published",
    "simulated",
    "ci_low",
    "ci_high",
    "runs",
    "error_pct",
    "tolerance_pct",
    "tolerance_abs",
    "within",
    "status",
    "known_gap",
    "source",
    "date",
)
"""The columns of the table ``run_validation`` returns (and ``validation.csv``)."""

_LEECH = "leech_"


def run_validation(
    selection: Iterable[str | Case] | None = None,
    *,
    quick: bool = False,
    out: str | Path | None = None,
    executor: Executor | None = None,
    replications: int | None = None,
    host: str | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run the cases (all shipped ones, or those named / given) and compare them with the
    published figures; one row per case, check and label (:data:`COLUMNS`).

    ``quick``: shrink each named case by its ``expected.quick`` table (cases given as
    :class:`Case` objects are run as loaded). ``out``: a folder for the runs' Parquet tables
    (``runs.parquet``, ``peers.parquet``, ... as ``bitswap-sim run`` writes them).
    ``replications`` overrides every case's. ``host``: run every named case's groups on this
    host preset instead of the case's own (``"ideal"``: no host costs). ``executor``: any
    ``concurrent.futures`` executor (a process pool); None runs here.
    """
    chosen = _cases(selection, quick, host)
    specs: list[RunSpec] = []
    for case in chosen:
        specs.extend(case.plan(replications))
    tables = execute_tables(specs, executor=executor, out_dir=out, progress=progress)
    values = run_metrics(tables.runs, tables.peers)
    point_of = {s.run_id: s.point_index for s in specs}
    values["point"] = values["run_id"].map(point_of)
    return compare(chosen, values)


def _cases(selection: Iterable[str | Case] | None, quick: bool, host: str | None) -> list[Case]:
    if selection is None:
        return cases(quick=quick, host=host)
    items = list(selection)
    names = [s for s in items if isinstance(s, str)]
    loaded = {c.name: c for c in cases(names, quick=quick, host=host)} if names else {}
    return [loaded[s] if isinstance(s, str) else s for s in items]


def run_metrics(runs: pd.DataFrame, peers: pd.DataFrame) -> pd.DataFrame:
    """One row per run: ``run_id``, ``scenario``, ``replicate`` and every metric of
    :data:`METRICS`.

    ``leech_<column>`` is the mean over the run's leeches of the peers table's column; NaN if a
    leech did not finish (for times) or the run has no leech."""
    frame = runs[["run_id", "scenario", "replicate"]].copy()
    for metric in METRICS:
        if not metric.startswith(_LEECH):
            frame[metric] = pd.to_numeric(runs[metric], errors="coerce")
    leeches = peers[peers["role"] == "leech"]
    columns = [m.removeprefix(_LEECH) for m in METRICS if m.startswith(_LEECH)]
    numeric = leeches[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    numeric["run_id"] = leeches["run_id"].to_numpy()
    # NaN stays NaN (an unfinished leech has no time): mean(skipna=False) per run
    means = numeric.groupby("run_id").agg(lambda s: s.mean(skipna=False))
    for column in columns:
        frame[_LEECH + column] = frame["run_id"].map(means[column]).astype(float)
    return frame


def compare(chosen: Sequence[Case], values: pd.DataFrame) -> pd.DataFrame:
    """The comparison rows of ``chosen`` given per-run ``values`` (from :func:`run_metrics`
    plus a ``point`` column: each run's sweep point index)."""
    rows = []
    for case in chosen:
        mine = values[values["scenario"] == case.scenario.name]
        for check in case.expected.checks:
            for label, published in check.values.items():
                if check.ratio is not None:
                    rows.append(_ratio_row(case, check, label, published, mine))
                    continue
                sample = mine.loc[mine["point"] == case.label_point(label), check.metric]
                rows.append(_row(case, check, label, published, sample.to_numpy(dtype=float)))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _ratio_row(
    case: Case, check: Check, label: str, published: float, mine: pd.DataFrame
) -> dict[str, Any]:
    """A ratio check: the paired ratio of means (pairs: the same replicate) and its interval."""
    assert check.ratio is not None
    sides = []
    for side, name in zip(("num", "den"), check.ratio, strict=True):
        part = mine.loc[mine["point"] == case.label_point(name), ["replicate", check.metric]]
        sides.append(part.assign(side=side))
    both = pd.concat(sides, ignore_index=True)
    try:
        r = paired_ratio(both, check.metric, "num", "den", by="side")
        estimate = (r["ratio"], r["ci_low"], r["ci_high"], r["n"])
    except ValueError:  # no complete pair (a run without the metric)
        estimate = (math.nan, math.nan, math.nan, 0)
    row = _row(case, check, label, published, np.array([estimate[0]]))
    row.update(metric=f"{check.metric} ratio", ci_low=estimate[1], ci_high=estimate[2])
    row["runs"] = estimate[3]
    return row


def _row(case: Case, check: Check, label: str, published: float, sample: Any) -> dict[str, Any]:
    mean, low, high = mean_ci(sample)
    n = int(np.count_nonzero(~np.isnan(sample)))
    if n < len(sample):  # a run without the metric (a leech that did not finish)
        mean = low = high = math.nan
    error = (mean - published) / published * 100 if published else math.nan
    within: bool | None = None
    if math.isnan(mean):
        status = "no result"
    elif not check.verdict:
        status = "info"
    elif case.shrunk:
        status = "shrunk"
    else:
        within = check.within(published, mean)
        status = "ok" if within else "miss"
    return {
        "case": case.name,
        "label": label,
        "metric": check.metric,
        "published": published,
        "simulated": mean,
        "ci_low": low,
        "ci_high": high,
        "runs": n,
        "error_pct": error,
        "tolerance_pct": check.tolerance * 100,
        "tolerance_abs": check.tolerance_abs,
        "within": within,
        "status": status,
        "known_gap": check.known_gaps.get(label) if check.verdict else None,
        "source": case.expected.source,
        "date": case.expected.date,
    }


def _num(value: float) -> str:
    if value != value:
        return "-"
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.4g}"


def _estimate(row: dict[str, Any]) -> str:
    """``mean [low, high]``, or the mean alone without an interval."""
    low, high = row["ci_low"], row["ci_high"]
    interval = "" if low != low else f" [{_num(low)}, {_num(high)}]"
    return _num(row["simulated"]) + interval


def _tolerance(row: dict[str, Any]) -> str:
    parts = []
    if row["tolerance_pct"] > 0:
        parts.append(f"±{row['tolerance_pct']:g} %")
    if row["tolerance_abs"] > 0:
        parts.append(f"±{_num(row['tolerance_abs'])}")
    return " or ".join(parts)


def format_report(table: pd.DataFrame, chosen: Sequence[Case]) -> str:
    """The printed report: per case its source and a table of its rows, then known gaps, then
    a count of verdicts."""
    lines = []
    for case in chosen:
        rows = table[table["case"] == case.name]
        records = collect_records(rows)
        e = case.expected
        lines.append(f"== {case.name} ({e.date}; {e.source})")
        lines.append(f"   measured: {e.measured}")
        shown = pd.DataFrame(
            {
                "label": rows["label"],
                "metric": rows["metric"],
                "published": rows["published"].map(_num),
                "simulated [95% CI]": [_estimate(r) for r in records],
                "error": rows["error_pct"].map(lambda v: "-" if v != v else f"{v:+.1f} %"),
                "tolerance": [_tolerance(r) for r in records],
                "verdict": rows["status"],
            }
        )
        text = shown.to_string(index=False) if len(shown) else "(no comparisons)"
        lines.extend("   " + line for line in text.splitlines())
        gaps = dict.fromkeys(
            g
            for g, s in zip(rows["known_gap"], rows["status"], strict=True)
            if isinstance(g, str) and s == "miss"
        )
        for gap in gaps:
            lines.append(f"   known gap: {gap}")
        lines.append("")
    judged = table[table["status"].isin(("ok", "miss"))]
    misses = judged[judged["status"] == "miss"]
    explained = misses["known_gap"].notna().sum()
    lines.append(
        f"{len(judged)} comparisons: {len(judged) - len(misses)} within tolerance, "
        f"{len(misses)} outside ({explained} with a known gap); "
        f"{int((table['status'] == 'info').sum())} shown for information, "
        f"{int((table['status'] == 'shrunk').sum())} shrunk by --quick (no verdict), "
        f"{int((table['status'] == 'no result').sum())} without a result"
    )
    return "\n".join(lines)
