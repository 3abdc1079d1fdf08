"""Host presets: the machines a scenario's peers run on, number by number, with sources.

A preset pairs a :class:`~sim.host.HostSpec` (what any networked program pays on that machine:
cores, kernel and copies, the security transport's cipher, opening a stream, the disk) with a
:class:`~models.hostwork.HostWork` (what go-bitswap itself does: decoding, hashing every block
received, encoding, datastore calls). A scenario names one per group (``host = "p2plab-2020"``;
``docs/scenarios.md``); ``docs/host.md`` lists every number with its range and source, and is
checked against the tables this module renders (:func:`preset_table`).

Every number is a :class:`Figure`: a published measurement, a vendor's or project's
documentation, a fact read in source code, or a derivation: our own arithmetic from the figures
it names (:func:`derive`), whose range is the range of the result over its inputs' ranges.
Where a source gives a range, the preset takes its middle. No number is fitted to a result the
simulator is compared with; figures with no published measurement behind them at all are
marked ``estimate``.

Presets:

* ``ideal``: nothing costs anything (every node without a host; the default);
* ``p2plab-2020``: a peer as p2plab ran them for the 2020 blog post: a bare go-libp2p host with
  go-bitswap, secio, mplex, badger with synchronous writes on EBS gp2, on an AWS m5.large;
* ``p2plab-2020-fast`` and ``p2plab-2020-slow``: ``p2plab-2020`` with every number that has a
  range at the end of it that makes the host fastest, or slowest (:func:`at_range_end`): the
  envelope of what the sources allow, for sensitivity runs;
* ``go-ipfs-2020``: the same machine running go-ipfs 0.4.23 (flatfs with sync, an ARC cache in
  front of ``Has``);
* ``modern``: a 2 vCPU Ice Lake machine (SHA extensions) with TLS 1.3 (AES-128-GCM), local NVMe,
  flatfs;
* ``go-testnet``: go-bitswap's virtual-network benchmarks: every node in one process on one
  machine, without crypto, disk, encoding or hashing; only go-bitswap's processing per message
  and per entry.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from models.hostwork import NO_WORK, HostWork
from sim.host import IDEAL, DiskSpec, HostSpec

__all__ = [
    "FIGURE_KINDS",
    "PRESETS",
    "RANGE_ENDS",
    "Figure",
    "HostPreset",
    "at_range_end",
    "derive",
    "preset",
    "preset_table",
]

FIGURE_KINDS = ("measurement", "documentation", "code", "derivation")
"""Where a figure comes from (see the module docstring)."""

_SCALE: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "ns/B": (1.0, 1e9),
        "µs": (1.0, 1e6),
        "ms": (1.0, 1e3),
        "s": (1.0, 1.0),
        "MB/s": (1e6, 1.0),
        "GB/s": (1e9, 1.0),
        "MiB/s": (2.0**20, 1.0),
        "IOPS": (1.0, 1.0),
        "B": (1.0, 1.0),
        "count": (1.0, 1.0),
        "cores": (1.0, 1.0),
    }
)
"""Display unit -> (multiplier, divisor) to the model's units (seconds, bytes, bytes per
second); dividing by an exact power of ten keeps "10 µs" exactly 1e-05."""


def _to_si(x: float, unit: str) -> float:
    mul, div = _SCALE[unit]
    return x * mul / div


def _from_si(x: float, unit: str) -> float:
    mul, div = _SCALE[unit]
    return x * div / mul


@dataclass(frozen=True)
class Figure:
    """One number (or fact) of a preset, in a display ``unit``, with its range and source.

    ``sets`` names the model field the figure becomes (``host.send_message_s``,
    ``disk.write_latency_s``, ``work.hash_Bps``), if any.
    """

    parameter: str
    value: float | str
    unit: str
    kind: str
    source: str
    low: float | None = None
    high: float | None = None
    sets: str | None = None
    estimate: bool = False
    """No published measurement behind it: our own figure (said in ``docs/host.md``)."""

    def __post_init__(self) -> None:
        if self.kind not in FIGURE_KINDS:
            raise ValueError(f"figure {self.parameter!r}: kind must be one of {FIGURE_KINDS}")
        if isinstance(self.value, str):
            return
        if self.unit not in _SCALE:
            raise ValueError(f"figure {self.parameter!r}: unknown unit {self.unit!r}")
        if (self.low is None) != (self.high is None) or (
            self.low is not None and self.high is not None and not self.low <= self.high
        ):
            raise ValueError(f"figure {self.parameter!r}: bad range {self.low}..{self.high}")

    @property
    def si(self) -> float:
        """The value in the model's units (seconds, bytes, bytes/s)."""
        if isinstance(self.value, str):
            raise TypeError(f"figure {self.parameter!r} is not a number")
        return _to_si(self.value, self.unit)

    def si_bounds(self) -> tuple[float, float]:
        """(low, high) in the model's units; the value twice without a range."""
        if self.low is None or self.high is None:
            return self.si, self.si
        return _to_si(self.low, self.unit), _to_si(self.high, self.unit)


