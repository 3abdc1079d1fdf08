"""Latency models: the one-way latency, in seconds, of each directed connection src -> dst.

A network asks its model once per *directed* connection, when the network is built, and keeps
the answer as that link's pure propagation delay. A model that draws randomness therefore gives
a -> b and b -> a independent values, as go-bitswap's virtual network does (``testnet/virtual.go``
draws ``latencies[from][to]`` once per direction on first use). Randomness comes only from the
``numpy.random.Generator`` passed in.

Models: :class:`FixedLatency`, :class:`RegionMatrixLatency` (AWS 2017 inter-region RTTs by
default), :class:`InternetLatency` (go-bitswap's ``InternetLatencyDelayGenerator`` and its
benchmark presets), :class:`EdgeLatency` (per-connection values). :func:`latency_model` builds
one from a scenario-file dict.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
import numbers
import sys
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, TypeGuard

import numpy as np

from sim.units import parse_duration

__all__ = [
    "LATENCY_PRESETS",
    "EdgeLatency",
    "FixedLatency",
    "InternetLatency",
    "LatencyModel",
    "RegionMatrixLatency",
    "aws_regions",
    "aws_rtt_s",
    "latency_model",
]


class LatencyModel(ABC):
    """Decides the one-way latency (seconds) of each directed connection, once, at build time."""

    @abstractmethod
    def one_way_s(
        self,
        src: Hashable,
        dst: Hashable,
        src_region: str | None,
        dst_region: str | None,
        rng: np.random.Generator,
    ) -> float:
        """One-way latency in seconds (>= 0) of the directed connection ``src -> dst``.

        ``src_region``/``dst_region`` are the nodes' regions (``None`` if unset); ``rng`` is the
        run's latency stream, the only source of randomness.
        """


def _is_real(value: object) -> TypeGuard[numbers.Real]:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _seconds(owner: str, name: str, value: object) -> float:
    """``value`` as a finite float >= 0 (seconds), or ValueError naming ``owner.name``."""
    if not _is_real(value) or not (0.0 <= float(value) < math.inf):
        raise ValueError(f"{owner}.{name} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


# ---------------------------------------------------------------- fixed
@dataclass(frozen=True)
class FixedLatency(LatencyModel):
    """The same one-way latency ``delay_s`` (seconds, >= 0) on every directed connection.

    go-bitswap's ``delay.Fixed(d)`` (``BenchmarkFixedDelay`` uses 10 ms one way, 20 ms RTT).
    """

    delay_s: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "delay_s", _seconds("FixedLatency", "delay_s", self.delay_s))

    def one_way_s(
        self,
        src: Hashable,
        dst: Hashable,
        src_region: str | None,
        dst_region: str | None,
        rng: np.random.Generator,
    ) -> float:
        """``delay_s`` seconds, whatever the nodes."""
        return self.delay_s


# ---------------------------------------------------------------- region matrix
_AWS_RTT_RESOURCE = ("data", "aws_rtt_ms.csv")


@functools.cache
def _aws_table() -> tuple[tuple[str, ...], Mapping[frozenset[str], float]]:
    """(regions in table order, unordered pair -> RTT in ms) from ``sim/data/aws_rtt_ms.csv``."""
    path = resources.files("sim").joinpath(_AWS_RTT_RESOURCE[0]).joinpath(_AWS_RTT_RESOURCE[1])
    text = path.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    regions: dict[str, None] = {}  # insertion-ordered set
    table: dict[frozenset[str], float] = {}
    for row in csv.DictReader(rows):
        a, b = row["region_a"], row["region_b"]
        regions.setdefault(a)
        regions.setdefault(b)
        table[frozenset((a, b))] = float(row["rtt_ms"])
    return tuple(regions), MappingProxyType(table)


def aws_regions() -> list[str]:
    """The 10 AWS regions of the 2017 RTT table (``docs/network.md``), in table order."""
    return list(_aws_table()[0])


def aws_rtt_s(a: str, b: str) -> float:
    """Round-trip time in seconds between two *different* AWS regions (2017 average ping).

    Raises ``ValueError`` for an unknown region (listing the allowed ones) or ``a == b`` (the
    table has no intra-region values; see ``RegionMatrixLatency.intra_region_one_way_s``).
    """
    regions, table = _aws_table()
    for region in (a, b):
        if region not in regions:
            raise ValueError(
                f"unknown AWS region {region!r}; allowed regions: {', '.join(sorted(regions))}"
            )
    if a == b:
        raise ValueError(
            f"aws_rtt_s({a!r}, {b!r}): the table has no intra-region RTT; "
            "use RegionMatrixLatency.intra_region_one_way_s"
        )
    return table[frozenset((a, b))] / 1000.0


def _normalise_matrix(rtt_ms: object) -> dict[frozenset[str], float]:
    """Validate a user RTT matrix (pair -> ms) and key it by unordered pair."""
    owner = "RegionMatrixLatency.rtt_ms"
    if not isinstance(rtt_ms, Mapping) or not rtt_ms:
        raise ValueError(
            f"{owner} must be a non-empty mapping {{(region_a, region_b): rtt_ms}}, got {rtt_ms!r}"
        )
    table: dict[frozenset[str], float] = {}
    for key, value in rtt_ms.items():
        pair = tuple(key) if isinstance(key, tuple | frozenset) else ()
        if len(pair) != 2 or pair[0] == pair[1] or not all(isinstance(r, str) for r in pair):
            raise ValueError(
                f"{owner}: key {key!r} must be a pair of two different region names "
                "(a tuple or frozenset of 2 str); intra-region latency is intra_region_one_way_s"
            )
        if not _is_real(value) or not (0.0 <= float(value) < math.inf):
            raise ValueError(f"{owner}[{key!r}] must be a finite RTT in ms >= 0, got {value!r}")
        fkey = frozenset(pair)
        if fkey in table and table[fkey] != float(value):
            raise ValueError(
                f"{owner}: conflicting RTTs for {sorted(fkey)}: {table[fkey]} and {value} ms"
            )
        table[fkey] = float(value)
    regions = sorted({r for pair in table for r in pair})
    missing = [
        (a, b)
        for i, a in enumerate(regions)
        for b in regions[i + 1 :]
        if frozenset((a, b)) not in table
    ]
    if missing:
        raise ValueError(f"{owner}: missing RTT for region pairs {missing}; regions: {regions}")
    return table


@dataclass(frozen=True)
class RegionMatrixLatency(LatencyModel):
    """One-way latency = RTT/2 between the nodes' regions (symmetric paths, an assumption).

    ``rtt_ms``: unordered region pair (tuple or frozenset) -> round-trip time in **milliseconds**,
    one value per pair of distinct regions, every pair present; ``None`` (default) uses the AWS
    2017 table (``sim/data/aws_rtt_ms.csv``; its source in ``docs/network.md``, "Where the
    presets come from").
    ``intra_region_one_way_s``: one-way latency in seconds between two nodes of the same region
    (default 0.5 ms, half of a guessed 1 ms intra-region RTT).

    A node whose region is ``None`` or not in the matrix raises ``ValueError``.
    """

    rtt_ms: Mapping[frozenset[str] | tuple[str, str], float] | None = None
    intra_region_one_way_s: float = 0.0005
    # Derived lookup tables, set by __post_init__: one-way seconds per unordered pair, regions.
    _one_way: dict[frozenset[str], float] = dataclasses.field(init=False, repr=False, compare=False)
    _regions: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "intra_region_one_way_s",
            _seconds("RegionMatrixLatency", "intra_region_one_way_s", self.intra_region_one_way_s),
        )
        if self.rtt_ms is None:
            table: Mapping[frozenset[str], float] = _aws_table()[1]
        else:
            table = _normalise_matrix(self.rtt_ms)
            object.__setattr__(self, "rtt_ms", table)
        object.__setattr__(self, "_one_way", {k: ms / 2000.0 for k, ms in table.items()})
        object.__setattr__(self, "_regions", frozenset(r for k in table for r in k))

    @property
    def regions(self) -> list[str]:
        """The regions this matrix knows, sorted."""
        return sorted(self._regions)

    def one_way_s(
        self,
        src: Hashable,
        dst: Hashable,
        src_region: str | None,
        dst_region: str | None,
        rng: np.random.Generator,
    ) -> float:
        """RTT/2 in seconds between the two regions, or ``intra_region_one_way_s`` if equal."""
        known = self._regions
        for node, region in ((src, src_region), (dst, dst_region)):
            if region not in known:
                raise ValueError(
                    f"RegionMatrixLatency: node {node!r} has region {region!r}, which is not in "
                    f"the RTT matrix; allowed regions: {', '.join(sorted(known))}"
                )
        if src_region == dst_region:
            return self.intra_region_one_way_s
        assert src_region is not None and dst_region is not None  # both in known: checked above
        return self._one_way[frozenset((src_region, dst_region))]


# ---------------------------------------------------------------- go-bitswap internet model
@dataclass(frozen=True)
class InternetLatency(LatencyModel):
    """go-bitswap's ``InternetLatencyDelayGenerator`` on a base delay (all values in seconds).

    Source: ``internal/testnet/internet_latency_delay_generator.go@v0.2.0`` (same in
    ``testnet/`` at v0.1.8). Per directed connection: draw ``u = rng.random()``, then
    ``base = base_s + rng.standard_normal() * sigma_s`` (in that order, as Go draws ``Float64``
    then ``NormFloat64``); the latency is ``base + large_s`` if ``u < p_large``, else
    ``base + medium_s`` if ``u < p_medium + p_large``, else ``base``.

    Differences from Go: the result is clipped at 0.0 (Go lets a negative duration through and
    ``time.Sleep`` of it is no delay, so the effect is the same); Go truncates to whole
    nanoseconds, we keep the float; numpy's generator is not Go's ``math/rand``, so the same
    seed does not give Go's numbers, only the same distribution.
    """

    base_s: float
    sigma_s: float
    medium_s: float = 0.0
    p_medium: float = 0.0
    large_s: float = 0.0
    p_large: float = 0.0

    def __post_init__(self) -> None:
        for name in ("base_s", "sigma_s", "medium_s", "large_s"):
            object.__setattr__(self, name, _seconds("InternetLatency", name, getattr(self, name)))
        for name in ("p_medium", "p_large"):
            p = getattr(self, name)
            if (
                not _is_real(p)
                or not (0.0 <= float(p) <= 1.0)
                or 0.0 < float(p) < sys.float_info.min
            ):
                raise ValueError(
                    f"InternetLatency.{name} must be a probability in [0, 1] (not a denormal "
                    f"float), got {p!r}"
                )
            object.__setattr__(self, name, float(p))
        if self.p_medium + self.p_large > 1.0:
            raise ValueError(
                f"InternetLatency: p_medium + p_large must be <= 1, got "
                f"{self.p_medium} + {self.p_large}"
            )

    @classmethod
    def preset(cls, name: str) -> InternetLatency:
        """A go-bitswap benchmark network by name; see :data:`LATENCY_PRESETS`."""
        try:
            return LATENCY_PRESETS[name]
        except (KeyError, TypeError):
            allowed = ", ".join(sorted(LATENCY_PRESETS))
            raise ValueError(
                f"unknown InternetLatency preset {name!r}; allowed: {allowed}"
            ) from None

    def one_way_s(
        self,
        src: Hashable,
        dst: Hashable,
        src_region: str | None,
        dst_region: str | None,
        rng: np.random.Generator,
    ) -> float:
        """One draw, in seconds (>= 0); two draws from ``rng`` (uniform, then normal)."""
        u = rng.random()
        base = self.base_s + rng.standard_normal() * self.sigma_s
        if u < self.p_large:
            delay = base + self.large_s
        elif u < self.p_medium + self.p_large:
            delay = base + self.medium_s
        else:
            delay = base
        return float(delay) if delay > 0.0 else 0.0


# benchmarks_test.go@v0.2.0 (same networks in v0.1.8 BenchmarkDupsManyNodesRealWorldNetwork):
# fastSpeed 60 ms, mediumSpeed 200 ms, slowSpeed 800 ms, superSlowSpeed 4000 ms,
# distribution 20 ms; datacenterSpeed 5 ms, datacenterDistribution 3 ms.
# BenchmarkRealWorld: InternetLatencyDelayGenerator(mediumSpeed-fastSpeed, slowSpeed-fastSpeed
# (superSlowSpeed-fastSpeed for the slow network), pMedium, pLarge, distribution) on fastSpeed.
# BenchmarkDatacenter: InternetLatencyDelayGenerator(fastSpeed-datacenterSpeed,
# (fastSpeed-datacenterSpeed)/2, 0.0, 0.0, datacenterDistribution) on datacenterSpeed.
LATENCY_PRESETS: Mapping[str, InternetLatency] = MappingProxyType(
    {
        # FastNetwork: 60 ms ± 20 ms, never medium (+140 ms) or large (+740 ms)
        "fast": InternetLatency(0.060, 0.020, 0.140, 0.0, 0.740, 0.0),
        # AverageVariableSpeedNetwork: +140 ms with p 0.3, +740 ms with p 0.3
        "average-variable-speed": InternetLatency(0.060, 0.020, 0.140, 0.3, 0.740, 0.3),
        # SlowVariableSpeedNetwork: +140 ms with p 0.3, +3940 ms with p 0.3
        "slow-variable-speed": InternetLatency(0.060, 0.020, 0.140, 0.3, 3.940, 0.3),
        # Datacenter: 5 ms ± 3 ms, medium +55 ms and large +27.5 ms both with p 0
        "datacenter": InternetLatency(0.005, 0.003, 0.055, 0.0, 0.0275, 0.0),
    }
)


# ---------------------------------------------------------------- per-edge values
@dataclass(frozen=True)
class EdgeLatency(LatencyModel):
    """User-given one-way latency (seconds, >= 0) per connection.

    ``values``: ``(a, b) -> seconds``. With ``symmetric=True`` a value for ``(a, b)`` also serves
    ``(b, a)``; a value given for the exact direction always wins. A connection with no value
    raises ``ValueError`` naming it.
    """

    values: Mapping[tuple[Hashable, Hashable], float]
    symmetric: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.values, Mapping):
            raise ValueError(
                f"EdgeLatency.values must be a mapping {{(a, b): seconds}}, got {self.values!r}"
            )
        if not isinstance(self.symmetric, bool):
            raise ValueError(f"EdgeLatency.symmetric must be True or False, got {self.symmetric!r}")
        checked: dict[tuple[Hashable, Hashable], float] = {}
        for key, value in self.values.items():
            if not isinstance(key, tuple) or len(key) != 2:
                raise ValueError(f"EdgeLatency.values: key {key!r} must be a pair (a, b)")
            checked[key] = _seconds("EdgeLatency", f"values[{key!r}]", value)
        object.__setattr__(self, "values", checked)

    def one_way_s(
        self,
        src: Hashable,
        dst: Hashable,
        src_region: str | None,
        dst_region: str | None,
        rng: np.random.Generator,
    ) -> float:
        """The given value for ``(src, dst)`` (or ``(dst, src)`` if symmetric), in seconds."""
        try:
            return self.values[(src, dst)]
        except KeyError:
            pass
        if self.symmetric:
            try:
                return self.values[(dst, src)]
            except KeyError:
                pass
        either = f" (or {dst!r} -> {src!r})" if self.symmetric else ""
        raise ValueError(
            f"EdgeLatency: no one-way latency given for connection {src!r} -> {dst!r}{either}"
        )


# ---------------------------------------------------------------- from a scenario dict
_MODEL_KEYS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "fixed": frozenset({"one_way"}),
        "region-matrix": frozenset({"rtt", "intra_region_one_way"}),
        "internet": frozenset(
            {"preset", "base", "sigma", "medium", "p_medium", "large", "p_large"}
        ),
        "edge": frozenset({"values", "symmetric"}),
    }
)
# spec key -> InternetLatency field (durations); p_medium/p_large are plain probabilities.
_INTERNET_DURATIONS = MappingProxyType(
    {"base": "base_s", "sigma": "sigma_s", "medium": "medium_s", "large": "large_s"}
)


def _triples(value: object, field: str) -> list[tuple[Any, Any, float]]:
    """A list of ``[a, b, duration]`` -> ``(a, b, seconds)``."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"{field} must be a list of [a, b, duration] entries, got {value!r}")
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, list | tuple) or len(entry) != 3:
            raise ValueError(f"{field}[{i}] must be [a, b, duration], got {entry!r}")
        a, b, d = entry
        out.append((a, b, parse_duration(d, field=f"{field}[{i}]")))
    return out


