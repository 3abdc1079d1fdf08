"""The built-in demo behind ``make demo``.

Until the headline reproduction (32 leeches, a 300 MiB image, master vs poc) exists, the demo
runs the largest end-to-end thing the project can do today: go-bitswap "master" with 1 seed and
4 leeches fetching a 20 MiB unixfs file (81 blocks) over the fifo transport, every peer on
1 Gbit/s links in one region with 10 ms one-way latency, and prints the per-peer table.
"""

from __future__ import annotations

import time

import pandas as pd

from models.dag import CidAllocator, chunked_file
from models.swarm import Swarm
from sim import FixedLatency, build_network, full_mesh, gbit

FILE_BYTES = 20 * 2**20
LEECHES = ("leech1", "leech2", "leech3", "leech4")
COLUMNS = [
    "peer",
    "role",
    "time_to_fetch_s",
    "blocks_received",
    "dup_blocks_received",
    "blocks_sent",
    "msgs_sent_want-block",
    "msgs_sent_cancel",
    "msgs_sent_block",
    "msgs_received",
]


def run_demo(seed: int = 1) -> pd.DataFrame:
    """Run the master demo, print the per-peer table and return it."""
    graph = full_mesh(["seed", *LEECHES], upload_Bps=gbit(1), download_Bps=gbit(1))
    net = build_network(graph, transport="fifo", latency=FixedLatency(0.010), seed=seed)
    swarm = Swarm(net, strategy="master")
    obj = chunked_file(FILE_BYTES, cid_alloc=CidAllocator())
    swarm.seed("seed", obj)
    for leech in LEECHES:
        swarm.fetch(leech, obj, "dag-walk")
    wall = time.perf_counter()
    swarm.run(max_sim_time_s=600)
    wall = time.perf_counter() - wall
    table = swarm.peer_frame()[COLUMNS]
    print("bitswap-sim demo: go-bitswap master (v0.1.8-v0.1.11), 1 seed + 4 leeches,")
    print(f"a {FILE_BYTES // 2**20} MiB unixfs file ({len(obj)} blocks), fifo transport, 1 Gbit/s,")
    print("10 ms one-way latency, full mesh. (The headline reproduction is not built yet.)\n")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        f"\nmakespan {swarm.makespan_s:.3f} s simulated, {wall:.2f} s wall, "
        f"{net.messages_delivered} messages delivered"
    )
    return table
