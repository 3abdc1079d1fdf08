"""bitswap-sim run / sweep / validate / plot / reproduce: outputs, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from experiments.cli import main

DATA = Path(__file__).parent / "data"


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *map(str, args)], capture_output=True, text=True
    )


def test_validate_ok(capsys):
    assert main(["validate", str(DATA / "small-sweep.toml")]) == 0
    assert "ok: small-sweep: 2 groups, 5 peers, 1 objects, 8 runs" in capsys.readouterr().out


def test_run_writes_every_output(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(DATA / "small.toml"), "--out", str(out), "--replications", "1"]) == 0
    tables = ("runs", "peers", "transfers", "progress")
    for name in (*(f"{t}.parquet" for t in tables), "scenario.toml", "summary.txt", "summary.csv"):
        assert (out / name).stat().st_size > 0, name
    extra = ("who_served_whom.png", "progress.png", "topology.png")
    assert {p.name for p in (out / "figures").glob("*.png")} >= set(extra)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 1 and runs["completed_leeches"].iloc[0] == 4
    assert main(["validate", str(out / "scenario.toml")]) == 0  # the resolved file loads back
    for name in extra:
        (out / "figures" / name).unlink()
    (out / "transfers.parquet").unlink()  # plot draws what it finds data for
    assert main(["plot", str(out)]) == 0
    assert not (out / "figures" / "who_served_whom.png").exists()
    assert (out / "figures" / "progress.png").exists()  # from progress.parquet
    assert (out / "figures" / "topology.png").exists()  # rebuilt from scenario.toml


def test_sweep_in_parallel_and_resume(tmp_path):
    out = tmp_path / "sweep"
    assert main(["sweep", str(DATA / "small-sweep.toml"), "--out", str(out), "--workers", "2"]) == 0
    first = pd.read_parquet(out / "runs.parquet")
    assert len(first) == 8
    assert main(["sweep", str(DATA / "small-sweep.toml"), "--out", str(out), "--resume"]) == 0
    again = pd.read_parquet(out / "runs.parquet")
    pd.testing.assert_frame_equal(first, again)  # nothing re-run: identical, wall_s included


def test_reproduce_quick_says_it_is_reduced_and_compares_nothing_with_the_blog(
    tmp_path, monkeypatch
):
    """--quick is 8 leeches and 60 MiB: none of the blog's full-size numbers is put beside it
    (it used to print the blog's times and ratios and draw "published" markers)."""
    import experiments.plots

    drawn = []
    real = experiments.plots.write_all

    def spy(*args, **kwargs):
        drawn.append(kwargs.get("reference", args[3] if len(args) > 3 else None))
        return real(*args, **kwargs)

    monkeypatch.setattr(experiments.plots, "write_all", spy)
    out = tmp_path / "rq"
    argv = ["reproduce", "--quick", "--out", str(out), "--workers", "1", "--sensitivity", "off"]
    assert main(argv) == 0
    assert drawn == [None]  # no "published" markers
    text = (out / "headline.txt").read_text()
    assert text.startswith("REDUCED RUN (--quick): 8 leeches, a 60 MiB image")
    assert "poc-potential/master mean time to fetch" in text
    assert "blog 3.16" not in text and "blog_s" not in text and "9.08" not in text
    runs = pd.read_parquet(out / "runs.parquet")
    assert set(runs["strategy"]) == {"master", "poc-potential", "registry"}
    assert (runs["completed_leeches"] == runs["leeches"]).all()
    assert not (out / "sensitivity").exists()


def test_reproduce_runs_the_sensitivity_grid_after_the_headline(tmp_path, monkeypatch):
    """reproduce prints and saves how the times and the ratio move over the unknowns (here
    the quick grid shrunk to 2 leeches and 2 MiB so that the test is fast)."""
    from experiments import reproduce, sensitivity

    monkeypatch.setitem(
        sensitivity.SIZES,
        "quick",
        {"groups.leeches.count": 2, "objects.image.layers": ["1 MiB", "1 MiB"]},
    )
    monkeypatch.setitem(reproduce.QUICK, "groups.leeches.count", 2)
    monkeypatch.setitem(reproduce.QUICK, "objects.image.layers", ["1 MiB", "1 MiB"])
    out = tmp_path / "rq"
    argv = ["reproduce", "--quick", "--out", str(out), "--workers", "1", "--format", "png,svg"]
    assert main(argv) == 0
    text = (out / "sensitivity.txt").read_text()
    assert text.startswith("Sensitivity (quick size, 2 leeches, a 2 MiB image")
    for axis in ("bandwidth per node", "host preset", "DONT_HAVE timeout latency"):
        assert axis in text
    table = pd.read_csv(out / "sensitivity" / "sensitivity.csv")
    assert len(table) == 12 and table["poc_over_master"].gt(0).all()
    assert (out / "sensitivity" / "sensitivity.png").exists()
    assert (out / "sensitivity" / "sensitivity.svg").exists()
    assert len(pd.read_parquet(out / "sensitivity" / "runs.parquet")) == 23


def test_the_full_headline_table_says_how_far_each_mean_is_from_the_blog():
    from experiments.reproduce import headline_table

    runs = pd.DataFrame(
        {
            "strategy": ["master", "poc-potential", "registry"],
            "makespan_s": [9.08 * 1.5, 3.16, 3.93 * 2],
            "mean_time_to_fetch_s": [9.08, 3.16 * 0.5, 3.93],
            "dup_block_rate": [0.1, 0.2, 0.0],
            "leeches": [32, 32, 32],
            "completed_leeches": [32, 32, 32],
        }
    )
    table = headline_table(runs).set_index("strategy")
    assert table.loc["master", "ttf_vs_blog"] == "+0%"
    assert table.loc["master", "makespan_vs_blog"] == "+50%"
    assert table.loc["poc-potential", "blog_s"] == 3.16
    assert table.loc["poc-potential", "ttf_vs_blog"] == "-50%"
    assert table.loc["registry", "makespan_vs_blog"] == "+100%"


def test_bad_inputs_exit_2_with_one_line_and_write_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((DATA / "small.toml").read_text().replace('"dag-walk"', '"zigzag"'))
    cases = [
        (["run", bad, "--out", tmp_path / "o1"], "groups.leeches.fetch.pattern: unknown value"),
        (["run", tmp_path / "none.toml", "--out", tmp_path / "o2"], "none.toml: no such file"),
        (["validate", bad], "allowed: dag-walk"),
        (["sweep", DATA / "small.toml", "--out", tmp_path / "o3", "--workers", "2",
          "--dask", "local:1"], "either --workers or --dask"),
        (["sweep", DATA / "small.toml", "--out", tmp_path / "o4", "--dask", "udp://x"],
         "allowed: tcp://host:port"),
        (["run", DATA / "small.toml", "--out", tmp_path / "o5", "--replications", "0"],
         "replications: must be a whole number >= 1"),
        (["plot", tmp_path], "no runs.parquet"),
    ]  # fmt: skip
    for args, message in cases:
        res = cli(*args)
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, res.stderr)
        assert "Traceback" not in res.stderr
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 6))
