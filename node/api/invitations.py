"""The local API's invitations: the ones this node issued that nobody has used yet.

An invitation someone used becomes a relationship (``/api/peers``); until then it is listed
here, open, expired or withdrawn, by an id derived from its secret (the secret never shows).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from amity.node.api.jsonio import error_response
from amity.node.api.keys import NODE
from amity.node.daemon import Node
from amity.node.logs import log_event
from amity.protocol.core import commands
from amity.protocol.errors import format_time_ms
from amity.protocol.relationship import Relationship, RelationshipState, Role

__all__ = ["add_invitations_routes", "invitation_json", "make_invitation", "unused_invitations"]

_log = logging.getLogger("amity.api")

#: The shortest id prefix taken (like the terms' and the grants' ids).
_MIN_PREFIX = 4


def _unused(node: Node) -> list[Relationship]:
    return [r for r in node.book.all() if r.role is Role.INVITER and r.peer is None]


def unused_invitations(node: Node) -> list[dict[str, Any]]:
    """The invitations nobody used yet, newest first, as the API shows them."""
    found = sorted(_unused(node), key=lambda r: r.created_ms, reverse=True)
    return [invitation_json(r) for r in found]


async def make_invitation(node: Node, ttl_ms: int) -> dict[str, Any]:
    """A new one-time invitation: its id, the ``amity:`` URI, the text for a QR code, expiry."""
    card = await node.invite(ttl_ms)
    uri = card.to_uri()
    log_event(_log, "api.invite")
    return {
        "id": commands.invitation_id(card.invite_secret or b""),
        "uri": uri,
        # Upper case: a QR code holds it in alphanumeric mode, a smaller code (the URI reads
        # the same in either case).
        "qr_text": uri.upper(),
        "expires": format_time_ms(card.not_after_ms),
    }


def invitation_json(rel: Relationship) -> dict[str, Any]:
    # Unused (no peer yet), an invitation is INVITED or ENDED: a dial that reaches the
    # handshake names its peer.
    if rel.state is RelationshipState.ENDED:
        state = "withdrawn" if rel.ended_reason == commands.REASON_WITHDRAWN else "expired"
    else:
        state = "open"
    return {
        "id": commands.invitation_id(rel.invite_secret),
        "state": state,
        "created": format_time_ms(rel.created_ms),
        "expires": format_time_ms(rel.invite_expires_ms),
        "ended": format_time_ms(rel.since_ms) if rel.state is RelationshipState.ENDED else None,
    }


async def invitations(request: web.Request) -> web.Response:
    return web.json_response({"invitations": unused_invitations(request.app[NODE])})


async def withdraw(request: web.Request) -> web.Response:
    node = request.app[NODE]
    prefix = request.match_info["id"].lower()
    if len(prefix) < _MIN_PREFIX:
        raise error_response(
            web.HTTPBadRequest, "api.bad_request", "give at least 4 hex digits of the id"
        )
    found = [r for r in _unused(node) if commands.invitation_id(r.invite_secret).startswith(prefix)]
    if not found:
        raise error_response(
            web.HTTPNotFound, "local.not_found", f"no invitation {prefix}; `amity invitations`"
        )
    if len(found) > 1:
        raise error_response(
            web.HTTPConflict, "local.ambiguous", f"{len(found)} invitations start with {prefix}"
        )
    (rel,) = await node.steps.transitions(commands.withdraw_invitation(found[0], node.clock_ms()))
    return web.json_response(invitation_json(rel))


def add_invitations_routes(app: web.Application) -> None:
    app.router.add_get("/api/invitations", invitations)
    app.router.add_delete("/api/invitations/{id}", withdraw)