def derive(
    parameter: str,
    unit: str,
    how: str,
    inputs: Sequence[Figure],
    fn: Callable[..., float],
    *,
    sets: str | None = None,
) -> Figure:
    """A figure computed by ``fn`` from ``inputs`` (in the model's units), shown in ``unit``.

    Its range is the smallest and largest result over every combination of the inputs' lows
    and highs (the functions used here are monotone in each input, so that is the exact
    range). ``how`` is the formula in words, shown as its source; it is an estimate if any
    input is.
    """
    value = _from_si(fn(*(f.si for f in inputs)), unit)
    corners = [fn(*combo) for combo in itertools.product(*(f.si_bounds() for f in inputs))]
    low, high = _from_si(min(corners), unit), _from_si(max(corners), unit)
    ranged = any(f.low is not None for f in inputs)
    return Figure(
        parameter,
        _round(value),
        unit,
        "derivation",
        how,
        _round(low) if ranged else None,
        _round(high) if ranged else None,
        sets,
        estimate=any(f.estimate for f in inputs),
    )


def _round(x: float) -> float:
    """``x`` to 12 significant digits: the arithmetic's last-bit noise left out."""
    return float(f"{x:.12g}")


def _rate(*seconds_per_byte: float) -> float:
    """Bytes/s of work stages done one after another at the given seconds per byte."""
    total = sum(seconds_per_byte)
    return math.inf if total == 0 else 1.0 / total


def _as(parameter: str, figure: Figure, sets: str) -> Figure:
    """``figure`` as the value of a model field (same number, unit, range and source)."""
    return Figure(
        parameter,
        figure.value,
        figure.unit,
        figure.kind,
        figure.source,
        figure.low,
        figure.high,
        sets,
        figure.estimate,
    )


@dataclass(frozen=True)
class HostPreset:
    """A named host: the machine (``spec``), go-bitswap's own work on it (``work``), and
    whether every node that names it shares one machine (``shared``: go-bitswap's
    virtual-network benchmarks run every node in one process)."""

    name: str
    spec: HostSpec = IDEAL
    work: HostWork = NO_WORK
    shared: bool = False
    summary: str = ""
    figures: tuple[Figure, ...] = field(default=(), repr=False)
    """Every number with its source (empty for hosts defined in a scenario file)."""

    @property
    def is_ideal(self) -> bool:
        """Whether nothing costs anything (a run then passes no host and no work at all)."""
        return self.spec.is_ideal and self.work.is_free


# ------------------------------------------------------------------------------ sources
_AWS = "awsdocs/amazon-ec2-user-guide doc_source/{}@ae4eabc"
_AWS_2023 = "awsdocs/amazon-ec2-user-guide doc_source/{}@d289961"
_SHA_SIMD = "minio/sha256-simd README.md@v0.1.0"
_SECIO = "libp2p/go-libp2p-secio al.go@v0.2.0, rw.go@v0.2.1"
_P2PLAB = "Netflix/p2plab peer/peer.go, go.mod, examples/peer/default.json@81519ea"
_FLATFS = "ipfs/go-ds-flatfs flatfs.go@v0.0.2"
_PROTOBUF = (
    "https://github.com/pingcap/tipb/issues/9 (gogoprotobuf: 289 ns unmarshal, 211 ns marshal "
    "of a 53 B message)"
)
_GP2_FIO = (
    "https://www.besthub.dev/articles/why-upgrading-ebs-volumes-boosted-etcd-write-performance-"
    "and-what-still-limits-it-5d6d8d0fac94 (fio fdatasync on gp2: avg 1.42 ms, 0.48-10.3 ms)"
)

