"""The dashboard's live stream, in-process: one real node (the runner's app, a SQLite home)
behind aiohttp's test server on 127.0.0.1. A signed-in page hears that something changed (the
kind only, with the dashboard's headers); without a session it hears nothing; signing out ends
the stream. What the page then does with it is tested in a real browser (test_browser.py)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from amity.node.home import Config, Home
from amity.node.runner import RunOptions, create_app
from amity.node.ui.guard import CSP
from amity.protocol.card import NodeKind

_WAIT_S = 30.0  # a bound on a hang, not a measurement


class Her:
    def __init__(self, client: TestClient[Any, Any], token: str) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"}
        self.origin = f"http://127.0.0.1:{client.port}"

    async def sign_in(self) -> None:
        made = await self.client.post("/api/ui/login", headers=self.auth)
        path = (await made.json())["path"]
        assert (await self.client.get(path)).status == 200

    async def set_field(self, value: str) -> None:
        """A change on her node (an event on its bus), made through the local API."""
        put = await self.client.put(
            "/api/vault/email", json={"type": "email", "value": value}, headers=self.auth
        )
        assert put.status == 200, await put.text()


@pytest.fixture
async def her(tmp_path: Path) -> AsyncIterator[Her]:
    home = Home(tmp_path / "alice")
    config = Config(name="Alice", kind=NodeKind.PERSON, mdns=False)
    seed = home.create(config)
    options = RunOptions(listen=None, api="127.0.0.1:0", mdns=False, relay=False)
    server = TestServer(create_app(home, config, seed, options), host="127.0.0.1")
    async with TestClient(server) as client:
        yield Her(client, home.api_token())


async def _next_frame(stream: ClientResponse) -> bytes:
    """The next event of the stream, heartbeats skipped; b"" once it ends."""
    frame = b""
    while True:
        line = await asyncio.wait_for(stream.content.readline(), _WAIT_S)
        if not line:
            return frame
        if line == b"\n":
            if frame:
                return frame
            continue
        if not line.startswith(b":"):
            frame += line


async def test_a_signed_in_page_hears_what_kind_of_thing_changed_and_nothing_more(
    her: Her,
) -> None:
    await her.sign_in()
    stream = await her.client.get("/ui/events")
    assert stream.status == 200
    assert stream.headers["Content-Type"] == "text/event-stream"
    assert stream.headers["Content-Security-Policy"] == CSP
    assert stream.headers["Cache-Control"] == "no-store"

    await her.set_field("alice@example.org")

    assert await _next_frame(stream) == b"event: change\ndata: vault.changed\n"
    stream.close()


async def test_without_a_session_the_stream_is_refused(her: Her) -> None:
    reply = await her.client.get("/ui/events")

    assert reply.status == 401
    assert "Not signed in" in await reply.text()


async def test_signing_out_ends_the_stream_before_it_says_anything_more(her: Her) -> None:
    await her.sign_in()
    stream = await her.client.get("/ui/events")
    out = await her.client.post("/ui/logout", headers={"Origin": her.origin})
    assert out.status == 200

    await her.set_field("alice@example.org")

    assert await _next_frame(stream) == b""


async def test_a_page_that_subscribes_late_hears_at_once_that_it_missed_a_change(her: Her) -> None:
    await her.sign_in()
    text = await (await her.client.get("/ui/vault")).text()
    since = re.search(r'<main id="main" data-live="(\d+)">', text)
    assert since is not None, "a live page says which event it was made at"

    await her.set_field("alice@example.org")  # before the page's script subscribes
    late = await her.client.get(f"/ui/events?since={since[1]}")
    # A page made after that event (the bus's next id was that one).
    fresh = await her.client.get(f"/ui/events?since={int(since[1]) + 1}")

    assert await _next_frame(late) == b"event: change\ndata: missed\n"
    await her.set_field("alice@example.net")
    assert await _next_frame(fresh) == b"event: change\ndata: vault.changed\n"
