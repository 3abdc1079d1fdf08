"""The validation figure: simulated against published, one marker per case and label.

One panel per kind of metric (times in seconds on log axes; counts of blocks and messages;
fractions; ratios between strategies), each with the y = x line, shaded bands for the checks'
relative tolerances (a light bar at a point whose absolute tolerance is wider), the simulated
95 % interval as a vertical line, and the misses labelled. Built on a ``Figure``
directly (no ``pyplot``), as :mod:`experiments.plots` does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from experiments.collect import records as collect_records

__all__ = ["validation_figure"]

_PANELS = (
    ("times (s)", lambda m: m.endswith("_s"), "log"),
    (
        "counts (blocks, messages)",
        lambda m: m.startswith("leech_") and not m.endswith("_s"),
        "symlog",
    ),
    ("fractions", lambda m: m.endswith("_rate"), "linear"),
    ("ratios between strategies", lambda m: m.endswith(" ratio"), "log"),
)
_MARKERS = "osD^v<>pPX*hH8d"
_COLOURS = {"ok": "tab:green", "miss": "tab:red", "shrunk": "tab:gray", "info": "tab:gray"}


def validation_figure(table: pd.DataFrame) -> Figure:
    """The figure of :func:`~experiments.validation.run_validation`'s table."""
    data = table[table["simulated"].notna()]
    panels = [(t, f, s) for t, f, s in _PANELS if data["metric"].map(f).any()]
    if not panels:
        panels = [_PANELS[0]]
    cols = min(2, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(6.5 * cols, 6.0 * rows + 1.0), layout="constrained")
    grid = fig.subplots(rows, cols, squeeze=False).ravel()
    for spare in grid[len(panels) :]:
        spare.set_visible(False)
    axes = grid[: len(panels)]
    markers = {c: _MARKERS[i % len(_MARKERS)] for i, c in enumerate(table["case"].unique())}
    for ax, (title, wanted, scale) in zip(axes, panels, strict=True):
        part = data[data["metric"].map(wanted)]
        _panel(ax, part, title, scale, markers)
    handles = [
        ax.plot([], [], markers[c], color="black", linestyle="none", label=c)[0] for c in markers
    ]
    status = [
        axes[0].plot([], [], "s", color=colour, linestyle="none", label=name)[0]
        for name, colour in (
            ("within tolerance", "tab:green"),
            ("miss", "tab:red"),
            ("no verdict", "tab:gray"),
        )
    ]
    fig.legend(handles=handles + status, loc="outside lower center", ncol=4, fontsize="small")
    fig.suptitle(
        "Simulated against published (bands: relative tolerances; "
        "light bars: a wider absolute tolerance)"
    )
    return fig


def _panel(ax: Axes, part: pd.DataFrame, title: str, scale: str, markers: dict[str, str]) -> None:
    ax.set_title(title)
    ax.set_xlabel("published")
    ax.set_ylabel("simulated (mean, 95 % interval)")
    if part.empty:
        return
    values = np.concatenate([part["published"], part["simulated"], part["ci_high"].dropna()])
    positive = values[values > 0]
    if scale == "log":
        lo, hi = positive.min() / 2, positive.max() * 2
    else:
        lo, hi = 0.0, max(values.max() * 1.15, 1e-9)
    x = np.geomspace(lo, hi, 200) if scale == "log" else np.linspace(lo, hi, 200)
    ax.plot(x, x, color="black", linewidth=0.8)
    for tol in sorted(set(part["tolerance_pct"]) - {0.0}):
        low = x * max(1 - tol / 100, 0.0)
        ax.fill_between(x, low, x * (1 + tol / 100), color="tab:blue", alpha=0.08, linewidth=0)
        ax.annotate(
            f"±{tol:g} %",
            (x[-1], x[-1] * (1 + tol / 100)),
            fontsize="x-small",
            color="tab:blue",
            ha="right",
            va="bottom",
        )
    labelled = 0
    records = collect_records(part)
    for row in records:
        colour = _COLOURS.get(row["status"], "tab:gray")
        hollow = row["status"] == "info"
        allowed = max(row["tolerance_pct"] / 100 * abs(row["published"]), row["tolerance_abs"])
        if row["tolerance_abs"] and allowed > row["tolerance_pct"] / 100 * abs(row["published"]):
            # an absolute tolerance wider than the relative band: a light bar of its own
            bottom = row["published"] - allowed
            if scale == "log":
                bottom = max(bottom, lo)
            ax.vlines(
                row["published"],
                bottom,
                row["published"] + allowed,
                color="tab:blue",
                alpha=0.25,
                linewidth=6,
            )
        if row["ci_low"] == row["ci_low"]:
            ax.vlines(row["published"], row["ci_low"], row["ci_high"], color=colour, linewidth=1)
        ax.plot(
            row["published"],
            row["simulated"],
            markers[row["case"]],
            color=colour,
            markerfacecolor="none" if hollow else colour,
            linestyle="none",
        )
        if row["status"] == "miss":
            offset = (4, 4) if labelled % 2 == 0 else (4, -10)
            labelled += 1
            ax.annotate(
                f"{row['case']}: {row['label']}",
                (row["published"], row["simulated"]),
                fontsize="x-small",
                xytext=offset,
                textcoords="offset points",
            )
    if scale == "log":
        ax.set_xscale("log")
        ax.set_yscale("log")
    elif scale == "symlog":
        ax.set_xscale("symlog", linthresh=1)
        ax.set_yscale("symlog", linthresh=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