# ---------------------------------------------------------------- an m5.large in 2020 (Go 1.13)
M5_VCPUS = Figure(
    "vCPUs (hardware threads) of an m5.large",
    2,
    "count",
    "documentation",
    _AWS.format("general-purpose-instances.md") + ", " + _AWS.format("instance-optimize-cpu.md"),
    sets="host.cores",
)
HT_CAPACITY = Figure(
    "what 2 hyper-threads of one core deliver together",
    1.3,
    "cores",
    "derivation",
    "our estimate: AES-CTR in Go 1.13 is latency-bound (a second thread gains much), AVX2 "
    "SHA-256 throughput-bound (it gains little); no measurement found",
    1.0,
    2.0,
    sets="host.capacity_cores",
    estimate=True,
)
KERNEL_RECORD = Figure(
    "kernel TCP send or receive of one record (syscall, TCP/IP, netpoll)",
    3,
    "µs",
    "derivation",
    "our estimate from secondary syscall figures (0.2-0.5 µs per bare syscall after KPTI, e.g. "
    "https://blog.i0.pm); no primary measurement found",
    2,
    5,
    estimate=True,
)
SECIO_RECORD = Figure(
    "secio fixed cost per record (HMAC finalisation, buffer pool, lock)",
    1,
    "µs",
    "derivation",
    "our estimate: 3-4 extra SHA-256 compressions of the HMAC at 450 MB/s (about 0.6 µs) plus "
    "bookkeeping; " + _SECIO,
    0.6,
    3,
    estimate=True,
)
KERNEL_COPY = Figure(
    "kernel copy per byte (with TSO/GRO)",
    0.15,
    "ns/B",
    "derivation",
    "our estimate; no primary measurement found",
    0.1,
    0.3,
    estimate=True,
)
MEMCPY = Figure(
    "user-space copy (memcpy) rate",
    7.5,
    "GB/s",
    "derivation",
    "our estimate (no source): a range of 5-10 GB/s for one core",
    5,
    10,
    estimate=True,
)
SEND_COPIES = Figure(
    "user-space copies of a message sent",
    1,
    "count",
    "code",
    "ipfs/go-bitswap message/message.go@v0.2.0 (ToNetV1 marshals the blocks into one buffer)",
)
RECEIVE_COPIES = Figure(
    "user-space copies of a message received",
    4,
    "count",
    "code",
    "TCP to secio's buffer, to mplex's, to msgio's, to the protobuf Data field: "
    "libp2p/go-libp2p-secio rw.go@v0.2.1, libp2p/go-mplex multiplex.go@v0.1.0, "
    "ipfs/go-bitswap message/pb/message.pb.go@v0.2.0",
)
AES256_CTR = Figure(
    "AES-256-CTR in Go 1.13 (generic CTR, one block per AES-NI call)",
    600,
    "MB/s",
    "derivation",
    "AES-128 measured at 813-831 MB/s (https://github.com/golang/go/pull/53503, i7-7820HQ) and "
    "520-747 MB/s (https://github.com/golang/go/issues/20967), scaled by 14 rounds against 10 "
    "(x 0.8) at the m5's 3.1 GHz",
    450,
    750,
)
SHA256_AVX2 = Figure(
    "SHA-256, sha256-simd AVX2 path (no SHA extensions), one core",
    450,
    "MB/s",
    "measurement",
    _SHA_SIMD + " (449 MB/s on a Xeon Platinum 8124M, Skylake-SP like the m5's); 355-515 MB/s "
    "on other AVX2 CPUs",
    355,
    515,
)
SECIO_SUITE = Figure(
    "secio suite two peers with the defaults pick",
    "P-256, AES-256-CTR, HMAC-SHA256 (encrypt then MAC)",
    "",
    "code",
    _SECIO,
)
SECIO_RATE = derive(
    "secio cipher rate, each side (AES-256-CTR then HMAC-SHA256 over the same bytes)",
    "MB/s",
    "= 1 / (1 / AES-256-CTR + 1 / SHA-256)",
    [AES256_CTR, SHA256_AVX2],
    lambda aes, sha: _rate(1.0 / aes, 1.0 / sha),
    sets="host.cipher_Bps",
)
SEND_RECORD_2020 = derive(
    "send, per message (one record: mplex coalesces nothing, one frame is one secio record)",
    "µs",
    "= kernel per record + secio per record (libp2p/go-mplex multiplex.go@v0.1.0)",
    [KERNEL_RECORD, SECIO_RECORD],
    lambda k, s: k + s,
    sets="host.send_message_s",
)
RECEIVE_RECORD_2020 = derive(
    "receive, per message (one record)",
    "µs",
    "= kernel per record + secio per record",
    [KERNEL_RECORD, SECIO_RECORD],
    lambda k, s: k + s,
    sets="host.receive_message_s",
)
SEND_BYTES = derive(
    "send, per byte: copies",
    "GB/s",
    "= 1 / (kernel copy + copies sent / memcpy rate)",
    [KERNEL_COPY, SEND_COPIES, MEMCPY],
    lambda k, n, m: _rate(k, n / m),
    sets="host.send_Bps",
)
RECEIVE_BYTES = derive(
    "receive, per byte: copies",
    "GB/s",
    "= 1 / (kernel copy + copies received / memcpy rate)",
    [KERNEL_COPY, RECEIVE_COPIES, MEMCPY],
    lambda k, n, m: _rate(k, n / m),
    sets="host.receive_Bps",
)
STREAM_CPU = Figure(
    "opening and closing a stream (2 goroutines, multistream parse, bookkeeping; both ends)",
    15,
    "µs",
    "derivation",
    "our estimate, no measurement found; go-bitswap opens a stream per response message "
    "(ipfs/go-bitswap network/ipfs_impl.go@v0.2.0 SendMessage)",
    10,
    30,
    estimate=True,
)
STREAM_RECORDS_OUT = Figure(
    "extra records a new stream costs its opener, sent",
    3,
    "count",
    "code",
    "mplex NewStream frame, the 4,096 B split of multistream's lazy first write, the close "
    "frame: libp2p/go-mplex multiplex.go@v0.1.0, multiformats/go-multistream lazyClient.go, "
    "multistream.go@v0.1.1",
)
STREAM_RECORDS_BACK = Figure(
    "extra records a new stream costs its opener, received",
    2,
    "count",
    "code",
    "the multistream echo and the receiver's close (its handler closes the stream): "
    "multiformats/go-multistream lazyClient.go@v0.1.1, "
    "libp2p/go-libp2p p2p/host/basic/basic_host.go@v0.3.0",
)
STREAM_RTT = Figure(
    "extra round trips to open a stream (protocol known from identify)",
    0,
    "count",
    "code",
    "multistream's lazy select sends the header with the data: "
    "multiformats/go-multistream lazyClient.go@v0.1.1; 1 RTT (+1 per 'na') before identify "
    "completes, not modelled",
)


