"""Transports: the small interface links run over, and the in-memory one tests share.

A :class:`Connection` carries whole binary messages in order, both ways; a :class:`Dialer` opens one
to an endpoint. The real transport is aiohttp WebSocket (amity.node.net.websocket); the in-memory
one here connects nodes in one event loop with no sockets, so link logic is tested on its own.
Library and OS errors are mapped to :class:`TransportError` at this boundary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Final, Protocol

from amity.protocol.session import MAX_FRAME_BYTES

__all__ = [
    "TransportError",
    "TransportClosed",
    "Connection",
    "Dialer",
    "ConnectionHandler",
    "MemoryNetwork",
    "MemoryConnection",
]


class TransportError(Exception):
    """Could not reach a peer, or the connection broke; the message names the endpoint."""

    code = "transport.error"


class TransportClosed(TransportError):
    """The other side closed the connection (or we did)."""

    code = "transport.closed"


class Connection(Protocol):
    """An ordered, reliable, message-framed byte pipe to one remote endpoint."""

    @property
    def remote(self) -> str: ...

    async def send(self, data: bytes) -> None: ...

    async def receive(self) -> bytes:
        """The next whole message; raises TransportClosed when the connection ends."""
        ...

    async def close(self) -> None: ...


class Dialer(Protocol):
    async def dial(self, endpoint: str) -> Connection: ...


ConnectionHandler = Callable[[Connection], Coroutine[Any, Any, None]]
_CLOSED: Final = b""


class MemoryConnection:
    """One end of an in-memory connection: two queues, no sockets.

    It carries messages of at most MAX_FRAME_BYTES, as the WebSocket does: a longer one breaks
    the connection at the receiving end (WebSocket close code 1009), so a framing bug shows here
    as it would on the wire.
    """

    __slots__ = ("_closed", "_inbox", "_peer", "remote")

    def __init__(self, remote: str) -> None:
        self.remote = remote
        self._inbox: asyncio.Queue[bytes | TransportError | None] = asyncio.Queue()
        self._peer: MemoryConnection | None = None
        self._closed = False

    async def send(self, data: bytes) -> None:
        peer = self._peer
        if self._closed or peer is None or peer._closed:
            raise TransportClosed(f"connection to {self.remote} is closed")
        if len(data) > MAX_FRAME_BYTES:
            # What the WebSocket receiver does: refuse it and close; the sender hears the close.
            peer._inbox.put_nowait(
                TransportError(f"a message of {len(data)} bytes exceeds {MAX_FRAME_BYTES}")
            )
            return
        peer._inbox.put_nowait(bytes(data))

    async def receive(self) -> bytes:
        if self._closed:
            raise TransportClosed(f"connection to {self.remote} is closed")
        data = await self._inbox.get()
        if isinstance(data, TransportError):  # the peer sent too much: close on it
            await self.close()
            raise data
        if data is None:
            self._closed = True
            raise TransportClosed(f"{self.remote} closed the connection")
        return data

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._peer is not None:
            self._peer._inbox.put_nowait(None)
        self._inbox.put_nowait(None)


class MemoryNetwork:
    """Endpoints ``mem://name`` in one event loop; what the link tests dial."""

    def __init__(self) -> None:
        self._listeners: dict[str, ConnectionHandler] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def listen(self, endpoint: str, handler: ConnectionHandler) -> None:
        self._listeners[endpoint] = handler

    def unlisten(self, endpoint: str) -> None:
        self._listeners.pop(endpoint, None)

    async def dial(self, endpoint: str) -> Connection:
        handler = self._listeners.get(endpoint)
        if handler is None:
            raise TransportError(f"nothing listens at {endpoint}")
        ours, theirs = MemoryConnection(endpoint), MemoryConnection("mem://dialer")
        ours._peer, theirs._peer = theirs, ours
        task = asyncio.get_running_loop().create_task(handler(theirs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return ours

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
