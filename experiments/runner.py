"""Run scenarios and sweeps; collect tidy results.

One call does what ``bitswap-sim run`` and ``sweep`` do::

    runs, peers = run(scenario, replications=5, workers=2, out="results/x", resume=True)

:func:`run` returns ``(runs, peers)``, :func:`run_tables` all four tables as a :class:`Tables`
(``runs``, ``peers``, ``transfers``: who sent blocks to whom, ``progress``: blocks local over
time per leech; see :mod:`experiments.collect`). With ``workers`` (or an ``executor``: a
process pool, a Dask cluster's) the runs go out in parallel; each depends only on its
:class:`RunSpec` (scenario, point, replicate, seed), so results are identical whichever
executor ran them. With ``out``, the folder is checked before the first event, every finished
run is saved atomically under ``out/runs`` with the hash of its settings, ``resume`` reuses
the saved runs whose settings are unchanged (and runs again, saying which, those whose
settings changed), and the merged tables, ``scenario.toml`` (with provenance), the summary and
the figures are written (``experiments.report``).

Column names are identifiers (``df.query("groups_leeches_count == 4")``): a swept parameter's
dotted path becomes its column with every other character replaced by ``_``
(``groups.leeches.count`` -> ``groups_leeches_count``; ``runs.attrs["swept_paths"]`` maps
back); a swept table or list is one label per point (``{model=fixed, one_way=5 ms}``).
"""

from __future__ import annotations

import hashlib
import json
import math
import shlex
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from experiments import folder as fs
from experiments.build import CONTROL_KINDS, Built, build_run
from experiments.collect import (
    empty_progress,
    empty_transfers,
    progress_frame,
    records,
    transfer_frame,
)
from experiments.folder import RUNS_DIR, TABLES, OutputFolderError
from experiments.provenance import package_version, provenance
from experiments.scenario import Scenario, ScenarioError, grid, run_arguments
from models.swarm import column_name

__all__ = [
    "RUNS_DIR",
    "TABLES",
    "OutputFolderError",
    "RunResult",
    "RunSpec",
    "Tables",
    "collect",
    "command_line",
    "differences",
    "execute",
    "execute_tables",
    "plan",
    "prepare_out",
    "run",
    "run_one",
    "run_tables",
    "settings",
    "settings_hash",
    "summarise_run",
    "swept_columns",
    "swept_parameters",
    "value_label",
]

Echo = Callable[[str], None]

IDENT_COLUMNS = ("run_id", "scenario", "replicate", "seed")
RUN_COLUMNS = (
    *IDENT_COLUMNS,
    "strategy",
    "leeches",
    "completed_leeches",
    "fraction_completed",
    "makespan_s",
    "mean_time_to_fetch_s",
    "dup_block_rate",
    "dup_byte_rate",
    "control_bytes",
    "payload_bytes",
    "msgs_lost",
    "msgs_in_flight",
    "fault_events",
    "sim_events",
    "sim_time_s",
    "wall_s",
)
"""The columns of ``runs`` besides the swept parameters (which follow ``strategy``)."""

UNSWEEPABLE = {
    "replications": "every point runs `replications` times; set replications = N (sweep "
    "seed to repeat the grid on other random streams)",
    "name": "the name names the experiment and its run ids; run each name separately",
}
"""Top-level fields a ``[sweep]`` may not vary, and why."""


@dataclass(frozen=True)
class RunSpec:
    """One run: a sweep point of a scenario and a replicate. Picklable.

    ``point``: the swept parameters' paths and values; ``columns``: the same as ``runs``
    columns (identifier names; tables and lists as labels)."""

    run_id: str
    scenario: Scenario
    replicate: int
    seed: int
    point_index: int = 0
    point: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)


class RunResult(NamedTuple):
    """What :func:`run_one` returns for one run. ``row`` and ``peers`` are dicts (one row, a
    few per peer); ``transfers`` and ``progress`` are DataFrames, built column-wise since a
    run has a row per leech per block (:mod:`experiments.collect` has their columns)."""

    row: dict[str, Any]
    peers: list[dict[str, Any]]
    transfers: pd.DataFrame
    progress: pd.DataFrame


class Tables(NamedTuple):
    """The four result tables of a set of runs (tidy, sorted by run_id, then peers)."""

    runs: pd.DataFrame
    peers: pd.DataFrame
    transfers: pd.DataFrame
    progress: pd.DataFrame


