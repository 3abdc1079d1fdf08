"""Helpers for the hand-worked protocol scenarios: tiny networks with a message log."""

from __future__ import annotations

from models.swarm import Swarm
from sim import Network

L = 0.01
"""One-way latency of every link in the hand-worked scenarios, seconds."""


def swarm(peers, links, *, bandwidth=None, seed=0, **opts):
    """``peers``: names; ``links``: (a, b, one-way latency); bandwidth: name -> (up, down).

    Every delivered message is also logged in ``net.log`` as (time, src, dst, Message).
    """
    net = Network("fifo", trace=True, seed=seed)
    for p in peers:
        up, down = (bandwidth or {}).get(p, (float("inf"), float("inf")))
        net.add_node(p, upload_Bps=up, download_Bps=down)
    for a, b, lat in links:
        net.connect(a, b, latency_s=lat)
    sw = Swarm(net, **opts)
    net.log = []
    for p in peers:
        node = net.node(p)
        node.receiver = _tap(net, p, node.receiver)
    return net, sw


def _tap(net, me, receive):
    def tapped(src, msg):
        net.log.append((round(net.now, 9), src, me, msg))
        receive(src, msg)

    return tapped


def drain(net, seconds=1.0):
    """Deliver what is still in flight after the last fetch completed."""
    net.run(until=net.now + seconds)


def cancels(net):
    """(destination, time sent) of every CANCEL entry, in delivery order."""
    return [
        (dst, round(t - L, 9), cid)
        for t, _, dst, msg in net.log
        for cid, e in msg.entries.items()
        if e.cancel
    ]


def mesh(names, lat=L):
    return [(a, b, lat) for i, a in enumerate(names) for b in names[i + 1 :]]


def messages(net, kind, src=None, dst=None):
    tr = net.trace_frame()
    tr = tr[tr["kind"] == kind]
    if src is not None:
        tr = tr[tr["src"] == src]
    if dst is not None:
        tr = tr[tr["dst"] == dst]
    return [(r.src, r.dst, round(r.t_sent, 9), round(r.t_delivered, 9)) for r in tr.itertuples()]


def items(net, kinds=None):
    """Every entry, block and presence delivered: (time delivered, src, dst, kind, cid)."""
    from models.messages import PresenceType, WantType

    out = []
    for t, src, dst, msg in net.log:
        for cid, e in msg.entries.items():
            if e.cancel:
                kind = "cancel"
            else:
                kind = "want-block" if e.want_type == WantType.Block else "want-have"
            out.append((t, src, dst, kind, cid))
        for cid in msg.blocks:
            out.append((t, src, dst, "block", cid))
        for cid, p in msg.presences.items():
            out.append((t, src, dst, "have" if p == PresenceType.Have else "dont-have", cid))
    if kinds is not None:
        out = [x for x in out if x[3] in kinds]
    return out


def dag_with_children(n):
    """A root (8,000 B, so it is answered with HAVE) linking ``n`` 8,000 B blocks."""
    from models.dag import CidAllocator, Dag

    alloc = CidAllocator()
    root, *kids = (alloc.allocate() for _ in range(n + 1))
    sizes = dict.fromkeys([root, *kids], 8000)
    children = {root: tuple(kids)} | {k: () for k in kids}
    return Dag(root=root, size_of=sizes, children=children, cids_in_order=(root, *kids))
