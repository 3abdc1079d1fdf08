"""Executors for sweeps: a Dask cluster's ``concurrent.futures`` executor.

``--dask tcp://host:port`` connects to a running scheduler (an address where nothing answers
fails at once, with one line); ``--dask local:N`` starts a
``LocalCluster`` of N worker processes on 127.0.0.1 (no dashboard). Runs are pure functions of
their spec, so the results are the same as with a local process pool.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor

__all__ = ["dask_executor"]


def dask_executor(address: str) -> tuple[Executor, Callable[[], None]]:
    """(executor, close) for a Dask scheduler ``address`` or ``local:N``. A scheduler address
    is checked (format, then a TCP connection) before Dask is imported."""
    remote = not address.startswith("local:")
    if remote:
        if not address.startswith(("tcp://", "tls://")):
            raise ValueError(
                f"--dask {address!r}: allowed: tcp://host:port, tls://host:port, local:N"
            )
        _reachable(address)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(
            "--dask needs dask[distributed]: pip install 'bitswap-sim[dask]'"
        ) from None
    if address.startswith("local:"):
        try:
            n = int(address.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"--dask {address}: local:N needs N >= 1 worker processes")
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
            host="127.0.0.1",
        )  # fmt: skip
        client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client.get_executor(), close
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"--dask {address}: cannot connect to the scheduler: {exc}") from None
    return client.get_executor(), client.close


CONNECT_TIMEOUT_S = 10.0
"""Seconds to wait for a Dask scheduler before giving up (Dask's own default is 30)."""


def _reachable(address: str, timeout_s: float = 3.0) -> None:
    """Fail fast, with one line, when nothing answers at ``address`` (a refused or timed-out
    TCP connection), rather than after Dask's connection timeout."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise ValueError(f"--dask {address!r}: needs a host and a port, e.g. tcp://10.0.0.5:8786")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"--dask {address}: cannot reach the scheduler ({reason})") from None
