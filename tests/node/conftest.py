"""Real daemons for the node tests: ``amity run`` processes on 127.0.0.1 with temporary homes.

One fixture family: :class:`NodeFactory` makes nodes (``amity init`` then ``amity run --no-mdns``,
stderr to a log file next to the home), :func:`nodes` gives a test its own factory and
:func:`module_nodes` one shared by a module. Readiness and protocol outcomes are awaited by
polling the node's local API (or its log) against a deadline, never by sleeping for a guessed
time. When a test fails, the logs of every node it used are attached to the report.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.node.pgcluster import pg_url, postgres  # noqa: F401  (fixtures for every node test)

AMITY = Path(sys.executable).parent / "amity"
#: How often a waiting test looks again; small, because it only bounds the reaction time.
POLL_S = 0.02
#: How long a node may take to start, and a protocol outcome to happen, on a loaded 2-core CI box.
START_TIMEOUT_S = 30.0
WAIT_S = 20.0
_STOP_TIMEOUT_S = 10.0
_HTTP_TIMEOUT_S = 30.0

T = TypeVar("T")

#: Peer ports handed to nodes in this test session (see :func:`_unused_peer_port`).
_PORTS_GIVEN: set[int] = set()
_PORTS_LOCK = threading.Lock()


def _unused_peer_port() -> int:
    """A free loopback port below the ephemeral range that no node of this session was given.

    ``amity init`` draws a free port by itself, but only checks that it is free *now*: ten
    homes initialised at once drew the same port twice (CI, test_ten_nodes_...), and the
    second node then could not bind it. Here the draw also skips every port already handed out.
    """
    draw = random.SystemRandom()
    # Under pytest-xdist each worker draws from a range of its own ("gw0", "gw1", ...): the
    # set above is one process's, and two workers must not hand out the same port.
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
    low = 10_000 + (worker % 8) * 2_500
    with _PORTS_LOCK:
        while True:
            port = draw.randrange(low, low + 2_500)
            if port in _PORTS_GIVEN:
                continue
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _PORTS_GIVEN.add(port)
            return port


# -- waiting ---------------------------------------------------------------------------------------


def wait_for(predicate: Callable[[], T], timeout: float = WAIT_S, what: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.1f} s waiting for {what or predicate!r}; last: {value!r}"
            )
        time.sleep(POLL_S)


async def async_wait_for(
    predicate: Callable[[], T | Awaitable[T]], timeout: float = WAIT_S, what: str = ""
) -> T:
    """:func:`wait_for` for async tests: the event loop keeps running between polls."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.1f} s waiting for {what or predicate!r}; last: {value!r}"
            )
        await asyncio.sleep(POLL_S)


# -- the local API ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer of a node's local API: status and decoded JSON body (None if not JSON)."""

    status: int
    body: Any
    content_type: str


class ApiFailure(AssertionError):
    """The node answered a call that should have worked with an error."""


