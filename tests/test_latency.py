"""Latency models: exact values, seeded replays, a statistical check, validation errors."""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pytest

from sim.latency import (
    LATENCY_PRESETS,
    EdgeLatency,
    FixedLatency,
    InternetLatency,
    LatencyModel,
    RegionMatrixLatency,
    aws_regions,
    aws_rtt_s,
    latency_model,
)

AWS_REGIONS = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
]
AWS_REGIONS_LISTED = ", ".join(sorted(AWS_REGIONS))


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def draw(model: LatencyModel, src: str = "a", dst: str = "b", *, seed: int = 0) -> float:
    return model.one_way_s(src, dst, None, None, rng(seed))


# ---------------------------------------------------------------- fixed
def test_fixed_latency() -> None:
    model = FixedLatency(0.01)
    assert draw(model) == 0.01
    assert model.one_way_s("b", "a", "us-east-1", None, rng()) == 0.01
    assert FixedLatency(0).delay_s == 0.0
    assert isinstance(model, LatencyModel)


@pytest.mark.parametrize("bad", [-0.001, math.nan, math.inf, "10 ms", True, None])
def test_fixed_latency_rejects(bad: object) -> None:
    with pytest.raises(
        ValueError, match=r"FixedLatency\.delay_s must be a finite number of seconds"
    ):
        FixedLatency(bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------- AWS table / region matrix
def test_aws_table_has_all_45_pairs() -> None:
    assert aws_regions() == AWS_REGIONS
    for i, a in enumerate(AWS_REGIONS):
        for b in AWS_REGIONS[i + 1 :]:
            assert aws_rtt_s(a, b) == aws_rtt_s(b, a) > 0.0


@pytest.mark.parametrize(
    ("a", "b", "rtt_s"),
    [
        ("us-east-1", "us-west-2", 0.0878),
        ("us-east-1", "eu-west-1", 0.0805),
        ("us-west-2", "eu-west-1", 0.137),
        ("us-west-1", "us-west-2", 0.0193),
        ("ap-southeast-1", "sa-east-1", 0.3281),
        ("ap-southeast-2", "sa-east-1", 0.3225),
    ],
)
def test_aws_rtt_values(a: str, b: str, rtt_s: float) -> None:
    assert aws_rtt_s(a, b) == pytest.approx(rtt_s, abs=1e-12)


def test_aws_rtt_errors() -> None:
    with pytest.raises(ValueError, match="unknown AWS region 'mars-1'; allowed regions: ap-"):
        aws_rtt_s("us-east-1", "mars-1")
    with pytest.raises(ValueError, match="no intra-region RTT"):
        aws_rtt_s("us-east-1", "us-east-1")


def test_region_matrix_default_is_aws() -> None:
    model = RegionMatrixLatency()
    one_way = model.one_way_s("p1", "p2", "us-east-1", "us-west-2", rng())
    assert one_way == pytest.approx(0.0439, abs=1e-12)
    assert model.one_way_s("p2", "p1", "us-west-2", "us-east-1", rng()) == one_way
    assert model.one_way_s("p1", "p3", "eu-west-1", "eu-west-1", rng()) == 0.0005
    assert model.regions == sorted(AWS_REGIONS)


@pytest.mark.parametrize(
    ("src_region", "dst_region"), [("us-east-1", "mars-1"), (None, "sa-east-1")]
)
def test_region_matrix_unknown_region(src_region: str | None, dst_region: str | None) -> None:
    bad_node, bad_region = ("p2", "mars-1") if src_region else ("p1", None)
    with pytest.raises(
        ValueError, match=f"node '{bad_node}' has region {bad_region!r}, which is not in"
    ) as info:
        RegionMatrixLatency().one_way_s("p1", "p2", src_region, dst_region, rng())
    assert str(info.value).endswith(f"allowed regions: {AWS_REGIONS_LISTED}")


def test_region_matrix_custom() -> None:
    model = RegionMatrixLatency(
        {("a", "b"): 10.0, frozenset({"a", "c"}): 20.0, ("c", "b"): 30.0},
        intra_region_one_way_s=0.001,
    )
    r = rng()
    assert model.one_way_s(1, 2, "a", "b", r) == 0.005
    assert model.one_way_s(1, 2, "c", "a", r) == 0.01
    assert model.one_way_s(1, 2, "b", "c", r) == 0.015
    assert model.one_way_s(1, 2, "c", "c", r) == 0.001
    assert model.regions == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"allowed regions: a, b, c$"):
        model.one_way_s(1, 2, "a", "us-east-1", r)


