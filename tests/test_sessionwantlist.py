"""CID -> sessions (``internal/sessionwantlist/sessionwantlist.go@v0.2.0``)."""

from hypothesis import given
from hypothesis import strategies as st

from models.poc.sessionwantlist import SessionWantlist

ops = st.lists(
    st.tuples(st.sampled_from(["add", "remove_keys", "remove_session", "remove_session_keys"]),
              st.integers(0, 3), st.lists(st.integers(0, 12), max_size=5)),
    max_size=20,
)  # fmt: skip


@given(ops, st.integers(0, 3), st.lists(st.integers(0, 12), max_size=12))
def test_filter_session_is_session_has_per_cid(ops, session, cids):
    swl = SessionWantlist()
    for op, s, keys in ops:
        if op == "add":
            swl.add(keys, s)
        elif op == "remove_keys":
            swl.remove_keys(keys)
        elif op == "remove_session":
            swl.remove_session(s)
        else:
            swl.remove_session_keys(s, keys)
    assert swl.filter_session(session, cids) == [c for c in cids if swl.session_has(session, c)]
