"""The local API of intentcasting: her intents and their offers, a vendor's inbox, a hub's store.

Mounted by amity.node.api.app through :func:`add_intents_routes`; the runner puts the node's
:class:`~amity.node.intents.service.IntentsService` under :data:`INTENTS`. Ids may be given
by a unique prefix of their hex. See spec/intents.md.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.jsonio import id_by_prefix, json_body, peer_from
from amity.node.intents.hubpeers import change_peer
from amity.node.intents.service import IntentsService
from amity.protocol.core.intents.records import Casting, KeptOffer, Seen
from amity.protocol.core.intents.rule import Quote
from amity.protocol.core.intents.timing import MAX_CAST_DELAY_MS
from amity.protocol.errors import NodeError, UsageError, format_time_ms
from amity.protocol.identity import PeerId
from amity.protocol.intent import Constraints, TermsRef
from amity.protocol.intentcategory import TAXONOMY_VERSION, check_category
from amity.protocol.money import Money

__all__ = ["INTENTS", "add_intents_routes"]

INTENTS: Final = web.AppKey("intents", IntentsService)
_MAX_S: Final = 30 * 24 * 3600
#: The most a cast waits by default when a vendor sees its link itself (§7.10): ten minutes.
_DIRECT_DELAY_S: Final = 600


def add_intents_routes(app: web.Application) -> None:
    """Mount ``/api/intents``, ``/api/intents/inbox``, ``/api/intents/subscriptions``,
    ``/api/intents/hub``."""
    r = app.router
    r.add_get("/api/intents", intents_list)
    r.add_post("/api/intents", intent_cast)
    r.add_get("/api/intents/inbox", inbox_list)
    r.add_post("/api/intents/inbox/{id}/answer", inbox_answer)
    r.add_post("/api/intents/subscriptions", subscribe)
    r.add_get("/api/intents/hub", hub_list)
    r.add_put("/api/intents/hub/peers/{peer}", hub_peer_add)
    r.add_delete("/api/intents/hub/peers/{peer}", hub_peer_remove)
    r.add_post("/api/intents/accept", intent_accept)
    r.add_get("/api/intents/{id}", intent_show)
    r.add_post("/api/intents/{id}/withdraw", intent_withdraw)


def _service(request: web.Request) -> IntentsService:
    return request.app[INTENTS]


def _int(data: dict[str, Any], key: str, lo: int, hi: int, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise UsageError(f"{key} is an integer {lo}..{hi}")
    return value


def _str(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise UsageError(f"{key} is a string")
    return value


def offer_json(kept: KeptOffer, rank: int | None) -> dict[str, Any]:
    offer = kept.offer
    return {
        "id": offer.offer_id.hex(),
        "vendor": offer.vendor.did,
        "price": str(offer.price),
        "price_minor": offer.price.amount_minor,
        "currency": offer.price.currency,
        "quantity": offer.quantity,
        "terms_of_sale": offer.terms_of_sale,
        "available": format_time_ms(offer.available_ms),
        "valid_until": format_time_ms(offer.valid_until_ms),
        "trust": kept.trust,
        "hidden": kept.hidden,
        "rank": rank,
    }


def casting_json(c: Casting, *, offers: bool = False) -> dict[str, Any]:
    intent = c.intent
    shown = c.shown()
    data: dict[str, Any] = {
        "id": c.intent_id.hex(),
        "category": intent.category,
        "text": intent.text,
        "state": c.state.value,
        "pseudonym": intent.intent_key.did,
        "hubs": [h.did for h in c.hubs],
        "direct": [v.did for v in c.direct],
        "cast": format_time_ms(intent.cast_ms),
        "expires": format_time_ms(intent.expires_ms),
        "offers_wanted": intent.offers_wanted,
        "offers_kept": len(c.offers),
        "offers_shown": len(shown),
        "accepted": None if c.accepted is None else c.accepted.hex(),
        "vendor": next(
            (k.offer.vendor.did for k in c.offers if k.offer.offer_id == c.accepted), None
        ),
        "welcomed": c.welcome is not None,
        "terms_id": intent.terms_id.hex(),
        "receipts": [
            {"deleter": r.deleter.did, "reason": r.reason.value, "at": format_time_ms(r.deleted_ms)}
            for r in c.receipts
        ],
    }
    if offers:
        data["offers"] = [offer_json(k, shown.index(k) + 1) for k in shown]
        data["hidden"] = [offer_json(k, None) for k in c.offers if k.hidden]
    return data


def seen_json(s: Seen) -> dict[str, Any]:
    intent = s.intent
    c = intent.constraints
    return {
        "id": s.intent_id.hex(),
        "category": intent.category,
        "text": intent.text,
        "budget": None if c.budget is None else str(c.budget),
        "region": c.region,
        "quantity": c.quantity,
        "terms": intent.terms.roster_name or intent.terms_id.hex(),
        "pseudonym": intent.intent_key.did,
        "expires": format_time_ms(intent.expires_ms),
        "via": s.via.did,
        "state": s.state.value,
        "offer": None if s.offer is None else s.offer.offer_id.hex(),
        "price": None if s.offer is None else str(s.offer.price),
        "answered_by": None if s.offer is None else "rule" if s.auto else "person",
        "revealed": None if s.person is None else s.person.did,
    }


async def intents_list(request: web.Request) -> web.Response:
    service = _service(request)
    castings = service.caster.castings.values()
    scheduled = [
        {"scheduled": s.handle, "at": format_time_ms(s.at_ms), "category": s.category}
        for s in sorted(service.schedule.waiting.values(), key=lambda s: s.at_ms)
    ]
    return web.json_response(
        {"intents": [casting_json(c) for c in castings], "scheduled": scheduled}
    )


async def intent_cast(request: web.Request) -> web.Response:
    data = await json_body(request)
    service = _service(request)
    hubs = data.get("hubs", [])
    direct, nearby = data.get("direct", False), data.get("nearby", False)
    if not isinstance(direct, bool) or not isinstance(nearby, bool):
        raise UsageError("direct and nearby are true or false")
    if not isinstance(hubs, list) or not (hubs or direct or nearby):
        raise UsageError("hubs is a list of did:key, one at least (or direct or nearby: true)")
    budget = data.get("budget")
    constraints = Constraints(
        budget=None if budget is None else Money.parse(_str(data, "budget")),
        region=None if data.get("region") is None else _str(data, "region"),
        quantity=_int(data, "quantity", 1, 1_000_000, 1),
    )
    cast: dict[str, Any] = dict(
        category=_str(data, "category"),
        text=_str(data, "text", ""),
        constraints=constraints,
        terms=TermsRef.roster(_str(data, "terms", "P2B1")),
        offers_wanted=_int(data, "offers", 1, 32, 5),
        ttl_ms=_int(data, "expires_s", 60, _MAX_S) * 1000,
        hubs=tuple(peer_from(h, "a hub") for h in hubs),
        direct=direct,
        nearby=nearby,
    )
    # The most her node waits, at random, before it casts (spec/intents.md §7.10): by default
    # none for hubs alone, ten minutes when a vendor sees the cast's link itself.
    default_delay_s = _DIRECT_DELAY_S if direct or nearby else 0
    delay_s = _int(data, "delay_s", 0, MAX_CAST_DELAY_MS // 1000, default_delay_s)
    if delay_s:
        check_category(TAXONOMY_VERSION, cast["category"])  # now, not when it is too late to say
        if nearby:
            service.check_nearby()
        item = await service.schedule.schedule(delay_s * 1000, cast)
        scheduled = {"scheduled": item.handle, "at": format_time_ms(item.at_ms)}
        return web.json_response({**scheduled, "category": item.category}, status=202)
    casting = await service.cast(**cast)
    return web.json_response(casting_json(casting), status=201)


async def intent_show(request: web.Request) -> web.Response:
    service = _service(request)
    intent_id = id_by_prefix(service.caster.castings, request.match_info["id"], "intent")
    return web.json_response(casting_json(service.caster.castings[intent_id], offers=True))


async def intent_accept(request: web.Request) -> web.Response:
    data = await json_body(request)
    service = _service(request)
    offers = {
        k.offer.offer_id: c.intent_id
        for c in service.caster.castings.values()
        for k in c.offers
        if not k.hidden
    }
    offer_id = id_by_prefix(offers, _str(data, "offer"), "offer")
    reveal = data.get("reveal", True)
    if not isinstance(reveal, bool):
        raise UsageError("reveal is true or false")
    casting = await service.accept(offers[offer_id], offer_id, reveal=reveal)
    return web.json_response(casting_json(casting, offers=True))


async def intent_withdraw(request: web.Request) -> web.Response:
    service = _service(request)
    intent_id = id_by_prefix(service.caster.castings, request.match_info["id"], "intent")
    return web.json_response(casting_json(await service.withdraw(intent_id)))


async def subscribe(request: web.Request) -> web.Response:
    data = await json_body(request)
    hub = peer_from(data.get("hub"), "hub")
    categories = data.get("categories")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise UsageError("categories is a list of category ids")
    rel = _service(request).node.book.current(hub)
    if rel is None:
        raise NodeError(f"{hub.short} is not a peer of yours: meet the hub first")
    await _service(request).subscribe(hub, tuple(categories))
    return web.json_response({"hub": hub.did, "categories": categories})


async def inbox_list(request: web.Request) -> web.Response:
    vendor = _service(request).vendor
    items = [seen_json(s) for _, s in sorted(vendor.inbox.items())]
    return web.json_response({"intents": items})


async def inbox_answer(request: web.Request) -> web.Response:
    data = await json_body(request)
    service = _service(request)
    intent_id = id_by_prefix(service.vendor.inbox, request.match_info["id"], "intent")
    now = service.node.clock_ms()
    quote = Quote(
        price=Money.parse(_str(data, "price")),
        terms_of_sale=_str(data, "terms_of_sale", ""),
        available_ms=now + _int(data, "lead_s", 0, _MAX_S, 0) * 1000,
        valid_for_ms=_int(data, "valid_s", 1, _MAX_S, 2 * 24 * 3600) * 1000,
    )
    seen = await service.answer(intent_id, quote)
    return web.json_response(seen_json(seen))


async def hub_list(request: web.Request) -> web.Response:
    hub = _service(request).hub
    if hub is None:
        raise NodeError("this node is not a hub (amity run --hub)")
    items = [
        {
            "id": r.intent_id.hex(),
            "category": r.intent.category,
            "expires": format_time_ms(r.intent.expires_ms),
            "origin": r.origin.did,
            "hops_left": r.hops_left,
            "sent_to": sorted(p.did for p in r.sent_to),
            "offers": len(r.offers),
        }
        for _, r in sorted(hub.intents.items())
    ]
    rules = hub.rules
    return web.json_response(
        {
            "intents": items,
            "subscribers": len(hub.subscribers),
            "tombstones": len(hub.tombstones),
            "rules": {
                "work_bits": rules.work_bits,
                "offer_cap": rules.offer_cap,
                "max_ttl_s": rules.max_ttl_ms // 1000,
                "rate_per_hour": rules.rate_per_hour,
                "max_hops": rules.max_hops,
            },
            "peers": [_hub_peer(_service(request), PeerId(k)) for k in rules.peers],
        }
    )


async def hub_peer_add(request: web.Request) -> web.Response:
    """List a hub, at once and in config.toml (spec/intents.md §7.6)."""
    peer = peer_from(request.match_info["peer"], "a hub")
    await change_peer(_service(request), peer, listed=True)
    return await hub_list(request)


async def hub_peer_remove(request: web.Request) -> web.Response:
    peer = peer_from(request.match_info["peer"], "a hub")
    await change_peer(_service(request), peer, listed=False)
    return await hub_list(request)


def _hub_peer(service: IntentsService, peer: PeerId) -> dict[str, Any]:
    """A listed hub as its operator needs to see it: met (a relationship), and online."""
    node = service.node
    rel = node.book.current(peer)
    card = None if rel is None else rel.peer_card
    return {
        "did": peer.did,
        "name": "" if card is None else card.name,
        "state": "not met" if rel is None else rel.state.value,
        "online": bool(node.links.get(peer)),
        "outbox_pending": node.store.count_pending(peer.key),
    }
