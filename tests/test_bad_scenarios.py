"""Malformed scenario and sweep files: exit status 2, one line naming the file and the field.

Every file in ``tests/data/bad_scenarios/`` has one mistake and a first line
``# expect: <text>``: ``bitswap-sim validate FILE`` and ``bitswap-sim run FILE --out DIR``, each
in a process of its own, must exit with status 2 and print exactly one line on stderr that
names the file and contains that text, no traceback, and leave DIR uncreated. A file that
cannot start with that line (binary, UTF-16, a byte-order mark) has it in a ``.expect`` file of
the same name instead. The files cover every class of issue 17: sizes and costs above the
limits, non-finite, denormal, mistyped and out-of-range numbers, blank and unbounded names,
scenarios that cannot succeed, and files that are not UTF-8 TOML.

A fresh interpreter spends about a second importing pandas, so the processes are forked from
one that has imported the command already (:data:`FORK_SERVER`): each runs ``main(argv)`` as
``python -m experiments.cli`` would, with its own stdout, stderr and exit status, an uncaught
exception printing its traceback. A few files also go through the installed ``bitswap-sim``
script from a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from experiments.cli import main

DATA = Path(__file__).parent / "data"
BAD = sorted((DATA / "bad_scenarios").glob("*.toml"))
COMMANDS = ("validate", "run")


def expected(path: Path) -> str:
    sidecar = path.with_suffix(".expect")
    first = (sidecar if sidecar.exists() else path).read_bytes().split(b"\n", 1)[0]
    line = first.decode("utf-8")
    assert line.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return line.removeprefix("# expect: ")


ROOT = Path(__file__).parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
SCRIPT = Path(sys.executable).with_name("bitswap-sim")

FORK_SERVER = """
import json, os, sys, traceback
from experiments.cli import main
# the command line imports the simulator, pandas and the figures lazily (a fast --help); the
# children fork with them already imported, so each job costs a fork, not an import
import experiments.build, experiments.report, experiments.runner, experiments.scenario
results = []
for argv, out, err in json.load(sys.stdin):
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
            os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
    results.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print(json.dumps(results))
"""
"""Runs each job ``[argv, stdout file, stderr file]`` of a JSON list on stdin in a child
process forked from this one, after the import; prints the exit statuses as JSON."""


class Outcome(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def _cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
    )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple]:
    """(file name, command) -> (Outcome, output folder) for every command of every file."""
    root = tmp_path_factory.mktemp("bad")
    jobs, keys = [], []
    for path in BAD:
        for command in COMMANDS:
            out = root / f"{path.stem}-{command}"
            argv = ["validate", str(path)]
            if command == "run":
                argv = ["run", str(path), "--out", str(out)]
            jobs.append([argv, str(out) + ".stdout", str(out) + ".stderr"])
            keys.append(((path.name, command), out))
    res = subprocess.run(
        [sys.executable, "-c", FORK_SERVER],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    codes = json.loads(res.stdout)
    return {
        key: (Outcome(code, Path(job[1]).read_text(), Path(job[2]).read_text()), out)
        for (key, out), job, code in zip(keys, jobs, codes, strict=True)
    }


def test_there_are_enough_bad_files():
    assert len(BAD) >= 150


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_file_is_one_line_naming_file_and_field_exit_2(outcomes, path, command):
    res, out = outcomes[(path.name, command)]
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    (line,) = lines
    assert line.startswith(f"bitswap-sim {command}: error: {path}: "), line
    assert expected(path) in line, line
    assert res.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize("name", ["toml-syntax", "sweep-bad-value"])
def test_bad_file_through_the_installed_script(name, tmp_path):
    if not SCRIPT.exists():
        pytest.skip(f"no {SCRIPT} (the package is not installed in this environment)")
    path = DATA / "bad_scenarios" / f"{name}.toml"
    for args in (["validate", path], ["run", path, "--out", tmp_path / "o"]):
        res = subprocess.run([SCRIPT, *map(str, args)], capture_output=True, text=True, env=ENV)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        (line,) = res.stderr.strip().splitlines()
        assert f"{path}: " in line and expected(path) in line
    assert not (tmp_path / "o").exists()


def test_a_crash_would_be_seen(tmp_path):
    """The fork server reports what a real process would: here a traceback and status 1."""
    job = [["plot", str(tmp_path)], str(tmp_path / "o"), str(tmp_path / "e")]
    code = "import experiments.cli as c; c._cmd_plot = lambda a: 1 / 0\n" + FORK_SERVER
    res = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps([job]), capture_output=True, text=True
    )
    assert json.loads(res.stdout) == [1]
    assert "Traceback" in (tmp_path / "e").read_text()


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_file_in_process_too(path, tmp_path, capsys):
    """The same through ``main()`` (what the Python API and ``sweep`` share)."""
    for args in (["validate", str(path)], ["sweep", str(path), "--out", str(tmp_path / "o")]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected(path) in err[0] and str(path) in err[0], err
    assert not (tmp_path / "o").exists()


def test_user_strings_are_never_evaluated(tmp_path):
    """Strings that are Python code stay strings: the scenario name is just a name."""
    code = "__import__('os').system('touch PWNED')"
    (tmp_path / "evil.toml").write_text(
        (DATA / "small.toml")
        .read_text()
        .replace('name = "small"', f'name = "{code}"')
        .replace("replications = 2", "replications = 1")
        .replace('name = "leeches"', "name = \"eval('1+1')\"")
    )
    res = _cli("validate", "evil.toml", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"ok: {code}: 2 groups")
    res = _cli("run", "evil.toml", "--out", "out", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "PWNED").exists()
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert runs["scenario"].tolist() == [code]
    assert runs["run_id"].tolist() == [f"{code}-p000-r00"]
    peers = pd.read_parquet(tmp_path / "out" / "peers.parquet")
    assert "eval('1+1')" in set(peers["group"])
