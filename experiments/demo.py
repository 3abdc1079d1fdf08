"""``bitswap-sim demo``: a small run printed side by side (``make demo`` runs the headline).

1 seed and 4 leeches fetch a 20 MiB unixfs file (81 blocks) over the fifo transport, every
peer on 1 Gbit/s links with 10 ms one-way latency, once with go-bitswap "master" and once with
"poc"; it takes a second and shows every peer's counters.
"""

from __future__ import annotations

import time

import pandas as pd

from models.dag import CidAllocator, chunked_file
from models.peer import STRATEGIES
from models.swarm import Swarm
from sim import FixedLatency, build_network, full_mesh, gbit

__all__ = ["run_demo", "run_strategy"]

FILE_BYTES = 20 * 2**20
LEECHES = ("leech1", "leech2", "leech3", "leech4")
PEER_COLUMNS = [
    "peer",
    "role",
    "time_to_fetch_s",
    "blocks_received",
    "dup_blocks_received",
    "blocks_sent",
    "msgs_sent_want_block",
    "msgs_sent_want_have",
    "msgs_sent_cancel",
    "msgs_sent_have",
    "msgs_sent_dont_have",
    "msgs_sent_block",
]


def run_strategy(strategy: str, seed: int = 1) -> tuple[pd.DataFrame, dict[str, float | None]]:
    """One run of the demo scenario: the per-peer table and a one-line summary (``makespan_s``
    is None if a leech did not finish)."""
    graph = full_mesh(["seed", *LEECHES], upload_Bps=gbit(1), download_Bps=gbit(1))
    net = build_network(graph, transport="fifo", latency=FixedLatency(0.010), seed=seed)
    swarm = Swarm(net, strategy=strategy)
    obj = chunked_file(FILE_BYTES, cid_alloc=CidAllocator())
    swarm.seed("seed", obj)
    for leech in LEECHES:
        swarm.fetch(leech, obj, "dag-walk")
    wall = time.perf_counter()
    swarm.run(max_sim_time_s=600)
    wall = time.perf_counter() - wall
    peers = swarm.peer_frame()
    leeches = peers[peers.role == "leech"]
    summary = {
        "makespan_s": swarm.makespan_s,
        "mean_time_to_fetch_s": leeches.time_to_fetch_s.mean(),
        "dup_block_rate": leeches.dup_blocks_received.sum() / leeches.blocks_received.sum(),
        "messages": float(net.messages_delivered),
        "wall_s": wall,
    }
    return peers, summary


def run_demo(strategies: list[str] | None = None, seed: int = 1) -> pd.DataFrame:
    """Run the demo for ``strategies`` (default: master and poc); print and return the summary."""
    strategies = strategies or ["master", "poc"]
    for s in strategies:
        if s not in STRATEGIES:
            raise ValueError(f"unknown strategy {s!r}; allowed: {', '.join(STRATEGIES)}")
    print(f"bitswap-sim demo: 1 seed + 4 leeches, a {FILE_BYTES // 2**20} MiB unixfs file,")
    print("fifo transport, 1 Gbit/s links, 10 ms one-way latency, full mesh.")
    print("(The headline, 32 leeches and a 300 MiB image: bitswap-sim reproduce.)")
    rows = {}
    for strategy in strategies:
        peers, summary = run_strategy(strategy, seed)
        rows[strategy] = summary
        print(f"\n== {strategy}")
        print(peers[PEER_COLUMNS].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    table = pd.DataFrame(rows)
    print("\n== side by side")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    return table
