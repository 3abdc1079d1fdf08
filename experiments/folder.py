"""Output folders: checked before the first event, never mixing two experiments, and the files
of each finished run.

A results folder holds ``scenario.toml`` (written first, with the provenance as comments),
``runs/`` (four Parquet files per finished run, ``<run_id>.run.parquet`` written last, each
carrying the run's settings hash in its metadata), the merged tables, the summary and
``figures/``. :func:`check_path` and :func:`create` reject what cannot be an output folder (an
empty path, a path under a file, a folder that cannot be written) with one line; the runner
then decides from the saved runs' settings hashes whether a folder already holds this
experiment, another version of it, or something else (``experiments.runner``).

Files that are not bitswap-sim outputs are never touched: ``--force`` removes only what this
module lists in :data:`OUTPUTS`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "FIGURE_FORMATS",
    "OUTPUTS",
    "RUNS_DIR",
    "RUN_PARTS",
    "TABLES",
    "OutputFolderError",
    "SavedRun",
    "check_path",
    "clear",
    "create",
    "has_results",
    "read_run_parts",
    "scan_saved",
    "write_parquet",
]

RUNS_DIR = "runs"
RUN_PARTS = ("run", "peers", "transfers", "progress")
"""A run's files in ``RUNS_DIR``: ``<run_id>.<part>.parquet``; ``run`` is written last."""
TABLES = ("runs", "peers", "transfers", "progress")
"""The merged result tables, each saved as ``<name>.parquet``."""
FIGURE_FORMATS = ("png", "pdf", "svg")
"""File formats figures can be written in (``--format``)."""
OUTPUTS = (
    *(f"{t}.parquet" for t in TABLES),
    "scenario.toml",
    "summary.txt",
    "summary.csv",
    "headline.txt",
    "figures",
    RUNS_DIR,
)
"""Everything bitswap-sim writes into an output folder (``figures`` and ``runs`` folders)."""


class OutputFolderError(ValueError):
    """An output folder that cannot be used as asked (one line, naming the folder)."""


# --------------------------------------------------------------------------------- the path
def check_path(out: str | Path) -> Path:
    """``out`` as a Path, if it can be an output folder; nothing is created. Rejects an empty
    path, an existing file, and a path under a file."""
    text = str(out)
    if not text.strip():
        raise OutputFolderError("--out is empty: name a folder for the results")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise OutputFolderError(f"--out {text}: exists and is not a folder")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputFolderError(f"--out {text}: {parent} is a file, not a folder")
            break
    return path


def create(path: Path) -> None:
    """Create ``path`` (and its parents) and check that files can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".bitswap-sim-", suffix=".probe"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = f"not writable ({reason})"
        raise OutputFolderError(f"--out {path}: cannot write results there: {reason}") from None


# --------------------------------------------------------------------------------- contents
def has_results(path: Path) -> list[str]:
    """The bitswap-sim outputs ``path`` holds (names from :data:`OUTPUTS`), if any."""
    if not path.is_dir():
        return []
    found = []
    for name in OUTPUTS:
        p = path / name
        if p.is_dir():
            if any(p.iterdir()):
                found.append(name)
        elif p.exists():
            found.append(name)
    return found


def clear(path: Path, names: Iterable[str] = OUTPUTS) -> None:
    """Remove bitswap-sim's outputs ``names`` from ``path``; in ``runs/`` and ``figures/``
    only the files bitswap-sim writes (``*.parquet`` and temporary files; figure files), and
    the folder itself if that leaves it empty."""
    for name in names:
        p = path / name
        if name == RUNS_DIR:
            _remove_files(p, lambda f: f.name.endswith((".parquet", ".tmp")))
        elif name == "figures":
            _remove_files(p, lambda f: f.suffix.lstrip(".") in FIGURE_FORMATS)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def _remove_files(folder: Path, ours: Any) -> None:
    if not folder.is_dir():
        return
    for f in folder.iterdir():
        if f.is_file() and ours(f):
            f.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()  # only if empty


# --------------------------------------------------------------------------------- files
def write_parquet(frame: pd.DataFrame, path: Path, attrs: dict[str, Any] | None = None) -> None:
    """Write ``frame`` to ``path`` atomically (a temporary file, flushed to disk, then
    renamed), with ``attrs`` added to its ``DataFrame.attrs`` (kept in the Parquet metadata and
    given back by ``pandas.read_parquet``)."""
    if attrs:
        frame = frame.copy(deep=False)
        merged: dict[Any, Any] = {**frame.attrs, **attrs}
        frame.attrs = merged
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


@dataclass(frozen=True)
class SavedRun:
    """A finished run in ``runs/``: its id, settings hash and what its ``run`` file's metadata
    holds (``settings``: what the hash was taken of; ``provenance``)."""

    run_id: str
    settings_hash: str | None
    attrs: dict[str, Any]


def _unreadable(path: Path, exc: Exception) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        size = -1
    what = "0 bytes" if size == 0 else f"not a readable Parquet file ({type(exc).__name__})"
    return f"{path.parent.name}/{path.name}: {what}"


def scan_saved(path: Path) -> tuple[dict[str, SavedRun], list[str]]:
    """The finished runs saved in ``path/runs`` (those whose ``.run.parquet`` exists), and the
    ``run`` files that cannot be read (one description each)."""
    import pyarrow.parquet as pq

    folder = path / RUNS_DIR
    saved: dict[str, SavedRun] = {}
    bad: list[str] = []
    if not folder.is_dir():
        return saved, bad
    for f in sorted(folder.glob("*.run.parquet")):
        rid = f.name.removesuffix(".run.parquet")
        try:
            meta = pq.read_schema(f).metadata or {}
        except Exception as exc:  # pyarrow raises several types for broken files
            bad.append(_unreadable(f, exc))
            continue
        attrs: dict[str, Any] = {}
        raw = meta.get(b"PANDAS_ATTRS")
        if raw:
            import json

            with contextlib.suppress(ValueError):
                attrs = json.loads(raw)
        saved[rid] = SavedRun(rid, attrs.get("settings_hash"), attrs)
    return saved, bad


def read_run_parts(path: Path, run_id: str) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The four tables of a saved run, and descriptions of the files that are missing or
    cannot be read."""
    folder = path / RUNS_DIR
    parts: dict[str, pd.DataFrame] = {}
    bad: list[str] = []
    for part in RUN_PARTS:
        f = folder / f"{run_id}.{part}.parquet"
        if not f.exists():
            bad.append(f"{RUNS_DIR}/{f.name}: missing")
            continue
        try:
            parts[part] = pd.read_parquet(f)
        except Exception as exc:  # pyarrow raises several types for broken files
            bad.append(_unreadable(f, exc))
    return parts, bad
