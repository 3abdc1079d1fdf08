"""The built-in demo behind ``make demo``.

Until the Bitswap models and the headline reproduction exist, the demo exercises the smallest
end-to-end thing the project can do: the network substrate moving a 20 MiB file, as 80 blocks of
256 KiB, from one peer to four others across three AWS regions, and the per-peer table it
records.
"""

from __future__ import annotations

import pandas as pd

from sim import RegionMatrixLatency, build_network, full_mesh, gbit, mbit

BLOCK = 262_144


def run_demo() -> pd.DataFrame:
    """Run the substrate demo and print what it measured; returns the per-peer table."""
    regions = {"seed": "us-east-1", "l1": "us-east-1", "l2": "us-west-2", "l3": "us-west-2",
               "l4": "eu-west-1"}  # fmt: skip
    graph = full_mesh(
        {name: {"region": r} for name, r in regions.items()},
        upload_Bps=gbit(1),
        download_Bps=mbit(500),
    )
    net = build_network(graph, latency=RegionMatrixLatency(), seed=1)
    done: dict[str, float] = {}
    counts = dict.fromkeys(regions, 0)

    def receiver(me: str):
        def on_message(src: str, msg: int) -> None:
            counts[me] += 1
            if counts[me] == 80:
                done[me] = net.now

        return on_message

    for name in regions:
        net.on_receive(name, receiver(name))
    for leech in ("l1", "l2", "l3", "l4"):
        net.send(leech, "seed", "want", 48, "want")
        net.call_at(0.0, lambda ev, to=leech: [net.send("seed", to, i, BLOCK, "block")
                                              for i in range(80)], None)  # fmt: skip
    net.run()
    metrics = net.node_metrics().groupby("node")[["msgs_sent", "msgs_received", "bytes_received"]]
    table = metrics.sum()
    table.insert(0, "region", pd.Series(regions))
    table["done_s"] = pd.Series(done).round(4)
    print("bitswap-sim demo: network substrate only (the Bitswap models are not built yet).")
    print("One seed in us-east-1 (1 Gbit/s up) pushes 80 x 256 KiB to four peers (500 Mbit/s")
    print("down) in us-east-1, us-west-2 and eu-west-1 over the fifo transport.\n")
    print(table.to_string())
    print(f"\nlast peer done at {max(done.values()):.3f} s simulated")
    return table
