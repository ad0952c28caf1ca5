"""Node throughput and time to connect, against the bare per-note crypto in the same run.

    python benchmarks/node_throughput.py [--quick] [--seconds 3.0] [--json] [--profile DIR]

Two processes, as two machines would be, so both cores work: a server child process and this
one as the client side.

- crypto limit: what one note costs that no node can avoid, one core each side, measured in two
  worker processes at the same time: the sender signs the note's envelope (Ed25519) and seals
  its frame (ChaCha20-Poly1305, as Noise does), the receiver opens the frame and verifies the
  signature, on the exact sizes of one NOTE_TEXT note. The limit is the slower side's rate;
  the main ratio is amity's acknowledged notes/s over it (goal >= 0.5).
- bare limit: an aiohttp WebSocket echo server (child) and 1 or 50 client connections (here),
  each keeping WINDOW messages in flight; a message is the wire size of one amity note, and its
  echo counts as its acknowledgement.
- amity: a vendor built by ``amity.node.runner.create_app``, exactly as ``amity run`` builds it
  (store, node, peer server, local API) in the child; here, person nodes built as
  ``amity run --listen none`` builds them, each with its own home and store. Each relationship
  keeps WINDOW notes in flight through the real path: Node.send_note → outbox → envelope →
  Noise → WebSocket → open, replay guard, inbox (one transaction) → ACK. A note counts when
  the sender's outbox row is marked acknowledged. Both directions are measured:
  persons → vendor (the vendor receives) and vendor → persons (the vendor sends).
- time to connect: invitation URI in hand → relationship CONNECTED on both sides
  (``Node.connect``; the vendor's invitation comes from its local API), median and p95, on a
  vendor whose store already holds 0, 10 000 and 100 000 relationships. The fill writes
  CONNECTED relationships with distinct valid peer ids and secrets through RelationshipBook,
  in one transaction; their cards come from a pool of 64 real, signed person cards (a card per
  row only makes the fill slow: connecting never reads those rows' cards).

``--profile DIR`` writes cProfile stats of both processes during the 50-relationship rows
(``DIR/{persons-to-vendor,vendor-to-persons}-{vendor,persons}.pstats``).
Throughput depends on the disk: every group commit is followed by an fsync of the WAL (in a
worker thread, amity.node.commits) before anything in it is acknowledged. On a shared machine
the absolute figures follow the load; the ratio to the crypto limit, measured in the same run
under the same load, is the figure to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Final

import aiohttp
import nacl.bindings
from aiohttp import web
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from amity.node.api.app import NODE
from amity.node.book import RelationshipBook
from amity.node.daemon import Identity, Node, wall_clock_ms
from amity.node.home import Config, Home
from amity.node.logs import configure
from amity.node.net.websocket import WebSocketDialer
from amity.node.runner import RunOptions, create_app, parse_hostport
from amity.node.store import Store
from amity.protocol.card import INVITE_SECRET_BYTES, Card, NodeKind
from amity.protocol.encoding import decode
from amity.protocol.envelope import ENVELOPE_DOMAIN, sign_envelope
from amity.protocol.frames import encode_envelope_frame
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.noise import MAX_MESSAGE_BYTES
from amity.protocol.notes import MSG_NOTE, encode_note
from amity.protocol.relationship import Relationship, RelationshipState, Role
from amity.protocol.session import Session

#: What a vendor's node typically carries: a short signed note.
NOTE_TEXT: Final = "Order 100234: ready for pickup at the Corner Bookshop, desk 2."
#: Messages in flight per connection / relationship.
WINDOW: Final = 64
CONNECTIONS: Final = (1, 50)
GOAL_MSGS_PER_S: Final = 8_000
#: Acknowledged notes/s over the bare per-note crypto (one core each side).
GOAL_CRYPTO_RATIO: Final = 0.5
GOAL_CONNECT_MS: Final = 50.0
_DAY_MS: Final = 24 * 3600 * 1000
_CHILD_START_S: Final = 120.0
_DRAIN_S: Final = 60.0
_CARD_POOL: Final = 64

Hook = Callable[[], Awaitable[None]]


# -- measuring ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is missing."""
    if pid == os.getpid():
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def count_over(
    total: Callable[[], int], warmup_s: float, seconds: float, pids: list[int]
) -> dict[str, Any]:
    """How far ``total`` moves in ``seconds`` after ``warmup_s``, and each process's CPU share.

    The sleeps are the measuring clock, not synchronisation.
    """
    await asyncio.sleep(warmup_s)
    cpu0 = [cpu_seconds(pid) for pid in pids]
    count0, started = total(), time.perf_counter()
    await asyncio.sleep(seconds)
    count, elapsed = total() - count0, time.perf_counter() - started
    cpu1 = [cpu_seconds(pid) for pid in pids]
    shares = [
        None if a is None or b is None else round((b - a) / elapsed, 2)
        for a, b in zip(cpu0, cpu1, strict=True)
    ]
    return {"count": count, "seconds": elapsed, "per_s": count / elapsed, "cpu": shares}


