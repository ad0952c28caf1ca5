"""What the local API application holds, by key (aiohttp's typed app keys), for every route module."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from amity.node.daemon import Node
from amity.node.net.discovery import Discovery

__all__ = ["DISCOVERY", "NODE", "TOKEN"]

NODE: Final = web.AppKey("node", Node)
TOKEN: Final = web.AppKey("token", str)
#: Set by the runner when LAN discovery is on.
DISCOVERY: Final = web.AppKey("discovery", Discovery)