def latency_model(
    spec: Mapping[str, Any] | LatencyModel, *, field: str = "latency"
) -> LatencyModel:
    """Build a latency model from a plain dict, as a scenario file gives it.

    Forms (durations are strings with a unit, e.g. ``"10 ms"``, or numbers of seconds):

    * ``{"model": "fixed", "one_way": "10 ms"}``
    * ``{"model": "region-matrix", "intra_region_one_way": "0.5 ms",
      "rtt": [["us-east-1", "us-west-2", "88 ms"], ...]}`` (``rtt`` optional: AWS 2017 table)
    * ``{"model": "internet", "preset": "average-variable-speed"}``, optionally overriding any
      of the keys below, or ``{"model": "internet", "base": "60 ms", "sigma": "20 ms",
      "medium": "140 ms", "p_medium": 0.3, "large": "740 ms", "p_large": 0.3}``
    * ``{"model": "edge", "values": [["a", "b", "10 ms"], ...], "symmetric": true}``

    A :class:`LatencyModel` instance is returned as is. Errors are ``ValueError`` naming
    ``field`` and the bad key, with the allowed ones.
    """
    if isinstance(spec, LatencyModel):
        return spec
    models = ", ".join(sorted(_MODEL_KEYS))
    if not isinstance(spec, Mapping):
        raise ValueError(f"{field} must be a table with a 'model' key ({models}), got {spec!r}")
    name = spec.get("model")
    if not isinstance(name, str) or name not in _MODEL_KEYS:
        raise ValueError(f"{field}.model: unknown latency model {name!r}; allowed: {models}")
    allowed = _MODEL_KEYS[name]
    for key in spec:
        if key != "model" and key not in allowed:
            raise ValueError(
                f"{field}: unknown key {key!r} for model {name!r}; "
                f"allowed: {', '.join(sorted(allowed | {'model'}))}"
            )
    try:
        return _build(name, spec, field)
    except ValueError as exc:
        if str(exc).startswith(field):
            raise
        raise ValueError(f"{field}: {exc}") from None


