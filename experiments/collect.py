"""Tidy per-run tables beyond one row per peer: who sent blocks to whom, and fetch progress.

Both are built from a finished :class:`~experiments.build.Built` run, column by column (a run
can have tens of thousands of progress rows), and come back as DataFrames with fixed dtypes, so
an empty table has the same columns and types as a full one and survives a Parquet round trip
unchanged.

``transfers``: one row per (src, dst) pair of peers that exchanged blocks (see
:data:`TRANSFER_COLUMNS`). ``progress``: one row per leech per block that became local during
its fetch (see :data:`PROGRESS_COLUMNS`).

The registry baseline has no blocks: its rows count **blobs** (the config blob and each layer).
``transfers`` has one row per client, ``src`` = the registry node; ``progress`` one row per
blob received, ``blocks`` = blobs so far and ``bytes`` = blob bytes so far (the DAG's bytes, as
Bitswap moves them, so ``bytes`` curves of the registry and of Bitswap compare directly).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from experiments.build import Built

__all__ = [
    "PROGRESS_COLUMNS",
    "TRANSFER_COLUMNS",
    "empty_progress",
    "empty_transfers",
    "progress_frame",
    "records",
    "transfer_frame",
]

TRANSFER_COLUMNS: dict[str, str] = {
    "run_id": "str",
    "scenario": "str",
    "strategy": "str",
    "replicate": "int64",
    "src": "str",
    "dst": "str",
    "src_group": "str",
    "dst_group": "str",
    "blocks": "int64",
    "bytes": "int64",
    "dup_blocks": "int64",
    "blocks_sent": "int64",
}
"""Columns of ``transfers`` and their dtypes. ``strategy`` is the run's (``mixed`` for a run
with several). ``blocks``, ``bytes`` (block data bytes) and ``dup_blocks`` are what ``dst``
received from ``src``, duplicates included (counted by the receiver, as ``peers``'
``blocks_received`` is); ``blocks_sent`` is what ``src`` sent to ``dst`` (counted by the
sender, as ``peers``' ``blocks_sent`` is): more than ``blocks`` when blocks were still on the
wire when the run stopped. The registry keeps no per-client count of blobs sent: its
``blocks_sent`` is the blobs delivered (the same unless the run hit its time limit)."""

PROGRESS_COLUMNS: dict[str, str] = {
    "run_id": "str",
    "scenario": "str",
    "strategy": "str",
    "replicate": "int64",
    "group": "str",
    "peer": "str",
    "t_s": "float64",
    "blocks": "int64",
    "bytes": "int64",
}
"""Columns of ``progress`` and their dtypes. ``strategy`` is the leech's (as in ``peers``);
``t_s`` the seconds since that leech's fetch started; ``blocks`` and ``bytes`` (block data)
how many of the blocks it was missing at its start are local by then, cumulative. Blocks it
already held are not counted, so a completed leech's last ``blocks`` is the number it had to
fetch."""


_STR = pd.Series(["x"]).dtype
"""pandas' default dtype for strings (``str`` from pandas 3, ``object`` before), which is also
what a Parquet round trip gives back."""


def _typed(columns: Mapping[str, str], data: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(data[c], dtype=_STR if t == "str" else t) for c, t in columns.items()}
    )


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as dicts keyed by column name (pandas types the keys as any hashable;
    the columns of our tables are strings)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def empty_transfers() -> pd.DataFrame:
    """A ``transfers`` table without rows."""
    return _typed(TRANSFER_COLUMNS, {c: [] for c in TRANSFER_COLUMNS})


def empty_progress() -> pd.DataFrame:
    """A ``progress`` table without rows."""
    return _typed(PROGRESS_COLUMNS, {c: [] for c in PROGRESS_COLUMNS})


def transfer_frame(built: Built, ident: Mapping[str, Any], strategy: str) -> pd.DataFrame:
    """``transfers`` of one finished run; ``ident`` gives run_id, scenario and replicate."""
    pairs: dict[tuple[Hashable, Hashable], list[int]] = {}  # [blocks, bytes, dup, sent]
    if built.swarm is not None:
        for dst, peer in built.swarm.peers.items():
            s = peer.stats
            for src, n in s.blocks_from.items():
                pairs[(src, dst)] = [n, s.bytes_from.get(src, 0), s.dup_blocks_from.get(src, 0), 0]
        for src, peer in built.swarm.peers.items():
            for dst, n in peer.stats.blocks_to.items():
                pairs.setdefault((src, dst), [0, 0, 0, 0])[3] = n
    elif built.registry is not None:
        server = built.registry.server
        frame = built.registry.client_frame()
        got = frame[(frame["role"] == "leech") & (frame["blocks_received"] > 0)]
        for client, n, size in zip(
            got["peer"],
            got["blocks_received"].tolist(),
            got["bytes_received"].tolist(),
            strict=True,
        ):
            pairs[(server, client)] = [n, size, 0, n]
    keys = sorted(pairs, key=lambda p: (str(p[0]), str(p[1])))
    counts = np.array([pairs[k] for k in keys], dtype=np.int64).reshape(len(keys), 4)
    groups: dict[Any, str] = dict(built.groups)
    n = len(keys)
    return _typed(
        TRANSFER_COLUMNS,
        {
            "run_id": [ident["run_id"]] * n,
            "scenario": [ident["scenario"]] * n,
            "strategy": [strategy] * n,
            "replicate": [ident["replicate"]] * n,
            "src": [k[0] for k in keys],
            "dst": [k[1] for k in keys],
            "src_group": [groups.get(k[0]) for k in keys],
            "dst_group": [groups.get(k[1]) for k in keys],
            "blocks": counts[:, 0],
            "bytes": counts[:, 1],
            "dup_blocks": counts[:, 2],
            "blocks_sent": counts[:, 3],
        },
    )


def progress_frame(built: Built, ident: Mapping[str, Any]) -> pd.DataFrame:
    """``progress`` of one finished run; ``ident`` gives run_id, scenario and replicate."""
    peers: list[Hashable] = []
    strategies: list[str] = []
    lengths: list[int] = []
    times: list[np.ndarray] = []
    sizes: list[np.ndarray] = []
    if built.swarm is not None:
        for name, peer in built.swarm.peers.items():
            for fetch in peer.fetches:
                if fetch.started_at is None:
                    continue
                size_of = fetch.dag.size_of
                peers.append(name)
                strategies.append(peer.strategy.name)
                lengths.append(len(fetch.progress_s))
                times.append(np.asarray(fetch.progress_s, dtype=float) - fetch.started_at)
                sizes.append(np.array([size_of[c] for c in fetch.progress_cids], dtype=np.int64))
    elif built.registry is not None:
        registry = built.registry
        for row in registry.client_frame().itertuples():
            if row.role != "leech":
                continue
            arrivals = registry.arrivals(row.peer)
            peers.append(row.peer)
            strategies.append(str(row.strategy))
            lengths.append(len(arrivals))
            times.append(np.array([t for t, _ in arrivals], dtype=float))
            sizes.append(np.array([b for _, b in arrivals], dtype=np.int64))
    total = sum(lengths)
    empty_f, empty_i = np.empty(0, dtype=float), np.empty(0, dtype=np.int64)
    groups: dict[Any, str | None] = dict(built.groups)
    return _typed(
        PROGRESS_COLUMNS,
        {
            "run_id": [ident["run_id"]] * total,
            "scenario": [ident["scenario"]] * total,
            "strategy": np.repeat(np.array(strategies, dtype=object), lengths),
            "replicate": [ident["replicate"]] * total,
            "group": np.repeat(np.array([groups.get(p) for p in peers], dtype=object), lengths),
            "peer": np.repeat(np.array(peers, dtype=object), lengths),
            "t_s": np.concatenate(times) if times else empty_f,
            "blocks": np.concatenate([np.arange(1, k + 1) for k in lengths]) if times else empty_i,
            "bytes": np.concatenate([np.cumsum(s) for s in sizes]) if sizes else empty_i,
        },
    )
