"""Both transports carry a full frame (one Noise message, 65535 bytes) and refuse one byte more.

The WebSocket is a real aiohttp server and client on 127.0.0.1; the in-memory transport, which
the link tests share, must draw the line at the same byte so a framing bug shows there too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from amity.node.net.transport import Connection, MemoryNetwork, TransportClosed, TransportError
from amity.node.net.websocket import WS_PATH, WebSocketDialer, accept_websocket
from amity.protocol.session import MAX_FRAME_BYTES


@pytest.fixture
async def websocket_pair() -> AsyncIterator[tuple[Connection, Connection]]:
    """(client end, server end) of one real WebSocket."""
    served: asyncio.Queue[Connection] = asyncio.Queue()
    done = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        ws, connection = await accept_websocket(request)
        served.put_nowait(connection)
        await done.wait()
        return ws

    app = web.Application()
    app.router.add_get(WS_PATH, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as session:
        client = await WebSocketDialer(session).dial(f"ws://127.0.0.1:{port}{WS_PATH}")
        server = await asyncio.wait_for(served.get(), 10)
        yield client, server
        done.set()
        await client.close()
    await runner.cleanup()


@pytest.fixture
async def memory_pair() -> AsyncIterator[tuple[Connection, Connection]]:
    net = MemoryNetwork()
    served: asyncio.Queue[Connection] = asyncio.Queue()
    done = asyncio.Event()

    async def handler(connection: Connection) -> None:
        served.put_nowait(connection)
        await done.wait()

    net.listen("mem://server", handler)
    client = await net.dial("mem://server")
    server = await asyncio.wait_for(served.get(), 10)
    yield client, server
    done.set()
    await net.aclose()


@pytest.fixture(params=["websocket", "memory"])
def pair(
    request: pytest.FixtureRequest,
) -> tuple[Connection, Connection]:
    value: tuple[Connection, Connection] = request.getfixturevalue(f"{request.param}_pair")
    return value


async def test_a_full_frame_crosses_both_ways(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    full = bytes(range(256)) * (MAX_FRAME_BYTES // 256) + bytes(MAX_FRAME_BYTES % 256)
    await client.send(full)
    assert await asyncio.wait_for(server.receive(), 10) == full
    await server.send(full)
    assert await asyncio.wait_for(client.receive(), 10) == full


async def test_one_byte_more_breaks_the_connection(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    await client.send(bytes(MAX_FRAME_BYTES + 1))
    with pytest.raises(TransportError) as refused:
        await asyncio.wait_for(server.receive(), 10)
    assert not isinstance(refused.value, TransportClosed)  # the peer's fault, not a clean close
    with pytest.raises(TransportClosed):
        await asyncio.wait_for(client.receive(), 10)