def _stream_open(
    send: Figure,
    receive: Figure,
    out: Figure = STREAM_RECORDS_OUT,
    back: Figure = STREAM_RECORDS_BACK,
) -> Figure:
    return derive(
        "opening a stream, on the opener",
        "µs",
        "= stream CPU + extra records sent x send per message + extra records received x "
        "receive per message",
        [STREAM_CPU, out, send, back, receive],
        lambda c, n_out, s, n_back, r: c + n_out * s + n_back * r,
        sets="host.stream_open_s",
    )


STREAM_OPEN_2020 = _stream_open(SEND_RECORD_2020, RECEIVE_RECORD_2020)

# --------------------------------------------------------------------------- EBS gp2 (2020)
GP2_SYNC = Figure(
    "gp2 synchronous write latency (fdatasync)",
    1.4,
    "ms",
    "measurement",
    _GP2_FIO + "; AWS: 'single-digit millisecond latencies', " + _AWS.format("ebs-volume-types.md"),
    0.5,
    10,
    sets="disk.write_latency_s",
)
GP2_IOPS = Figure(
    "gp2 write IOPS (burst; a run is far shorter than the 30 min of initial credits)",
    3000,
    "IOPS",
    "documentation",
    _AWS.format("ebs-volume-types.md") + " (baseline 3 IOPS per GiB, minimum 100, maximum "
    "16,000; the p2plab agents' root volume size is not public)",
    100,
    16000,
    sets="disk.write_iops",
)
GP2_RATE = Figure(
    "gp2 write throughput (volume < 170 GiB; below m5.large's EBS burst of 593.75 MB/s)",
    128,
    "MiB/s",
    "documentation",
    _AWS.format("ebs-volume-types.md") + ", " + _AWS.format("ebs-optimized.md") + " (range: "
    "the m5.large's EBS baseline of 81.25 MB/s to gp2's 250 MiB/s from 170 GiB)",
    77.5,
    250,
    sets="disk.write_Bps",
)
PAGE_CACHE = Figure(
    "disk reads (Get of a block to send)",
    "served from the page cache: unlimited, no latency",
    "",
    "derivation",
    "our assumption: the blocks were written or read shortly before",
)
DISK_2020 = (GP2_SYNC, GP2_IOPS, GP2_RATE, PAGE_CACHE)

# ------------------------------------------------------------- go-bitswap's own work (2020)
DECODE_MESSAGE = Figure(
    "protobuf decode, per message",
    1,
    "µs",
    "derivation",
    "from " + _PROTOBUF + ", scaled to a Bitswap message",
    0.5,
    2,
)
DECODE_ENTRY = Figure(
    "protobuf decode, per wantlist entry, presence or block (nested message, cid.Cast)",
    0.4,
    "µs",
    "derivation",
    "from " + _PROTOBUF,
    0.3,
    0.5,
    sets="work.receive_entry_s",
)
HANDOFF = Figure(
    "one goroutine or channel hand-off",
    0.25,
    "µs",
    "measurement",
    "248 ns for a one-producer one-consumer channel hand-off (randomizedcoder/"
    "some-go-benchmarks, Go 1.25); 0.1-0.5 µs in secondary sources",
    0.1,
    0.5,
)
HANDOFFS = Figure(
    "goroutine hand-offs per received message (stream handler, ReceiveMessage, Has, PutMany, "
    "notifier, session and want-manager loops, engine)",
    10,
    "count",
    "code",
    "ipfs/go-bitswap bitswap.go@v0.2.0 (ReceiveMessage, receiveBlocksFrom)",
)
RECEIVE_WORK = derive(
    "go-bitswap, per message received",
    "µs",
    "= decode per message + hand-offs x hand-off",
    [DECODE_MESSAGE, HANDOFFS, HANDOFF],
    lambda d, n, h: d + n * h,
    sets="work.receive_message_s",
)
ENCODE_MESSAGE = Figure(
    "protobuf encode, per message (ToProtoV1, MarshalTo)",
    0.5,
    "µs",
    "derivation",
    "from " + _PROTOBUF,
    0.3,
    1,
    sets="work.send_message_s",
)
ENCODE_ENTRY = Figure(
    "protobuf encode, per entry, presence or block",
    0.2,
    "µs",
    "derivation",
    "from " + _PROTOBUF,
    0.1,
    0.3,
    sets="work.send_entry_s",
)
HASH_2020 = _as("SHA-256 of every block received (the CID check)", SHA256_AVX2, "work.hash_Bps")
HAS_STAT = Figure(
    "datastore Has / GetSize, no cache (a stat or an index lookup)",
    2,
    "µs",
    "derivation",
    "our estimate: a few syscalls of 0.5-1 µs; no measurement found",
    1,
    5,
    sets="work.has_s",
    estimate=True,
)
GET_CPU = Figure(
    "datastore Get from the page cache (open, read, close)",
    10,
    "µs",
    "derivation",
    "our estimate: a few syscalls; the copy is not counted; no measurement found",
    5,
    20,
    sets="work.get_s",
    estimate=True,
)
PUT_CPU = Figure(
    "datastore Put, CPU without the sync (create, write, close, rename)",
    30,
    "µs",
    "derivation",
    "our estimate: a few syscalls; the copy is not counted; no measurement found",
    20,
    40,
    sets="work.put_s",
    estimate=True,
)
WORK_2020 = (
    DECODE_MESSAGE,
    HANDOFF,
    HANDOFFS,
    RECEIVE_WORK,
    DECODE_ENTRY,
    HASH_2020,
    ENCODE_MESSAGE,
    ENCODE_ENTRY,
)
HOST_2020 = (
    M5_VCPUS,
    HT_CAPACITY,
    KERNEL_RECORD,
    KERNEL_COPY,
    MEMCPY,
    SEND_COPIES,
    RECEIVE_COPIES,
    SEND_BYTES,
    RECEIVE_BYTES,
    SECIO_SUITE,
    SECIO_RECORD,
    SEND_RECORD_2020,
    RECEIVE_RECORD_2020,
    AES256_CTR,
    SHA256_AVX2,
    SECIO_RATE,
    STREAM_CPU,
    STREAM_RECORDS_OUT,
    STREAM_RECORDS_BACK,
    STREAM_RTT,
    STREAM_OPEN_2020,
)

