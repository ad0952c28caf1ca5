"""Real daemons: ``amity run`` processes talking over real sockets, with real SQLite homes; the
vendor of the core tests also on a real PostgreSQL server (``vendor_store``).

Every node is its own process (see conftest.py). Outcomes are awaited by polling the local API
against a deadline; a node is stopped with SIGTERM or, to stand for a power cut, SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from amity.node.api.app import create_api_app
from amity.node.store import Store
from amity.protocol.identity import PeerId
from tests.node.conftest import (
    WAIT_S,
    Node,
    NodeFactory,
    connect,
    invite,
    is_connected,
    meet,
    messages,
    run_amity,
    send,
    texts,
    wait_for,
)


def offline(node: Node, other: Node) -> bool:
    return other.did not in node.status()["peers_online"]


def peer_path(node: Node, action: str) -> str:
    """The local API path of ``action`` (notes, end) on the relationship with ``node``."""
    return f"/api/peers/{urllib.parse.quote(node.did, safe='')}/{action}"


def has_texts(node: Node, sender: Node, expected: list[str]) -> bool:
    """``node`` received exactly ``expected`` from ``sender`` (order kept, nothing twice)."""
    got = texts(node, sender.did)
    assert len(got) <= len(expected) and got == expected[: len(got)], got
    return got == expected


# -- two nodes -------------------------------------------------------------------------------------


def test_two_nodes_connect_and_notes_arrive_once_in_order(
    nodes: NodeFactory, vendor_store: str | None
) -> None:
    alice, shop = nodes.create_many(
        [("alice", "person"), ("shop", "vendor")], stores={"shop": vendor_store}
    )

    relationship = connect(alice, invite(shop))

    assert relationship["peer"] == shop.did
    assert relationship["state"] == "connected"
    assert relationship["kind"] == "vendor"
    wait_for(lambda: is_connected(shop, alice), what="the vendor sees alice connected")
    seen_by_shop = shop.peer(alice.did)
    assert seen_by_shop is not None
    assert (seen_by_shop["name"], seen_by_shop["kind"], seen_by_shop["role"]) == (
        "alice",
        "person",
        "inviter",
    )
    assert alice.peer(shop.did)["role"] == "invitee"  # type: ignore[index]

    to_shop = [f"alice to shop #{i}" for i in range(10)]
    to_alice = [f"shop to alice #{i}" for i in range(10)]
    for a, b in zip(to_shop, to_alice, strict=True):
        send(alice, shop.did, a)
        send(shop, alice.did, b)

    wait_for(lambda: has_texts(shop, alice, to_shop), what="alice's notes at the shop")
    wait_for(lambda: has_texts(alice, shop, to_alice), what="the shop's notes at alice")
    wait_for(lambda: alice.pending() == 0 and shop.pending() == 0, what="both outboxes drained")
    received = messages(shop, alice.did)
    assert [m["seq"] for m in received] == sorted(m["seq"] for m in received)
    assert {m["peer"] for m in received} == {alice.did}


def test_restart_delivers_queued_notes_once(nodes: NodeFactory, vendor_store: str | None) -> None:
    alice, bob = nodes.create_many(
        [("alice", "person"), ("bob", "person")], stores={"bob": vendor_store}
    )
    meet(alice, bob)
    send(alice, bob.did, "before the restart")
    wait_for(lambda: texts(bob) == ["before the restart"])

    assert bob.stop() == 0
    wait_for(lambda: offline(alice, bob), what="alice notices bob is gone")
    queued = [f"queued #{i}" for i in range(20)]
    for text in queued:
        send(alice, bob.did, text)
    # ACK marks are committed with the next group commit: wait, don't race them.
    wait_for(lambda: alice.status()["outbox_pending"] == 20, what="20 notes queued")
    assert alice.peer(bob.did)["outbox_pending"] == 20  # type: ignore[index]

    bob.start()

    wait_for(lambda: alice.pending() == 0, what="alice's outbox drains")
    assert texts(bob, alice.did) == ["before the restart", *queued]
    assert is_connected(bob, alice) and is_connected(alice, bob)
    assert "node.stopped" in bob.log()


# -- ten nodes -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ten_nodes_one_vendor_and_a_vendor_restart(
    nodes: NodeFactory, vendor_store: str | None
) -> None:
    vendor, *people = nodes.create_many(
        [("vendor", "vendor"), *((f"person{i}", "person") for i in range(9))],
        stores={"vendor": vendor_store},
    )
    for person in people:
        connect(person, invite(vendor))
    wait_for(
        lambda: sum(p["state"] == "connected" for p in vendor.peers()) == 9,
        what="the vendor connected to all nine",
    )

    def to_vendor(person: Node, round_: str) -> list[str]:
        return [f"{person.name} {round_} #{i}" for i in range(3)]

    def to_person(person: Node, round_: str) -> list[str]:
        return [f"vendor to {person.name} {round_} #{i}" for i in range(3)]

    for person in people:
        for a, b in zip(to_vendor(person, "live"), to_person(person, "live"), strict=True):
            send(person, vendor.did, a)
            send(vendor, person.did, b)
    for person in people:
        wait_for(lambda p=person: has_texts(vendor, p, to_vendor(p, "live")))
        wait_for(lambda p=person: has_texts(p, vendor, to_person(p, "live")))

    assert vendor.stop() == 0
    for person in people:
        wait_for(lambda p=person: offline(p, vendor), what=f"{person.name} sees the vendor go")
        for text in to_vendor(person, "while down"):
            send(person, vendor.did, text)
        # ACK marks are committed with the next group commit: wait, don't race them.
        wait_for(lambda p=person: p.pending() == 3, what=f"{person.name}'s three queued notes")
    vendor.start()
    for person in people:
        for text in to_person(person, "after"):
            send(vendor, person.did, text)

    for person in people:
        wait_for(
            lambda p=person: has_texts(
                vendor, p, to_vendor(p, "live") + to_vendor(p, "while down")
            ),
            what=f"the notes {person.name} queued while the vendor was down",
        )
        wait_for(
            lambda p=person: has_texts(p, vendor, to_person(p, "live") + to_person(p, "after")),
            what=f"the vendor's notes to {person.name} after its restart",
        )
    wait_for(lambda: vendor.pending() == 0 and all(p.pending() == 0 for p in people))
    assert len(messages(vendor)) == 9 * 6


# -- the event stream -----------------------------------------------------------------------------


async def read_events(
    stream: aiohttp.ClientResponse, until: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Server-sent events from ``stream`` up to the first one ``until`` accepts."""
    events: list[dict[str, Any]] = []
    fields: dict[str, str] = {}
    async with asyncio.timeout(WAIT_S):
        async for raw in stream.content:
            line = raw.decode().rstrip("\n")
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            event = json.loads(fields["data"])
            assert event["kind"] == fields["event"] and str(event["id"]) == fields["id"]
            events.append(event)
            fields = {}
            if until(event):
                return events
    raise AssertionError(f"the event stream ended early: {events}")


