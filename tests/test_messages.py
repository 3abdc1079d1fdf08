"""Wire messages: merge rules, encoded sizes (docs/reference/protocol.md, from go-bitswap
message/pb/message.proto@v0.1.8 and @v0.2.0), kind labels."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.messages import (
    BLOCK,
    CANCEL,
    DONT_HAVE,
    EMPTY,
    HAVE,
    KINDS,
    MAX_PRIORITY,
    WANT_BLOCK,
    WANT_HAVE,
    Entry,
    Message,
    PresenceType,
    WantType,
    account,
    block_overhead_bytes,
    block_wire_size,
    broadcast_entry,
    cancel_entry,
    count_entries,
    entry_counts,
    entry_size_poc_limit,
    entry_wire_size,
    message_kind,
    message_size_poc_limit,
    payload_bytes,
    presence_wire_size,
    proto_size,
    uvarint_len,
    want_entry,
    wire_size,
)

P = MAX_PRIORITY - 3  # a typical priority: 5-byte varint


# ------------------------------------------------------------------ a reference encoder


def _varint(x: int) -> bytes:
    out = bytearray()
    while True:
        b = x & 0x7F
        x >>= 7
        if x:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _ld(field_no: int, payload: bytes) -> bytes:
    return bytes([field_no << 3 | 2]) + _varint(len(payload)) + payload


def _vf(field_no: int, value: int) -> bytes:
    """proto3 varint field, omitted when 0; negative int32 sign-extended to 64 bits."""
    if value == 0:
        return b""
    return bytes([field_no << 3]) + _varint(value & 0xFFFFFFFFFFFFFFFF)


def _encode(msg: Message, cid_version: int, protocol: str) -> bytes:
    """Byte-for-byte protobuf of a message with dummy CIDs, built field by field."""
    cid = b"\x01" * (34 if cid_version == 0 else 36)
    wl = b""
    for e in msg.entries.values():
        body = _ld(1, cid) + _vf(2, e.priority) + _vf(3, int(e.cancel))
        if protocol == "poc":
            body += _vf(4, int(e.want_type)) + _vf(5, int(e.send_dont_have))
        wl += _ld(1, body)
    wl += _vf(2, int(msg.full))
    out = _ld(1, wl)
    for d in msg.blocks.values():
        out += _ld(3, _ld(1, b"\x01\x70\x12\x20") + _ld(2, b"\x00" * d))
    for p in msg.presences.values():
        out += _ld(4, _ld(1, cid) + _vf(2, int(p)))
    return out


# ------------------------------------------ the sizes table of docs/reference/protocol.md, exact


@pytest.mark.parametrize(
    ("entry", "protocol", "v0", "v1"),
    [
        (Entry(1, P), "master", 44, 46),  # master want
        (Entry(1, 0, cancel=True), "master", 40, 42),  # master cancel
        (want_entry(1, P, WantType.Block), "poc", 46, 48),  # want-block + sendDontHave
        (want_entry(1, P, WantType.Have), "poc", 48, 50),  # want-have + sendDontHave
        (broadcast_entry(1, P, WantType.Have), "poc", 46, 48),  # broadcast want-have
        (Entry(1, 0, cancel=True), "poc", 40, 42),  # poc cancel
    ],
)
def test_entry_sizes_match_reference_table(entry, protocol, v0, v1):
    assert entry_wire_size(entry, 0, protocol) == v0
    assert entry_wire_size(entry, 1, protocol) == v1


def test_presence_sizes_match_reference_table():
    assert presence_wire_size(PresenceType.Have, 0) == 38
    assert presence_wire_size(PresenceType.Have, 1) == 40
    assert presence_wire_size(PresenceType.DontHave, 0) == 40
    assert presence_wire_size(PresenceType.DontHave, 1) == 42


@pytest.mark.parametrize(
    ("data_bytes", "overhead"),
    [(1, 10), (3, 10), (119, 10), (120, 11), (127, 11), (800, 12), (8000, 12), (262_158, 14)],
)
def test_block_overhead(data_bytes, overhead):
    assert block_overhead_bytes(data_bytes) == overhead
    assert block_wire_size(data_bytes) == data_bytes + overhead


def test_master_ignores_poc_only_fields():
    e = want_entry(1, P, WantType.Have)
    assert entry_wire_size(e, 1, "master") == 46


def test_priority_field_widths():
    base = 2 + 38  # framing + CIDv1 field
    assert entry_wire_size(Entry(1, 1), 1, "master") == base + 2
    assert entry_wire_size(Entry(1, 200), 1, "master") == base + 3
    assert entry_wire_size(Entry(1, -1), 1, "master") == base + 11


def test_wrapper_full_flag_and_length_prefix():
    empty = Message()
    assert proto_size(empty, 1, "poc") == 2  # non-nullable wantlist wrapper
    assert wire_size(empty, 1, "poc") == 3  # + 1 B length prefix
    assert proto_size(Message(full=True), 1, "poc") == 4
    # one block of 8000 B: wrapper 2 + block 8012; prefix uvarint(8014) = 2 B
    m = Message()
    m.add_block(7, 8000)
    assert proto_size(m, 0, "poc") == 8014
    assert wire_size(m, 0, "poc") == 8016
    # a 256 KiB leaf: 262158 + 14 + 2 = 262174 -> 3 B prefix
    m = Message()
    m.add_block(7, 262_158)
    assert wire_size(m, 1, "poc") == 262_174 + 3


def test_single_entry_message():
    m = Message()
    m.add_entry(1, P, WantType.Block, True)
    assert proto_size(m, 1, "poc") == 2 + 48
    assert wire_size(m, 1, "poc") == 2 + 48 + 1


def test_unknown_protocol_or_version_rejected():
    with pytest.raises(ValueError, match="protocol"):
        wire_size(Message(), 1, "bogus")
    with pytest.raises(ValueError, match="cid_version"):
        entry_wire_size(Entry(1, P), 2, "poc")


def test_master_cannot_carry_presences():
    m = Message()
    m.add_have(1)
    with pytest.raises(ValueError, match="presences"):
        wire_size(m, 1, "master")


def test_poc_size_limit_counts_like_go():
    m = Message()
    m.add_entry(1, P, WantType.Block, True)  # 46 B without framing (CIDv1)
    m.add_have(2)  # BlockPresenceSize = cid field = 38 B
    m.add_dont_have(3)  # also 38 B: go sizes every presence as a HAVE
    m.add_block(4, 8000)  # raw data only
    assert message_size_poc_limit(m, 1) == 46 + 38 + 38 + 8000
    assert message_size_poc_limit(m, 0) == 44 + 36 + 36 + 8000
    assert entry_size_poc_limit(want_entry(1, P, WantType.Block), 1) == 46
    assert payload_bytes(m) == 8000


# ------------------------------------------------------------------ against the reference encoder

entries_st = st.builds(
    Entry,
    cid=st.integers(0, 10**6),
    priority=st.one_of(st.just(0), st.integers(-(2**31), 2**31 - 1)),
    cancel=st.booleans(),
    want_type=st.sampled_from(WantType),
    send_dont_have=st.booleans(),
)


@st.composite
def messages(draw, with_presences=True):
    m = Message(full=draw(st.booleans()))
    for e in draw(st.lists(entries_st, max_size=30)):
        m.entries[e.cid] = e
    blocks = draw(st.dictionaries(st.integers(0, 50), st.integers(0, 70_000), max_size=4))
    for cid, size in blocks.items():
        m.add_block(cid, size)
    if with_presences:
        presences = draw(st.dictionaries(st.integers(0, 50), st.sampled_from(PresenceType)))
        for cid, p in presences.items():
            m.add_presence(cid, p)
    return m


@given(messages(), st.sampled_from([0, 1]))
def test_poc_sizes_equal_reference_encoding(msg, cid_version):
    raw = _encode(msg, cid_version, "poc")
    assert proto_size(msg, cid_version, "poc") == len(raw)
    assert wire_size(msg, cid_version, "poc") == len(raw) + len(_varint(len(raw)))


@given(messages(with_presences=False), st.sampled_from([0, 1]))
def test_master_sizes_equal_reference_encoding(msg, cid_version):
    assert proto_size(msg, cid_version, "master") == len(_encode(msg, cid_version, "master"))


@given(st.integers(0, 2**64))
def test_uvarint_len(x):
    assert uvarint_len(x) == len(_varint(x))


# ------------------------------------------------------------------ merge rules (message.go@v0.2.0)


def test_new_entry_is_reported_and_kept_in_insertion_order():
    m = Message()
    assert m.add_entry(5, 10)
    assert m.add_entry(3, 9, WantType.Have)
    assert not m.add_entry(5, 8)
    assert list(m.entries) == [5, 3]


def test_priority_updated_only_for_same_want_type():
    m = Message()
    m.add_entry(1, 10, WantType.Have)
    m.add_entry(1, 20, WantType.Have)
    assert m.entries[1].priority == 20
    m.add_entry(2, 10, WantType.Block)
    m.add_entry(2, 20, WantType.Have)
    assert m.entries[2].priority == 10
    assert m.entries[2].want_type == WantType.Block


def test_want_block_overrides_want_have_keeping_priority():
    m = Message()
    m.add_entry(1, 10, WantType.Have)
    m.add_entry(1, 20, WantType.Block)
    assert m.entries[1].want_type == WantType.Block
    assert m.entries[1].priority == 10


def test_cancel_only_turns_on():
    m = Message()
    m.add_cancel(1)
    m.add_entry(1, 20, WantType.Block)
    e = m.entries[1]
    assert e.cancel
    assert e.priority == 20  # same want type (Block) -> priority updated
    m.add_entry(2, 5)
    m.add_cancel(2)
    assert m.entries[2].cancel
    assert m.entries[2].priority == 0


def test_send_dont_have_only_turns_on():
    m = Message()
    m.add_entry(1, 10, WantType.Block, True)
    m.add_entry(1, 10, WantType.Block, False)
    assert m.entries[1].send_dont_have
    m.add_entry(2, 10, WantType.Have, False)
    m.add_entry(2, 10, WantType.Have, True)
    assert m.entries[2].send_dont_have


def test_master_last_write_wins():
    m = Message()
    assert m.add_entry_master(1, 10)
    assert not m.add_entry_master(1, 0, cancel=True)
    assert m.entries[1] == cancel_entry(1)
    m.add_entry_master(1, 7)
    assert m.entries[1] == Entry(1, 7)


def test_block_removes_presence():
    m = Message()
    m.add_have(1)
    m.add_dont_have(2)
    m.add_block(1, 100)
    assert 1 not in m.presences
    assert m.presences == {2: PresenceType.DontHave}
    assert m.blocks == {1: 100}


def test_presence_not_added_when_block_present():
    m = Message()
    m.add_block(1, 100)
    assert not m.add_have(1)
    assert not m.add_dont_have(1)
    assert m.presences == {}
    assert m.add_have(2)
    assert m.add_dont_have(2)  # a later presence replaces an earlier one
    assert m.presences == {2: PresenceType.DontHave}


def test_is_empty():
    m = Message(full=True)
    assert m.is_empty()
    m.add_have(1)
    assert not m.is_empty()


# ------------------------------------------------------------------ kinds


def _msg(entries=(), blocks=(), presences=()):
    m = Message()
    for e in entries:
        m.entries[e.cid] = e
    for c in blocks:
        m.add_block(c, 10)
    for c, p in presences:
        m.add_presence(c, p)
    return m


H, D = PresenceType.Have, PresenceType.DontHave


@pytest.mark.parametrize(
    ("msg", "kind"),
    [
        (_msg(blocks=[1], presences=[(2, H)], entries=[Entry(3, P)]), BLOCK),
        (_msg(presences=[(1, H), (2, H), (3, D)]), HAVE),
        (_msg(presences=[(1, H), (2, D), (3, D)]), DONT_HAVE),
        (_msg(presences=[(1, D), (2, H)]), DONT_HAVE),  # tie -> first
        (_msg(presences=[(1, H), (2, D)]), HAVE),
        (_msg(entries=[cancel_entry(1), Entry(2, P, want_type=WantType.Have)]), WANT_HAVE),
        (_msg(entries=[Entry(1, P, want_type=WantType.Have), Entry(2, P)]), WANT_BLOCK),
        (
            _msg(entries=[cancel_entry(1), Entry(2, 0, cancel=True, want_type=WantType.Have)]),
            CANCEL,
        ),
        (Message(), EMPTY),
    ],
)
def test_message_kind(msg, kind):
    assert message_kind(msg) == kind


def test_entry_counts():
    m = _msg(
        entries=[
            Entry(1, P),
            Entry(2, P, want_type=WantType.Have),
            Entry(3, P, want_type=WantType.Have),
            Entry(4, 0, cancel=True, want_type=WantType.Have),
        ],
        blocks=[10, 11],
        presences=[(20, H), (21, D), (22, D)],
    )
    assert entry_counts(m) == {
        WANT_BLOCK: 1,
        WANT_HAVE: 2,
        CANCEL: 1,
        BLOCK: 2,
        HAVE: 1,
        DONT_HAVE: 2,
    }
    assert set(entry_counts(Message())) == set(KINDS)


@given(messages(), st.lists(st.sampled_from(KINDS), max_size=3))
def test_count_entries_is_entry_counts_plus_message_kind(msg, seen):
    """The one-pass accounting adds what ``entry_counts`` counts (non-zero kinds, in KINDS
    order after the kinds already there) and returns ``message_kind``."""
    into = {k: 1 for k in seen}
    expected = dict(into)
    for kind, n in entry_counts(msg).items():
        if n:
            expected[kind] = expected.get(kind, 0) + n
    assert count_entries(msg, into) == message_kind(msg)
    assert list(into.items()) == list(expected.items())


def _counts_by_hand(msg: Message) -> tuple[tuple[str, int], ...]:
    """Non-zero counts per kind, in KINDS order, one entry at a time."""
    n = dict.fromkeys(KINDS, 0)
    for e in msg.entries.values():
        n[CANCEL if e.cancel else WANT_HAVE if e.want_type == WantType.Have else WANT_BLOCK] += 1
    n[BLOCK] = len(msg.blocks)
    for p in msg.presences.values():
        n[HAVE if p == PresenceType.Have else DONT_HAVE] += 1
    return tuple((k, c) for k, c in n.items() if c)


@given(messages(), st.sampled_from([0, 1]))
def test_account_is_wire_size_kind_and_counts(msg, cid_version):
    """The one-pass send accounting against independent references: the reference encoder
    for the size, one count per entry for the counts, and ``message_kind`` (whose rule
    ``test_message_kind`` works by hand)."""
    raw = _encode(msg, cid_version, "poc")
    assert account(msg, cid_version, "poc") == (
        len(raw) + len(_varint(len(raw))),
        message_kind(msg),
        _counts_by_hand(msg),
    )
    added: dict[str, int] = {"cancel": 1}
    for k, n in account(msg, cid_version, "poc")[2]:
        added[k] = added.get(k, 0) + n
    expected = {"cancel": 1}
    count_entries(msg, expected)
    assert list(added.items()) == list(expected.items())


@given(messages(with_presences=False), st.sampled_from([0, 1]))
def test_account_master(msg, cid_version):
    raw = _encode(msg, cid_version, "master")
    assert account(msg, cid_version, "master") == (
        len(raw) + len(_varint(len(raw))),
        message_kind(msg),
        _counts_by_hand(msg),
    )


def test_entry_factories_build_what_their_names_say():
    """``want_entry`` asks for DONT_HAVE, ``broadcast_entry`` does not, ``cancel_entry`` is
    ``Cancel``; the constructor takes the flags by keyword only."""
    assert want_entry(3, 9, WantType.Have) == Entry(
        3, 9, want_type=WantType.Have, send_dont_have=True
    )
    assert broadcast_entry(3, 9, WantType.Have) == Entry(3, 9, want_type=WantType.Have)
    assert cancel_entry(3) == Entry(3, 0, cancel=True)
    with pytest.raises(TypeError):
        Entry(3, 9, False)