P2PLAB_DATASTORE = Figure(
    "datastore",
    "badger v1.6.0-rc1, SyncWrites on: one synchronous value-log write per batch; no cache",
    "",
    "code",
    _P2PLAB + "; dgraph-io/badger options.go@v1.6.0-rc1",
)
P2PLAB_MUXER = Figure(
    "transport, muxer, security",
    "tcp, mplex, secio (go-libp2p v0.3.0, go-libp2p-secio v0.2.0, go-mplex v0.1.0)",
    "",
    "code",
    _P2PLAB,
)
GO_IPFS_DATASTORE = Figure(
    "datastore",
    "flatfs with sync: 2N + 1 syncs per PutMany of N blocks; ARC cache of 64 Ki entries "
    "in front of Has, no bloom filter",
    "",
    "code",
    _FLATFS + "; ipfs/go-ipfs-config init.go@v0.2.0; ipfs/kubo core/node/groups.go@v0.4.23",
)
GO_IPFS_MUXER = Figure(
    "transport, muxer, security",
    "tcp, yamux, secio v0.0.3 (same suite); yamux's frames are charged as mplex's (one record "
    "per message)",
    "",
    "code",
    "ipfs/kubo core/node/libp2p/smux.go, go.mod@v0.4.23",
)
HAS_ARC = Figure(
    "datastore Has / GetSize, ARC cache hit (most lookups repeat a CID)",
    0.1,
    "µs",
    "derivation",
    "our estimate: an in-memory map lookup; a miss is a stat, 1-5 µs; ARC from "
    "ipfs/kubo core/node/groups.go@v0.4.23",
    0.1,
    5,
    sets="work.has_s",
    estimate=True,
)


def _spec(name: str, figures: Sequence[Figure], **fixed: object) -> HostSpec:
    """The HostSpec (and its DiskSpec) the figures' ``sets`` fields give, plus ``fixed``."""
    host: dict[str, object] = {}
    disk: dict[str, float] = {}
    for f in figures:
        if f.sets is None:
            continue
        owner, name_ = f.sets.split(".")
        if owner == "host":
            host[name_] = int(f.si) if name_ == "cores" else f.si
        elif owner == "disk":
            disk[name_] = f.si
    return HostSpec(name=name, **fixed, **host, disk=DiskSpec(**disk))  # type: ignore[arg-type]


def _work(figures: Sequence[Figure], datastore: str) -> HostWork:
    """The HostWork the figures' ``work.*`` fields give."""
    values = {f.sets.split(".")[1]: f.si for f in figures if f.sets and f.sets.startswith("work.")}
    return HostWork(datastore=datastore, **values)


_P2PLAB_FIGURES = (P2PLAB_MUXER, *HOST_2020, *DISK_2020, P2PLAB_DATASTORE, *WORK_2020, HAS_STAT,
                   GET_CPU, PUT_CPU)  # fmt: skip
_GO_IPFS_FIGURES = (GO_IPFS_MUXER, *HOST_2020, *DISK_2020, GO_IPFS_DATASTORE, *WORK_2020,
                    HAS_ARC, GET_CPU, PUT_CPU)  # fmt: skip

