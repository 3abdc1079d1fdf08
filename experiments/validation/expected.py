"""A case's ``[expected]`` table: the published figures, what they measured, the tolerance.

A validation case is a scenario file with one more table, ``[expected]``, read off before the
rest goes to :func:`~experiments.scenario.parse_scenario` (the scenario schema does not know
it). Its keys (``docs/validation.md`` has an example):

* ``source`` (``https://...``: the exact comment, file or post), ``date`` (of the measurement,
  ``YYYY-MM-DD``), ``code`` (the code version measured), ``measured`` (what exactly the figure
  is), optionally ``samples`` (how many published runs stand behind a figure);
* the main comparison: ``metric`` (one of :data:`METRICS`), ``values`` (published figure per
  label), ``tolerance`` (relative, e.g. ``0.25``) and optionally ``tolerance_abs`` (in the
  metric's unit: a simulated value within ``max(tolerance * |published|, tolerance_abs)`` is
  within tolerance), ``tolerance_reason``, optionally ``known_gap`` (why the model misses it:
  one text, or a table label = text where the labels miss for different reasons);
* ``show``: other metrics printed against the same published values without a verdict (for a
  figure whose metric is ambiguous);
* ``[[expected.also]]``: further comparisons from the same source, each with its own
  ``metric``, ``values``, ``tolerance``, ``tolerance_abs``, ``tolerance_reason``, ``known_gap``;
* ``[[expected.ratios]]``: a ratio between two labels, e.g. ``of = ["poc", "master"]``,
  published as the ratio of their values for ``metric`` (default: the main one), simulated as
  the ratio of the means paired by replicate; with ``tolerance`` (relative),
  ``tolerance_reason``, ``known_gap``;
* ``[expected.arms]``: which runs a label stands for, ``label = { strategy = "...", "<swept
  parameter>" = value }``; a label without an arm is a strategy name. Each label selects exactly
  one point of the scenario's sweep;
* ``[expected.quick]``: parameter paths (as in ``[sweep]``) set by ``--quick``, e.g.
  ``"groups.leeches.count" = 8`` and ``replications = 2``.

Every error is a :class:`~experiments.scenario.ScenarioError` naming the file, the field
(``expected.<key>``) and what is allowed.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from experiments.scenario import ScenarioError, Table
from experiments.scenario.table import TEXT_MAX

__all__ = [
    "METRICS",
    "Check",
    "Expected",
    "Point",
    "parse_expected",
    "parse_quick",
    "split_expected",
]

METRICS: Mapping[str, str] = MappingProxyType(
    {
        "makespan_s": "last leech done minus first leech started, s (p2plab's total time)",
        "mean_time_to_fetch_s": "mean over leeches of the time to fetch, s",
        "dup_block_rate": "duplicate blocks / blocks received, summed over leeches",
        "dup_byte_rate": "duplicate bytes / bytes received, summed over leeches",
        "leech_time_to_fetch_s": "a leech's time to fetch (mean over the run's leeches), s",
        "leech_blocks_received": "blocks a leech received, duplicates included (mean over leeches)",
        "leech_dup_blocks_received": "duplicate blocks a leech received (mean over leeches)",
        "leech_msgs_sent": "messages a leech sent (mean over leeches)",
        "leech_msgs_received": "messages a leech received (mean over leeches)",
    }
)
"""What a published figure can be compared with: a column of the runs table, or
``leech_<column>``, the run's mean over its leeches of a column of the peers table (with one
fetcher, the fetcher's own figure)."""

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Point = Mapping[str, Any]
"""One point of a scenario's sweep as a label selects it: ``strategy`` (the runs table's
strategy column) and the value of every other swept parameter."""


@dataclass(frozen=True)
class Check:
    """One comparison: published ``values`` per label against the simulated ``metric``.

    ``tolerance`` is relative (0.25 = ±25 %), ``tolerance_abs`` absolute in the metric's unit;
    a simulated mean within ``max(tolerance * |published|, tolerance_abs)`` of the published
    value is within tolerance. ``verdict`` False: printed for information only (``show``).
    ``ratio`` (numerator, denominator labels): ``values`` holds the one published ratio, keyed
    ``"<numerator>/<denominator>"``, and the simulated value is the paired ratio of means.
    ``known_gaps``: the likely cause of a miss, per label."""

    metric: str
    values: Mapping[str, float]
    tolerance: float
    tolerance_abs: float
    tolerance_reason: str
    known_gaps: Mapping[str, str] = field(default_factory=dict)
    verdict: bool = True
    ratio: tuple[str, str] | None = None

    def within(self, published: float, simulated: float) -> bool:
        """Is ``simulated`` within this check's tolerance of ``published``?"""
        allowed = max(self.tolerance * abs(published), self.tolerance_abs)
        return abs(simulated - published) <= allowed * (1 + 1e-9)


