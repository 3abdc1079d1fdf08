"""The transfers and progress tables of a real run: columns, conservation of blocks and bytes,
progress that ends at what each leech had to fetch; the registry baseline's blob rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.build import REGISTRY_NODE, build_run
from experiments.collect import PROGRESS_COLUMNS, TRANSFER_COLUMNS
from experiments.runner import plan, run_one
from experiments.scenario import load_scenario, parse_scenario

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def small():
    """One run of small.toml (2 seeds, 4 leeches, a 4 MiB file): spec, result, its file."""
    spec = plan(load_scenario(DATA / "small.toml"), replications=1)[0]
    res = run_one(spec)
    dag = build_run(spec.scenario, spec.replicate, spec.seed).objects["file"]
    return spec, res, dag


def _by(frame, key, value, index):
    return frame.groupby(key)[value].sum().reindex(index, fill_value=0)


def test_transfers_columns_and_conservation(small):
    spec, res, _ = small
    peers = pd.DataFrame(res.peers).set_index("peer")
    tr = res.transfers
    assert list(tr.columns) == list(TRANSFER_COLUMNS)
    assert set(tr["run_id"]) == {spec.run_id} and set(tr["strategy"]) == {"poc"}
    assert (tr["src"] != tr["dst"]).all() and not tr.duplicated(["src", "dst"]).any()
    assert ((tr["blocks"] > 0) | (tr["blocks_sent"] > 0)).all()  # only pairs that exchanged
    # what each peer received, counted by the receiver, and sent, counted by the sender
    for column, key, peer_column in [
        ("blocks", "dst", "blocks_received"),
        ("bytes", "dst", "bytes_received"),
        ("dup_blocks", "dst", "dup_blocks_received"),
        ("blocks_sent", "src", "blocks_sent"),
    ]:
        got = _by(tr, key, column, peers.index)
        pd.testing.assert_series_equal(got, peers[peer_column], check_names=False, obj=column)
    # seeds never receive; groups come from the peers table
    assert set(tr["dst_group"]) == {"leeches"}
    assert (tr["src_group"] == tr["src"].map(peers["group"])).all()
    # a block still on the wire when the run stopped was sent but not received
    assert (tr["blocks_sent"] >= tr["blocks"]).all()


def test_progress_ends_at_what_each_leech_had_to_fetch(small):
    _, res, dag = small
    peers = pd.DataFrame(res.peers).set_index("peer")
    pr = res.progress
    assert list(pr.columns) == list(PROGRESS_COLUMNS)
    leeches = peers.index[peers["role"] == "leech"]
    assert sorted(pr["peer"].unique()) == sorted(leeches)
    total_bytes = sum(dag.size_of[c] for c in dag.cids_in_order)
    for peer, rows in pr.groupby("peer"):
        assert list(rows["blocks"]) == list(range(1, len(rows) + 1))
        assert rows["t_s"].is_monotonic_increasing and rows["t_s"].iloc[0] > 0
        assert rows["bytes"].is_monotonic_increasing
        # the leeches hold nothing at the start: they fetch every block of the file
        assert rows["blocks"].iloc[-1] == len(dag.cids_in_order) == 17
        assert rows["bytes"].iloc[-1] == total_bytes
        p = peers.loc[peer]
        assert rows["blocks"].iloc[-1] == p["blocks_received"] - p["dup_blocks_received"]
        assert rows["t_s"].iloc[-1] == pytest.approx(p["time_to_fetch_s"])


REGISTRY_TOML = {
    "name": "tiny-registry",
    "seed": 4,
    "defaults": {"strategy": "registry", "region": "us-east-1", "upload": "1 Gbit/s"},
    "registry": {"region": "us-east-1", "upload": "1 Gbit/s"},
    "objects": [{"name": "img", "type": "oci-image", "layers": ["1 MiB", "2 MiB", "512 KiB"]}],
    "groups": [{"name": "clients", "count": 3, "fetch": {"object": "img"}}],
}


def test_registry_rows_count_blobs():
    """The registry: one transfers row per client (src = the registry), progress per blob."""
    (spec,) = plan(parse_scenario(REGISTRY_TOML))
    res = run_one(spec)
    peers = pd.DataFrame(res.peers).set_index("peer")
    tr = res.transfers
    assert list(tr["src"]) == [REGISTRY_NODE] * 3 and list(tr["dst"]) == [
        "clients-0",
        "clients-1",
        "clients-2",
    ]
    assert set(tr["src_group"]) == {REGISTRY_NODE} and set(tr["strategy"]) == {"registry"}
    assert list(tr["blocks"]) == [4] * 3  # config blob + 3 layers
    assert (tr["blocks_sent"] == tr["blocks"]).all() and (tr["dup_blocks"] == 0).all()
    assert tr["blocks"].sum() == peers.loc[REGISTRY_NODE, "blocks_sent"]
    assert (tr.set_index("dst")["bytes"] == peers.loc[tr["dst"], "bytes_received"]).all()
    pr = res.progress
    assert pr.groupby("peer")["blocks"].max().tolist() == [4] * 3
    last = pr.groupby("peer").last()
    assert (last["bytes"] == peers.loc[last.index, "bytes_received"]).all()
    np.testing.assert_allclose(last["t_s"], peers.loc[last.index, "time_to_fetch_s"].astype(float))
