"""A CRM's webhook receiver for the tests: a real aiohttp server on 127.0.0.1, in a thread of its
own, that checks every request's signature with its own few lines of HMAC (not amity's code:
spec/webhooks.md as another implementation would read it) and keeps what came."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["Got", "Receiver", "free_port", "signature_ok"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def signature_ok(secret: str, msg_id: str, timestamp: str, header: str, body: bytes) -> bool:
    """Standard Webhooks, checked from scratch: any ``v1,`` entry equal to base64 HMAC-SHA256
    over ``id.timestamp.body``, keyed with the base64 after ``whsec_``."""
    key = base64.b64decode(secret.strip().removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(entry, expected) for entry in header.split(" "))


@dataclass(frozen=True, slots=True)
class Got:
    """One request: its three headers, its body, whether the signature held, what we answered."""

    msg_id: str
    timestamp: str
    signature: str
    body: bytes
    verified: bool
    status: int

    @property
    def event(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


class Receiver:
    """POST /hook: 401 if the signature does not hold, 500 for the first ``fail_first`` good
    ones, else 204 (and the webhook-id counts as taken)."""

    def __init__(self, *, port: int | None = None, fail_first: int = 0) -> None:
        self.port = port or free_port()
        self.secret = ""
        self.fail_first = fail_first
        self.got: list[Got] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="crm", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), loop).result(30)

    def stop(self) -> None:
        loop, thread, runner = self._loop, self._thread, self._runner
        if loop is None or thread is None:
            return
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
        self._loop = self._thread = self._runner = None

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._take)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.read()
        h = request.headers
        msg_id = h.get("webhook-id", "")
        timestamp = h.get("webhook-timestamp", "")
        signature = h.get("webhook-signature", "")
        verified = bool(self.secret) and signature_ok(
            self.secret, msg_id, timestamp, signature, body
        )
        with self._lock:
            good = sum(1 for g in self.got if g.verified)
            status = 401 if not verified else 500 if good < self.fail_first else 204
            self.got.append(Got(msg_id, timestamp, signature, body, verified, status))
        return web.Response(status=status)

    def taken(self) -> list[Got]:
        """The requests answered 204, in order."""
        with self._lock:
            return [g for g in self.got if g.status == 204]

    def all(self) -> list[Got]:
        with self._lock:
            return list(self.got)
