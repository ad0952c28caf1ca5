"""Which requests the local API takes at all: its own loopback Host, and its own Origin or none.

A web page can make a browser send requests to 127.0.0.1 (cross-site requests), and with DNS
rebinding a name the attacker controls can point at 127.0.0.1, so that a page is "same origin"
with the API. Both carry the page's name: a rebound request carries the attacker's name in
``Host``, a cross-site one the page's origin in ``Origin``. So every request, before its token is
even looked at, must name this listener in ``Host`` (an IP literal that is loopback or the
address the connection came in on, or ``localhost``, with the listener's port) and, if it
carries an ``Origin``, that must be the API's own (``http://`` + such a host + the port). On the
Unix socket, which no browser can reach, any Origin is refused.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from amity.node.api.jsonio import error_response

__all__ = ["loopback_only", "local_address"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_HTTP_PORT: Final = 80


def local_address(request: web.Request) -> object:
    """The listening address this request came in on: ``(ip, port, …)`` for TCP, a path for Unix."""
    transport = request.transport
    if transport is None:  # the client went away while the request was queued
        raise error_response(web.HTTPServiceUnavailable, "api.closed", "the connection is closed")
    return transport.get_extra_info("sockname")


def _split(text: str) -> tuple[str, int | None] | None:
    """``host[:port]`` (IPv6 in brackets) as (host, port); None if it is anything else."""
    try:
        parts = urllib.parse.urlsplit("//" + text)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username or parts.password or parts.path or parts.query:
        return None
    if parts.fragment or "//" + text != f"//{parts.netloc}":
        return None
    return parts.hostname, port


def _names_this_listener(host: str, port: int | None, local: object) -> bool:
    if isinstance(local, tuple):
        local_ip, local_port = ipaddress.ip_address(str(local[0]).split("%", 1)[0]), local[1]
        if (_HTTP_PORT if port is None else port) != local_port:
            return False
    else:
        local_ip = None  # a Unix socket: no port, and only loopback names
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name may be rebound to 127.0.0.1 by whoever owns it
    return ip.is_loopback or ip == local_ip


def _host_is_ours(header: str | None, local: object) -> bool:
    split = _split(header or "")
    return split is not None and _names_this_listener(*split, local)


def _origin_is_ours(header: str, local: object) -> bool:
    if not isinstance(local, tuple):
        return False
    scheme, _, rest = header.partition("://")
    if scheme.lower() != "http":
        return False
    split = _split(rest)
    return split is not None and _names_this_listener(*split, local)


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a foreign Host (421) or Origin (403) before anything else looks at the request."""
    local = local_address(request)
    if not _host_is_ours(request.headers.get("Host"), local):
        raise error_response(
            web.HTTPMisdirectedRequest,
            "api.bad_host",
            f"Host {request.headers.get('Host', '')!r:.100} does not name this API; it answers "
            "only to its loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT)",
        )
    origin = request.headers.get("Origin")
    if origin is not None and not _origin_is_ours(origin, local):
        raise error_response(
            web.HTTPForbidden,
            "api.bad_origin",
            f"Origin {origin!r:.100} is not this API's own; pages from other sites may not call it",
        )
    return await handler(request)
