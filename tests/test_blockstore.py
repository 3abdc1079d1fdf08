"""Blockstore: membership, sizes, counters, latency parameter."""

import pytest

from models.blockstore import Blockstore
from models.dag import CidAllocator, benchmark_blocks


def test_put_has_and_counters():
    bs = Blockstore()
    assert not bs.has(1)
    assert bs.put(1, 800)
    assert not bs.put(1, 800)  # already present: no change
    assert bs.put(2, 8000)
    assert bs.has(1)
    assert 2 in bs
    assert bs.size_of(2) == 8000
    assert bs.size_of(3) is None
    assert bs.blocks_stored == len(bs) == 2
    assert bs.bytes_stored == 8800
    assert list(bs) == [1, 2]


def test_put_many_from_a_dag():
    dag = benchmark_blocks(100, cid_alloc=CidAllocator())
    bs = Blockstore(get_latency_s=0.025)
    assert bs.put_many((c, dag.size_of[c]) for c in dag.blocks) == 100
    assert bs.put_many((c, dag.size_of[c]) for c in dag.blocks[:10]) == 0
    assert bs.bytes_stored == dag.total_bytes == 800 + 99 * 8000
    assert bs.get_latency_s == 0.025


def test_default_latency_and_validation():
    assert Blockstore().get_latency_s == 0.0
    with pytest.raises(ValueError):
        Blockstore(get_latency_s=-0.001)
    with pytest.raises(ValueError):
        Blockstore(get_latency_s=float("nan"))
