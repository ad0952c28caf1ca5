"""The local API's own safety, on real daemons: who the CLI trusts, which requests the API
takes, and who may read the home directory.

- The CLI hands its bearer token only to a node that has proved it holds that token, over the
  very connection the token would travel on (after a kill -9 anything may sit at the old
  address, TCP port or socket path).
- The API refuses a Host header that does not name this loopback listener, and an Origin other
  than its own (DNS rebinding, cross-site requests from a browser).
- The home directory is 0700 and every file in it 0600, whatever the umask or the directory
  that ``amity init`` was pointed at.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import socketserver
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.node.conftest import Node, NodeFactory, meet, run_amity, send, texts, wait_for

#: The impostor's answer: the CLI must never print it.
_IMPOSTOR_NAME = "IMPOSTOR-ANSWER"
#: Long enough that <home>/api.sock no longer fits a Unix socket address (107 bytes on Linux).
_LONG_NAME = "alice-" + "x" * 110


class _Impostor:
    """Whatever binds a dead node's API address: answers every HTTP request with its own JSON
    (a made-up proof included) and keeps every byte it was sent."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.requests = 0
        self.server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None

    def at_tcp(self, host: str, port: int) -> _Impostor:
        self.server = _ReusingTCPServer((host, port), self._handler())
        return self

    def at_socket(self, path: Path) -> _Impostor:
        path.unlink(missing_ok=True)
        self.server = _UnixServer(str(path), self._handler())
        return self

    def _handler(self) -> type[socketserver.StreamRequestHandler]:
        impostor = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.connection.settimeout(10)
                while True:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = self.rfile.readline()
                        if not line:
                            return
                        head += line
                    length = 0
                    for line in head.split(b"\r\n"):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    body = self.rfile.read(length) if length else b""
                    impostor.received += head + body
                    impostor.requests += 1
                    answer = json.dumps(
                        {"proof": "00" * 32, "did": _IMPOSTOR_NAME, "name": _IMPOSTOR_NAME}
                    ).encode()
                    self.wfile.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                        + answer
                    )
                    self.wfile.flush()

        return Handler

    def __enter__(self) -> _Impostor:
        assert self.server is not None
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None and self._thread is not None
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


class _ReusingTCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def _stale_address(node: Node) -> tuple[str, int]:
    host, _, port = (node.home / "api.address").read_text(encoding="utf-8").strip().rpartition(":")
    return host.strip("[]"), int(port)


def _assert_refused_without_the_token(
    node: Node, token: str, impostor: _Impostor, result: Any
) -> None:
    assert token.encode() not in impostor.received, "the CLI handed its token to an impostor"
    assert b"authorization" not in impostor.received.lower()
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert _IMPOSTOR_NAME not in result.stdout + result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "cli.node_not_running"
    assert "not running" in error["message"] and "amity run" in error["message"]
    assert result.stderr == ""


@pytest.mark.parametrize("name", ["alice", _LONG_NAME], ids=["unix-socket", "long-home-tcp"])
def test_cli_never_hands_its_token_to_an_impostor_at_the_stale_tcp_port(
    nodes: NodeFactory, name: str
) -> None:
    node = nodes.create(name)
    status = run_amity("status", "--home", node.home, "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["did"] == node.did
    token = node.api.token
    host, port = _stale_address(node)
    node.kill()  # api.address (and api.sock) stay behind
    assert (node.home / "api.address").exists()

    with _Impostor().at_tcp(host, port) as impostor:
        result = run_amity("status", "--home", node.home, "--json")

    _assert_refused_without_the_token(node, token, impostor, result)
    node.start()  # and a restart over the stale files works
    again = run_amity("status", "--home", node.home, "--json")
    assert json.loads(again.stdout)["did"] == node.did


def test_cli_never_hands_its_token_to_an_impostor_at_the_stale_socket(
    nodes: NodeFactory,
) -> None:
    node = nodes.create("alice")
    socket_path = node.home / "api.sock"
    assert stat.S_ISSOCK(socket_path.stat().st_mode)
    token = node.api.token
    node.kill()

    with _Impostor().at_socket(socket_path) as impostor:
        result = run_amity("status", "--home", node.home, "--json")

    _assert_refused_without_the_token(node, token, impostor, result)
    assert impostor.requests == 1  # asked for a proof, got a wrong one, said nothing more
    node.start()
    assert run_amity("status", "--home", node.home).returncode == 0


def test_cli_says_not_running_when_nothing_listens(nodes: NodeFactory) -> None:
    node = nodes.create(_LONG_NAME)
    node.kill()

    result = run_amity("peers", "--home", node.home, "--json")

    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "cli.node_not_running" and "amity run" in error["message"]


# -- Host and Origin -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_node(module_nodes: NodeFactory) -> Node:
    return module_nodes.create("host-check")


def _call(node: Node, method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    host, port = _stale_address(node)
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        body = b"{}" if method == "POST" else None
        connection.putrequest(method, path, skip_host=True)
        sent = {"Authorization": f"Bearer {node.api.token}", "Content-Type": "application/json"}
        sent.setdefault("Host", f"{host}:{port}")
        sent.update(headers)
        for name, value in sent.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


_ROUTES = [("GET", "/api/status"), ("POST", "/api/invite"), ("GET", "/api/openapi.json")]


@pytest.mark.parametrize(("method", "path"), _ROUTES)
@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}", "10.0.0.1:{port}"],
)
def test_a_foreign_host_header_is_refused(
    api_node: Node, method: str, path: str, host: str
) -> None:
    _, port = _stale_address(api_node)
    status, body = _call(api_node, method, path, {"Host": host.format(port=port)})
    assert status == 421
    assert body["error"]["code"] == "api.bad_host"
    assert "loopback" in body["error"]["message"]


