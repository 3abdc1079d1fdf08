"""Seeded randomness for one run: one ``SeedSequence`` per run, one named stream per purpose.

Streams are derived from the run's root seed, its replicate number and a stable hash of the
stream's name, so asking for streams in a different order (or not at all) never changes the
numbers another stream produces. Two strategies run with the same seed and replicate therefore
see the same topology and workload draws (common random numbers), which sharpens comparisons.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["RunRandom", "as_generator"]


class RunRandom:
    """The random streams of one run.

    Args:
        seed: root seed (a non-negative int). ``None`` is refused: every run must be replayable.
        replicate: replicate index, mixed into every stream's spawn key.

    ``stream(name)`` returns the same :class:`numpy.random.Generator` object for the same name.
    """

    __slots__ = ("_streams", "replicate", "seed")

    def __init__(self, seed: int, replicate: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if isinstance(replicate, bool) or not isinstance(replicate, int | np.integer):
            raise ValueError(f"replicate must be a non-negative integer, got {replicate!r}")
        if replicate < 0:
            raise ValueError(f"replicate must be a non-negative integer, got {replicate!r}")
        self.seed = int(seed)
        self.replicate = int(replicate)
        self._streams: dict[str, np.random.Generator] = {}

    def spawn_key(self, name: str) -> tuple[int, int]:
        """The spawn key of stream ``name``: (replicate, crc32 of the name)."""
        return (self.replicate, zlib.crc32(name.encode("utf-8")))

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The ``SeedSequence`` behind stream ``name``."""
        return np.random.SeedSequence(self.seed, spawn_key=self.spawn_key(name))

    def stream(self, name: str) -> np.random.Generator:
        """The generator for one purpose (e.g. ``"topology"``, ``"latency"``, ``"peer-choice"``)."""
        gen = self._streams.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
            self._streams[name] = gen
        return gen

    def __repr__(self) -> str:
        return f"RunRandom(seed={self.seed}, replicate={self.replicate})"


def as_generator(
    seed: int | np.random.Generator | RunRandom | None, name: str
) -> np.random.Generator:
    """networkx-style ``seed=`` argument to a generator.

    An int gives stream ``name`` of ``RunRandom(seed)``, a ``RunRandom`` its stream ``name``,
    a ``Generator`` itself. ``None`` is refused: an unseeded generator inside a seeded run is
    the classic source of irreproducible results.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, RunRandom):
        return seed.stream(name)
    if seed is None:
        raise ValueError(f"seed is required for {name!r}: pass an int, a RunRandom or a Generator")
    return RunRandom(seed).stream(name)
