"""The peers of node_throughput: the echo server and vendor child processes, the persons here.

The vendor is built by ``amity.node.runner.create_app`` exactly as ``amity run`` builds it, in
a child process (this script again, with ``--serve``); persons are built as ``amity run
--listen none`` builds them, each with its own home and store, in the measuring process.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import aiohttp
import nacl.bindings
from aiohttp import web

from amity.node.api.app import NODE
from amity.node.book import RelationshipBook
from amity.node.daemon import Identity, Node, wall_clock_ms
from amity.node.home import Config, Home
from amity.node.logs import configure
from amity.node.net.websocket import WebSocketDialer
from amity.node.runner import RunOptions, create_app, parse_hostport
from amity.node.store import Store
from amity.protocol.card import INVITE_SECRET_BYTES, Card, NodeKind
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.noise import MAX_MESSAGE_BYTES
from amity.protocol.relationship import Relationship, RelationshipState, Role
from nodebench.measure import AckCounter, percentile, profiling, pump_notes

#: The script the children run (with ``--serve ROLE``).
SCRIPT: Final = Path(__file__).resolve().parent.parent / "node_throughput.py"
_DAY_MS: Final = 24 * 3600 * 1000
_CHILD_START_S: Final = 120.0
_CARD_POOL: Final = 64


async def _stdin_closed() -> None:
    """Returns when the parent closes our stdin (or dies): the child's signal to stop."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()


def _announce(data: dict[str, Any]) -> None:
    print(json.dumps(data), flush=True)


