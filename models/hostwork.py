"""Bitswap's own work on its host: decoding, hashing, the datastore.

:mod:`sim.host` charges what any networked program pays (the security transport's cipher, the
kernel, copies, a disk). This module names what go-bitswap itself does with each message, so a
peer can charge it to its node's host:

* **Decoding a received message** (``message.FromNet`` → ``newMessageFromProto``,
  ``message/message.go@v0.1.8`` and ``@v0.2.0``) and handing it through go-bitswap's
  goroutines (stream handler, ``ReceiveMessage``, the engine, the sessions): ``receive_message_s``
  per message plus ``receive_entry_s`` per wantlist entry, block presence and block.
* **Verifying every received block**: the decoder computes each payload block's CID from its
  data (``pref.Sum(b.GetData())`` in ``newMessageFromProto``), one SHA-256 over the whole block,
  duplicates included, at ``hash_Bps``.
* **Encoding a message sent** (``ToNetV1``): ``send_message_s`` plus ``send_entry_s`` per item.
* **The datastore**: ``Has`` / ``GetSize`` for every block received (the duplicate count,
  ``updateReceiveCounters`` / ``blockstoreHas`` in ``bitswap.go``) and every want received (the
  engine's ``getBlockSizes``, ``internal/decision/blockstoremanager.go@v0.2.0``), at
  ``has_s`` of CPU each; ``Get`` for every block sent (``getBlocks``), ``get_s`` of CPU plus a
  disk read; ``PutMany`` of the **wanted, new** blocks only (``receiveBlocksFrom``, and
  go-ipfs-blockstore's ``PutMany`` skips what it ``Has``), ``put_s`` of CPU per block plus the
  disk writes of the ``datastore``:

  - ``memory``: no disk (go-bitswap's benchmarks: a ``MapDatastore``);
  - ``badger``: one synchronous write of all the batch's bytes (badger v1.6 with
    ``SyncWrites``, what p2plab's peers used: ``peer/peer.go`` in Netflix/p2plab @81519ea);
  - ``flatfs``: per block a file written and synced, then a sync of its shard directory, and
    one sync of the root directory per batch: 2N + 1 syncs for N blocks (go-ds-flatfs
    ``flatfs.go@v0.0.2`` ``putMany``, go-ipfs 0.4.23's default ``/blocks`` with ``sync: true``).

  So a duplicate block costs the network, the cipher, the decoder and the hash, but never the
  disk, as in go-bitswap.

Where the costs land in the model: the receive work is part of the message's receive job on
the host (:meth:`sim.network.Network.on_receive`'s ``work``); the blocks of a message reach the
sessions only once ``PutMany`` has returned (go-bitswap calls ``sm.ReceiveFrom`` after it); the
engine's reads delay its response as the blockstore latency does.

Times in seconds of one core, rates in bytes per second of one core. The defaults cost nothing
(:data:`NO_WORK`); presets with their sources are in ``docs/host.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

__all__ = ["DATASTORES", "NO_WORK", "HostWork"]

DATASTORES = ("memory", "badger", "flatfs")
"""How ``PutMany`` reaches the disk (see the module docstring)."""


@dataclass(frozen=True)
class HostWork:
    """What go-bitswap's own work on a peer costs (module docstring). Seconds; bytes/s."""

    receive_message_s: float = 0.0
    """Per message received: decoding and the hand-offs between go-bitswap's goroutines."""
    receive_entry_s: float = 0.0
    """Per wantlist entry, block presence and block in a received message."""
    hash_Bps: float = math.inf
    """SHA-256 of every received block (the CID check), one core's throughput."""
    send_message_s: float = 0.0
    """Per message sent: encoding."""
    send_entry_s: float = 0.0
    """Per wantlist entry, block presence and block in a sent message."""
    datastore: str = "memory"
    """How ``PutMany`` writes: one of :data:`DATASTORES`."""
    has_s: float = 0.0
    """CPU per datastore ``Has`` / ``GetSize``."""
    get_s: float = 0.0
    """CPU per datastore ``Get`` (its disk read is the host's)."""
    put_s: float = 0.0
    """CPU per block put (its disk writes are the host's)."""

    def __post_init__(self) -> None:
        if self.datastore not in DATASTORES:
            raise ValueError(
                f"work.datastore: unknown datastore {self.datastore!r}; "
                f"allowed: {', '.join(DATASTORES)}"
            )
        for f in fields(self):
            if f.name == "datastore":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise ValueError(f"work.{f.name} must be a number, got {value!r}")
            if f.name.endswith("_Bps"):
                if not value > 0:
                    raise ValueError(
                        f"work.{f.name} must be > 0 bytes/s (inf: no cost), got {value!r}"
                    )
            elif not (0 <= value < math.inf):
                raise ValueError(f"work.{f.name} must be a finite number >= 0, got {value!r}")

    @property
    def is_free(self) -> bool:
        """Whether none of it costs anything."""
        return self == NO_WORK


NO_WORK = HostWork()
"""go-bitswap's work taking no time: what a peer does without a host preset."""