# --------------------------------------------------------------------------------- modern
M6I_VCPUS = Figure(
    "vCPUs of an m6i.large (Ice Lake 8375C, SHA extensions)",
    2,
    "count",
    "documentation",
    _AWS_2023.format("general-purpose-instances.md"),
    sets="host.cores",
)
AEAD_RECORD = Figure(
    "TLS 1.3 AEAD fixed cost per record",
    0.5,
    "µs",
    "derivation",
    "our estimate; no measurement found",
    0.2,
    1,
    estimate=True,
)
TLS_RECORD = Figure(
    "TLS record payload once the connection is warm (after 128 KiB)",
    16384,
    "B",
    "code",
    "Go src/crypto/tls/conn.go (maxPayloadSizeForWrite, recordSizeBoostThreshold)",
)
AES128_GCM = Figure(
    "AES-128-GCM in Go (TLS 1.3's usual suite), one core",
    5500,
    "MB/s",
    "measurement",
    "AES-256-GCM measured at 3,896-6,233 MB/s by gocryptfs "
    "(https://github.com/rfjakob/gocryptfs/wiki/CPU-Benchmarks, rfjakob/gocryptfs#618, #822, "
    "#1002); AES-128 a little faster",
    3900,
    6200,
    sets="host.cipher_Bps",
)
SHA256_NI = Figure(
    "SHA-256 with SHA extensions, one core",
    1800,
    "MB/s",
    "measurement",
    _SHA_SIMD + " (1,979 MB/s, Ryzen 2700X); https://github.com/kazu-yamamoto/crypton/issues/155 "
    "(1,613 MB/s, EPYC 9V74); Go's crypto/sha256 uses them since Go 1.21 (golang/go#50543)",
    1600,
    2000,
    sets="work.hash_Bps",
)
HT_CAPACITY_MODERN = Figure(
    "what 2 hyper-threads of one core deliver together",
    1.3,
    "cores",
    "derivation",
    "our estimate, as for the m5.large (an m6i vCPU is also a thread of a core); no measurement "
    "found",
    1.0,
    2.0,
    sets="host.capacity_cores",
    estimate=True,
)
RECEIVE_COPIES_MODERN = Figure(
    "user-space copies of a message received",
    4,
    "count",
    "derivation",
    "assumed as in 2020: TCP to the TLS record buffer, to yamux's, to msgio's, to the protobuf "
    "Data field (ipfs/go-bitswap message/pb/message.pb.go@v0.2.0 copies Data)",
)
STREAM_RECORDS_OUT_MODERN = Figure(
    "extra records a new stream costs its opener, sent",
    3,
    "count",
    "derivation",
    "the same steps as with mplex, as yamux frames: the stream's opening frame, the split of "
    "multistream's lazy first write, the closing frame (libp2p/go-yamux, "
    "multiformats/go-multistream)",
)
STREAM_RECORDS_BACK_MODERN = Figure(
    "extra records a new stream costs its opener, received",
    2,
    "count",
    "derivation",
    "the same steps as with mplex: the multistream echo and the receiver's close",
)
SEND_RECORD_MODERN = derive(
    "send, per message (its first record)",
    "µs",
    "= kernel per record + AEAD per record",
    [KERNEL_RECORD, AEAD_RECORD],
    lambda k, a: k + a,
    sets="host.send_message_s",
)
RECEIVE_RECORD_MODERN = derive(
    "receive, per message (its first record)",
    "µs",
    "= kernel per record + AEAD per record",
    [KERNEL_RECORD, AEAD_RECORD],
    lambda k, a: k + a,
    sets="host.receive_message_s",
)
SEND_BYTES_MODERN = derive(
    "send, per byte: copies and the records of a large message",
    "GB/s",
    "= 1 / (kernel copy + copies sent / memcpy rate + send per message / TLS record payload)",
    [KERNEL_COPY, SEND_COPIES, MEMCPY, SEND_RECORD_MODERN, TLS_RECORD],
    lambda k, n, m, r, size: _rate(k, n / m, r / size),
    sets="host.send_Bps",
)
RECEIVE_BYTES_MODERN = derive(
    "receive, per byte: copies and the records of a large message",
    "GB/s",
    "= 1 / (kernel copy + copies received / memcpy rate + receive per message / TLS record "
    "payload)",
    [KERNEL_COPY, RECEIVE_COPIES_MODERN, MEMCPY, RECEIVE_RECORD_MODERN, TLS_RECORD],
    lambda k, n, m, r, size: _rate(k, n / m, r / size),
    sets="host.receive_Bps",
)
STREAM_OPEN_MODERN = _stream_open(
    SEND_RECORD_MODERN, RECEIVE_RECORD_MODERN, STREAM_RECORDS_OUT_MODERN, STREAM_RECORDS_BACK_MODERN
)
MODERN_STACK = Figure(
    "transport, muxer, security",
    "tcp, yamux, TLS 1.3 (AES-128-GCM); the same stream pattern as in 2020 (a stream per "
    "response, lazy multistream select)",
    "",
    "code",
    "libp2p/go-libp2p defaults.go, p2p/security/tls/crypto.go@HEAD",
)
NVME_SYNC = Figure(
    "NVMe synchronous write latency (server drive with power-loss protection)",
    40,
    "µs",
    "measurement",
    "http://smalldatum.blogspot.com/2026/01/ssds-power-loss-protection-and-fsync.html (12-58 µs "
    "per 16 KB write + sync on PLP drives; 891 µs on a consumer drive without PLP)",
    12,
    60,
    sets="disk.write_latency_s",
)
NVME_IOPS = Figure(
    "NVMe write IOPS (i3.large instance store, 4 KiB)",
    35000,
    "IOPS",
    "documentation",
    _AWS.format("storage-optimized-instances.md"),
    sets="disk.write_iops",
)
NVME_RATE = Figure(
    "NVMe write throughput",
    1,
    "GB/s",
    "derivation",
    "our placeholder (no source found); at least 0.143 GB/s (35,000 x 4 KiB); it does not bind "
    "for a few hundred MiB",
    0.143,
    1,
    sets="disk.write_Bps",
    estimate=True,
)
MODERN_DATASTORE = Figure(
    "datastore",
    "flatfs with sync and an ARC cache in front of Has, as go-ipfs 0.4.23 (not checked for "
    "today's kubo)",
    "",
    "code",
    _FLATFS + "; ipfs/kubo core/node/groups.go@v0.4.23",
)
_MODERN_FIGURES = (
    MODERN_STACK,
    M6I_VCPUS,
    HT_CAPACITY_MODERN,
    KERNEL_RECORD,
    AEAD_RECORD,
    SEND_RECORD_MODERN,
    RECEIVE_RECORD_MODERN,
    KERNEL_COPY,
    MEMCPY,
    SEND_COPIES,
    RECEIVE_COPIES_MODERN,
    TLS_RECORD,
    SEND_BYTES_MODERN,
    RECEIVE_BYTES_MODERN,
    AES128_GCM,
    STREAM_CPU,
    STREAM_RECORDS_OUT_MODERN,
    STREAM_RECORDS_BACK_MODERN,
    STREAM_RTT,
    STREAM_OPEN_MODERN,
    NVME_SYNC,
    NVME_IOPS,
    NVME_RATE,
    PAGE_CACHE,
    MODERN_DATASTORE,
    DECODE_MESSAGE,
    HANDOFF,
    HANDOFFS,
    RECEIVE_WORK,
    DECODE_ENTRY,
    SHA256_NI,
    ENCODE_MESSAGE,
    ENCODE_ENTRY,
    HAS_ARC,
    GET_CPU,
    PUT_CPU,
)

