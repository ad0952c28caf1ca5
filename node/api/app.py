"""The local API: HTTP + JSON on loopback, bearer token, OpenAPI at /api/openapi.json.

The CLI and any dashboard are clients of this API; nothing here is reachable by peers (they use
the peer endpoint). It listens on a Unix socket in the home (the CLI's way in) and on loopback
TCP (for a browser). Every request must name this listener in Host and Origin (guard.py);
a client asks for the API's proof of the token before it sends the token (proof.py). Every
error is ``{"error": {"code", "message"}}`` with a fitting status.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from amity.node.api.guard import local_address, loopback_only
from amity.node.api.invitations import add_invitations_routes, make_invitation
from amity.node.api.jsonio import error_response, json_body
from amity.node.api.keys import DISCOVERY, NODE, TOKEN
from amity.node.api.openapi import OPENAPI
from amity.node.api.proof import NONCE_BYTES, PROOF_PATH, channel_of, proof
from amity.node.api.relationships import relationship_json
from amity.node.beacons.api import add_beacon_routes
from amity.node.daemon import NodeError
from amity.node.delegation.api import add_delegation_routes
from amity.node.grants.api import add_grants_routes
from amity.node.grants.export import add_export_routes
from amity.node.intents.api import add_intents_routes
from amity.node.logs import log_event
from amity.node.loyalty.api import add_loyalty_routes
from amity.node.reputation.api import add_reputation_routes
from amity.node.store import StoreError
from amity.node.terms.api import add_terms_routes
from amity.node.things.api import add_things_routes
from amity.node.ui.app import UI_PREFIX, add_ui
from amity.node.webhooks.api import add_webhook_routes
from amity.protocol import PROTOCOL_VERSION, __version__
from amity.protocol.errors import AmityError, LocalError, NotFoundError, format_time_ms
from amity.protocol.identity import PeerId
from amity.protocol.notes import MSG_NOTE, decode_note

__all__ = ["DISCOVERY", "NODE", "TOKEN", "create_api_app", "relationship_json"]

_log = logging.getLogger("amity.api")
_PUBLIC_PATHS: Final = frozenset({"/api/openapi.json", PROOF_PATH})
_MAX_BODY: Final = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _auth_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    # The dashboard's pages take a session cookie instead (amity.node.ui.guard); no API path
    # starts with its prefix.
    if request.path not in _PUBLIC_PATHS and not request.path.startswith(UI_PREFIX):
        supplied = request.headers.get("Authorization", "")
        expected = f"Bearer {request.app[TOKEN]}"
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            raise error_response(
                web.HTTPUnauthorized,
                "api.unauthorized",
                "missing or wrong bearer token; the CLI reads it from the node's home directory",
            )
    try:
        return await handler(request)
    except NotFoundError as exc:
        raise error_response(web.HTTPNotFound, exc.code, exc.message) from None
    except NodeError as exc:
        raise error_response(web.HTTPConflict, exc.code, exc.message) from None
    except LocalError as exc:
        raise error_response(web.HTTPBadRequest, exc.code, exc.message) from None
    except AmityError as exc:  # a peer's data (card, URI) failed verification
        raise error_response(web.HTTPUnprocessableEntity, exc.code, exc.message) from None
    except StoreError as exc:  # the database is away (PostgreSQL restarting): say so, no trace
        log_event(_log, "api.store_unavailable", logging.WARNING, path=request.path, why=str(exc))
        raise error_response(
            web.HTTPServiceUnavailable,
            exc.code,
            f"the node's database cannot be reached now ({exc}); try again in a moment",
        ) from None


def _peer(request: web.Request) -> PeerId:
    text = request.match_info["peer"]
    try:
        return PeerId.from_did(text)
    except AmityError as exc:
        raise error_response(
            web.HTTPBadRequest, exc.code, f"{text!r} is not a peer's did:key"
        ) from None


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise error_response(
            web.HTTPBadRequest, "api.bad_request", f"field {key!r} must be a string"
        )
    return value


async def status(request: web.Request) -> web.Response:
    node = request.app[NODE]
    data = {**node.status(), "version": __version__, "protocol": PROTOCOL_VERSION}
    return web.json_response(data)


async def invite(request: web.Request) -> web.Response:
    data = await json_body(request)
    ttl_s = data.get("ttl_s", 7 * 24 * 3600)
    if not isinstance(ttl_s, int) or not 60 <= ttl_s <= 90 * 24 * 3600:
        raise error_response(web.HTTPBadRequest, "api.bad_request", "ttl_s is 60 s .. 90 days")
    return web.json_response(await make_invitation(request.app[NODE], ttl_s * 1000))


async def connect(request: web.Request) -> web.Response:
    data = await json_body(request)
    node = request.app[NODE]
    rel = await node.connect(_text(data, "uri"))
    return web.json_response(relationship_json(rel, node))


async def peers(request: web.Request) -> web.Response:
    """Relationships: an invitation nobody used is not one yet (``/api/invitations``)."""
    node = request.app[NODE]
    found = [relationship_json(r, node) for r in node.book.all() if r.peer is not None]
    return web.json_response({"peers": found})


async def end(request: web.Request) -> web.Response:
    data = await json_body(request)
    node = request.app[NODE]
    rel = await node.end(_peer(request), _text(data, "reason", "ended by the owner"))
    return web.json_response(relationship_json(rel, node))


async def add_relay(request: web.Request) -> web.Response:
    data = await json_body(request)
    node = request.app[NODE]
    rel = await node.use_relay(_text(data, "uri"))
    return web.json_response(relationship_json(rel, node))


async def list_relays(request: web.Request) -> web.Response:
    node = request.app[NODE]
    relays = [
        {"did": r.peer_id.did, "endpoint": r.endpoint, "online": bool(node.links.get(r.peer_id))}
        for r in node.relays
    ]
    return web.json_response({"relays": relays, "serving": node.mailbox is not None})


async def send_note(request: web.Request) -> web.Response:
    data = await json_body(request)
    seq = await request.app[NODE].send_note(_peer(request), _text(data, "text"))
    return web.json_response({"seq": seq, "queued": True}, status=202)


async def messages(request: web.Request) -> web.Response:
    node = request.app[NODE]
    try:
        after = int(request.query.get("after", "0"))
        limit = min(int(request.query.get("limit", "100")), 1000)
    except ValueError:
        raise error_response(
            web.HTTPBadRequest, "api.bad_request", "after and limit are integers"
        ) from None
    peer = PeerId.from_did(request.query["peer"]).key if "peer" in request.query else None
    items = []
    for item in node.store.list_inbox(peer, after_id=after, limit=limit):
        if item.type != MSG_NOTE:
            continue
        items.append(
            {
                "id": item.id,
                "peer": PeerId(item.peer_id).did,
                "seq": item.seq,
                "type": item.type,
                "text": decode_note(item.body),
                "received": format_time_ms(item.received_ms),
            }
        )
    return web.json_response({"messages": items})


async def nearby(request: web.Request) -> web.Response:
    discovery = request.app.get(DISCOVERY)
    if discovery is None:
        return web.json_response({"enabled": False, "announced": False, "nearby": []})
    found = [
        {
            "did": n.did,
            "kind": n.kind,
            "name": n.name,
            "endpoints": list(n.endpoints),
            "seen": format_time_ms(n.seen_ms),
            "verified": False,
            "intents": list(n.intents),
        }
        for n in discovery.nearby()
    ]
    return web.json_response({"enabled": True, "announced": discovery.announce, "nearby": found})


async def events(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    response.headers["Cache-Control"] = "no-cache"
    await response.prepare(request)
    async for event in request.app[NODE].events.subscribe():
        line = f"id: {event['id']}\nevent: {event['kind']}\ndata: {json.dumps(event)}\n\n"
        await response.write(line.encode())
    return response


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


async def api_proof(request: web.Request) -> web.Response:
    """Prove this node holds the token before a client sends it (see amity.node.api.proof)."""
    try:
        nonce = bytes.fromhex(request.query.get("nonce", ""))
    except ValueError:
        nonce = b""
    if len(nonce) != NONCE_BYTES:
        raise error_response(
            web.HTTPBadRequest, "api.bad_request", f"nonce is {NONCE_BYTES} random bytes in hex"
        )
    channel = channel_of(local_address(request))
    return web.json_response({"proof": proof(request.app[TOKEN], nonce, channel)})


def create_api_app(token: str) -> web.Application:
    """The local API application; the runner attaches the node as a cleanup context."""
    app = web.Application(middlewares=[loopback_only, _auth_and_errors], client_max_size=_MAX_BODY)
    app[TOKEN] = token
    app.router.add_get("/api/status", status)
    app.router.add_post("/api/invite", invite)
    app.router.add_post("/api/connect", connect)
    app.router.add_get("/api/peers", peers)
    app.router.add_post("/api/peers/{peer}/end", end)
    app.router.add_post("/api/peers/{peer}/notes", send_note)
    app.router.add_get("/api/messages", messages)
    app.router.add_get("/api/relays", list_relays)
    app.router.add_post("/api/relays", add_relay)
    app.router.add_get("/api/nearby", nearby)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get(PROOF_PATH, api_proof)
    add_terms_routes(app)
    add_grants_routes(app)
    add_reputation_routes(app)
    add_invitations_routes(app)
    add_intents_routes(app)
    add_loyalty_routes(app)
    add_beacon_routes(app)
    add_delegation_routes(app)
    add_things_routes(app)
    add_export_routes(app)
    add_webhook_routes(app)
    add_ui(app)
    return app
