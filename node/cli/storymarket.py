"""The story's market chapter: her intent at a hub, the offers, the accept that becomes a
relationship, the address she grants, and her move reaching the shop once (change once,
everywhere)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

from amity.node.cli.storykit import Api, Refused, meet, until

__all__ = ["market_chapter"]


async def market_chapter(
    alice: Api, hub: Api, bikes: Api, broker: Api, step: Callable[..., None]
) -> None:
    """Advertising in reverse: she casts an intent at a hub under a fresh key; a new bike shop
    and the broker she attested answer; the broker's offer is hidden; she accepts the shop's,
    which invites her in, agrees on her terms, and reads the address she grants for delivery."""
    hub_did = (await hub.call("GET", "/api/status"))["did"]
    bikes_did = (await bikes.call("GET", "/api/status"))["did"]
    alice_did = (await alice.call("GET", "/api/status"))["did"]
    for vendor in (bikes, broker):
        await meet(vendor, hub)
        await vendor.call(
            "POST", "/api/intents/subscriptions", {"hub": hub_did, "categories": ["goods"]}
        )
    await meet(alice, hub)
    cast = await alice.call(
        "POST",
        "/api/intents",
        {
            "category": "goods.bicycles",
            "text": "a child's bike for a 6-year-old, delivered within a week",
            "budget": "300EUR",
            "region": "US",
            "terms": "P2B1",
            "offers": 3,
            "expires_s": 3 * 24 * 3600,
            "hubs": [hub_did],
        },
    )
    intent_id = cast["id"]
    step(
        "Alice casts an intent at a hub, under a fresh key: a bike, 300 EUR, her terms",
        pseudonym=cast["pseudonym"][:24] + "…",
    )
    for vendor, price in ((bikes, "249EUR"), (broker, "99EUR")):
        await until(functools.partial(_in_inbox, vendor, intent_id), "the intent at a vendor")
        await vendor.call("POST", f"/api/intents/inbox/{intent_id}/answer", {"price": price})

    async def both_in() -> Any:
        found = await alice.call("GET", f"/api/intents/{intent_id}")
        return found if found["offers"] and found["hidden"] else None

    offers = await until(both_in, "both offers")
    step(
        "two vendors answer, countersigning her terms; the broker's cheaper offer is hidden",
        shown=", ".join(o["price"] for o in offers["offers"]),
        hidden=", ".join(o["price"] + " (cut off)" for o in offers["hidden"]),
    )
    best = offers["offers"][0]
    await alice.call("POST", "/api/intents/accept", {"offer": best["id"], "reveal": True})

    async def agreed() -> Any:
        found = await alice.call("GET", f"/api/agreements?peer={bikes_did}")
        return found["agreements"][0] if found["agreements"] else None

    agreement = await until(agreed, "the agreement with the bike shop", timeout_s=20)
    step(
        "she accepts: only the bike shop learns who she is; it invites her in, agrees her terms",
        agreement=agreement["agreement_id"][:16],
    )
    grant = {
        "peer": bikes_did,
        "fields": ["address"],
        "purpose": "service-provision",
        "context": "delivery of the bike",
        "expires_s": 7 * 24 * 3600,
    }
    await alice.call("POST", "/api/grants", grant)

    async def address() -> Any:
        with contextlib.suppress(Refused):
            return await bikes.call("GET", f"/api/holdings/{alice_did}/address")
        return None

    read = await until(address, "the delivery address")
    step("she grants her address for the delivery; the shop reads it", address=_shown(read))

    # Change once, everywhere (spec/signals.md): she moves; the one live grant that names her
    # address carries the new value; the corner shop's grant expired, so it learns nothing.
    moved = await alice.call(
        "PUT",
        "/api/vault/address",
        {"type": "postal-address", "value": "9 Elm Rd; Shelbyville; 54321; US"},
    )
    sent = [u["peer_name"] for u in moved["updates"] if u["updated"]]
    not_sent = [f"{u['peer_name']} ({u['why_not']})" for u in moved["updates"] if not u["updated"]]

    async def new_address() -> Any:
        found = await address()
        return found if found is not None and "Elm" in _shown(found) else None

    reread = await until(new_address, "the new address at the bike shop")
    step(
        "she moves: the new address reaches the bike shop under its live grant, once",
        updated=", ".join(sent) or "nobody",
        not_updated=", ".join(not_sent) or "nobody",
        address=_shown(reread),
    )


def _shown(read: dict[str, Any]) -> str:
    value = read["value"]
    return ", ".join(map(str, value.values())) if isinstance(value, dict) else str(value)


async def _in_inbox(vendor: Api, intent_id: str) -> bool:
    found = await vendor.call("GET", "/api/intents/inbox")
    return any(i["id"] == intent_id for i in found["intents"])
