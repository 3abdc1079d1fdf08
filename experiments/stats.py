"""Confidence intervals, summary tables and censored time to fetch (``scipy.stats``).

Every function takes replicate-level numbers (one value per run) and drops NaN values first: a
run in which no leech completed has ``mean_time_to_fetch_s = NaN`` and contributes nothing, so
``n`` always counts the values actually used. Randomised procedures (the bootstrap) take
``seed=`` (None, an int or a numpy ``Generator``) and default to a fixed seed, so a table is the
same every time it is rebuilt.

**One interval method.** The summary tables (``summarise``, ``summary.txt``) and every figure
of ``experiments.plots`` show the mean over runs with the same Student-t interval
(:func:`mean_ci`), clipped to what the metric can be (:func:`bounds`: no negative time, no rate
outside [0, 1]). ``summarise`` notes, and warns (:class:`StatisticsWarning`), when a value
rests on fewer than 3 runs or on identical runs (a zero-width interval: nothing random differs
between the replications). ``bootstrap_ci`` and ``paired_ratio`` are for analyses of their own.

**Leeches that never finish.** A run's ``mean_time_to_fetch_s`` is over its completed leeches
only; ``fraction_completed`` says how many did. :func:`time_to_fetch_km` treats time to fetch
as what it is, a right-censored time (a leech still fetching when the run stopped is known only
to need longer): the Kaplan–Meier estimate of the fraction of leeches done by each time
(``scipy.stats.ecdf`` on ``scipy.stats.CensoredData``), and :func:`km_median` its median.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = [
    "StatisticsWarning",
    "bootstrap_ci",
    "bounds",
    "km_median",
    "leech_times",
    "mean_ci",
    "note",
    "paired_ratio",
    "summarise",
    "time_to_fetch_km",
]

DEFAULT_METRICS = ("makespan_s", "mean_time_to_fetch_s", "dup_block_rate")
"""Run-level metrics ``summarise`` reports unless told otherwise."""

MIN_RUNS = 3
"""Fewer runs than this behind a mean: its interval is noted as unreliable."""


class StatisticsWarning(UserWarning):
    """A summary value whose interval says little: too few runs, or identical runs."""


def bounds(metric: str) -> tuple[float, float]:
    """What ``metric`` can be: ``(0, 1)`` for rates and fractions, ``(0, inf)`` for times,
    byte and message counts, ``(-inf, inf)`` otherwise. Intervals are clipped to it."""
    name = metric.lower()
    if name.endswith(("_rate", "_fraction")) or name.startswith("fraction"):
        return (0.0, 1.0)
    nonnegative = ("_s", "bytes", "_events", "leeches", "blocks", "msgs")
    if name.endswith(nonnegative) or name.startswith(("msgs_", "blocks_", "dup_")):
        return (0.0, math.inf)
    return (-math.inf, math.inf)


# scipy >= 1.15 takes ``rng=``; older releases only ``random_state=`` (pyproject allows >= 1.11).
_BOOTSTRAP_RNG_KW = (
    "rng" if "rng" in inspect.signature(sps.bootstrap).parameters else "random_state"
)


def _clean(values: Any) -> np.ndarray:
    """A 1-D float array of ``values`` with NaN removed."""
    arr = np.asarray(values, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")


def mean_ci(
    values: Any, confidence: float = 0.95, limits: tuple[float, float] | None = None
) -> tuple[float, float, float]:
    """Mean of ``values`` and its two-sided Student-t confidence interval.

    Returns ``(mean, low, high)`` in the units of ``values``. The half-width is
    ``t_{(1+confidence)/2, n-1} * s / sqrt(n)`` with ``s`` the sample standard deviation
    (``ddof=1``). NaN values are dropped; one value gives ``(x, nan, nan)``, none gives
    ``(nan, nan, nan)``; identical values give a zero-width interval. ``limits``: ``(low,
    high)`` the interval is clipped to (e.g. ``bounds("dup_block_rate")``).
    """
    _check_confidence(confidence)
    x = _clean(values)
    n = x.size
    if n == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n == 1:
        return (mean, math.nan, math.nan)
    sem = float(x.std(ddof=1)) / math.sqrt(n)
    half = float(sps.t.ppf(0.5 + confidence / 2.0, n - 1)) * sem
    low, high = mean - half, mean + half
    if limits is not None:
        low, high = max(low, limits[0]), min(high, limits[1])
    return (mean, low, high)


def bootstrap_ci(
    values: Any,
    stat: Callable[..., Any] = np.median,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    seed: int | np.random.Generator | None = 0,
    method: str = "BCa",
) -> tuple[float, float, float]:
    """``stat(values)`` and its bootstrap confidence interval (``scipy.stats.bootstrap``).

    Returns ``(estimate, low, high)`` in the units of ``stat``. Resampling draws from
    ``np.random.default_rng(seed)``, so a fixed ``seed`` (default 0) gives the same interval on
    every call; pass a ``Generator`` to share a stream. ``method`` is scipy's: ``"BCa"`` (the
    default, bias-corrected and accelerated), ``"percentile"`` or ``"basic"``. ``stat`` may take
    ``axis=`` (then scipy vectorises it, as with ``np.median`` and ``np.mean``).

    NaN values are dropped. Fewer than two values give ``(estimate, nan, nan)``; identical values
    give a zero-width interval. If BCa is undefined for the sample (a bootstrap distribution with
    no spread, or too few distinct values), the interval falls back to the percentile interval of
    the same bootstrap distribution.
    """
    _check_confidence(confidence)
    x = _clean(values)
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    estimate = float(stat(x))
    if x.size == 1:
        return (estimate, math.nan, math.nan)
    if np.all(x == x[0]):
        return (estimate, estimate, estimate)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # BCa on a degenerate sample warns and returns NaN; handled just below.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", sps.DegenerateDataWarning)
        res = sps.bootstrap(
            (x,),
            stat,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method=method,
            **{_BOOTSTRAP_RNG_KW: rng},
        )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isnan(low) or math.isnan(high):
        dist = np.asarray(res.bootstrap_distribution, dtype=float)
        alpha = 1.0 - confidence
        low, high = (float(q) for q in np.quantile(dist, [alpha / 2.0, 1.0 - alpha / 2.0]))
    return (estimate, low, high)


def _as_list(cols: str | Sequence[str]) -> list[str]:
    return [cols] if isinstance(cols, str) else list(cols)


def note(values: Any) -> str:
    """What the interval of the mean of ``values`` cannot say, or ``""``: no value, one run,
    fewer than :data:`MIN_RUNS` runs, or equal values (zero width; :func:`summarise` notes a
    group whose runs are equal in every metric as :data:`IDENTICAL`)."""
    x = _clean(values)
    if x.size == 0:
        return "no value"
    if x.size == 1:
        return "1 run: no interval"
    if np.all(x == x[0]):
        return "equal values: zero width"
    if x.size < MIN_RUNS:
        return f"{x.size} runs (< {MIN_RUNS}): unreliable"
    return ""


SUMMARY_COLUMNS = ("metric", "n", "mean", "ci_low", "ci_high", "note")
"""The columns of :func:`summarise` after the grouping ones."""


def summarise(
    runs: pd.DataFrame,
    by: str | Sequence[str] = ("strategy",),
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    confidence: float = 0.95,
    *,
    warn: bool = True,
) -> pd.DataFrame:
    """Mean and Student-t confidence interval of run-level ``metrics`` per group of ``by``.

    Tidy (long) output, the shape of ``summary.csv``: one row per group and metric, columns
    ``[*by, "metric", "n", "mean", "ci_low", "ci_high", "note"]``, in the metric's own units.
    ``n`` counts the non-NaN runs for that metric in that group, so it can differ between
    metrics (a run in which no leech finished has no mean time to fetch). Bounds are clipped to
    :func:`bounds` of the metric. ``note`` says when an interval says little (:func:`note`; a
    group whose runs agree on every metric: :data:`IDENTICAL`); with ``warn``, one
    :class:`StatisticsWarning` counts the values on fewer than 3 runs or identical runs. Groups
    are sorted; a NaN group key (a parameter a run did not have) is kept as its own group. For
    a wide table, one row per group::

        summarise(runs).pivot(index="strategy", columns="metric", values=["mean", "ci_low"])
    """
    by_cols = _as_list(by)
    metric_cols = _as_list(metrics)
    missing = [c for c in [*by_cols, *metric_cols] if c not in runs.columns]
    if missing:
        raise KeyError(f"runs has no column(s) {missing}")
    rows: list[dict[str, Any]] = []
    for key, group in runs.groupby(by_cols, sort=True, dropna=False):
        key_tuple = key if isinstance(key, tuple) else (key,)
        for metric in metric_cols:
            mean, low, high = mean_ci(group[metric], confidence, bounds(metric))
            n = int(group[metric].notna().sum())
            rows.append(
                {
                    **dict(zip(by_cols, key_tuple, strict=True)),
                    "metric": metric,
                    "n": n,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "note": note(group[metric]),
                }
            )
    table = pd.DataFrame(rows, columns=[*by_cols, *SUMMARY_COLUMNS])
    if len(metric_cols) > 1:  # every metric equal across a group's runs: identical replications
        same = table["note"].eq("equal values: zero width")
        whole = same.groupby(np.arange(len(table)) // len(metric_cols)).transform("all")
        table.loc[whole, "note"] = IDENTICAL
    if warn:
        _warn_notes(table)
    return table


IDENTICAL = "identical replications: zero width"
"""The note of a group whose runs agree on every metric: nothing random differs between its
replications (no jitter, no random choice), so its intervals have zero width."""


def _warn_notes(table: pd.DataFrame) -> None:
    few = int(table["note"].str.contains(r"^(?:1 run|\d+ runs \(<)", regex=True).sum())
    same = int(table["note"].eq(IDENTICAL).sum())
    if few or same:
        warnings.warn(
            f"{few + same} of {len(table)} summary values have an interval that says little: "
            + (
                f"{same} rest on identical replications (zero width: nothing random differs "
                "between them; add jitter or a random choice); "
                if same
                else ""
            )
            + f"{few} on fewer than {MIN_RUNS} runs (see the note column)",
            StatisticsWarning,
            stacklevel=3,
        )


def _pairs(
    runs: pd.DataFrame,
    metric: str,
    numerator: str,
    denominator: str,
    by: str,
    pair_on: list[str],
) -> pd.DataFrame:
    """One row per pairing key with columns ``num`` and ``den``; pairs with a NaN dropped."""
    missing = [c for c in [metric, by, *pair_on] if c not in runs.columns]
    if missing:
        raise KeyError(f"runs has no column(s) {missing}")
    parts = {}
    for side, level in (("num", numerator), ("den", denominator)):
        parts[side] = runs.loc[runs[by] == level, [*pair_on, metric]]
        if parts[side].empty:
            raise ValueError(f"no runs with {by} == {level!r}")
    sides = {}
    for side, level in (("num", numerator), ("den", denominator)):
        part = parts[side]
        dup = part.duplicated(subset=pair_on, keep=False)
        if dup.any():
            raise ValueError(
                f"{int(dup.sum())} runs with {by} == {level!r} share a {pair_on} key, so the "
                "pairing is ambiguous: filter to one scenario and parameter point first, or add "
                "the columns that tell them apart (e.g. swept parameters) to pair_on"
            )
        sides[side] = part.set_index(pair_on)[metric].rename(side)
    paired = pd.concat([sides["num"], sides["den"]], axis=1, join="inner")
    return paired.dropna()


def paired_ratio(
    runs: pd.DataFrame,
    metric: str,
    numerator: str,
    denominator: str,
    by: str = "strategy",
    pair_on: str | Sequence[str] = "replicate",
    confidence: float = 0.95,
    method: str = "delta",
    n_resamples: int = 9999,
    seed: int | np.random.Generator | None = 0,
) -> dict[str, Any]:
    """Ratio of the means of ``metric``, ``numerator`` runs over ``denominator`` runs, paired.

    Runs whose ``by`` column is ``numerator`` are matched to runs whose ``by`` column is
    ``denominator`` on the ``pair_on`` column(s) (default the replicate index, which under common
    random numbers shares topology and workload). Only complete pairs with both values non-NaN
    count. Each key may occur at most once per side, otherwise ``ValueError``: with several
    scenarios or sweep points in ``runs``, filter first or add their columns to ``pair_on``.

    The point estimate is ``mean(num) / mean(den)`` over the pairs. The interval:

    - ``method="delta"`` (default): the delta method on the log ratio,
      ``var(log R) ~ (s_num^2 / m_num^2 + s_den^2 / m_den^2 - 2 s_num,den / (m_num m_den)) / n``,
      with a Student-t quantile on ``n - 1`` degrees of freedom, exponentiated back. The pair
      covariance term is where common random numbers narrow the interval. Needs both means > 0.
    - ``method="bootstrap"``: a seeded BCa bootstrap over pairs (``scipy.stats.bootstrap`` with
      ``paired=True``); with fewer than about ten pairs it is optimistic.

    Returns ``{"ratio", "ci_low", "ci_high", "n", "numerator_mean", "denominator_mean"}``;
    the interval is NaN for fewer than two pairs.
    """
    _check_confidence(confidence)
    if method not in ("delta", "bootstrap"):
        raise ValueError(f"method must be 'delta' or 'bootstrap', got {method!r}")
    paired = _pairs(runs, metric, numerator, denominator, by, _as_list(pair_on))
    num = paired["num"].to_numpy(dtype=float)
    den = paired["den"].to_numpy(dtype=float)
    n = int(num.size)
    if n == 0:
        raise ValueError(f"no complete {numerator!r}/{denominator!r} pairs for {metric!r}")
    m_num, m_den = float(num.mean()), float(den.mean())
    if m_den == 0.0:
        raise ValueError(f"mean {metric} of {denominator!r} is zero: the ratio is undefined")
    ratio = m_num / m_den
    out = {
        "ratio": ratio,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "n": n,
        "numerator_mean": m_num,
        "denominator_mean": m_den,
    }
    if n < 2:
        return out
    if method == "delta":
        if m_num <= 0.0 or m_den <= 0.0:
            raise ValueError("the delta method on log ratios needs positive means")
        cov = np.cov(num, den, ddof=1)
        var_log = (
            cov[0, 0] / m_num**2 + cov[1, 1] / m_den**2 - 2.0 * cov[0, 1] / (m_num * m_den)
        ) / n
        half = float(sps.t.ppf(0.5 + confidence / 2.0, n - 1)) * math.sqrt(max(var_log, 0.0))
        out["ci_low"] = ratio * math.exp(-half)
        out["ci_high"] = ratio * math.exp(half)
        return out

    ratios = num / den if np.all(den != 0.0) else None
    if ratios is not None and np.allclose(ratios, ratios[0], rtol=1e-12, atol=0.0):
        # every pair has the same ratio: so does every resample (BCa would divide by zero)
        out["ci_low"] = out["ci_high"] = ratio
        return out

    def ratio_of_means(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(a, axis=axis) / np.mean(b, axis=axis)

    rng = np.random.default_rng(seed)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", sps.DegenerateDataWarning)
        res = sps.bootstrap(
            (num, den),
            ratio_of_means,
            paired=True,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method="BCa",
            **{_BOOTSTRAP_RNG_KW: rng},
        )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isnan(low) or math.isnan(high):
        dist = np.asarray(res.bootstrap_distribution, dtype=float)
        dist = dist[np.isfinite(dist)]
        alpha = 1.0 - confidence
        if dist.size:
            low, high = (float(q) for q in np.quantile(dist, [alpha / 2.0, 1.0 - alpha / 2.0]))
    out["ci_low"], out["ci_high"] = low, high
    return out


# --------------------------------------------------------------------------------- censored times
def _km(times: np.ndarray, done: np.ndarray) -> Any:
    """scipy's Kaplan–Meier estimate (an ``ECDFResult``) of times with ``done`` = observed."""
    data = sps.CensoredData(uncensored=times[done], right=times[~done])
    return sps.ecdf(data)