async def test_event_stream_reports_connections_and_messages(nodes: NodeFactory) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    headers = {"Authorization": f"Bearer {shop.api.token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(shop.api.base + "/api/events") as stream,
    ):
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        connect(alice, invite(shop))
        send(alice, shop.did, "hello over SSE")

        events = await read_events(stream, until=lambda e: e["kind"] == "message")

    kinds = [e["kind"] for e in events]
    assert kinds.index("connected") < kinds.index("message")
    connected = events[kinds.index("connected")]
    assert connected["peer"] == alice.did
    assert events[-1]["peer"] == alice.did and events[-1]["type"] == "msg.note"
    assert texts(shop) == ["hello over SSE"]


async def test_sigterm_with_an_event_stream_stops_promptly(nodes: NodeFactory) -> None:
    node = nodes.create("alice")
    headers = {"Authorization": f"Bearer {node.api.token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(node.api.base + "/api/events") as stream,
    ):
        assert stream.status == 200
        # Stop with the stream still open. The API server's shutdown timeout is 5 s; a node
        # that waits for the stream's handler instead of ending it misses this deadline.
        stopping = asyncio.get_running_loop().run_in_executor(None, node.stop, 4.0)
        assert await stream.content.read() == b""  # the server ended the stream itself
        assert await stopping == 0


# -- kill -9 ---------------------------------------------------------------------------------------


