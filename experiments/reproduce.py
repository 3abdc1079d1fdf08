"""``bitswap-sim reproduce``: the headline, master vs poc vs registry, next to the blog.

Runs the ``container-image`` preset (``experiments/scenarios/container-image.toml``: the code
and the host of the blog's date) for its strategies with its replications, on common random
numbers (replicate r of every strategy shares latency draws and placement), then prints the
mean and 95% confidence interval of the makespan and of the mean time to fetch, how far each is
from the blog's figure, the paired poc/master and poc/registry ratios next to the blog's, the
duplicate rates, and writes the figures and the Parquet files. Then the sensitivity grid
(:mod:`experiments.sensitivity`): how the times and the ratio move over what the blog does not
say (bandwidth per node, host preset, DONT_HAVE timeout latency), one at a time, at a stated
size (``--sensitivity quick|quarter|full|off``; ``quick`` by default, which takes minutes, where
the full size takes hours), as a table and a figure under ``sensitivity/``.

``--quick`` shrinks it (8 leeches, a 60 MiB image, 2 replications) to run in well under a
minute. That is a smoke test, not the headline: it says so first, and it puts no published
number beside its own (the blog's times and ratios are for 32 leeches and 300 MiB; nothing of a
run a quarter of that size compares with them), in the table, the ratio lines or the figures.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.runner import plan, run_tables
from experiments.scenario import Scenario, parse_scenario, preset_raw, set_path
from experiments.stats import mean_ci, paired_ratio

__all__ = [
    "BLOG",
    "POC_ERAS",
    "blog_reference",
    "headline_scenario",
    "headline_table",
    "quick_banner",
    "ratio_lines",
    "reproduce",
    "run_sensitivity",
]

BLOG = {"master": 9.08, "poc": 3.16, "registry": 3.93}
"""Mean time to fetch in seconds, Netflix/IPFS blog 2020-02-14 (registry = DockerHub)."""

POC_ERAS = ("poc", "poc-2020-02", "poc-potential")
"""The strategies that model a state of go-bitswap's poc: each is a candidate for the blog's
"poc" and is shown next to its 3.16 s (``docs/poc.md``, "Eras")."""

QUICK = {
    "groups.leeches.count": 8,
    "objects.image.layers": ["10 MiB", "20 MiB", "20 MiB", "10 MiB"],
    "replications": 2,
}


def blog_reference(strategies: Sequence[str]) -> dict[str, float]:
    """The blog's time (s) for each of ``strategies`` that has one: any poc era stands for the
    blog's poc. Only the strategies run, so that the figures get no empty slot."""
    return {
        s: BLOG["poc"] if s in POC_ERAS else BLOG[s]
        for s in strategies
        if s in POC_ERAS or s in BLOG
    }


def headline_scenario(quick: bool = False) -> Scenario:
    """The ``container-image`` preset (``quick``: the shrunk version)."""
    raw = preset_raw("container-image.toml")
    if quick:
        for path, value in QUICK.items():
            set_path(raw, path, value)
    return parse_scenario(raw, source="container-image.toml" + (" (quick)" if quick else ""))


def _fmt(mean: float, lo: float, hi: float) -> str:
    if lo != lo:  # NaN: a single replication
        return f"{mean:.2f}"
    return f"{mean:.2f} [{lo:.2f}, {hi:.2f}]"


def quick_banner(scenario: Scenario) -> str:
    """What ``--quick`` runs, and that it is not compared with the blog."""
    leeches = sum(g.count for g in scenario.groups if g.fetch is not None)
    size = sum(scenario.object("image").layers) / 2**20
    return (
        f"REDUCED RUN (--quick): {leeches} leeches, a {size:g} MiB image, "
        f"{scenario.replications} replications, not the blog's 32 leeches and 300 MiB. A smoke "
        "test: its times and ratios are not comparable with the blog's, so none is shown "
        "beside them; run without --quick for the headline."
    )


def headline_table(runs: pd.DataFrame, *, blog: bool = True) -> pd.DataFrame:
    """One row per strategy: makespan and mean time to fetch with 95% CIs, the share of leeches
    that finished, duplicates, and (``blog``) the blog's mean time to fetch."""
    rows = []
    for strategy in ("master", *POC_ERAS, "registry"):
        part = runs[runs["strategy"] == strategy]
        if part.empty:
            continue
        row: dict[str, Any] = {
            "strategy": strategy,
            "runs": len(part),
            "fraction_completed": f"{part['completed_leeches'].sum()}/{part['leeches'].sum()}"
            if {"leeches", "completed_leeches"} <= set(part.columns)
            else "",
            "makespan_s (95% CI)": _fmt(*mean_ci(part["makespan_s"], limits=(0.0, math.inf))),
            "mean_time_to_fetch_s (95% CI)": _fmt(
                *mean_ci(part["mean_time_to_fetch_s"], limits=(0.0, math.inf))
            ),
            "dup_block_rate": f"{part['dup_block_rate'].mean():.3f}",
        }
        if blog:
            published = BLOG["poc"] if strategy in POC_ERAS else BLOG.get(strategy, math.nan)
            row["blog_s"] = published
            # the blog says "on average" without saying over what: the mean time to fetch and
            # the makespan (p2plab's one duration per benchmark) are both set beside it
            for column, name in (("mean_time_to_fetch_s", "ttf"), ("makespan_s", "makespan")):
                error = part[column].mean() / published - 1.0
                row[f"{name}_vs_blog"] = f"{error:+.0%}"
        rows.append(row)
    return pd.DataFrame(rows)