class AckCounter:
    """Counts a node's outbox rows as its peers acknowledge them, and wakes waiting senders.

    It wraps this node's ``store.ack_outbox`` (the one place an ACK or REFUSE marks rows), so
    nothing else about the node changes.
    """

    def __init__(self, store: Store) -> None:
        self.total = 0
        self._acked: defaultdict[bytes, int] = defaultdict(int)
        self._wake: defaultdict[bytes, asyncio.Event] = defaultdict(asyncio.Event)
        original = store.ack_outbox

        def ack_outbox(peer_id: bytes, seqs: list[int], now_ms: int) -> int:
            marked = original(peer_id, seqs, now_ms)
            self.total += marked
            self._acked[peer_id] += marked
            self._wake[peer_id].set()
            return marked

        store.ack_outbox = ack_outbox  # type: ignore[method-assign]

    def acked(self, peer: PeerId) -> int:
        return self._acked[peer.key]

    async def next_ack(self, peer: PeerId) -> None:
        event = self._wake[peer.key]
        event.clear()
        await event.wait()

    def wake_all(self) -> None:
        for event in self._wake.values():
            event.set()


async def pump_notes(
    senders: list[tuple[Node, AckCounter, PeerId]],
    *,
    window: int,
    warmup_s: float,
    seconds: float,
    pids: list[int],
    hooks: tuple[Hook, Hook] | None = None,
) -> dict[str, Any]:
    """Keep ``window`` notes in flight on every (node → peer); acknowledged notes per second.

    ``hooks`` run as the measured window starts and ends (to profile only that window).
    """
    stop = asyncio.Event()
    counters = {id(counter): counter for _, counter, _ in senders}

    async def one(node: Node, counter: AckCounter, peer: PeerId) -> int:
        while node.store.count_pending(peer.key):  # hellos of the connect, if still unacked
            await counter.next_ack(peer)
        base, sent = counter.acked(peer), 0
        # Sends are issued concurrently, as a CRM posting to the API would: each send_note
        # waits for its group commit, and notes queued in one loop pass share that commit.
        queued: set[asyncio.Future[int]] = set()
        while not stop.is_set():
            if sent - (counter.acked(peer) - base) >= window:
                await counter.next_ack(peer)
                continue
            future = asyncio.ensure_future(node.send_note(peer, NOTE_TEXT))
            queued.add(future)
            future.add_done_callback(queued.discard)
            sent += 1
            if len(queued) >= window:
                await asyncio.wait(queued, return_when=asyncio.FIRST_COMPLETED)
        if queued:
            await asyncio.wait(queued)
        with contextlib.suppress(TimeoutError):  # what stays unacknowledged is reported
            async with asyncio.timeout(_DRAIN_S):
                while counter.acked(peer) - base < sent:
                    await counter.next_ack(peer)
        return sent

    def acked() -> int:
        return sum(counter.total for counter in counters.values())

    tasks = [asyncio.ensure_future(one(*sender)) for sender in senders]
    try:
        await asyncio.sleep(warmup_s)
        if hooks:
            await hooks[0]()
        result = await count_over(acked, 0.0, seconds, pids)
        if hooks:
            await hooks[1]()
    finally:
        stop.set()
        for counter in counters.values():
            counter.wake_all()
        sent = await asyncio.gather(*tasks)
    result["sent"] = sum(sent)
    result["pending_after"] = sum(node.store.count_pending(peer.key) for node, _, peer in senders)
    return result


