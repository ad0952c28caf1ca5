"""The local API of things (spec/things.md §3-4): ``GET /api/things``, ``POST /api/things`` (add
one), ``GET /api/things/{id}`` (its card, link and sales), ``POST /api/things/{id}/offer`` (sell
it to a peer), ``POST /api/things/{id}/accept`` (take one offered to her),
``POST /api/things/read`` (check the card behind an ``amity:thing:`` link, whoever owns it)."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.jsonio import id_by_prefix, json_body, ms_from, peer_from
from amity.node.api.keys import NODE
from amity.node.terms.api import TERMS
from amity.node.things.service import ThingsService
from amity.protocol.card import NodeKind
from amity.protocol.core.things import ThingRecord
from amity.protocol.errors import NodeError, UsageError, format_time_ms
from amity.protocol.things import ThingCard

__all__ = ["THINGS", "add_things_routes", "card_json"]

THINGS: Final = web.AppKey("things", ThingsService)


def add_things_routes(app: web.Application) -> None:
    app.router.add_get("/api/things", things_list)
    app.router.add_post("/api/things", things_add)
    app.router.add_post("/api/things/read", things_read)
    app.router.add_get("/api/things/{id}", things_show)
    app.router.add_post("/api/things/{id}/offer", things_offer)
    app.router.add_post("/api/things/{id}/accept", things_accept)


def card_json(card: ThingCard) -> dict[str, Any]:
    """A verified card: what the thing is, and its link (spec/things.md §2)."""
    return {
        "id": card.thing.key.hex(),
        "thing": card.thing.did,
        "maker": card.maker,
        "model": card.model,
        "serial": card.serial,
        "purchase": None if card.purchase is None else card.purchase.hex(),
        "warranty_until": None
        if card.warranty_until_ms is None
        else format_time_ms(card.warranty_until_ms),
        "warranty_until_ms": card.warranty_until_ms,
        "manuals": list(card.manuals),
        "contacts": list(card.contacts),
        "issued": format_time_ms(card.issued_ms),
        "uri": card.to_uri(),
    }


def _thing_json(record: ThingRecord) -> dict[str, Any]:
    transfer = record.transfer
    return {
        **card_json(record.card),
        "state": record.state,
        "since": format_time_ms(record.at_ms),
        "offered_to": transfer.buyer.did if transfer and record.state == "offered" else None,
        "offered_by": transfer.seller.did if transfer and record.state == "incoming" else None,
        "sales": [
            {
                "seller": sale.transfer.seller.did,
                "buyer": sale.transfer.buyer.did,
                "offered": format_time_ms(sale.transfer.offered_ms),
                "sale_hex": sale.encoded.hex(),
            }
            for sale in record.history
        ],
    }


def _service(request: web.Request) -> ThingsService:
    node = request.config_dict[NODE]
    if node.identity.kind is not NodeKind.PERSON:
        raise NodeError("things are kept by a person's node; this node is a vendor or a relay")
    return request.config_dict[THINGS]


async def things_list(request: web.Request) -> web.Response:
    service = _service(request)
    records = sorted(service.records.values(), key=lambda r: (r.at_ms, r.key))
    return web.json_response({"things": [_thing_json(r) for r in records]})


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise UsageError(f"{key} is {'a non-empty' if required else 'a'} string")
    return value


def _lines(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{key} is a list of strings")
    return tuple(value)


async def things_add(request: web.Request) -> web.Response:
    data = await json_body(request)
    service = _service(request)
    warranty = data.get("warranty_until_ms")
    if warranty is not None:
        warranty = ms_from(warranty, "warranty_until_ms")
    purchase = None
    if data.get("agreement") is not None:
        purchase = request.config_dict[TERMS].agreement(_text(data, "agreement")).agreement_id
    record = await service.add(
        maker=_text(data, "maker", required=True),
        model=_text(data, "model", required=True),
        serial=_text(data, "serial"),
        purchase=purchase,
        warranty_until_ms=warranty,
        manuals=_lines(data, "manuals"),
        contacts=_lines(data, "contacts"),
    )
    return web.json_response(_thing_json(record), status=201)


def _key(request: web.Request, service: ThingsService) -> bytes:
    return id_by_prefix(service.records, request.match_info["id"], "a thing")


async def things_show(request: web.Request) -> web.Response:
    service = _service(request)
    return web.json_response(_thing_json(service.records[_key(request, service)]))


async def things_offer(request: web.Request) -> web.Response:
    data = await json_body(request)
    service = _service(request)
    record = await service.offer(_key(request, service), peer_from(data.get("peer"), "peer"))
    return web.json_response(_thing_json(record))


async def things_accept(request: web.Request) -> web.Response:
    service = _service(request)
    return web.json_response(_thing_json(await service.accept(_key(request, service))))


async def things_read(request: web.Request) -> web.Response:
    """Any node may read a thing's link: the card is checked, the owner is not named."""
    data = await json_body(request)
    return web.json_response(card_json(ThingCard.from_uri(_text(data, "uri", required=True))))