def _build(name: str, spec: Mapping[str, Any], field: str) -> LatencyModel:
    def required(key: str) -> Any:
        if key not in spec:
            raise ValueError(f"{field}: model {name!r} needs key {key!r}")
        return spec[key]

    if name == "fixed":
        return FixedLatency(parse_duration(required("one_way"), field=f"{field}.one_way"))
    if name == "region-matrix":
        kwargs: dict[str, Any] = {}
        if "intra_region_one_way" in spec:
            kwargs["intra_region_one_way_s"] = parse_duration(
                spec["intra_region_one_way"], field=f"{field}.intra_region_one_way"
            )
        if "rtt" in spec:
            kwargs["rtt_ms"] = {
                (a, b): s * 1000.0 for a, b, s in _triples(spec["rtt"], f"{field}.rtt")
            }
        return RegionMatrixLatency(**kwargs)
    if name == "internet":
        changes: dict[str, Any] = {
            attr: parse_duration(spec[key], field=f"{field}.{key}")
            for key, attr in _INTERNET_DURATIONS.items()
            if key in spec
        }
        for key in ("p_medium", "p_large"):
            if key in spec:
                if not _is_real(spec[key]):
                    raise ValueError(
                        f"{field}.{key} must be a probability in [0, 1], got {spec[key]!r}"
                    )
                changes[key] = spec[key]
        if "preset" in spec:
            try:
                base = InternetLatency.preset(spec["preset"])
            except ValueError as exc:
                raise ValueError(f"{field}.preset: {exc}") from None
            return dataclasses.replace(base, **changes)
        for key in ("base", "sigma"):
            required(key)
        return InternetLatency(**changes)
    # name == "edge"
    symmetric = spec.get("symmetric", True)
    if not isinstance(symmetric, bool):
        raise ValueError(f"{field}.symmetric must be true or false, got {symmetric!r}")
    values: dict[tuple[Hashable, Hashable], float] = {}
    for i, (a, b, s) in enumerate(_triples(required("values"), f"{field}.values")):
        if not isinstance(a, Hashable) or not isinstance(b, Hashable):
            raise ValueError(
                f"{field}.values[{i}]: node names must be str or int, got {a!r}, {b!r}"
            )
        if (a, b) in values:
            raise ValueError(f"{field}.values[{i}]: connection ({a!r}, {b!r}) given twice")
        values[(a, b)] = s
    return EdgeLatency(values, symmetric=symmetric)
