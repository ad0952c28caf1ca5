"""Why a dial failed, in plain words: a real aiohttp client against real sockets on loopback."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from aiohttp import web

from amity.node.net.transport import TransportError
from amity.node.net.websocket import WebSocketDialer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_closed_port_says_nothing_listens() -> None:
    endpoint = f"ws://127.0.0.1:{_free_port()}/amity/v1/ws"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(TransportError) as caught:
            await WebSocketDialer(session).dial(endpoint)
    assert str(caught.value) == (
        f"nothing listens at {endpoint} (connection refused): is the node running?"
    )


async def test_a_web_server_that_is_not_amity_says_so() -> None:
    runner = web.AppRunner(web.Application())  # no routes: every path is a 404
    await runner.setup()
    port = _free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        endpoint = f"ws://127.0.0.1:{port}/amity/v1/ws"
        async with aiohttp.ClientSession() as session:
            with pytest.raises(TransportError) as caught:
                await WebSocketDialer(session).dial(endpoint)
        assert str(caught.value) == f"{endpoint} answered, but not as an amity node (HTTP 404)"
    finally:
        await runner.cleanup()


async def test_an_unknown_host_says_the_network_does_not_know_it() -> None:
    endpoint = "ws://no-such-host.invalid:7700/amity/v1/ws"  # .invalid never resolves (RFC 2606)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(TransportError) as caught:
            await WebSocketDialer(session).dial(endpoint)
    assert str(caught.value).startswith("cannot find the host of ws://no-such-host.invalid")
