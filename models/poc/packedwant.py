"""A recorded want, its priority and want type, packed into one int
(``priority * 2 + want_type``), and :class:`WantTable`, a peer's recorded wants by CID.

poc records a ``wantlist.Entry`` (``wantlist/wantlist.go@v0.2.0``) per pair of peers and CID,
on both sides: in the sender's message queue (``recallWantlist``) and in the receiver's ledger.
At the memory peak of a 64-leech run there are 1.2 million on each side, the largest state of
a big poc run. As a dict of ``(priority, want type)`` tuples each cost about 120 bytes; as a
dict of packed ints about 65; in a :class:`WantTable` 8 bytes per CID of the range the pair
wants (docs/performance.md, "Memory").

``WantType.Block`` is 0 and ``WantType.Have`` is 1, so ``packed & 1`` is the want type (1: a
want-have) and ``packed >> 1`` the priority (negative ones too: the shift is arithmetic).
Packed wants sort as their ``(priority, want type)`` tuples do. Hot loops inline these
functions.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from models.messages import WantType

__all__ = ["WANT_TYPES", "WantTable", "pack_want", "unpack_want"]

WANT_TYPES = (WantType.Block, WantType.Have)
"""The want type of ``packed & 1``."""


def pack_want(priority: int, want_type: WantType) -> int:
    """One int for ``(priority, want_type)``."""
    return priority << 1 | want_type


def unpack_want(packed: int) -> tuple[int, WantType]:
    """``(priority, want_type)`` of a packed want."""
    return packed >> 1, WANT_TYPES[packed & 1]


_WANT_BLOCK = WantType.Block  # a module name: reading an enum member costs a class lookup

_EMPTY = -(2**63)
"""A slot with no want (no packed want of an int32 priority comes near it)."""


class WantTable:
    """CID -> packed want: the wants one peer recorded for one other peer, with
    ``wantlist.go@v0.2.0``'s ``Add``, ``Remove`` and ``RemoveType``.

    An ``array`` of 8-byte ints indexed by ``cid - base``, where CIDs are the consecutive ints of
    :class:`models.dag.CidAllocator`. The array covers the range of CIDs recorded so far and
    grows at either end (doubling); an empty table moves its range to the next CID recorded, so
    a peer that fetches one object after another keeps a table the size of one object. The cost
    is 8 bytes for every CID of the range, recorded or not: a dict is smaller only when fewer
    than about one CID in eight of the range is recorded (a pair holding a few wants far
    apart). Iteration goes in CID order (Go iterates a map: any order).
    """

    __slots__ = ("_base", "_slots")

    def __init__(self) -> None:
        self._base = 0
        self._slots = array("q")

    def __len__(self) -> int:
        """Counted on demand (at C speed): the hot methods keep no count."""
        slots = self._slots
        return len(slots) - slots.count(_EMPTY)

    def __contains__(self, cid: int) -> bool:
        return self.get(cid) is not None

    def get(self, cid: int) -> int | None:
        """The packed want recorded for ``cid``, or None."""
        i = cid - self._base
        slots = self._slots
        if 0 <= i < len(slots):
            want = slots[i]
            if want != _EMPTY:
                return want
        return None

    def add(self, cid: int, want: int) -> bool:
        """``Add``: record ``want`` unless ``cid`` has a want-block recorded or ``want`` is a
        want-have over a recorded want-have (which keeps its first priority). True if
        recorded."""
        i = cid - self._base
        slots = self._slots
        if not 0 <= i < len(slots):
            i = self._cover(cid)
            slots = self._slots
        old = slots[i]
        if old == _EMPTY or (old & 1 and not want & 1):  # a want-block replaces a want-have
            slots[i] = want
            return True
        return False

    def pop(self, cid: int) -> int | None:
        """``Remove``: forget ``cid``'s want of any type; the want, or None."""
        i = cid - self._base
        slots = self._slots
        if 0 <= i < len(slots):
            want = slots[i]
            if want != _EMPTY:
                slots[i] = _EMPTY
                return want
        return None

    def remove_type(self, cid: int, want_type: WantType) -> bool:
        """``RemoveType``: forget ``cid``'s want, unless ``want_type`` is want-have and the
        want is a want-block. True if removed."""
        i = cid - self._base
        slots = self._slots
        if 0 <= i < len(slots):
            want = slots[i]
            if want != _EMPTY and (want & 1 or want_type == _WANT_BLOCK):
                slots[i] = _EMPTY
                return True
        return False

    def items(self) -> Iterator[tuple[int, int]]:
        """``(cid, packed want)`` pairs in CID order."""
        base = self._base
        return ((base + i, want) for i, want in enumerate(self._slots) if want != _EMPTY)

    def __iter__(self) -> Iterator[int]:
        return (cid for cid, _ in self.items())

    def _cover(self, cid: int) -> int:
        """Grow (or, when empty, move) the range to hold ``cid``; its index."""
        slots = self._slots
        if not len(self):
            self._base = cid
            if not slots:
                self._slots = array("q", [_EMPTY]) * 64
            return 0
        end = self._base + len(slots)
        if cid >= end:
            slots.extend(array("q", [_EMPTY]) * max(cid + 1 - end, len(slots)))
            return cid - self._base
        grow = max(self._base - cid, len(slots))
        self._slots = array("q", [_EMPTY]) * grow + slots
        self._base -= grow
        return cid - self._base

    def __repr__(self) -> str:
        return f"WantTable({dict(self.items())!r})"
