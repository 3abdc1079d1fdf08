"""Every ``bitswap-sim`` subcommand under one contract for bad arguments: exit status 2, one
line on stderr (``bitswap-sim COMMAND: error: ...``), no traceback, nothing written.

The subcommands and their options are read from the parser itself, so a subcommand added later
is held to the contract too: a missing required argument, an unknown option, a value that is not
a number for a number option, a negative or absurdly large one, a choice that is not offered,
and a file or folder argument that does not exist or is not what it should be. Each command runs
in a child process with a memory cap and a time limit (:mod:`_sandbox`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from _sandbox import Sandbox

from experiments.cli import build_parser

DATA = Path(__file__).parent / "data"
SMALL = DATA / "small.toml"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


SUBCOMMANDS = _subcommands()


def _valid_positionals(parser: argparse.ArgumentParser, tmp: Path) -> list[str]:
    """A value for each required positional: a scenario file, or a folder for ``dir``."""
    out = []
    for a in parser._actions:
        if a.option_strings or a.nargs in ("*", "?") or a.dest == "help":
            continue
        out.append(str(tmp) if a.dest == "dir" else str(SMALL))
    return out


def _required_options(parser: argparse.ArgumentParser, tmp: Path) -> list[str]:
    out = []
    for a in parser._actions:
        if a.option_strings and a.required:
            out += [a.option_strings[-1], str(tmp / "out")]
    return out


def _bad_argvs(name: str, parser: argparse.ArgumentParser, tmp: Path) -> list[list[str]]:
    base = [name, *_valid_positionals(parser, tmp), *_required_options(parser, tmp)]
    argvs = [[*base, "--no-such-option"], [*base, "extra", "arguments", "here"]]
    if base != [name]:
        argvs.append([name])  # required arguments missing
    for a in parser._actions:
        if not a.option_strings or a.dest == "help":
            continue
        opt = a.option_strings[-1]
        if a.type is int:
            argvs += [[*base, opt, v] for v in ("many", "1.5", "-1", str(10**25))]
        if a.choices:
            argvs.append([*base, opt, "no-such-choice"])
        if a.nargs != 0 and a.type is None and not a.choices:
            argvs.append([*base, opt])  # an option that takes a value, without one
    for i, a in enumerate(x for x in parser._actions if not x.option_strings and x.nargs is None):
        if a.dest == "help":
            continue
        for bad in ("", str(tmp / "missing"), "/dev/zero" if a.dest != "dir" else str(SMALL)):
            argv = list(base)
            argv[1 + i] = bad
            argvs.append(argv)
    return argvs


@pytest.fixture(scope="module")
def box() -> Sandbox:
    with Sandbox(mem_mb=1024, timeout_s=60) as sandbox:
        yield sandbox


def test_every_subcommand_is_covered():
    assert {"run", "sweep", "validate", "reproduce", "plot", "demo", "bench"} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("argv", [[], ["no-such-command"], ["--no-such-option"]])
def test_bad_top_level_arguments(argv, box, tmp_path):
    res = box.run(argv, cwd=tmp_path)
    assert res.clean_error, res.stderr
    assert res.lines[0].startswith("bitswap-sim: error: ")


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_bad_arguments_exit_2_with_one_line(name, box, tmp_path):
    parser = SUBCOMMANDS[name]
    bad = _bad_argvs(name, parser, tmp_path)
    assert len(bad) >= 3
    for argv in bad:
        res = box.run(argv, cwd=tmp_path)
        assert res.clean_error, (argv, res.exit, res.stderr[-2000:])
        assert res.lines[0].startswith(f"bitswap-sim {name}: error: "), (argv, res.lines)
        assert res.stdout == "", (argv, res.stdout[-500:])
        assert not (tmp_path / "out").exists(), argv
        assert sorted(p.name for p in tmp_path.iterdir()) == [], (argv, list(tmp_path.iterdir()))


def test_help_is_not_an_error(box, tmp_path):
    for name in ["", *SUBCOMMANDS]:
        res = box.run([name, "--help"] if name else ["--help"], cwd=tmp_path)
        assert res.exit == 0 and "usage:" in res.stdout, (name, res.stderr)


# ------------------------------------------------------------------ issue 16's part
@pytest.mark.parametrize("where", ["under-a-file", "proc", "empty"])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_bad_output_folder_is_refused_before_the_first_event(command, where, box, tmp_path):
    (tmp_path / "file").write_text("x")
    out = {"under-a-file": str(tmp_path / "file" / "sub"), "proc": "/proc/nope", "empty": ""}
    argv = [command, str(SMALL), "--out", out[where]]
    if command == "sweep":
        argv += ["--workers", "1"]
    res = box.run(argv, cwd=tmp_path, timeout_s=60)
    assert res.clean_error, res.stderr[-2000:]
    assert "--out" in res.lines[0], res.lines
    assert res.wall_s < 5, "the folder must be checked before the first event"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_resume_with_an_empty_saved_run_reruns_it_or_says_what_to_do(box, tmp_path):
    runs = tmp_path / "o" / "runs"
    runs.mkdir(parents=True)
    for part in ("run", "peers", "transfers", "progress"):
        (runs / f"small-p000-r00.{part}.parquet").write_bytes(b"")
    argv = ["sweep", str(SMALL), "--out", str(tmp_path / "o"), "--resume", "--workers", "1"]
    res = box.run(argv, cwd=tmp_path, timeout_s=300)
    assert res.kind() in ("ok", "error"), res.stderr[-2000:]
    if res.exit == 2:
        line = res.lines[0]
        assert "small-p000-r00" in line and any(w in line for w in ("delete", "remove")), line


def test_an_unreachable_dask_scheduler_fails_fast_in_one_line(box, tmp_path):
    argv = ["sweep", str(SMALL), "--out", str(tmp_path / "o"), "--dask", "tcp://127.0.0.1:9"]
    res = box.run(argv, cwd=tmp_path, timeout_s=20)
    assert res.clean_error, res.stderr[-2000:]
    assert res.wall_s < 15
    assert "--dask" in res.lines[0]


def test_run_ids_sort_in_plan_order():
    from experiments.runner import plan
    from experiments.scenario import load_scenario, parse_scenario

    raw = dict(load_scenario(SMALL).raw)
    specs = plan(parse_scenario({**raw, "sweep": {"seed": list(range(1001))}}), replications=1)
    ids = [s.run_id for s in specs]
    assert ids == sorted(ids)


def test_allow_large_lifts_the_limits(tmp_path, capsys):
    from experiments.cli import main

    big = tmp_path / "big.toml"
    big.write_text(SMALL.read_text().replace("count = 4", "count = 20000"))
    assert main(["validate", str(big)]) == 2
    err = capsys.readouterr().err
    assert "groups.leeches.count: the run would have 20,002 peers" in err
    assert "--allow-large" in err
    assert main(["validate", str(big), "--allow-large"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: small: 2 groups, 20002 peers, 1 objects, 2 runs")
    assert "estimated ~" in out and "MiB peak per run" in out
