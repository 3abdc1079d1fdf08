"""Experiments: scenarios, runs, sweeps, benchmarks and the ``bitswap-sim`` command.

One API for notebooks and the command line (``bitswap-sim run`` / ``sweep`` call the same)::

    from experiments import load_scenario, run, run_tables
    runs, peers = run(load_scenario("scenario.toml"), replications=5, workers=2)
    runs, peers = run(scenario, out="results/x", resume=True)   # files, summary, figures
    runs, peers, transfers, progress = run_tables(scenario)

The names are imported on first use, so ``import experiments`` (and ``bitswap-sim --help``)
does not load pandas or the simulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from experiments.runner import Tables, run, run_tables
    from experiments.scenario import load_scenario, parse_scenario

__all__ = ["Tables", "load_scenario", "parse_scenario", "run", "run_tables"]

_WHERE = {
    "Tables": "experiments.runner",
    "run": "experiments.runner",
    "run_tables": "experiments.runner",
    "load_scenario": "experiments.scenario",
    "parse_scenario": "experiments.scenario",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'experiments' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
