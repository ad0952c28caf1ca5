"""The CLI's client for a running node's local API (stdlib HTTP; the CLI stays light)."""

from __future__ import annotations

import argparse
import http.client
import json
import socket
from collections.abc import Callable
from typing import Any, BinaryIO

from amity.node.api.proof import PROOF_PATH, channel_of, new_nonce, proof_matches
from amity.node.cli.render import HOME_HELP, ApiError, CliError, add_json_option
from amity.node.home import Home, HomeError, resolve_home

__all__ = [
    "AmbiguousPeer",
    "UnknownPeer",
    "resolve_peer",
    "add_command",
    "add_home_option",
    "home_from",
    "ApiClient",
    "ApiError",
    "NodeNotRunning",
]

_TIMEOUT_S = 30.0


def add_home_option(parser: argparse.ArgumentParser) -> None:
    """``--home`` and ``--json`` on a command; both are accepted before the command too, whose
    parser holds their defaults (a command's own default would undo ``amity --home X status``)."""
    parser.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help=HOME_HELP)
    add_json_option(parser)


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    handler: Any,
    description: str,
    epilog: str,
) -> argparse.ArgumentParser:
    """One subcommand that talks to a node: --home and --json, its handler, exit codes below."""
    parser = commands.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_home_option(parser)
    parser.set_defaults(handler=handler)
    return parser


def home_from(args: argparse.Namespace) -> Home:
    return Home(resolve_home(getattr(args, "home", None)))


class UnknownPeer(CliError):
    """No relationship answers to the name, fingerprint or did a command was given."""

    code = "cli.unknown_peer"


class AmbiguousPeer(CliError):
    """Several relationships answer to what a command was given; the message lists them."""

    code = "cli.ambiguous_peer"


#: The shortest fingerprint prefix taken as one (shorter text is only matched as a name).
_MIN_FINGERPRINT_PREFIX = 4


def resolve_peer(client: ApiClient, text: str, *, connected: bool = False) -> str:
    """The did:key of the peer ``text`` names, for every command that names a peer.

    ``text`` is a did:key (taken as given), a peer's name (any case), or a prefix of at least
    four characters of its fingerprint (dashes and case ignored). With several relationships of
    that name, the connected ones count; if still more than one, the error lists them all.
    ``connected``: only connected relationships answer.
    """
    if text.startswith("did:"):
        return text
    peers = [p for p in client.call("GET", "/api/peers")["peers"] if p["peer"]]
    if connected:
        peers = [p for p in peers if p["state"] == "connected"]
    found = [p for p in peers if p["name"].casefold() == text.casefold()]
    prefix = text.replace("-", "").upper()
    if not found and len(prefix) >= _MIN_FINGERPRINT_PREFIX and prefix.isalnum():
        found = [p for p in peers if p["fingerprint"].replace("-", "").startswith(prefix)]
    found = [p for p in found if p["state"] == "connected"] or found
    dids = sorted({p["peer"] for p in found})
    if len(dids) == 1:
        did: str = dids[0]
        return did
    which = "connected peer" if connected else "peer"
    if not dids:
        raise UnknownPeer(
            f"no {which} is called {text!r} or has a fingerprint starting so; "
            "`amity peers` lists them"
        )
    candidates = "; ".join(
        f"{p['name'] or '(no name)'} ({p['fingerprint']}, {p['state']})"
        for p in sorted(found, key=lambda p: p["peer"])
    )
    raise AmbiguousPeer(
        f"{len(dids)} peers answer to {text!r}: {candidates}; give more of the fingerprint"
    )


