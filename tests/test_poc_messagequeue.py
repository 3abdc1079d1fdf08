"""poc's message queue extraction (internal/messagequeue/messagequeue.go@v0.2.0
``extractOutgoingMessage``): the unsized fast path builds the same message as the sized one,
and the 2 MiB limit (here made tiny) cuts a message where Go's would stop."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.messages import Message, WantType
from models.poc.config import PocConfig
from models.poc.messagequeue import MessageQueue
from sim.network import Network


def _queue(supports_have: bool = True, **config: object) -> tuple[MessageQueue, list[Message]]:
    net = Network("fifo")
    net.add_node("a")
    net.add_node("b")
    net.connect("a", "b", latency_s=0.0)
    sent: list[Message] = []
    cfg = PocConfig(**config)  # type: ignore[arg-type]
    q = MessageQueue(
        net, "b", cfg, lambda dst, m: sent.append(m), supports_have, 1.0, lambda p, c: None, 1
    )
    return q, sent


def _fill(q: MessageQueue, ops: list[tuple[str, list[int]]]) -> None:
    for op, cids in ops:
        if op == "bcst":
            q.add_broadcast_want_haves(cids)
        elif op == "wb":
            q.add_wants(cids, [])
        elif op == "wh":
            q.add_wants([], cids)
        else:
            q.add_cancels(cids)


def _dump(m: Message) -> list[tuple[int, int, bool, WantType, bool]]:
    return [(c, e.priority, e.cancel, e.want_type, e.send_dont_have) for c, e in m.entries.items()]


_ops_st = st.lists(
    st.tuples(
        st.sampled_from(("bcst", "wb", "wh", "cancel")),
        st.lists(st.integers(0, 20), min_size=1, max_size=6),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(_ops_st, st.booleans())
def test_fast_extraction_equals_sized_extraction(ops, supports_have):
    fast, _ = _queue(supports_have)
    sized, _ = _queue(supports_have)
    _fill(fast, ops)
    _fill(sized, ops)
    assert fast._fits_whole()
    assert _dump(fast._extract_all()[0]) == _dump(sized._extract_sized())
    assert fast.bcst.pending == sized.bcst.pending
    assert fast.peer_wants.pending == sized.peer_wants.pending
    assert list(fast.peer_wants.all.items()) == list(sized.peer_wants.all.items())
    assert fast.cancels == sized.cancels


@settings(max_examples=200, deadline=None)
@given(_ops_st, st.booleans())
def test_whole_send_equals_sized_send(ops, supports_have):
    """Sending when everything fits (onSent clears the pending wants, DONT_HAVE timeouts only
    looked for when a want-block went out) leaves the same state as the sized, per-entry
    path."""
    fast, sent_fast = _queue(supports_have)
    sized, sent_sized = _queue(supports_have)
    sized._max_entry_bytes = 10**9  # always take the sized path
    for q in (fast, sized):
        _fill(q, ops)
        q._send_message()
    assert [_dump(m) for m in sent_fast] == [_dump(m) for m in sent_sized]
    assert fast.bcst.pending == sized.bcst.pending
    assert fast.peer_wants.pending == sized.peer_wants.pending
    assert list(fast.peer_wants.all.items()) == list(sized.peer_wants.all.items())
    assert fast.cancels == sized.cancels
    assert list(fast.dont_haves._active) == list(sized.dont_haves._active)
    assert fast._work_scheduled == sized._work_scheduled


def test_size_limit_cuts_the_message():
    """Entries are added while the counted size is below the limit (the last one overshoots);
    the rest stay pending for the next message. A CIDv1 want-have with a 5-byte priority and
    sendDontHave counts 38 (cid) + 6 (priority) + 2 (want type) + 2 (sendDontHave) = 48 B."""
    q, _ = _queue(max_message_size_bytes=100)
    q.add_wants([], list(range(5)))
    assert not q._fits_whole()
    assert list(q._extract_sized().entries) == [0, 1, 2]
    assert list(q.peer_wants.pending) == [0, 1, 2, 3, 4]  # removed once sent (_send_message)


@settings(max_examples=200, deadline=None)
@given(_ops_st, st.booleans(), st.integers(1, 4))
def test_add_cancel_equals_add_cancels_of_one(ops, supports_have, cutoff):
    """The one-CID cancel (a received block's cancel to each peer) does what ``add_cancels``
    does with that one CID: same state, same messages sent (a small cutoff makes it send)."""
    one, sent_one = _queue(supports_have, send_message_cutoff=cutoff)
    many, sent_many = _queue(supports_have, send_message_cutoff=cutoff)
    for op, cids in ops:
        if op == "cancel":
            for cid in cids:
                one.add_cancel(cid)
                many.add_cancels([cid])
        else:
            _fill(one, [(op, cids)])
            _fill(many, [(op, cids)])
        assert one._work_scheduled == many._work_scheduled
        assert one._debounce.deadline == many._debounce.deadline
    assert [_dump(m) for m in sent_one] == [_dump(m) for m in sent_many]
    assert one.cancels == many.cancels
    assert (
        list(one.bcst.all.items()) == list(many.bcst.all.items())
        and one.bcst.pending == many.bcst.pending
    )
    assert list(one.peer_wants.all.items()) == list(many.peer_wants.all.items())
    assert one.peer_wants.pending == many.peer_wants.pending
    assert list(one.dont_haves._active) == list(many.dont_haves._active)


def test_rebroadcast_resends_every_live_want_every_30_s():
    """messagequeue.go@v0.2.0 ``rebroadcastWantlist`` / ``transferRebroadcastWants``: every
    ``rebroadcastInterval`` (30 s) the queue copies every want it has sent (``bcstWants`` and
    ``peerWants``' ``allWants``) into pending and sends them again, with their priorities and
    types; cancelled wants are gone, and a want-have upgraded to a want-block goes as the
    want-block."""
    q, sent = _queue()
    net = q._net
    M = 2**31 - 1  # MAX_PRIORITY: the first want's priority
    q.add_broadcast_want_haves([7, 3])  # priorities M, M-1
    q.add_wants([5], [9])  # want-have 9: M-2, want-block 5: M-3
    q.add_wants([9], [])  # 9 upgraded to a want-block: M-4
    # a message lists broadcast wants, then peer wants, each by priority, highest first
    net.run(until=1.0)
    assert [_dump(m) for m in sent] == [
        [
            (7, M, False, WantType.Have, False),
            (3, M - 1, False, WantType.Have, False),
            (5, M - 3, False, WantType.Block, True),
            (9, M - 4, False, WantType.Block, True),
        ]
    ]
    q.add_cancels([3])
    net.run(until=29.0)
    assert [_dump(m)[0][:3] for m in sent[1:]] == [(3, 0, True)]
    net.run(until=31.0)
    assert len(sent) == 3
    assert _dump(sent[2]) == [
        (7, M, False, WantType.Have, False),
        (5, M - 3, False, WantType.Block, True),
        (9, M - 4, False, WantType.Block, True),
    ]
    assert net.now == 31.0 and q.pending_work_count() == 0
