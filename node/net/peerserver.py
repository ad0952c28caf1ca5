"""The peer endpoint: what other nodes reach (WebSocket sessions, our public card).

Separate from the local API (different port, no token: peers prove themselves in the Noise
handshake instead). Connections are admitted, timed and budgeted at TCP accept by
amity.node.net.admission; this app tells the admission when a request head is in and when a
handshake proved a known peer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from amity.node.daemon import Node
from amity.node.logs import log_event
from amity.node.net.admission import Admission
from amity.node.net.limits import Limits
from amity.node.net.transport import Connection
from amity.node.net.websocket import WS_PATH, accept_websocket
from amity.protocol.errors import AmityError
from amity.protocol.sealed import MAX_SEALED_BYTES

__all__ = ["NODE_KEY", "CARD_PATH", "INBOX_PATH", "INTENTS_PATH", "create_peer_app"]

_log = logging.getLogger("amity.peer")
NODE_KEY: Final = web.AppKey("node", Node)
CARD_PATH: Final = "/amity/v1/card"
INBOX_PATH: Final = "/amity/v1/inbox"
#: A hub's pseudonymous links (casters under an intent key).
INTENTS_PATH: Final = "/amity/v1/intents"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_peer_app(
    node: Node,
    admission: Admission | None = None,
    *,
    intents: Callable[[Connection, float], Awaitable[None]] | None = None,
) -> web.Application:
    """The peer-facing aiohttp application for ``node`` (``admission``: the site's budget;
    ``intents``: a hub's server of pseudonymous links, spec/intents.md §7.5)."""
    guard = admission or Admission(Limits())
    limits = guard.limits

    @web.middleware
    async def headers_in(request: web.Request, handler: Handler) -> web.StreamResponse:
        guard.headers_in(request.protocol)
        return await handler(request)

    app = web.Application(client_max_size=MAX_SEALED_BYTES + 1024, middlewares=[headers_in])
    app[NODE_KEY] = node

    async def websocket(request: web.Request) -> web.StreamResponse:
        ws, connection = await accept_websocket(request)
        await request.app[NODE_KEY].accept(
            connection,
            handshake_timeout_s=limits.handshake_timeout_s,
            on_known=lambda: guard.known(request.protocol),
        )
        return ws

    async def card(request: web.Request) -> web.Response:
        return web.Response(
            body=request.app[NODE_KEY].card().encoded, content_type="application/octet-stream"
        )

    async def inbox(request: web.Request) -> web.Response:
        node = request.app[NODE_KEY]
        try:
            async with asyncio.timeout(limits.body_timeout_s):
                data = await request.read()
        except TimeoutError:
            log_event(_log, "peer.body_timeout", remote=request.remote)
            raise web.HTTPRequestTimeout(text="the body did not arrive in time\n") from None
        try:
            envelope = await node.deliver_sealed(data)
        except AmityError as exc:
            node.rejected += 1
            log_event(_log, "inbox.rejected", logging.WARNING, remote=request.remote, code=exc.code)
            body = json.dumps({"error": {"code": exc.code, "message": exc.message}})
            return web.Response(status=422, text=body, content_type="application/json")
        return web.json_response({"stored": True, "seq": envelope.seq})

    async def intents_link(request: web.Request) -> web.StreamResponse:
        assert intents is not None
        ws, connection = await accept_websocket(request)
        await intents(connection, limits.handshake_timeout_s)  # a stranger, and stays one
        return ws

    app.router.add_get(WS_PATH, websocket)
    if intents is not None:
        app.router.add_get(INTENTS_PATH, intents_link)
    app.router.add_post(INBOX_PATH, inbox)
    app.router.add_get(CARD_PATH, card)
    return app