async def serve_echo() -> None:
    """The bare limit's server: echo every binary WebSocket message back."""

    async def echo(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        async for message in ws:
            if message.type is aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        return ws

    app = web.Application()
    app.router.add_get("/echo", echo)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    _announce({"port": _bound_port(runner), "pid": os.getpid()})
    try:
        await _stdin_closed()
    finally:
        await runner.cleanup()


async def serve_vendor(home_path: Path) -> None:
    """The vendor: ``create_app`` as ``amity run`` calls it, plus /bench routes to drive it."""
    home = Home(home_path)
    configure(level="info")
    config, seed = home.load_config(), home.load_seed()
    options = RunOptions(listen=config.listen, api=config.api, mdns=False, relay=False)
    app = create_app(home, config, seed, options)
    counters: list[AckCounter] = []
    profiler = cProfile.Profile()  # for the persons → vendor rows, driven from the parent

    async def state(request: web.Request) -> web.Response:
        rel = request.app[NODE].book.current(PeerId.from_did(request.query["peer"]))
        return web.json_response({"state": None if rel is None else rel.state.value})

    async def pump(request: web.Request) -> web.Response:
        node, data = request.app[NODE], await request.json()
        if not counters:
            counters.append(AckCounter(node.store))
        peers = [PeerId.from_did(did) for did in data["peers"]]
        result = await pump_notes(
            [(node, counters[0], peer) for peer in peers],
            window=data["window"],
            warmup_s=data["warmup_s"],
            seconds=data["seconds"],
            pids=[os.getpid(), data["parent_pid"]],
            hooks=profiling(Path(data["profile"])) if data.get("profile") else None,
        )
        return web.json_response(result)

    async def profile(request: web.Request) -> web.Response:
        data = await request.json()
        if data["action"] == "start":
            profiler.enable()
        else:
            profiler.disable()
            profiler.dump_stats(data["path"])
        return web.json_response({})

    app.router.add_get("/bench/state", state)
    app.router.add_post("/bench/pump", pump)
    app.router.add_post("/bench/profile", profile)
    host, port = parse_hostport(options.api, "--api")
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    with home.lock():
        started = time.perf_counter()
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            node = app[NODE]
            _announce(
                {
                    "api": f"{host}:{_bound_port(runner)}",
                    "did": node.peer_id.did,
                    "pid": os.getpid(),
                    "start_ms": (time.perf_counter() - started) * 1000,
                }
            )
            await _stdin_closed()
        finally:
            await runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    return next(int(a[1]) for a in runner.addresses if isinstance(a, tuple))


@contextlib.asynccontextmanager
async def child(
    role: str, log: Path, *args: str, script: Path = SCRIPT
) -> AsyncIterator[tuple[dict[str, Any], int]]:
    """Start ``script`` as ``--serve role``; yields what it announced, and its pid."""
    with open(log, "ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            "--serve",
            role,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
        )
    assert process.stdin is not None and process.stdout is not None
    try:
        async with asyncio.timeout(_CHILD_START_S):
            line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {role} child exited early; see {log}")
        yield json.loads(line), process.pid
    finally:
        process.stdin.close()
        try:
            async with asyncio.timeout(30):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


class Vendor:
    """The vendor child process and a client of its local API."""

    def __init__(self, home: Home, announced: dict[str, Any], pid: int) -> None:
        self.peer_id = PeerId.from_did(announced["did"])
        self.pid = pid
        self.start_ms: float = announced["start_ms"]
        self._api = aiohttp.ClientSession(
            base_url=f"http://{announced['api']}",
            headers={"Authorization": f"Bearer {home.api_token()}"},
        )

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self._api.request(method, path, json=body) as response:
            if response.status >= 400:
                raise RuntimeError(f"{path}: {response.status} {await response.text()}")
            return await response.json()

    async def invite(self) -> str:
        uri: str = (await self.call("POST", "/api/invite", {}))["uri"]
        return uri

    async def state(self, peer: PeerId) -> str | None:
        state: str | None = (await self.call("GET", f"/bench/state?peer={peer.did}"))["state"]
        return state

    async def aclose(self) -> None:
        await self._api.close()


@contextlib.asynccontextmanager
async def vendor_process(home: Home) -> AsyncIterator[Vendor]:
    async with child("vendor", home.path / "vendor.log", str(home.path)) as (announced, pid):
        vendor = Vendor(home, announced, pid)
        try:
            yield vendor
        finally:
            await vendor.aclose()


def new_vendor_home(path: Path) -> Home:
    home = Home(path)
    config = Config(name="Corner Bookshop", kind=NodeKind.VENDOR, mdns=False)
    home.create(config)
    return home


# -- person nodes (in this process) -------------------------------------------------------------


@contextlib.asynccontextmanager
async def person(path: Path, name: str) -> AsyncIterator[tuple[Node, AckCounter]]:
    """A person's node as ``amity run --listen none`` builds it: store, HTTP client, node."""
    path.mkdir(parents=True)
    with Store(path / "amity.db") as store:
        counter = AckCounter(store)
        async with aiohttp.ClientSession() as client:
            node = Node(
                seed=os.urandom(32),
                store=store,
                identity=Identity(name, NodeKind.PERSON),
                dialer=WebSocketDialer(client),
            )
            async with node:
                yield node, counter


async def connect(node: Node, vendor: Vendor) -> tuple[float, float]:
    """Invite (vendor's API) then connect (this node); (invite ms, connect ms), both checked."""
    started = time.perf_counter()
    uri = await vendor.invite()
    invited = time.perf_counter()
    rel = await node.connect(uri)
    connected = time.perf_counter()
    vendor_state = await vendor.state(node.peer_id)
    if rel.state is not RelationshipState.CONNECTED or vendor_state != "connected":
        raise RuntimeError(f"connect left person {rel.state.value}, vendor {vendor_state}")
    return (invited - started) * 1000, (connected - invited) * 1000


# -- the vendor store fill ---------------------------------------------------------------------


def fill_relationships(db_path: Path | str, count: int) -> float:
    """Write ``count`` CONNECTED relationships in one transaction; returns seconds taken."""
    started = time.perf_counter()
    now = wall_clock_ms()
    cards = []
    for i in range(_CARD_POOL):
        keyring = Keyring(os.urandom(32))
        _, cert = keyring.current(now)
        cards.append(
            Card.issue(
                keyring.identity,
                link_cert=cert,
                kind=NodeKind.PERSON,
                name=f"Customer {i}",
                issued_ms=now - _DAY_MS,
                not_after_ms=cert.not_after_ms,
            )
        )
    with Store(db_path) as store:
        book = RelationshipBook(store)
        with store.transaction():
            for i in range(count):
                public, _ = nacl.bindings.crypto_sign_seed_keypair(os.urandom(32))
                since = now - 1000 * (count - i)
                rel = Relationship(
                    role=Role.INVITER,
                    state=RelationshipState.CONNECTED,
                    peer=PeerId(public),
                    invite_secret=os.urandom(INVITE_SECRET_BYTES),
                    invite_expires_ms=since + 7 * _DAY_MS,
                    created_ms=since - 5000,
                    since_ms=since,
                    last_seen_ms=since,
                    handshake_done=True,
                    peer_card=cards[i % _CARD_POOL],
                    timers_armed=2,
                )
                book.save(rel, since)
    return time.perf_counter() - started


# -- time to connect -------------------------------------------------------------------------------


async def time_to_connect(
    tmp: Path, home: Home, store: Path | str, fill: int, connects: int
) -> dict[str, Any]:
    """Median and p95 ms of ``connects`` connects to the vendor in ``home`` once its store
    (``store``: the SQLite file or a postgresql:// URL) holds ``fill`` relationships."""
    fill_s = fill_relationships(store, fill) if fill else 0.0
    connect_ms, invite_ms = [], []
    async with vendor_process(home) as vendor, contextlib.AsyncExitStack() as stack:
        for i in range(connects):
            node, _ = await stack.enter_async_context(
                person(tmp / f"joiner-{home.path.name}-{i}", f"Joiner {i}")
            )
            invite, connected = await connect(node, vendor)
            invite_ms.append(invite)
            connect_ms.append(connected)
        start_ms = vendor.start_ms
    return {
        "relationships": fill,
        "connects": connects,
        "median_ms": round(statistics.median(connect_ms), 2),
        "p95_ms": round(percentile(connect_ms, 0.95), 2),
        "max_ms": round(max(connect_ms), 2),
        "invite_median_ms": round(statistics.median(invite_ms), 2),
        "vendor_start_ms": round(start_ms, 1),
        "fill_s": round(fill_s, 1),
    }
