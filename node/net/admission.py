"""Who gets a connection on the peer port, and for how long (spec/link.md §7).

Connections are counted at TCP accept, before aiohttp reads a byte, so idle sockets and
slow header trickles count as much as WebSocket sessions. Each one starts as a *stranger*: it
must send its request headers within ``header_timeout_s``, and strangers share a small budget,
per remote address and in all. A full budget makes room by closing the oldest stranger of the
address that holds the most, so a flood ages out its own connections instead of locking the
port. A connection whose Noise handshake proves a peer we have a relationship with leaves the
strangers; only the overall budget (below the open-file limit) bounds those.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from amity.node.logs import log_event
from amity.node.net.limits import ACCEPT_BACKLOG, Limits

__all__ = ["Admission", "AdmittedSite"]

_log = logging.getLogger("amity.peer")


def _address(host: str) -> str:
    """The address a connection counts against: the IP, or its /64 for IPv6 (one subscriber's
    network, where a host can pick any of 2**64 addresses)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if ip.version == 6 and not ip.is_loopback:
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class _Guarded(asyncio.Protocol):
    """One accepted connection: forwards to aiohttp's protocol once admitted, enforces deadlines."""

    __slots__ = ("_admission", "_deadline", "inner", "known", "remote", "transport")

    def __init__(self, admission: Admission, inner: asyncio.Protocol) -> None:
        self._admission = admission
        self.inner = inner
        self.transport: asyncio.Transport | None = None
        self.remote = "?"
        self.known = False
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.remote = _address(str(peer[0])) if isinstance(peer, tuple) and peer else "?"
        if not self._admission.admit(self):
            self.transport = None
            transport.abort()
            return
        timeout_s = self._admission.limits.header_timeout_s
        self._deadline = asyncio.get_running_loop().call_later(timeout_s, self._too_slow)
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.headers_in()
        if self.transport is None:
            return  # refused at accept: aiohttp never saw it
        self.transport = None
        self._admission.release(self)
        self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def headers_in(self) -> None:
        """A whole request head arrived: the header deadline is met."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()  # connection_lost follows and releases the slot

    def _too_slow(self) -> None:
        self._deadline = None
        log_event(
            _log,
            "peer.header_timeout",
            remote=self.remote,
            timeout_s=self._admission.limits.header_timeout_s,
        )
        self.close()


class Admission:
    """The peer port's connection budget; see the module docstring for the rules."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.open = 0
        #: Stranger connections by remote address, oldest first (a dict as an ordered set).
        self._strangers: dict[str, dict[_Guarded, None]] = {}
        self._stranger_count = 0
        #: aiohttp's protocol object (``request.protocol``) -> our guard around it.
        self._by_inner: dict[object, _Guarded] = {}

    def protocol_factory(self, factory: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        """Wrap aiohttp's protocol factory (``runner.server``) so each connection is admitted."""

        def make() -> asyncio.Protocol:
            return _Guarded(self, factory())

        return make

    def admit(self, conn: _Guarded) -> bool:
        """Count a new connection in, making room by closing strangers; False: refuse it."""
        limits = self.limits
        same = self._strangers.get(conn.remote, {})
        if len(same) >= limits.max_strangers_per_address:
            self._evict(next(iter(same)), "address")
        if self._stranger_count >= limits.max_strangers:
            self._evict_one("strangers")
        if self.open >= limits.max_connections:
            if not self._stranger_count:
                log_event(_log, "peer.refused", logging.WARNING, remote=conn.remote, why="budget")
                return False
            self._evict_one("budget")
        self.open += 1
        self._strangers.setdefault(conn.remote, {})[conn] = None
        self._stranger_count += 1
        self._by_inner[conn.inner] = conn
        return True

    def release(self, conn: _Guarded) -> None:
        """The connection is gone (closed by either side)."""
        if self._by_inner.pop(conn.inner, None) is None:
            return  # already released (evicted)
        self.open -= 1
        self._forget_stranger(conn)

    def headers_in(self, inner: object) -> None:
        """aiohttp parsed a request head on this connection (``request.protocol``)."""
        conn = self._by_inner.get(inner)
        if conn is not None:
            conn.headers_in()

    def known(self, inner: object) -> None:
        """The connection carries a link with a peer we have a relationship with."""
        conn = self._by_inner.get(inner)
        if conn is not None and not conn.known:
            conn.known = True
            self._forget_stranger(conn)

    def _forget_stranger(self, conn: _Guarded) -> None:
        same = self._strangers.get(conn.remote)
        if same is not None and conn in same:
            del same[conn]
            self._stranger_count -= 1
            if not same:
                del self._strangers[conn.remote]

    def _evict_one(self, why: str) -> None:
        """Close the oldest stranger of the address with the most strangers."""
        crowd = max(self._strangers.values(), key=len)
        self._evict(next(iter(crowd)), why)

    def _evict(self, conn: _Guarded, why: str) -> None:
        log_event(_log, "peer.evicted", remote=conn.remote, why=why)
        self.release(conn)
        conn.close()


class AdmittedSite(web.BaseSite):
    """A TCP site like aiohttp's TCPSite, whose every connection goes through an Admission."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        admission: Admission,
        *,
        shutdown_timeout: float = 60.0,
    ) -> None:
        super().__init__(runner, shutdown_timeout=shutdown_timeout, backlog=ACCEPT_BACKLOG)
        self._host = host
        self._port = port
        self._admission = admission

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._admission.protocol_factory(server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )
