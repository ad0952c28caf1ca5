"""Intents through one hub: fan-out to many subscribed vendors, and cast → first offer.

    python benchmarks/intents.py [--quick] [--vendors N] [--intents K] [--json]

- the hub: ``amity run --hub`` as ``amity.node.runner.create_app`` builds it, in a child process
  (this script with ``--serve hub HOME``); work_bits 8 so that the casts' proof of work does not
  dominate, connection budgets raised for one loopback address.
- the vendors: N vendor nodes in this process, each with its own SQLite store, a relationship
  with the hub (its invitation, then ``Node.connect``) and a subscription to ``goods``. One of
  them answers at once by an auto-answer rule (``QuoteRule``); the others only receive.
- her node: in this process; each cast opens a pseudonymous link to the hub (spec/intents.md
  §7.5), solves the work, and waits for the hub's acknowledgement.

Figures:
- fan-out: K intents cast back to back; from the first cast until every vendor holds every
  intent: intents/s, and forwards delivered/s (intents x vendors).
- crypto limit of a forward: the hub signs one ``intent.forward`` envelope and seals its frame
  (ChaCha20-Poly1305, as Noise does), a vendor opens the frame and verifies the signature, on
  the exact sizes of this run's forward, one core each side, in two worker processes at once
  (``benchmarks/nodebench/crypto.py``). The limit is the slower side's rate over N; the ratio
  is the measured intents/s over it.
- latency: cast → her node shows the first offer (the rule vendor's), median and p95 over L
  casts made one at a time, each fanned out to all N vendors.

Run on a quiet machine: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from nodebench.crypto import crypto_limit
from nodebench.peers import Vendor, child

from amity.node.daemon import Identity, Node, wall_clock_ms
from amity.node.home import Config, Home
from amity.node.intents.service import IntentsService
from amity.node.net.limits import Limits, raise_file_limit
from amity.node.net.websocket import WebSocketDialer
from amity.node.store import Store
from amity.protocol.card import NodeKind
from amity.protocol.core.intents.rule import QuoteRule
from amity.protocol.envelope import ENVELOPE_DOMAIN, sign_envelope
from amity.protocol.frames import encode_envelope_frame
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.intent import Constraints, Intent, TermsRef
from amity.protocol.intentmessages import MSG_FORWARD, Forward, encode_intent_body
from amity.protocol.linkcert import LinkKey
from amity.protocol.money import Money

BIKE = Constraints(Money(30000, "EUR"), "FR", None, 1)
TEXT = "A child's bike for a 6-year-old, delivered in Lyon within a week."
DAY_MS = 24 * 3600 * 1000


def _intent_kwargs(hub: PeerId) -> dict[str, Any]:
    return {
        "category": "goods.bicycles",
        "text": TEXT,
        "constraints": BIKE,
        "terms": TermsRef.roster("P2B1"),
        "offers_wanted": 5,
        "ttl_ms": DAY_MS,
        "hubs": (hub,),
    }


# -- the hub (child process) ------------------------------------------------------------------


async def serve_hub(path: Path) -> None:
    from aiohttp import web
    from nodebench.peers import _announce, _bound_port, _stdin_closed

    from amity.node.api.app import NODE
    from amity.node.logs import configure
    from amity.node.runner import RunOptions, create_app, parse_hostport

    raise_file_limit()
    home = Home(path)
    configure(level="warning")
    config, seed = home.load_config(), home.load_seed()
    options = RunOptions(
        listen=config.listen, api=config.api, mdns=False, relay=False, hub=True,
        limits=config.limits,
    )  # fmt: skip
    app = create_app(home, config, seed, options)
    host, port = parse_hostport(options.api, "--api")
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        _announce({"api": f"{host}:{_bound_port(runner)}", "did": app[NODE].peer_id.did,
                   "pid": os.getpid(), "start_ms": 0})  # fmt: skip
        await _stdin_closed()
    finally:
        await runner.cleanup()


def new_hub_home(path: Path, room: int) -> Home:
    home = Home(path)
    limits = Limits(max_connections=room + 64, max_strangers=room, max_strangers_per_address=room)
    table = {"work_bits": 8, "rate_per_hour": 100_000}
    home.create(Config(name="Market Hub", kind=NodeKind.VENDOR, mdns=False, hub=True,
                       hub_table=table, limits=limits))  # fmt: skip
    return home


# -- nodes in this process --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def node(
    path: Path, name: str, kind: NodeKind, client: aiohttp.ClientSession
) -> AsyncIterator[IntentsService]:
    path.mkdir(parents=True)
    with Store(path / "amity.db") as store:
        n = Node(seed=os.urandom(32), store=store, identity=Identity(name, kind),
                 dialer=WebSocketDialer(client))  # fmt: skip
        service = IntentsService(n)
        n.register(service)
        async with n:
            yield service


async def _until(check: Any, what: str, timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while not check():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def forward_sizes() -> dict[str, int]:
    """The sizes of one ``intent.forward`` of this run's intent: signed bytes, frame, wire."""
    now = wall_clock_ms()
    intent = Intent.create(
        SigningIdentity(os.urandom(32)), link_public=LinkKey(os.urandom(32)).public,
        category="goods.bicycles", text=TEXT, constraints=BIKE, terms=TermsRef.roster("P2B1"),
        offers_wanted=5, cast_ms=now, expires_ms=now + DAY_MS,
    )  # fmt: skip
    body = encode_intent_body(Forward(intent.encoded, bytes(16), 2))
    hub, vendor = SigningIdentity(os.urandom(32)), SigningIdentity(os.urandom(32))
    envelope = sign_envelope(hub, type=MSG_FORWARD, recipient=vendor.peer_id, seq=1,
                             ts_ms=now, nonce=os.urandom(16), body=body)  # fmt: skip
    frame = encode_envelope_frame(envelope)
    signed = len(envelope) - 64 - 4  # [signed_bytes, sig]: the array and bin headers aside
    return {"signed": len(ENVELOPE_DOMAIN) + signed, "frame": len(frame), "wire": len(frame) + 16}


async def run(vendors_n: int, intents_k: int, latency_l: int, seconds: float) -> dict[str, Any]:
    raise_file_limit()
    with tempfile.TemporaryDirectory(prefix="amity-intents-bench-") as tmp:
        root = Path(tmp)
        home = new_hub_home(root / "hub", vendors_n + intents_k + latency_l + 64)
        async with (
            child("hub", root / "hub.log", str(home.path), script=Path(__file__)) as (
                announced,
                _pid,
            ),
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as client,
            contextlib.AsyncExitStack() as stack,
        ):
            hub = Vendor(home, announced, _pid)
            stack.push_async_callback(hub.aclose)
            her = await stack.enter_async_context(
                node(root / "her", "Her", NodeKind.PERSON, client)
            )
            await her.node.connect(await hub.invite())
            started = time.perf_counter()
            vendors = []
            for i in range(vendors_n):
                service = await stack.enter_async_context(
                    node(root / f"v{i}", f"Vendor {i}", NodeKind.VENDOR, client)
                )
                await service.node.connect(await hub.invite())
                await service.subscribe(hub.peer_id, ("goods",))
                vendors.append(service)
            setup_s = time.perf_counter() - started
            rule = QuoteRule(
                ("goods",), frozenset({TermsRef.roster("P2B1").terms_id}),
                Money(24900, "EUR"), "Delivered in 3 days", DAY_MS, 2 * DAY_MS,
            )  # fmt: skip
            vendors[0].vendor.rules_source = lambda: (rule,)  # as a policy file's rule would
            await asyncio.sleep(0.5)  # every subscription answered

            held = lambda: sum(len(v.vendor.inbox) for v in vendors)  # noqa: E731
            started = time.perf_counter()
            await asyncio.gather(
                *(her.cast(**_intent_kwargs(hub.peer_id)) for _ in range(intents_k))
            )
            await _until(lambda: held() >= vendors_n * intents_k, "the fan-out", 600)
            fanout_s = time.perf_counter() - started

            latencies = []
            for _ in range(latency_l):
                t0 = time.perf_counter()
                casting = await her.cast(**_intent_kwargs(hub.peer_id))
                await _until(
                    lambda c=casting: her.caster.castings[c.intent_id].offers, "the offer", 60
                )
                latencies.append((time.perf_counter() - t0) * 1000)
    crypto = await crypto_limit(forward_sizes(), warmup_s=0.3, seconds=seconds)
    limit = crypto["per_s"] / vendors_n
    measured = intents_k / fanout_s
    latencies.sort()
    return {
        "vendors": vendors_n,
        "intents": intents_k,
        "setup_s": round(setup_s, 1),
        "fanout_s": round(fanout_s, 2),
        "intents_per_s": round(measured, 2),
        "forwards_per_s": round(measured * vendors_n),
        "forward_crypto_per_s": round(crypto["per_s"]),
        "limit_intents_per_s": round(limit, 2),
        "ratio": round(measured / limit, 3),
        "first_offer_ms_median": round(statistics.median(latencies), 1),
        "first_offer_ms_p95": round(latencies[math.ceil(len(latencies) * 0.95) - 1], 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100 vendors, 10 intents, 5 casts")
    parser.add_argument("--vendors", type=int, default=1000)
    parser.add_argument("--intents", type=int, default=20)
    parser.add_argument("--latency", type=int, default=10, help="casts timed one at a time")
    parser.add_argument("--seconds", type=float, default=2.0, help="for the crypto limit")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", nargs=2, metavar=("ROLE", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve_hub(Path(args.serve[1])))
        return 0
    if args.quick:
        args.vendors, args.intents, args.latency = 100, 10, 5
    result = asyncio.run(run(args.vendors, args.intents, args.latency, args.seconds))
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"one hub, {result['vendors']} subscribed vendors on loopback "
          f"(set up in {result['setup_s']} s), load {result['load_average']}")  # fmt: skip
    print(
        f"  fan-out: {result['intents']} intents in {result['fanout_s']} s = "
        f"{result['intents_per_s']} intents/s = {result['forwards_per_s']} forwards/s"
    )
    print(
        f"  crypto limit of a forward (sign+seal | open+verify, one core each): "
        f"{result['forward_crypto_per_s']}/s = {result['limit_intents_per_s']} intents/s "
        f"to {result['vendors']} vendors; ratio {result['ratio']}"
    )
    print(f"  cast -> first offer shown: median {result['first_offer_ms_median']} ms, "
          f"p95 {result['first_offer_ms_p95']} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
