"""Units: bandwidth helpers and parsers, duration and size parsers, bandwidth presets.

Conventions: time in seconds (float), sizes in bytes, bandwidth *stored* as bytes per
second (float, ``math.inf`` = unlimited). Users usually think in bits per second, so the helpers
take a number in the named unit and return bytes per second::

    mbit(100)  == 12_500_000.0      # 100 Mbit/s = 1e8 bit/s = 1.25e7 B/s
    gbit(10)   == 1_250_000_000.0
    mib(1)     == 1_048_576.0       # 1 MiB/s

Decimal prefixes (k, M, G, T) are powers of 1000, binary ones (Ki, Mi, Gi, Ti) powers of 1024.
"""

from __future__ import annotations

import math
import numbers
import re
import sys
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "BANDWIDTH_PRESETS",
    "GO_BANDWIDTH_SIGMA",
    "MAX_DURATION_S",
    "MAX_SIZE_BYTES",
    "MIN_BANDWIDTH_BPS",
    "MIN_DURATION_S",
    "MIN_PERIOD_S",
    "bandwidth_preset",
    "bits_per_s",
    "brief",
    "check_number",
    "format_bandwidth",
    "gbit",
    "gbyte",
    "gib",
    "gibit",
    "kbit",
    "kbyte",
    "mbit",
    "mbyte",
    "mib",
    "mibit",
    "parse_bandwidth",
    "parse_duration",
    "parse_size",
]


# ---------------------------------------------------------------- helpers -> bytes per second
def bits_per_s(x: float) -> float:
    """``x`` bit/s, in bytes per second."""
    return x / 8.0


def kbit(x: float) -> float:
    """``x`` kbit/s (1 kbit = 1000 bit), in bytes per second."""
    return x * 125.0


def mbit(x: float) -> float:
    """``x`` Mbit/s (1 Mbit = 10^6 bit), in bytes per second: ``mbit(100) == 12.5e6``."""
    return x * 125_000.0


def gbit(x: float) -> float:
    """``x`` Gbit/s (1 Gbit = 10^9 bit), in bytes per second: ``gbit(10) == 1.25e9``."""
    return x * 125_000_000.0


def mibit(x: float) -> float:
    """``x`` Mibit/s (1 Mibit = 2^20 bit), in bytes per second."""
    return x * 131_072.0


def gibit(x: float) -> float:
    """``x`` Gibit/s (1 Gibit = 2^30 bit), in bytes per second."""
    return x * 134_217_728.0


def kbyte(x: float) -> float:
    """``x`` kB/s (1 kB = 1000 B), in bytes per second."""
    return x * 1e3


def mbyte(x: float) -> float:
    """``x`` MB/s (1 MB = 10^6 B), in bytes per second."""
    return x * 1e6


def gbyte(x: float) -> float:
    """``x`` GB/s (1 GB = 10^9 B), in bytes per second."""
    return x * 1e9


def mib(x: float) -> float:
    """``x`` MiB/s (1 MiB = 2^20 B), in bytes per second."""
    return x * 1_048_576.0


def gib(x: float) -> float:
    """``x`` GiB/s (1 GiB = 2^30 B), in bytes per second."""
    return x * 1_073_741_824.0


# ---------------------------------------------------------------- the number rules
# One rule set for every number a user gives (scenario files, configs, the command line): a real
# number of the right type (a bool is not a number; a whole number is an int), finite, not
# denormal (a float below 2.2e-308 is noise, not a value), in its range, and in its unit.
MIN_DURATION_S = 1e-9
"""The shortest non-zero duration: 1 ns (the finest unit); ``0`` is allowed where it means
"none"."""
MAX_DURATION_S = 1e9
"""The longest duration: 10^9 s, about 31.7 years (far beyond any run; a time this large loses
the nanosecond resolution of a float anyway)."""
MIN_PERIOD_S = 1e-3
"""Shortest period of a timer that re-arms itself (a protocol's ticks, rebroadcasts, an engine's
thaw): 1 ms. A shorter one would fill a run with timer events (go-bitswap's are 100 ms and
up)."""
MIN_BANDWIDTH_BPS = 0.125
"""The lowest bandwidth: 1 bit/s (0.125 bytes per second); ``unlimited`` is the highest."""
MAX_SIZE_BYTES = 2**63 - 1
"""The largest size a table can hold (a 64-bit signed integer), about 8 EiB."""
_BRIEF = 60