@dataclass(frozen=True)
class Expected:
    """A case's ``[expected]`` table, validated (see the module docstring)."""

    source: str
    date: str
    code: str
    measured: str
    samples: str | None
    checks: tuple[Check, ...]
    arms: Mapping[str, Point]
    quick: Mapping[str, Any]

    @property
    def labels(self) -> list[str]:
        """Every label some check compares, in first-use order."""
        out: list[str] = []
        for check in self.checks:
            out.extend(label for label in check.values if check.ratio is None and label not in out)
        return out


def split_expected(data: Mapping[str, Any], source: str) -> tuple[dict[str, Any], Table]:
    """(the scenario without ``[expected]``, the ``[expected]`` table) of a case file's dict."""
    rest = dict(data)
    raw = rest.pop("expected", None)
    if raw is None:
        raise ScenarioError(
            f"{source}: expected: required: the published figures of the case ([expected] "
            "table with source, date, code, measured, metric, values, tolerance)"
        )
    return rest, Table(raw, "expected", source)


def parse_quick(t: Table) -> dict[str, Any]:
    """``expected.quick``: parameter path -> value (not the sweep, which labels depend on)."""
    q = Table(t.get("quick", {}), "expected.quick", t.source)
    for path in q.data:
        q.get(path)
        if path == "sweep" or path.startswith("sweep."):
            raise q.error(path, "--quick may not change the sweep (labels select its points)")
    return dict(q.data)


def parse_expected(t: Table, points: Sequence[Point]) -> Expected:
    """Validate the ``[expected]`` table ``t`` (from :func:`split_expected`) against the sweep
    ``points`` of the scenario it goes with."""
    source, date = _url(t), _date(t)
    code, measured = _text(t, "code"), _text(t, "measured")
    samples = _optional_text(t, "samples")
    quick = parse_quick(t)
    main = _check(t)
    checks = [main]
    show = t.get("show", [])
    if not isinstance(show, list) or not all(isinstance(m, str) for m in show):
        raise t.error("show", f"must be a list of metric names; allowed: {', '.join(METRICS)}")
    for metric in show:
        if metric not in METRICS:
            raise t.error("show", f"unknown metric {metric!r}; allowed: {', '.join(METRICS)}")
        checks.append(
            Check(metric, main.values, main.tolerance, main.tolerance_abs, "", verdict=False)
        )
    also = t.get("also", [])
    if not isinstance(also, list):
        raise t.error("also", "must be an array of tables ([[expected.also]])")
    for i, item in enumerate(also):
        a = Table(item, f"expected.also[{i}]", t.source)
        checks.append(_check(a))
        a.done()
    ratios = t.get("ratios", [])
    if not isinstance(ratios, list):
        raise t.error("ratios", "must be an array of tables ([[expected.ratios]])")
    direct = list(checks)
    for i, item in enumerate(ratios):
        r = Table(item, f"expected.ratios[{i}]", t.source)
        checks.append(_ratio(r, main.metric, direct))
        r.done()
    arms = _arms(t, [label for c in direct for label in c.values], points)
    t.done()
    return Expected(source, date, code, measured, samples, tuple(checks), arms, quick)


def _text(t: Table, key: str) -> str:
    value = _optional_text(t, key)
    if value is None:
        raise t.error(key, "required: a non-empty string")
    return value


def _optional_text(t: Table, key: str) -> str | None:
    """The string at ``key`` (up to :data:`~experiments.scenario.table.TEXT_MAX` characters)
    with its whitespace runs folded to one space; None if absent."""
    value = t.string(key, max_length=TEXT_MAX)
    if value is None:
        return None
    if not value.strip():
        raise t.error(key, "must be a non-empty string")
    return " ".join(value.split())


def _url(t: Table) -> str:
    url = _text(t, "source")
    if not url.startswith("https://") or " " in url:
        raise t.error(
            "source", f"must be one https:// URL (the exact comment or file), got {url!r}"
        )
    return url


def _date(t: Table) -> str:
    value = t.get("date")
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise t.error("date", f"required: the measurement's date as YYYY-MM-DD, got {value!r}")


def _check(t: Table) -> Check:
    metric = t.string("metric", None, tuple(METRICS))
    if metric is None:
        raise t.error("metric", f"required; allowed: {', '.join(METRICS)}")
    values = _values(t)
    tolerance = t.number("tolerance", math.nan) if t.has("tolerance") else _missing(t)
    tolerance_abs = t.number("tolerance_abs", 0.0)
    if tolerance <= 0 and tolerance_abs <= 0:
        raise t.error("tolerance", "must be > 0 (relative), or give tolerance_abs > 0")
    reason = _text(t, "tolerance_reason")
    gaps = _gaps(t, list(values))
    return Check(metric, values, tolerance, tolerance_abs, reason, gaps)


