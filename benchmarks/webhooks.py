"""Webhook deliveries/s to a local receiver, against bare aiohttp POSTs in the same run.

    python benchmarks/webhooks.py [--deliveries 2000] [--json]

- bare limit: an aiohttp client POSTs the same signed bodies, `concurrency` at a time (the
  node's default, 8), to an aiohttp receiver on 127.0.0.1 that answers 204; nothing is stored.
- amity: a node (amity.node.daemon.Node, with its store in a temporary SQLite file) whose queue
  holds that many pending deliveries (queued as the commits that cause events queue them, in
  one transaction beforehand); from the node's start until the store says every one is
  delivered: each read from the queue, signed (HMAC-SHA256), POSTed, and its outcome recorded
  through the group commit (one fsync covers many).

The receiver runs in this process and on this loop in both rows, so the ratio compares like
with like; on a shared machine the absolute figures follow the load, the ratio is the figure
to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from amity.node.daemon import Identity, Node
from amity.node.net.websocket import WebSocketDialer
from amity.node.store import Store
from amity.node.webhooks.policy import DeliveryPolicy
from amity.protocol.card import NodeKind
from amity.protocol.webhooks import (
    SECRET_BYTES,
    event_body,
    format_secret,
    message_id,
    signature_headers,
)

_CONCURRENCY = DeliveryPolicy().concurrency


async def _receiver() -> tuple[web.AppRunner, str]:
    async def take(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", take)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/hook"


def _body(n: int) -> bytes:
    data = {"peer": "did:key:z6Mk" + "x" * 44, "peer_name": f"customer {n}", "grant": f"{n:032x}",
            "fields": ["email", "postal-address"], "purpose": "delivery"}  # fmt: skip
    return event_body("grant.given", 1_767_225_600_000 + n, data)


async def bare(url: str, count: int) -> float:
    key = os.urandom(SECRET_BYTES)
    todo = list(range(count))
    connector = aiohttp.TCPConnector(limit=_CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while todo:
                n = todo.pop()
                body = _body(n)
                headers = signature_headers(key, message_id(os.urandom(16)), int(time.time()), body)
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 204

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(_CONCURRENCY)))
        return count / (time.perf_counter() - start)


async def amity(url: str, count: int, folder: Path) -> float:
    with Store(folder / "amity.db") as store:
        with store.transaction():
            store.add_webhook(url, format_secret(os.urandom(SECRET_BYTES)), ["grant.given"], 0)
            for n in range(count):
                store.queue_event(message_id(os.urandom(16)), "grant.given", _body(n), 0)
        async with aiohttp.ClientSession() as client:
            node = Node(seed=os.urandom(32), store=store,
                        identity=Identity("Shop", NodeKind.VENDOR),
                        dialer=WebSocketDialer(client))  # fmt: skip
            start = time.perf_counter()
            async with node:
                while store.count_deliveries()["delivered"] < count:
                    await asyncio.sleep(0.005)
                elapsed = time.perf_counter() - start
        assert store.count_deliveries() == {"pending": 0, "delivered": count, "dead": 0}
        return count / elapsed


async def main_async(count: int) -> dict[str, Any]:
    runner, url = await _receiver()
    try:
        bare_rate = await bare(url, count)
        with tempfile.TemporaryDirectory(prefix="amity-webhooks-") as folder:
            amity_rate = await amity(url, count, Path(folder))
    finally:
        await runner.cleanup()
    return {
        "deliveries": count,
        "concurrency": _CONCURRENCY,
        "bare_posts_per_s": round(bare_rate),
        "amity_deliveries_per_s": round(amity_rate),
        "ratio": round(amity_rate / bare_rate, 3),
        "load_average": os.getloadavg()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main_async(args.deliveries))
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['deliveries']} deliveries, {result['concurrency']} at once: bare aiohttp "
            f"{result['bare_posts_per_s']} POST/s, amity {result['amity_deliveries_per_s']} "
            f"deliveries/s (x{result['ratio']}); load average {result['load_average']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