def brief(value: object) -> str:
    """``repr(value)``, cut to about 60 characters (error messages stay one short line)."""
    text = repr(value)
    if len(text) <= _BRIEF:
        return text
    return f"{text[: _BRIEF - 20]}...{text[-12:]} ({len(text)} characters)"


def _range_text(minimum: float, maximum: float) -> str:
    if math.isinf(maximum):
        return f">= {minimum}"
    if math.isinf(minimum):
        return f"<= {maximum}"
    return f"in [{minimum}, {maximum}]"


def check_number(
    value: object,
    *,
    field: str,
    minimum: float = -math.inf,
    maximum: float = math.inf,
    integer: bool = False,
) -> float:
    """``value`` checked by the number rules, as an ``int`` (``integer``) or a ``float``.

    Raises ``ValueError`` naming ``field`` for a bool, a non-number, a non-integer where a whole
    number is wanted, NaN or an infinity, a denormal float, or a value outside
    ``[minimum, maximum]``. ``numbers.Integral`` values (numpy's ints too) count as whole
    numbers.
    """
    kind = "whole number" if integer else "number"

    def bad(why: str = "", low: float = minimum, high: float = maximum) -> ValueError:
        return ValueError(
            f"{field}: must be a {kind} {_range_text(low, high)}, got {brief(value)}{why}"
        )

    def out_of_range(x: float) -> ValueError:
        # name the bound that is crossed: ">= 1" for 0, "<= 100" for 101
        return bad(low=minimum, high=math.inf) if x < minimum else bad(low=-math.inf, high=maximum)

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise bad()
    if integer:
        if not isinstance(value, numbers.Integral):
            raise bad()
        whole = int(value)
        if not minimum <= whole <= maximum:
            raise out_of_range(whole)
        return whole
    try:
        x = float(value)
    except OverflowError:
        raise bad(" (too large)") from None
    if math.isnan(x):
        raise bad()
    if math.isinf(x):
        raise bad(" (must be finite)")
    if x != 0.0 and abs(x) < sys.float_info.min:
        raise bad(" (a denormal float: use 0 or a number >= 2.2e-308)")
    if not minimum <= x <= maximum:
        raise out_of_range(x)
    return x


# ---------------------------------------------------------------- parsing
# Unit prefixes as multipliers. "K" is accepted as well as "k" (as in "Kbps"); lower-case "m"
# is not a prefix (it would be milli), so "mbps" is rejected rather than guessed.
_PREFIXES: Mapping[str, int] = MappingProxyType(
    {
        "": 1,
        "k": 10**3,
        "K": 10**3,
        "M": 10**6,
        "G": 10**9,
        "T": 10**12,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
    }
)
_BIT_SUFFIXES = ("bit/s", "b/s", "bps")  # lower-case b: bits
_BYTE_SUFFIXES = ("B/s", "Bps")  # upper-case B: bytes

# unit string -> bytes per second per 1 unit. Every factor is exact in binary floating point
# (prefix / 8 is an integer or a multiple of 1/8), so "100 Mbit/s" parses to exactly 1.25e7.
_BANDWIDTH_UNITS: Mapping[str, float] = MappingProxyType(
    {
        **{p + s: m / 8 for p, m in _PREFIXES.items() for s in _BIT_SUFFIXES},
        **{p + s: float(m) for p, m in _PREFIXES.items() for s in _BYTE_SUFFIXES},
    }
)
_UNLIMITED_WORDS = frozenset({"unlimited", "inf", "infinity"})
_NUMBER_WITH_UNIT = re.compile(
    r"\s*(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>\S.*?)?\s*"
)
_BANDWIDTH_FORMS = (
    "a positive number of bits per second (e.g. 100e6), math.inf, a string "
    "'<number> <unit>' with unit = [k|K|M|G|T|Ki|Mi|Gi|Ti] followed by bit/s, b/s or bps "
    "(bits, lower-case b) or B/s or Bps (bytes, upper-case B), e.g. '10 Gbit/s', '10Gbps', "
    "'125 MB/s', '1.5 MiB/s', or 'unlimited'/'inf'"
)

