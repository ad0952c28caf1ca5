"""The local API of CRM webhooks (spec/webhooks.md): ``GET|POST /api/webhooks``, ``DELETE
/api/webhooks/{id}``, ``GET /api/webhooks/deliveries``, ``POST /api/webhooks/replay``."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.jsonio import json_body
from amity.node.api.keys import NODE
from amity.node.store import DELIVERY_STATES, DeliveryRow, WebhookRow
from amity.protocol.errors import NotFoundError, UsageError, format_time_ms
from amity.protocol.webhooks import EVENTS, check_events, check_url, parse_secret

__all__ = ["add_webhook_routes", "webhook_json", "delivery_json"]

#: The most deliveries one listing returns.
MAX_LIMIT: Final = 1000


def add_webhook_routes(app: web.Application) -> None:
    app.router.add_get("/api/webhooks", webhooks_list)
    app.router.add_post("/api/webhooks", webhooks_add)
    app.router.add_delete("/api/webhooks/{id}", webhooks_remove)
    app.router.add_get("/api/webhooks/deliveries", deliveries_list)
    app.router.add_post("/api/webhooks/replay", deliveries_replay)


def webhook_json(row: WebhookRow) -> dict[str, Any]:
    """A subscription as the API shows it: never its secret."""
    return {
        "id": row.id,
        "url": row.url,
        "events": list(row.events),
        "created": format_time_ms(row.created_ms),
    }


def delivery_json(row: DeliveryRow) -> dict[str, Any]:
    def when(ms: int | None) -> str | None:
        return None if ms is None else format_time_ms(ms)

    return {
        "id": row.id,
        "webhook": row.webhook,
        "message_id": row.message_id,
        "event": row.event,
        "state": row.state,
        "attempts": row.attempts,
        "created": when(row.created_ms),
        "next_attempt": when(row.next_ms),
        "last_attempt": when(row.last_ms),
        "last_error": row.last_error,
        "delivered": when(row.delivered_ms),
    }


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{what} is a whole number, 1 or more")
    return value


async def webhooks_list(request: web.Request) -> web.Response:
    node = request.app[NODE]
    rows = node.store.webhooks()
    return web.json_response(
        {
            "webhooks": [webhook_json(row) for row in rows],
            "deliveries": node.store.count_deliveries(),
            "events": list(EVENTS),
        }
    )


async def webhooks_add(request: web.Request) -> web.Response:
    data = await json_body(request)
    url = check_url(str(data.get("url", "")))
    events = data.get("events")
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise UsageError(f"events is a list of event names; known: {', '.join(EVENTS)}")
    wanted = check_events(events)
    secret = data.get("secret")
    if not isinstance(secret, str):
        raise UsageError("secret is the subscription's secret: whsec_ then base64")
    parse_secret(secret)
    node = request.app[NODE]
    webhook = await node.webhooks.add(url, secret.strip(), wanted)
    (row,) = [r for r in node.store.webhooks() if r.id == webhook]
    return web.json_response(webhook_json(row), status=201)


async def webhooks_remove(request: web.Request) -> web.Response:
    text = request.match_info["id"]
    if not text.isdigit():
        raise UsageError(f"a webhook is named by its number (amity webhook list), not {text!r}")
    node = request.app[NODE]
    if not await node.webhooks.remove(int(text)):
        raise NotFoundError(f"no webhook {text}; amity webhook list shows them")
    return web.json_response({"removed": int(text)})


async def deliveries_list(request: web.Request) -> web.Response:
    state = request.query.get("state")
    if state is not None and state not in DELIVERY_STATES:
        raise UsageError(f"state is one of {', '.join(DELIVERY_STATES)}, not {state!r}")
    limit_text = request.query.get("limit", "50")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise UsageError(f"limit is a whole number from 1 to {MAX_LIMIT}")
    store = request.app[NODE].store
    rows = store.deliveries(state, int(limit_text))
    return web.json_response(
        {"deliveries": [delivery_json(row) for row in rows], "counts": store.count_deliveries()}
    )


async def deliveries_replay(request: web.Request) -> web.Response:
    data = await json_body(request)
    ids = data.get("ids", [])
    if not isinstance(ids, list):
        raise UsageError("ids is a list of delivery numbers")
    wanted = [_whole(i, "a delivery number") for i in ids]
    dead = data.get("dead", False)
    if not isinstance(dead, bool):
        raise UsageError("dead is true or false")
    if not wanted and not dead:
        raise UsageError("name deliveries to replay (ids), or replay every dead one (dead)")
    replayed = await request.app[NODE].webhooks.replay(wanted, dead=dead)
    if wanted and not dead and replayed == 0:
        raise NotFoundError(
            f"no delivery {', '.join(map(str, wanted))}; amity webhook deliveries shows them"
        )
    return web.json_response({"replayed": replayed})
