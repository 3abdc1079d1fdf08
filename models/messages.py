"""Bitswap wire messages, their merge rules and their encoded sizes in bytes.

A :class:`Message` holds wantlist entries, blocks (as ``cid -> size in bytes``) and block
presences (HAVE / DONT_HAVE), each keyed by CID (a small int) in insertion order. Its methods
follow the merge rules of poc ``message/message.go@v0.2.0``; :meth:`Message.add_entry_master`
follows master's ``message/message.go@v0.1.8``.

Sizes follow the protobuf schema (``message/pb/message.proto@v0.1.8`` and ``@v0.2.0``) and the
proto3/gogo encoding rules: a length-delimited field costs tag (1 B) + uvarint(len) + len, an int
costs tag + varint(value) and is omitted when 0, a bool or enum costs 2 B when set and nothing
when false/0. The whole protobuf goes on the stream behind a uvarint length prefix
(``write`` in ``message/message.go@v0.2.0``). ``protocol`` is the *sender's* code version
(``"master"`` = v0.1.8 schema without ``wantType``/``sendDontHave``/``blockPresences``, ``"poc"``
= v0.2.0 schema); a v0.2.0 peer encodes with the new schema even towards a 1.1.0 peer
(``network/ipfs_impl.go@v0.2.0`` uses ``ToNetV1`` for both).

Resulting sizes (bytes on the wire, incl. the 2 B repeated-field framing), CIDv0 / CIDv1, worked
out field by field in ``docs/reference/protocol.md``:

===========================================  =====  =====
master want (cid + priority ~MaxInt32)          44     46
master / poc cancel (priority 0 omitted)        40     42
poc want-block, sendDontHave                    46     48
poc want-have, sendDontHave                     48     50
poc broadcast want-have (no sendDontHave)       46     48
HAVE presence                                   38     40
DONT_HAVE presence                              40     42
===========================================  =====  =====

A block costs its data plus :func:`block_overhead_bytes` (10 B up to 119 B of data, 12 B for
8 000 B, 14 B for a 262 158 B unixfs leaf).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from enum import IntEnum

__all__ = [
    "BLOCK",
    "BLOCK_PREFIX_BYTES",
    "CANCEL",
    "CID_BYTES",
    "DONT_HAVE",
    "EMPTY",
    "HAVE",
    "KINDS",
    "MAX_PRIORITY",
    "PROTOCOLS",
    "PROTOCOL_MASTER",
    "PROTOCOL_POC",
    "WANT_BLOCK",
    "WANT_HAVE",
    "Entry",
    "Message",
    "PresenceType",
    "WantType",
    "account",
    "block_overhead_bytes",
    "block_wire_size",
    "broadcast_entry",
    "cancel_entry",
    "count_entries",
    "entry_counts",
    "entry_size_poc_limit",
    "entry_wire_size",
    "message_kind",
    "message_size_poc_limit",
    "payload_bytes",
    "presence_wire_size",
    "proto_size",
    "uvarint_len",
    "want_entry",
    "wire_size",
]


class WantType(IntEnum):
    """``Message.Wantlist.WantType`` (``message/pb/message.proto@v0.2.0``)."""

    Block = 0
    Have = 1


class PresenceType(IntEnum):
    """``Message.BlockPresenceType`` (``message/pb/message.proto@v0.2.0``)."""

    Have = 0
    DontHave = 1


# The members as plain module names: reading ``WantType.Block`` costs an enum class attribute
# lookup (about 0.4 µs in CPython 3.11, 15 times a global's).
_WANT_TYPE_BLOCK = WantType.Block
_WANT_TYPE_HAVE = WantType.Have
_PRESENCE_HAVE = PresenceType.Have
_PRESENCE_DONT_HAVE = PresenceType.DontHave

# Metric labels. EMPTY only labels a message with nothing in it (not expected from go-bitswap).
WANT_BLOCK = "want-block"
WANT_HAVE = "want-have"
CANCEL = "cancel"
BLOCK = "block"
HAVE = "have"
DONT_HAVE = "dont-have"
EMPTY = "empty"
KINDS: tuple[str, ...] = (WANT_BLOCK, WANT_HAVE, CANCEL, BLOCK, HAVE, DONT_HAVE)

PROTOCOL_MASTER = "master"
PROTOCOL_POC = "poc"
PROTOCOLS: tuple[str, ...] = (PROTOCOL_MASTER, PROTOCOL_POC)

MAX_PRIORITY = 2**31 - 1
"""Priorities count down from MaxInt32 (``wantmanager/wantmanager.go@v0.1.8``,
``internal/messagequeue/messagequeue.go@v0.2.0``)."""

CID_BYTES: dict[int, int] = {0: 34, 1: 36}
"""Binary CID length in bytes by CID version, sha2-256: v0 = multihash (2 + 32); v1 adds a
version and a codec byte (``docs/reference/protocol.md``, "CID lengths")."""

BLOCK_PREFIX_BYTES = 4
"""``cid.Prefix().Bytes()`` = uvarint(version) + uvarint(codec) + uvarint(mh type) +
uvarint(mh length): 4 B for v0/v1, dag-pb (0x70) or raw (0x55), sha2-256 (0x12, 32)
(``message/message.go@v0.2.0`` ``ToProtoV1``)."""


@dataclass(slots=True)
class Entry:
    """One wantlist entry (``Message.Wantlist.Entry``, ``message/pb/message.proto@v0.2.0``).

    ``priority`` is an int32 (higher first); master entries always have ``want_type=Block`` and
    ``send_dont_have=False``. The flags are keyword-only: ``Entry(cid, priority, cancel=True)``.
    One entry is built per want sent, so the hot paths use the factories :func:`want_entry`,
    :func:`broadcast_entry` and :func:`cancel_entry`: they name what they build and cost less
    than this constructor (a call with keyword arguments costs about twice one with positional
    arguments on CPython 3.11).
    """

    cid: int
    priority: int
    _: KW_ONLY
    cancel: bool = False
    want_type: WantType = WantType.Block
    send_dont_have: bool = False


_new = object.__new__


def want_entry(cid: int, priority: int, want_type: WantType) -> Entry:
    """A want that asks for a DONT_HAVE if the peer lacks the block: poc's want-blocks and
    want-haves to one peer (``AddEntry(c, priority, wantType, true)`` in
    ``extractOutgoingMessage``, ``internal/messagequeue/messagequeue.go@v0.2.0``)."""
    e = _new(Entry)
    e.cid = cid
    e.priority = priority
    e.cancel = False
    e.want_type = want_type
    e.send_dont_have = True
    return e


def broadcast_entry(cid: int, priority: int, want_type: WantType) -> Entry:
    """A want without ``sendDontHave``: poc's broadcast want-haves, sent as want-blocks to a
    1.1.0 peer (``AddEntry(c, priority, wantType, false)`` in ``extractOutgoingMessage``,
    ``internal/messagequeue/messagequeue.go@v0.2.0``)."""
    e = _new(Entry)
    e.cid = cid
    e.priority = priority
    e.cancel = False
    e.want_type = want_type
    e.send_dont_have = False
    return e


def cancel_entry(cid: int) -> Entry:
    """A CANCEL: priority 0, want-block type, no ``sendDontHave`` (``Cancel``,
    ``message/message.go@v0.1.8`` and ``@v0.2.0``)."""
    e = _new(Entry)
    e.cid = cid
    e.priority = 0
    e.cancel = True
    e.want_type = _WANT_TYPE_BLOCK
    e.send_dont_have = False
    return e


@dataclass(slots=True, init=False)
class Message:
    """A Bitswap message. Entries, blocks and presences are dicts keyed by CID (insertion order).

    ``blocks`` maps cid -> block size in bytes (the block's raw data). ``full`` marks a full
    wantlist (the periodic rebroadcast). ``pendingBytes`` is not modelled: v0.2.0 drops it before
    sending (``sendBlocks``, ``workers.go@v0.2.0``; ``docs/reference/protocol.md``).
    """

    entries: dict[int, Entry] = field(default_factory=dict)
    full: bool = False
    blocks: dict[int, int] = field(default_factory=dict)
    presences: dict[int, PresenceType] = field(default_factory=dict)
    counts: tuple[tuple[str, int], ...] | None = field(default=None, compare=False, repr=False)
    """The message's non-zero :func:`entry_counts` as :func:`account` gives them, recorded when
    the message is sent so that the receiver adds the same counts without a second pass over
    the entries. ``None`` until then."""

    def __init__(
        self,
        entries: dict[int, Entry] | None = None,
        full: bool = False,
        blocks: dict[int, int] | None = None,
        presences: dict[int, PresenceType] | None = None,
    ) -> None:
        # Written out (the dataclass __init__ checks a sentinel per default_factory field):
        # one Message per message sent, so construction is hot.
        self.entries = {} if entries is None else entries
        self.full = full
        self.blocks = {} if blocks is None else blocks
        self.presences = {} if presences is None else presences
        self.counts = None

    def add_entry(
        self,
        cid: int,
        priority: int,
        want_type: WantType = WantType.Block,
        send_dont_have: bool = False,
        cancel: bool = False,
    ) -> bool:
        """Add a want or cancel, poc merge rules (``addEntry``, ``message/message.go@v0.2.0``).

        For a CID already in the message: the priority is only updated if the want type is the
        same; ``cancel`` and ``send_dont_have`` only ever turn on; want-block overrides an
        existing want-have (keeping the old priority). Returns True if a new entry was created
        (go returns the new entry's size, else 0; see :func:`entry_size_poc_limit`).
        """
        e = self.entries.get(cid)
        if e is None:
            e = self.entries[cid] = _new(Entry)
            e.cid = cid
            e.priority = priority
            e.cancel = cancel
            e.want_type = want_type
            e.send_dont_have = send_dont_have
            return True
        if e.want_type == want_type:
            e.priority = priority
        if cancel:
            e.cancel = True
        if send_dont_have:
            e.send_dont_have = True
        if want_type == _WANT_TYPE_BLOCK and e.want_type == _WANT_TYPE_HAVE:
            e.want_type = _WANT_TYPE_BLOCK
        return False

    def add_cancel(self, cid: int) -> bool:
        """Add a CANCEL: priority 0, want-block type, no sendDontHave (``Cancel``,
        ``message/message.go@v0.2.0``), merged with :meth:`add_entry`'s rules."""
        return self.add_entry(cid, 0, _WANT_TYPE_BLOCK, send_dont_have=False, cancel=True)

    def add_entry_master(self, cid: int, priority: int, cancel: bool = False) -> bool:
        """Add a want or cancel with master's rules: the last write wins for priority and cancel
        (``addEntry`` / ``Cancel``, ``message/message.go@v0.1.8``; a cancel has priority 0).

        Returns True if a new entry was created.
        """
        e = self.entries.get(cid)
        if cancel:
            priority = 0
            if e is None:
                self.entries[cid] = cancel_entry(cid)
                return True
        elif e is None:
            e = self.entries[cid] = _new(Entry)
            e.cid = cid
            e.priority = priority
            e.cancel = False
            e.want_type = _WANT_TYPE_BLOCK
            e.send_dont_have = False
            return True
        e.priority = priority
        e.cancel = cancel
        return False

    def add_block(self, cid: int, size_bytes: int) -> None:
        """Add a block of ``size_bytes``; drops any HAVE/DONT_HAVE for it (``AddBlock``,
        ``message/message.go@v0.2.0``)."""
        self.presences.pop(cid, None)
        self.blocks[cid] = size_bytes

    def add_presence(self, cid: int, presence: PresenceType) -> bool:
        """Add a HAVE/DONT_HAVE unless the block itself is in the message (``AddBlockPresence``,
        ``message/message.go@v0.2.0``; a later presence replaces an earlier one).
        Returns True if added."""
        if cid in self.blocks:
            return False
        self.presences[cid] = presence
        return True

    def add_have(self, cid: int) -> bool:
        """Add a HAVE (see :meth:`add_presence`)."""
        return self.add_presence(cid, _PRESENCE_HAVE)

    def add_dont_have(self, cid: int) -> bool:
        """Add a DONT_HAVE (see :meth:`add_presence`)."""
        return self.add_presence(cid, _PRESENCE_DONT_HAVE)

    def is_empty(self) -> bool:
        """No entries, blocks or presences (``Empty``, ``message/message.go@v0.2.0``)."""
        return not (self.entries or self.blocks or self.presences)


# --------------------------------------------------------------------------------------------
# Sizes


def uvarint_len(x: int) -> int:
    """Bytes of the protobuf (unsigned LEB128) varint of ``x >= 0``."""
    if x < 0x80:
        return 1
    if x < 0x4000:
        return 2
    if x < 0x200000:
        return 3
    if x < 0x10000000:
        return 4
    return (x.bit_length() + 6) // 7


def _priority_field(priority: int) -> int:
    """Bytes of the ``priority`` int32 field: omitted when 0; a negative int32 is sign-extended
    to a 10 B varint (proto3 int32 rules)."""
    if priority >= 0x10000000:
        return 6
    if priority > 0:
        return 1 + uvarint_len(priority)
    if priority == 0:
        return 0
    return 11


@dataclass(frozen=True, slots=True)
class _SizeTable:
    """Precomputed per-(cid version, protocol) byte costs."""

    entry_fixed: int  # 2 B framing + cid field (tag + len + cid)
    flags: tuple[int, ...]  # index cancel*4 + want_type*2 + send_dont_have -> bytes of flags
    presence: tuple[int, int]  # wire bytes of a HAVE, DONT_HAVE (incl. framing)
    has_presences: bool


def _make_table(cid_version: int, protocol: str) -> _SizeTable:
    cid_field = 2 + CID_BYTES[cid_version]  # tag + len (< 128) + cid
    poc = protocol == PROTOCOL_POC
    flags = tuple(
        2 * cancel + (2 * want_type + 2 * sdh if poc else 0)
        for cancel in (0, 1)
        for want_type in (0, 1)
        for sdh in (0, 1)
    )
    # BlockPresence{cid, type}: type Have=0 is omitted; + 2 B repeated-field framing.
    have = 2 + cid_field
    return _SizeTable(2 + cid_field, flags, (have, have + 2), poc)


_TABLES: dict[tuple[int, str], _SizeTable] = {
    (v, p): _make_table(v, p) for v in CID_BYTES for p in PROTOCOLS
}


def _table(cid_version: int, protocol: str) -> _SizeTable:
    try:
        return _TABLES[cid_version, protocol]
    except KeyError:
        raise ValueError(
            f"unknown cid_version={cid_version!r} / protocol={protocol!r}: "
            f"expected cid_version in {sorted(CID_BYTES)} and protocol in {PROTOCOLS}"
        ) from None


def entry_wire_size(entry: Entry, cid_version: int, protocol: str) -> int:
    """Bytes of one wantlist entry on the wire, incl. its 2 B framing in the repeated field.

    Entry fields (``message/pb/message.proto@v0.2.0``): block (cid bytes), priority (int32),
    cancel (bool), wantType (enum, poc only), sendDontHave (bool, poc only).
    """
    t = _table(cid_version, protocol)
    return (
        t.entry_fixed
        + _priority_field(entry.priority)
        + t.flags[entry.cancel * 4 + entry.want_type * 2 + entry.send_dont_have]
    )


def entry_size_poc_limit(entry: Entry, cid_version: int) -> int:
    """Bytes poc counts for an entry in its batching limit: the entry protobuf without framing
    (``entryToPB(e).Size()``, ``message/message.go@v0.2.0``; summed against the 2 MiB
    ``maxMessageSize`` in ``internal/messagequeue/messagequeue.go@v0.2.0``)."""
    return entry_wire_size(entry, cid_version, PROTOCOL_POC) - 2


def presence_wire_size(presence: PresenceType, cid_version: int) -> int:
    """Bytes of one block presence on the wire incl. framing: HAVE 38/40, DONT_HAVE 40/42
    (CIDv0/v1) (``BlockPresence``, ``message/pb/message.proto@v0.2.0``)."""
    return _table(cid_version, PROTOCOL_POC).presence[presence]


_BLOCK_FIXED = (2 + BLOCK_PREFIX_BYTES) + 1  # prefix field + data field tag


def block_wire_size(size_bytes: int) -> int:
    """Bytes of one block in ``payload`` (Bitswap 1.1.0+): ``Block{prefix, data}`` plus framing.

    prefix field = 1 + 1 + 4; data field = 1 + uvarint(d) + d; the ``Block`` in the repeated
    ``payload`` field = 1 + uvarint(inner) + inner (``message/message.go@v0.2.0`` ``ToProtoV1``,
    same in ``@v0.1.8``).
    """
    inner = _BLOCK_FIXED + uvarint_len(size_bytes) + size_bytes
    return 1 + uvarint_len(inner) + inner


def block_overhead_bytes(size_bytes: int) -> int:
    """Framing bytes a block of ``size_bytes`` adds on top of its data (10, 11, 12, 14 B…)."""
    return block_wire_size(size_bytes) - size_bytes


def proto_size(msg: Message, cid_version: int, protocol: str) -> int:
    """Bytes of the encoded protobuf, without the stream's uvarint length prefix.

    This is what go's test network charges against its rate limiter
    (``mes.ToProtoV1().Size()``, ``internal/testnet/virtual.go@v0.2.0``). The non-nullable
    ``wantlist`` wrapper is always encoded (≥ 2 B); ``full`` adds 2 B.
    """
    return _account(msg, cid_version, protocol)[0]


def wire_size(msg: Message, cid_version: int, protocol: str) -> int:
    """Bytes written to the stream: :func:`proto_size` + its uvarint length prefix (1–4 B)
    (``write``, ``message/message.go@v0.2.0``). libp2p muxer/security framing not included."""
    s = proto_size(msg, cid_version, protocol)
    return s + uvarint_len(s)


def message_size_poc_limit(msg: Message, cid_version: int = 1) -> int:
    """What ``Size()`` (``message/message.go@v0.2.0``) counts, used for batching limits: block
    raw data, each presence as ``BlockPresenceSize`` (the cid field only: 36/38 B for
    CIDv0/v1), each entry without its framing."""
    t = _table(cid_version, PROTOCOL_POC)
    size = sum(msg.blocks.values()) + len(msg.presences) * (t.entry_fixed - 2)
    entries = msg.entries
    if entries:
        flags = t.flags
        size += (t.entry_fixed - 2) * len(entries)
        for e in entries.values():
            size += flags[e.cancel * 4 + e.want_type * 2 + e.send_dont_have] + _priority_field(
                e.priority
            )
    return size


def payload_bytes(msg: Message) -> int:
    """Bytes of block data in the message (the rest of :func:`wire_size` is control bytes)."""
    return sum(msg.blocks.values())


# --------------------------------------------------------------------------------------------
# Metric labels


def entry_counts(msg: Message) -> dict[str, int]:
    """Count every entry, presence and block by kind (all six :data:`KINDS` keys present).

    A cancel entry counts as ``cancel`` whatever its want type.
    """
    counts = dict.fromkeys(KINDS, 0)
    counts.update(_account(msg, 1, PROTOCOL_POC)[2])
    return counts


def count_entries(msg: Message, into: dict[str, int]) -> str:
    """Add :func:`entry_counts` of ``msg`` to ``into`` (only kinds with a non-zero count, in
    :data:`KINDS` order) and return :func:`message_kind` of ``msg``."""
    _, kind, counts = _account(msg, 1, PROTOCOL_POC)
    for k, n in counts:
        into[k] = into.get(k, 0) + n
    return kind


def account(
    msg: Message, cid_version: int, protocol: str
) -> tuple[int, str, tuple[tuple[str, int], ...]]:
    """:func:`wire_size`, :func:`message_kind` and the non-zero :func:`entry_counts` (as
    ``(kind, count)`` pairs in :data:`KINDS` order) of ``msg``, in one pass over its entries:
    the per-message accounting of every send."""
    size, kind, counts = _account(msg, cid_version, protocol)
    return size + uvarint_len(size), kind, counts


def _account(
    msg: Message, cid_version: int, protocol: str
) -> tuple[int, str, tuple[tuple[str, int], ...]]:
    """:func:`proto_size`, :func:`message_kind` and the non-zero counts of ``msg`` in one pass:
    the one implementation of the sizes and counts (see the module docstring for the rules)."""
    t = _TABLES.get((cid_version, protocol)) or _table(cid_version, protocol)
    entries = msg.entries
    blocks = msg.blocks
    presences = msg.presences
    counts: list[tuple[str, int]] = []
    kind = EMPTY
    wl = 2 if msg.full else 0
    if entries:
        # by_flags[cancel * 4 + want_type * 2 + send_dont_have]: entries of each flag set
        by_flags = [0] * 8
        prio = 0
        for e in entries.values():
            by_flags[e.cancel * 4 + e.want_type * 2 + e.send_dont_have] += 1
            p = e.priority
            if p:
                prio += 6 if p >= 0x10000000 else _priority_field(p)
        flags = t.flags
        wl += t.entry_fixed * len(entries) + prio
        for i in range(8):
            if by_flags[i]:
                wl += by_flags[i] * flags[i]
        wb = by_flags[0] + by_flags[1]
        wh = by_flags[2] + by_flags[3]
        c = len(entries) - wb - wh
        if wb:
            counts.append((WANT_BLOCK, wb))
        if wh:
            counts.append((WANT_HAVE, wh))
        if c:
            counts.append((CANCEL, c))
        kind = WANT_BLOCK if wb else WANT_HAVE if wh else CANCEL
    size = 1 + uvarint_len(wl) + wl
    if blocks:
        for d in blocks.values():
            inner = _BLOCK_FIXED + d + (1 if d < 0x80 else uvarint_len(d))
            size += 1 + uvarint_len(inner) + inner
        counts.append((BLOCK, len(blocks)))
    if presences:
        if not t.has_presences:
            raise ValueError("master (v0.1.8) messages cannot carry block presences")
        dh = sum(presences.values())
        h = len(presences) - dh
        size += t.presence[0] * len(presences) + 2 * dh
        if h:
            counts.append((HAVE, h))
        if dh:
            counts.append((DONT_HAVE, dh))
        if not blocks:
            if h == dh:
                kind = DONT_HAVE if next(iter(presences.values())) else HAVE
            else:
                kind = HAVE if h > dh else DONT_HAVE
    if blocks:
        kind = BLOCK
    return size, kind, tuple(counts)


def message_kind(msg: Message) -> str:
    """The one label a message is counted under.

    Any block -> ``block``; else presences -> ``have`` or ``dont-have`` by majority (a tie goes
    to the first presence's type); else entries -> ``want-block`` if any non-cancel want-block,
    else ``want-have`` if any non-cancel want-have, else ``cancel``. An empty message ->
    ``empty``.
    """
    return _account(msg, 1, PROTOCOL_POC)[1]