# duration unit -> (multiplier, divisor) in seconds. Sub-second units divide by an exact integer
# so that "5 ms" parses to exactly the float 0.005 (5 * 1e-3 would not).
_DURATION_UNITS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "ns": (1, 10**9),
        "us": (1, 10**6),
        "µs": (1, 10**6),  # U+00B5 MICRO SIGN
        "μs": (1, 10**6),  # U+03BC GREEK SMALL LETTER MU
        "ms": (1, 10**3),
        "s": (1, 1),
        "min": (60, 1),
        "h": (3600, 1),
    }
)
_DURATION_FORMS = (
    "0 or a number of seconds from 1e-9 to 1e9, or a string '<number> <unit>' with unit one of "
    "ns, us, µs, ms, s, min, h (e.g. '5 ms', '1.5 s', '200us', '2 min')"
)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def parse_bandwidth(value: object, *, field: str = "bandwidth") -> float:
    """Parse a bandwidth into bytes per second (``math.inf`` = unlimited).

    Accepts a string with a unit, case-sensitive on b (bits) vs B (bytes): ``"10 Gbit/s"``,
    ``"10Gbps"``, ``"125 MB/s"``, ``"1.5 MiB/s"``, ``"64 kbit/s"``, ``"1024 Mibit/s"``, or
    ``"unlimited"``/``"inf"``; or a plain number, read as **bits per second** (users give bits/s),
    ``math.inf`` allowed. Raises ``ValueError`` naming ``field`` for a string without a unit, an
    unknown unit, zero, a negative value, less than 1 bit/s (:data:`MIN_BANDWIDTH_BPS`), NaN, a
    number too large for a float, a bool or any other type.
    """

    def bad(reason: str) -> ValueError:
        return ValueError(
            f"{field}: invalid bandwidth {brief(value)} ({reason}); expected {_BANDWIDTH_FORMS}"
        )

    def checked(bytes_per_s: float) -> float:
        if math.isnan(bytes_per_s) or bytes_per_s <= 0:
            raise bad("must be > 0")
        if bytes_per_s < MIN_BANDWIDTH_BPS:
            raise bad("below 1 bit/s")
        return bytes_per_s

    if _is_real(value):
        try:
            bits = float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise bad("number too large: write 'unlimited' for no limit") from None
        return checked(bits / 8.0)
    if not isinstance(value, str):
        raise bad(f"wrong type {type(value).__name__}")
    if value.strip().lower() in _UNLIMITED_WORDS:
        return math.inf
    match = _NUMBER_WITH_UNIT.fullmatch(value)
    if match is None:
        raise bad("not '<number> <unit>'")
    unit = match.group("unit")
    if unit is None:
        raise bad("no unit: write e.g. '100 Mbit/s', or pass a number of bits per second")
    factor = _BANDWIDTH_UNITS.get(unit)
    if factor is None:
        raise bad(f"unknown unit {unit!r}")
    number = float(match.group("num"))
    if number <= 0:
        raise bad("must be > 0")
    if math.isinf(number * factor):
        raise bad("number too large: write 'unlimited' for no limit")
    return checked(number * factor)


