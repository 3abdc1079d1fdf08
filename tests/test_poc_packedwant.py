"""A recorded want packed into one int (models/poc/packedwant.py): it unpacks to what was
packed and sorts as the (priority, want type) tuple, which the message queue's priority order
relies on (messagequeue.go@v0.2.0 extractOutgoingMessage sorts by priority)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.messages import MAX_PRIORITY, WantType
from models.poc.packedwant import WantTable, pack_want, unpack_want

_want = st.tuples(st.integers(-(2**40), 2**40), st.sampled_from(list(WantType)))


@given(_want)
def test_round_trip(want):
    priority, want_type = unpack_want(pack_want(*want))
    assert (priority, want_type) == want and type(want_type) is WantType


@given(_want, _want)
def test_order_is_the_tuples_order(a, b):
    assert (pack_want(*a) < pack_want(*b)) == (a < b)


def test_the_low_bit_is_one_for_a_want_have():
    assert pack_want(MAX_PRIORITY, WantType.Have) & 1 == 1
    assert pack_want(MAX_PRIORITY, WantType.Block) & 1 == 0
    assert pack_want(MAX_PRIORITY, WantType.Block) >> 1 == MAX_PRIORITY


class _GoWantlist:
    """The reference: wantlist.go@v0.2.0 as a dict (Add, Remove, RemoveType)."""

    def __init__(self) -> None:
        self.wants: dict[int, int] = {}

    def add(self, cid: int, want: int) -> bool:
        old = self.wants.get(cid)
        if old is not None and (not old & 1 or want & 1):  # a want-block stays; have over have
            return False
        self.wants[cid] = want
        return True

    def pop(self, cid: int) -> int | None:
        return self.wants.pop(cid, None)

    def remove_type(self, cid: int, want_type: WantType) -> bool:
        old = self.wants.get(cid)
        if old is None or (not old & 1 and want_type == WantType.Have):  # a want-block stays
            return False
        del self.wants[cid]
        return True


# CIDs spread wide, so that tables grow at both ends and move when empty
_table_op = st.tuples(
    st.sampled_from(["add", "pop", "remove_type"]),
    st.integers(0, 400),
    st.integers(-5, 5),
    st.sampled_from(list(WantType)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_table_op, max_size=60))
def test_want_table_behaves_as_gos_wantlist(ops):
    """WantTable (an array by CID) against Go's Add / Remove / RemoveType on a map."""
    table, ref = WantTable(), _GoWantlist()
    for op, cid, priority, want_type in ops:
        if op == "add":
            want = pack_want(priority, want_type)
            assert table.add(cid, want) == ref.add(cid, want)
        elif op == "pop":
            assert table.pop(cid) == ref.pop(cid)
        else:
            assert table.remove_type(cid, want_type) == ref.remove_type(cid, want_type)
        assert dict(table.items()) == ref.wants
        assert [c for c, _ in table.items()] == sorted(ref.wants)  # CID order
        assert len(table) == len(ref.wants) and bool(table) == bool(ref.wants)
        for probe in (cid, cid - 1, cid + 1, -1, 10**6):
            assert table.get(probe) == ref.wants.get(probe)
            assert (probe in table) == (probe in ref.wants)


def test_a_want_table_is_the_size_of_the_range_it_holds():
    """8 bytes per CID of the range recorded; an emptied table moves to the next CID."""
    table = WantTable()
    for cid in range(1000, 1400):
        table.add(cid, pack_want(1, WantType.Have))
    assert 400 <= len(table._slots) <= 800
    for cid in range(1000, 1400):
        table.pop(cid)
    table.add(90_000, pack_want(1, WantType.Block))
    assert len(table._slots) <= 800 and list(table) == [90_000]
