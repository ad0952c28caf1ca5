"""The peer endpoint: what other nodes reach (WebSocket sessions, our public card).

Separate from the local API (different port, no token: peers prove themselves in the Noise
handshake instead). Per-address limits keep one noisy peer from crowding out the rest.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Final

from aiohttp import web

from amity.node.daemon import Node
from amity.node.logs import log_event
from amity.node.websocket import WS_PATH, accept_websocket

__all__ = ["NODE_KEY", "CARD_PATH", "create_peer_app"]

_log = logging.getLogger("amity.peer")
NODE_KEY: Final = web.AppKey("node", Node)
CARD_PATH: Final = "/amity/v1/card"
#: Simultaneous WebSocket sessions from one remote address.
MAX_SESSIONS_PER_ADDRESS: Final = 64


def create_peer_app(node: Node) -> web.Application:
    """The peer-facing aiohttp application for ``node``."""
    app = web.Application(client_max_size=64 * 1024)
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

    app.router.add_get(WS_PATH, websocket)
    app.router.add_get(CARD_PATH, card)
    return app
