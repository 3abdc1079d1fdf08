"""The interface every transport implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__all__ = ["Transport"]

if TYPE_CHECKING:
    from sim.network import Link, Network


class Transport:
    """Decides when a message sent on a :class:`~sim.network.Link` is delivered.

    A transport computes delivery times with arithmetic and schedules as few timer events as it
    can through :meth:`Network.call_at`; it calls :meth:`Network.deliver` when a message
    arrives. It never starts a SimPy process per message.
    """

    name: str = "?"
    supports_jitter: bool = True
    accepts_ready_at: bool = False
    """Whether :meth:`send` takes ``ready_at`` (a time later than now when the message is
    ready: the sender's host still works on it). Otherwise the network hands the message over
    only when it is ready (one event)."""
    net: Network
    """The network this transport serves (set once by :meth:`bind`)."""

    def bind(self, network: Network) -> None:
        """Attach to the network whose environment schedules this transport's timers."""
        bound = getattr(self, "net", None)
        if bound is not None and bound is not network:
            raise ValueError(f"this {self.name!r} transport already serves another Network")
        self.net = network

    def send(
        self,
        link: Link,
        message: Any,
        size_bytes: int,
        kind: str,
        on_sent: Callable[[], None] | None = None,
        ready_at: float | None = None,
    ) -> None:
        """Schedule delivery; call ``on_sent()`` (from an event) once the sender is done.
        ``ready_at`` is only ever given to a transport that :attr:`accepts_ready_at`."""
        raise NotImplementedError

    def link_closed(self, link: Link) -> None:
        """``link`` was disconnected: what is on it will be lost (the network drops it on
        delivery). A transport that shares capacity among transfers frees the link's share."""

    def rates_changed(self) -> None:
        """A node's upload or download rate changed (:meth:`Network.set_bandwidth`)."""