class Streamer(threading.Thread):
    """Posts notes to a node's API one after another; records which ones it answered 202.

    After ``hold_after`` notes it waits for :attr:`go_on` (set once the test has killed a
    node), so the kill always lands mid-stream however fast or slow the machine is.
    """

    def __init__(self, node: Node, peer_did: str, notes: list[str], hold_after: int) -> None:
        super().__init__(daemon=True)
        self.node, self.peer_did, self.notes, self.hold_after = node, peer_did, notes, hold_after
        self.go_on = threading.Event()
        self.accepted: list[str] = []
        self.attempted: list[str] = []
        self.stopped_by = ""

    def run(self) -> None:
        path = f"/api/peers/{urllib.parse.quote(self.peer_did, safe='')}/notes"
        for number, text in enumerate(self.notes):
            if number == self.hold_after:
                self.go_on.wait(60)
            self.attempted.append(text)
            try:
                reply = self.node.api.request("POST", path, {"text": text}, timeout=5.0)
            except (OSError, urllib.error.URLError) as exc:
                self.stopped_by = f"{text!r}: {exc}"
                return  # the node is gone: what it answered before is all it promised
            if reply.status != 202:
                self.stopped_by = f"{text!r}: HTTP {reply.status} {reply.body}"
                return
            self.accepted.append(text)


def acked_seqs(sender: Node, recipient: Node) -> set[int]:
    """Sequence numbers ``sender`` holds an ACK for, read from its database (read-only)."""
    uri = f"file:{sender.home / 'amity.db'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        rows = db.execute(
            "SELECT seq FROM outbox WHERE peer_id = ? AND acked_ms IS NOT NULL",
            (PeerId.from_did(recipient.did).key,),
        ).fetchall()
    return {int(seq) for (seq,) in rows}


def stored_seqs(recipient: Node, sender: Node) -> list[int]:
    """Sequence numbers in ``recipient``'s inbox from ``sender``, read while it is down."""
    assert not recipient.running
    with Store(recipient.store_target) as store:
        items = store.list_inbox(PeerId.from_did(sender.did).key, limit=100_000)
    return [item.seq for item in items]


@pytest.mark.slow
def test_kill_9_of_the_receiver_loses_nothing_it_acknowledged(
    nodes: NodeFactory, vendor_store: str | None
) -> None:
    a, b = nodes.create_many([("a", "person"), ("b", "vendor")], stores={"b": vendor_store})
    meet(a, b)
    notes = [f"note {i:03d}" for i in range(300)]

    streamer = Streamer(a, b.did, notes, hold_after=200)
    streamer.start()
    wait_for(lambda: len(acked_seqs(a, b)) >= 40, what="b acknowledges some notes")
    b.kill()
    streamer.go_on.set()
    streamer.join(60)

    assert streamer.accepted == notes, f"a stopped accepting notes at {streamer.stopped_by}"
    acked = acked_seqs(a, b)  # final: nobody is left to acknowledge anything
    stored = stored_seqs(b, a)
    assert len(acked) < len(notes), "b was not killed mid-stream"
    assert acked <= set(stored), f"ACKed but not stored by b: {sorted(acked - set(stored))}"
    assert len(stored) == len(set(stored))
    b.start()
    wait_for(lambda: a.pending() == 0, what="a's outbox drains once b is back")
    assert texts(b, a.did) == notes


@pytest.mark.slow
def test_kill_9_of_the_sender_loses_nothing_it_accepted(nodes: NodeFactory) -> None:
    a, b = nodes.create_many([("a", "person"), ("b", "vendor")])
    meet(a, b)
    notes = [f"note {i:03d}" for i in range(300)]

    streamer = Streamer(a, b.did, notes, hold_after=200)
    streamer.start()
    wait_for(lambda: len(texts(b, a.did)) >= 40, what="b receives some of them")
    a.kill()
    streamer.go_on.set()
    streamer.join(60)
    assert 40 <= len(streamer.accepted) <= 200, "a was not killed mid-stream"
    a.start()

    wait_for(lambda: a.pending() == 0, what="a's outbox drains after its restart")
    got = texts(b, a.did)
    assert len(got) == len(set(got)), "a note arrived twice"
    assert set(streamer.accepted) <= set(got), "a lost a note it had answered 202 for"
    assert got == streamer.attempted[: len(got)], "unexpected or reordered notes"


