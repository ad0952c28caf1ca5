"""Denial of service against a real node's peer port: slow, idle and malformed connections.

Each test gives the node small limits through config.toml ``[limits]`` so that a handful of
sockets and a second or two show what 1 100 sockets and 75 s showed against the defaults.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from amity.node.logs import REPEAT_BURST
from amity.node.net.limits import ACCEPT_BACKLOG
from tests.node.conftest import (
    WAIT_S,
    Node,
    NodeFactory,
    connect,
    invite,
    is_connected,
    send,
    texts,
    wait_for,
)

#: What an honest client sends in one go; the attacks below send it slowly, or never finish it.
_HEAD: Final = b"GET /amity/v1/card HTTP/1.1\r\nHost: node\r\n"


def with_limits(node: Node, **limits: float) -> None:
    """Append a ``[limits]`` table to the node's config.toml (before it starts)."""
    table = "".join(f"{key} = {value}\n" for key, value in limits.items())
    with open(node.home / "config.toml", "a", encoding="utf-8") as config:
        config.write("\n[limits]\n" + table)


def peer_address(node: Node) -> tuple[str, int]:
    endpoint = node.status()["endpoints"][0]  # ws://host:port/amity/v1/ws
    host, port = endpoint.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    return host, int(port)


def closed_by_node(sock: socket.socket) -> bool:
    """True once the node closed ``sock`` (EOF or reset); never blocks."""
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@contextlib.contextmanager
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


def dial(address: tuple[str, int], into: list[socket.socket]) -> socket.socket | None:
    """One TCP connection to ``address`` (None if the node's backlog is full)."""
    try:
        sock = socket.create_connection(address, timeout=2.0)
    except OSError:
        return None
    into.append(sock)
    return sock


def assert_one_line_records(node: Node) -> None:
    """Every line of the node's log is a record of its own (a timestamp first): no tracebacks
    or echoed requests spread over many lines."""
    for line in node.log().splitlines():
        assert line.startswith(("20", "--- start")), line[:200]


def card_answers(address: tuple[str, int]) -> bool:
    """An honest request on a fresh connection gets the node's card."""
    with socket.create_connection(address, timeout=WAIT_S) as sock:
        sock.sendall(_HEAD + b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.startswith(b"HTTP/1.1 200")


def test_a_slow_header_trickle_is_closed_after_the_header_timeout(nodes: NodeFactory) -> None:
    node = nodes.create("target", start=False)
    with_limits(node, header_timeout_s=1)
    node.start()
    address = peer_address(node)
    with sockets() as loris:
        for _ in range(5):
            sock = dial(address, loris)
            assert sock is not None
            sock.sendall(_HEAD + b"X-Slow: ")
        deadline = time.monotonic() + WAIT_S
        while not all(closed_by_node(s) for s in loris):
            assert time.monotonic() < deadline, "the node still holds header trickles"
            for sock in loris:  # one more byte of one header each: far below any size limit
                with contextlib.suppress(OSError):
                    sock.send(b"a")
            time.sleep(0.1)  # the attacker's pace, not a wait for the node
    wait_for(lambda: len(node.log_lines("peer.header_timeout")) >= 1, what="a timeout logged")
    assert card_answers(address)


def test_a_stalled_inbox_body_is_answered_408_after_the_body_timeout(nodes: NodeFactory) -> None:
    node = nodes.create("target", start=False)
    with_limits(node, body_timeout_s=1)
    node.start()
    head = b"POST /amity/v1/inbox HTTP/1.1\r\nHost: node\r\nContent-Length: 1000\r\n\r\n"
    with socket.create_connection(peer_address(node), timeout=WAIT_S) as sock:
        sock.sendall(head + b"x" * 10)  # and the other 990 bytes never come
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    wait_for(lambda: node.log_lines("peer.body_timeout"), what="the timeout logged")


def test_idle_connections_beyond_the_budget_are_closed_and_known_peers_get_in(
    nodes: NodeFactory,
) -> None:
    target, friend = nodes.create_many([("target", "vendor"), ("friend", "person")], start=False)
    with_limits(target, header_timeout_s=600, max_connections=24, max_strangers=8)
    target.start()
    friend.start()
    connect(target, invite(friend))  # the target dials: the friend's later dial is a new link
    wait_for(lambda: is_connected(target, friend) and is_connected(friend, target))
    friend.stop()
    pid = target.proc.pid if target.proc else 0
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    # Room for the budget and one accept burst (ACCEPT_BACKLOG), little more: without a
    # budget, the flood takes every descriptor.
    room = in_use + 24 + ACCEPT_BACKLOG + 16
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (room, room))
    address = peer_address(target)

    with sockets() as flood:
        for _ in range(room + 50):
            dial(address, flood)
        assert len(flood) > room
        wait_for(
            lambda: sum(not closed_by_node(s) for s in flood) <= 8,
            what="the node closing idle connections beyond its stranger budget",
        )
        assert target.status()["did"] == target.did  # the local API still answers
        assert target.log_lines("peer.evicted")

        friend.start()
        send(friend, target.did, "through the flood")
        wait_for(lambda: "through the flood" in texts(target, friend.did), what="the note")
        links_lost = len(target.log_lines("link.down"))
        for _ in range(50):  # more strangers: the known peer's link is not theirs to take
            dial(address, flood)
        send(friend, target.did, "still here")
        wait_for(lambda: "still here" in texts(target, friend.did), what="the second note")
        assert card_answers(address)
        assert len(target.log_lines("link.down")) == links_lost


