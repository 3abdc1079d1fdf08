"""experiments.hosts: every preset's numbers come from its figures, and the figures are sound."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

import pytest

from experiments.hosts import (
    FIGURE_KINDS,
    PRESETS,
    Figure,
    at_range_end,
    derive,
    preset,
    preset_table,
)
from models.hostwork import NO_WORK
from sim.host import IDEAL, DiskSpec

ROOT = Path(__file__).resolve().parent.parent
NUMBERED = [p for p in PRESETS.values() if p.figures]


def test_the_presets():
    assert list(PRESETS) == [
        "ideal",
        "p2plab-2020",
        "p2plab-2020-fast",
        "p2plab-2020-slow",
        "go-ipfs-2020",
        "modern",
        "go-testnet",
    ]
    assert all(name == p.name == p.spec.name for name, p in PRESETS.items())
    assert PRESETS["ideal"].is_ideal
    assert PRESETS["ideal"].spec == IDEAL and PRESETS["ideal"].work == NO_WORK
    assert not any(p.is_ideal for name, p in PRESETS.items() if name != "ideal")
    assert [n for n, p in PRESETS.items() if p.shared] == ["go-testnet"]
    with pytest.raises(ValueError, match="unknown host preset 'nope'; allowed: ideal, p2plab"):
        preset("nope")


def test_p2plab_2020_key_numbers_worked_by_hand():
    p = PRESETS["p2plab-2020"]
    s, w = p.spec, p.work
    assert (s.cores, s.capacity_cores, s.cipher) == (2, 1.3, "secio")
    # secio: AES-256-CTR at 600 MB/s then HMAC-SHA256 at 450 MB/s over the same bytes
    assert s.cipher_Bps == pytest.approx(1 / (1 / 600e6 + 1 / 450e6))  # 257 MB/s
    assert s.send_message_s == pytest.approx(3e-6 + 1e-6)  # kernel + secio per record
    assert s.receive_message_s == pytest.approx(4e-6)
    assert s.send_Bps == pytest.approx(1 / (0.15e-9 + 1 / 7.5e9))
    assert s.receive_Bps == pytest.approx(1 / (0.15e-9 + 4 / 7.5e9))
    # stream: 15 µs + 3 records sent and 2 received at 4 µs each
    assert s.stream_open_s == pytest.approx(15e-6 + 5 * 4e-6)
    assert s.disk == DiskSpec(write_Bps=128 * 2**20, write_iops=3000.0, write_latency_s=1.4e-3)
    assert w.hash_Bps == 450e6 and w.datastore == "badger"
    assert w.receive_message_s == pytest.approx(1e-6 + 10 * 0.25e-6)  # decode + hand-offs
    assert (w.receive_entry_s, w.send_message_s, w.send_entry_s) == pytest.approx(
        (0.4e-6, 0.5e-6, 0.2e-6)
    )
    assert (w.has_s, w.get_s, w.put_s) == pytest.approx((2e-6, 10e-6, 30e-6))


def test_go_ipfs_2020_differs_from_p2plab_only_in_its_datastore():
    a, b = PRESETS["p2plab-2020"], PRESETS["go-ipfs-2020"]
    differ = {f.name for f in fields(a.spec) if getattr(a.spec, f.name) != getattr(b.spec, f.name)}
    assert differ == {"name"}
    assert b.work.datastore == "flatfs" and b.work.has_s == pytest.approx(0.1e-6)  # ARC hit


def test_modern_and_go_testnet():
    m = PRESETS["modern"]
    assert (m.spec.cipher, m.spec.cipher_Bps, m.work.hash_Bps) == ("tls", 5.5e9, 1.8e9)
    assert m.spec.disk.write_latency_s == pytest.approx(40e-6)
    # TLS records of 16 KiB: a large message pays a record's cost per 16,384 B
    assert m.spec.send_Bps == pytest.approx(1 / (0.15e-9 + 1 / 7.5e9 + 3.5e-6 / 16384))
    t = PRESETS["go-testnet"]
    assert t.shared and t.spec.cores == 4 and t.spec.capacity_cores is None
    assert t.spec.is_ideal  # no crypto, disk, kernel: only go-bitswap's work costs
    assert (t.work.receive_message_s, t.work.receive_entry_s) == pytest.approx((5e-6, 0.5e-6))
    assert t.work.hash_Bps == math.inf and t.work.datastore == "memory"
    assert t.work.send_message_s == 0.0


@pytest.mark.parametrize("p", NUMBERED, ids=lambda p: p.name)
def test_every_number_of_a_preset_is_a_figure(p):
    """Each field a preset sets away from the ideal comes from a figure that names it, with
    the same value; no figure names a field twice."""
    set_by = {}
    for f in p.figures:
        if f.sets:
            assert f.sets not in set_by, f.sets
            set_by[f.sets] = f
    numeric = {
        **{f"host.{f.name}": getattr(p.spec, f.name) for f in fields(p.spec)},
        **{f"disk.{f.name}": getattr(p.spec.disk, f.name) for f in fields(p.spec.disk)},
        **{f"work.{f.name}": getattr(p.work, f.name) for f in fields(p.work)},
    }
    ideal = {
        **{f"host.{f.name}": getattr(IDEAL, f.name) for f in fields(IDEAL)},
        **{f"disk.{f.name}": getattr(IDEAL.disk, f.name) for f in fields(IDEAL.disk)},
        **{f"work.{f.name}": getattr(NO_WORK, f.name) for f in fields(NO_WORK)},
    }
    text = {"host.name", "host.disk", "host.cipher", "work.datastore"}
    if numeric["host.capacity_cores"] is None and "host.capacity_cores" in set_by:
        numeric["host.capacity_cores"] = p.spec.cores  # None: every core a full core
    for key, value in numeric.items():
        if key in text or value == ideal[key] or (key == "host.cores" and value == 1):
            continue
        assert key in set_by, f"{p.name}: {key} = {value} has no figure"
        assert value == pytest.approx(set_by[key].si), key
    for key, f in set_by.items():
        assert numeric[key] == pytest.approx(f.si), key


@pytest.mark.parametrize("p", NUMBERED, ids=lambda p: p.name)
def test_figures_are_sound(p):
    for f in p.figures:
        assert f.kind in FIGURE_KINDS
        assert f.source and "/work/" not in f.source and "shared/" not in f.source
        assert "notes" not in f.source
        if not isinstance(f.value, str) and f.low is not None:
            assert f.low <= f.value <= f.high, f.parameter
        if f.kind == "derivation" and f.source.startswith("="):
            continue
        if f.estimate:
            assert "estimate" in f.source or "placeholder" in f.source, f.parameter


def test_derive_takes_the_range_over_the_inputs_ranges():
    a = Figure("a", 600, "MB/s", "measurement", "x", 450, 750)
    b = Figure("b", 450, "MB/s", "measurement", "y", 355, 515)
    both = derive("both", "MB/s", "= 1 / (1/a + 1/b)", [a, b], lambda x, y: 1 / (1 / x + 1 / y))
    assert both.value == pytest.approx(257.142857, rel=1e-6)
    assert both.low == pytest.approx(1 / (1 / 450 + 1 / 355))
    assert both.high == pytest.approx(1 / (1 / 750 + 1 / 515))
    assert both.kind == "derivation" and not both.estimate
    t = Figure("t", 3, "µs", "derivation", "our estimate", 2, 5, estimate=True)
    total = derive("t2", "µs", "= 2t", [t], lambda x: 2 * x)
    assert (total.value, total.low, total.high, total.estimate) == (6, 4, 10, True)
    assert Figure("ten", 10, "µs", "code", "z").si == 1e-05  # exact, not 9.999999999999999e-06


def test_figure_checks_its_kind_and_range():
    with pytest.raises(ValueError, match="kind"):
        Figure("x", 1, "µs", "guess", "s")
    with pytest.raises(ValueError, match="range"):
        Figure("x", 1, "µs", "code", "s", 2, 1)
    with pytest.raises(ValueError, match="unit"):
        Figure("x", 1, "furlongs", "code", "s")


@pytest.mark.parametrize("p", NUMBERED, ids=lambda p: p.name)
def test_docs_show_each_presets_table(p):
    """docs/host.md shows exactly the tables this module renders (so they cannot drift)."""
    assert preset_table(p) in (ROOT / "docs" / "host.md").read_text(encoding="utf-8")


def test_range_ends_move_every_ranged_number_the_right_way():
    """p2plab-2020-fast / -slow: each ranged number at the end that makes the host fastest or
    slowest (low times, high rates, IOPS and capacity for -fast), the rest as p2plab-2020."""
    mid, fast, slow = (PRESETS[n] for n in ("p2plab-2020", "p2plab-2020-fast", "p2plab-2020-slow"))
    # fast: two hyper-threads deliver two full cores (written None, as a scenario's host loads)
    assert (fast.spec.capacity_cores, slow.spec.capacity_cores) == (None, 1.0)
    assert (fast.spec.disk.write_iops, slow.spec.disk.write_iops) == (16000.0, 100.0)
    assert (fast.spec.disk.write_latency_s, slow.spec.disk.write_latency_s) == pytest.approx(
        (0.5e-3, 10e-3)
    )
    assert (fast.work.hash_Bps, slow.work.hash_Bps) == (515e6, 355e6)
    assert (fast.work.get_s, slow.work.get_s) == pytest.approx((5e-6, 20e-6))
    assert fast.spec.cores == slow.spec.cores == mid.spec.cores == 2
    assert fast.spec.cipher == slow.spec.cipher == "secio"
    assert fast.work.datastore == slow.work.datastore == "badger"
    for f in fields(mid.spec):
        a, m, b = (getattr(p.spec, f.name) for p in (fast, mid, slow))
        if isinstance(m, float) and f.name != "capacity_cores":
            lo, hi = (a, b) if f.name.endswith("_s") else (b, a)  # times: fast is lower
            assert lo <= m <= hi, f.name
    for f in fields(mid.work):
        a, m, b = (getattr(p.work, f.name) for p in (fast, mid, slow))
        if isinstance(m, float):
            lo, hi = (a, b) if f.name.endswith("_s") else (b, a)
            assert lo <= m <= hi, f.name
    with pytest.raises(ValueError, match="end must be one of fast, slow"):
        at_range_end(mid.figures, "middle")