def profiling(path: Path) -> tuple[Hook, Hook]:
    """Hooks that profile this process between them and write the stats to ``path``."""
    profiler = cProfile.Profile()

    async def start() -> None:
        profiler.enable()

    async def stop() -> None:
        profiler.disable()
        profiler.dump_stats(path)

    return start, stop


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def note_sizes() -> dict[str, int]:
    """One NOTE_TEXT note's sizes: signed bytes (with the domain), envelope frame, on the wire."""
    now = wall_clock_ms()
    alice, bob = Keyring(os.urandom(32)), Keyring(os.urandom(32))
    sessions = []
    for keyring, initiator in ((alice, True), (bob, False)):
        key, cert = keyring.current(now)
        sessions.append(
            Session(
                initiator=initiator,
                link_key=key,
                link_cert=cert,
                ephemeral_private=os.urandom(32),
            )
        )
    dialer, answerer = sessions
    message2 = answerer.receive_handshake(dialer.start(), now)
    assert message2 is not None
    message3 = dialer.receive_handshake(message2, now)
    assert message3 is not None
    answerer.receive_handshake(message3, now)
    envelope = sign_envelope(
        alice.identity,
        type=MSG_NOTE,
        recipient=bob.identity.peer_id,
        seq=1000,
        ts_ms=now,
        nonce=os.urandom(16),
        body=encode_note(NOTE_TEXT),
    )
    outer = decode(envelope)  # [signed_bytes, signature]
    assert isinstance(outer, list) and isinstance(outer[0], bytes)
    signed_bytes = outer[0]
    frame = encode_envelope_frame(envelope)
    return {
        "signed": len(ENVELOPE_DOMAIN) + len(signed_bytes),
        "frame": len(frame),
        "wire": sum(len(f) for f in dialer.encrypt(frame)),
    }


# -- the bare per-note crypto -------------------------------------------------------------------


def crypto_side(side: str, sizes: dict[str, int], start_at: float, seconds: float) -> float:
    """Notes/s one core handles on one ``side``: "send" (sign + seal), "receive" (open + verify).

    Runs in a worker process; starts at wall time ``start_at`` so both sides overlap.
    """
    public, secret = nacl.bindings.crypto_sign_seed_keypair(os.urandom(32))
    aead = ChaCha20Poly1305(os.urandom(32))
    message, frame = os.urandom(sizes["signed"]), os.urandom(sizes["frame"])
    signed = nacl.bindings.crypto_sign(message, secret)
    sealed = aead.encrypt(bytes(12), frame, None)
    sign, verify = nacl.bindings.crypto_sign, nacl.bindings.crypto_sign_open
    while time.time() < start_at:
        time.sleep(0.005)
    count, started = 0, time.perf_counter()
    end = started + seconds
    while True:
        for _ in range(64):
            if side == "send":
                sign(message, secret)
                aead.encrypt((count + 1).to_bytes(12, "little"), frame, None)
            else:
                aead.decrypt(bytes(12), sealed, None)
                verify(signed, public)
            count += 1
        now = time.perf_counter()
        if now >= end:
            return count / (now - started)


async def crypto_limit(sizes: dict[str, int], warmup_s: float, seconds: float) -> dict[str, Any]:
    """Both sides at once in two worker processes; the limit is the slower side's notes/s."""
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        for future in [pool.submit(time.sleep, 0.1) for _ in range(4)]:  # both workers up
            future.result()
        start_at = time.time() + warmup_s
        send, receive = await asyncio.gather(
            *(
                loop.run_in_executor(pool, crypto_side, side, sizes, start_at, seconds)
                for side in ("send", "receive")
            )
        )
    return {"send_per_s": round(send), "receive_per_s": round(receive), "per_s": min(send, receive)}


