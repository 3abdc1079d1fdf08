"""Content DAGs: unixfs balanced files, p2plab OCI images, go benchmark block sets."""

import math

import pytest

from models.dag import (
    DEFAULT_LINKS_PER_BLOCK,
    HEADLINE_LAYER_SIZES,
    CidAllocator,
    Dag,
    benchmark_blocks,
    chunked_file,
    dagpb_link_bytes,
    headline_image,
    oci_image,
    tiny_blocks,
    unixfs_leaf_size,
)

KiB, MiB = 1 << 10, 1 << 20
LEAF = 262_158  # a full 256 KiB non-raw leaf


def _check_consistent(dag: Dag) -> None:
    """Every listed block has a size and children entry; pre-order from the root covers all."""
    assert set(dag.size_of) == set(dag.children) == set(dag.cids_in_order)
    assert len(set(dag.cids_in_order)) == len(dag)
    assert dag.cids_in_order[0] == dag.root
    assert dag.total_bytes == sum(dag.size_of.values())
    if not dag.flat:
        order, stack = [], [dag.root]
        while stack:
            c = stack.pop()
            order.append(c)
            stack.extend(reversed(dag.children[c]))
        assert tuple(order) == dag.cids_in_order


def test_links_per_block_is_174():
    assert DEFAULT_LINKS_PER_BLOCK == 174


@pytest.mark.parametrize(
    ("data", "block"),
    [(262_144, LEAF), (1677, 1688), (119_762, 119_776), (1, 9), (0, 6)],
)
def test_leaf_sizes(data, block):
    # 262158 = 1<<18 + 14 (bitswap.go@v0.2.0); 1688 and 119776 are `ipfs object stat` outputs
    assert unixfs_leaf_size(data) == block
    assert unixfs_leaf_size(data, raw_leaves=True) == data


def test_link_cost():
    assert dagpb_link_bytes(LEAF) == 46  # CIDv1, name ""
    assert dagpb_link_bytes(LEAF, hash_bytes=34) == 44  # CIDv0
    assert dagpb_link_bytes(45_624_202) == 47
    assert dagpb_link_bytes(10**8, name_bytes=71) == 118  # p2plab image root link


def test_single_chunk_file_is_one_leaf():
    dag = chunked_file(1000, cid_alloc=CidAllocator())
    assert len(dag) == 1
    assert dag.children[dag.root] == ()
    assert dag.size_of[dag.root] == unixfs_leaf_size(1000)
    assert dag.leaves() == (dag.root,)
    empty = chunked_file(0, cid_alloc=CidAllocator())
    assert len(empty) == 1
    assert empty.total_bytes == 6


def test_one_mib_file():
    dag = chunked_file(MiB, cid_alloc=CidAllocator())
    _check_consistent(dag)
    assert len(dag) == 5
    assert len(dag.children[dag.root]) == 4
    assert dag.levels() == [(dag.root,), dag.children[dag.root]]
    assert all(dag.size_of[c] == LEAF for c in dag.leaves())
    # root: 4 links of 46 B + Data field (1 + 1 + unixfs 22 B)
    assert dag.size_of[dag.root] == 4 * 46 + 24
    assert dag.total_bytes == 4 * LEAF + 208


def test_last_leaf_smaller():
    dag = chunked_file(MiB + 100, cid_alloc=CidAllocator())
    sizes = [dag.size_of[c] for c in dag.leaves()]
    assert sizes == [LEAF] * 4 + [unixfs_leaf_size(100)]


def test_full_parent_size():
    dag = chunked_file(174 * 256 * KiB, cid_alloc=CidAllocator())
    assert len(dag) == 175
    # 174 links of 46 B + Data: 1 + 2 + (2 + 5 + 174 * 4)
    assert dag.size_of[dag.root] == 174 * 46 + 706 == 8710


def test_175_chunks_gives_two_levels_of_parents():
    dag = chunked_file(175 * 256 * KiB, cid_alloc=CidAllocator())
    _check_consistent(dag)
    levels = dag.levels()
    assert [len(level) for level in levels] == [1, 2, 175]
    p1, p2 = dag.children[dag.root]
    assert len(dag.children[p1]) == 174
    assert len(dag.children[p2]) == 1


def test_300_mib_file():
    dag = chunked_file(300 * MiB, cid_alloc=CidAllocator())
    _check_consistent(dag)
    assert len(dag.leaves()) == 1200
    parents = dag.children[dag.root]
    assert len(parents) == math.ceil(1200 / 174) == 7
    assert [len(dag.children[p]) for p in parents] == [174] * 6 + [156]
    assert len(dag) == 1200 + 7 + 1
    assert [len(level) for level in dag.levels()] == [1, 7, 1200]