# ----------------------------------------------------------------------------- go-testnet
TESTNET_CORES = Figure(
    "cores every node shares (GOMAXPROCS of the published runs)",
    4,
    "count",
    "measurement",
    "benchmark names end in -4 in the BenchmarkFixedDelay output of "
    "https://github.com/ipfs/go-bitswap/pull/281 (2020-03-10); whether those are hyper-threads "
    "is not said, so no capacity below 4 is assumed",
    sets="host.cores",
)
TESTNET_NOTHING = Figure(
    "crypto, framing, TCP, disk, encoding, block hashing",
    "none: messages are Go objects in an in-memory queue; MapDatastore",
    "",
    "code",
    "ipfs/go-bitswap internal/testnet/virtual.go, internal/testinstance/testinstance.go@v0.2.0; "
    "Stebalien in https://github.com/ipfs/go-bitswap/pull/307 ('doesn't even bother "
    "serializing')",
)
TESTNET_MESSAGE = Figure(
    "go-bitswap, per message received (hand-offs, maps, locks)",
    5,
    "µs",
    "derivation",
    "our estimate from 5-10 goroutine hand-offs of 0.1-0.5 µs plus map and lock work; no "
    "measurement found",
    2,
    10,
    sets="work.receive_message_s",
    estimate=True,
)
TESTNET_ENTRY = Figure(
    "go-bitswap, per entry, presence or block received (maps, wantlists; no decoding)",
    0.5,
    "µs",
    "derivation",
    "our estimate, from the per-entry decode cost with the decoding left out; no measurement found",
    0.3,
    1,
    sets="work.receive_entry_s",
    estimate=True,
)
TESTNET_SEND = Figure(
    "go-bitswap, per message sent",
    "nothing: the virtual network hands the message object over (Size() runs only when "
    "rate-limited, not charged)",
    "",
    "code",
    "ipfs/go-bitswap internal/testnet/virtual.go@v0.2.0",
)
_TESTNET_FIGURES = (TESTNET_CORES, TESTNET_NOTHING, TESTNET_MESSAGE, TESTNET_ENTRY, TESTNET_SEND)


def _number(x: float) -> str:
    """At most 3 significant digits, thousands separated, no trailing zeros."""
    if x == 0:
        return "0"
    digits = max(0, 2 - math.floor(math.log10(abs(x))))
    text = f"{round(x, digits):,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


# ------------------------------------------------------------------------------ range ends
RANGE_ENDS = ("fast", "slow")
"""The two ends of a preset's ranges :func:`at_range_end` takes."""


