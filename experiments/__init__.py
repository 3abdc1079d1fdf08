"""Experiments: scenarios, runs, sweeps, benchmarks and the ``bitswap-sim`` command.

from experiments import load_scenario, run, run_tables
runs, peers = run(load_scenario("scenario.toml"), seed=1)
runs, peers, transfers, progress = run_tables(load_scenario("scenario.toml"), seed=1)
"""

from experiments.runner import run, run_tables
from experiments.scenario import load_scenario

__all__ = ["load_scenario", "run", "run_tables"]
