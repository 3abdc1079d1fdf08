"""Mutated valid scenarios (hypothesis): whatever the change, ``bitswap-sim`` ends cleanly.

Each example takes a valid scenario and changes one thing: drops, duplicates, retypes, negates,
enlarges or unicode-ifies a field, or truncates or re-encodes the whole file. ``bitswap-sim
validate`` must then exit with status 0, or with status 2 and one line on stderr, no traceback,
within a few seconds, in a child process capped at 1 GiB more memory (:mod:`_sandbox`). A few
accepted mutants small enough by validate's own estimate are also run: ``bitswap-sim run``
must write a valid result (exit status 0 and ``runs.parquet``) or refuse in one line.
"""

from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from _sandbox import Sandbox
from hostile import BASE, REGIONS, changed
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

FAULTY = changed(
    BASE,
    ("max_sim_time_s", "30 s"),
    ("faults", [{"kind": "slow", "group": "leeches", "fraction": 0.5, "bandwidth_factor": 0.5}]),
    ("sweep", {"defaults.strategy": ["master", "poc"]}),
)
BASES = {"base": BASE, "regions": REGIONS, "faulty": FAULTY}

VALIDATE_S = 10.0
"""Most seconds ``validate`` may take (a few, on a loaded two-core machine)."""
RUN_EVENTS = 3e5
"""Accepted mutants estimated at most this many events are run..."""
RUN_BUDGET = 2
"""... up to this many per session (a run takes seconds)."""
_runs = {"done": 0}


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into ``node`` (a key or a list index per level), containers included."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = {name: _paths(data) for name, data in BASES.items()}


def _get(data: Any, path: tuple) -> Any:
    for p in path:
        data = data[p]
    return data


def _set(data: Any, path: tuple, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _drop(data: Any, path: tuple) -> None:
    del _get(data, path[:-1])[path[-1]]


_NUMBER = re.compile(r"^\s*([0-9.eE+-]+)(.*)$")


def _times(x: float, power: int) -> float:
    try:
        return x * 10.0**power
    except OverflowError:
        return math.copysign(math.inf, x)


def _scaled(value: Any, power: int) -> Any:
    """``value`` times ``10**power`` (a number, or the number a string starts with); a list
    repeated up to 50 times."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value * 10**power
    if isinstance(value, float):
        return _times(value, power)
    if isinstance(value, str) and (m := _NUMBER.match(value)):
        try:
            return f"{_times(float(m.group(1)), power):g}{m.group(2)}"
        except ValueError:
            return value
    if isinstance(value, list):
        return value * min(10**power, 50)
    return value


def _negated(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return -value
    if isinstance(value, str):
        return "-" + value
    return value


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _unicoded(value: Any, how: int) -> Any:
    text = value if isinstance(value, str) else str(value)
    return [
        text.translate(_FULLWIDTH),
        text + "\u200b",
        "\u202e" + text,
        unicodedata.normalize("NFKD", text) + "\u0301",
        text + "\U0001f4a5",
        text.replace(" ", "\u00a0"),
        text.replace("s", "\u0455"),  # Cyrillic dze
    ][how]


ANY_VALUE = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
    st.just([]),
    st.just({}),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-5, 5), max_size=2),
    st.datetimes(),
)
ENCODINGS = ("utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "utf-8-sig", "shift_jis")


@st.composite
def mutants(draw: st.DrawFn) -> tuple[str, bytes]:
    """(what was done, the file's bytes)."""
    name = draw(st.sampled_from(sorted(BASES)))
    data = changed(BASES[name])
    op = draw(
        st.sampled_from(
            ["drop", "duplicate", "retype", "negate", "enlarge", "unicode", "truncate", "reencode"]
        )
    )
    if op in ("truncate", "reencode"):
        text = tomli_w.dumps(data)
        if op == "truncate":
            raw = text.encode()
            cut = draw(st.integers(0, len(raw) - 1))
            return f"{name}: truncate at {cut}", raw[:cut]
        enc = draw(st.sampled_from(ENCODINGS))
        text = text.replace('"hostile"', '"hôstile ✓"')
        return f"{name}: {enc}", text.encode(enc, errors="replace")
    path = draw(st.sampled_from(PATHS[name]))
    what = f"{name}: {op} {'.'.join(map(str, path))}"
    if op == "drop":
        _drop(data, path)
    elif op == "duplicate":
        parent = _get(data, path[:-1])
        if isinstance(parent, list):
            parent.append(changed({"x": parent[path[-1]]})["x"])
        else:
            text = tomli_w.dumps(data)
            lines = text.splitlines()
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            return f"{name}: duplicate line {i}", "\n".join(lines).encode()
    elif op == "retype":
        _set(data, path, draw(ANY_VALUE))
    elif op == "negate":
        _set(data, path, _negated(_get(data, path)))
    elif op == "enlarge":
        power = draw(st.sampled_from([1, 2, 3, 6, 9, 12, 18, 30, 400]))
        _set(data, path, _scaled(_get(data, path), power))
        what += f" x 1e{power}"
    else:
        _set(data, path, _unicoded(_get(data, path), draw(st.integers(0, 6))))
    try:
        return what, tomli_w.dumps(data).encode()
    except (TypeError, ValueError):
        assume(False)
        raise AssertionError from None


@pytest.fixture(scope="module")
def box() -> Sandbox:
    with Sandbox(mem_mb=1024, timeout_s=60) as sandbox:
        yield sandbox


def _events(stdout: str) -> float:
    m = re.search(r"~([0-9.e+]+) events in all", stdout)
    return float(m.group(1)) if m else math.inf


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutant=mutants())
def test_a_mutated_scenario_validates_or_fails_in_one_line(mutant, box, tmp_path_factory):
    what, content = mutant
    tmp: Path = tmp_path_factory.mktemp("mutant")
    path = tmp / "mutant.toml"
    path.write_bytes(content)
    res = box.run(["validate", str(path)], timeout_s=30)
    assert res.kind() in ("ok", "error"), (what, res.kind(), res.stderr[-3000:])
    assert res.wall_s < VALIDATE_S, (what, res.wall_s)
    if res.exit == 2:
        assert res.lines[0].startswith(f"bitswap-sim validate: error: {path}: "), (what, res.lines)
        return
    if _events(res.stdout) > RUN_EVENTS or _runs["done"] >= RUN_BUDGET:
        return
    _runs["done"] += 1
    run = box.run(["run", str(path), "--out", str(tmp / "out")], timeout_s=300)
    assert run.kind() in ("ok", "error"), (what, run.kind(), run.stderr[-3000:])
    if run.exit == 0:
        assert (tmp / "out" / "runs.parquet").exists(), what
