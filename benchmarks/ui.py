"""Dashboard page times at 0, 10 000 and 100 000 relationships, against a bare handler.

    python benchmarks/ui.py [--quick] [--sizes 0,10000,100000] [--requests 20] [--json]

For each size, a vendor's home is filled with that many CONNECTED relationships (distinct
peers, real signed cards from a pool, through RelationshipBook, as benchmarks/node_throughput.py
fills its store) and two audit entries per relationship (an agreement and a grant received,
appended through AuditLog so the chain verifies); then the node is built as ``amity run`` builds
it (``create_app``: store, node, local API, dashboard) on 127.0.0.1, a browser session is
opened through a one-time login link, and these pages are fetched ``--requests`` times each:

- ``overview``: ``/ui/``, the page she (or the vendor) lands on;
- ``customers``: ``/ui/customers``, the vendor's console, its first page of fifty;
- ``search``: ``/ui/customers?q=customer 4``, a name search in that console.

Next to each, in the same run and the same process: a bare aiohttp handler on 127.0.0.1 that
returns the same page's bytes from memory (no store, no template), fetched the same way. The
ratio is ours / bare: what rendering the page costs beyond serving that many bytes over HTTP on
this machine. Goal (issue 18): the customer list under 100 ms at 100 000 relationships, and
flat: about the same at 0 and at 100 000. The client is aiohttp in the same process, so both
columns include its share; medians, with the load average printed beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from nodebench.peers import fill_relationships

from amity.node.auditlog import AuditLog
from amity.node.home import Config, Home
from amity.node.runner import RunOptions, create_app
from amity.node.store import Store
from amity.protocol.card import NodeKind
from amity.protocol.identity import PeerId

_PAGES = {
    "overview": "/ui/",
    "customers": "/ui/customers",
    "search": "/ui/customers?q=customer%204&by=name",
}
_GOAL_MS = 100.0


def _fill_audit(db_path: Path) -> float:
    """Two audit entries per relationship in the store, in one transaction; seconds taken."""
    started = time.perf_counter()
    with Store(db_path) as store:
        audit = AuditLog(store)
        rows = store.load_relationships()
        peers = [PeerId(row.peer_id) for row in rows if row.peer_id is not None]
        with store.transaction():
            for i, peer in enumerate(peers):
                at = 1_796_000_000_000 + i
                audit.append(at, "terms.agreed", peer, detail="P2B1 signed by both")
                audit.append(at + 1, "grant.received", peer, detail="email for service-provision")
    return time.perf_counter() - started


async def _timed(session: aiohttp.ClientSession, url: str, count: int) -> tuple[float, bytes]:
    """Median ms of ``count`` GETs (after two warm-ups), and the page's bytes."""
    body = b""
    times = []
    for i in range(count + 2):
        started = time.perf_counter()
        async with session.get(url) as reply:
            body = await reply.read()
            if reply.status != 200:
                raise RuntimeError(f"{url} answered {reply.status}: {body[:200]!r}")
        if i >= 2:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), body


async def _bare_ms(body: bytes, count: int) -> float:
    """The same bytes from a bare aiohttp handler on loopback, fetched the same way."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            ms, _ = await _timed(session, f"http://127.0.0.1:{port}/", count)
    finally:
        await runner.cleanup()
    return ms


async def _measure(size: int, count: int, root: Path) -> list[dict[str, Any]]:
    home = Home(root / f"vendor-{size}")
    config = Config(name="Corner Bookshop", kind=NodeKind.VENDOR, mdns=False)
    seed = home.create(config)
    fill_s = fill_relationships(home.db_path, size) if size else 0.0
    audit_s = _fill_audit(home.db_path) if size else 0.0
    print(
        f"  {size:>7} relationships: filled in {fill_s:.1f} s, audit in {audit_s:.1f} s",
        file=sys.stderr,
    )
    # Listening, as a vendor does (a node behind NAT would dial every peer at its start).
    options = RunOptions(listen="127.0.0.1:0", api="127.0.0.1:0", mdns=False, relay=False)
    started = time.perf_counter()
    runner = web.AppRunner(create_app(home, config, seed, options))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    rows = []
    # A node with many relationships is busy for a while after it starts (it reads them all):
    # no timeout but the run's own.
    timeout = aiohttp.ClientTimeout(total=None)
    try:
        # unsafe=True: aiohttp's jar otherwise keeps no cookie from an IP-address host.
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as session:
            auth = {"Authorization": f"Bearer {home.api_token()}"}
            async with session.post(f"{base}/api/ui/login", headers=auth) as made:
                link = (await made.json())["path"]
            ready_s = time.perf_counter() - started
            print(
                f"  {size:>7} relationships: the node answered {ready_s:.1f} s after start",
                file=sys.stderr,
            )
            async with session.get(base + link) as signed_in:
                assert signed_in.status == 200
            for name, path in _PAGES.items():
                ours, body = await _timed(session, base + path, count)
                bare = await _bare_ms(body, count)
                rows.append(
                    {
                        "relationships": size,
                        "page": name,
                        "ours_ms": round(ours, 2),
                        "bare_ms": round(bare, 2),
                        "ratio": round(ours / bare, 1),
                        "bytes": len(body),
                    }
                )
    finally:
        await runner.cleanup()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 0, 1 000, 10 000; 5 requests")
    parser.add_argument("--sizes", default=None, help="comma-separated relationship counts")
    parser.add_argument("--requests", type=int, default=None, help="GETs per page (median)")
    parser.add_argument("--json", action="store_true", help="rows as JSON on stdout")
    args = parser.parse_args()
    default_sizes = "0,1000,10000" if args.quick else "0,10000,100000"
    sizes = [int(s) for s in (args.sizes or default_sizes).split(",")]
    count = args.requests or (5 if args.quick else 20)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="amity-ui-bench-") as tmp:
        rows = []
        for size in sizes:
            rows.extend(asyncio.run(_measure(size, count, Path(tmp))))
    if args.json:
        print(json.dumps({"load_average": load, "rows": rows}, indent=2))
        return
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; median of {count} GETs")
    print(
        f"{'relationships':>13} {'page':<10} {'ours ms':>9} {'bare ms':>9} {'ratio':>6} {'KiB':>6}"
    )
    for r in rows:
        print(
            f"{r['relationships']:>13} {r['page']:<10} {r['ours_ms']:>9.2f} {r['bare_ms']:>9.2f}"
            f" {r['ratio']:>6.1f} {r['bytes'] / 1024:>6.1f}"
        )
    worst = max((r for r in rows if r["page"] == "customers"), key=lambda r: r["ours_ms"])
    verdict = "met" if worst["ours_ms"] < _GOAL_MS else "MISSED"
    print(
        f"goal: customer list < {_GOAL_MS:.0f} ms at every size: {verdict} "
        f"(slowest {worst['ours_ms']:.1f} ms at {worst['relationships']})"
    )


if __name__ == "__main__":
    main()
