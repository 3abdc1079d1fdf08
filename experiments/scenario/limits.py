"""The limits a scenario is checked against: what a file may be (size, nesting) and what one
scenario may ask for (peers, blocks, expected events and memory per run, sweep points, runs).

The file limits always hold; :class:`Limits` is lifted by ``bitswap-sim ... --allow-large``
(Python: ``limits=None``). Every value is documented in ``docs/scenarios.md``, "Limits".
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ALLOW_LARGE", "DEFAULT_LIMITS", "MAX_DEPTH", "MAX_FILE_BYTES", "Limits"]

MAX_FILE_BYTES = 16 * 2**20
"""Largest scenario file read (16 MiB; the largest shipped one is a few kB)."""
MAX_DEPTH = 32
"""Deepest nesting of tables and arrays (a scenario needs 6)."""
ALLOW_LARGE = "bitswap-sim --allow-large lifts the limits"
"""How a refusal says the limits can be lifted."""


@dataclass(frozen=True)
class Limits:
    """What one scenario may ask for without ``--allow-large``."""

    peers: int = 10_000
    """Peers in one run."""
    blocks: int = 1_000_000
    """Blocks of one object (a 244 GiB file in 256 KiB chunks)."""
    events: float = 1e8
    """Expected simulation events of one run (hours of wall time)."""
    memory_bytes: float = 4 * 2**30
    """Expected peak memory of one run (4 GiB)."""
    points: int = 10_000
    """Points of a sweep grid."""
    entries: int = 10_000
    """Entries of an array of tables (``[[groups]]``, ``[[objects]]``, ``[[faults]]``), of a
    group's ``seed_objects``, or custom hosts (``[hosts.<name>]``)."""
    runs: int = 100_000
    """Sweep points x replications."""


DEFAULT_LIMITS = Limits()
