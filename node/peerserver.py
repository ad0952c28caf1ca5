"""The peer endpoint: what other nodes reach (WebSocket sessions, our public card).

Separate from the local API (different port, no token: peers prove themselves in the Noise
handshake instead). Per-address limits keep one noisy peer from crowding out the rest.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Final

from aiohttp import web

from amity.node.daemon import Node
from amity.node.logs import log_event
from amity.node.websocket import WS_PATH, accept_websocket
from amity.protocol.errors import AmityError
from amity.protocol.sealed import MAX_SEALED_BYTES

__all__ = ["NODE_KEY", "CARD_PATH", "INBOX_PATH", "create_peer_app"]

_log = logging.getLogger("amity.peer")
NODE_KEY: Final = web.AppKey("node", Node)
CARD_PATH: Final = "/amity/v1/card"
INBOX_PATH: Final = "/amity/v1/inbox"
#: Simultaneous WebSocket sessions from one remote address.
MAX_SESSIONS_PER_ADDRESS: Final = 64


def create_peer_app(node: Node) -> web.Application:
    """The peer-facing aiohttp application for ``node``."""
    app = web.Application(client_max_size=MAX_SEALED_BYTES + 1024)
    app[NODE_KEY] = node
    counts: defaultdict[str, int] = defaultdict(int)

    async def websocket(request: web.Request) -> web.StreamResponse:
        remote = request.remote or "?"
        if counts[remote] >= MAX_SESSIONS_PER_ADDRESS:
            log_event(_log, "peer.too_many_sessions", logging.WARNING, remote=remote)
            raise web.HTTPTooManyRequests(text="too many sessions from this address\n")
        counts[remote] += 1
        try:
            ws, connection = await accept_websocket(request)
            await request.app[NODE_KEY].accept(connection)
            return ws
        finally:
            counts[remote] -= 1

    async def card(request: web.Request) -> web.Response:
        return web.Response(
            body=request.app[NODE_KEY].card().encoded, content_type="application/octet-stream"
        )

    async def inbox(request: web.Request) -> web.Response:
        node = request.app[NODE_KEY]
        data = await request.read()
        try:
            envelope = await node.deliver_sealed(data)
        except AmityError as exc:
            node.rejected += 1
            log_event(_log, "inbox.rejected", logging.WARNING, remote=request.remote, code=exc.code)
            body = json.dumps({"error": {"code": exc.code, "message": exc.message}})
            return web.Response(status=422, text=body, content_type="application/json")
        return web.json_response({"stored": True, "seq": envelope.seq})

    app.router.add_get(WS_PATH, websocket)
    app.router.add_post(INBOX_PATH, inbox)
    app.router.add_get(CARD_PATH, card)
    return app
