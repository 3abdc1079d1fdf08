"""The ``bitswap-sim`` command: exit codes, one-line errors, outputs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from experiments.cli import main


def test_bench_substrate_quick_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "substrate", "--quick", "--repeats", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    sub = report["substrate"]
    assert sub["bare_simpy_events_per_s"] > 0
    assert set(sub["transports"]) == {"fifo", "fair", "go-testnet"}
    for r in sub["transports"].values():
        assert r["messages"] > 0 and r["messages_per_s"] > 0
    assert "bare SimPy timeout loop" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "bench", "nope", "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "bitswap-sim bench: error: unknown benchmark part 'nope'; "
        "allowed: substrate, headline, hosts, scaling, sweep, swarm"
    ]
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["scaling", "--leeches", "8,x"], "--leeches must be comma-separated leech counts >= 1"),
        (["scaling", "--leeches", "0,8"], "--leeches must be comma-separated leech counts >= 1"),
        (["headline", "--leeches", "8"], "--leeches sets the scaling series"),
    ],
)
def test_bad_leeches_is_one_line_and_exit_2(tmp_path, args, message):
    res = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "bench", *args, "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    [line] = res.stderr.strip().splitlines()
    assert line.startswith("bitswap-sim bench: error: " + message)
    assert not (tmp_path / "b").exists()


def test_bench_scaling_takes_the_leech_counts(tmp_path):
    out = tmp_path / "bench.json"
    argv = ["bench", "scaling", "--quick", "--repeats", "1", "--leeches", "2,3", "--out", str(out)]
    assert main(argv) == 0
    report = json.loads(out.read_text())["scaling"]
    for strategy in ("master", "poc"):
        assert [r["leeches"] for r in report[strategy]["series"]] == [2, 3]
        assert report[strategy]["relative_to_smallest"][0] == 1.0


def test_demo_runs_end_to_end(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "side by side" in out and "leech4" in out and "poc" in out


def test_bench_measure_counts_messages_and_entries():
    from experiments.bench_runs import measure

    r = measure("poc", leeches=2, layers=["1 MiB"])
    # messages delivered; a few sent ones may still be in flight when the last leech is done
    assert 0 < r["messages"] <= sum(r["messages_by_kind"].values())
    assert set(r["messages_by_kind"]) <= {"want-block", "want-have", "cancel", "block", "have",
                                          "dont-have"}  # fmt: skip
    assert r["wall_s_per_message"] == r["wall_s"] / r["messages"]
    assert r["entries_total"] >= r["messages"]  # every message carries at least one entry


def test_leeches_help_states_the_default_series():
    """The --leeches help names the default scaling series, which both strategies run."""
    from experiments.bench_runs import SCALING_LEECHES
    from experiments.cli import build_parser

    bench = build_parser()._subparsers._group_actions[0].choices["bench"]  # type: ignore[union-attr]
    (action,) = [a for a in bench._actions if a.dest == "leeches"]
    for sizes in SCALING_LEECHES.values():
        assert f"default: {','.join(map(str, sizes))}" in action.help


def test_bench_swarm_quick_reports_both_runs(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "swarm", "--quick", "--repeats", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())["swarm"]
    for strategy in ("master", "poc"):
        r = report[strategy]
        assert r["swarm"]["peers"] == 100 and r["swarm"]["completed"]
        assert r["mesh"]["entries_total"] > 0 and r["relative_cpu_per_entry"] > 0
    assert "cost per entry, swarm / mesh" in capsys.readouterr().out


def test_bench_hosts_compares_the_2020_preset_with_ideal(monkeypatch):
    """The hosts part runs each strategy on the three hosts and divides each by ideal."""
    from experiments import bench_runs

    calls = []
    figures = {"ideal": (2.0, 100, 200), bench_runs.NEGLIGIBLE: (2.2, 100, 300)}

    def fake(strategy, leeches=None, layers=None, replicate=0, host=None):
        calls.append((strategy, host))
        wall, messages, events = figures.get(host, (3.0, 300, 900))
        return {
            "wall_s": wall,
            "messages": messages,
            "events": events,
            "wall_s_per_message": wall / messages,
            "peak_rss_mb": 1.0,
            "makespan_s": 1.0,
        }

    monkeypatch.setattr(bench_runs, "measure", fake)
    res = bench_runs.bench_hosts(repeats=1, quick=True)
    assert calls == [
        (s, h)
        for s in ("master", "poc-potential")
        for h in ("ideal", bench_runs.NEGLIGIBLE, "p2plab-2020")
    ]
    r = res["master"]
    assert r["wall_ratio"] == 1.5
    assert r["messages_ratio"] == 3.0
    assert r["wall_per_message_ratio"] == 0.5
    assert r["machinery_wall_ratio"] == pytest.approx(1.1)
    assert r["machinery_messages_ratio"] == 1.0
    assert r["events_per_message"] == {
        "ideal": 2.0,
        bench_runs.NEGLIGIBLE: 3.0,
        "p2plab-2020": 3.0,
    }


def test_negligible_host_scales_every_cost_and_keeps_the_cores():
    """The benchmark's negligible host: the 2020 preset's costs x 1e-6 (durations at least
    1 ns), rates / 1e-6, the same cores; it loads from a scenario like any custom host."""
    from experiments import bench_runs
    from experiments.hosts import PRESETS

    base = PRESETS["p2plab-2020"]
    tiny = bench_runs.negligible_host(base, "tiny")
    assert tiny.spec.cores == base.spec.cores
    assert tiny.spec.capacity_cores == base.spec.capacity_cores
    assert tiny.spec.cipher_Bps == pytest.approx(base.spec.cipher_Bps * 1e6)
    assert tiny.spec.disk.write_latency_s == pytest.approx(base.spec.disk.write_latency_s * 1e-6)
    assert tiny.work.receive_entry_s == 1e-9  # 0.4 us x 1e-6 is below a scenario's 1 ns
    assert tiny.work.datastore == base.work.datastore
    scenario = bench_runs._preset("poc-potential", 2, ["1 MiB"], host=bench_runs.NEGLIGIBLE)
    assert scenario.groups[1].count == 2
    for g in scenario.groups:
        assert g.host.name == bench_runs.NEGLIGIBLE
        assert g.host.spec.cipher_Bps == pytest.approx(base.spec.cipher_Bps * 1e6)
