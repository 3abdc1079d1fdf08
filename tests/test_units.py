"""Units: exact conversions worked by hand, parser errors, presets."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from sim.units import (
    BANDWIDTH_PRESETS,
    GO_BANDWIDTH_SIGMA,
    bandwidth_preset,
    bits_per_s,
    format_bandwidth,
    gbit,
    gbyte,
    gib,
    gibit,
    kbit,
    kbyte,
    mbit,
    mbyte,
    mib,
    mibit,
    parse_bandwidth,
    parse_duration,
    parse_size,
)


# ---------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (bits_per_s(8), 1.0),
        (kbit(64), 8_000.0),  # 64_000 bit/s / 8
        (mbit(100), 12.5e6),  # 1e8 bit/s / 8
        (mbit(1), 125_000.0),
        (gbit(10), 1.25e9),
        (mibit(1), 131_072.0),  # 2**20 / 8
        (gibit(1), 134_217_728.0),  # 2**30 / 8
        (kbyte(1), 1_000.0),
        (mbyte(125), 1.25e8),
        (gbyte(2), 2e9),
        (mib(1), 1_048_576.0),
        (gib(1), 1_073_741_824.0),
    ],
)
def test_helpers_return_bytes_per_second(value: float, expected: float) -> None:
    assert value == expected


# ---------------------------------------------------------------- parse_bandwidth
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 Gbit/s", 1.25e9),
        ("10Gbps", 1.25e9),
        ("10 Gb/s", 1.25e9),
        ("100 Mbit/s", 12.5e6),
        ("125 MB/s", 1.25e8),
        ("125MBps", 1.25e8),
        ("1 MiB/s", 1_048_576.0),
        ("1.5 MiB/s", 1_572_864.0),  # 1.5 * 2**20
        ("64 kbit/s", 8_000.0),
        ("64 Kbps", 8_000.0),
        ("1024 Mibit/s", 134_217_728.0),  # 2**30 bit/s / 8
        ("8 bit/s", 1.0),
        ("1e3 B/s", 1_000.0),
        ("  2 GiB/s ", 2 * 1_073_741_824.0),
        ("unlimited", math.inf),
        ("inf", math.inf),
        ("Unlimited", math.inf),
    ],
)
def test_parse_bandwidth_strings(text: str, expected: float) -> None:
    assert parse_bandwidth(text) == expected


@pytest.mark.parametrize(
    ("number", "expected"), [(8, 1.0), (1e9, 1.25e8), (100_000_000, 12.5e6), (math.inf, math.inf)]
)
def test_parse_bandwidth_numbers_are_bits_per_second(number: float, expected: float) -> None:
    assert parse_bandwidth(number) == expected


def test_parse_bandwidth_b_versus_B() -> None:
    assert parse_bandwidth("8 Mbit/s") == parse_bandwidth("1 MB/s") == 1e6
    assert parse_bandwidth("8 Mbps") == parse_bandwidth("1 MBps")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("100", "no unit"),
        ("100 Mbit", "unknown unit 'Mbit'"),
        ("100 mbps", "unknown unit 'mbps'"),  # lower-case m would be milli
        ("100 Xbit/s", "unknown unit"),
        ("fast", "not '<number> <unit>'"),
        ("", "not '<number> <unit>'"),
        ("0 Mbit/s", "must be > 0"),
        ("-5 Mbit/s", "must be > 0"),
        ("1e999 Gbit/s", "too large"),
        (0, "must be > 0"),
        (-1.0, "must be > 0"),
        (math.nan, "must be > 0"),
        (-math.inf, "must be > 0"),
        (True, "wrong type bool"),
        (None, "wrong type NoneType"),
        ([100], "wrong type list"),
    ],
)
def test_parse_bandwidth_errors(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^uplink of 'p1': invalid bandwidth ") as info:
        parse_bandwidth(value, field="uplink of 'p1'")
    message = str(info.value)
    assert repr(value) in message
    assert reason in message
    # the allowed forms are listed
    for form in ("bit/s", "bps", "B/s", "Ki|Mi", "'10 Gbit/s'", "'unlimited'"):
        assert form in message


def test_parse_bandwidth_default_field_name() -> None:
    with pytest.raises(ValueError, match=r"^bandwidth: invalid bandwidth '100' \(no unit"):
        parse_bandwidth("100")


# ---------------------------------------------------------------- parse_duration
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5 ms", 0.005),
        ("1.5 s", 1.5),
        ("200us", 0.0002),
        ("200 µs", 0.0002),
        ("200 μs", 0.0002),
        ("30 ns", 3e-8),
        ("2 min", 120.0),
        ("1 h", 3600.0),
        ("0 s", 0.0),
        (0, 0.0),
        (0.25, 0.25),
        (3, 3.0),
    ],
)
def test_parse_duration(value: object, expected: float) -> None:
    result = parse_duration(value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("100", "no unit"),
        ("5 sec", "unknown unit 'sec'"),
        ("5 MS", "unknown unit 'MS'"),
        ("soon", "not '<number> <unit>'"),
        ("-5 ms", "must be >= 0"),
        (-0.1, "must be >= 0"),
        (math.nan, "must be >= 0"),
        (math.inf, "must be finite"),
        (False, "wrong type bool"),
        (None, "wrong type NoneType"),
    ],
)
def test_parse_duration_errors(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^latency\.one_way: invalid duration ") as info:
        parse_duration(value, field="latency.one_way")
    message = str(info.value)
    assert repr(value) in message
    assert reason in message
    assert "ns, us, µs, ms, s, min, h" in message


# ---------------------------------------------------------------- parse_size
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("300 MiB", 300 * 2**20),
        ("8000 B", 8000),
        ("1.5 kB", 1500),
        ("1.5 KB", 1500),
        (" 2GiB ", 2 * 2**30),
        ("1e3 B", 1000),
        (42, 42),
    ],
)
def test_parse_size(value: object, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("300", r"^objects\.f\.size: must be a size with a unit, got '300'; allowed units: B, kB"),
        ("3 mb", r"^objects\.f\.size: must be a size with a unit"),
        (0, r"^objects\.f\.size: must be > 0 bytes, got 0"),
        ("0 MiB", r"^objects\.f\.size: must be > 0 bytes"),
        (True, r"^objects\.f\.size: must be a size in bytes or a string like '300 MiB'"),
        (1.5, r"^objects\.f\.size: must be a size in bytes or a string like '300 MiB'"),
    ],
)
def test_parse_size_errors(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_size(value, field="objects.f.size")


# ---------------------------------------------------------------- format_bandwidth
@pytest.mark.parametrize(
    ("bytes_per_s", "text"),
    [
        (gbit(1), "1 Gbit/s"),
        (gbit(10), "10 Gbit/s"),
        (mbit(64), "64 Mbit/s"),
        (mbit(275), "275 Mbit/s"),
        (100_000.0, "800 kbit/s"),
        (1_048_576.0, "8.389 Mbit/s"),
        (0.5, "4 bit/s"),
        (0.0, "0 bit/s"),
        (math.inf, "unlimited"),
    ],
)
def test_format_bandwidth(bytes_per_s: float, text: str) -> None:
    assert format_bandwidth(bytes_per_s) == text


@pytest.mark.parametrize("name", sorted(BANDWIDTH_PRESETS))
def test_format_then_parse_round_trips_presets(name: str) -> None:
    up, _ = BANDWIDTH_PRESETS[name]
    assert parse_bandwidth(format_bandwidth(up)) == pytest.approx(up, rel=1e-12)


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_format_bandwidth_rejects_negative_and_nan(bad: float) -> None:
    with pytest.raises(ValueError, match="must be >= 0 bytes/s"):
        format_bandwidth(bad)


# ---------------------------------------------------------------- presets
def test_bandwidth_presets_values_in_bytes_per_second() -> None:
    expected_bits = {
        "t2.micro": 64e6,
        "t2.small": 125e6,
        "t2.medium": 275e6,
        "t3.micro": 64e6,
        "t3.medium": 256e6,
        "m5.large": 750e6,
        "m5.large-burst": 10e9,
        "t3-burst": 5e9,
        "datacenter": 1e9,
        "go-fast": 10e6,
        "go-average": 4e6,
        "go-slow": 0.8e6,
    }
    assert set(BANDWIDTH_PRESETS) == set(expected_bits)
    for name, bits in expected_bits.items():
        up, down = bandwidth_preset(name)
        assert Fraction(up) == Fraction(down) == Fraction(bits) / 8, name
    assert bandwidth_preset("datacenter") == (125_000_000.0, 125_000_000.0)
    assert bandwidth_preset("go-fast") == (1_250_000.0, 1_250_000.0)
    assert bandwidth_preset("go-average") == (500_000.0, 500_000.0)
    assert bandwidth_preset("go-slow") == (100_000.0, 100_000.0)


def test_go_bandwidth_sigma() -> None:
    assert dict(GO_BANDWIDTH_SIGMA) == {
        "go-fast": 300_000.0,
        "go-average": 80_000.0,
        "go-slow": 16_500.0,
        "datacenter": 3_000_000.0,
    }
    assert set(GO_BANDWIDTH_SIGMA) <= set(BANDWIDTH_PRESETS)


def test_presets_are_read_only() -> None:
    with pytest.raises(TypeError):
        BANDWIDTH_PRESETS["mine"] = (1.0, 1.0)  # type: ignore[index]


def test_unknown_bandwidth_preset_lists_sorted_names() -> None:
    allowed = ", ".join(sorted(BANDWIDTH_PRESETS))
    with pytest.raises(ValueError, match=r"unknown preset 't9\.huge'; allowed: ") as info:
        bandwidth_preset("t9.huge")
    assert str(info.value).endswith(allowed)
    assert allowed.startswith("datacenter, go-average, go-fast, go-slow, m5.large, ")
