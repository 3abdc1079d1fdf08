"""Run ``bitswap-sim`` commands (or Python snippets) in child processes with a memory limit and
a time limit, fast.

A fresh interpreter spends about a second importing pandas, so the children are forked from a
server process that has imported the command already: each runs ``main(argv)`` as ``python -m
experiments.cli`` would (or ``exec``s a snippet), with its own stdout, stderr and exit status, an
uncaught exception printing its traceback. Before running, a child caps its address space
(``resource.setrlimit(RLIMIT_AS)``: the server's size plus ``mem_mb``) and sets an alarm
(``timeout_s``): a child that exceeds the memory gets ``MemoryError`` (or dies), one that runs
too long is killed by ``SIGALRM``. :class:`Sandbox` keeps one server for many jobs
(``with Sandbox() as box: box.run(["validate", path])``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}

SERVER = r"""
import json, os, resource, signal, sys, time, traceback
import experiments.cli, experiments.runner, experiments.report, experiments.scenario
from experiments.cli import main

def vm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0

print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.dup2(os.open(job["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
            os.dup2(os.open(job["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            if job.get("cwd"):
                os.chdir(job["cwd"])
            limit = vm_bytes() + job["mem_mb"] * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            signal.alarm(job["timeout_s"])
            if job.get("code") is not None:
                exec(compile(job["code"], "<job>", "exec"), {"__name__": "__job__"})
                code = 0
            else:
                code = main(job["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    print(json.dumps({
        "exit": os.waitstatus_to_exitcode(status),
        "maxrss_kb": usage.ru_maxrss,
        "wall_s": time.monotonic() - start,
    }), flush=True)
"""
"""Reads one JSON job a line on stdin (argv or code, out and err files, cwd, mem_mb,
timeout_s), forks a child for it and prints its exit status (negative: killed by that signal),
peak resident memory and wall time as one JSON line."""


@dataclass(frozen=True)
class Outcome:
    """What a child did: ``exit`` is its status (``-signal`` if a signal killed it)."""

    exit: int
    stdout: str
    stderr: str
    maxrss_kb: int
    wall_s: float

    @property
    def timed_out(self) -> bool:
        return self.exit == -signal.SIGALRM

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr

    @property
    def out_of_memory(self) -> bool:
        return "MemoryError" in self.stderr or self.exit in (-signal.SIGKILL, -signal.SIGSEGV)

    @property
    def lines(self) -> list[str]:
        return self.stderr.strip().splitlines()

    @property
    def clean_error(self) -> bool:
        """Exit status 2 and exactly one line on stderr, no traceback."""
        return self.exit == 2 and len(self.lines) == 1 and not self.traceback

    def kind(self) -> str:
        """``hang``, ``memory``, ``traceback``, ``error`` (exit 2, one line), ``messy`` (exit 2
        but not one line), ``ok`` (exit 0) or ``status-N``."""
        if self.timed_out:
            return "hang"
        if self.out_of_memory:
            return "memory"
        if self.traceback:
            return "traceback"
        if self.exit == 2:
            return "error" if len(self.lines) == 1 else "messy"
        if self.exit == 0:
            return "ok"
        return f"status-{self.exit}"


class Sandbox:
    """One fork server; :meth:`run` runs a job in a child of it and waits for it."""

    def __init__(self, *, mem_mb: int = 1024, timeout_s: int = 20, root: Path = ROOT) -> None:
        self.mem_mb = mem_mb
        self.timeout_s = timeout_s
        self._tmp = tempfile.TemporaryDirectory(prefix="sandbox-")
        self._n = 0
        self._proc = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**ENV, "PYTHONPATH": str(root)},
            cwd=self._tmp.name,
        )
        assert self._proc.stdout is not None
        ready = self._proc.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError(f"sandbox server did not start: {ready!r}")

    def run(
        self,
        argv: list[str] | None = None,
        *,
        code: str | None = None,
        cwd: str | Path | None = None,
        mem_mb: int | None = None,
        timeout_s: int | None = None,
    ) -> Outcome:
        """Run ``main(argv)`` (or ``exec(code)``) in a fresh child; its :class:`Outcome`."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._n += 1
        out = Path(self._tmp.name) / f"{self._n}.out"
        err = Path(self._tmp.name) / f"{self._n}.err"
        job = {
            "argv": [str(a) for a in (argv or [])],
            "code": code,
            "cwd": str(cwd) if cwd is not None else None,
            "out": str(out),
            "err": str(err),
            "mem_mb": self.mem_mb if mem_mb is None else mem_mb,
            "timeout_s": self.timeout_s if timeout_s is None else timeout_s,
        }
        self._proc.stdin.write(json.dumps(job) + "\n")
        self._proc.stdin.flush()
        reply = json.loads(self._proc.stdout.readline())
        result = Outcome(
            reply["exit"],
            out.read_text(errors="replace"),
            err.read_text(errors="replace"),
            reply["maxrss_kb"],
            reply["wall_s"],
        )
        out.unlink()
        err.unlink()
        return result

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=60)
        self._tmp.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