def test_out_of_descriptors_is_logged_a_few_times_not_a_million(nodes: NodeFactory) -> None:
    """Should descriptors run out all the same (here: the limit is cut under a running node),
    asyncio's accept errors go through the node's log handler and are counted, not repeated."""
    node = nodes.create("target")
    address = peer_address(node)
    pid = node.proc.pid if node.proc else 0
    tight = len(os.listdir(f"/proc/{pid}/fd")) + 4
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (tight, tight))
    with sockets() as flood:
        for _ in range(60):  # all of them fit in the accept backlog
            dial(address, flood)
        wait_for(lambda: "out of system resource" in node.log(), what="asyncio's accept error")
    node.stop()
    errors = [line for line in node.log().splitlines() if "out of system resource" in line]
    shown = [line for line in errors if "log.repeated" not in line]
    assert 1 <= len(shown) <= 3 * REPEAT_BURST
    assert_one_line_records(node)


def test_malformed_requests_log_one_short_line_each_and_no_request_bytes(
    nodes: NodeFactory,
) -> None:
    node = nodes.create("target")
    address = peer_address(node)
    marker = b"ECHO-ME-" + os.urandom(6).hex().encode()
    # aiohttp's parser quotes the bytes it choked on in its error: a header line over the
    # limit, a control character in a header value, a Content-Length that is no number.
    malformed = [
        _HEAD + b"X-Evil: " + marker * 2000 + b"\r\n\r\n",
        _HEAD + b"X-Evil: " + marker + b"\x01\r\n\r\n",
        _HEAD + b"Content-Length: " + marker + b"\r\n\r\n",
    ]
    flood = 60
    for index in range(flood):
        with socket.create_connection(address, timeout=WAIT_S) as sock:
            sock.sendall(malformed[index % len(malformed)])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            assert b" 400 " in answer, answer[:100]
    assert card_answers(address)
    node.stop()

    log = node.log()
    assert marker.decode() not in log
    assert "Traceback" not in log
    assert_one_line_records(node)
    shown = node.log_lines("http.bad_request")
    assert 3 <= len(shown) <= 3 * REPEAT_BURST * 2  # a window may roll over in the flood
    assert all(len(line) < 300 for line in shown)
    repeated = [
        int(match.group(1))
        for line in node.log_lines("log.repeated")
        if "of=http.bad_request" in line and (match := re.search(r"\btimes=(\d+)", line))
    ]
    assert len(shown) + sum(repeated) == flood


def test_the_soft_open_file_limit_is_raised_to_the_hard_one(nodes: NodeFactory) -> None:
    node = nodes.create("target", start=False)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip(f"the hard open-file limit is only {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        node.spawn()  # the node inherits the low soft limit
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    node.wait_ready()
    assert node.proc is not None
    limits = Path(f"/proc/{node.proc.pid}/limits").read_text(encoding="ascii")
    (line,) = [row for row in limits.splitlines() if row.startswith("Max open files")]
    node_soft, node_hard = line.split()[3:5]
    assert node_soft == node_hard
    assert node_soft != "256"


def test_a_stranger_cannot_hold_the_handshake_open(nodes: NodeFactory) -> None:
    """A WebSocket opened and then left silent is closed after the handshake timeout."""
    node = nodes.create("target", start=False)
    with_limits(node, handshake_timeout_s=1)
    node.start()
    address = peer_address(node)
    upgrade = (
        b"GET /amity/v1/ws HTTP/1.1\r\nHost: node\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(address, timeout=WAIT_S) as sock:
        sock.sendall(upgrade)
        assert sock.recv(65536).startswith(b"HTTP/1.1 101")
        sock.settimeout(WAIT_S)
        assert sock.recv(2)[:1] == b"\x88"  # a close frame, once the handshake time is up
    wait_for(lambda: node.log_lines("handshake.refused", code="TimeoutError"))
