"""Scenario files: TOML in, validated frozen dataclasses out, and back.

One job per module:

* :mod:`~experiments.scenario.specs`: what a scenario is (:class:`Scenario`, its groups,
  objects, network, registry and faults) and the values each field may take;
* :mod:`~experiments.scenario.table`: :class:`Table`, typed reading of one TOML table;
* :mod:`~experiments.scenario.load`, :mod:`~experiments.scenario.load_faults`,
  :mod:`~experiments.scenario.load_hosts` and :mod:`~experiments.scenario.load_topology`: a file
  or a dict to a validated :class:`Scenario` (:func:`load_scenario`, :func:`parse_scenario`;
  hosts: :func:`parse_hosts`, presets from :mod:`experiments.hosts`; graph topologies and
  connection managers: :class:`GraphSpec`, :class:`ConnManagerSpec`);
* :mod:`~experiments.scenario.sweep`: a ``[sweep]`` expanded lazily into its grid (:func:`grid`,
  :func:`set_path`);
* :mod:`~experiments.scenario.limits` and :mod:`~experiments.scenario.cost`: what a file and a
  scenario may ask for (:class:`Limits`), and what a run will cost (:func:`estimate`), checked
  before anything is built;
* :mod:`~experiments.scenario.write`: the resolved scenario written back as TOML
  (:func:`resolved_dict`, :func:`write_resolved`).

Every field, its default and its unit is documented in ``docs/scenarios.md``; every error is one
:class:`ScenarioError` naming the file, the field and what is allowed. Running the faults of a
scenario is :mod:`experiments.faults`'s job.
"""

from experiments.scenario.cost import Cost, check_cost, estimate, run_arguments
from experiments.scenario.errors import ScenarioError
from experiments.scenario.limits import DEFAULT_LIMITS, MAX_DEPTH, MAX_FILE_BYTES, Limits
from experiments.scenario.load import load_scenario, parse_scenario, preset_raw
from experiments.scenario.load_faults import parse_faults
from experiments.scenario.load_hosts import host_dict, parse_hosts
from experiments.scenario.specs import (
    ConnManagerSpec,
    Duration,
    FaultSpec,
    FetchSpec,
    GraphNode,
    GraphSpec,
    GroupSpec,
    HoldSpec,
    NetworkSpec,
    ObjectSpec,
    RegistrySpec,
    Scenario,
    block_count,
)
from experiments.scenario.sweep import Grid, grid, set_path
from experiments.scenario.table import Table
from experiments.scenario.write import fault_dict, resolved_dict, write_resolved
from sim.units import parse_size

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "ConnManagerSpec",
    "Cost",
    "Duration",
    "FaultSpec",
    "FetchSpec",
    "GraphNode",
    "GraphSpec",
    "Grid",
    "GroupSpec",
    "HoldSpec",
    "Limits",
    "NetworkSpec",
    "ObjectSpec",
    "RegistrySpec",
    "Scenario",
    "ScenarioError",
    "Table",
    "block_count",
    "check_cost",
    "estimate",
    "fault_dict",
    "grid",
    "host_dict",
    "load_scenario",
    "parse_faults",
    "parse_hosts",
    "parse_scenario",
    "parse_size",
    "preset_raw",
    "resolved_dict",
    "run_arguments",
    "set_path",
    "write_resolved",
]