# -- child processes: the echo server and the vendor ------------------------------------------


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
async def child(role: str, log: Path, *args: str) -> AsyncIterator[tuple[dict[str, Any], int]]:
    """Start this script as ``--serve role``; yields what it announced, and its pid."""
    with open(log, "ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
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


def fill_relationships(db_path: Path, count: int) -> float:
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


# -- the runs ----------------------------------------------------------------------------------


async def bare_echo(
    port: int, pid: int, connections: int, size: int, warmup_s: float, seconds: float
) -> dict[str, Any]:
    """Echoed messages per second with WINDOW in flight on each of ``connections``."""
    payload, stop = os.urandom(size), asyncio.Event()
    echoed = [0] * connections
    wake = [asyncio.Event() for _ in range(connections)]

    async def sender(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        sent = 0
        while not stop.is_set() or echoed[i] < sent:
            if stop.is_set() or sent - echoed[i] >= WINDOW:
                wake[i].clear()
                await wake[i].wait()
                continue
            await ws.send_bytes(payload)
            sent += 1
        await ws.close()

    async def receiver(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.BINARY:
                echoed[i] += 1
                wake[i].set()

    async with aiohttp.ClientSession() as client:
        sockets = [
            await client.ws_connect(f"http://127.0.0.1:{port}/echo", max_msg_size=MAX_MESSAGE_BYTES)
            for _ in range(connections)
        ]
        tasks = [asyncio.ensure_future(sender(i, ws)) for i, ws in enumerate(sockets)]
        tasks += [asyncio.ensure_future(receiver(i, ws)) for i, ws in enumerate(sockets)]
        try:
            result = await count_over(lambda: sum(echoed), warmup_s, seconds, [pid, os.getpid()])
        finally:
            stop.set()
            for event in wake:
                event.set()
            async with asyncio.timeout(_DRAIN_S):
                await asyncio.gather(*tasks)
    return result


async def throughput(
    tmp: Path, args: argparse.Namespace, bare: dict[int, dict[str, Any]], crypto: float
) -> list[dict[str, Any]]:
    """amity notes/s both ways over 1 and max(CONNECTIONS) relationships with one vendor."""
    rows = []
    home = new_vendor_home(tmp / "vendor-throughput")
    async with vendor_process(home) as vendor, contextlib.AsyncExitStack() as stack:
        persons = []
        for i in range(max(CONNECTIONS)):
            node, counter = await stack.enter_async_context(
                person(tmp / f"person-{i}", f"Customer {i}")
            )
            await connect(node, vendor)
            persons.append((node, counter))
        for connections in CONNECTIONS:
            chosen = persons[:connections]
            profile = args.profile if connections == max(CONNECTIONS) else None
            # persons → vendor: the vendor opens, guards, stores and ACKs.
            hooks = None
            if profile:
                here_start, here_stop = profiling(profile / "persons-to-vendor-persons.pstats")
                vendor_stats = str(profile / "persons-to-vendor-vendor.pstats")

                async def start(here: Hook = here_start) -> None:
                    await vendor.call("POST", "/bench/profile", {"action": "start"})
                    await here()

                async def stop(here: Hook = here_stop, path: str = vendor_stats) -> None:
                    await here()
                    await vendor.call("POST", "/bench/profile", {"action": "stop", "path": path})

                hooks = (start, stop)
            result = await pump_notes(
                [(node, counter, vendor.peer_id) for node, counter in chosen],
                window=WINDOW,
                warmup_s=args.warmup,
                seconds=args.seconds,
                pids=[vendor.pid, os.getpid()],
                hooks=hooks,
            )
            rows.append(_row("persons → vendor", connections, result, bare[connections], crypto))
            # vendor → persons: the vendor signs, stores, sends and records ACKs.
            request = {
                "peers": [node.peer_id.did for node, _ in chosen],
                "window": WINDOW,
                "warmup_s": args.warmup,
                "seconds": args.seconds,
                "parent_pid": os.getpid(),
                "profile": str(profile / "vendor-to-persons-vendor.pstats") if profile else None,
            }

            async def profile_persons(path: Path | None) -> None:
                if path is not None:  # the same window as the vendor's, give or take a request
                    here_start, here_stop = profiling(path)
                    await asyncio.sleep(args.warmup)
                    await here_start()
                    await asyncio.sleep(args.seconds)
                    await here_stop()

            result, _ = await asyncio.gather(
                vendor.call("POST", "/bench/pump", request),
                profile_persons(profile / "vendor-to-persons-persons.pstats" if profile else None),
            )
            rows.append(_row("vendor → persons", connections, result, bare[connections], crypto))
    return rows


def _row(
    name: str, connections: int, result: dict[str, Any], bare: dict[str, Any], crypto: float
) -> dict[str, Any]:
    vendor_cpu, persons_cpu = result["cpu"]
    if result["pending_after"]:
        raise RuntimeError(f"{name}: {result['pending_after']} notes never acknowledged")
    return {
        "measurement": name,
        "connections": connections,
        "ours_per_s": round(result["per_s"]),
        "crypto_per_s": round(crypto),
        "crypto_ratio": round(result["per_s"] / crypto, 3),
        "bare_per_s": round(bare["per_s"]),
        "ratio": round(result["per_s"] / bare["per_s"], 3),
        "vendor_cpu": vendor_cpu,
        "persons_cpu": persons_cpu,
        "bare_cpu": bare["cpu"],
        "notes_acked": result["sent"],
    }


async def time_to_connect(tmp: Path, fill: int, connects: int) -> dict[str, Any]:
    """Median and p95 ms of ``connects`` connects to a vendor already holding ``fill``."""
    home = new_vendor_home(tmp / f"vendor-{fill}")
    fill_s = fill_relationships(home.db_path, fill)
    connect_ms, invite_ms = [], []
    async with vendor_process(home) as vendor, contextlib.AsyncExitStack() as stack:
        for i in range(connects):
            node, _ = await stack.enter_async_context(
                person(tmp / f"joiner-{fill}-{i}", f"Joiner {i}")
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


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = note_sizes()
    size = sizes["wire"]
    crypto = await crypto_limit(sizes, args.warmup, args.seconds)
    with tempfile.TemporaryDirectory(prefix="amity-bench-") as name:
        tmp = Path(name)
        bare = {}
        async with child("echo", tmp / "echo.log") as (announced, pid):
            for connections in CONNECTIONS:
                bare[connections] = await bare_echo(
                    announced["port"], pid, connections, size, args.warmup, args.seconds
                )
        rows = [
            {
                "measurement": "bare WS echo",
                "connections": connections,
                "ours_per_s": round(result["per_s"]),
                "crypto_per_s": round(crypto["per_s"]),
                "crypto_ratio": round(result["per_s"] / crypto["per_s"], 3),
                "bare_per_s": round(result["per_s"]),
                "ratio": 1.0,
                "bare_cpu": result["cpu"],
            }
            for connections, result in bare.items()
        ]
        rows += await throughput(tmp, args, bare, crypto["per_s"])
        connects = [await time_to_connect(tmp, fill, args.connects) for fill in args.fills]
    return {
        "wire_bytes": size,
        "signed_bytes": sizes["signed"],
        "frame_bytes": sizes["frame"],
        "crypto": crypto,
        "window": WINDOW,
        "seconds": args.seconds,
        "rows": rows,
        "connect": connects,
        "goals": _goals(rows, connects),
    }


def _goals(rows: list[dict[str, Any]], connects: list[dict[str, Any]]) -> dict[str, Any]:
    inbound = next(
        r
        for r in rows
        if r["measurement"] == "persons → vendor" and r["connections"] == max(CONNECTIONS)
    )
    medians = [c["median_ms"] for c in connects]
    return {
        "msgs_per_s_50": inbound["ours_per_s"],
        "msgs_per_s_met": inbound["ours_per_s"] >= GOAL_MSGS_PER_S,
        "crypto_ratio_50": inbound["crypto_ratio"],
        "crypto_ratio_met": inbound["crypto_ratio"] >= GOAL_CRYPTO_RATIO,
        "connect_p95_ms_worst": max(c["p95_ms"] for c in connects),
        "connect_met": all(c["p95_ms"] < GOAL_CONNECT_MS for c in connects),
        "connect_growth": round(max(medians) / min(medians), 2),
    }


def print_table(report: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"node throughput: note = {report['wire_bytes']} B on the wire, window {WINDOW} "
        f"per connection, {args.warmup:.1f} s warm-up + {args.seconds:.1f} s per row, "
        f"{os.cpu_count()} cores"
    )
    crypto = report["crypto"]
    print(
        f"crypto limit: {crypto['send_per_s']:,} notes/s signed + sealed on one core, "
        f"{crypto['receive_per_s']:,} opened + verified on the other "
        f"({report['signed_bytes']} B signed, {report['frame_bytes']} B sealed)"
    )
    print(
        f"{'measurement':<18} {'conns':>5} {'msgs/s':>9} {'crypto/s':>9} {'ratio':>6} "
        f"{'echo/s':>9} {'echo':>6}  cpu: vendor or echo server, persons or echo clients"
    )
    for row in report["rows"]:
        cpu = (
            row["bare_cpu"] if "vendor_cpu" not in row else [row["vendor_cpu"], row["persons_cpu"]]
        )
        cpu_text = ", ".join("?" if c is None else f"{c:.0%}" for c in cpu)
        print(
            f"{row['measurement']:<18} {row['connections']:>5} {row['ours_per_s']:>9,} "
            f"{row['crypto_per_s']:>9,} {row['crypto_ratio']:>6.2f} "
            f"{row['bare_per_s']:>9,} {row['ratio']:>6.2f}  {cpu_text}"
        )
    print()
    print("time to connect: invitation URI → CONNECTED on both sides (Node.connect)")
    print(
        f"{'vendor rels':>11} {'connects':>8} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} "
        f"{'invite ms':>9} {'vendor start ms':>15}"
    )
    for c in report["connect"]:
        print(
            f"{c['relationships']:>11,} {c['connects']:>8} {c['median_ms']:>9.1f} "
            f"{c['p95_ms']:>7.1f} {c['max_ms']:>7.1f} {c['invite_median_ms']:>9.1f} "
            f"{c['vendor_start_ms']:>15.1f}"
        )
    goals = report["goals"]
    print()
    print(
        f"goal >= {GOAL_MSGS_PER_S:,} acknowledged msgs/s over {max(CONNECTIONS)} relationships: "
        f"{goals['msgs_per_s_50']:,} ({'met' if goals['msgs_per_s_met'] else 'missed'})"
    )
    print(
        f"goal >= {GOAL_CRYPTO_RATIO} of the bare per-note crypto over {max(CONNECTIONS)} "
        f"relationships: {goals['crypto_ratio_50']:.2f} "
        f"({'met' if goals['crypto_ratio_met'] else 'missed'})"
    )
    print(
        f"goal < {GOAL_CONNECT_MS:.0f} ms to connect, flat: worst p95 "
        f"{goals['connect_p95_ms_worst']:.1f} ms ({'met' if goals['connect_met'] else 'missed'}), "
        f"median grows x{goals['connect_growth']:.2f} from the emptiest to the fullest store"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small counts, well under 30 s")
    parser.add_argument("--seconds", type=float, help="measured time per row (default 3, quick 1)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the 50-rel rows here")
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)  # the child processes
    args = parser.parse_args()
    if args.serve:
        role, *rest = args.serve
        asyncio.run(serve_echo() if role == "echo" else serve_vendor(Path(rest[0])))
        return 0
    if args.seconds is None:
        args.seconds = 1.0 if args.quick else 3.0
    args.warmup = 0.3 if args.quick else 1.0
    args.connects = 10 if args.quick else 30
    args.fills = (0, 10_000) if args.quick else (0, 10_000, 100_000)
    if args.profile:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(run(args))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