def _ratio(t: Table, default_metric: str, checks: Sequence[Check]) -> Check:
    """One ``[[expected.ratios]]`` table: the published ratio from the checks' values."""
    of = t.get("of")
    if not (isinstance(of, list) and len(of) == 2 and all(isinstance(x, str) for x in of)):
        raise t.error("of", f"required: two labels, numerator and denominator, got {of!r}")
    metric = t.string("metric", default_metric, tuple(METRICS))
    source = next((c for c in checks if c.metric == metric and c.verdict), None)
    labels = [] if source is None else list(source.values)
    for label in of:
        if label not in labels:
            raise t.error(
                "of",
                f"no published {metric} for {label!r}; allowed: {', '.join(labels) or '(none)'}",
            )
    assert source is not None
    num, den = source.values[of[0]], source.values[of[1]]
    if den == 0:
        raise t.error("of", f"the published {metric} of {of[1]!r} is 0: no ratio")
    tolerance = t.number("tolerance", math.nan) if t.has("tolerance") else _missing(t)
    if tolerance <= 0:
        raise t.error("tolerance", "must be > 0 (relative)")
    reason = _text(t, "tolerance_reason")
    values = {f"{of[0]}/{of[1]}": num / den}
    gaps = _gaps(t, list(values))
    return Check(metric, values, tolerance, 0.0, reason, gaps, True, (of[0], of[1]))


def _gaps(t: Table, labels: list[str]) -> Mapping[str, str]:
    """``known_gap``: one text for every label, or a table label = text."""
    raw = t.get("known_gap")
    if raw is None:
        return MappingProxyType({})
    if isinstance(raw, str):
        return MappingProxyType(dict.fromkeys(labels, _text(t, "known_gap")))
    g = Table(raw, t.path_of("known_gap"), t.source)
    out = {}
    for label in g.data:
        if label not in labels:
            raise g.error(label, f"not a label of this check; allowed: {', '.join(labels)}")
        out[label] = _text(g, label)
    g.done()
    return MappingProxyType(out)


def _missing(t: Table) -> float:
    raise t.error("tolerance", "required: the relative tolerance, e.g. 0.25 for ±25 %")


def _values(t: Table) -> dict[str, float]:
    raw = t.get("values")
    if not isinstance(raw, Mapping) or not raw:
        raise t.error(
            "values", "required: a table of published figures, label = number (e.g. master = 9.08)"
        )
    out = {}
    for label, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise t.error(f"values.{label}", f"must be a number >= 0, got {value!r}")
        out[str(label)] = float(value)
    return out


def _arms(t: Table, labels: Sequence[str], points: Sequence[Point]) -> dict[str, Point]:
    """Each label's selection, checked to pick exactly one of the sweep ``points``."""
    a = Table(t.get("arms", {}), "expected.arms", t.source)
    keys = list(dict.fromkeys(k for p in points for k in p))
    out: dict[str, Point] = {}
    for label in dict.fromkeys(labels):
        where = a.get(label)
        if where is None:
            strategies = sorted({str(p["strategy"]) for p in points})
            if label not in strategies:
                raise t.error(
                    "values",
                    f"label {label!r} is not a strategy the scenario runs "
                    f"({', '.join(strategies)}); name one, or say which runs it stands for "
                    f'in expected.arms (e.g. {label!r} = {{ strategy = "{strategies[0]}" }})',
                )
            where = {"strategy": label}
        if not isinstance(where, Mapping) or not where:
            raise a.error(label, 'must be a table of column = value, e.g. { strategy = "master" }')
        for key, value in where.items():
            if key not in keys:
                raise a.error(
                    f"{label}.{key}",
                    f"the scenario does not vary {key!r}; allowed: {', '.join(keys)}",
                )
            if not any(p[key] == value for p in points):
                runs = ", ".join(dict.fromkeys(repr(p[key]) for p in points))
                raise a.error(f"{label}.{key}", f"no run has {value!r}; allowed: {runs}")
        hits = [p for p in points if all(p[k] == v for k, v in where.items())]
        if len(hits) != 1:
            free = [k for k in keys if len({repr(p[k]) for p in hits}) > 1]
            raise a.error(
                label,
                f"selects {len(hits)} runs of the sweep, not one; add "
                f"{' and '.join(free) or 'a swept parameter'} to it",
            )
        out[label] = MappingProxyType(dict(where))
    for label in a.data:
        if label not in out:
            raise a.error(label, f"no check compares this label; labels: {', '.join(out)}")
    a.done()
    return out