class NodeNotRunning(CliError):
    """No node answers at the home's API address, or what answers could not prove it is the
    node (exit status 1). It was not sent the token, and nothing it said is shown."""

    code = "cli.node_not_running"


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over the node's Unix socket (``Host: localhost``)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class ApiClient:
    """Calls one node's local API with its bearer token, once the API has proved it holds it.

    The way in is the Unix socket ``<home>/api.sock``; when the home's path is too long for a
    socket address, the loopback TCP address in ``<home>/api.address``. Either may be a leftover
    of a node that was killed, with anything listening there since: so every connection starts
    with ``GET /api/proof`` (see amity.node.api.proof), and the token goes out on that connection
    only after a right answer.
    """

    def __init__(self, home: Home) -> None:
        self._home = home
        if not home.exists():
            raise CliError(f"no amity node in {home.path}; run `amity init` first")
        try:
            self._token = home.api_token()
        except HomeError as exc:
            raise CliError(str(exc)) from None
        socket_path = home.api_socket_path
        if socket_path is not None:
            self._where = str(socket_path)
            self._connect: Callable[[], http.client.HTTPConnection] = lambda: _UnixConnection(
                str(socket_path), _TIMEOUT_S
            )
            return
        try:
            address = home.api_address_path.read_text(encoding="utf-8").strip()
            host, port = parse_hostport(address)
        except (FileNotFoundError, ValueError):
            raise self._not_running() from None
        self._where = address
        self._connect = lambda: http.client.HTTPConnection(host, port, timeout=_TIMEOUT_S)

    def _not_running(self, why: str = "") -> NodeNotRunning:
        return NodeNotRunning(
            f"the node in {self._home.path} is not running{why}; start it with `amity run`"
        )

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        connection = self._connect()
        try:
            self._prove(connection)
            data = None if body is None else json.dumps(body).encode()
            headers = {"Authorization": f"Bearer {self._token}"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            status, raw = _exchange(connection, method, path, data, headers)
        except (OSError, http.client.HTTPException) as exc:
            raise CliError(
                f"the node's API at {self._where} stopped answering ({exc}); "
                "is `amity run` still up?"
            ) from None
        finally:
            connection.close()
        if 200 <= status < 300:
            return json.loads(raw or b"{}")
        raise _error(status, raw)

    def download(self, path: str, sink: BinaryIO) -> int:
        """GET ``path`` and copy the answer to ``sink`` as it comes (an export of any size);
        the number of bytes written."""
        connection = self._connect()
        try:
            self._prove(connection)
            connection.request("GET", path, headers={"Authorization": f"Bearer {self._token}"})
            response = connection.getresponse()
            if not 200 <= response.status < 300:
                raise _error(response.status, response.read())
            written = 0
            while chunk := response.read(1 << 16):
                try:
                    sink.write(chunk)
                except OSError as exc:  # the sink's fault, not the node's: its caller says
                    raise SinkError(exc) from None
                written += len(chunk)
            return written
        except (OSError, http.client.HTTPException) as exc:
            raise CliError(
                f"the node's API at {self._where} stopped answering ({exc}); "
                "is `amity run` still up?"
            ) from None
        finally:
            connection.close()

    def _prove(self, connection: http.client.HTTPConnection) -> None:
        """Ask for the proof of the token on ``connection``; NodeNotRunning unless it is right."""
        nonce = new_nonce()
        try:
            status, raw = _exchange(connection, "GET", f"{PROOF_PATH}?nonce={nonce.hex()}")
            if connection.sock is None:  # it answered and hung up: no channel to check
                raise self._not_running()
            channel = channel_of(connection.sock.getpeername())
            connection.auto_open = 0  # the token goes on this connection or none: no redial
        except (OSError, http.client.HTTPException):
            raise self._not_running() from None
        try:
            answer = json.loads(raw).get("proof") if status == 200 else None
        except (ValueError, AttributeError):
            answer = None
        if not proof_matches(answer, self._token, nonce, channel):
            raise self._not_running(
                f": something else answers at {self._where} (left there by a node that did not "
                "stop cleanly?) and it could not prove it is the node, so it was not sent the "
                "token"
            )


class SinkError(Exception):
    """:meth:`ApiClient.download` could not write what came (a full disk, a closed pipe)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _error(status: int, raw: bytes) -> ApiError | CliError:
    """The error an answer of HTTP ``status`` carries."""
    try:
        error = json.loads(raw)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return CliError(f"the node answered HTTP {status} without details")
    return ApiError(code, message, remote=status == 422)


def _exchange(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read()


def parse_hostport(address: str) -> tuple[str, int]:
    """``host:port`` from ``api.address`` (IPv6 in brackets or not); ValueError if it is not."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"not host:port: {address!r}")
    host = host.strip("[]")
    # A node bound to every address (--allow-remote-api) is dialled on loopback: "0.0.0.0" is no
    # name the API would take in a Host header.
    return _UNSPECIFIED.get(host, host), int(port)


_UNSPECIFIED = {"0.0.0.0": "127.0.0.1", "::": "::1"}
