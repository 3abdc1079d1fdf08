"""Sweeps: a ``[sweep]`` table of parameter = [values] expanded into its grid of scenarios.

A parameter is a dotted path into the scenario's TOML (:func:`set_path`); each point of the
grid is the file with those values set, loaded again, so it is validated like any file.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from experiments.scenario.errors import ScenarioError
from experiments.scenario.load import NAMED_ARRAYS, parse_scenario
from experiments.scenario.specs import Scenario

__all__ = ["grid", "set_path"]


def set_path(raw: dict[str, Any], path: str, value: Any, source: str = "<scenario>") -> None:
    """Set a dotted parameter path in a raw scenario dict.

    ``groups.<name>.<field>``, ``objects.<name>.<field>`` and ``faults.<name>.<field>`` address
    array entries by name (a fault without a ``name`` is ``<kind>-<index>``);
    other paths are nested tables (``strategy.master.max_split``, ``network.latency.one_way``,
    ``defaults.strategy``, ``max_sim_time_s``).
    """
    parts = path.split(".")
    node: Any = raw
    i = 0
    while i < len(parts) - 1:
        key = parts[i]
        if key in NAMED_ARRAYS and isinstance(node, dict) and node is raw:
            entries = node.get(key, [])
            name = parts[i + 1] if i + 1 < len(parts) - 1 else None
            names = [_entry_name(key, j, e) for j, e in enumerate(entries)]
            match = [e for e, n in zip(entries, names, strict=True) if n == name]
            if not match:
                raise ScenarioError(
                    f"{source}: sweep.{path}: no {key[:-1]} named {name!r}; "
                    f"{key}: {', '.join(map(str, names)) or '(none)'}"
                )
            node = match[0]
            i += 2
            continue
        nxt = node.get(key) if isinstance(node, dict) else None
        if nxt is None:
            nxt = node[key] = {}
        if not isinstance(nxt, dict):
            raise ScenarioError(f"{source}: sweep.{path}: {key!r} is not a table")
        node = nxt
        i += 1
    node[parts[-1]] = value


def _entry_name(array: str, index: int, entry: Any) -> Any:
    if not isinstance(entry, dict):
        return None
    if array == "faults" and "name" not in entry:
        return f"{entry.get('kind')}-{index}"
    return entry.get("name")


def grid(scenario: Scenario) -> list[tuple[dict[str, Any], Scenario]]:
    """The sweep's points in file order (the first parameter varies slowest), each as
    (parameter values, the scenario with them applied). No sweep: one point, itself."""
    if not scenario.sweep:
        return [({}, scenario)]
    keys = list(scenario.sweep)
    out = []
    for values in itertools.product(*(scenario.sweep[k] for k in keys)):
        raw = copy.deepcopy(dict(scenario.raw))
        raw.pop("sweep", None)
        point = dict(zip(keys, values, strict=True))
        for key, value in point.items():
            set_path(raw, key, value, scenario.source)
        try:
            out.append((point, parse_scenario(raw, source=scenario.source)))
        except ScenarioError as exc:
            where = ", ".join(f"{k} = {v!r}" for k, v in point.items())
            raise ScenarioError(f"{exc} (at sweep point {where})") from None
    return out