# --------------------------------------------------------------------------------- the plan
def value_label(value: Any) -> Any:
    """A swept value as a ``runs`` cell: numbers, booleans and strings as they are; a table
    as ``{key=value, ...}`` and a list as ``[a, b]`` (strings, hashable, so points group)."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "str"
    return "other"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value_label(value))


def swept_columns(scenario: Scenario) -> dict[str, str]:
    """``{column: path}`` of every swept parameter (``groups.leeches.count`` ->
    ``groups_leeches_count``; a swept ``seed`` is the ``seed`` column). Two paths that would
    share a column, or a path whose column is one of the run's own, are a
    :class:`ScenarioError`."""
    out: dict[str, str] = {}
    for path in scenario.sweep:
        if path in UNSWEEPABLE:
            raise ScenarioError(
                f"{scenario.source}: sweep.{path}: cannot be swept: {UNSWEEPABLE[path]}"
            )
        col = "seed" if path == "seed" else column_name(path)
        clash = out.get(col) or (col if col in RUN_COLUMNS and path != "seed" else None)
        if clash is not None:
            raise ScenarioError(
                f"{scenario.source}: sweep.{path}: its results column {col!r} is already "
                + (
                    f"the column of sweep.{clash}"
                    if clash in scenario.sweep
                    else "a column of runs"
                )
                + "; allowed: paths whose names differ in more than punctuation"
            )
        out[col] = path
    return out


def swept_parameters(scenario: Scenario) -> list[str]:
    """The ``runs`` columns of the swept parameters that are not a strategy choice (a sweep
    over a group's or the defaults' ``strategy`` shows up as the ``strategy`` column)."""
    return [c for c, p in swept_columns(scenario).items() if not p.endswith(".strategy")]


def plan(
    scenario: Scenario, *, replications: int | None = None, seed: int | None = None
) -> list[RunSpec]:
    """Every run of ``scenario``: its sweep grid times its replications, in a fixed order.

    Run ids are ``<name>-p<point>-r<replicate>``, zero-padded to the grid's size so that they
    sort in plan order however large the grid is. ``seed`` overrides the scenario's base seed;
    a swept ``seed`` gives each point its own (and cannot be combined with ``seed``). A sweep
    over ``replications`` or ``name`` is refused (:data:`UNSWEEPABLE`)."""
    reps, root = run_arguments(scenario, replications, seed)  # checked as a file's are
    if replications is not None:
        scenario = replace(scenario, replications=reps)
    columns = swept_columns(scenario)
    if "seed" in scenario.sweep and seed is not None:
        raise ScenarioError(
            f"{scenario.source}: sweep.seed: the scenario sweeps its seed, so a seed override "
            f"({seed}) would make every point the same; allowed: one of the two"
        )
    labels = _label_rules(scenario)
    n_points = math.prod(len(v) for v in scenario.sweep.values()) if scenario.sweep else 1
    pw, rw = max(3, len(str(n_points - 1))), max(2, len(str(reps - 1)))
    specs = []
    for index, (point, point_scenario) in enumerate(grid(scenario)):
        point_seed = point_scenario.seed if "seed" in scenario.sweep else root
        resolved = replace(point_scenario, seed=point_seed, replications=reps)
        cols = {
            col: (_text(point[path]) if labels[path] else value_label(point[path]))
            for col, path in columns.items()
            if path != "seed"
        }
        for r in range(reps):
            specs.append(
                RunSpec(
                    run_id=f"{scenario.name}-p{index:0{pw}d}-r{r:0{rw}d}",
                    scenario=resolved,
                    replicate=r,
                    seed=point_seed,
                    point_index=index,
                    point=dict(point),
                    columns=cols,
                )
            )
    return specs


def _label_rules(scenario: Scenario) -> dict[str, bool]:
    """Per swept path: write its values as text labels (tables, lists, or values of mixed
    kinds, which one Parquet column cannot hold) rather than as they are."""
    out = {}
    for path, values in scenario.sweep.items():
        kinds = {_kind(v) for v in values}
        out[path] = "other" in kinds or len(kinds) > 1
    return out


def settings(spec: RunSpec) -> dict[str, Any]:
    """Everything a run's results depend on, JSON-ready: the point's scenario with every
    default filled in (its name, seed and settings; not how many replications its siblings
    have), the swept values, the replicate, the seed and bitswap-sim's version."""
    from experiments.scenario import resolved_dict

    resolved = resolved_dict(spec.scenario)
    resolved.pop("replications", None)
    resolved.pop("sweep", None)
    return json.loads(
        json.dumps(
            {
                "bitswap_sim": package_version(),
                "scenario": resolved,
                "point": {k: spec.point[k] for k in sorted(spec.point)},
                "replicate": spec.replicate,
                "seed": spec.seed,
            },
            sort_keys=True,
            default=repr,
        )
    )


