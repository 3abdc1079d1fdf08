"""Where results came from: the package version, the git commit, Python and library versions,
the command and the start time.

:func:`provenance` gathers them once per command (or per ``experiments.run`` call); the runner
writes them into the Parquet files' metadata (``DataFrame.attrs["provenance"]`` after
``pandas.read_parquet``) and as comment lines at the top of ``scenario.toml``
(:func:`header_lines`). ``bitswap-sim --version`` prints :func:`version_line`.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "LIBRARIES",
    "git_commit",
    "header_lines",
    "package_version",
    "provenance",
    "version_line",
]

PACKAGE = "bitswap-sim"
LIBRARIES = ("simpy", "numpy", "scipy", "pandas", "pyarrow", "networkx", "matplotlib", "seaborn")
"""The libraries whose versions can change results or figures."""

_ROOT = Path(__file__).resolve().parent.parent
"""The checkout this package runs from (when it is one)."""


@cache
def package_version() -> str:
    """bitswap-sim's installed version (``unknown`` when it is not installed)."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


@cache
def git_commit() -> tuple[str, bool] | None:
    """``(commit, uncommitted changes)`` of the git checkout the package runs from, or None
    (not a checkout, or git not available)."""
    if not (_ROOT / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(_ROOT), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
        status = subprocess.run(
            ["git", "-C", str(_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return (head, bool(status.strip())) if head else None


def _library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(command: str | None = None) -> dict[str, Any]:
    """What produced a set of results: ``{"bitswap_sim", "git_commit", "git_dirty", "python",
    "platform", "libraries", "command", "started_at"}`` (JSON-ready). ``command``: the command
    line, or the Python call (default: this process's ``sys.argv``)."""
    commit = git_commit()
    return {
        "bitswap_sim": package_version(),
        "git_commit": commit[0] if commit else None,
        "git_dirty": commit[1] if commit else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": _library_versions(),
        "command": command if command is not None else " ".join(sys.argv),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def version_line() -> str:
    """``bitswap-sim 0.1.0 (git 1a2b3c4d5e6f, uncommitted changes)``."""
    commit = git_commit()
    text = f"{PACKAGE} {package_version()}"
    if commit is not None:
        text += f" (git {commit[0][:12]}{', uncommitted changes' if commit[1] else ''})"
    return text


def header_lines(prov: dict[str, Any]) -> list[str]:
    """``prov`` as TOML comment lines, for the top of ``scenario.toml``."""
    commit = prov.get("git_commit")
    code = f"bitswap-sim {prov['bitswap_sim']}"
    if commit:
        code += f", git {commit}" + (" with uncommitted changes" if prov.get("git_dirty") else "")
    libs = ", ".join(f"{k} {v}" for k, v in prov["libraries"].items())
    return [
        f"# Written by {code}",
        f"# started {prov['started_at']} by: {prov['command']}",
        f"# Python {prov['python']} on {prov['platform']}; {libs}",
        "# The scenario as run, every default filled in: `bitswap-sim run` takes it as is.",
    ]
