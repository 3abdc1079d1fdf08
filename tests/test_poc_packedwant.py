"""A recorded want packed into one int (models/poc/packedwant.py): it unpacks to what was
packed and sorts as the (priority, want type) tuple, which the message queue's priority order
relies on (messagequeue.go@v0.2.0 extractOutgoingMessage sorts by priority)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from models.messages import MAX_PRIORITY, WantType
from models.poc.packedwant import pack_want, unpack_want

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