def leech_times(peers: pd.DataFrame) -> pd.DataFrame:
    """The leeches of ``peers`` whose fetch started, with ``t_s`` (time to fetch if completed,
    else time spent fetching until the run stopped: ``time_fetching_s``) and ``done``."""
    leeches = peers.loc[peers["role"] == "leech"]
    column = "time_fetching_s" if "time_fetching_s" in leeches.columns else "time_to_fetch_s"
    t = pd.to_numeric(leeches[column], errors="coerce")
    done = leeches["completed"].fillna(False).astype(bool)
    keep = t.notna()
    return leeches.loc[keep].assign(t_s=t[keep].astype(float), done=done[keep])


def time_to_fetch_km(
    peers: pd.DataFrame, by: str | Sequence[str] = ("strategy",), confidence: float = 0.95
) -> pd.DataFrame:
    """Kaplan–Meier estimate of the fraction of leeches done by each time, per group of ``by``.

    Censoring-aware: a leech that had not finished when its run stopped counts as "not done
    yet" up to the time it had been fetching (``time_fetching_s``), not as missing, so a
    strategy whose leeches stall shows a curve that levels off below 1. Long output: one row per
    group and distinct time, ``[*by, "t_s", "fraction_done", "ci_low", "ci_high", "leeches",
    "done"]`` with a pointwise ``confidence`` band (log-log, ``scipy``'s
    ``confidence_interval``; NaN where it is undefined), ``leeches`` and ``done`` the group's
    counts. Each curve starts at ``t_s = 0``, ``fraction_done = 0``."""
    _check_confidence(confidence)
    by_cols = _as_list(by)
    data = leech_times(peers)
    rows: list[pd.DataFrame] = []
    for key, group in data.groupby(by_cols, sort=True, dropna=False):
        key_tuple = key if isinstance(key, tuple) else (key,)
        t = group["t_s"].to_numpy(dtype=float)
        done = group["done"].to_numpy(dtype=bool)
        xs, ps, lo, hi = _curve(t, done, confidence)
        keys = {col: [value] * len(xs) for col, value in zip(by_cols, key_tuple, strict=True)}
        rows.append(
            pd.DataFrame(
                {
                    **keys,
                    "t_s": xs,
                    "fraction_done": ps,
                    "ci_low": lo,
                    "ci_high": hi,
                    "leeches": len(group),
                    "done": int(done.sum()),
                }
            )
        )
    columns = [*by_cols, "t_s", "fraction_done", "ci_low", "ci_high", "leeches", "done"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]


