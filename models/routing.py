"""Content routing: who provides a CID.

* :class:`NilRouting` (default): every provider query returns nothing. This is what p2plab
  (``routing: "nil"``) and the Testground bitswap-tuning plan ran, and what the go benchmarks'
  seeds amount to (their blocks are never provided to the mock DHT).
* :class:`DhtRouting`: a DHT abstracted to its outcome: after ``lookup_delay_s`` a query yields
  the peers that hold the CID at that moment (at most ``max_providers``, in random order), and,
  given a way to ``connect``, the requester dials those it is not connected to.

:class:`ProviderQueryManager` is the per-peer front end of go-bitswap's
``providerquerymanager/providerquerymanager.go`` (same in v0.1.8 and v0.2.0): at most 10
providers per query (``maxProviders``), at most 6 queries in progress (``maxInProcessRequests``,
the rest wait in FIFO order), a 10 s timeout (``defaultTimeout``), concurrent queries for one CID
share one lookup, and each provider is connected to before it is reported
(``network.ConnectTo``). With a routing that can ``connect`` (:class:`DhtRouting` built by a
swarm that can dial, :meth:`models.swarm.Swarm.dial`), the first ``max_providers`` providers
found are each dialled and reported once connected, as go does; without one, only the providers
the peer is already connected to are reported (the first ``max_providers`` of them).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from models.client import ClientHost
    from sim.network import Network

__all__ = ["DhtRouting", "NilRouting", "ProviderQueryManager", "Routing"]

OnProvider = Callable[[Hashable], None]
Holders = Callable[[int], list[Hashable]]
Connect = Callable[[Hashable, Hashable, Callable[[], None]], None]
"""``connect(requester, provider, on_connected)``: dial ``provider`` (at once if connected
already); ``on_connected()`` once the connection is up, never if the dial fails."""


class Routing:
    """Answers provider lookups: ``lookup(cid, requester)`` -> (delay_s, providers) or None."""

    name = "?"
    connect: Connect | None = None
    """How a requester connects to the providers it finds (None: it cannot dial)."""

    def lookup(
        self, cid: int, requester: Hashable, rng: np.random.Generator
    ) -> tuple[float, list[Hashable]] | None:
        raise NotImplementedError


class NilRouting(Routing):
    """No content routing: every query comes back empty at once."""

    name = "nil"

    def lookup(
        self, cid: int, requester: Hashable, rng: np.random.Generator
    ) -> tuple[float, list[Hashable]] | None:
        return None


@dataclass(frozen=True)
class DhtRouting(Routing):
    """A DHT reduced to its answer: the current holders of the CID after a lookup delay.

    Args:
        holders: ``holders(cid)`` -> peers whose blockstore has the CID now (an oracle; the
            simulation provides it).
        lookup_delay_s: seconds a lookup takes. [guess] default 1 s: Kademlia lookups in the
            public IPFS DHT of 2020 took seconds; set it from your own measurements.
        connect: how the requester dials the providers it is not connected to
            (:data:`Connect`; a swarm's :meth:`~models.swarm.Swarm.dial`); None: such providers
            are not reported.
    """

    holders: Holders
    lookup_delay_s: float = 1.0
    connect: Connect | None = None
    name = "dht"

    def __post_init__(self) -> None:
        if not (isinstance(self.lookup_delay_s, int | float) and self.lookup_delay_s >= 0):
            raise ValueError(
                f"routing.lookup_delay_s must be >= 0 seconds, got {self.lookup_delay_s!r}"
            )

    def lookup(
        self, cid: int, requester: Hashable, rng: np.random.Generator
    ) -> tuple[float, list[Hashable]] | None:
        found = [p for p in self.holders(cid) if p != requester]
        if len(found) > 1:
            found = [found[i] for i in rng.permutation(len(found))]
        return self.lookup_delay_s, found


class ProviderQueryManager:
    """One peer's provider queries (providerquerymanager.go@v0.1.8).

    Args:
        max_providers: ``maxProviders`` (10).
        max_in_process: ``maxInProcessRequests`` (6).
        timeout_s: ``defaultTimeout`` (10 s).
    """

    def __init__(
        self,
        net: Network,
        me: Hashable,
        routing: Routing,
        rng: np.random.Generator,
        *,
        max_providers: int = 10,
        max_in_process: int = 6,
        timeout_s: float = 10.0,
    ) -> None:
        self.max_providers = max_providers
        self.max_in_process = max_in_process
        self.timeout_s = timeout_s
        self._net = net
        self._me = me
        self._routing = routing
        self._rng = rng
        self._listeners: dict[int, list[OnProvider]] = {}
        self._waiting: deque[int] = deque()
        self._running = 0
        self.queries = 0

    @classmethod
    def for_peer(cls, peer: ClientHost, cfg: Any) -> ProviderQueryManager:
        """The manager of a Bitswap peer, its limits from the strategy's config
        (``max_providers``, ``max_in_process_provider_queries``, ``provider_query_timeout_s``)."""
        return cls(
            peer.net,
            peer.name,
            peer.routing,
            peer.rng,
            max_providers=cfg.max_providers,
            max_in_process=cfg.max_in_process_provider_queries,
            timeout_s=cfg.provider_query_timeout_s,
        )

    def find_providers(self, cid: int, on_provider: OnProvider) -> None:
        """Report providers of ``cid`` to ``on_provider`` as they are found."""
        self.queries += 1
        listeners = self._listeners.get(cid)
        if listeners is not None:
            listeners.append(on_provider)  # one lookup serves concurrent queries for a CID
            return
        self._listeners[cid] = [on_provider]
        if self._running < self.max_in_process:
            self._start(cid)
        else:
            self._waiting.append(cid)

    def _start(self, cid: int) -> None:
        self._running += 1
        answer = self._routing.lookup(cid, self._me, self._rng)
        if answer is None:
            self._finish(cid, [])
            return
        delay, providers = answer
        if delay >= self.timeout_s:
            self._net.call_at(self.timeout_s, lambda ev: self._finish(cid, []), None)
            return
        self._net.call_at(delay, lambda ev: self._finish(cid, providers), None)

    def _finish(self, cid: int, providers: list[Hashable]) -> None:
        self._running -= 1
        listeners = self._listeners.pop(cid, [])
        connect = self._routing.connect
        if connect is None:
            for provider in [p for p in providers if self._connected(p)][: self.max_providers]:
                _report(provider, listeners)
        else:
            for provider in providers[: self.max_providers]:
                connect(self._me, provider, partial(_report, provider, listeners))
        if self._waiting and self._running < self.max_in_process:
            self._start(self._waiting.popleft())

    def _connected(self, peer: Hashable) -> bool:
        return bool(self._net.graph.has_edge(self._me, peer))


def _report(provider: Hashable, listeners: list[OnProvider]) -> None:
    for listener in listeners:
        listener(provider)