def parse_duration(value: object, *, field: str = "duration") -> float:
    """Parse a duration into seconds: 0, or 1 ns to 10^9 s (:data:`MIN_DURATION_S`,
    :data:`MAX_DURATION_S`).

    Accepts a string with a unit (``"5 ms"``, ``"1.5 s"``, ``"200us"``, ``"2 min"``; units ns, us,
    µs, ms, s, min, h) or a plain number of **seconds**. Zero is allowed. Raises ``ValueError``
    naming ``field`` for a string without a unit, an unknown unit, a negative, infinite or NaN
    value, one between 0 and 1 ns or above 10^9 s, a bool or any other type.
    """

    def bad(reason: str) -> ValueError:
        return ValueError(
            f"{field}: invalid duration {brief(value)} ({reason}); expected {_DURATION_FORMS}"
        )

    if _is_real(value):
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise bad("must be finite") from None
    elif isinstance(value, str):
        match = _NUMBER_WITH_UNIT.fullmatch(value)
        if match is None:
            raise bad("not '<number> <unit>'")
        unit = match.group("unit")
        if unit is None:
            raise bad("no unit: write e.g. '5 ms', or pass a number of seconds")
        if unit not in _DURATION_UNITS:
            raise bad(f"unknown unit {unit!r}")
        mul, div = _DURATION_UNITS[unit]
        seconds = float(match.group("num")) * mul / div
    else:
        raise bad(f"wrong type {type(value).__name__}")
    if math.isnan(seconds) or seconds < 0:
        raise bad("must be >= 0")
    if math.isinf(seconds):
        raise bad("must be finite")
    if 0 < seconds < MIN_DURATION_S:
        raise bad("between 0 and 1 ns: use 0 or at least 1 ns")
    if seconds > MAX_DURATION_S:
        raise bad("longer than 1e9 s, about 31.7 years")
    return seconds


# size unit -> bytes. Decimal prefixes (k or K, M, G, T) are powers of 1000, binary ones (Ki, Mi,
# Gi, Ti) powers of 1024.
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGT]i?B|[kKMGT]B|B)\s*$")
_SIZE_FACTORS: Mapping[str, float] = MappingProxyType(
    {
        "B": 1,
        "kB": 1e3,
        "KB": 1e3,
        "MB": 1e6,
        "GB": 1e9,
        "TB": 1e12,
        "KiB": 2**10,
        "MiB": 2**20,
        "GiB": 2**30,
        "TiB": 2**40,
    }
)


def parse_size(value: object, *, field: str = "size") -> int:
    """Bytes from an int or a string with a unit (``"300 MiB"``, ``"8000 B"``, ``"1.5 GB"``).

    Raises ``ValueError`` naming ``field`` for a string without a unit or with an unknown one,
    a size <= 0 bytes or above :data:`MAX_SIZE_BYTES`, a bool or any other type.
    """
    if isinstance(value, bool):
        raise ValueError(
            f"{field}: must be a size in bytes or a string like '300 MiB', got {brief(value)}"
        )
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        m = _SIZE.match(value)
        if not m:
            raise ValueError(
                f"{field}: must be a size with a unit, got {brief(value)}; allowed units: "
                f"{', '.join(_SIZE_FACTORS)} (e.g. '300 MiB'), or a number of bytes"
            )
        number = float(m.group(1)) * _SIZE_FACTORS[m.group(2)]
        if not number <= MAX_SIZE_BYTES:
            raise ValueError(
                f"{field}: too large, got {brief(value)}; allowed: up to {MAX_SIZE_BYTES} bytes"
            )
        size = round(number)
    else:
        raise ValueError(
            f"{field}: must be a size in bytes or a string like '300 MiB', got {brief(value)}"
        )
    if size <= 0:
        raise ValueError(f"{field}: must be > 0 bytes, got {brief(value)}")
    if size > MAX_SIZE_BYTES:
        raise ValueError(
            f"{field}: too large, got {brief(value)}; allowed: up to {MAX_SIZE_BYTES} bytes"
        )
    return int(size)


_FORMAT_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))