# -- behind NAT ------------------------------------------------------------------------------------


def test_node_behind_nat_is_answered_over_its_own_socket(nodes: NodeFactory) -> None:
    shop = nodes.create("shop", "vendor")
    hidden = nodes.create("hidden", "person", run_args=["--listen", "none"])
    assert hidden.status()["endpoints"] == []
    assert "peer.disabled" in hidden.log()

    connect(hidden, invite(shop))
    wait_for(lambda: is_connected(shop, hidden))
    card_seen_by_shop = shop.peer(hidden.did)
    assert card_seen_by_shop is not None and card_seen_by_shop["online"]

    replies = [f"your order #{i} shipped" for i in range(5)]
    for text in replies:
        send(shop, hidden.did, text)
    send(hidden, shop.did, "thanks")
    wait_for(lambda: has_texts(hidden, shop, replies), what="the vendor's notes behind NAT")
    wait_for(lambda: has_texts(shop, hidden, ["thanks"]))
    wait_for(lambda: shop.pending() == 0)
    assert not shop.log_lines("dial.failed"), "the vendor tried to dial a node behind NAT"


def test_node_behind_nat_redials_its_vendor_after_a_restart(nodes: NodeFactory) -> None:
    shop = nodes.create("shop", "vendor")
    hidden = nodes.create("hidden", "person", run_args=["--listen", "none"])
    connect(hidden, invite(shop))
    wait_for(lambda: is_connected(shop, hidden))

    assert shop.stop() == 0
    wait_for(lambda: offline(hidden, shop))
    shop.start()
    send(shop, hidden.did, "back in stock")

    # Nobody owes the vendor anything, yet the hidden node dials back: the vendor cannot.
    wait_for(lambda: texts(hidden) == ["back in stock"], what="the note queued after the restart")
    wait_for(lambda: shop.pending() == 0)


# -- ending ----------------------------------------------------------------------------------------


def test_end_reaches_the_peer_and_stops_further_notes(nodes: NodeFactory) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)

    ended = alice.api.post(peer_path(shop, "end"), {"reason": "moved away"})

    assert ended["state"] == "ended"
    assert ended["ended_reason"] == "moved away"

    def shop_sees_end() -> dict[str, Any] | None:
        peer = shop.peer(alice.did)
        return peer if peer and peer["state"] == "ended" else None

    seen = wait_for(shop_sees_end, what="the vendor learns the relationship ended")
    assert seen["ended_reason"] == "moved away"
    for sender, recipient in ((shop, alice), (alice, shop)):
        reply = sender.api.request("POST", peer_path(recipient, "notes"), {"text": "still there?"})
        assert reply.status == 409, reply
        assert reply.body["error"]["code"] == "local.node"
        assert "ended" in reply.body["error"]["message"]
    wait_for(lambda: alice.pending() == 0, what="the rel.end is acknowledged")
    assert texts(shop) == [] and texts(alice) == []


def test_end_reaches_a_peer_that_was_down(nodes: NodeFactory) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    assert shop.stop() == 0
    wait_for(lambda: offline(alice, shop))

    alice.api.post(peer_path(shop, "end"), {"reason": "closing my account"})
    wait_for(lambda: alice.pending() == 1, what="the signed rel.end waiting in the outbox")
    shop.start()

    wait_for(lambda: alice.pending() == 0, what="the rel.end is delivered after the restart")
    seen = shop.peer(alice.did)
    assert seen is not None
    assert (seen["state"], seen["ended_reason"]) == ("ended", "closing my account")


def test_second_invitation_from_a_connected_peer_changes_nothing(nodes: NodeFactory) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)

    again = connect(alice, invite(shop))  # she scanned the QR code again
    assert (again["peer"], again["state"]) == (shop.did, "connected")

    def live(node: Node, other: Node) -> int:
        return sum(p["peer"] == other.did and p["state"] == "connected" for p in node.peers())

    assert (live(alice, shop), live(shop, alice)) == (1, 1)
    alice.api.post(peer_path(shop, "end"), {"reason": "bye"})
    reply = alice.api.request("POST", peer_path(shop, "notes"), {"text": "still there?"})
    assert reply.status == 409
    wait_for(lambda: shop.peer(alice.did)["state"] == "ended")  # type: ignore[index]


# -- the local API ---------------------------------------------------------------------------------