def ratio_lines(runs: pd.DataFrame, *, blog: bool = True) -> list[str]:
    """Paired ratios (same replicate) of mean time to fetch, next to the blog's (``blog``)."""
    lines = []
    for num, den in [(poc, den) for poc in POC_ERAS for den in ("master", "registry")]:
        if not {num, den} <= set(runs["strategy"]):
            continue
        r = paired_ratio(runs, "mean_time_to_fetch_s", num, den)
        ci = "" if r["ci_low"] != r["ci_low"] else f" [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
        line = f"{num}/{den} mean time to fetch: {r['ratio']:.2f}{ci} (n={r['n']} pairs)"
        if blog:
            line += f"; blog {BLOG['poc']}/{BLOG[den]} = {BLOG['poc'] / BLOG[den]:.2f}"
        lines.append(line)
    return lines


def run_sensitivity(
    out: Path,
    size: str,
    *,
    workers: int | None,
    resume: bool,
    force: bool,
    formats: Sequence[str],
) -> str:
    """The headline's unknowns one at a time (:mod:`experiments.sensitivity`) at ``size``,
    saved under ``out`` (``runs/``, the Parquet tables, ``sensitivity.csv``, the figure);
    returns the printed table."""
    import shutil

    from experiments.runner import _executor, execute_tables
    from experiments.sensitivity import (
        format_table,
        sensitivity_figure,
        sensitivity_specs,
        sensitivity_table,
    )

    specs = sensitivity_specs(size)
    if force and out.exists():
        shutil.rmtree(out)
    print(f"\nsensitivity ({size} size): {len(specs)} runs, one per point")
    executor, close = _executor(workers, None, len(specs))
    try:
        tables = execute_tables(
            list(specs.values()), executor=executor, out_dir=out, resume=resume, progress=True
        )
    finally:
        if close is not None:
            close()
    table = sensitivity_table(tables.runs, specs)
    table.to_csv(out / "sensitivity.csv", index=False)
    for fmt in formats:
        sensitivity_figure(table, size, out / f"sensitivity.{fmt}")
    return format_table(table, size)


def reproduce(
    out: Path,
    *,
    quick: bool = False,
    workers: int | None = None,
    resume: bool = False,
    force: bool = False,
    formats: Sequence[str] = ("png",),
    sensitivity: str | None = None,
) -> dict[str, Any]:
    """Run the headline, print and save the table, write figures; then the sensitivity grid at
    ``sensitivity`` (a size of :data:`experiments.sensitivity.SIZES`, ``"off"`` to skip; by
    default ``quick``). Returns the table, the ratios and the sensitivity text (``quick``: the
    reduced run, with no published number beside it)."""
    from experiments.runner import command_line

    scenario = headline_scenario(quick)
    specs = plan(scenario)
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    banner = quick_banner(scenario) if quick else ""
    if banner:
        print(banner)
    print(
        f"reproduce{' --quick' if quick else ''}: {len(specs)} runs "
        f"({', '.join(scenario.sweep['defaults.strategy'])} x {scenario.replications} "
        f"replications) on {n_workers} worker(s)"
    )
    argv = ["reproduce", *(["--quick"] if quick else []), "--out", str(out)]
    tables = run_tables(
        scenario,
        workers=n_workers,
        out=out,
        resume=resume,
        force=force,
        progress=True,
        formats=formats,
        reference=None if quick else blog_reference(scenario.sweep["defaults.strategy"]),
        command=command_line(argv),
    )
    runs = tables.runs
    table = headline_table(runs, blog=not quick)
    ratios = ratio_lines(runs, blog=not quick)
    text = table.to_string(index=False) + "\n\n" + "\n".join(ratios)
    if banner:
        text = banner + "\n\n" + text
    print("\n" + text)
    (out / "headline.txt").write_text(text + "\n", encoding="utf-8")
    size = sensitivity or "quick"
    sens_text = ""
    if size != "off":
        sens_text = run_sensitivity(
            out / "sensitivity",
            size,
            workers=n_workers,
            resume=resume,
            force=force,
            formats=formats,
        )
        print("\n" + sens_text)
        (out / "sensitivity.txt").write_text(sens_text + "\n", encoding="utf-8")
    return {"table": table, "ratios": ratios, "sensitivity": sens_text}