def format_bandwidth(bytes_per_s: float, *, digits: int = 4) -> str:
    """Human-readable bandwidth in decimal bits per second, for tables: ``gbit(1)`` ->
    ``"1 Gbit/s"``, ``mbit(64)`` -> ``"64 Mbit/s"``, ``math.inf`` -> ``"unlimited"``.

    ``bytes_per_s`` is in bytes per second; the number is rounded to ``digits`` significant
    digits, so ``parse_bandwidth`` of the result gives the input back up to that rounding.
    """
    if math.isnan(bytes_per_s) or bytes_per_s < 0:
        raise ValueError(f"bandwidth must be >= 0 bytes/s, got {bytes_per_s!r}")
    if math.isinf(bytes_per_s):
        return "unlimited"
    bits = bytes_per_s * 8.0
    for scale, prefix in _FORMAT_PREFIXES:
        if bits >= scale:
            return f"{bits / scale:.{digits}g} {prefix}bit/s"
    return f"{bits:.{digits}g} bit/s"


# ---------------------------------------------------------------- presets
# name -> (upload, download) in bytes per second, symmetric. Sources (docs/network.md, "Where
# the presets come from"): benchmarks of the instance types p2plab used, and go-bitswap
# benchmarks_test.go@v0.2.0 (datacenterBandwidth, fastBandwidth, mediumBandwidth,
# slowBandwidth: the means of VariableRateLimitGenerator, per directed pair, in bytes/s).
BANDWIDTH_PRESETS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        # t2.*: iperf-style benchmarks measured about 63-70 Mbit/s sustained
        "t2.micro": (mbit(64), mbit(64)),
        # about 125 Mbit/s
        "t2.small": (mbit(125), mbit(125)),
        # 250-300 Mbit/s: we take the midpoint
        "t2.medium": (mbit(275), mbit(275)),
        # t3.*, m5.large: baselines measured with iperf3 (0.06, 0.25, 0.74 Gbit/s)
        "t3.micro": (mbit(64), mbit(64)),
        "t3.medium": (mbit(256), mbit(256)),
        "m5.large": (mbit(750), mbit(750)),
        # AWS's "up to 10 Gigabit" for m5.large, a burst until network credits run out
        "m5.large-burst": (gbit(10), gbit(10)),
        # AWS's "up to 5 Gigabit" for t3.*, likewise
        "t3-burst": (gbit(5), gbit(5)),
        # benchmarks_test.go@v0.2.0: datacenterBandwidth = 125000000.0 (B/s, = 1 Gbit/s)
        "datacenter": (125_000_000.0, 125_000_000.0),
        # benchmarks_test.go@v0.2.0: fastBandwidth = 1250000.0 (B/s)
        "go-fast": (1_250_000.0, 1_250_000.0),
        # benchmarks_test.go@v0.2.0: mediumBandwidth = 500000.0 (B/s), AverageVariableSpeedNetwork
        "go-average": (500_000.0, 500_000.0),
        # benchmarks_test.go@v0.2.0: slowBandwidth = 100000.0 (B/s), SlowVariableSpeedNetwork
        "go-slow": (100_000.0, 100_000.0),
    }
)

# Standard deviations (bytes/s) of go-bitswap's per-directed-pair bandwidth draws
# (VariableRateLimitGenerator(mean, std)), keyed by the BANDWIDTH_PRESETS name of the mean.
# benchmarks_test.go@v0.2.0: fastBandwidthDeviation, mediumBandwidthDeviation,
# slowBandwidthDeviation, datacenterBandwidthDeviation.
GO_BANDWIDTH_SIGMA: Mapping[str, float] = MappingProxyType(
    {
        "go-fast": 300_000.0,
        "go-average": 80_000.0,
        "go-slow": 16_500.0,
        "datacenter": 3_000_000.0,
    }
)


def bandwidth_preset(name: str, *, field: str = "bandwidth preset") -> tuple[float, float]:
    """(upload, download) in bytes per second of the preset ``name``; see
    :data:`BANDWIDTH_PRESETS`. Raises ``ValueError`` listing the allowed names if unknown."""
    try:
        return BANDWIDTH_PRESETS[name]
    except (KeyError, TypeError):
        allowed = ", ".join(sorted(BANDWIDTH_PRESETS))
        raise ValueError(f"{field}: unknown preset {name!r}; allowed: {allowed}") from None
