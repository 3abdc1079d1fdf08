"""Content as IPFS stores it: unixfs files, p2plab OCI images, and the go benchmarks' block sets.

CIDs are small ints handed out by a :class:`CidAllocator` shared by every object of a run, so
distinct objects never share a CID. A :class:`Dag` records each block's size in bytes and its
children; a leech discovers CIDs level by level as parents arrive.

Files follow go-unixfs v0.2.4 as pinned by p2plab (``go.mod@300ac43``): balanced layout
(``importer/balanced/builder.go@v0.2.4``), fixed-size chunker ``size-262144``, at most
``helpers.DefaultLinksPerBlock`` = 8192 // 47 = 174 links per node
(``importer/helpers/helpers.go@v0.2.4``), non-raw leaves, CIDv1 (``peer/peer.go@300ac43``).

Block sizes come from the protobuf rules (tag 1 B, uvarint lengths, proto2 optional fields
encoded whenever set) **[inference]**:

* unixfs ``Data`` (``pb/unixfs.proto@v0.2.4``, proto2): ``Type`` (required) 2 B; ``Data`` 1 +
  uvarint(n) + n; ``filesize`` 1 + uvarint(filesize) (always set, ``NewFSNode``,
  ``unixfs.go@v0.2.4``); each ``blocksizes`` entry 1 + uvarint(child filesize).
* dag-pb ``PBNode`` (``pb/merkledag.proto@v0.3.1``): ``Data`` 1 + uvarint(u) + u; each link
  ``PBLink{Hash, Name, Tsize}`` is framed as 1 + uvarint(len) + len, with Hash 2 + cid bytes,
  Name always encoded (``GetPBNode`` sets a non-nil pointer, ``coding.go@v0.3.1``: 2 B for ""),
  Tsize 1 + uvarint(cumulative subtree bytes).
* A non-raw leaf of n > 0 data bytes: unixfs = 2 + (1 + uv(n) + n) + (1 + uv(n)); block =
  1 + uv(u) + u. For n = 262 144 that is n + 14 = 262 158 B, matching the comment on
  ``metricsBuckets`` in ``bitswap.go@v0.2.0`` ("1<<18 + 14").
* **Per-link cost** (CIDv1, name ""): 43 + uv(Tsize) B, i.e. 46 B to a 256 KiB leaf
  (Tsize 262 158) and 47 B to a full internal child; plus 1 + uv(child filesize) B in
  ``blocksizes`` (4 B for a 256 KiB leaf, 5 B for a 174-leaf child), so about 50 B per child.
  A full 174-leaf node is 8 710 B. (go's own estimate: ``roughLinkSize`` = 47.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from models.messages import CID_BYTES, uvarint_len

__all__ = [
    "BLOCK_SIZE_LIMIT",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_LINKS_PER_BLOCK",
    "HEADLINE_CONFIG_SIZE",
    "HEADLINE_LAYER_SIZES",
    "OCI_LINK_NAME_BYTES",
    "CidAllocator",
    "Dag",
    "benchmark_blocks",
    "chunked_file",
    "dagpb_link_bytes",
    "headline_image",
    "oci_image",
    "tiny_blocks",
    "unixfs_leaf_size",
]

DEFAULT_CHUNK_SIZE = 262_144
"""Chunker ``size-262144`` (p2plab ``peer/peer.go@300ac43``), bytes."""

DEFAULT_LINKS_PER_BLOCK = 8192 // 47
"""``helpers.DefaultLinksPerBlock`` = 174 (``importer/helpers/helpers.go@v0.2.4``)."""

BLOCK_SIZE_LIMIT = 1_048_576
"""``helpers.BlockSizeLimit``: the largest leaf chunk, bytes
(``importer/helpers/helpers.go@v0.2.4``)."""

OCI_LINK_NAME_BYTES = len("sha256:") + 64
"""p2plab names each root link by the blob's digest string, ``sha256:<64 hex>`` = 71 B
(``ConstructDAGFromManifest``, ``transformers/oci/oci.go@300ac43``)."""

_MiB = 1 << 20
HEADLINE_LAYER_SIZES: tuple[int, ...] = (30 * _MiB, 100 * _MiB, 120 * _MiB, 50 * _MiB)
"""**[guess]** A 300 MiB image: base OS 30 MiB, runtime 100 MiB, dependencies 120 MiB, app
50 MiB (the Netflix blog gives only the total)."""

HEADLINE_CONFIG_SIZE = 6_000
"""**[guess]** Image config JSON blob, bytes (typical configs are a few KB)."""


class CidAllocator:
    """Hands out CIDs as consecutive ints, starting at ``start``. One per run."""

    __slots__ = ("next_cid",)

    def __init__(self, start: int = 0) -> None:
        self.next_cid = start

    def allocate(self) -> int:
        """Return a fresh CID."""
        c = self.next_cid
        self.next_cid = c + 1
        return c


@dataclass(frozen=True, slots=True, eq=False)
class Dag:
    """A content DAG: ``size_of`` maps cid -> block size in bytes, ``children`` maps cid -> child
    cids in link order (``()`` for leaves), ``cids_in_order`` lists every block in DFS pre-order.

    ``flat`` marks a plain list of unlinked blocks (the go benchmarks' block sets): ``root`` is
    then just the first block and ``cids_in_order`` the list order. ``cid_version`` tells message
    sizing which binary CID length to use (0: 34 B, 1: 36 B). Compared and hashed by identity.
    """

    root: int
    size_of: dict[int, int]
    children: dict[int, tuple[int, ...]]
    cids_in_order: tuple[int, ...]
    cid_version: int = 1
    flat: bool = False
    total_bytes: int = field(init=False)
    """Sum of all block sizes, bytes."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_bytes", sum(self.size_of.values()))

    def __len__(self) -> int:
        return len(self.cids_in_order)

    def __contains__(self, cid: object) -> bool:
        return cid in self.size_of

    @property
    def blocks(self) -> tuple[int, ...]:
        """All block CIDs in order (root first)."""
        return self.cids_in_order

    def leaves(self) -> tuple[int, ...]:
        """CIDs without children, in DFS order (all blocks of a flat Dag)."""
        children = self.children
        return tuple(c for c in self.cids_in_order if not children[c])

    def levels(self) -> list[tuple[int, ...]]:
        """CIDs grouped by depth from the root (level 0 = root), in link order; a flat Dag is
        one level holding all its blocks."""
        if self.flat:
            return [self.cids_in_order]
        out: list[tuple[int, ...]] = []
        level: tuple[int, ...] = (self.root,)
        children = self.children
        while level:
            out.append(level)
            level = tuple(k for c in level for k in children[c])
        return out