def test_local_api_needs_the_token(nodes: NodeFactory) -> None:
    node = nodes.create("alice")
    for auth in (False, "not-the-token"):
        reply = node.api.request("GET", "/api/status", auth=auth)
        assert reply.status == 401
        assert reply.content_type.startswith("application/json")
        assert reply.body["error"]["code"] == "api.unauthorized"
        assert reply.body["error"]["message"]
    assert node.api.request("POST", "/api/invite", {}, auth=False).status == 401


def test_deeply_nested_json_is_a_bad_request(nodes: NodeFactory) -> None:
    """JSON nested past the parser's depth is a 400 like any bad body, not a 500 (issue 14)."""
    node = nodes.create("alice")
    headers = {"Authorization": f"Bearer {node.api.token}", "Content-Type": "application/json"}
    request = urllib.request.Request(
        node.api.base + "/api/invite", b"[" * 20_000, headers, method="POST"
    )

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=30)

    assert info.value.code == 400
    assert json.loads(info.value.read())["error"]["code"] == "local.usage"
    assert node.status()["did"] == node.did


def test_openapi_lists_every_route(nodes: NodeFactory) -> None:
    node = nodes.create("alice")
    reply = node.api.request("GET", "/api/openapi.json", auth=False)

    assert reply.status == 200
    document = reply.body
    assert isinstance(document, dict), "openapi.json is not JSON"
    assert document["openapi"].startswith("3.1")
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    app = create_api_app("token")
    served = {
        (route.resource.canonical, route.method)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    # The dashboard's pages (HTML for a browser, under /ui/) are not the JSON API.
    pages = {(path, method) for path, method in served if path.startswith("/ui/")}
    assert pages, "the dashboard is mounted on the local API"
    assert served - pages == documented


def test_remote_api_address_is_refused_without_the_flag(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_amity("init", "--home", home, "--name", "x").returncode == 0

    result = run_amity("run", "--home", home, "--no-mdns", "--api", "0.0.0.0:0", timeout=30)

    assert result.returncode == 1
    assert "--allow-remote-api" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (home / "api.address").exists()


def test_second_node_on_the_same_home_is_refused(nodes: NodeFactory) -> None:
    node = nodes.create("alice")

    result = run_amity("run", "--home", node.home, "--no-mdns", timeout=30)

    assert result.returncode == 1
    assert "another amity node" in result.stderr
    assert str(node.proc.pid) in result.stderr  # type: ignore[union-attr]
    assert node.status()["did"] == node.did  # the first one is untouched
    assert (node.home / "api.address").exists()


# -- the CLI against a running node ----------------------------------------------------------------


def test_cli_status_and_peers(nodes: NodeFactory) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)

    status = run_amity("status", "--home", alice.home, "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["did"] == alice.did
    assert data["peers_online"] == [shop.did]
    assert data["relationships"] == 1

    peers = run_amity("peers", "--home", shop.home, "--json")
    assert peers.returncode == 0, peers.stderr
    (peer,) = json.loads(peers.stdout)["peers"]
    assert (peer["peer"], peer["state"], peer["name"]) == (alice.did, "connected", "alice")

    human = run_amity("peers", "--home", shop.home)
    assert human.returncode == 0 and "alice" in human.stdout and "connected" in human.stdout


def test_cli_status_without_a_running_node(nodes: NodeFactory, tmp_path: Path) -> None:
    node = nodes.create("alice", start=False)

    result = run_amity("status", "--home", node.home)
    assert result.returncode == 1
    assert "amity run" in result.stderr
    assert "Traceback" not in result.stderr

    as_json = run_amity("status", "--home", node.home, "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["error"]["code"] == "cli.node_not_running"

    nowhere = run_amity("status", "--home", tmp_path / "nothing-here")
    assert nowhere.returncode == 1
    assert "amity init" in nowhere.stderr


def test_cli_status_after_kill_9(nodes: NodeFactory) -> None:
    node = nodes.create("alice")
    node.kill()  # leaves a stale api.address behind

    result = run_amity("status", "--home", node.home)

    assert result.returncode == 1
    assert "amity run" in result.stderr
    assert "Traceback" not in result.stderr
    node.start()  # and a restart over the stale file works
    assert node.status()["did"] == node.did
