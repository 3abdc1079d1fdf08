"""Sweeps: a ``[sweep]`` table of parameter = [values] expanded into its grid of scenarios.

A parameter is a dotted path into the scenario's TOML (:func:`set_path`); each point of the
grid is the file with those values set, loaded again, so it is validated (and its cost checked)
like any file. The grid is lazy (:class:`Grid`): a point is built when it is asked for, so a
large grid costs memory only for the points a caller keeps.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any, overload

from experiments.scenario.errors import ScenarioError
from experiments.scenario.load import parse_scenario, set_path
from experiments.scenario.specs import Scenario

__all__ = ["Grid", "grid", "set_path"]

Point = tuple[dict[str, Any], Scenario]
"""A sweep point: (parameter values, the scenario with them applied)."""


class Grid(Sequence[Point]):
    """The points of a scenario's sweep in file order (the first parameter varies slowest),
    built one at a time: ``len()`` is the product of the lists' lengths, ``grid[i]`` builds
    point i, iterating builds them in order. No sweep: one point, the scenario itself."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.keys = list(scenario.sweep)
        self._values = [tuple(scenario.sweep[k]) for k in self.keys]
        self._len = math.prod(len(v) for v in self._values)

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> Point: ...

    @overload
    def __getitem__(self, index: slice) -> list[Point]: ...

    def __getitem__(self, index: int | slice) -> Point | list[Point]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        i = index + self._len if index < 0 else index
        if not 0 <= i < self._len:
            raise IndexError(f"sweep point {index} of {self._len}")
        values = []
        for options in reversed(self._values):
            i, j = divmod(i, len(options))
            values.append(options[j])
        return self._point(tuple(reversed(values)))

    def __iter__(self) -> Iterator[Point]:
        for values in itertools.product(*self._values):
            yield self._point(values)

    def _point(self, values: tuple[Any, ...]) -> Point:
        scenario = self.scenario
        if not self.keys:
            return ({}, scenario)
        raw = copy.deepcopy(dict(scenario.raw))
        raw.pop("sweep", None)
        point = dict(zip(self.keys, values, strict=True))
        for key, value in point.items():
            set_path(raw, key, value, scenario.source)
        try:
            return (point, parse_scenario(raw, source=scenario.source, limits=scenario.limits))
        except ScenarioError as exc:
            where = ", ".join(f"{k} = {v!r}" for k, v in point.items())
            if len(where) > 200:
                where = where[:160] + " ..."
            raise ScenarioError(f"{exc} (at sweep point {where})") from None


def grid(scenario: Scenario) -> Grid:
    """The sweep's points in file order (the first parameter varies slowest), each as
    (parameter values, the scenario with them applied), built lazily (:class:`Grid`). No
    sweep: one point, itself."""
    return Grid(scenario)
