"""sim.host: the busy-until arithmetic of cores, cipher lanes and the disk, worked by hand."""

from __future__ import annotations

import math

import pytest

from sim.host import IDEAL, DiskSpec, Host, HostSpec

A_B = ("a", "b")
A_C = ("a", "c")


def test_ideal_costs_nothing():
    assert IDEAL.is_ideal
    assert HostSpec(disk=DiskSpec()).is_ideal
    assert not HostSpec(send_message_s=1e-6).is_ideal
    assert not HostSpec(disk=DiskSpec(write_latency_s=0.001)).is_ideal
    host = Host(IDEAL)
    assert host.send_ready(1.0, A_B, 262_158) == 1.0
    assert host.receive_done(1.0, A_B, 262_158) == 1.0
    assert host.disk_write(1.0, 262_144) == 1.0


def test_one_core_serves_jobs_first_come_first_served():
    host = Host(HostSpec(cores=1))
    assert host.cpu(0.0, 0.010) == pytest.approx(0.010)
    # arrives while the core is busy: waits for it
    assert host.cpu(0.005, 0.010) == pytest.approx(0.020)
    # arrives after the core is free: starts at once
    assert host.cpu(0.050, 0.001) == pytest.approx(0.051)
    assert host.cpu_busy_s == pytest.approx(0.021)
    assert host.jobs == 3


def test_two_cores_run_two_jobs_at_once_and_queue_the_third():
    host = Host(HostSpec(cores=2))
    assert host.cpu(0.0, 0.010) == pytest.approx(0.010)
    assert host.cpu(0.0, 0.004) == pytest.approx(0.004)
    # the core free first (at 4 ms) takes the third job
    assert host.cpu(0.001, 0.010) == pytest.approx(0.014)
    assert host.utilisation(0.014) == pytest.approx((0.024 / 0.028, 0.0))


def test_hyperthreads_run_slower_only_while_the_sibling_is_busy():
    # 2 threads of one core delivering 1.3 cores together: a job alone runs at full speed,
    # a job started while the other thread is busy takes 2 / 1.3 times as long
    host = Host(HostSpec(cores=2, capacity_cores=1.3))
    assert host.cpu(0.0, 0.013) == pytest.approx(0.013)
    assert host.cpu(0.0, 0.013) == pytest.approx(0.020)
    # both threads free again at 20 ms: alone again
    assert host.cpu(0.030, 0.013) == pytest.approx(0.043)


def test_a_capacity_equal_to_the_cores_is_the_same_machine_as_none():
    # one spelling of "every core a full core", so specs that mean the same compare equal
    assert HostSpec(cores=2, capacity_cores=2.0) == HostSpec(cores=2)
    assert HostSpec(cores=2, capacity_cores=2.0).capacity_cores is None
    assert HostSpec(cores=2, capacity_cores=1.3).capacity_cores == 1.3


def test_send_and_receive_costs_per_message_and_per_byte():
    # 20 µs per message sent + 1 GB/s of copying; 30 µs per message received + 2 GB/s
    spec = HostSpec(
        send_message_s=20e-6,
        send_Bps=1e9,
        receive_message_s=30e-6,
        receive_Bps=2e9,
        stream_open_s=50e-6,
    )
    host = Host(spec)
    assert host.send_ready(0.0, A_B, 1_000_000) == pytest.approx(20e-6 + 1e-3)
    # a new stream costs its opening on top; the core is busy until 1.02 ms
    assert host.send_ready(0.0, A_B, 0, new_stream=True) == pytest.approx(1.02e-3 + 70e-6)
    host2 = Host(spec)
    assert host2.receive_done(1.0, A_B, 2_000_000, work_s=5e-6) == pytest.approx(
        1.0 + 30e-6 + 5e-6 + 1e-3
    )


def test_cipher_lanes_serialise_one_connection_direction_but_not_two_connections():
    # 100 MB/s cipher on 2 cores: 1 MB takes 10 ms to encrypt
    host = Host(HostSpec(cores=2, cipher="secio", cipher_Bps=100e6))
    first = host.send_ready(0.0, A_B, 1_000_000)
    assert first == pytest.approx(0.010)
    # same connection, same direction: behind the first in the lane, although a core is free
    assert host.send_ready(0.0, A_B, 1_000_000) == pytest.approx(0.020)
    # the second job, held in the lane until 10 ms, took the core that frees then, so another
    # connection's job runs at once on the other core
    assert host.send_ready(0.0, A_C, 1_000_000) == pytest.approx(0.010)
    # and a fourth job waits for the first core to free (at 10 ms on core 2)
    assert host.cpu(0.0, 0.001) == pytest.approx(0.011)