@pytest.mark.parametrize(("method", "path"), _ROUTES)
@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://evil.example:{port}",
        "null",
        "http://127.0.0.1:{other}",
        "https://127.0.0.1:{port}",
    ],
)
def test_a_foreign_origin_is_refused(api_node: Node, method: str, path: str, origin: str) -> None:
    _, port = _stale_address(api_node)
    status, body = _call(
        api_node, method, path, {"Origin": origin.format(port=port, other=port + 1)}
    )
    assert status == 403
    assert body["error"]["code"] == "api.bad_origin"


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:{port}", None),
        ("localhost:{port}", None),
        ("[::1]:{port}", None),
        ("127.0.0.1:{port}", "http://127.0.0.1:{port}"),
        ("localhost:{port}", "http://localhost:{port}"),
    ],
)
def test_the_apis_own_loopback_host_and_origin_are_taken(
    api_node: Node, host: str, origin: str | None
) -> None:
    _, port = _stale_address(api_node)
    headers = {"Host": host.format(port=port)}
    if origin:
        headers["Origin"] = origin.format(port=port)
    status, body = _call(api_node, "POST", "/api/invite", headers)
    assert status == 200, body
    assert body["uri"].startswith("amity:")


# -- the home directory ----------------------------------------------------------------------------


def _modes(home: Path) -> Iterator[tuple[Path, int, bool]]:
    """Every entry under ``home`` (itself included): path, permission bits, is a directory."""
    yield home, stat.S_IMODE(home.lstat().st_mode), True
    for top, dirs, files in os.walk(home):
        for name in dirs:
            path = Path(top) / name
            yield path, stat.S_IMODE(path.lstat().st_mode), True
        for name in files:
            path = Path(top) / name
            yield path, stat.S_IMODE(path.lstat().st_mode), False


def _assert_private(home: Path) -> None:
    wrong = {
        str(path): oct(mode)
        for path, mode, is_dir in _modes(home)
        if mode != (0o700 if is_dir else 0o600)
    }
    assert not wrong, f"not private: {wrong}"


def test_home_is_0700_and_every_file_0600_even_in_an_existing_0755_dir(
    nodes: NodeFactory,
) -> None:
    old_umask = os.umask(0o022)  # the daemons inherit an ordinary umask
    try:
        for name in ("alice", "shop"):
            (nodes.root / name).mkdir(mode=0o755)
            os.chmod(nodes.root / name, 0o755)
        alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    finally:
        os.umask(old_umask)
    meet(alice, shop)
    send(alice, shop.did, "plaintext that only the owner may read")
    wait_for(lambda: texts(shop) == ["plaintext that only the owner may read"], what="the note")
    for node in (alice, shop):
        names = {path.name for path, _, _ in _modes(node.home)}
        assert {"amity.db", "amity.db-wal", "api.address", "api.sock", "lock"} <= names
        _assert_private(node.home)
    alice.stop()
    shop.kill()
    _assert_private(alice.home)
    _assert_private(shop.home)


def test_run_makes_a_loosened_home_private_again(nodes: NodeFactory) -> None:
    node = nodes.create("alice", start=False)
    os.chmod(node.home, 0o755)
    os.chmod(node.home / "config.toml", 0o644)
    (node.home / "notes.txt").write_text("left here by hand")
    os.chmod(node.home / "notes.txt", 0o664)
    node.start()
    _assert_private(node.home)


def test_the_api_socket_is_private(nodes: NodeFactory) -> None:
    node = nodes.create("alice")
    path = node.home / "api.sock"
    with socket.socket(socket.AF_UNIX) as probe:
        probe.connect(str(path))  # it is a live socket, not a leftover file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
