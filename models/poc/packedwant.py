"""A recorded want, its priority and want type, packed into one int:
``priority * 2 + want_type``.

poc records a ``wantlist.Entry`` (``wantlist/wantlist.go@v0.2.0``) per pair of peers and CID,
on both sides: in the sender's message queue (``recallWantlist``) and in the receiver's ledger.
At the memory peak of a 64-leech run there are 1.2 million on each side. A ``(priority,
want type)`` tuple costs 56 bytes and keeps its priority int (32 bytes) alive; a packed want is
one int of 32 bytes (docs/performance.md, "Memory").

``WantType.Block`` is 0 and ``WantType.Have`` is 1, so ``packed & 1`` is the want type (1: a
want-have) and ``packed >> 1`` the priority (negative ones too: the shift is arithmetic).
Packed wants sort as their ``(priority, want type)`` tuples do. Hot loops inline these
functions.
"""

from __future__ import annotations

from models.messages import WantType

__all__ = ["WANT_TYPES", "pack_want", "unpack_want"]

WANT_TYPES = (WantType.Block, WantType.Have)
"""The want type of ``packed & 1``."""


def pack_want(priority: int, want_type: WantType) -> int:
    """One int for ``(priority, want_type)``."""
    return priority << 1 | want_type


def unpack_want(packed: int) -> tuple[int, WantType]:
    """``(priority, want_type)`` of a packed want."""
    return packed >> 1, WANT_TYPES[packed & 1]