def test_cipher_lane_on_other_connection_uses_a_free_core_at_once():
    host = Host(HostSpec(cores=2, cipher="tls", cipher_Bps=100e6))
    assert host.send_ready(0.0, A_B, 1_000_000) == pytest.approx(0.010)
    assert host.send_ready(0.0, A_C, 1_000_000) == pytest.approx(0.010)
    # receiving on a -> b's reverse lane ("b", "a") is independent of the send lane
    assert host.receive_done(0.0, ("b", "a"), 500_000) == pytest.approx(0.015)


def test_disk_throughput_and_iops_occupy_the_device_latency_overlaps():
    # 100 MB/s, 1000 IOPS, 2 ms write latency (sync), 0.5 ms read latency
    disk = DiskSpec(
        write_Bps=100e6,
        read_Bps=200e6,
        write_iops=1000,
        read_iops=1000,
        write_latency_s=0.002,
        read_latency_s=0.0005,
    )
    host = Host(HostSpec(disk=disk))
    # 262,144 B: 2.62 ms of transfer (> 1 ms per op) + 2 ms latency
    assert host.disk_write(0.0, 262_144) == pytest.approx(0.00262144 + 0.002)
    # a second write issued at once waits for the device, not for the first's latency
    assert host.disk_write(0.0, 262_144) == pytest.approx(2 * 0.00262144 + 0.002)
    # a tiny read is bound by IOPS (1 ms), after the device frees at 5.24 ms
    assert host.disk_read(0.0, 100) == pytest.approx(2 * 0.00262144 + 0.001 + 0.0005)
    assert host.disk_busy_s == pytest.approx(2 * 0.00262144 + 0.001)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cores": 0}, "host.cores"),
        ({"cores": True}, "host.cores"),
        ({"cores": 1.5}, "host.cores"),
        ({"send_message_s": -1e-6}, "host.send_message_s"),
        ({"send_message_s": math.inf}, "host.send_message_s"),
        ({"receive_Bps": 0}, "host.receive_Bps"),
        ({"receive_Bps": math.nan}, "host.receive_Bps"),
        ({"cipher": "rot13"}, "host.cipher"),
        ({"cores": 2, "capacity_cores": 2.5}, "host.capacity_cores"),
        ({"capacity_cores": 0}, "host.capacity_cores"),
        ({"cipher_Bps": 1e8}, "host.cipher_Bps"),
        ({"stream_open_s": "1 ms"}, "host.stream_open_s"),
    ],
)
def test_bad_host_fields_are_named(kwargs, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        HostSpec(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"write_Bps": -1}, "disk.write_Bps"),
        ({"write_iops": 0}, "disk.write_iops"),
        ({"read_iops": -5}, "disk.read_iops"),
        ({"read_latency_s": -0.1}, "disk.read_latency_s"),
        ({"write_latency_s": False}, "disk.write_latency_s"),
    ],
)
def test_bad_disk_fields_are_named(kwargs, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        DiskSpec(**kwargs)


# ----------------------------------------------------------------------------- on a network
def _two_peers(host_a, host_b, *, up=125e6, lat=0.005):
    from sim import Network

    net = Network("fifo", trace=True)
    net.add_node("a", upload_Bps=up, host=host_a)
    net.add_node("b", host=host_b)
    net.connect("a", "b", latency_s=lat)
    log = []
    net.on_receive("b", lambda src, msg: log.append((round(net.now, 9), src, msg)))
    return net, log


def test_one_message_pays_send_cpu_cipher_wire_latency_receive_cpu_and_the_receivers_work():
    """Worked by hand. a: 10 µs per message + 1 GB/s of copying + 20 µs to open a stream, and
    a 250 MB/s cipher; the sender adds 5 µs (encoding). 1 Gbit/s uplink, 5 ms one way. b: 10 µs
    per message + 1 GB/s, the same cipher, and its own work: 1 µs + a 500 MB/s hash."""
    a = HostSpec(
        send_message_s=10e-6,
        send_Bps=1e9,
        stream_open_s=20e-6,
        cipher="secio",
        cipher_Bps=250e6,
    )
    b = HostSpec(receive_message_s=10e-6, receive_Bps=1e9, cipher="secio", cipher_Bps=250e6)
    net, log = _two_peers(a, b)
    net.on_receive(
        "b",
        lambda src, msg: log.append((round(net.now, 9), src, msg)),
        work=lambda src, msg, size: 1e-6 + size / 500e6,
    )
    sent = []
    size = 250_000
    net.send(
        "a",
        "b",
        "block",
        size,
        "block",
        lambda: sent.append(round(net.now, 9)),
        work_s=5e-6,
        new_stream=True,
    )
    net.run()
    ready = 10e-6 + 5e-6 + size / 1e9 + 20e-6 + size / 250e6  # 1.285 ms
    wire_done = ready + size / 125e6  # 3.285 ms
    arrived = wire_done + 0.005  # 8.285 ms
    done = arrived + 10e-6 + size / 1e9 + (1e-6 + size / 500e6) + size / 250e6
    assert sent == [pytest.approx(wire_done)]
    assert log == [(pytest.approx(done), "a", "block")]
    # the trace's send time is when the message entered the transport (after a's host)
    trace = net.trace_frame()
    assert trace.loc[0, "t_sent"] == pytest.approx(ready)
    hosts = net.host_metrics().set_index("node")
    assert hosts.loc["a", "cpu_busy_s"] == pytest.approx(ready)
    assert hosts.loc["b", "cpu_busy_s"] == pytest.approx(done - arrived)


def test_two_blocks_arriving_together_contend_for_the_receivers_one_core():
    from sim import Network

    net = Network("fifo")
    for name in ("a", "c"):
        net.add_node(name)
    net.add_node("b", host=HostSpec(cores=1, receive_Bps=100e6))  # 1 MB takes 10 ms
    for name in ("a", "c"):
        net.connect(name, "b", latency_s=0.001)
    log = []
    net.on_receive("b", lambda src, msg: log.append((round(net.now, 9), src)))
    net.send("a", "b", "x", 1_000_000, "block")
    net.send("c", "b", "y", 1_000_000, "block")
    net.run()
    assert log == [(pytest.approx(0.011), "a"), (pytest.approx(0.021), "c")]
    # with two cores they are processed side by side
    net2 = Network("fifo")
    for name in ("a", "c"):
        net2.add_node(name)
    net2.add_node("b", host=HostSpec(cores=2, receive_Bps=100e6))
    for name in ("a", "c"):
        net2.connect(name, "b", latency_s=0.001)
    log2 = []
    net2.on_receive("b", lambda src, msg: log2.append(round(net2.now, 9)))
    net2.send("a", "b", "x", 1_000_000, "block")
    net2.send("c", "b", "y", 1_000_000, "block")
    net2.run()
    assert log2 == [pytest.approx(0.011), pytest.approx(0.011)]


def test_nodes_sharing_one_host_share_its_cores():
    from sim import Network

    shared = Host(HostSpec(cores=1, send_message_s=0.004))
    net = Network("fifo")
    for name in ("a", "b", "c"):
        net.add_node(name, host=shared)
    net.connect("a", "c", latency_s=0.0)
    net.connect("b", "c", latency_s=0.0)
    log = []
    net.on_receive("c", lambda src, msg: log.append((round(net.now, 9), src)))
    net.send("a", "c", "x", 10, "want")
    net.send("b", "c", "y", 10, "want")
    net.run()
    # a's send takes the core 0-4 ms, b's 4-8 ms; c's receive costs nothing
    assert log == [(pytest.approx(0.004), "a"), (pytest.approx(0.008), "b")]
    assert net.host_of("a") is net.host_of("c") is shared


def test_an_ideal_host_is_no_host_and_a_bad_host_is_named():
    from sim import Network

    net = Network("fifo")
    net.add_node("a", host=HostSpec(name="ideal"))
    assert net.host_of("a") is None
    assert net.host_metrics().empty
    with pytest.raises(ValueError, match="host of node 'b'"):
        net.add_node("b", host="p2plab-2020")


def test_fifo_books_the_uplink_in_hand_over_order_from_when_each_message_is_ready():
    """a's cipher lane to b is busy (1 MB at 100 MB/s: 10 ms), so a's next message to b is ready
    at 20 ms; a message to c handed over after it is ready at 10 ms on the other core but waits
    for the uplink behind it (the uplink serves messages in hand-over order; 1 MB/s: 1 ms per
    kB)."""
    from sim import Network

    net = Network("fifo")
    net.add_node("a", upload_Bps=1e6, host=HostSpec(cores=2, cipher="tls", cipher_Bps=100e6))
    for name in ("b", "c"):
        net.add_node(name)
        net.connect("a", name, latency_s=0.0)
    log = []
    for name in ("b", "c"):
        net.on_receive(name, lambda src, msg, name=name: log.append((msg, round(net.now, 9))))
    net.send("a", "b", "b1", 1_000_000, "block")  # ready 10 ms, on the wire until 1.01 s
    net.send("a", "b", "b2", 1_000, "block")  # lane: ready 10.01 ms, wire 1.01 s - 1.011 s
    net.send("a", "c", "c1", 1_000, "block")  # ready 0.01 ms on core 2, behind b2 on the wire
    net.run()
    assert log == [
        ("b1", pytest.approx(1.010)),
        ("b2", pytest.approx(1.011)),
        ("c1", pytest.approx(1.012)),
    ]