def _curve(
    t: np.ndarray, done: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    zero = np.zeros(1)
    if not done.any():
        last = np.array([t.max()]) if t.size else zero
        return np.r_[zero, last], np.zeros(2), np.zeros(2), np.full(2, math.nan)
    res = _km(t, done)
    xs = np.asarray(res.cdf.quantiles, dtype=float)
    ps = np.asarray(res.cdf.probabilities, dtype=float)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = res.cdf.confidence_interval(confidence_level=confidence, method="log-log")
        lo = np.asarray(ci.low.probabilities, dtype=float)
        hi = np.asarray(ci.high.probabilities, dtype=float)
    return np.r_[zero, xs], np.r_[zero, ps], np.r_[zero, lo], np.r_[zero, hi]


def km_median(times: Any, done: Any, confidence: float = 0.95) -> tuple[float, float, float]:
    """Median time to fetch of right-censored ``times`` (``done``: observed, else censored):
    ``(median, low, high)`` from the Kaplan–Meier estimate, the interval read off its pointwise
    log-log band (the first times the band's upper and lower edges reach 1/2). NaN where the
    estimate never reaches 1/2 (more than half the leeches never finished)."""
    t = np.asarray(times, dtype=float)
    d = np.asarray(done, dtype=bool)
    keep = ~np.isnan(t)
    t, d = t[keep], d[keep]
    if not d.any():
        return (math.nan, math.nan, math.nan)
    xs, ps, lo, hi = _curve(t, d, confidence)

    def first(p: np.ndarray) -> float:
        reached = np.flatnonzero(np.nan_to_num(p, nan=-1.0) >= 0.5)
        return float(xs[reached[0]]) if reached.size else math.nan

    return (first(ps), first(hi), first(lo))