class Api:
    """A node's local API with the bearer token from ``<home>/api.token`` (stdlib HTTP)."""

    def __init__(self, home: Path) -> None:
        self.home = home

    @property
    def base(self) -> str:
        address = (self.home / "api.address").read_text(encoding="utf-8").strip()
        return f"http://{address}"

    @property
    def token(self) -> str:
        return (self.home / "api.token").read_text(encoding="ascii").strip()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        auth: bool | str = True,
        timeout: float = _HTTP_TIMEOUT_S,
    ) -> Reply:
        """Any call; never raises on an HTTP error status.

        ``auth``: True sends the node's token, False none, a string sends that as the token.
        """
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token if auth is True else auth}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return _reply(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as exc:
            return _reply(exc.code, exc.read(), exc.headers)

    def get(self, path: str) -> Any:
        return self._ok(self.request("GET", path), "GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self._ok(self.request("POST", path, {} if body is None else body), "POST", path)

    @staticmethod
    def _ok(reply: Reply, method: str, path: str) -> Any:
        if not 200 <= reply.status < 300:
            raise ApiFailure(f"{method} {path} answered {reply.status}: {reply.body!r}")
        return reply.body


def _reply(status: int, raw: bytes, headers: Any) -> Reply:
    content_type = headers.get("Content-Type", "") if headers else ""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return Reply(status, body, content_type)


# -- nodes -----------------------------------------------------------------------------------------


def run_amity(*args: str | Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run the console script once; never raises on a non-zero exit (tests check the status)."""
    return subprocess.run(
        [str(AMITY), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Node:
    """One node: its home, its ``amity run`` process (when running) and its API."""

    def __init__(
        self,
        root: Path,
        name: str,
        kind: str,
        run_args: Sequence[str] = (),
        *,
        mdns: bool = False,
        store: str | None = None,
    ) -> None:
        self.name = name
        #: config.toml's ``store`` (a postgresql:// URL), or None for SQLite in the home.
        self.store = store
        self.mdns = mdns
        self.kind = kind
        self.home = root / name
        self.log_path = root / f"{name}.log"
        self.run_args = list(run_args)
        self.api = Api(self.home)
        self.proc: subprocess.Popen[bytes] | None = None
        self.did = ""
        self.fingerprint = ""
        self.starts = 0

    def __repr__(self) -> str:
        state = f"pid {self.proc.pid}" if self.running else "stopped"
        return f"<Node {self.name} {self.kind} {state}>"

    # lifetime

    def init(self) -> None:
        result = run_amity(
            "init",
            "--home",
            self.home,
            "--name",
            self.name,
            "--kind",
            self.kind,
            "--listen",
            # A node on LAN discovery listens on every interface: what listens on loopback only
            # announces nothing (peers on the LAN could not dial it).
            f"{'0.0.0.0' if self.mdns else '127.0.0.1'}:{_unused_peer_port()}",
            *([] if self.store is None else ["--store", self.store]),
            "--json",
        )
        assert result.returncode == 0, f"amity init {self.name}: {result.stderr}"
        made = json.loads(result.stdout)
        self.did, self.fingerprint = made["did"], made["fingerprint"]
        assert made["store"] == ("sqlite" if self.store is None else "postgresql")

    @property
    def store_target(self) -> Path | str:
        """What a test opens to read this node's Store (while it is down, or beside it)."""
        return self.store if self.store is not None else self.home / "amity.db"

    def spawn(self) -> None:
        """Start ``amity run`` (logs appended to :attr:`log_path`); see :meth:`wait_ready`."""
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [
                    str(AMITY),
                    "run",
                    "--home",
                    str(self.home),
                    *([] if self.mdns else ["--no-mdns"]),
                    *self.run_args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until ``api.address`` exists and ``/api/status`` answers for this node's did."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            code = self.proc.poll()
            if code is not None:
                raise AssertionError(f"{self.name} exited with {code}:\n{self.log()}")
            if self._answers():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not ready after {timeout} s:\n{self.log()}")
            time.sleep(POLL_S)

    def _answers(self) -> bool:
        try:
            reply = self.api.request("GET", "/api/status", timeout=2.0)
        except (OSError, urllib.error.URLError):  # no api.address yet, or not listening yet
            return False
        return reply.status == 200 and reply.body.get("did") == self.did

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        self.spawn()
        self.wait_ready(timeout)

    def stop(self, timeout: float = _STOP_TIMEOUT_S) -> int:
        """SIGTERM and wait (SIGKILL if it does not stop in time); returns the exit status."""
        proc = self._take()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{self.name} ignored SIGTERM for {timeout} s") from None

    def kill(self) -> None:
        """SIGKILL, as a power cut would: nothing runs on the way out."""
        proc = self._take()
        proc.kill()
        proc.wait()

    def _take(self) -> subprocess.Popen[bytes]:
        assert self.proc is not None, f"{self.name} is not running"
        proc, self.proc = self.proc, None
        return proc

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # what it says

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self, event: str, **fields: str) -> list[str]:
        """Log lines of ``event`` whose ``key=value`` fields include ``fields``."""
        wanted = [f"{key}={value}" for key, value in fields.items()]
        found = []
        for line in self.log().splitlines():
            words = line.split()
            if event in words and all(w in words for w in wanted):
                found.append(line)
        return found

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = self.api.get("/api/status")
        return data

    def peers(self) -> list[dict[str, Any]]:
        peers: list[dict[str, Any]] = self.api.get("/api/peers")["peers"]
        return peers

    def peer(self, did: str) -> dict[str, Any] | None:
        """The relationship with ``did``: the live one, else the latest that ended."""
        found = [p for p in self.peers() if p["peer"] == did]
        live = [p for p in found if p["state"] != "ended"]
        return (live or found or [None])[-1]

    def pending(self) -> int:
        return int(self.status()["outbox_pending"])


class NodeFactory:
    """Makes nodes under one temporary directory and stops them all at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes: list[Node] = []

    def create(
        self,
        name: str,
        kind: str = "person",
        *,
        start: bool = True,
        run_args: Sequence[str] = (),
        mdns: bool = False,
        store: str | None = None,
    ) -> Node:
        (node,) = self.create_many(
            [(name, kind)], start=start, run_args=run_args, mdns=mdns, stores={name: store}
        )
        return node

    def create_many(
        self,
        specs: Sequence[tuple[str, str]],
        *,
        start: bool = True,
        run_args: Sequence[str] = (),
        mdns: bool = False,
        stores: Mapping[str, str | None] | None = None,
    ) -> list[Node]:
        """Several nodes, initialised and started side by side (each its own process); a node
        named in ``stores`` keeps its data there (a postgresql:// URL)."""
        stores = stores or {}
        made = [
            Node(self.root, name, kind, run_args, mdns=mdns, store=stores.get(name))
            for name, kind in specs
        ]
        self.nodes.extend(made)
        with ThreadPoolExecutor(max_workers=len(made)) as pool:
            list(pool.map(Node.init, made))
        if start:
            start_all(made)
        return made

    def close(self) -> None:
        """SIGTERM every running node at once, then wait for each (SIGKILL after a timeout).

        A node that had to be killed fails the teardown: ignoring SIGTERM is a bug.
        """
        running = [node for node in self.nodes if node.running]
        for node in running:
            assert node.proc is not None
            node.proc.send_signal(signal.SIGTERM)
        stuck = []
        for node in running:
            try:
                node.stop()
            except AssertionError as exc:
                stuck.append(str(exc))
        assert not stuck, "; ".join(stuck)

    def logs(self) -> str:
        return "\n".join(
            f"===== {node.name} ({node.kind}) {node.log_path} =====\n{node.log()}"
            for node in self.nodes
        )


def start_all(nodes: Sequence[Node], timeout: float = START_TIMEOUT_S) -> None:
    """Start several nodes at once and wait until every one answers."""
    for node in nodes:
        node.spawn()
    for node in nodes:
        node.wait_ready(timeout)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a storage test keeps its Store, once for each engine: a SQLite file in the test's
    folder, or a new database on the session's PostgreSQL server (tests.node.pgcluster)."""
    if request.param == "sqlite":
        return tmp_path / "amity.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def vendor_store(request: pytest.FixtureRequest) -> str | None:
    """config.toml's ``store`` for the vendor of a daemon test, once for each engine: None
    (SQLite in its home), or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[NodeFactory]:
    """A factory of real nodes for one test."""
    factory = NodeFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def module_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeFactory]:
    """A factory of real nodes shared by the tests of one module."""
    factory = NodeFactory(tmp_path_factory.mktemp("nodes"))
    yield factory
    factory.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On failure, attach the stderr logs of every node the test used to its report."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    for value in funcargs.values():
        if isinstance(value, NodeFactory) and value.nodes:
            report.sections.append(("amity node logs", value.logs()))


# -- what a test asks of nodes ---------------------------------------------------------------------


def invite(node: Node, ttl_s: int = 3600) -> str:
    """A fresh one-time invitation URI from ``node``."""
    uri: str = node.api.post("/api/invite", {"ttl_s": ttl_s})["uri"]
    return uri


def connect(node: Node, uri: str) -> dict[str, Any]:
    """``node`` accepts the invitation ``uri``; returns the relationship it reports."""
    relationship: dict[str, Any] = node.api.post("/api/connect", {"uri": uri})
    return relationship


def meet(a: Node, b: Node) -> None:
    """``b`` invites, ``a`` connects; returns once both report the other as connected."""
    connect(a, invite(b))
    wait_for(lambda: is_connected(a, b) and is_connected(b, a), what=f"{a.name} <-> {b.name}")


def is_connected(a: Node, b: Node) -> bool:
    peer = a.peer(b.did)
    return peer is not None and peer["state"] == "connected"


def send(node: Node, peer_did: str, text: str) -> int:
    """Queue a note from ``node`` to ``peer_did`` (HTTP 202); returns its sequence number."""
    reply = node.api.request("POST", f"/api/peers/{_q(peer_did)}/notes", {"text": text})
    assert reply.status == 202, f"{node.name} refused a note: {reply.status} {reply.body}"
    seq: int = reply.body["seq"]
    return seq


def messages(node: Node, peer_did: str | None = None) -> list[dict[str, Any]]:
    """Every note ``node`` has received (from ``peer_did`` if given), oldest first."""
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        query = {"after": str(after), "limit": "1000"}
        if peer_did is not None:
            query["peer"] = peer_did
        page = node.api.get("/api/messages?" + urllib.parse.urlencode(query))["messages"]
        if not page:
            return found
        found.extend(page)
        after = page[-1]["id"]


def texts(node: Node, peer_did: str | None = None) -> list[str]:
    return [m["text"] for m in messages(node, peer_did)]


def _q(did: str) -> str:
    return urllib.parse.quote(did, safe="")
