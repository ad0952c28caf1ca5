"""The dashboard, live: ``GET /ui/events`` tells an open page that something changed.

A signed-in page's script (static/live.js) listens here and, on a change, fetches its own page
again and swaps in the new ``<main>``; without the script every page still works with a reload.
What goes down this stream is only *that* something happened and its kind (``grant.revoked``):
the page it refreshes reads the facts through the session like any other page, so the stream
itself carries nothing of hers.

A page is rendered at some event id (``data-live`` on its ``<main>``) and subscribes a moment
later, with ``?since=`` that id: if anything happened in between (a receipt that came while the
browser followed a redirect), the stream says so at once, so no page stays out of date.

The stream follows the node's event bus (the same one ``/api/events`` serves to scripts) and
ends when the node stops, or when the session that opened it ends (sign-out or its time), at the
latest one heartbeat after. The heartbeat (a comment line every ``HEARTBEAT_S``) is also how a
page that was closed is noticed: its write fails and the subscription goes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from aiohttp import web

from amity.node.api.keys import NODE
from amity.node.ui.guard import secure, session_of

__all__ = ["HEARTBEAT_S", "events"]

#: How often a quiet stream says it is still there (seconds).
HEARTBEAT_S: Final = 15.0


def _frame(kind: str) -> bytes:
    # An event's kind is a fixed dotted name of the node's (node/events.py), never her data.
    return f"event: change\ndata: {kind}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    """What changed on this node, as server-sent events, while this page's session lasts."""
    response = secure(web.StreamResponse(headers={"Content-Type": "text/event-stream"}))
    await response.prepare(request)
    bus = request.config_dict[NODE].events
    stream = bus.subscribe()
    since = request.query.get("since", "")
    if since.isdecimal() and bus.last_id > int(since):  # it changed after the page was made
        await response.write(_frame("missed"))
    following: asyncio.Future[dict[str, object]] = asyncio.ensure_future(anext(stream))
    try:
        while True:
            done, _ = await asyncio.wait({following}, timeout=HEARTBEAT_S)
            if session_of(request) is None:  # signed out, or its time is up: nothing more
                break
            if not done:
                await response.write(b": still here\n\n")
                continue
            try:
                event = following.result()
            except StopAsyncIteration:  # the node is stopping
                break
            await response.write(_frame(str(event["kind"])))
            following = asyncio.ensure_future(anext(stream))
    except ConnectionResetError:  # the page went away
        pass
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await following
        await stream.aclose()
    return response
