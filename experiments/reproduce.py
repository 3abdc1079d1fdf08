"""``bitswap-sim reproduce``: the headline, master vs poc vs registry, next to the blog.

Runs the ``container-image`` preset (``experiments/scenarios/container-image.toml``) for the
three strategies with its replications, on common random numbers (replicate r of every
strategy shares latency draws and placement), then prints the mean and 95% confidence interval
of the makespan and of the mean time to fetch, the paired poc/master and poc/registry ratios
next to the blog's, the duplicate rates, and writes the figures and the Parquet files.

``--quick`` shrinks it (8 leeches, a 60 MiB image, 2 replications) to run in well under a
minute; its figures are not the headline.
"""

from __future__ import annotations

import copy
import os
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.runner import execute_tables, plan, swept_parameters
from experiments.scenario import Scenario, parse_scenario, set_path
from experiments.stats import mean_ci, paired_ratio

__all__ = ["BLOG", "POC_ERAS", "headline_scenario", "reproduce"]

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


def headline_scenario(quick: bool = False) -> Scenario:
    """The ``container-image`` preset (``quick``: the shrunk version)."""
    import tomllib

    text = resources.files("experiments").joinpath("scenarios/container-image.toml").read_text()
    raw = tomllib.loads(text)
    if quick:
        raw = copy.deepcopy(raw)
        for path, value in QUICK.items():
            set_path(raw, path, value)
    return parse_scenario(raw, source="container-image.toml" + (" (quick)" if quick else ""))


def _fmt(mean: float, lo: float, hi: float) -> str:
    if lo != lo:  # NaN: a single replication
        return f"{mean:.2f}"
    return f"{mean:.2f} [{lo:.2f}, {hi:.2f}]"


def headline_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per strategy: makespan and mean time to fetch with 95% CIs, duplicates, blog."""
    rows = []
    for strategy in ("master", *POC_ERAS, "registry"):
        part = runs[runs["strategy"] == strategy]
        if part.empty:
            continue
        rows.append(
            {
                "strategy": strategy,
                "runs": len(part),
                "makespan_s (95% CI)": _fmt(*mean_ci(part["makespan_s"])),
                "mean_time_to_fetch_s (95% CI)": _fmt(*mean_ci(part["mean_time_to_fetch_s"])),
                "dup_block_rate": f"{part['dup_block_rate'].mean():.3f}",
                "blog_s": BLOG.get(strategy, BLOG["poc"] if strategy in POC_ERAS else float("nan")),
            }
        )
    return pd.DataFrame(rows)


def ratio_lines(runs: pd.DataFrame) -> list[str]:
    """Paired ratios (same replicate) of mean time to fetch, next to the blog's."""
    lines = []
    for num, den in [(poc, den) for poc in POC_ERAS for den in ("master", "registry")]:
        if not {num, den} <= set(runs["strategy"]):
            continue
        r = paired_ratio(runs, "mean_time_to_fetch_s", num, den)
        blog = BLOG["poc"] / BLOG[den]
        ci = "" if r["ci_low"] != r["ci_low"] else f" [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
        lines.append(
            f"{num}/{den} mean time to fetch: {r['ratio']:.2f}{ci} (n={r['n']} pairs); "
            f"blog {BLOG['poc']}/{BLOG[den]} = {blog:.2f}"
        )
    return lines


def reproduce(out: Path, *, quick: bool = False, workers: int | None = None) -> dict[str, Any]:
    """Run the headline, print and save the table, write figures; returns the table and ratios."""
    from experiments.cli import _executor, _finish_outputs

    scenario = headline_scenario(quick)
    specs = plan(scenario)
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    executor, close = _executor(min(n_workers, len(specs)), None)
    print(
        f"reproduce{' --quick' if quick else ''}: {len(specs)} runs "
        f"({', '.join(scenario.sweep['defaults.strategy'])} x {scenario.replications} "
        f"replications) on {n_workers} worker(s)"
    )
    try:
        tables = execute_tables(
            specs, executor=executor, out_dir=out, progress=True, swept=swept_parameters(scenario)
        )
    finally:
        close()
    runs = tables.runs
    table = headline_table(runs)
    ratios = ratio_lines(runs)
    text = table.to_string(index=False) + "\n\n" + "\n".join(ratios)
    print("\n" + text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "headline.txt").write_text(text + "\n", encoding="utf-8")
    _finish_outputs(tables, scenario, out, reference=BLOG)
    return {"table": table, "ratios": ratios}