# --------------------------------------------------------------------------------------------
# Block sizes


def unixfs_leaf_size(data_bytes: int, *, raw_leaves: bool = False) -> int:
    """Block size in bytes of a leaf holding ``data_bytes`` of file data.

    Raw leaves are the data itself. A non-raw leaf is a dag-pb node whose ``Data`` is a unixfs
    ``Data{Type=File, Data, filesize}`` (``NewLeafNode``,
    ``importer/helpers/dagbuilder.go@v0.2.4``); an empty file's leaf has no ``Data`` field
    (``Layout``, ``importer/balanced/builder.go@v0.2.4``).
    """
    if raw_leaves:
        return data_bytes
    if data_bytes == 0:
        u = 2 + 2  # Type + filesize=0
    else:
        vn = uvarint_len(data_bytes)
        u = 2 + (1 + vn + data_bytes) + (1 + vn)
    return 1 + uvarint_len(u) + u


def dagpb_link_bytes(tsize: int, hash_bytes: int = CID_BYTES[1], name_bytes: int = 0) -> int:
    """Bytes of one dag-pb link (``PBLink{Hash, Name, Tsize}`` + framing): 43 + uv(tsize) for a
    CIDv1 hash and an empty name **[inference]** (``pb/merkledag.proto@v0.3.1``,
    ``coding.go@v0.3.1``)."""
    inner = (2 + hash_bytes) + (1 + uvarint_len(name_bytes) + name_bytes) + 1 + uvarint_len(tsize)
    return 1 + uvarint_len(inner) + inner


class _Nodes:
    """Scratch tree with local ids: block size, children, filesize and cumulative size (bytes)."""

    __slots__ = ("block", "cum", "fsize", "kids")

    def __init__(self) -> None:
        self.block: list[int] = []
        self.kids: list[tuple[int, ...]] = []
        self.fsize: list[int] = []
        self.cum: list[int] = []

    def add(self, block: int, kids: tuple[int, ...], fsize: int) -> int:
        cum = self.cum
        self.block.append(block)
        self.kids.append(kids)
        self.fsize.append(fsize)
        cum.append(block + sum(cum[k] for k in kids))
        return len(self.block) - 1


