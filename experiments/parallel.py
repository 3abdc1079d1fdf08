"""Executors for sweeps: a Dask cluster's ``concurrent.futures`` executor.

``--dask tcp://host:port`` connects to a running scheduler; ``--dask local:N`` starts a
``LocalCluster`` of N worker processes on 127.0.0.1 (no dashboard). Runs are pure functions of
their spec, so the results are the same as with a local process pool.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor

__all__ = ["dask_executor"]


def dask_executor(address: str) -> tuple[Executor, Callable[[], None]]:
    """(executor, close) for a Dask scheduler ``address`` or ``local:N``."""
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
    if not address.startswith(("tcp://", "tls://")):
        raise ValueError(f"--dask {address!r}: allowed: tcp://host:port, tls://host:port, local:N")
    client = Client(address)
    return client.get_executor(), client.close
