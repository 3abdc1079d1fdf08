"""Bitswap's own host work (models.hostwork) on tiny swarms, worked by hand.

One block fetched by a master leech from one seed over a 10 ms link with no bandwidth limit:
every cost along the way (the want's send and receive, the response's stream, encryption,
decryption, the SHA-256 of the block, the badger write) adds up to the time to fetch.
"""

from __future__ import annotations

import math

import pytest

from models.dag import CidAllocator, chunked_file
from models.hostwork import HostWork
from models.swarm import Swarm
from sim import Network
from sim.host import DiskSpec, HostSpec

LAT = 0.010
CIPHER = 100e6  # 100 MB/s: a byte costs 10 ns to encrypt or decrypt
HASH = 200e6
DISK = DiskSpec(write_Bps=100e6, write_latency_s=0.002)
BLOCK = 100_000  # one block: a file smaller than a chunk (its data: 14 B of unixfs more)


def _fetch_one_block(*, leech_work: HostWork, seed_host=None, leech_host=None):
    net = Network("fifo", trace=True)
    net.add_node("seed", host=seed_host or HostSpec(cipher="secio", cipher_Bps=CIPHER))
    net.add_node("leech", host=leech_host or HostSpec(cipher="secio", cipher_Bps=CIPHER, disk=DISK))
    net.connect("seed", "leech", latency_s=LAT)
    sw = Swarm(net, strategy="master", per_peer={"leech": {"work": leech_work}})
    obj = chunked_file(BLOCK, cid_alloc=CidAllocator())
    sw.seed("seed", obj)
    sw.fetch("leech", obj, "dag-walk")
    assert sw.run(10.0)
    return net, sw, obj


def test_one_block_through_every_cost_of_the_2020_kind():
    """want: encrypt (leech) → 10 ms → decrypt (seed); block: open a stream + encrypt (seed)
    → 10 ms → decrypt + decode + SHA-256 (leech) → badger's synced write → the session."""
    work = HostWork(hash_Bps=HASH, receive_message_s=5e-6, datastore="badger")
    net, sw, obj = _fetch_one_block(leech_work=work)
    data = obj.size_of[obj.root]
    trace = net.trace_frame().set_index("kind")
    want_size = int(trace.loc["want-block", "size_bytes"])
    block_size = int(trace.loc["block", "size_bytes"])
    want_at_seed = want_size / CIPHER + LAT + want_size / CIPHER
    block_ready = want_at_seed + block_size / CIPHER  # the seed has no work of its own
    block_at_leech = block_ready + LAT
    processed = block_at_leech + block_size / CIPHER + 5e-6 + data / HASH
    stored = processed + data / 100e6 + 0.002
    leech = sw.peer_frame().set_index("peer").loc["leech"]
    assert leech["time_to_fetch_s"] == pytest.approx(stored, abs=1e-9)
    assert trace.loc["block", "t_sent"] == pytest.approx(block_ready)


def test_the_same_fetch_with_flatfs_syncs_three_times():
    work = HostWork(hash_Bps=HASH, datastore="flatfs")
    net, sw, obj = _fetch_one_block(leech_work=work)
    data = obj.size_of[obj.root]
    trace = net.trace_frame().set_index("kind")
    want_size = int(trace.loc["want-block", "size_bytes"])
    block_size = int(trace.loc["block", "size_bytes"])
    processed = 2 * want_size / CIPHER + 2 * LAT + 2 * block_size / CIPHER + data / HASH
    # file written and synced, its shard directory synced, the root directory synced
    stored = processed + data / 100e6 + 3 * 0.002
    leech = sw.peer_frame().set_index("peer").loc["leech"]
    assert leech["time_to_fetch_s"] == pytest.approx(stored, abs=1e-9)


def test_a_memory_datastore_costs_no_disk_and_free_work_costs_nothing():
    net, sw, _ = _fetch_one_block(leech_work=HostWork(datastore="memory"))
    trace = net.trace_frame().set_index("kind")
    want_size = int(trace.loc["want-block", "size_bytes"])
    block_size = int(trace.loc["block", "size_bytes"])
    leech = sw.peer_frame().set_index("peer").loc["leech"]
    assert leech["time_to_fetch_s"] == pytest.approx(
        2 * want_size / CIPHER + 2 * LAT + 2 * block_size / CIPHER, abs=1e-9
    )


def test_a_peer_without_a_host_ignores_its_work():
    net = Network("fifo")
    net.add_node("a")
    sw = Swarm(net, strategy="poc", work=HostWork(hash_Bps=1.0, receive_message_s=1.0))
    assert sw.peer("a").host is None
    assert sw.peer("a").work.is_free
    with pytest.raises(ValueError, match=r"work must be a models\.hostwork\.HostWork"):
        Swarm(net, strategy="poc", work="p2plab-2020")


def test_duplicates_cost_the_cpu_but_not_the_disk():
    """Two seeds both answer the leech's broadcast want (master): the second copy of the block
    is decrypted and hashed but never written."""
    net = Network("fifo")
    seed_host = HostSpec()
    net.add_node("s1")
    net.add_node("s2")
    leech_host = HostSpec(disk=DiskSpec(write_Bps=100e6, write_latency_s=0.002))
    net.add_node("leech", host=leech_host)
    net.connect("s1", "leech", latency_s=LAT)
    net.connect("s2", "leech", latency_s=LAT)
    work = HostWork(hash_Bps=HASH, datastore="badger")
    sw = Swarm(net, strategy="master", per_peer={"leech": {"work": work}})
    obj = chunked_file(BLOCK, cid_alloc=CidAllocator())
    sw.seed("s1", obj)
    sw.seed("s2", obj)
    sw.fetch("leech", obj, "dag-walk")
    assert sw.run(10.0)
    row = sw.peer_frame().set_index("peer").loc["leech"]
    assert row["blocks_received"] == 2 and row["dup_blocks_received"] == 1
    host = net.host_of("leech")
    data = obj.size_of[obj.root]
    # one write: 1 ms of transfer on the device
    assert host.disk_busy_s == pytest.approx(data / 100e6)
    # both copies were hashed: 2 x 0.5 ms of CPU
    assert host.cpu_busy_s == pytest.approx(2 * data / HASH)
    del seed_host
    assert not math.isnan(row["time_to_fetch_s"])
