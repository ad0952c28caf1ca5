"""Intents in the dashboard (``/ui/intents``): advertising in reverse, in a browser.

Her side: cast an intent (what she wants, her budget, region, terms, how many offers, until
when; at intent hubs she knows, directly at the vendors she knows, or at shops on this LAN),
each under a fresh key as ``amity intent cast`` does; her intents with their offers ranked by
her own trust, offers from vendors she cut off hidden and counted; accept one (revealing who
she is to that vendor only, or keeping the intent's pseudonym); withdraw.

A vendor's side: the intents it received (category, what she wants, budget, region, the terms
every offer must countersign), each with a form to answer with a price.

Every change calls the intents service the local API calls (cast, accept, withdraw, answer),
through the same JSON views (casting_json, seen_json).
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from amity.node.api.keys import NODE
from amity.node.intents.api import INTENTS, casting_json, seen_json
from amity.node.intents.service import IntentsService
from amity.node.ui.actions import back_to
from amity.node.ui.pages import connected_peers, show
from amity.protocol.card import NodeKind
from amity.protocol.core.intents.rule import Quote
from amity.protocol.errors import AmityError, UsageError
from amity.protocol.identity import PeerId
from amity.protocol.intent import Constraints, TermsRef
from amity.protocol.intentcategory import TAXONOMIES, TAXONOMY_VERSION
from amity.protocol.money import Money
from amity.protocol.terms import ROSTER

__all__ = ["EXPIRIES", "accept", "answer", "cast", "page", "withdraw"]

_HOME: Final = "/ui/intents"
#: How long an intent stays open, as the cast form offers it: (seconds, words).
EXPIRIES: Final = ((86_400, "a day"), (3 * 86_400, "three days"), (7 * 86_400, "a week"))
#: How long a vendor's offer stays valid, as the answer form offers it: (seconds, words).
_VALID: Final = ((86_400, "a day"), (2 * 86_400, "two days"), (7 * 86_400, "a week"))
_MAX_TEXT: Final = 280


def _service(request: web.Request) -> IntentsService:
    service = request.config_dict.get(INTENTS)
    if service is None:  # a node built without one (tests of other parts)
        raise web.HTTPNotFound(text="this node keeps no intents")
    return service


def _name(request: web.Request, did: str) -> str:
    return str(request.config_dict[NODE].book.name_of(PeerId.from_did(did)))


async def page(request: web.Request) -> web.Response:
    service = _service(request)
    node = request.config_dict[NODE]
    vendor = node.identity.kind is NodeKind.VENDOR
    mine = [casting_json(c, offers=True) for c in service.caster.castings.values()]
    for intent in mine:
        for offer in intent["offers"]:
            offer["vendor_name"] = _name(request, offer["vendor"])
    peers = [] if vendor else connected_peers(node) or []
    return show(
        request,
        "intents.html",
        title="Intents",
        nav="intents",
        vendor=vendor,
        mine=list(reversed(mine)),
        inbox=[seen_json(s) for _, s in sorted(service.vendor.inbox.items())] if vendor else [],
        categories=sorted(TAXONOMIES[TAXONOMY_VERSION]),
        roster=sorted(ROSTER),
        peers=peers,
        expiries=EXPIRIES,
        valid=_VALID,
    )


def _form_text(form: Any, key: str, limit: int = _MAX_TEXT) -> str:
    return str(form.get(key, "")).strip()[:limit]


async def cast(request: web.Request) -> web.Response:
    """Cast her intent under a fresh key: at the hubs she ticked, and/or directly or nearby."""
    service = _service(request)
    form = await request.post()
    hubs = [str(h) for h in form.getall("hub", [])]
    direct, nearby = form.get("direct") == "1", form.get("nearby") == "1"
    expires = {str(s): s for s, _ in EXPIRIES}.get(str(form.get("expires", "")))
    if not (hubs or direct or nearby):
        back_to(request, _HOME, "Nothing was cast: choose where (a hub, your vendors, nearby).")
    if expires is None:
        back_to(request, _HOME, "Nothing was cast: choose how long it stays open.")
    budget = _form_text(form, "budget", 40)
    region = _form_text(form, "region", 64)
    try:
        offers = int(str(form.get("offers", "5")))
        if not 1 <= offers <= 32:
            raise UsageError("ask for 1 to 32 offers")
        casting = await service.cast(
            category=_form_text(form, "category", 64),
            text=_form_text(form, "text"),
            constraints=Constraints(
                budget=Money.parse(budget) if budget else None,
                region=region or None,
                quantity=1,
            ),
            terms=TermsRef.roster(_form_text(form, "terms", 16) or "P2B1"),
            offers_wanted=offers,
            ttl_ms=expires * 1000,
            hubs=tuple(PeerId.from_did(h) for h in hubs),
            direct=direct,
            nearby=nearby,
        )
    except ValueError:
        back_to(request, _HOME, "Nothing was cast: how many offers is a whole number.")
    except AmityError as exc:
        back_to(request, _HOME, f"Nothing was cast: {exc.message}")
    where = len(casting.hubs) + len(casting.direct)
    back_to(
        request,
        _HOME,
        f"Your intent is out ({casting.intent.category}), under a key used for nothing else, "
        f"at {where} place{'' if where == 1 else 's'}. Nobody it reaches learns who you are.",
    )


def _intent_id(request: web.Request, service: IntentsService) -> bytes:
    try:
        intent_id = bytes.fromhex(request.match_info["id"])
    except ValueError:
        intent_id = b""
    if intent_id not in service.caster.castings:
        back_to(request, _HOME, "Nothing was changed: you cast no such intent.")
    return intent_id


async def accept(request: web.Request) -> web.Response:
    """Accept one offer: only then does her node tell that vendor who she is (unless kept)."""
    service = _service(request)
    intent_id = _intent_id(request, service)
    form = await request.post()
    reveal = form.get("keep_pseudonym") != "1"
    try:
        offer_id = bytes.fromhex(str(form.get("offer", "")))
        casting = await service.accept(intent_id, offer_id, reveal=reveal)
    except ValueError:
        back_to(request, _HOME, "Nothing was accepted: no such offer.")
    except AmityError as exc:
        back_to(request, _HOME, f"Nothing was accepted: {exc.message}")
    kept = next(k for k in casting.offers if k.offer.offer_id == offer_id)
    who = request.config_dict[NODE].book.name_of(kept.offer.vendor)
    told = "told them who you are" if reveal else "kept the intent's pseudonym"
    back_to(request, _HOME, f"You accepted the offer of {who} ({kept.offer.price}) and {told}.")


async def withdraw(request: web.Request) -> web.Response:
    """Take her intent back: hubs and every vendor that has it delete it, with receipts."""
    service = _service(request)
    intent_id = _intent_id(request, service)
    try:
        await service.withdraw(intent_id)
    except AmityError as exc:
        back_to(request, _HOME, f"Nothing was withdrawn: {exc.message}")
    back_to(
        request, _HOME, "You withdrew your intent: every hub and vendor that has it deletes it."
    )


async def answer(request: web.Request) -> web.Response:
    """The vendor answers an intent with a price (its offer countersigns her terms)."""
    service = _service(request)
    form = await request.post()
    valid = {str(s): s for s, _ in _VALID}.get(str(form.get("valid", "")))
    try:
        intent_id = bytes.fromhex(request.match_info["id"])
        if intent_id not in service.vendor.inbox:
            raise UsageError("no such intent in your inbox")
        if valid is None:
            raise UsageError("choose how long your offer is valid")
        quote = Quote(
            price=Money.parse(_form_text(form, "price", 40)),
            terms_of_sale=_form_text(form, "terms_of_sale"),
            available_ms=service.node.clock_ms(),
            valid_for_ms=valid * 1000,
        )
        await service.answer(intent_id, quote)
    except ValueError:
        back_to(request, _HOME, "No offer was sent: no such intent.")
    except AmityError as exc:
        back_to(request, _HOME, f"No offer was sent: {exc.message}")
    back_to(request, _HOME, f"Your offer of {quote.price} is on its way; she sees it ranked.")