def _build_file(
    nodes: _Nodes,
    size_bytes: int,
    chunk_size: int,
    max_links: int,
    cid_version: int,
    raw_leaves: bool,
) -> int:
    """Add a balanced unixfs file to ``nodes``; return the local id of its root.

    Grouping leaves under parents of ``max_links``, then parents under grandparents, gives the
    same tree as go-unixfs' balanced ``Layout``/``fillNodeRec`` (each depth-d subtree is filled
    before the next is started; ``importer/balanced/builder.go@v0.2.4``) **[inference]**.
    """
    if size_bytes < 0:
        raise ValueError(f"size_bytes must be >= 0, got {size_bytes}")
    if not 0 < chunk_size <= BLOCK_SIZE_LIMIT:
        raise ValueError(f"chunk_size must be in 1..{BLOCK_SIZE_LIMIT} bytes, got {chunk_size}")
    if max_links < 2:
        raise ValueError(f"max_links must be >= 2, got {max_links}")
    if cid_version not in CID_BYTES:
        raise ValueError(f"cid_version must be 0 or 1, got {cid_version}")

    n_full, rem = divmod(size_bytes, chunk_size)
    chunks = [chunk_size] * n_full + ([rem] if rem or size_bytes == 0 else [])
    full_leaf = unixfs_leaf_size(chunk_size, raw_leaves=raw_leaves)
    level = [
        nodes.add(
            full_leaf if n == chunk_size else unixfs_leaf_size(n, raw_leaves=raw_leaves), (), n
        )
        for n in chunks
    ]
    # Raw leaves always get CIDv1 (raw codec) [inference]; dag-pb nodes use cid_version.
    hash_bytes = CID_BYTES[1] if raw_leaves else CID_BYTES[cid_version]
    cum, fsize = nodes.cum, nodes.fsize
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), max_links):
            group = tuple(level[i : i + max_links])
            f_total = sum(fsize[k] for k in group)
            links = sum(dagpb_link_bytes(cum[k], hash_bytes) for k in group)
            u = 2 + 1 + uvarint_len(f_total) + sum(1 + uvarint_len(fsize[k]) for k in group)
            nxt.append(nodes.add(links + 1 + uvarint_len(u) + u, group, f_total))
        level = nxt
        hash_bytes = CID_BYTES[cid_version]
    return level[0]


def _to_dag(nodes: _Nodes, root: int, cid_alloc: CidAllocator, cid_version: int) -> Dag:
    """Give every node reachable from ``root`` a CID in DFS pre-order and build the Dag."""
    order: list[int] = []
    stack = [root]
    kids = nodes.kids
    while stack:
        n = stack.pop()
        order.append(n)
        stack.extend(reversed(kids[n]))
    cid_of = {n: cid_alloc.allocate() for n in order}
    block = nodes.block
    return Dag(
        root=cid_of[root],
        size_of={cid_of[n]: block[n] for n in order},
        children={cid_of[n]: tuple(cid_of[k] for k in kids[n]) for n in order},
        cids_in_order=tuple(cid_of[n] for n in order),
        cid_version=cid_version,
    )


# --------------------------------------------------------------------------------------------
# Builders


def chunked_file(
    size_bytes: int,
    *,
    cid_alloc: CidAllocator,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_links: int = DEFAULT_LINKS_PER_BLOCK,
    cid_version: int = 1,
    raw_leaves: bool = False,
) -> Dag:
    """A file of ``size_bytes`` as go-unixfs' balanced importer builds it.

    Leaves of ``chunk_size`` bytes of data (the last one smaller), parents of up to
    ``max_links`` children, until one root; a file that fits one chunk is a single leaf.
    Defaults are p2plab's and the Testground plan's (``peer/peer.go@300ac43``).
    """
    nodes = _Nodes()
    root = _build_file(nodes, size_bytes, chunk_size, max_links, cid_version, raw_leaves)
    return _to_dag(nodes, root, cid_alloc, cid_version)