@pytest.mark.parametrize(
    ("rtt_ms", "match"),
    [
        ({}, "must be a non-empty mapping"),
        ({("a", "b"): 10.0, ("a", "c"): 10.0}, r"missing RTT for region pairs \[\('b', 'c'\)\]"),
        ({("a", "a"): 1.0}, "pair of two different region names"),
        ({("a", "b", "c"): 1.0}, "pair of two different region names"),
        ({"ab": 1.0}, "pair of two different region names"),
        ({("a", "b"): -1.0}, r"must be a finite RTT in ms >= 0"),
        ({("a", "b"): 1.0, ("b", "a"): 2.0}, "conflicting RTTs"),
    ],
)
def test_region_matrix_validation(rtt_ms: dict, match: str) -> None:
    with pytest.raises(ValueError, match=rf"RegionMatrixLatency\.rtt_ms.*{match}"):
        RegionMatrixLatency(rtt_ms)


def test_region_matrix_rejects_negative_intra_region() -> None:
    with pytest.raises(ValueError, match=r"RegionMatrixLatency\.intra_region_one_way_s must be"):
        RegionMatrixLatency(intra_region_one_way_s=-1.0)


def test_models_pickle_and_compare() -> None:
    for model in (
        RegionMatrixLatency(),
        RegionMatrixLatency({("a", "b"): 1.0}),
        LATENCY_PRESETS["fast"],
        EdgeLatency({("a", "b"): 0.1}),
    ):
        assert pickle.loads(pickle.dumps(model)) == model


# ---------------------------------------------------------------- InternetLatency
def test_internet_without_spread_returns_base_exactly() -> None:
    model = InternetLatency(0.06, 0.0, 0.14, 0.0, 0.74, 0.0)
    r = rng(1)
    assert [model.one_way_s("a", "b", None, None, r) for _ in range(5)] == [0.06] * 5


def test_internet_matches_hand_replay_of_numpy_draws() -> None:
    model = LATENCY_PRESETS["slow-variable-speed"]
    got = [model.one_way_s("a", "b", None, None, r) for r in [rng(42)] for _ in range(200)]
    replay = rng(42)
    expected = []
    for _ in range(200):
        u = replay.random()  # first the uniform (Go: Float64) ...
        base = 0.060 + replay.standard_normal() * 0.020  # ... then the normal (NormFloat64)
        if u < 0.3:
            value = base + 3.940
        elif u < 0.6:
            value = base + 0.140
        else:
            value = base
        expected.append(max(value, 0.0))
    assert got == expected
    # all three clusters show up
    assert min(got) < 0.2 < max(got) and max(got) > 3.9


def test_internet_same_seed_same_draws() -> None:
    model = InternetLatency.preset("average-variable-speed")
    r1, r2 = rng(7), rng(7)
    a = [model.one_way_s("a", "b", None, None, r1) for _ in range(50)]
    b = [model.one_way_s("b", "a", None, None, r2) for _ in range(50)]
    assert a == b
    assert a != [model.one_way_s("a", "b", None, None, r) for r in [rng(8)] for _ in range(50)]


def test_internet_directed_pairs_drawn_independently() -> None:
    model = InternetLatency.preset("fast")
    r = rng(3)
    ab = model.one_way_s("a", "b", None, None, r)
    ba = model.one_way_s("b", "a", None, None, r)
    assert ab != ba