def test_three_levels_of_parents():
    n = 174 * 174 + 1
    dag = chunked_file(n * 1024, chunk_size=1024, cid_alloc=CidAllocator())
    assert [len(level) for level in dag.levels()] == [1, 2, 175, n]


def test_cids_distinct_across_objects_from_one_allocator():
    alloc = CidAllocator()
    a = chunked_file(MiB, cid_alloc=alloc)
    b = chunked_file(MiB, cid_alloc=alloc)
    c = benchmark_blocks(10, cid_alloc=alloc)
    assert not set(a.size_of) & set(b.size_of)
    assert not (set(a.size_of) | set(b.size_of)) & set(c.size_of)
    assert alloc.next_cid == 5 + 5 + 10


def test_cids_ascend_in_preorder():
    dag = chunked_file(2 * MiB, cid_alloc=CidAllocator(start=100))
    assert dag.cids_in_order == tuple(range(100, 100 + len(dag)))


def test_raw_leaves():
    dag = chunked_file(MiB, cid_alloc=CidAllocator(), raw_leaves=True)
    assert all(dag.size_of[c] == 256 * KiB for c in dag.leaves())
    # links to raw leaves: Tsize = 262144 (3 B varint), CIDv1 raw
    assert dag.size_of[dag.root] == 4 * 46 + 24


def test_cid_version_0_links():
    dag = chunked_file(MiB, cid_alloc=CidAllocator(), cid_version=0)
    assert dag.size_of[dag.root] == 4 * 44 + 24
    assert dag.cid_version == 0


@pytest.mark.parametrize(
    "kwargs",
    [{"size_bytes": -1}, {"size_bytes": 10, "chunk_size": 0}, {"size_bytes": 10, "max_links": 1}],
)
def test_bad_file_arguments(kwargs):
    with pytest.raises(ValueError):
        chunked_file(cid_alloc=CidAllocator(), **kwargs)


def test_oci_image_structure():
    alloc = CidAllocator()
    dag = oci_image([MiB, 300 * KiB], config_size=1500, cid_alloc=alloc)
    _check_consistent(dag)
    config, l1, l2 = dag.children[dag.root]
    assert dag.children[config] == ()
    assert dag.size_of[config] == unixfs_leaf_size(1500)
    assert len(dag.children[l1]) == 4
    assert len(dag.children[l2]) == 2
    # root: Data 4 B + links named by 71-byte digests
    cum = {c: _cum(dag, c) for c in (config, l1, l2)}
    expected = 4 + sum(dagpb_link_bytes(cum[c], 36, 71) for c in (config, l1, l2))
    assert dag.size_of[dag.root] == expected
    assert dag.cid_version == 1


def _cum(dag: Dag, c: int) -> int:
    return dag.size_of[c] + sum(_cum(dag, k) for k in dag.children[c])


def test_headline_image():
    dag = headline_image(cid_alloc=CidAllocator())
    _check_consistent(dag)
    assert sum(HEADLINE_LAYER_SIZES) == 300 * MiB
    subroots = dag.children[dag.root]
    assert len(subroots) == 1 + len(HEADLINE_LAYER_SIZES)
    assert len(dag.leaves()) == 1 + 1200  # config leaf + 300 MiB of 256 KiB chunks
    # per layer: ceil(leaves / 174) parents, plus a layer root above them if more than one
    parents = [math.ceil(s / (256 * KiB) / 174) for s in HEADLINE_LAYER_SIZES]
    internal = sum(p + (p > 1) for p in parents)
    assert len(dag) == 1 + 1 + 1200 + internal
    assert 300 * MiB < dag.total_bytes < 300 * MiB * 1.001


def test_benchmark_blocks():
    dag = benchmark_blocks(100, cid_alloc=CidAllocator())
    _check_consistent(dag)
    assert dag.flat
    assert dag.cid_version == 0
    assert len(dag) == 100
    sizes = [dag.size_of[c] for c in dag.blocks]
    assert sizes == [800] + [8000] * 99
    assert dag.children[dag.root] == ()
    assert dag.levels() == [dag.blocks]
    big = benchmark_blocks(1000, block_size=256 * KiB, cid_alloc=CidAllocator())
    assert big.total_bytes == 800 + 999 * 256 * KiB


def test_tiny_blocks():
    dag = tiny_blocks(100, cid_alloc=CidAllocator())
    assert dag.flat
    assert [dag.size_of[c] for c in dag.blocks] == [1] * 100
    sizes = [
        tiny_blocks(3000, cid_alloc=CidAllocator()).size_of[c] for c in (0, 126, 127, 2046, 2047)
    ]
    assert sizes == [1, 1, 2, 2, 3]  # seq = cid + 1: UTF-8 lengths of code points 1..3000
    with pytest.raises(ValueError):
        tiny_blocks(0, cid_alloc=CidAllocator())
