"""The real transport: binary WebSocket messages over aiohttp, both directions.

A node behind NAT dials out and keeps the socket; the other side answers over it, so both ends
wrap their socket in the same :class:`WebSocketConnection`. aiohttp and OS errors become
amity.node.net.transport errors here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from typing import Final

import aiohttp
from aiohttp import web

from amity.node.net.transport import TransportClosed, TransportError
from amity.protocol.session import MAX_FRAME_BYTES

__all__ = ["WS_PATH", "WebSocketConnection", "WebSocketDialer", "accept_websocket"]

WS_PATH: Final = "/amity/v1/ws"
#: One Noise message per WebSocket message, never more; a full frame is exactly MAX_FRAME_BYTES.
#: aiohttp refuses (close code 1009) a message of ``max_msg_size`` bytes *or more*, so its bound
#: is one past the largest message we must take. See spec/link.md §7.
_MAX_WS_MESSAGE: Final = MAX_FRAME_BYTES + 1
_HEARTBEAT_S: Final = 20.0
#: How long closing an inbound WebSocket waits for the peer's close frame (aiohttp: 10 s). A
#: stranger that fails its handshake and never answers the close would hold its slot that long.
_CLOSE_WAIT_S: Final = 2.0
_DIAL_TIMEOUT_S: Final = 10.0


class WebSocketConnection:
    """A Connection over an aiohttp WebSocket (server or client side)."""

    __slots__ = ("_ws", "remote")

    def __init__(
        self, ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse, remote: str
    ) -> None:
        self._ws = ws
        self.remote = remote

    async def send(self, data: bytes) -> None:
        if self._ws.closed:
            raise TransportClosed(f"connection to {self.remote} is closed")
        try:
            await self._ws.send_bytes(data)
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            raise TransportClosed(f"connection to {self.remote} broke: {exc}") from None

    async def receive(self) -> bytes:
        try:
            message = await self._ws.receive()
        except (ConnectionError, aiohttp.ClientError) as exc:
            raise TransportClosed(f"connection to {self.remote} broke: {exc}") from None
        if message.type is aiohttp.WSMsgType.BINARY:
            data: bytes = message.data
            return data
        if message.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
        ):
            raise TransportClosed(f"{self.remote} closed the connection")
        if message.type is aiohttp.WSMsgType.ERROR:
            # aiohttp reports a peer's protocol violation (e.g. a message over the size limit,
            # close code 1009) this way: that is the peer's fault, not a clean close.
            raise TransportError(
                f"{self.remote} broke the WebSocket protocol: {self._ws.exception()}"
            )
        await self.close()
        raise TransportError(f"{self.remote} sent a {message.type.name} frame; amity speaks binary")

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError, aiohttp.ClientError, RuntimeError):
            await self._ws.close()  # already gone: nothing left to close


async def accept_websocket(
    request: web.Request,
) -> tuple[web.WebSocketResponse, WebSocketConnection]:
    """Upgrade an incoming request to an amity WebSocket."""
    ws = web.WebSocketResponse(
        max_msg_size=_MAX_WS_MESSAGE, heartbeat=_HEARTBEAT_S, timeout=_CLOSE_WAIT_S
    )
    await ws.prepare(request)
    remote = f"{request.remote or '?'} (inbound)"
    return ws, WebSocketConnection(ws, remote)


class WebSocketDialer:
    """Dials ``ws://`` and ``wss://`` endpoints with one shared aiohttp ClientSession."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def dial(self, endpoint: str) -> WebSocketConnection:
        if not endpoint.startswith(("ws://", "wss://")):
            raise TransportError(f"cannot dial {endpoint}: only ws:// and wss:// are supported")
        try:
            async with asyncio.timeout(_DIAL_TIMEOUT_S):
                ws = await self._session.ws_connect(
                    endpoint, max_msg_size=_MAX_WS_MESSAGE, heartbeat=_HEARTBEAT_S
                )
        except TimeoutError:
            raise TransportError(
                f"no answer from {endpoint} within {_DIAL_TIMEOUT_S:.0f} s"
            ) from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise TransportError(_why_not(endpoint, exc)) from None
        return WebSocketConnection(ws, endpoint)


def _why_not(endpoint: str, exc: BaseException) -> str:
    """Why ``endpoint`` could not be dialled, in plain words (not aiohttp's own text)."""
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"{endpoint} answered, but not as an amity node (HTTP {exc.status})"
    cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
    if isinstance(cause, socket.gaierror):
        return f"cannot find the host of {endpoint} (a name the network does not know)"
    if isinstance(cause, ConnectionRefusedError):
        return f"nothing listens at {endpoint} (connection refused): is the node running?"
    if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"cannot reach {endpoint}: no route to that address from here"
    if isinstance(exc, ValueError):
        return f"{endpoint} is not an address that can be dialled"
    return f"cannot reach {endpoint} ({type(cause).__name__})"
