"""A hostile corpus: scenario files, command lines and Python calls that try to make
``bitswap-sim`` print a traceback, hang, or run out of memory, or accept what it should refuse.

Written independently of ``tests/data/bad_scenarios/`` (issue 17), by class:

* ``sizes``: sizes, counts, replications, sweep grids and event rates with no sane limit;
* ``numbers``: non-finite, denormal, out-of-range and wrongly typed numbers, blank or
  unbounded names;
* ``certain-failures``: scenarios that cannot succeed (a fetch nobody can serve, a fault
  between peers that are never connected, a group that fetches what it seeds...);
* ``not-toml``: files that are not UTF-8 TOML (binary, Latin-1, UTF-16, a byte-order mark,
  deep nesting, ``/dev/zero``, a FIFO, huge files);
* ``python-api``: calls of the Python API with wrong arguments;
* ``cli-args``: bad command lines for every subcommand;
* ``output-folders`` and ``infrastructure``: output folders, ``--resume``, ``--dask``, run ids
  (issue 16's part; :attr:`Case.owner` says so).

Each case expects a clean refusal (exit status 2, one line on stderr, no traceback; a
``ScenarioError`` from Python) or a clean success (exit status 0). A refused file is also run
(``bitswap-sim run``) if ``validate`` wrongly accepted it, to see what the run does. Every
command runs in a child process with a memory cap and a time limit (:mod:`_sandbox`).

``python tests/hostile.py`` prints the outcome of every case and the counts by class;
``tests/test_hostile.py`` asserts there is no traceback, hang or memory blow-up.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

sys.path.insert(0, str(Path(__file__).parent))
from _sandbox import Outcome, Sandbox

ROOT = Path(__file__).parents[1]
DATA = Path(__file__).parent / "data"

BASE: dict[str, Any] = {
    "name": "hostile",
    "seed": 1,
    "replications": 1,
    "max_sim_time_s": "60 s",
    "network": {"transport": "fifo", "latency": {"model": "fixed", "one_way": "5 ms"}},
    "defaults": {"strategy": "poc", "upload": "100 Mbit/s", "download": "100 Mbit/s"},
    "objects": [{"name": "file", "type": "file", "size": "1 MiB"}],
    "groups": [
        {"name": "seeds", "count": 2, "seed_objects": ["file"]},
        {"name": "leeches", "count": 3, "fetch": {"object": "file"}},
    ],
}
"""A small valid scenario (5 peers, a 1 MiB file) the cases change."""

REGIONS: dict[str, Any] = {
    **BASE,
    "network": {
        "transport": "fifo",
        "latency": {"model": "region-matrix"},
        "topology": "region-mesh",
        "inter_region": "none",
    },
    "groups": [
        {"name": "seeds", "count": 2, "region": "us-east-1", "seed_objects": ["file"]},
        {"name": "east", "count": 2, "region": "us-east-1", "fetch": "file"},
        {"name": "west", "count": 2, "region": "us-west-2", "fetch": "file"},
        {"name": "west-seed", "count": 1, "region": "us-west-2", "seed_objects": ["file"]},
    ],
}
"""Two regions never connected (``inter_region = "none"``), each with a seed."""


def changed(base: dict[str, Any], *edits: tuple[str, Any]) -> dict[str, Any]:
    """``base`` with dotted paths set (``groups.1.count``: list index 1); a value of
    :data:`DROP` removes the key."""
    out = copy.deepcopy(base)
    for path, value in edits:
        node: Any = out
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        last: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
        if value is DROP:
            del node[last]
        else:
            node[last] = value
    return out


DROP = object()


def toml(data: dict[str, Any]) -> bytes:
    return tomli_w.dumps(data).encode("utf-8")


@dataclass
class Case:
    """One hostile input. ``make(tmp)`` returns what to run: ``("file", bytes or path)``,
    ``("argv", [...])`` or ``("code", python source)``."""

    cls: str
    name: str
    make: Callable[[Path], tuple[str, Any]]
    expect: str = "reject"
    """``reject``: exit 2 with one line (``ScenarioError`` from Python); ``accept``: exit 0;
    ``either``: one of them."""
    owner: str = ""
    """``issue-16`` for the output-folder and infrastructure work of that issue."""
    note: str = ""
    timeout_s: int | None = None
    """A time limit of its own (``None``: the sandbox's)."""


CASES: list[Case] = []


def case(cls: str, name: str, expect: str = "reject", owner: str = "", note: str = ""):
    def deco(make: Callable[[Path], tuple[str, Any]]) -> Callable[[Path], tuple[str, Any]]:
        CASES.append(Case(cls, name, make, expect, owner, note))
        return make

    return deco


def file_case(cls: str, name: str, data: dict[str, Any] | bytes, expect: str = "reject") -> None:
    content = data if isinstance(data, bytes) else toml(data)
    CASES.append(Case(cls, name, lambda tmp, c=content: ("file", c), expect))


# ------------------------------------------------------------------------------------ sizes
S = "sizes"
file_case(S, "file-1TiB", changed(BASE, ("objects.0.size", "1 TiB")))
file_case(S, "file-1e18B", changed(BASE, ("objects.0.size", "1e18 B")))
file_case(S, "file-int-1e15", changed(BASE, ("objects.0.size", 10**15)))
file_case(S, "file-1e400B", changed(BASE, ("objects.0.size", "1e400 B")))
file_case(S, "file-300GiB", changed(BASE, ("objects.0.size", "300 GiB")))
file_case(S, "chunk-1B", changed(BASE, ("objects.0.chunk_size", "1 B")))
file_case(
    S,
    "chunk-1B-100MiB",
    changed(BASE, ("objects.0.chunk_size", "1 B"), ("objects.0.size", "100 MiB")),
)
file_case(
    S,
    "max-links-2-chunk-1KiB-1GiB",
    changed(
        BASE,
        ("objects.0.chunk_size", "1 KiB"),
        ("objects.0.size", "1 GiB"),
        ("objects.0.max_links", 2),
    ),
)
file_case(S, "count-1e12", changed(BASE, ("groups.1.count", 10**12)))
file_case(S, "count-1e6", changed(BASE, ("groups.1.count", 10**6)))
file_case(S, "count-1e5", changed(BASE, ("groups.1.count", 100_000)))
file_case(S, "seeds-count-1e9", changed(BASE, ("groups.0.count", 10**9)))
file_case(S, "replications-1e9", changed(BASE, ("replications", 10**9)))
file_case(S, "replications-1e6", changed(BASE, ("replications", 10**6)))
file_case(
    S,
    "sweep-1e6-points",
    changed(
        BASE,
        ("sweep", {"seed": list(range(1000)), "groups.leeches.count": list(range(1, 1001))}),
    ),
)
file_case(
    S,
    "sweep-1e8-points",
    changed(BASE, ("sweep", {"seed": list(range(10_000)), "replications": list(range(1, 10_001))})),
)
file_case(S, "sweep-count-1e12", changed(BASE, ("sweep", {"groups.leeches.count": [1, 10**12]})))
file_case(
    S,
    "sweep-size-1TiB",
    changed(BASE, ("sweep", {"objects.file.size": ["1 MiB", "1 TiB"]})),
)
file_case(
    S,
    "churn-1ns",
    changed(
        BASE,
        (
            "faults",
            [{"kind": "churn", "group": "leeches", "uptime": "1 ns", "duration": "1 ns"}],
        ),
    ),
)
file_case(
    S,
    "churn-exponential-1ns",
    changed(
        BASE,
        (
            "faults",
            [
                {
                    "kind": "churn",
                    "group": "seeds",
                    "uptime": {"dist": "exponential", "mean": "1 ns"},
                    "duration": {"dist": "exponential", "mean": "1 ns"},
                }
            ],
        ),
    ),
)
file_case(
    S,
    "churn-1us-long-run",
    changed(
        BASE,
        ("max_sim_time_s", "1 h"),
        ("faults", [{"kind": "churn", "group": "seeds", "uptime": "1 us", "duration": "1 us"}]),
    ),
)
file_case(
    S,
    "blocks-count-1e12",
    changed(
        BASE,
        ("objects.0", {"name": "file", "type": "blocks", "count": 10**12}),
        ("groups.1.fetch", {"object": "file", "pattern": "big-batch"}),
    ),
)
file_case(
    S,
    "blocks-count-1e7",
    changed(
        BASE,
        ("objects.0", {"name": "file", "type": "blocks", "count": 10**7}),
        ("groups.1.fetch", {"object": "file", "pattern": "big-batch"}),
    ),
)
file_case(
    S,
    "oci-1000-layers-of-1GiB",
    changed(BASE, ("objects.0", {"name": "file", "type": "oci-image", "layers": ["1 GiB"] * 1000})),
)
file_case(
    S,
    "many-faults",
    changed(
        BASE,
        (
            "faults",
            [
                {"kind": "slow", "name": f"s{i}", "group": "leeches", "bandwidth_factor": 0.5}
                for i in range(60_000)
            ],
        ),
    ),
)
file_case(
    S,
    "many-groups",
    changed(
        BASE,
        ("groups", BASE["groups"] + [{"name": f"g{i}", "count": 1} for i in range(60_000)]),
    ),
)
file_case(
    S,
    "many-objects",
    changed(
        BASE,
        (
            "objects",
            BASE["objects"]
            + [{"name": f"o{i}", "type": "blocks", "count": 1} for i in range(60_000)],
        ),
    ),
)
file_case(
    S,
    "many-seed-entries",
    changed(BASE, ("groups.0.seed_objects", [{"object": "file", "every": 2}] * 100_000)),
)
file_case(
    S,
    "edge-latency-big-swarm",
    changed(
        BASE,
        ("network.latency", {"model": "edge", "values": [["seeds-0", "leeches-0", "1 ms"]]}),
        ("network.topology", "region-mesh"),
        ("defaults.region", "r"),
        ("groups.1.count", 20_000),
    ),
)
file_case(
    S,
    "stagger-many-leeches",
    changed(
        BASE, ("groups.1.count", 5_000), ("groups.1.fetch", {"object": "file", "stagger": "1 ms"})
    ),
)
file_case(S, "full-mesh-3000", changed(BASE, ("groups.1.count", 3_000)))


@case(S, "cli-replications-1e9")
def _(tmp: Path) -> tuple[str, Any]:
    (tmp / "s.toml").write_bytes(toml(BASE))
    return "argv", [
        "run",
        str(tmp / "s.toml"),
        "--out",
        str(tmp / "o"),
        "--replications",
        "1000000000",
    ]


@case(S, "comment-file-50MB")
def _(tmp: Path) -> tuple[str, Any]:
    path = tmp / "big.toml"
    with path.open("wb") as f:
        f.write(toml(BASE))
        line = b"# " + b"x" * 1000 + b"\n"
        for _ in range(50_000):
            f.write(line)
    return "argv", ["validate", str(path)]


@case(S, "sparse-file-2GB")
def _(tmp: Path) -> tuple[str, Any]:
    path = tmp / "sparse.toml"
    with path.open("wb") as f:
        f.truncate(2 * 10**9)
    return "argv", ["validate", str(path)]


# ------------------------------------------------------------------------------------ numbers
N = "numbers"
INF, NAN = float("inf"), float("nan")
for _name, _edits in {
    "jitter-inf": [("network.jitter", INF)],
    "jitter-nan": [("network.jitter", NAN)],
    "jitter-1e308": [("network.jitter", 1e308)],
    "jitter-negative-zero-bool": [("network.jitter", True)],
    "upload-1e-320": [("defaults.upload", 1e-320)],
    "upload-str-1e-320": [("defaults.upload", "1e-320 Mbit/s")],
    "upload-1e-300": [("defaults.upload", 1e-300)],
    "download-micro-bit": [("defaults.download", "0.000001 bit/s")],
    "upload-1e400-str": [("defaults.upload", "1e400 Mbit/s")],
    "upload-nan": [("defaults.upload", NAN)],
    "upload-bool": [("defaults.upload", True)],
    "blockstore-latency-1e308": [("defaults.blockstore_latency", 1e308)],
    "blockstore-latency-1e-320": [("defaults.blockstore_latency", 1e-320)],
    "max-sim-time-1e308": [("max_sim_time_s", 1e308)],
    "max-sim-time-1e400-h": [("max_sim_time_s", "1e400 h")],
    "max-sim-time-1e306-h": [("max_sim_time_s", "1e306 h")],
    "dht-delay-1e306-h": [("defaults.routing", "dht"), ("defaults.dht_lookup_delay", "1e306 h")],
    "fetch-start-inf": [("groups.1.fetch", {"object": "file", "start": INF})],
    "fetch-stagger-1e300": [("groups.1.fetch", {"object": "file", "stagger": 1e300})],
    "latency-one-way-1e-320": [("network.latency.one_way", 1e-320)],
    "latency-one-way-1e308": [("network.latency.one_way", 1e308)],
    "latency-one-way-inf": [("network.latency.one_way", INF)],
    "master-blockstore-workers-false": [
        ("defaults.strategy", "master"),
        ("strategy", {"master": {"blockstore_workers": False}}),
    ],
    "master-engine-workers-true": [
        ("defaults.strategy", "master"),
        ("strategy", {"master": {"engine_task_workers": True}}),
    ],
    "master-latency-timeout-inf": [("strategy", {"master": {"latency_timeout_s": INF}})],
    "master-rebroadcast-1e-320": [
        ("defaults.strategy", "master"),
        ("strategy", {"master": {"rebroadcast_interval_s": 1e-320}}),
    ],
    "master-thaw-1e-12": [
        ("defaults.strategy", "master"),
        ("strategy", {"master": {"thaw_interval_s": 1e-12}}),
    ],
    "master-base-tick-1e308": [("strategy", {"master": {"base_tick_delay_s": 1e308}})],
    "master-engine-workers-1e12": [
        ("defaults.strategy", "master"),
        ("strategy", {"master": {"engine_task_workers": 10**12, "send_workers": 10**12}}),
    ],
    "master-max-split-1e30": [("strategy", {"master": {"max_split": 10**30}})],
    "master-fraction-bool": [("strategy", {"master": {"new_latency_weight": True}})],
    "poc-dont-have-timeout-inf": [("strategy", {"poc": {"dont_have_timeout_s": INF}})],
    "poc-debounce-1e-320": [("strategy", {"poc": {"send_message_debounce_s": 1e-320}})],
    "poc-rebroadcast-1e-9": [("strategy", {"poc": {"rebroadcast_interval_s": 1e-9}})],
    "poc-workers-1e12": [("strategy", {"poc": {"engine_task_workers": 10**12}})],
    "poc-want-block-peers-str": [("strategy", {"poc": {"want_block_peers": "1"}})],
    "poc-potential-inf": [("strategy", {"poc-potential": {"latency_multiplier": INF}})],
    "seed-2-64": [("seed", 2**64)],
    "seed-2-70": [("seed", 2**70)],
    "seed-float": [("seed", 1.5)],
    "seed-bool": [("seed", True)],
    "replications-bool": [("replications", True)],
    "count-bool": [("groups.1.count", True)],
    "count-float": [("groups.1.count", 2.0)],
    "churn-fraction-selects-nobody": [
        ("faults", [{"kind": "churn", "group": "leeches", "fraction": 1e-12, "at": 1.0}])
    ],
    "slow-fraction-selects-nobody": [
        (
            "faults",
            [{"kind": "slow", "group": "leeches", "fraction": 1e-11, "bandwidth_factor": 0.5}],
        )
    ],
    "fraction-1e-320": [
        ("faults", [{"kind": "churn", "group": "leeches", "fraction": 1e-320, "at": 1.0}])
    ],
    "bandwidth-factor-1e-320": [
        ("faults", [{"kind": "slow", "group": "leeches", "bandwidth_factor": 1e-320}])
    ],
    "added-latency-1e308": [
        ("faults", [{"kind": "slow", "group": "leeches", "added_latency": 1e308}])
    ],
    "churn-at-1e308": [("faults", [{"kind": "churn", "group": "leeches", "at": 1e308}])],
    "weibull-shape-inf": [
        (
            "faults",
            [
                {
                    "kind": "churn",
                    "group": "seeds",
                    "at": 1.0,
                    "duration": {"dist": "weibull", "shape": INF, "scale": 1.0},
                }
            ],
        )
    ],
    "lognormal-sigma-1e308": [
        (
            "faults",
            [
                {
                    "kind": "churn",
                    "group": "seeds",
                    "at": 1.0,
                    "duration": {"dist": "lognormal", "median": 1.0, "sigma": 1e308},
                }
            ],
        )
    ],
    "pareto-shape-1e-320": [
        (
            "faults",
            [
                {
                    "kind": "churn",
                    "group": "seeds",
                    "at": 1.0,
                    "duration": {"dist": "pareto", "shape": 1e-320, "scale": 1.0},
                }
            ],
        )
    ],
    "name-blank": [("name", "   ")],
    "name-tab": [("name", "\t")],
    "name-ideographic-space": [("name", "\u3000")],
    "name-zero-width": [("name", "\u200b")],
    "group-name-200kB": [("groups.1.name", "g" * 200_000), ("groups.1.fetch", "file")],
    "group-name-blank": [("groups.1.name", "  ")],
    "group-name-empty": [("groups.1.name", "")],
    "object-name-200kB": [
        ("objects.0.name", "o" * 200_000),
        ("groups.0.seed_objects", ["o" * 200_000]),
        ("groups.1.fetch", "o" * 200_000),
    ],
    "object-name-blank": [
        ("objects.0.name", " "),
        ("groups.0.seed_objects", [" "]),
        ("groups.1.fetch", " "),
    ],
    "fault-name-200kB": [
        (
            "faults",
            [{"kind": "slow", "name": "f" * 200_000, "group": "leeches", "bandwidth_factor": 0.5}],
        )
    ],
    "fault-name-blank": [
        ("faults", [{"kind": "slow", "name": " ", "group": "leeches", "bandwidth_factor": 0.5}])
    ],
    "region-200kB": [("defaults.region", "r" * 200_000)],
    "region-blank": [("defaults.region", " ")],
    "registry-connections-1e12": [
        ("defaults.strategy", "registry"),
        ("objects.0", {"name": "file", "type": "oci-image", "layers": ["1 MiB"]}),
        ("registry", {"connections": 10**12}),
    ],
    "inter-region-1e30": [("network.topology", "region-mesh"), ("network.inter_region", 10**30)],
    "cid-version-float": [("network.cid_version", 1.0)],
    "rate-sigma-1e-320": [
        ("network.transport", "go-testnet"),
        ("network.rate", "1 MB/s"),
        ("network.rate_sigma", "1e-320 B/s"),
    ],
    "every-1e30": [
        ("groups.0.seed_objects", [{"object": "file", "every": 10**30}]),
        ("groups", BASE["groups"] + [{"name": "all", "seed_objects": ["file"]}]),
    ],
    "range-stop-1e30": [("groups.0.seed_objects", [{"object": "file", "range": [0, 10**30]}])],
    "max-links-1e30": [("objects.0.max_links", 10**30)],
    "size-negative-zero": [("objects.0.size", "-0 B")],
    "layer-size-nan-str": [
        ("objects.0", {"name": "file", "type": "oci-image", "layers": ["nan B"]}),
    ],
}.items():
    _expect = "reject"
    if _name in ("master-engine-workers-1e12", "poc-workers-1e12", "registry-connections-1e12"):
        _expect = "either"
    if _name in (
        "inter-region-1e30",
        "every-1e30",
        "range-stop-1e30",
        "max-links-1e30",
        "master-max-split-1e30",
    ):
        _expect = "accept"
    file_case(N, _name, changed(BASE, *_edits), _expect)


# ------------------------------------------------------------------- hosts (a machine per node)
def hosted(host: dict[str, Any], *edits: tuple[str, Any]) -> dict[str, Any]:
    """:data:`BASE` with every group on a custom host ``mine`` (``host``: its table)."""
    return changed(BASE, ("defaults.host", "mine"), ("hosts", {"mine": host}), *edits)


for _name, _host, _expect in [
    ("host-cores-1e12", {"cores": 10**12}, "reject"),
    ("host-cores-negative", {"cores": -2}, "reject"),
    ("host-cores-bool", {"cores": True}, "reject"),
    ("host-capacity-inf", {"cores": 2, "capacity_cores": INF}, "reject"),
    ("host-capacity-1e-320", {"cores": 2, "capacity_cores": 1e-320}, "reject"),
    ("host-iops-inf", {"disk": {"write_iops": INF}}, "reject"),
    ("host-iops-nan", {"disk": {"read_iops": NAN}}, "reject"),
    ("host-iops-1e-320", {"disk": {"read_iops": 1e-320}}, "reject"),
    ("host-rate-1e-320", {"base": "modern", "send_rate": 1e-320}, "reject"),
    ("host-rate-1e400-str", {"work": {"hash_rate": "1e400 B/s"}}, "reject"),
    ("host-rate-nan", {"cipher": "tls", "cipher_rate": NAN}, "reject"),
    ("host-duration-inf", {"stream_open": INF}, "reject"),
    ("host-duration-1e-320", {"disk": {"write_latency": 1e-320}}, "reject"),
    ("host-duration-1e306-h", {"work": {"put": "1e306 h"}}, "reject"),
    ("host-summary-200k", {"summary": "s" * 200_000}, "reject"),
    ("host-base-unknown", {"base": "m5.large"}, "reject"),
    ("host-cores-1024-ok", {"base": "p2plab-2020", "cores": 1024}, "accept"),
    (
        "host-custom-ok",
        {"base": "go-ipfs-2020", "cipher": "tls", "cipher_rate": "1 GB/s"},
        "accept",
    ),
]:
    file_case(N, _name, hosted(_host), _expect)
file_case(N, "host-unknown-preset", changed(BASE, ("groups.1.host", "c5.xlarge")))
file_case(N, "host-name-200k", changed(BASE, ("hosts", {"h" * 200_000: {"base": "modern"}})))
file_case(N, "host-name-blank", changed(BASE, ("hosts", {"   ": {}}), ("defaults.host", "   ")))
file_case(N, "host-preset-ok", changed(BASE, ("defaults.host", "p2plab-2020")), "accept")
file_case(S, "hosts-20000-tables", changed(BASE, ("hosts", {f"h{i}": {} for i in range(20_000)})))
file_case(
    S, "host-sweep-cores-1e12", hosted({"cores": 2}, ("sweep", {"hosts.mine.cores": [2, 10**12]}))
)


# --------------------------------------------------------------------------- certain failures
C = "certain-failures"
file_case(
    C,
    "partition-regions-never-connected",
    changed(
        REGIONS,
        ("faults", [{"kind": "partition", "regions": ["us-east-1", "us-west-2"], "at": 1.0}]),
    ),
)
file_case(
    C,
    "partition-groups-never-connected",
    changed(REGIONS, ("faults", [{"kind": "partition", "groups": ["east", "west"], "at": 1.0}])),
)
file_case(
    C,
    "link-across-unconnected-regions",
    changed(REGIONS, ("faults", [{"kind": "link", "a": "east-0", "b": "west-0", "at": 1.0}])),
)
file_case(
    C,
    "fetch-region-with-no-seed",
    changed(REGIONS, ("groups", REGIONS["groups"][:3])),
)
file_case(
    C,
    "fetch-nobody-seeds",
    changed(BASE, ("groups.0.seed_objects", []), ("max_sim_time_s", 1e9)),
)
file_case(
    C,
    "fetch-other-object-nobody-seeds",
    changed(
        BASE,
        ("objects", BASE["objects"] + [{"name": "other", "type": "file", "size": "1 MiB"}]),
        ("groups.1.fetch", "other"),
    ),
)
file_case(
    C,
    "seed-and-fetch-same-object",
    changed(BASE, ("groups.1.seed_objects", ["file"])),
)
file_case(
    C,
    "seed-part-and-fetch-same-object",
    changed(BASE, ("groups.1.seed_objects", [{"object": "file", "every": 2}])),
    expect="accept",
)
file_case(
    C,
    "blocks-held-by-nobody",
    changed(BASE, ("groups.0.seed_objects", [{"object": "file", "every": 2}])),
)
file_case(
    C,
    "fetch-starts-after-the-end",
    changed(BASE, ("groups.1.fetch", {"object": "file", "start": "2 min"})),
)
file_case(
    C,
    "stagger-past-the-end",
    changed(BASE, ("groups.1.fetch", {"object": "file", "stagger": "50 s"})),
)
file_case(
    C,
    "partition-regions-with-gateways",
    changed(
        REGIONS,
        ("network.inter_region", 1),
        ("faults", [{"kind": "partition", "regions": ["us-east-1", "us-west-2"], "at": 1.0}]),
    ),
    expect="accept",
)
file_case(
    C,
    "partition-regions-full",
    changed(
        REGIONS,
        ("network.inter_region", "full"),
        (
            "faults",
            [
                {
                    "kind": "partition",
                    "regions": ["us-east-1", "us-west-2"],
                    "at": 1.0,
                    "duration": "1 s",
                }
            ],
        ),
    ),
    expect="accept",
)
file_case(C, "regions-none-each-seeded", REGIONS, expect="accept")


# ---------------------------------------------------------------------------------- not TOML
T = "not-toml"
_valid = toml(BASE)
for _name, _bytes in {
    "binary": bytes(range(256)) * 40,
    "nul-bytes": b"\0" * 4096,
    "latin-1": _valid.replace(b'"hostile"', '"café"'.encode("latin-1")),
    "utf-16": _valid.decode().encode("utf-16"),
    "utf-16-le-no-bom": _valid.decode().encode("utf-16-le"),
    "utf-32": _valid.decode().encode("utf-32"),
    "utf-8-bom": b"\xef\xbb\xbf" + _valid,
    "invalid-utf8-in-comment": b"# \xff\xfe bad\n" + _valid,
    "nested-arrays-100k": b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "nested-arrays-3000": b"x = " + b"[" * 3000 + b"]" * 3000 + b"\n",
    "nested-inline-tables": b"x = " + b"{a = " * 5000 + b"1" + b"}" * 5000 + b"\n",
    "nested-tables-headers": b"[" + b".".join([b"a"] * 20000) + b"]\n",
    "gzip": b"\x1f\x8b\x08\x00" + bytes(200),
    "json": json.dumps({"name": "x"}).encode(),
    "yaml": b"name: x\ngroups:\n  - name: a\n",
    "empty": b"",
    "only-bom": b"\xef\xbb\xbf",
    "huge-int-literal": b"seed = " + b"9" * 5000 + b"\n" + _valid.split(b"\n", 2)[2],
    "float-literal-1e99999": _valid.replace(
        b'transport = "fifo"', b'transport = "fifo"\njitter = 1e99999'
    ),
    "lone-surrogate-escape": _valid.replace(b'"hostile"', b'"\\uD800"'),
    "control-char-in-string": _valid.replace(b'"hostile"', b'"a\\u0000b"'),
    "crlf": _valid.replace(b"\n", b"\r\n"),
    "string-10MB": _valid.replace(b'"hostile"', b'"' + b"x" * 10_000_000 + b'"'),
    "key-200kB": _valid + b"\n" + b"k" * 200_000 + b" = 1\n",
}.items():
    _expect = "accept" if _name == "crlf" else "reject"
    file_case(T, _name, _bytes, _expect)


@case(T, "dev-zero")
def _(tmp: Path) -> tuple[str, Any]:
    return "argv", ["validate", "/dev/zero"]


@case(T, "dev-urandom")
def _(tmp: Path) -> tuple[str, Any]:
    return "argv", ["validate", "/dev/urandom"]


@case(T, "run-dev-zero")
def _(tmp: Path) -> tuple[str, Any]:
    return "argv", ["run", "/dev/zero", "--out", str(tmp / "o")]


@case(T, "directory")
def _(tmp: Path) -> tuple[str, Any]:
    return "argv", ["validate", str(tmp)]


@case(T, "fifo")
def _(tmp: Path) -> tuple[str, Any]:
    os.mkfifo(tmp / "pipe.toml")
    return "argv", ["validate", str(tmp / "pipe.toml")]


@case(T, "symlink-loop")
def _(tmp: Path) -> tuple[str, Any]:
    (tmp / "loop.toml").symlink_to(tmp / "loop.toml")
    return "argv", ["validate", str(tmp / "loop.toml")]


@case(T, "path-too-long")
def _(tmp: Path) -> tuple[str, Any]:
    return "argv", ["validate", str(tmp / ("x" * 5000))]


@case(T, "path-with-nul")
def _(tmp: Path) -> tuple[str, Any]:
    return (
        "code",
        "import sys\nfrom experiments.cli import main\nsys.exit(main(['validate', 'a\\x00b']))",
    )


@case(T, "plot-garbage-scenario-toml")
def _(tmp: Path) -> tuple[str, Any]:
    import pandas as pd

    pd.DataFrame({"run_id": ["x"]}).to_parquet(tmp / "runs.parquet")
    pd.DataFrame({"run_id": ["x"]}).to_parquet(tmp / "peers.parquet")
    (tmp / "scenario.toml").write_bytes(bytes(range(256)))
    return "argv", ["plot", str(tmp)]


# -------------------------------------------------------------------------------- python API
P = "python-api"
_PRELUDE = textwrap.dedent(
    f"""
    import sys
    from pathlib import Path
    from experiments.scenario import ScenarioError, load_scenario, parse_scenario, grid
    from experiments.runner import run, run_tables, plan
    SMALL = __import__("json").loads({json.dumps(json.dumps(BASE))})
    sc = parse_scenario(SMALL)
    """
)


def api(name: str, call: str, expect: str = "reject", owner: str = "") -> None:
    code = _PRELUDE + textwrap.dedent(
        f"""
        try:
            result = {call}
            if hasattr(result, "__next__"):
                next(result)
        except ScenarioError as exc:
            print(str(exc).replace("\\n", " "), file=sys.stderr)
            sys.exit(2)
        """
    )
    CASES.append(Case(P, name, lambda tmp, c=code: ("code", c), expect, owner))


api("run-replications-0", "run(sc, replications=0)")
api("run-replications-negative", "run(sc, replications=-1)")
api("run-replications-bool", "run(sc, replications=True)")
api("run-replications-str", "run(sc, replications='2')")
api("run-replications-float", "run(sc, replications=2.0)")
api("run-seed-negative", "run(sc, seed=-1)")
api("run-seed-2-64", "run(sc, seed=2**64)")
api("run-seed-str", "run(sc, seed='1')")
api("run-seed-float", "run(sc, seed=1.5)")
api("run-tables-replications-0", "run_tables(sc, replications=0)")
api("plan-replications-1e9", "plan(sc, replications=10**9)")
api("plan-replications-0", "plan(sc, replications=0)")
api("plan-seed-none-ok", "plan(sc, seed=None)", expect="accept")
api("replace-replications-0", "run(__import__('dataclasses').replace(sc, replications=0))")
api("replace-seed-negative", "run(__import__('dataclasses').replace(sc, seed=-5))")
api("with-replications-1e9", "plan(sc.with_replications(10**9))")
api("parse-none", "parse_scenario(None)")
api("parse-string", "parse_scenario('name = \"x\"')")
api("parse-list", "parse_scenario([1, 2])")
api("parse-groups-string", "parse_scenario({**SMALL, 'groups': 'abc'})")
api("parse-seed-2-64", "parse_scenario({**SMALL, 'seed': 2**64})")
api("parse-object-value", "parse_scenario({**SMALL, 'seed': object()})")
api("parse-name-nan", "parse_scenario({**SMALL, 'name': float('nan')})")
api("parse-non-string-keys", "parse_scenario({**SMALL, 1: 2})")
api(
    "parse-numpy-int-count",
    "parse_scenario({**SMALL, 'replications': __import__('numpy').int64(2)})",
    expect="either",
)
api("parse-source-not-str", "parse_scenario({**SMALL, 'seed': -1}, source=None)")
api("load-none", "load_scenario(None)")
api("load-int", "load_scenario(123)")
api("load-dev-zero", "load_scenario('/dev/zero')")
api("load-bytes-path", "load_scenario(b'/nonexistent')")
api("run-a-dict", "run(SMALL)")
api("run-a-path", "run('tests/data/small.toml')")
api("plan-a-dict", "plan(SMALL)")
api(
    "grid-1e6-lazy",
    "grid(parse_scenario({**SMALL, 'sweep': {'seed': list(range(1000)), "
    "'groups.leeches.count': list(range(1, 1001))}}))",
)
api(
    "run-ids-sort-in-plan-order",
    "(lambda ids: ids == sorted(ids) or sys.exit(3))([s.run_id for s in plan(parse_scenario("
    "{**SMALL, 'sweep': {'seed': list(range(1001))}}), replications=1)])",
    expect="accept",
    owner="issue-16",
)


api("parse-hosts-cores-1e12", "parse_scenario({**SMALL, 'hosts': {'m': {'cores': 10**12}}})")
api("parse-hosts-not-a-table", "parse_scenario({**SMALL, 'hosts': [1, 2]})")


# ---------------------------------------------------------------------------------- CLI args
A = "cli-args"


def cli(
    name: str, argv: Callable[[Path], list[str]], expect: str = "reject", owner: str = ""
) -> None:
    CASES.append(Case(A, name, lambda tmp, a=argv: ("argv", a(tmp)), expect, owner))


def _small(tmp: Path) -> str:
    path = tmp / "s.toml"
    path.write_bytes(toml(BASE))
    return str(path)


cli("no-arguments", lambda t: [])
cli("unknown-command", lambda t: ["explode"])
cli("run-no-file", lambda t: ["run"])
cli("run-no-out", lambda t: ["run", _small(t)])
cli(
    "run-replications-0", lambda t: ["run", _small(t), "--out", str(t / "o"), "--replications", "0"]
)
cli(
    "run-replications-negative",
    lambda t: ["run", _small(t), "--out", str(t / "o"), "--replications", "-5"],
)
cli(
    "run-replications-word",
    lambda t: ["run", _small(t), "--out", str(t / "o"), "--replications", "many"],
)
cli(
    "run-replications-huge",
    lambda t: ["run", _small(t), "--out", str(t / "o"), "--replications", "9" * 30],
)
cli("run-seed-negative", lambda t: ["run", _small(t), "--out", str(t / "o"), "--seed", "-1"])
cli("run-seed-2-64", lambda t: ["run", _small(t), "--out", str(t / "o"), "--seed", str(2**64)])
cli("run-seed-float", lambda t: ["run", _small(t), "--out", str(t / "o"), "--seed", "1.5"])
cli("run-unknown-flag", lambda t: ["run", _small(t), "--out", str(t / "o"), "--fast"])
cli("run-ok", lambda t: ["run", _small(t), "--out", str(t / "o")], expect="accept")
cli("sweep-workers-0", lambda t: ["sweep", _small(t), "--out", str(t / "o"), "--workers", "0"])
cli(
    "sweep-workers-negative",
    lambda t: ["sweep", _small(t), "--out", str(t / "o"), "--workers", "-2"],
)
cli(
    "sweep-workers-100000",
    lambda t: ["sweep", _small(t), "--out", str(t / "o"), "--workers", "100000"],
)
cli(
    "sweep-workers-and-dask",
    lambda t: ["sweep", _small(t), "--out", str(t / "o"), "--workers", "2", "--dask", "local:1"],
)
cli("sweep-dask-garbage", lambda t: ["sweep", _small(t), "--out", str(t / "o"), "--dask", "%%%"])
cli("validate-no-file", lambda t: ["validate"])
cli("validate-two-files", lambda t: ["validate", _small(t), _small(t)])
cli("validate-empty-path", lambda t: ["validate", ""])
cli("validate-root", lambda t: ["validate", "/"])
cli("validate-dev-null", lambda t: ["validate", "/dev/null"])
cli("validate-ok", lambda t: ["validate", _small(t)], expect="accept")
cli("bench-repeats-0", lambda t: ["bench", "--repeats", "0", "--out", str(t / "b.json")])
cli(
    "bench-repeats-huge",
    lambda t: ["bench", "substrate", "--repeats", "1000000000", "--out", str(t / "b.json")],
)
cli("bench-leeches-0", lambda t: ["bench", "scaling", "--leeches", "0", "--out", str(t / "b.json")])
cli(
    "bench-leeches-huge",
    lambda t: ["bench", "scaling", "--leeches", "1000000", "--out", str(t / "b.json")],
)
cli(
    "bench-leeches-word",
    lambda t: ["bench", "scaling", "--leeches", "a,b", "--out", str(t / "b.json")],
)
cli("bench-unknown-part", lambda t: ["bench", "everything", "--out", str(t / "b.json")])
cli(
    "bench-out-in-proc",
    lambda t: ["bench", "substrate", "--quick", "--repeats", "1", "--out", "/proc/nope/b.json"],
)
cli("plot-missing-folder", lambda t: ["plot", str(t / "missing")])
cli("plot-no-arguments", lambda t: ["plot"])
cli("demo-bad-strategy", lambda t: ["demo", "--strategy", "bittorrent"])
cli("demo-extra-argument", lambda t: ["demo", "extra"])
cli(
    "reproduce-workers-0",
    lambda t: ["reproduce", "--quick", "--workers", "0", "--out", str(t / "r")],
)
cli(
    "reproduce-workers-negative",
    lambda t: ["reproduce", "--quick", "--workers", "-1", "--out", str(t / "r")],
)
cli("reproduce-workers-word", lambda t: ["reproduce", "--workers", "x"])


@case(A, "plot-garbage-parquet")
def _(tmp: Path) -> tuple[str, Any]:
    (tmp / "runs.parquet").write_bytes(b"garbage")
    (tmp / "peers.parquet").write_bytes(b"")
    return "argv", ["plot", str(tmp)]


@case(A, "plot-a-file")
def _(tmp: Path) -> tuple[str, Any]:
    return "argv", ["plot", _small(tmp)]


# ------------------------------------------------------------------------ output folders (16)
OUT = "output-folders"
CASES += [
    Case(
        OUT,
        "out-under-a-file",
        lambda t: ("argv", ["run", _small(t), "--out", _small(t) + "/sub"]),
        owner="issue-16",
    ),
    Case(
        OUT,
        "out-in-proc",
        lambda t: ("argv", ["run", _small(t), "--out", "/proc/nope/out"]),
        owner="issue-16",
    ),
    Case(OUT, "out-empty", lambda t: ("argv", ["run", _small(t), "--out", ""]), owner="issue-16"),
    Case(
        OUT,
        "sweep-out-under-a-file",
        lambda t: ("argv", ["sweep", _small(t), "--out", _small(t) + "/x", "--workers", "1"]),
        owner="issue-16",
    ),
    Case(
        OUT,
        "reproduce-out-in-proc",
        lambda t: ("argv", ["reproduce", "--quick", "--out", "/proc/nope"]),
        owner="issue-16",
    ),
    Case(OUT, "out-is-dev-null", lambda t: ("argv", ["run", _small(t), "--out", "/dev/null"])),
]


# ------------------------------------------------------------------------ infrastructure (16)
INFRA = "infrastructure"


def _resume_zero_byte(tmp: Path) -> tuple[str, Any]:
    runs = tmp / "o" / "runs"
    runs.mkdir(parents=True)
    for part in ("run", "peers", "transfers", "progress"):
        (runs / f"hostile-p000-r00.{part}.parquet").write_bytes(b"")
    return "argv", ["sweep", _small(tmp), "--out", str(tmp / "o"), "--resume", "--workers", "1"]


def _resume_garbage(tmp: Path) -> tuple[str, Any]:
    runs = tmp / "o" / "runs"
    runs.mkdir(parents=True)
    for part in ("run", "peers", "transfers", "progress"):
        (runs / f"hostile-p000-r00.{part}.parquet").write_bytes(b"PAR1garbage")
    return "argv", ["sweep", _small(tmp), "--out", str(tmp / "o"), "--resume", "--workers", "1"]


CASES += [
    Case(
        INFRA,
        "dask-unreachable",
        lambda t: (
            "argv",
            ["sweep", _small(t), "--out", str(t / "o"), "--dask", "tcp://127.0.0.1:9"],
        ),
        owner="issue-16",
        timeout_s=10,  # fail fast: no 30 s connection timeout
    ),
    Case(INFRA, "resume-zero-byte-run-file", _resume_zero_byte, owner="issue-16"),
    Case(INFRA, "resume-garbage-run-file", _resume_garbage, owner="issue-16"),
]


# ------------------------------------------------------------------------------------ running
@dataclass
class Result:
    case: Case
    verdict: str
    """``clean``, ``traceback``, ``hang``, ``memory``, ``wrong-acceptance``, ``messy`` (exit 2
    but not one line), ``wrong-refusal`` or ``wrong-result`` (a snippet found a wrong answer:
    exit status 3); ``other`` for anything else."""
    detail: str = ""
    outcomes: list[Outcome] = field(default_factory=list)


_SEVERITY = ("hang", "memory", "traceback")
VERDICTS = (
    "clean",
    "traceback",
    "hang",
    "memory",
    "wrong-acceptance",
    "messy",
    "wrong-refusal",
    "wrong-result",
    "other",
)


PENDING_ISSUE_16: frozenset[str] = frozenset()
"""Issue 16's cases that still fail here: none since its work was merged (``--out ""`` refused,
an unreachable ``--dask`` refused before Dask's connection timeout, run ids padded to the grid's
size). ``tests/test_hostile.py`` marks any name listed here xfail."""


RUN_IN_TESTS = frozenset(
    {
        "crlf",
        "inter-region-1e30",
        "max-links-1e30",
        "seed-part-and-fetch-same-object",
        "regions-none-each-seeded",
        "partition-regions-with-gateways",
    }
)
"""Accepted files the test suite also runs (every refused one that validate accepted is run
anyway); the corpus script runs every accepted file."""


def judge(c: Case, box: Sandbox, tmp: Path, *, run_accepted: bool = True) -> Result:
    """Run case ``c`` in ``box`` (files in ``tmp``) and judge the outcome. A file is validated,
    then run if validate accepted it and it should have been refused, or ``run_accepted``."""
    what, payload = c.make(tmp)
    outcomes: list[Outcome] = []
    if what == "file":
        path = tmp / f"{c.name}.toml"
        path.write_bytes(payload)
        outcomes.append(box.run(["validate", str(path)]))
        if outcomes[0].exit == 0 and (run_accepted or c.expect == "reject"):
            outcomes.append(box.run(["run", str(path), "--out", str(tmp / "out")]))
    elif what == "argv":
        outcomes.append(box.run(payload, cwd=tmp, timeout_s=c.timeout_s))
    else:
        outcomes.append(box.run(code=payload, cwd=tmp, timeout_s=c.timeout_s))
    kinds = [o.kind() for o in outcomes]
    for bad in _SEVERITY:
        if bad in kinds:
            o = outcomes[kinds.index(bad)]
            return Result(c, bad, (o.stderr.strip().splitlines() or [""])[-1][:200], outcomes)
    last = outcomes[-1]
    first_line = (last.stderr.strip().splitlines() or [""])[0][:200]
    if c.expect in ("reject", "either") and kinds[0] == "error":
        return Result(c, "clean", first_line, outcomes)
    if c.expect in ("accept", "either") and all(k == "ok" for k in kinds):
        return Result(c, "clean", "", outcomes)
    if c.expect == "reject" and kinds[0] == "ok":
        return Result(c, "wrong-acceptance", f"then {kinds[-1]}: {first_line}", outcomes)
    if "messy" in kinds:
        return Result(c, "messy", last.stderr.strip()[:200], outcomes)
    if c.expect == "accept" and "error" in kinds:
        return Result(c, "wrong-refusal", first_line, outcomes)
    if kinds[-1] == "status-3":
        return Result(c, "wrong-result", "", outcomes)
    return Result(c, "other", f"{kinds}: {first_line}", outcomes)


def run_corpus(
    cases: list[Case],
    tmp: Path,
    *,
    mem_mb: int = 1024,
    timeout_s: int = 30,
    echo: bool = False,
    root: Path = ROOT,
) -> list[Result]:
    results = []
    with Sandbox(mem_mb=mem_mb, timeout_s=timeout_s, root=root) as box:
        for i, c in enumerate(cases):
            where = tmp / f"{i:03d}-{c.name}"
            where.mkdir(parents=True)
            res = judge(c, box, where)
            results.append(res)
            if echo:
                wall = sum(o.wall_s for o in res.outcomes)
                print(
                    f"{c.cls:17} {c.name:38} {res.verdict:17} {wall:6.1f}s  {res.detail}",
                    flush=True,
                )
    return results


def counts(results: list[Result]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for r in results:
        out.setdefault(r.case.cls, Counter())[r.verdict] += 1
    return out


def main() -> None:
    import argparse
    import tempfile

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", help="run only cases whose name contains this")
    p.add_argument("--cls", help="run only this class")
    p.add_argument("--timeout", type=int, default=30)
    p.add_argument("--json", help="write the results here")
    p.add_argument("--root", default=str(ROOT), help="the checkout to run (default: this one)")
    args = p.parse_args()
    cases = [
        c
        for c in CASES
        if (not args.only or args.only in c.name) and (not args.cls or c.cls == args.cls)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        results = run_corpus(
            cases, Path(tmp), timeout_s=args.timeout, echo=True, root=Path(args.root)
        )
    print()
    verdicts = VERDICTS
    print(f"{'class':17} {'cases':>5} " + " ".join(f"{v:>16}" for v in verdicts))
    total: Counter[str] = Counter()
    for cls, c in counts(results).items():
        total += c
        print(f"{cls:17} {sum(c.values()):5} " + " ".join(f"{c[v]:16}" for v in verdicts))
    print(f"{'total':17} {sum(total.values()):5} " + " ".join(f"{total[v]:16}" for v in verdicts))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {
                        "cls": r.case.cls,
                        "name": r.case.name,
                        "owner": r.case.owner,
                        "verdict": r.verdict,
                        "detail": r.detail,
                    }
                    for r in results
                ],
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
