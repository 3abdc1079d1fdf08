"""Registry baseline (models/baseline/registry.py): hand-worked times under the fair transport.

Notation: L one-way latency (s), U server upload and D client download (bytes/s), M manifest
bytes, S blob bytes. Under ``fair`` a lone message takes ``L + S/min(U, D)``; a request whose
two ends are unlimited takes exactly L. So a pull on an idle path costs the manifest round trip
``2L + M/min(U, D)``, then per blob one more round trip ``2L + S/min(U, D)``.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from models.baseline.registry import RegistryConfig, RegistryPull, image_blobs
from models.dag import (
    HEADLINE_CONFIG_SIZE,
    HEADLINE_LAYER_SIZES,
    CidAllocator,
    headline_image,
    oci_image,
    unixfs_leaf_size,
)
from sim import Network

INF = math.inf


def star(
    n_clients: int,
    *,
    latency_s: float,
    server_up: float = INF,
    server_down: float = INF,
    client_up: float = INF,
    client_down: float | list[float] = INF,
    **net_kw,
) -> Network:
    """A server "hub" connected to clients c0..c{n-1}, on the fair transport."""
    net = Network("fair", **net_kw)
    net.add_node("hub", upload_Bps=server_up, download_Bps=server_down, region="us-east-1")
    downs = client_down if isinstance(client_down, list) else [client_down] * n_clients
    for i in range(n_clients):
        net.add_node(f"c{i}", upload_Bps=client_up, download_Bps=downs[i], region="eu-west-1")
        net.connect("hub", f"c{i}", latency_s=latency_s)
    return net


def pull(net, blobs, n_clients, config=None):
    reg = RegistryPull(net, "hub", blobs, config or RegistryConfig())
    for i in range(n_clients):
        reg.fetch(f"c{i}")
    assert reg.run()
    return reg


def times(reg, n_clients):
    return [reg.time_to_fetch_s(f"c{i}") for i in range(n_clients)]


# ------------------------------------------------------------------ (1) one client, one blob


@pytest.mark.parametrize(
    ("client_up", "expected"),
    [
        # requests free (both ends unlimited): 4L + (M + S)/D = 0.04 + 1_002_048/5e5
        (INF, 2.044096),
        # 400 B requests over a 4000 B/s client uplink cost 0.1 s each, twice
        (4000.0, 2.244096),
    ],
)
def test_one_client_one_blob_exact(client_up, expected):
    L, U, D, S = 0.01, 1e6, 5e5, 1_000_000
    net = star(1, latency_s=L, server_up=U, client_down=D, client_up=client_up)
    reg = pull(net, [S], 1)
    assert reg.time_to_fetch_s("c0") == pytest.approx(expected, abs=1e-12)
    assert reg.makespan_s == pytest.approx(expected, abs=1e-12)

    frame = reg.client_frame().set_index("peer")
    c0, hub = frame.loc["c0"], frame.loc["hub"]
    assert (c0["role"], hub["role"]) == ("leech", "seed")
    assert set(frame["strategy"]) == {"registry"}
    assert (c0["region"], hub["region"]) == ("eu-west-1", "us-east-1")
    assert c0["completed"] and c0["time_to_fetch_s"] == pytest.approx(expected, abs=1e-12)
    assert hub["completed"] is None and pd.isna(hub["time_to_fetch_s"])
    assert (c0["blocks_received"], c0["bytes_received"]) == (1, S)
    assert (hub["blocks_sent"], hub["bytes_sent"]) == (1, S)
    assert (c0["dup_blocks_received"], c0["dup_bytes_received"]) == (0, 0)
    assert (c0["msgs_sent"], c0["msgs_received"], c0["msgs_sent_request"]) == (2, 2, 2)
    assert (hub["msgs_sent_manifest"], hub["msgs_sent_blob"], hub["msgs_sent_request"]) == (1, 1, 0)
    assert (hub["msgs_sent"], hub["msgs_received"]) == (2, 2)


# ------------------------------------------------------------------ (2) K parallel connections


def three_blobs(K, *, L, U, S, M=1000):
    net = star(1, latency_s=L, server_up=U)
    reg = pull(net, [S, S, S], 1, RegistryConfig(connections=K, manifest_bytes=M))
    return reg.time_to_fetch_s("c0")


def test_bandwidth_bound_parallel_connections_share_the_same_bottleneck():
    # L = 0: only bytes count. Manifest 1000 B then 3 x 1 MB through U = 1 MB/s, either way.
    assert three_blobs(1, L=0.0, U=1e6, S=1_000_000) == pytest.approx(3.001, abs=1e-12)
    assert three_blobs(3, L=0.0, U=1e6, S=1_000_000) == pytest.approx(3.001, abs=1e-12)
    # L = 5 ms: manifest 2L + M/U = 0.011, then
    #   K=1: 3 x (2L + S/U) = 3.03  -> 3.041
    #   K=3: 2L + 3S/U (one round trip, three shares of U) = 3.01 -> 3.021 (4L earlier)
    assert three_blobs(1, L=0.005, U=1e6, S=1_000_000) == pytest.approx(3.041, abs=1e-12)
    assert three_blobs(3, L=0.005, U=1e6, S=1_000_000) == pytest.approx(3.021, abs=1e-12)


def test_latency_bound_parallel_connections_save_round_trips():
    # 1000 B blobs over 1 GB/s, L = 50 ms: manifest 0.1 + 1e-6, then
    #   K=1: 3 x (0.1 + 1e-6) -> 0.400004;  K=3: 0.1 + 3e-6 -> 0.200004
    assert three_blobs(1, L=0.05, U=1e9, S=1000) == pytest.approx(0.400004, abs=1e-12)
    assert three_blobs(3, L=0.05, U=1e9, S=1000) == pytest.approx(0.200004, abs=1e-12)


def test_more_connections_than_blobs_and_default_is_dockerds_three():
    assert RegistryConfig().connections == 3
    assert three_blobs(8, L=0.05, U=1e9, S=1000) == pytest.approx(0.200004, abs=1e-12)


# ------------------------------------------------------------------ (3) clients sharing the server


def test_clients_share_the_server_uplink_and_finish_together():
    # 4 clients, U = 1 MB/s: 4 manifests share U (4M/U), then 4 blobs share U (4S/U);
    # two round trips: 4L + 4(M + S)/U = 0.04 + 4.008192
    L, U, S, n = 0.01, 1e6, 1_000_000, 4
    reg = pull(star(n, latency_s=L, server_up=U), [S], n)
    assert times(reg, n) == pytest.approx([4.048192] * n, abs=1e-12)
    assert reg.makespan_s == pytest.approx(4.048192, abs=1e-12)
    frame = reg.client_frame().set_index("peer")
    assert frame.loc["hub", "bytes_sent"] == n * S
    assert frame.loc["hub", "msgs_sent_blob"] == n
    assert frame.loc["hub", "msgs_sent_manifest"] == n
    assert list(frame["role"]) == ["seed"] + ["leech"] * n


def test_unlimited_server_each_client_at_its_own_downlink():
    # 4L + (M + S)/D_i for D = 1, 2, 4 MB/s
    downs = [1e6, 2e6, 4e6]
    reg = pull(star(3, latency_s=0.01, client_down=downs), [1_000_000], 3)
    assert times(reg, 3) == pytest.approx([1.042048, 0.541024, 0.290512], abs=1e-12)


def test_headline_scale_32_clients_keep_the_server_busy():
    # 32 clients, 300 MiB headline image, one 20 Gbit/s edge (an illustration, not a fit).
    # The server idles only for the first request (L), the round trip after the manifests
    # (2L) and the last delivery (L): makespan = 4L + 32(M + image bytes)/U, all clients equal.
    blobs = image_blobs(headline_image(cid_alloc=CidAllocator()))
    L, U, M, n = 0.02, 2.5e9, 2048, 32
    reg = pull(star(n, latency_s=L, server_up=U), blobs, n)
    expected = 4 * L + n * (M + sum(blobs)) / U
    assert expected == pytest.approx(4.1076, abs=1e-4)
    assert reg.makespan_s == pytest.approx(expected, rel=1e-9)
    assert times(reg, n) == pytest.approx([expected] * n, rel=1e-9)
    frame = reg.client_frame()
    leeches = frame[frame["role"] == "leech"]
    assert (leeches["blocks_received"] == 5).all()
    assert (leeches["bytes_received"] == sum(blobs)).all()
    assert (leeches["msgs_sent_request"] == 6).all()


def test_late_start_and_run_limit():
    L, U, D, S = 0.01, 1e6, 5e5, 1_000_000
    net = star(2, latency_s=L, server_up=U, client_down=D)
    reg = RegistryPull(net, "hub", [S])
    reg.fetch("c0")
    reg.fetch("c1", at_s=10.0)
    assert reg.run(max_sim_time_s=5.0) is False
    assert reg.makespan_s is None
    assert reg.time_to_fetch_s("c1") is None
    assert reg.client_frame().set_index("peer").loc["c1", "completed"] == False  # noqa: E712
    assert reg.run() is True
    # Neither overlaps the other: each takes the lone-client time of test (1).
    assert times(reg, 2) == pytest.approx([2.044096, 2.044096], abs=1e-12)
    assert reg.makespan_s == pytest.approx(12.044096, abs=1e-12)


# ------------------------------------------------------------------ (4) image_blobs


def test_image_blobs_raw_single_chunk_blobs_are_the_blob_sizes():
    dag = oci_image([1000, 3000], config_size=500, raw_leaves=True, cid_alloc=CidAllocator())
    assert image_blobs(dag) == [500, 1000, 3000]


def test_image_blobs_unixfs_leaves_and_multi_chunk_layers():
    dag = oci_image([1000, 3000], config_size=500, cid_alloc=CidAllocator())
    assert image_blobs(dag) == [unixfs_leaf_size(n) for n in (500, 1000, 3000)]
    # 600 000 B = 2 full 256 KiB leaves + 75 712 B, under one link node.
    dag = oci_image([600_000], config_size=100, cid_alloc=CidAllocator())
    config, layer = image_blobs(dag)
    assert config == unixfs_leaf_size(100)
    leaves = 2 * unixfs_leaf_size(262_144) + unixfs_leaf_size(600_000 - 2 * 262_144)
    layer_root = dag.children[dag.root][1]
    assert len(dag.children[layer_root]) == 3
    assert layer == leaves + dag.size_of[layer_root]  # 3 leaves + their link node
    assert config + layer == dag.total_bytes - dag.size_of[dag.root]


def test_image_blobs_headline():
    dag = headline_image(cid_alloc=CidAllocator())
    blobs = image_blobs(dag)
    raw = [HEADLINE_CONFIG_SIZE, *HEADLINE_LAYER_SIZES]
    assert len(blobs) == 5
    assert blobs[0] == unixfs_leaf_size(HEADLINE_CONFIG_SIZE)  # one leaf: 6000 + 11 B
    # layers: unixfs framing and link nodes add about 0.025 %
    assert all(r < b < r * 1.0003 for r, b in zip(raw[1:], blobs[1:], strict=True))
    assert sum(blobs) == dag.total_bytes - dag.size_of[dag.root]


# ------------------------------------------------------------------ (5) bad input


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_bad_connections(bad):
    with pytest.raises(ValueError, match=r"RegistryConfig.connections must be a whole number >= 1"):
        RegistryConfig(connections=bad)


@pytest.mark.parametrize("field", ["request_bytes", "manifest_bytes"])
@pytest.mark.parametrize("bad", [0, -400, 2.5, None])
def test_bad_sizes(field, bad):
    with pytest.raises(ValueError, match=rf"RegistryConfig.{field} must be a whole number >= 1"):
        RegistryConfig(**{field: bad})


@pytest.mark.parametrize(
    ("blobs", "match"),
    [
        ([], r"blobs must be a non-empty list"),
        (5, r"blobs must be a non-empty list"),
        ([10, 0], r"blobs\[1\] must be a whole number >= 1"),
        ([10, -5], r"blobs\[1\] must be a whole number >= 1"),
        ([1.5], r"blobs\[0\] must be a whole number >= 1"),
    ],
)
def test_bad_blobs(blobs, match):
    with pytest.raises(ValueError, match=match):
        RegistryPull(star(1, latency_s=0.01), "hub", blobs)


def test_needs_the_fair_transport():
    net = Network("fifo")
    net.add_node("hub")
    with pytest.raises(ValueError, match=r"needs the 'fair' transport.*uses 'fifo'"):
        RegistryPull(net, "hub", [10])


def test_unknown_or_unconnected_nodes_and_double_pulls():
    net = star(1, latency_s=0.01)
    net.add_node("loner")
    with pytest.raises(ValueError, match=r"unknown node 'nope'; known nodes: 'hub'"):
        RegistryPull(net, "nope", [10])
    reg = RegistryPull(net, "hub", [10])
    with pytest.raises(ValueError, match=r"unknown node 'ghost'"):
        reg.fetch("ghost")
    with pytest.raises(ValueError, match=r"nodes 'loner' and 'hub' are not connected"):
        reg.fetch("loner")
    with pytest.raises(ValueError, match=r"server 'hub' cannot pull from itself"):
        reg.fetch("hub")
    with pytest.raises(ValueError, match=r"at_s must be a finite start time"):
        reg.fetch("c0", at_s=-1.0)
    reg.fetch("c0")
    with pytest.raises(ValueError, match=r"'c0' is already pulling"):
        reg.fetch("c0")
    with pytest.raises(ValueError, match=r"'loner' is not pulling"):
        reg.time_to_fetch_s("loner")


def test_image_blobs_needs_an_image_dag():
    from models.dag import benchmark_blocks, chunked_file

    with pytest.raises(ValueError, match="image_blobs needs an image DAG"):
        image_blobs(benchmark_blocks(3, cid_alloc=CidAllocator()))
    with pytest.raises(ValueError, match="image_blobs needs an image DAG"):
        image_blobs(chunked_file(100, cid_alloc=CidAllocator()))


# ------------------------------------------------------------------ (6) determinism


def jittered_run(seed: int) -> pd.DataFrame:
    net = star(6, latency_s=0.03, server_up=2e6, client_down=[1e6, 2e6] * 3, jitter=0.2, seed=seed)
    reg = RegistryPull(net, "hub", [5000, 300_000, 700_000, 120_000])
    for i in range(6):
        reg.fetch(f"c{i}", at_s=0.05 * i)
    assert reg.run()
    return reg.client_frame()


def test_same_seed_same_frame_different_seed_different_times():
    a, b = jittered_run(7), jittered_run(7)
    pd.testing.assert_frame_equal(a, b)
    c = jittered_run(8)
    assert not a["time_to_fetch_s"].equals(c["time_to_fetch_s"])
    assert list(a.columns) == [
        "peer",
        "role",
        "strategy",
        "region",
        "completed",
        "time_to_fetch_s",
        "blocks_received",
        "dup_blocks_received",
        "bytes_received",
        "dup_bytes_received",
        "blocks_sent",
        "bytes_sent",
        "msgs_sent",
        "msgs_received",
        "msgs_sent_request",
        "msgs_sent_manifest",
        "msgs_sent_blob",
    ]