def settings_hash(spec: RunSpec) -> str:
    """SHA-256 (first 20 hex digits) of :func:`settings`: two runs with the same hash give
    the same results (``wall_s`` aside)."""
    text = json.dumps(settings(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


# --------------------------------------------------------------------------------- one run
def run_one(spec: RunSpec, progress: bool = False) -> RunResult:
    """Run one :class:`RunSpec`: its ``runs`` row, ``peers`` rows, ``transfers`` and
    ``progress`` tables. Pure and top-level, so it pickles to worker processes. ``progress``: a
    bar of finished leeches, shown once the run has taken more than 2 s."""
    scenario = spec.scenario
    wall = time.perf_counter()
    built = build_run(scenario, spec.replicate, spec.seed)
    bar = None
    if progress and built.swarm is not None:
        from tqdm.auto import tqdm

        leeches = sum(g.count for g in scenario.groups if g.fetch is not None)
        bar = tqdm(total=leeches, desc=spec.run_id, unit="leech", delay=2.0, leave=False)
        built.swarm.on_fetch_done.append(lambda fetch: bar.update(1))
    try:
        built.run(scenario.max_sim_time_s)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - wall
    row, frame, ident = collect(spec, built, wall)
    return RunResult(
        row,
        records(frame),
        transfer_frame(built, ident, scenario.strategy_label),
        progress_frame(built, ident),
    )


def collect(
    spec: RunSpec, built: Built, wall_s: float
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, Any]]:
    """A finished run's ``runs`` row, its ``peers`` frame and the identifying columns."""
    scenario = spec.scenario
    runner: Any = built.swarm if built.swarm is not None else built.registry
    frame = runner.peer_frame() if built.swarm is not None else _registry_frame(built, spec)
    ident: dict[str, Any] = {
        "run_id": spec.run_id,
        "scenario": scenario.name,
        "replicate": spec.replicate,
        "seed": spec.seed,
    }
    frame.insert(0, "group", frame["peer"].map(built.groups))
    for key, value in reversed(ident.items()):
        frame.insert(0, key, value)
    events = built.net.events_scheduled()  # SimPy's event counter: events scheduled in this run
    summary = summarise_run(frame, built.net, runner.makespan_s)
    row = {
        **ident,
        "strategy": scenario.strategy_label,
        **spec.columns,
        **summary,
        "msgs_lost": built.net.messages_lost,
        "msgs_in_flight": built.net.messages_in_flight,
        "fault_events": len(built.swarm.connectivity.log) if built.swarm is not None else 0,
        "sim_events": events,
        "sim_time_s": built.net.now,
        "wall_s": wall_s,
    }
    return row, frame, ident


def _registry_frame(built: Built, spec: RunSpec) -> pd.DataFrame:
    """The registry's client frame with the columns a swarm's peer frame has besides: nothing
    is lost without faults; in flight from the network; a client's time fetching from its
    start (the scenario's fetch start and stagger)."""
    assert built.registry is not None
    frame = built.registry.client_frame()
    net = built.net
    starts: dict[Any, float] = {}
    for g in spec.scenario.groups:
        if g.fetch is not None:
            for i, m in enumerate(g.members()):
                starts[m] = g.fetch.start_s + i * g.fetch.stagger_s
    fetching = []
    for peer, done, ttf in zip(
        frame["peer"], frame["completed"], frame["time_to_fetch_s"], strict=True
    ):
        start = starts.get(peer)
        if done is True:
            fetching.append(ttf)
        elif start is not None and start < net.now:
            fetching.append(net.now - start)
        else:
            fetching.append(None)
    added: dict[str, Any] = {
        "time_fetching_s": fetching,
        "msgs_lost": [sum(c[0] for c in net.node(p).lost.values()) for p in frame["peer"]],
        "msgs_in_flight": [net.node(p).in_flight for p in frame["peer"]],
        "blocks_lost": 0,
        "blocks_in_flight": 0,  # the registry counts a blob as sent when it is delivered
    }
    order: list[str] = []
    for col in map(str, frame.columns):
        order.append(col)
        if col == "time_to_fetch_s":
            order.append("time_fetching_s")
        elif col == "msgs_received":
            order += ["msgs_lost", "msgs_in_flight", "blocks_lost", "blocks_in_flight"]
    frame = frame.assign(**added)[order]
    return frame


def summarise_run(peers: pd.DataFrame, net: Any, makespan_s: float | None) -> dict[str, Any]:
    """The run-level figures from one run's peer rows and its network. ``makespan_s``: last
    leech done minus first leech started (p2plab's "total time"), None if a leech did not
    finish. ``leeches`` and ``completed_leeches`` are counts, ``fraction_completed`` their
    ratio; ``mean_time_to_fetch_s`` is over the completed leeches only (NaN if none)."""
    leeches = peers[peers["role"] == "leech"]
    done = leeches[leeches["completed"] == True]  # noqa: E712 - object column with None
    metrics = net.node_metrics()
    payload = metrics.loc[metrics["kind"].isin(("block", "blob")), "bytes_sent"].sum()
    control = metrics.loc[
        metrics["kind"].isin((*CONTROL_KINDS, "request", "manifest")), "bytes_sent"
    ].sum()
    received = leeches["blocks_received"].sum()
    bytes_received = leeches["bytes_received"].sum()
    makespan = math.nan if makespan_s is None else float(makespan_s)
    return {
        "leeches": len(leeches),
        "completed_leeches": len(done),
        "fraction_completed": len(done) / len(leeches) if len(leeches) else math.nan,
        "makespan_s": makespan,
        "mean_time_to_fetch_s": float(done["time_to_fetch_s"].mean()) if len(done) else math.nan,
        "dup_block_rate": float(leeches["dup_blocks_received"].sum() / received)
        if received
        else 0.0,
        "dup_byte_rate": (
            float(leeches["dup_bytes_received"].sum() / bytes_received) if bytes_received else 0.0
        ),
        "control_bytes": int(control),
        "payload_bytes": int(payload),
    }


# --------------------------------------------------------------------------------- tables
def _frames(
    results: Iterable[RunResult], swept: Sequence[str], paths: Mapping[str, str] | None = None
) -> Tables:
    run_rows: list[dict[str, Any]] = []
    peer_rows: list[dict[str, Any]] = []
    transfers: list[pd.DataFrame] = []
    progress: list[pd.DataFrame] = []
    for res in results:
        run_rows.append(res.row)
        peer_rows.extend(res.peers)
        transfers.append(res.transfers)
        progress.append(res.progress)
    runs = pd.DataFrame(run_rows)
    peers_df = pd.DataFrame(peer_rows)
    if len(runs):
        runs = runs.sort_values("run_id", kind="stable").reset_index(drop=True)
        peers_df = peers_df.sort_values(["run_id", "peer"], kind="stable").reset_index(drop=True)
    runs.attrs["swept"] = list(swept)
    runs.attrs["swept_paths"] = {c: p for c, p in (paths or {}).items() if c in swept}
    return Tables(
        runs,
        peers_df,
        _concat(transfers, empty_transfers(), ["run_id", "src", "dst"]),
        _concat(progress, empty_progress(), ["run_id", "peer"]),  # stable: blocks stay in order
    )


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(by, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------- the API
def run(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
    dask: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool | None = None,
    figures: bool = True,
    formats: Sequence[str] = ("png",),
    echo: Echo | None = print,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every point and replication of ``scenario``; ``(runs, peers)``. The arguments are
    :func:`run_tables`'s (which also returns ``transfers`` and ``progress``)."""
    # checked before _call below reads scenario.name (run_tables checks again, for its callers)
    run_arguments(scenario, replications, seed)
    tables = run_tables(
        scenario,
        replications=replications,
        seed=seed,
        workers=workers,
        executor=executor,
        dask=dask,
        out=out,
        resume=resume,
        force=force,
        progress=progress,
        figures=figures,
        formats=formats,
        echo=echo,
        command=_call("run", scenario, replications, seed, workers, dask, out, resume, force),
    )
    return tables.runs, tables.peers


def run_tables(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
    dask: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool | None = None,
    figures: bool = True,
    formats: Sequence[str] = ("png",),
    reference: Mapping[str, float] | None = None,
    echo: Echo | None = print,
    command: str | None = None,
) -> Tables:
    """Run every point and replication of ``scenario``; all four tables
    (``runs, peers, transfers, progress = run_tables(...)``): what ``bitswap-sim sweep`` does.

    ``replications`` and ``seed`` override the scenario's. ``workers`` > 1 runs them on a
    process pool, ``dask`` (``tcp://host:port`` or ``local:N``) on a Dask cluster, and
    ``executor`` on any ``concurrent.futures.Executor`` (left open). With ``out``: the folder
    is checked before the first event and must be new, empty, or hold this experiment's runs
    (``resume``: reuse the saved runs whose settings are unchanged; ``force``: clear it
    first); every run is saved as it finishes; the merged tables, ``scenario.toml`` (with
    where the results came from), the summary and (``figures``) the figures in ``formats``
    (png, pdf, svg) are written. ``progress``: a progress bar (default: when there is more
    than one run). ``echo``: where messages and the summary go (None: nowhere)."""
    from experiments.report import check_formats

    run_arguments(scenario, replications, seed)  # checked as a file's are, first
    if (resume or force) and out is None:
        raise ValueError("resume and force need an output folder (out=)")
    if resume and force:
        raise ValueError("give either resume (keep the saved runs that match) or force (clear "
                         "the folder), not both")  # fmt: skip
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    if replications is not None:
        scenario = scenario.with_replications(replications)
    if seed is not None and "seed" not in scenario.sweep:
        scenario = replace(scenario, seed=seed)
    specs = plan(scenario, seed=seed)
    formats = check_formats(formats)
    path = fs.check_path(out) if out is not None else None
    own: Callable[[], None] | None = None
    if executor is None:
        executor, own = _executor(workers, dask, len(specs))
    try:
        prov = provenance(command)
        if path is not None:
            prepare_out(path, scenario, specs, resume=resume, force=force, prov=prov, echo=echo)
        tables = execute_tables(
            specs,
            executor=executor,
            out_dir=path,
            resume=resume,
            progress=len(specs) > 1 if progress is None else progress,
            swept=swept_parameters(scenario),
            paths=swept_columns(scenario),
            echo=echo,
            prov=prov,
        )
    finally:
        if own is not None:
            own()
    if path is not None:
        from experiments.report import write_outputs

        write_outputs(
            tables, scenario, path, reference=reference, figures=figures, formats=formats, echo=echo
        )
    return tables


def _call(name: str, scenario: Scenario, *args: Any) -> str:
    keys = ("replications", "seed", "workers", "dask", "out", "resume", "force")
    given = ", ".join(
        f"{k}={v!r}" for k, v in zip(keys, args, strict=True) if v not in (None, False)
    )
    return f"experiments.{name}({scenario.name!r}{', ' + given if given else ''})"


def _executor(
    workers: int | None, dask: str | None, runs: int
) -> tuple[Executor | None, Callable[[], None] | None]:
    """(executor, close) for ``workers`` / ``dask``; (None, None) to run in this process."""
    if dask:
        if workers is not None and workers > 1:
            raise ValueError("give either workers (a local process pool) or dask, not both")
        from experiments.parallel import dask_executor

        return dask_executor(dask)
    if workers is None or workers <= 1 or runs <= 1:
        return None, None
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=min(workers, runs))
    return pool, pool.shutdown


# --------------------------------------------------------------------------------- the folder
def _ids(ids: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested tables and named arrays as ``{dotted.path: value}`` (array entries by name)."""
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    elif (
        isinstance(value, list)
        and value
        and all(isinstance(v, Mapping) and "name" in v for v in value)
    ):
        for v in value:
            out.update(
                _flatten({k: x for k, x in v.items() if k != "name"}, f"{prefix}{v['name']}.")
            )
    else:
        out[prefix.rstrip(".")] = value
    return out


def differences(old: Mapping[str, Any], new: Mapping[str, Any], limit: int = 3) -> str:
    """What differs between two nested settings, as ``path: old -> new; ...``."""
    a, b = _flatten(old), _flatten(new)
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k, "(none)") != b.get(k, "(none)")]
    parts = [f"{k}: {_short(a.get(k, '(none)'))} -> {_short(b.get(k, '(none)'))}" for k in keys]
    text = "; ".join(parts[:limit])
    return text + (f"; and {len(parts) - limit} more" if len(parts) > limit else "")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


def prepare_out(
    path: Path,
    scenario: Scenario,
    specs: Sequence[RunSpec],
    *,
    resume: bool,
    force: bool,
    prov: Mapping[str, Any],
    echo: Echo | None,
) -> None:
    """Make ``path`` ready for ``specs`` before the first event: create it and check that it
    can be written; refuse a folder that holds other results unless ``force`` (which clears
    them) or ``resume`` (for this scenario's folder: the saved runs are reconciled by settings
    hash when the runs start); clear the merged tables, summary and figures that the run will
    write again; write ``scenario.toml`` with the provenance as comments."""
    fs.create(path)
    found = fs.has_results(path)
    if force:
        if found:
            _say(echo, f"--force: cleared the results in {path} ({', '.join(found)})")
        fs.clear(path)
    elif found:
        _check_owner(path, scenario, specs, resume=resume)
        if not resume:
            fs.clear(path, [RUNS_DIR])  # this very experiment, run again from the start
    fs.clear(path, [n for n in fs.OUTPUTS if n not in (RUNS_DIR, "scenario.toml")])
    _write_scenario(path / "scenario.toml", scenario, prov)


def _folder_scenario(path: Path) -> tuple[str | None, dict[str, Any] | None]:
    """The name and resolved settings of the scenario in ``path/scenario.toml``, if any."""
    file = path / "scenario.toml"
    if not file.exists():
        return None, None
    import tomllib

    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise OutputFolderError(
            f"--out {path}: its scenario.toml cannot be read ({type(exc).__name__}): use "
            "another folder, or --force to clear it"
        ) from None
    name = raw.get("name") if isinstance(raw.get("name"), str) else None
    return name, raw


def _check_owner(path: Path, scenario: Scenario, specs: Sequence[RunSpec], *, resume: bool) -> None:
    """Refuse ``path`` unless it holds this scenario's results: under another name always
    (even with ``resume``), with other settings unless ``resume``."""
    from experiments.scenario import resolved_dict

    advice = "add --resume to keep the saved runs whose settings match, or --force to clear it"
    name, raw = _folder_scenario(path)
    saved, bad = fs.scan_saved(path)
    names = {s.attrs.get("scenario") for s in saved.values()} - {None}
    other = name if name not in (None, scenario.name) else next(iter(names - {scenario.name}), None)
    if other is not None:
        raise OutputFolderError(
            f"--out {path}: holds the results of scenario {other!r}, not {scenario.name!r}; "
            "use another folder, or --force to clear it"
        )
    if resume:
        return
    import tomllib

    import tomli_w

    ours = tomllib.loads(tomli_w.dumps(resolved_dict(scenario)))  # as scenario.toml reads back
    if raw is not None and raw != ours:
        raise OutputFolderError(
            f"--out {path}: holds results of {scenario.name!r} with other settings "
            f"({differences(raw, ours)}); {advice}"
        )
    wanted = {s.run_id: s for s in specs}
    foreign = [rid for rid, s in saved.items() if rid not in wanted]
    if bad or foreign or (raw is None and not saved):
        what = (
            f"{len(bad)} unreadable saved runs" if bad
            else f"runs that are not in this plan ({_ids(foreign)})" if foreign
            else "results without a scenario.toml"
        )  # fmt: skip
        raise OutputFolderError(f"--out {path}: holds other results ({what}); {advice}")
    for rid, s in saved.items():
        spec = wanted[rid]
        if s.settings_hash != settings_hash(spec):
            old = s.attrs.get("settings")
            detail = differences(old, settings(spec)) if isinstance(old, Mapping) else _NO_HASH
            raise OutputFolderError(
                f"--out {path}: holds run {rid} with other settings ({detail}); {advice}"
            )


def _write_scenario(file: Path, scenario: Scenario, prov: Mapping[str, Any]) -> None:
    import os

    import tomli_w

    from experiments.provenance import header_lines
    from experiments.scenario import resolved_dict

    lines = [" ".join(line.split("\n")) for line in header_lines(dict(prov))]
    text = "\n".join(lines) + "\n\n" + tomli_w.dumps(resolved_dict(scenario))
    tmp = file.with_name(file.name + f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, file)


_NO_HASH = "saved without a settings hash, by an older bitswap-sim"


def _say(echo: Echo | None, text: str) -> None:
    if echo is not None:
        echo(text)


# --------------------------------------------------------------------------------- run files
def _save_run(out: Path, res: RunResult, attrs: dict[str, Any]) -> None:
    """``runs/<run_id>.{peers,transfers,progress}.parquet``, then ``<run_id>.run.parquet``:
    written last, it marks the run done. Each carries ``attrs`` (settings hash, settings,
    provenance) in its metadata."""
    folder = out / RUNS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    rid = res.row["run_id"]
    marker = folder / f"{rid}.run.parquet"
    marker.unlink(missing_ok=True)  # files of an older run under this id are not its parts
    part_attrs = {"settings_hash": attrs.get("settings_hash"), "scenario": attrs.get("scenario")}
    fs.write_parquet(pd.DataFrame(res.peers), folder / f"{rid}.peers.parquet", part_attrs)
    fs.write_parquet(res.transfers, folder / f"{rid}.transfers.parquet", part_attrs)
    fs.write_parquet(res.progress, folder / f"{rid}.progress.parquet", part_attrs)
    fs.write_parquet(pd.DataFrame([res.row]), marker, attrs)


def _load_run(out: Path, run_id: str, expect: str | None) -> tuple[RunResult | None, list[str]]:
    """A saved run (None if its parts are not those of the run file), and unreadable files."""
    parts, bad = fs.read_run_parts(out, run_id)
    if bad:
        return None, bad
    if any(f.attrs.get("settings_hash") != expect for f in parts.values()):
        return None, []
    return (
        RunResult(
            records(parts["run"])[0],
            records(parts["peers"]),
            _plain(parts["transfers"]),
            _plain(parts["progress"]),
        ),
        [],
    )


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    frame.attrs = {}
    return frame


def _relabel(res: RunResult, run_id: str) -> RunResult:
    row = {**res.row, "run_id": run_id}
    peers = [{**p, "run_id": run_id} for p in res.peers]
    return RunResult(
        row, peers, res.transfers.assign(run_id=run_id), res.progress.assign(run_id=run_id)
    )


def _reconcile(
    out: Path, specs: Sequence[RunSpec], hashes: Mapping[str, str], echo: Echo | None
) -> dict[str, RunResult]:
    """Resume: the saved runs of ``specs`` whose settings hash matches, read back (a run
    saved under another id, from a point that moved, is relabelled); every other run file is
    removed. Unreadable files stop it with one line saying what to do."""
    saved, bad = fs.scan_saved(out)
    if bad:
        raise OutputFolderError(_unreadable_message(out, bad))
    by_hash: dict[str, str] = {}
    for rid, s in saved.items():
        if s.settings_hash is not None:
            by_hash.setdefault(s.settings_hash, rid)
    reused: dict[str, RunResult] = {}
    moved: dict[str, str] = {}  # new run id -> the saved run it is
    changed: list[tuple[str, str]] = []
    kept: set[str] = set()
    for spec in specs:
        h = hashes[spec.run_id]
        mine = saved.get(spec.run_id)
        source = spec.run_id if mine is not None and mine.settings_hash == h else by_hash.get(h)
        res: RunResult | None = None
        if source is not None:
            res, unreadable = _load_run(out, source, h)
            if unreadable:
                raise OutputFolderError(_unreadable_message(out, unreadable))
        if res is None:
            if mine is not None:
                old = mine.attrs.get("settings")
                why = differences(old, settings(spec)) if isinstance(old, Mapping) else _NO_HASH
                changed.append((spec.run_id, why or "its files do not match"))
            continue
        if source == spec.run_id:
            kept.add(spec.run_id)
        else:
            assert source is not None
            res = _relabel(res, spec.run_id)
            moved[spec.run_id] = source
        reused[spec.run_id] = res
    wanted = {s.run_id for s in specs}
    stale = sorted(rid for rid in saved if rid not in wanted and rid not in moved.values())
    _remove_run_files(out, keep=kept)
    for rid, source in moved.items():
        _save_run(out, reused[rid], dict(saved[source].attrs))
    commits = {(saved[rid].attrs.get("provenance") or {}).get("git_commit") for rid in kept}
    commits |= {
        (saved[src].attrs.get("provenance") or {}).get("git_commit") for src in moved.values()
    }
    _say(
        echo,
        f"resume: {len(reused)} of {len(specs)} runs saved with these settings; "
        f"running {len(specs) - len(reused)}",
    )
    if changed:
        _say(
            echo,
            f"resume: {len(changed)} saved runs have other settings and run again: "
            f"{_ids([rid for rid, _ in changed])} ({changed[0][1]})",
        )
    if moved:
        pairs = [f"{src} as {rid}" for rid, src in moved.items()]
        _say(
            echo, f"resume: {len(moved)} saved runs of points that moved are reused: {_ids(pairs)}"
        )
    if stale:
        _say(echo, f"resume: removed {len(stale)} saved runs no longer in the plan: {_ids(stale)}")
    from experiments.provenance import git_commit

    here = git_commit()
    others = sorted(c for c in commits - {here[0] if here else None} if c)
    if others:
        _say(
            echo,
            f"resume: some reused runs were made at git commit {_ids([c[:12] for c in others])}, "
            f"this is {here[0][:12] if here else 'not a git checkout'} (same version "
            f"{package_version()}); --force runs everything again",
        )
    return reused


def _unreadable_message(out: Path, bad: Sequence[str]) -> str:
    return (
        f"cannot resume in {out}: {len(bad)} saved run files cannot be read "
        f"({_ids(list(bad), 3)}); delete them (their runs run again on --resume) or use --force "
        "to start over"
    )


def _remove_run_files(out: Path, keep: set[str]) -> None:
    """Remove every run file (and temporary file) in ``out/runs`` but those of ``keep``."""
    folder = out / RUNS_DIR
    if not folder.is_dir():
        return
    for f in folder.iterdir():
        if not (f.is_file() and f.name.endswith((".parquet", ".tmp"))):
            continue
        rid = next(
            (
                f.name[: -len(f".{p}.parquet")]
                for p in fs.RUN_PARTS
                if f.name.endswith(f".{p}.parquet")
            ),
            None,
        )
        if rid not in keep:
            f.unlink()


# --------------------------------------------------------------------------------- execution
def execute(
    specs: Sequence[RunSpec],
    *,
    executor: Executor | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    swept: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`execute_tables`, returning only ``(runs, peers)`` (it saves all four)."""
    tables = execute_tables(
        specs, executor=executor, out_dir=out_dir, resume=resume, progress=progress, swept=swept
    )
    return tables.runs, tables.peers


def execute_tables(
    specs: Sequence[RunSpec],
    *,
    executor: Executor | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    swept: Sequence[str] = (),
    paths: Mapping[str, str] | None = None,
    echo: Echo | None = None,
    prov: Mapping[str, Any] | None = None,
) -> Tables:
    """Run ``specs`` (on ``executor``, else here), saving each run under ``out_dir/runs`` as
    it finishes, with its settings hash; with ``resume``, saved runs with the same settings are
    read back instead of run again (:func:`run_tables` checks the folder first: call that
    unless the folder is known to be this experiment's). With ``out_dir``, the merged tables go
    to ``out_dir/<table>.parquet`` (``runs``, ``peers``, ``transfers``, ``progress``), with the
    provenance in their metadata."""
    out = Path(out_dir) if out_dir is not None else None
    results: dict[str, RunResult] = {}
    hashes = {s.run_id: settings_hash(s) for s in specs} if out is not None else {}
    if out is not None and resume:
        results = _reconcile(out, specs, hashes, echo)
    prov = dict(prov) if prov is not None else (provenance() if out is not None else {})
    todo = [s for s in specs if s.run_id not in results]
    bar = _progress(len(specs), len(results), progress)

    def finish(res: RunResult, spec: RunSpec) -> None:
        results[spec.run_id] = res
        if out is not None:
            attrs = {
                "settings_hash": hashes[spec.run_id],
                "settings": settings(spec),
                "scenario": spec.scenario.name,
                "provenance": prov,
            }
            _save_run(out, res, attrs)
        if bar is not None:
            bar.update(1)

    try:
        if executor is None:
            for spec in todo:
                finish(run_one(spec, progress=progress), spec)
        else:
            futures: dict[Future, RunSpec] = {executor.submit(run_one, s): s for s in todo}
            from concurrent.futures import as_completed

            for fut in as_completed(futures):
                finish(fut.result(), futures[fut])
    finally:
        if bar is not None:
            bar.close()
    tables = _frames((results[s.run_id] for s in specs), swept, paths)
    if out is not None:
        for name, frame in zip(TABLES, tables, strict=True):
            fs.write_parquet(frame, out / f"{name}.parquet", {"provenance": prov})
    return tables


def _progress(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc="runs", unit="run")


def command_line(argv: Sequence[str]) -> str:
    """The command as typed: ``bitswap-sim sweep FILE --out DIR``."""
    return shlex.join(["bitswap-sim", *argv])
