"""The local API of loyalty: ``GET /api/loyalty`` (hers and received), ``POST /api/loyalty``
(declare), ``POST /api/loyalty/{id}/revoke``. See spec/loyalty.md."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.jsonio import id_by_prefix, json_body, ms_from, peer_from
from amity.node.loyalty.service import LoyaltyService
from amity.protocol.core.loyalty import LoyaltyRecord
from amity.protocol.errors import UsageError, format_time_ms

__all__ = ["LOYALTY", "add_loyalty_routes", "record_json"]

LOYALTY: Final = web.AppKey("loyalty", LoyaltyService)


def add_loyalty_routes(app: web.Application) -> None:
    app.router.add_get("/api/loyalty", loyalty_list)
    app.router.add_post("/api/loyalty", loyalty_declare)
    app.router.add_post("/api/loyalty/{id}/revoke", loyalty_revoke)


def record_json(record: LoyaltyRecord, now_ms: int) -> dict[str, Any]:
    d = record.declaration
    return {
        "id": record.declaration_id.hex(),
        "mine": record.mine,
        "person": d.person.did,
        "vendor": d.vendor.did,
        "since": format_time_ms(d.since_ms),
        "until": format_time_ms(d.until_ms),
        "since_ms": d.since_ms,
        "until_ms": d.until_ms,
        "categories": list(d.categories),
        "note": d.note,
        "state": record.state(now_ms),
        "revoked": None
        if record.revocation is None
        else format_time_ms(record.revocation.revoked_ms),
        "declaration_hex": d.encoded.hex(),
    }


async def loyalty_list(request: web.Request) -> web.Response:
    service = request.app[LOYALTY]
    now = service.node.clock_ms()
    items = sorted(service.records.values(), key=lambda r: (r.at_ms, r.declaration_id))
    return web.json_response({"declarations": [record_json(r, now) for r in items]})


async def loyalty_declare(request: web.Request) -> web.Response:
    data = await json_body(request)
    service = request.app[LOYALTY]
    categories = data.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise UsageError("categories is a list of intent categories")
    note = data.get("note", "")
    if not isinstance(note, str):
        raise UsageError("note is a string")
    record = await service.declare(
        peer_from(data.get("vendor"), "vendor"),
        since_ms=ms_from(data.get("since_ms"), "since_ms"),
        until_ms=ms_from(data.get("until_ms"), "until_ms"),
        categories=tuple(categories),
        note=note,
    )
    return web.json_response(record_json(record, service.node.clock_ms()), status=201)


async def loyalty_revoke(request: web.Request) -> web.Response:
    service = request.app[LOYALTY]
    mine = [k for k, r in service.records.items() if r.mine]
    record = await service.revoke(id_by_prefix(mine, request.match_info["id"], "declaration"))
    return web.json_response(record_json(record, service.node.clock_ms()))
