"""Hosts in scenario files: ``host = "<name>"``, ``[hosts.<name>]``, writing back, sweeps, and
what a run passes to the network and the peers."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import pytest
import tomli_w

import experiments.build as build
from experiments.hosts import PRESETS
from experiments.scenario import (
    ScenarioError,
    grid,
    host_dict,
    parse_hosts,
    parse_scenario,
    resolved_dict,
)
from experiments.scenario.load_hosts import CORES_MAX
from models.hostwork import NO_WORK
from sim.host import Host, HostSpec


def scenario(hosts=None, defaults=None, **groups_host):
    """Seeds and leeches (``groups_host``: group -> its host key), fixed latency."""
    raw = {
        "name": "t",
        "network": {"latency": {"model": "fixed", "one_way": "5 ms"}},
        "defaults": defaults or {},
        "objects": [{"name": "f", "type": "file", "size": "1 MiB"}],
        "groups": [
            {"name": "seeds", "count": 2, "seed_objects": ["f"]},
            {"name": "leeches", "count": 3, "fetch": {"object": "f"}},
        ],
    }
    for g in raw["groups"]:
        if g["name"] in groups_host:
            g["host"] = groups_host[g["name"]]
    if hosts is not None:
        raw["hosts"] = hosts
    return raw


def test_every_group_is_on_the_ideal_host_by_default():
    s = parse_scenario(scenario())
    assert [g.host for g in s.groups] == [PRESETS["ideal"]] * 2
    assert s.hosts == {}


def test_defaults_and_groups_name_presets():
    s = parse_scenario(scenario(defaults={"host": "p2plab-2020"}, leeches="modern"))
    assert [g.host.name for g in s.groups] == ["p2plab-2020", "modern"]
    assert s.groups[0].host is PRESETS["p2plab-2020"]


def test_a_custom_host_changes_its_base_with_units():
    hosts = {
        "slow-secio": {
            "base": "p2plab-2020",
            "cipher_rate": "100 MB/s",
            "send_message": "8 us",
            "receive_rate": 8e9,  # a number is bits per second, as for bandwidths
            "disk": {"write_latency": "10 ms", "write_iops": 100},
            "work": {"hash_rate": "1 GB/s", "datastore": "flatfs", "has": "1 us"},
        }
    }
    s = parse_scenario(scenario(hosts, leeches="slow-secio"))
    p = s.groups[1].host
    base = PRESETS["p2plab-2020"]
    assert p.name == p.spec.name == "slow-secio" and not p.shared
    assert (p.spec.cipher, p.spec.cipher_Bps, p.spec.send_message_s) == ("secio", 1e8, 8e-6)
    assert p.spec.receive_Bps == 1e9
    assert p.spec.disk.write_latency_s == 0.01 and p.spec.disk.write_iops == 100.0
    assert p.spec.disk.write_Bps == base.spec.disk.write_Bps  # inherited
    assert (p.work.hash_Bps, p.work.datastore, p.work.has_s) == (1e9, "flatfs", 1e-6)
    assert p.work.put_s == base.work.put_s
    assert p.spec.stream_open_s == base.spec.stream_open_s and p.spec.cores == 2
    assert s.hosts == {"slow-secio": p}
    assert "p2plab-2020" in p.summary


def test_custom_host_without_base_starts_from_ideal():
    hosts = {"box": {"cores": 8, "cipher": "noise", "cipher_rate": "2.3 GB/s", "shared": True}}
    p = parse_scenario(scenario(hosts, defaults={"host": "box"})).groups[0].host
    assert p.spec.cores == 8 and p.spec.capacity_cores is None and p.shared
    assert p.spec.cipher_Bps == 2.3e9 and p.work == NO_WORK


def test_cipher_none_drops_the_bases_rate_and_a_cipher_needs_one():
    hosts = {"plain": {"base": "modern", "cipher": "none"}}
    p = parse_scenario(scenario(hosts, seeds="plain")).groups[0].host
    assert p.spec.cipher == "none" and p.spec.cipher_Bps == math.inf
    with pytest.raises(ScenarioError, match=r"hosts.x.cipher_rate: required with cipher = 'tls'"):
        parse_scenario(scenario({"x": {"cipher": "tls"}}))


def test_capacity_equal_to_cores_is_no_capacity():
    hosts = {"real": {"base": "p2plab-2020", "capacity_cores": 2}}
    p = parse_scenario(scenario(hosts, seeds="real")).groups[0].host
    assert p.spec.capacity_cores is None


def test_unused_custom_hosts_are_allowed_and_kept():
    s = parse_scenario(scenario({"spare": {"base": "modern"}}))
    assert list(s.hosts) == ["spare"] and {g.host.name for g in s.groups} == {"ideal"}


HOSTS = {
    "a": {
        "base": "p2plab-2020",
        "capacity_cores": 2,  # as many as cores: written back as cores, loads back as None
        "disk": {"read_iops": "unlimited", "read_rate": "200 MB/s"},
    },
    "b": {"base": "go-testnet", "shared": False, "work": {"receive_entry": "1 us"}},
    "c": {"base": "modern", "cipher": "none", "summary": "no TLS"},
}


def test_resolved_scenario_with_hosts_loads_back_equal():
    s = parse_scenario(scenario(HOSTS, defaults={"host": "a"}, leeches="go-testnet"))
    back = resolved_dict(s)
    assert back["groups"][0]["host"] == "a" and back["groups"][1]["host"] == "go-testnet"
    assert set(back["hosts"]) == {"a", "b", "c"}
    again = parse_scenario(back)
    assert again == s
    assert again.groups[0].host == s.groups[0].host and again.hosts == s.hosts
    # and through TOML text, as scenario.toml is written
    assert parse_scenario(tomllib.loads(tomli_w.dumps(back))) == s


def test_resolved_scenario_without_hosts_names_the_ideal_host():
    back = resolved_dict(parse_scenario(scenario()))
    assert "hosts" not in back and [g["host"] for g in back["groups"]] == ["ideal"] * 2


def test_sweeps_over_hosts():
    raw = scenario(
        {"mine": {"base": "p2plab-2020"}},
        defaults={"host": "ideal"},
    )
    raw["sweep"] = {
        "defaults.host": ["ideal", "p2plab-2020", "mine"],
        "groups.leeches.host": ["modern"],
        "hosts.mine.cipher_rate": ["100 MB/s", "200 MB/s"],
    }
    points = grid(parse_scenario(raw))
    assert len(points) == 6
    seen = [(p["defaults.host"], s.groups[0].host.name, s.groups[1].host.name) for p, s in points]
    assert seen[0] == ("ideal", "ideal", "modern")
    assert [x[1] for x in seen] == ["ideal", "ideal", "p2plab-2020", "p2plab-2020", "mine", "mine"]
    rates = [s.groups[0].host.spec.cipher_Bps for _, s in points[4:]]
    assert rates == [1e8, 2e8]


def test_a_sweep_to_an_unknown_host_names_the_point():
    raw = scenario()
    raw["sweep"] = {"defaults.host": ["ideal", "fast"]}
    points = grid(parse_scenario(raw))  # lazy: a point is checked when it is built (issue 17)
    with pytest.raises(ScenarioError, match=r"unknown value 'fast'.*at sweep point"):
        list(points)


# ------------------------------------------------------------------------------ the run
def _spec_of(s):
    group_of = {m: g.name for g in s.groups for m in g.members()}
    return group_of, {g.name: g for g in s.groups}


def test_node_hosts_share_one_machine_per_shared_preset_and_give_others_their_spec():
    hosts = {"testnet-too": {"base": "go-testnet"}, "own": {"base": "go-testnet", "shared": False}}
    raw = scenario(hosts, seeds="go-testnet", leeches="testnet-too")
    raw["groups"].append({"name": "x", "count": 2, "host": "go-testnet"})
    raw["groups"].append({"name": "y", "count": 2, "host": "own"})
    raw["groups"].append({"name": "z", "count": 1, "host": "modern"})
    raw["groups"].append({"name": "w", "count": 1})
    s = parse_scenario(raw)
    out = build.node_hosts(*_spec_of(s))
    shared = out["seeds-0"]
    assert isinstance(shared, Host) and shared.spec.cores == 4
    assert all(out[m] is shared for m in ("seeds-0", "seeds-1", "x-0", "x-1"))
    other = out["leeches-0"]  # another shared host: another machine
    assert other is not shared and all(out[f"leeches-{i}"] is other for i in range(3))
    # not shared, only go-bitswap's work costs: a machine of each node's own
    assert isinstance(out["y-0"], Host) and out["y-0"] is not out["y-1"]
    assert out["z-0"] == PRESETS["modern"].spec and isinstance(out["z-0"], HostSpec)
    assert "w-0" not in out


def test_an_ideal_run_passes_no_host_and_no_work(monkeypatch):
    calls = _capture(monkeypatch)
    with pytest.raises(_Stop):
        build.build_run(parse_scenario(scenario()))
    assert calls["hosts"] == {}
    assert all("work" not in o for o in calls["per_peer"].values())


def test_a_run_passes_each_groups_host_and_work(monkeypatch):
    calls = _capture(monkeypatch)
    s = parse_scenario(scenario(seeds="go-testnet", leeches="p2plab-2020"))
    with pytest.raises(_Stop):
        build.build_run(s)
    hosts, per_peer = calls["hosts"], calls["per_peer"]
    assert hosts["seeds-0"] is hosts["seeds-1"] and isinstance(hosts["seeds-0"], Host)
    assert hosts["leeches-0"] == PRESETS["p2plab-2020"].spec
    assert per_peer["seeds-0"]["work"] == PRESETS["go-testnet"].work
    assert per_peer["leeches-2"]["work"] == PRESETS["p2plab-2020"].work


def test_a_run_gives_each_node_its_machine_and_each_peer_its_work():
    s = parse_scenario(scenario(seeds="go-testnet", leeches="p2plab-2020"))
    built = build.build_run(s)
    net, swarm = built.net, built.swarm
    a, b = net.host_of("seeds-0"), net.host_of("seeds-1")
    assert a is not None and a is b and a.spec.cores == 4
    c, d = net.host_of("leeches-0"), net.host_of("leeches-1")
    assert c is not None and c is not d and c.spec == PRESETS["p2plab-2020"].spec
    assert swarm.peer("seeds-1").work == PRESETS["go-testnet"].work
    assert swarm.peer("leeches-2").work == PRESETS["p2plab-2020"].work
    ideal = build.build_run(parse_scenario(scenario()))
    assert ideal.net.host_of("seeds-0") is None
    assert ideal.swarm.peer("seeds-0").work == NO_WORK


class _Stop(Exception):
    pass


def _capture(monkeypatch):
    """Record what build_run gives build_network (hosts) and Swarm (per_peer), then stop."""
    calls = {}
    real = build.build_network

    def fake_network(graph, *, hosts=None, **kw):
        calls["hosts"] = dict(hosts or {})
        return real(graph, **kw)

    def fake_swarm(net, *, per_peer, **kw):
        calls["per_peer"] = per_peer
        raise _Stop

    monkeypatch.setattr(build, "build_network", fake_network)
    monkeypatch.setattr(build, "Swarm", fake_swarm)
    return calls


def test_build_network_gives_nodes_their_hosts():
    from sim.latency import FixedLatency
    from sim.topology import build_network, full_mesh

    machine = Host(PRESETS["go-testnet"].spec)
    hosts = {"a": PRESETS["modern"].spec, "b": machine, "c": machine}
    net = build_network(full_mesh(["a", "b", "c", "d"]), latency=FixedLatency(0.001), hosts=hosts)
    assert net.host_of("a") is not None and net.host_of("a").spec == PRESETS["modern"].spec
    assert net.host_of("b") is machine and net.host_of("c") is machine
    assert net.host_of("d") is None


# ------------------------------------------------------------------- the number rules (issue 17)
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_follows_the_number_rules(name):
    """A preset written out as a ``[hosts.<name>]`` table passes the scenario's number rules and
    loads back to the same machine and work."""
    table = host_dict(PRESETS[name])
    table.pop("summary")
    copy = parse_hosts({"copy": table}, "t.toml")["copy"]
    assert copy.spec == dataclasses.replace(PRESETS[name].spec, name="copy")
    assert copy.work == PRESETS[name].work and copy.shared == PRESETS[name].shared


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ({"cores": -2}, r"hosts.m.cores: must be a whole number >= 1, got -2"),
        ({"cores": 10**12}, rf"hosts.m.cores: must be a whole number <= {CORES_MAX}, got"),
        ({"cores": True}, r"hosts.m.cores: must be a whole number in \[1, 1024\], got True"),
        ({"cores": 2, "capacity_cores": math.inf}, r"capacity_cores: must be a finite number > 0"),
        ({"cores": 2, "capacity_cores": 1e-320}, r"capacity_cores: must be a finite number > 0"),
        ({"disk": {"write_iops": math.inf}}, r"disk.write_iops: must be a number .* 'unlimited'"),
        ({"disk": {"read_iops": math.nan}}, r"disk.read_iops: must be a number"),
        ({"disk": {"read_iops": 1e-320}}, r"disk.read_iops: must be a number"),
        ({"send_rate": 1e-320}, r"hosts.m.send_rate: invalid bandwidth 1e-320 \(below 1 bit/s\)"),
        ({"work": {"hash_rate": "1e400 B/s"}}, r"work.hash_rate: invalid bandwidth '1e400 B/s'"),
        ({"stream_open": math.inf}, r"hosts.m.stream_open: invalid duration inf"),
        ({"disk": {"write_latency": 1e-320}}, r"disk.write_latency: invalid duration 1e-320"),
        ({"summary": "s" * 300}, r"hosts.m.summary: too long \(300 characters\)"),
    ],
)
def test_host_numbers_follow_the_number_rules(host, message):
    with pytest.raises(ScenarioError, match=message):
        parse_hosts({"m": host}, "t.toml")


def test_unlimited_is_the_word_for_no_cost():
    (m,) = parse_hosts(
        {"m": {"disk": {"write_iops": "unlimited"}, "send_rate": "unlimited"}}, "t"
    ).values()
    assert m.spec.disk.write_iops == math.inf and m.spec.send_Bps == math.inf


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", r"hosts: the name '': empty"),
        ("   ", r"hosts: the name '   ': blank"),
        ("h" * 300, r"\(302 characters\): too long \(300 characters\)"),
        ("a\x00b", r"must not contain '\\x00'"),
    ],
)
def test_host_names_follow_the_name_rules(name, message):
    with pytest.raises(ScenarioError, match=message):
        parse_hosts({name: {}}, "t.toml")


def test_too_many_hosts_are_refused_before_they_are_built():
    raw = scenario({f"h{i}": {} for i in range(10_001)})
    with pytest.raises(ScenarioError, match=r"hosts: 10,001 entries; allowed: up to 10,000"):
        parse_scenario(raw)
    assert len(parse_scenario(raw, limits=None).hosts) == 10_001


def test_an_unknown_host_lists_at_most_20_names():
    raw = scenario({f"h{i}": {} for i in range(30)}, leeches="nope")
    with pytest.raises(ScenarioError, match=r"allowed: ideal, .*, h12, \.\.\. \(37 in all\)$"):
        parse_scenario(raw)