def oci_image(
    layer_sizes: Sequence[int],
    *,
    cid_alloc: CidAllocator,
    config_size: int = HEADLINE_CONFIG_SIZE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_links: int = DEFAULT_LINKS_PER_BLOCK,
    raw_leaves: bool = False,
) -> Dag:
    """An OCI image converted the way p2plab does it (``transformers/oci/oci.go@300ac43``).

    The config blob and each layer blob (sizes in bytes) are added as unixfs files; the root is
    a unixfs directory node (``EmptyDirNode``: Data = ``Type=Directory``, 4 B) with CIDv1,
    linking the config then the layers, each link named by the blob's ``sha256:`` digest (71 B).
    go-merkledag sorts links by name, so the real link order is by digest **[inference]**; here
    it is config first, then the layers in the given order. All CIDs are v1.
    """
    if not layer_sizes:
        raise ValueError("an image needs at least one layer")
    nodes = _Nodes()
    blobs = [config_size, *layer_sizes]
    subroots = tuple(_build_file(nodes, s, chunk_size, max_links, 1, raw_leaves) for s in blobs)
    links = sum(dagpb_link_bytes(nodes.cum[r], CID_BYTES[1], OCI_LINK_NAME_BYTES) for r in subroots)
    root = nodes.add(links + (1 + 1 + 2), subroots, sum(blobs))
    return _to_dag(nodes, root, cid_alloc, 1)


def headline_image(*, cid_alloc: CidAllocator) -> Dag:
    """The 300 MiB container image of the Netflix/IPFS headline: :data:`HEADLINE_LAYER_SIZES`
    and :data:`HEADLINE_CONFIG_SIZE` **[guess]**, p2plab defaults otherwise."""
    return oci_image(HEADLINE_LAYER_SIZES, config_size=HEADLINE_CONFIG_SIZE, cid_alloc=cid_alloc)


def _flat(sizes: Sequence[int], cid_alloc: CidAllocator, cid_version: int) -> Dag:
    cids = tuple(cid_alloc.allocate() for _ in sizes)
    return Dag(
        root=cids[0],
        size_of=dict(zip(cids, sizes, strict=True)),
        children={c: () for c in cids},
        cids_in_order=cids,
        cid_version=cid_version,
        flat=True,
    )


def benchmark_blocks(
    n: int, *, cid_alloc: CidAllocator, block_size: int = 8000, root_size: int = 800
) -> Dag:
    """The poc benchmarks' block set: ``n`` unlinked blocks, the first (the "root") of
    ``root_size`` bytes and ``n - 1`` of ``block_size`` bytes, CIDv0.

    ``subtestDistributeAndFetch`` generates ``n`` blocks of ``stdBlockSize`` = 8 000 B and
    replaces ``blocks[0]`` by one ``rootBlockSize`` = 800 B block (``benchmarks_test.go@v0.2.0``);
    ``BenchmarkDatacenter*`` use ``block_size`` = 256 KiB (``largeBlockSize``). Blocks are
    random bytes via ``blocks.NewBlock`` (``internal/testutil/testutil.go@v0.2.0``), so CIDv0.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return _flat([root_size] + [block_size] * (n - 1), cid_alloc, 0)


_MAX_TINY_BLOCKS = 0xD7FF


def _go_rune_string_len(seq: int) -> int:
    """Bytes of Go's ``string(seq)`` for an int: the UTF-8 encoding of code point ``seq``."""
    if seq < 0x80:
        return 1
    if seq < 0x800:
        return 2
    return 3  # up to 0xD7FF (callers stay below the surrogates)


def tiny_blocks(n: int, *, cid_alloc: CidAllocator) -> Dag:
    """master's benchmark block set: ``n`` unlinked tiny blocks, CIDv0.

    ``blocksutil.NewBlockGenerator().Blocks(n)`` (``benchmarks_test.go@v0.1.8``) makes block i
    (i = 1..n, a fresh generator per sub-benchmark) from Go's ``string(i)``, which is the UTF-8
    encoding of code point i, not its decimal digits (``block_generator.go@v0.0.1``,
    go-ipfs-blocksutil): 1 B for i < 128, 2 B below 2 048, 3 B above. So every block of the
    100-block benchmarks is 1 B. Beyond 0xD7FF surrogates would all encode to U+FFFD and
    produce duplicate blocks, so ``n`` is capped there.
    """
    if not 1 <= n <= _MAX_TINY_BLOCKS:
        raise ValueError(f"n must be in 1..{_MAX_TINY_BLOCKS}, got {n}")
    return _flat([_go_rune_string_len(i) for i in range(1, n + 1)], cid_alloc, 0)
