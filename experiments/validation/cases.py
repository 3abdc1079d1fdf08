"""The validation cases: the TOML files of this folder, loaded as (scenario, expected) pairs.

A case file is a scenario file plus an ``[expected]`` table
(:mod:`experiments.validation.expected`); its name is the file's stem, and the scenario's
``name`` must be the same. ``cases()`` loads every case shipped with the package (or those
named); ``load_case(path)`` loads any file, so a user can validate against a measurement of
their own. ``host=`` runs every group of a case on one host preset instead of the case's own
(``host="ideal"``: what the model gives without host costs).
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from experiments.hosts import PRESETS
from experiments.runner import RunSpec, plan, swept_columns
from experiments.scenario import Scenario, ScenarioError, grid, parse_scenario, set_path
from experiments.validation.expected import (
    Expected,
    Point,
    parse_expected,
    parse_quick,
    split_expected,
)

__all__ = ["Case", "case_names", "cases", "load_case"]


@dataclass(frozen=True)
class Case:
    """One published measurement and the scenario that replays it.

    ``scenario`` is the file's scenario, shrunk by ``expected.quick`` if loaded with
    ``quick=True``; ``shrunk`` says that the shrinking changed more than the replications (so the
    published figures no longer apply); ``points`` maps each sweep point's index to what labels
    select on (``strategy`` and the swept parameters)."""

    name: str
    source: str
    scenario: Scenario
    expected: Expected
    points: tuple[Point, ...]
    shrunk: bool = False

    def plan(self, replications: int | None = None) -> list[RunSpec]:
        """The case's runs (its sweep x replications); ``replications`` overrides the file's."""
        return plan(self.scenario, replications=replications)

    def label_point(self, label: str) -> int:
        """The index of the sweep point ``label`` stands for."""
        where = self.expected.arms[label]
        return next(
            i
            for i, p in enumerate(self.points)
            if all(p[key] == value for key, value in where.items())
        )


def _folder() -> Any:
    return resources.files("experiments").joinpath("validation")


def case_names() -> list[str]:
    """The names of the cases shipped with the package, sorted."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _folder().iterdir()
        if entry.name.endswith(".toml")
    )


def cases(
    names: Iterable[str] | None = None, *, quick: bool = False, host: str | None = None
) -> list[Case]:
    """The shipped cases (all, or those ``names``, in that order), validated; ``quick``: each
    shrunk by its ``expected.quick`` table; ``host``: every group on this host preset. An
    unknown name raises ``ValueError`` listing the allowed ones."""
    _check_host(host)
    known = case_names()
    chosen = known if names is None else list(dict.fromkeys(names))
    for name in chosen:
        if name not in known:
            raise ValueError(f"unknown validation case {name!r}; allowed: {', '.join(known)}")
    out = []
    for name in chosen:
        text = _folder().joinpath(f"{name}.toml").read_text(encoding="utf-8")
        out.append(_parse(text, f"experiments/validation/{name}.toml", name, quick, host))
    return out


def load_case(path: str | Path, *, quick: bool = False, host: str | None = None) -> Case:
    """A case file anywhere on disk (``--quick`` shrinking with ``quick``, every group on the
    host preset ``host`` if given)."""
    _check_host(host)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    return _parse(text, str(path), path.stem, quick, host)


def _check_host(host: str | None) -> None:
    if host is not None and host not in PRESETS:
        raise ValueError(f"unknown host preset {host!r}; allowed: {', '.join(PRESETS)}")


def _parse(text: str, source: str, name: str, quick: bool, host: str | None = None) -> Case:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    raw, table = split_expected(data, source)
    if host is not None:
        raw = _on_host(raw, host)
    overrides = parse_quick(table)
    full = parse_scenario(raw, source=source)
    if full.name != name:
        raise ScenarioError(
            f"{source}: name: must be the case's name {name!r} (the file's stem), got {full.name!r}"
        )
    # the quick version is validated every time, so a broken quick table fails early
    small = _shrunk(raw, overrides, source)
    scenario = small if quick else full
    points = _points(scenario)
    expected = parse_expected(table, points)
    shrunk = quick and any(path != "replications" for path in overrides)
    return Case(name, source, scenario, expected, tuple(points), shrunk)


def _on_host(raw: dict[str, Any], host: str) -> dict[str, Any]:
    """``raw`` with every group on the preset ``host`` (the case's own hosts are dropped)."""
    raw = copy.deepcopy(raw)
    for group in raw.get("groups", []):
        if isinstance(group, dict):
            group.pop("host", None)
    defaults = raw.setdefault("defaults", {})
    if isinstance(defaults, dict):
        defaults["host"] = host
    return raw


def _shrunk(raw: dict[str, Any], overrides: dict[str, Any], source: str) -> Scenario:
    small = copy.deepcopy(raw)
    for path, value in overrides.items():
        try:
            set_path(small, path, value, source)
        except ScenarioError as exc:
            raise ScenarioError(str(exc).replace(": sweep.", ": expected.quick.", 1)) from None
    try:
        return parse_scenario(small, source=f"{source} (quick)")
    except ScenarioError as exc:
        raise ScenarioError(f"{exc} (after expected.quick)") from None


def _points(scenario: Scenario) -> list[Point]:
    """What a label can select on, per sweep point: ``strategy`` and the swept parameters."""
    # arms name swept parameters by their paths (the runs table's columns are query-able names)
    swept: Sequence[str] = [
        path for path in swept_columns(scenario).values() if not path.endswith(".strategy")
    ]
    return [
        {"strategy": point_scenario.strategy_label, **{k: point[k] for k in swept}}
        for point, point_scenario in grid(scenario)
    ]