def at_range_end(figures: Sequence[Figure], end: str) -> tuple[Figure, ...]:
    """``figures`` with each one that sets a model field and has a range moved to the end of
    its range that makes the host fastest (``end="fast"``) or slowest (``"slow"``): the low
    end of a time (``*_s``), the high end of a rate, an IOPS figure or ``capacity_cores``.
    The others are unchanged. Every field at once: the corners of what the sources allow, not
    a likely machine."""
    if end not in RANGE_ENDS:
        raise ValueError(f"end must be one of {', '.join(RANGE_ENDS)}, got {end!r}")
    out = []
    for f in figures:
        if f.sets is not None and f.low is not None and f.high is not None:
            low_is_fast = f.sets.endswith("_s")
            value = f.low if low_is_fast == (end == "fast") else f.high
            assert not isinstance(f.value, str)  # a figure with a range is a number
            f = replace(
                f,
                value=value,
                source=f"{f.source}; here the {end} end of the range (p2plab-2020 takes "
                f"{_number(f.value)} {f.unit})",
            )
        out.append(f)
    return tuple(out)


def _p2plab(name: str, figures: Sequence[Figure], summary: str) -> HostPreset:
    return HostPreset(
        name,
        _spec(name, figures, cipher="secio"),
        _work(figures, "badger"),
        False,
        summary,
        tuple(figures),
    )


# ------------------------------------------------------------------------------ presets
def _presets() -> dict[str, HostPreset]:
    modern_spec = _spec("modern", _MODERN_FIGURES, cipher="tls")
    ends = {
        end: _p2plab(
            f"p2plab-2020-{end}",
            at_range_end(_P2PLAB_FIGURES, end),
            f"p2plab-2020 with every number that has a range at its {end} end (the envelope "
            "of what the sources allow; for sensitivity runs)",
        )
        for end in RANGE_ENDS
    }
    return {
        "ideal": HostPreset(
            "ideal", IDEAL, NO_WORK, False, "nothing costs anything (no host at all)", ()
        ),
        "p2plab-2020": _p2plab(
            "p2plab-2020",
            _P2PLAB_FIGURES,
            "a p2plab peer of the 2020 blog post: go-libp2p + go-bitswap, secio, mplex, badger "
            "with SyncWrites on EBS gp2, AWS m5.large (2 vCPU Skylake-SP, no SHA extensions), "
            "Go 1.13",
        ),
        "p2plab-2020-fast": ends["fast"],
        "p2plab-2020-slow": ends["slow"],
        "go-ipfs-2020": HostPreset(
            "go-ipfs-2020",
            _spec("go-ipfs-2020", _GO_IPFS_FIGURES, cipher="secio"),
            _work(_GO_IPFS_FIGURES, "flatfs"),
            False,
            "go-ipfs 0.4.23 on the same m5.large: secio, yamux, flatfs with sync on EBS gp2, "
            "ARC cache in front of Has",
            _GO_IPFS_FIGURES,
        ),
        "modern": HostPreset(
            "modern",
            modern_spec,
            _work(_MODERN_FIGURES, "flatfs"),
            False,
            "a 2 vCPU Ice Lake machine (m6i class, SHA extensions): TLS 1.3 AES-128-GCM, yamux, "
            "flatfs with sync on local NVMe",
            _MODERN_FIGURES,
        ),
        "go-testnet": HostPreset(
            "go-testnet",
            _spec("go-testnet", _TESTNET_FIGURES),
            _work(_TESTNET_FIGURES, "memory"),
            True,
            "go-bitswap's virtual-network benchmarks: every node in one process on one 4-core "
            "machine; no crypto, disk, encoding or hashing, only go-bitswap's processing per "
            "message and per entry",
            _TESTNET_FIGURES,
        ),
    }


PRESETS: Mapping[str, HostPreset] = MappingProxyType(_presets())
"""Preset name -> :class:`HostPreset`."""


def preset(name: str) -> HostPreset:
    """The preset called ``name``; a ValueError listing the presets otherwise."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown host preset {name!r}; allowed: {', '.join(PRESETS)}") from None


# ------------------------------------------------------------------------------ tables
def preset_table(p: HostPreset) -> str:
    """``p``'s figures as the markdown table ``docs/host.md`` shows (parameter | value | range
    | unit | kind | source); a figure that sets a model field names it."""
    rows = [
        "| parameter | value | range | unit | kind | source |",
        "|---|---|---|---|---|---|",
    ]
    for f in p.figures:
        name = f.parameter + (f" → `{f.sets}`" if f.sets else "")
        if isinstance(f.value, str):
            value, span = f.value, "—"
        else:
            value = _number(f.value)
            span = "—" if f.low is None or f.high is None else f"{_number(f.low)}–{_number(f.high)}"
        kind = f.kind + (" (estimate)" if f.estimate else "")
        source = f.source.replace("|", "\\|")
        rows.append(f"| {name} | {value} | {span} | {f.unit or '—'} | {kind} | {source} |")
    return "\n".join(rows)