def test_internet_clips_negative_to_zero() -> None:
    model = InternetLatency(0.0, 1.0)
    r = rng(5)
    values = [model.one_way_s("a", "b", None, None, r) for _ in range(1000)]
    assert min(values) == 0.0
    assert 400 < values.count(0.0) < 600  # about half the normals are negative


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_internet_average_variable_speed_mean(seed: int) -> None:
    # Closed form: 0.06 + 0.3 * 0.14 + 0.3 * 0.74 = 0.324 s; the draw's standard deviation is
    # sqrt(0.02**2 + Var(offset)) = sqrt(0.0004 + 0.100464) ~= 0.3176 s, so the standard error
    # of a 20,000-draw mean is ~0.00225 s; the tolerance is 5 of those.
    model = LATENCY_PRESETS["average-variable-speed"]
    r = rng(seed)
    values = np.array([model.one_way_s("a", "b", None, None, r) for _ in range(20_000)])
    assert values.mean() == pytest.approx(0.06 + 0.3 * 0.14 + 0.3 * 0.74, abs=0.0113)


def test_latency_presets() -> None:
    assert LATENCY_PRESETS["fast"] == InternetLatency(0.06, 0.02, 0.14, 0.0, 0.74, 0.0)
    assert LATENCY_PRESETS["average-variable-speed"] == InternetLatency(
        0.06, 0.02, 0.14, 0.3, 0.74, 0.3
    )
    assert LATENCY_PRESETS["slow-variable-speed"] == InternetLatency(
        0.06, 0.02, 0.14, 0.3, 3.94, 0.3
    )
    assert LATENCY_PRESETS["datacenter"] == InternetLatency(0.005, 0.003, 0.055, 0.0, 0.0275, 0.0)
    for name, model in LATENCY_PRESETS.items():
        assert InternetLatency.preset(name) is model


def test_unknown_latency_preset() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown InternetLatency preset 'lan'; allowed: average-variable-speed, "
        r"datacenter, fast, slow-variable-speed$",
    ):
        InternetLatency.preset("lan")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_s": -0.01}, r"InternetLatency\.base_s must be a finite number of seconds >= 0"),
        ({"sigma_s": math.nan}, r"InternetLatency\.sigma_s must be"),
        ({"large_s": -1.0}, r"InternetLatency\.large_s must be"),
        ({"p_medium": 1.5}, r"InternetLatency\.p_medium must be a probability in \[0, 1\]"),
        ({"p_large": -0.1}, r"InternetLatency\.p_large must be a probability"),
        ({"p_medium": 0.6, "p_large": 0.6}, r"p_medium \+ p_large must be <= 1"),
    ],
)
def test_internet_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(LATENCY_PRESETS["fast"], **kwargs)


# ---------------------------------------------------------------- EdgeLatency
def test_edge_latency_symmetric_and_directed() -> None:
    model = EdgeLatency({("a", "b"): 0.01, ("b", "c"): 0.02, ("c", "b"): 0.03})
    r = rng()
    assert model.one_way_s("a", "b", None, None, r) == 0.01
    assert model.one_way_s("b", "a", None, None, r) == 0.01
    assert model.one_way_s("b", "c", None, None, r) == 0.02  # exact direction wins
    assert model.one_way_s("c", "b", None, None, r) == 0.03
    directed = EdgeLatency({("a", "b"): 0.01}, symmetric=False)
    assert directed.one_way_s("a", "b", None, None, r) == 0.01
    with pytest.raises(ValueError, match=r"no one-way latency given for connection 'b' -> 'a'$"):
        directed.one_way_s("b", "a", None, None, r)


def test_edge_latency_missing_pair() -> None:
    model = EdgeLatency({("a", "b"): 0.01})
    with pytest.raises(
        ValueError,
        match=r"EdgeLatency: no one-way latency given for connection 'a' -> 'c' \(or 'c' -> 'a'\)",
    ):
        model.one_way_s("a", "c", None, None, rng())


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({("a", "b"): -0.01}, r"EdgeLatency\.values\[\('a', 'b'\)\] must be a finite number"),
        ({("a", "b"): "10 ms"}, r"EdgeLatency\.values\[\('a', 'b'\)\] must be a finite number"),
        ({"ab": 0.01}, r"key 'ab' must be a pair"),
        ([(("a", "b"), 0.01)], "must be a mapping"),
    ],
)
def test_edge_latency_validation(values: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EdgeLatency(values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- latency_model
def test_latency_model_forms() -> None:
    assert latency_model({"model": "fixed", "one_way": "10 ms"}) == FixedLatency(0.01)
    assert latency_model({"model": "region-matrix", "intra_region_one_way": "0.5 ms"}) == (
        RegionMatrixLatency()
    )
    custom = latency_model(
        {"model": "region-matrix", "rtt": [["a", "b", "88 ms"]], "intra_region_one_way": 0.001}
    )
    assert custom.one_way_s(1, 2, "a", "b", rng()) == pytest.approx(0.044, abs=1e-15)
    assert custom.one_way_s(1, 2, "b", "b", rng()) == 0.001
    assert (
        latency_model({"model": "internet", "preset": "average-variable-speed"})
        == LATENCY_PRESETS["average-variable-speed"]
    )
    assert latency_model(
        {
            "model": "internet",
            "base": "60 ms",
            "sigma": "20 ms",
            "medium": "140 ms",
            "p_medium": 0.3,
            "large": "740 ms",
            "p_large": 0.3,
        }
    ) == InternetLatency(0.06, 0.02, 0.14, 0.3, 0.74, 0.3)
    assert latency_model({"model": "internet", "preset": "fast", "sigma": "0 ms"}) == (
        InternetLatency(0.06, 0.0, 0.14, 0.0, 0.74, 0.0)
    )
    assert latency_model({"model": "internet", "base": "5 ms", "sigma": 0}) == InternetLatency(
        0.005, 0.0
    )
    edge = latency_model({"model": "edge", "values": [["a", "b", "3 ms"]], "symmetric": False})
    assert edge == EdgeLatency({("a", "b"): 0.003}, symmetric=False)
    fixed = FixedLatency(0.5)
    assert latency_model(fixed) is fixed


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"model": "lan"}, r"^latency\.model: unknown latency model 'lan'; allowed: edge, fixed, "),
        ({}, r"^latency\.model: unknown latency model None; allowed: edge, fixed, internet, "),
        ("fixed", r"^latency must be a table with a 'model' key"),
        (
            {"model": "fixed", "one_way": "1 ms", "jitter": 0.1},
            r"^latency: unknown key 'jitter' for model 'fixed'; allowed: model, one_way$",
        ),
        (
            {"model": "internet", "preset": "fast", "base_s": 0.1},
            r"unknown key 'base_s' for model 'internet'; allowed: base, large, medium, model, ",
        ),
        ({"model": "fixed"}, r"^latency: model 'fixed' needs key 'one_way'$"),
        ({"model": "fixed", "one_way": "10"}, r"^latency\.one_way: invalid duration '10' \(no"),
        ({"model": "fixed", "one_way": "-1 ms"}, r"^latency\.one_way: invalid duration"),
        ({"model": "internet", "base": "60 ms"}, r"^latency: model 'internet' needs key 'sigma'"),
        (
            {"model": "internet", "preset": "lan"},
            r"^latency\.preset: unknown InternetLatency preset 'lan'; allowed: average-",
        ),
        (
            {"model": "internet", "preset": "fast", "p_large": "0.3"},
            r"^latency\.p_large must be a probability",
        ),
        (
            {"model": "internet", "preset": "fast", "p_large": 2.0},
            r"^latency: InternetLatency\.p_large must be a probability in \[0, 1\]",
        ),
        (
            {"model": "region-matrix", "rtt": [["a", "b"]]},
            r"^latency\.rtt\[0\] must be \[a, b, duration\]",
        ),
        (
            {"model": "region-matrix", "rtt": [["a", "b", "1 ms"], ["a", "c", "1 ms"]]},
            r"^latency: RegionMatrixLatency\.rtt_ms: missing RTT",
        ),
        ({"model": "edge", "values": {"a": 1}}, r"^latency\.values must be a list of \[a, b, "),
        (
            {"model": "edge", "values": [["a", "b", "1 ms"], ["a", "b", "2 ms"]]},
            r"^latency\.values\[1\]: connection \('a', 'b'\) given twice",
        ),
        (
            {"model": "edge", "values": [], "symmetric": "yes"},
            r"^latency\.symmetric must be true or false",
        ),
    ],
)
def test_latency_model_errors(spec: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        latency_model(spec)  # type: ignore[arg-type]


def test_latency_model_field_prefix() -> None:
    with pytest.raises(ValueError, match=r"^scenario\.network\.latency\.one_way: invalid"):
        latency_model({"model": "fixed", "one_way": "x"}, field="scenario.network.latency")
