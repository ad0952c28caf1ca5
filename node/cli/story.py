"""``amity demo --story``: person and vendor nodes on loopback walk the whole VRM story.

Real nodes (temporary homes, real aiohttp servers on 127.0.0.1, real SQLite) in this process,
driven only through their local APIs, as the CLI would: meet by invitation, agree on the
person's terms under the vendor's policy, share two fields for a few seconds, let the vendor
read them, ask it what it holds, watch expiry delete them with a signed receipt, and check both
audit trails. Then reputation: her node attests that the shop honoured her terms; a second
vendor (run in the ``keep-data`` test mode) keeps her data, her node attests the breach and
shares it with a friend, and the friend's node refuses that vendor a grant. Last, her market:
she casts an intent at a hub under a fresh key, a new bike shop and the broker answer, the
broker's offer is hidden, and she accepts the shop's, agrees on her terms and grants her address
for the delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from amity.node.api.app import NODE
from amity.node.home import Config, Home
from amity.node.runner import RunOptions, create_app
from amity.protocol.agreement import Agreement
from amity.protocol.card import NodeKind

__all__ = ["run_story"]

_POLICY = """\
# The vendor's policy: it welcomes #NoStalking customers.
version = 1
vocabulary = 1
default = "ask-human"

[clause."amity.no-tracking"]
action = "accept"

[clause."amity.purpose-limitation"]
action = "accept"

[clause."amity.no-third-party-sharing"]
action = "accept"
"""
_GRANT_S = 2


class _Refused(RuntimeError):
    """The node answered with an error; ``code`` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Api:
    """One node's local API, called with its bearer token."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self._http, self._base, self._token = http, base, token

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self._http.request(
            method, self._base + path, json=body, headers=headers
        ) as reply:
            data = await reply.json()
            if reply.status >= 400:
                error = data.get("error", {}) if isinstance(data, dict) else {}
                raise _Refused(error.get("code", str(reply.status)), f"{method} {path}: {data}")
            return data


@contextlib.asynccontextmanager
async def _node(
    root: Path,
    name: str,
    kind: NodeKind,
    misbehave: frozenset[str] = frozenset(),
    *,
    hub: bool = False,
) -> AsyncIterator[tuple[web.AppRunner, str]]:
    home = Home(root / name)
    config = Config(name=name, kind=kind, mdns=False)
    seed = home.create(config)
    options = RunOptions(
        listen="127.0.0.1:0",
        api="127.0.0.1:0",
        mdns=False,
        relay=False,
        misbehave=misbehave,
        hub=hub,
    )
    runner = web.AppRunner(create_app(home, config, seed, options), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
        yield runner, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _until(check: Callable[[], Any], what: str, timeout_s: float = 10.0) -> Any:
    """Poll ``check`` (an async callable) until it returns something truthy."""
    async with asyncio.timeout(timeout_s):
        while not (found := await check()):
            await asyncio.sleep(0.05)
    return found


async def run_story(step: Callable[..., None]) -> None:
    """Walk the story, reporting each step through ``step(what, **detail)``."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="amity-story-") as name:
        root = Path(name)
        keep_data = frozenset({"keep-data"})
        async with (
            _node(root, "Alice", NodeKind.PERSON) as (alice_runner, alice_url),
            _node(root, "Corner Shop", NodeKind.VENDOR) as (shop_runner, shop_url),
            _node(root, "Bob", NodeKind.PERSON) as (_, bob_url),
            _node(root, "Data Broker", NodeKind.VENDOR, keep_data) as (broker_runner, broker_url),
            _node(root, "Market Hub", NodeKind.VENDOR, hub=True) as (_, hub_url),
            _node(root, "Bike Shop", NodeKind.VENDOR) as (_, bikes_url),
            aiohttp.ClientSession() as http,
        ):
            alice = _Api(http, alice_url, Home(root / "Alice").api_token())
            shop = _Api(http, shop_url, Home(root / "Corner Shop").api_token())
            alice_did = alice_runner.app[NODE].peer_id.did
            shop_did = shop_runner.app[NODE].peer_id.did
            step("two nodes running on loopback", person=alice_did, vendor=shop_did)
            # Her node judges each grant by its deletion receipt, and shares what it finds.
            await alice.call(
                "PUT", "/api/reputation/policy", {"receipt_grace_s": 1, "auto_share": True}
            )

            met = await _meet(alice, shop)
            step("Alice accepts the shop's invitation", state=met["state"], name=met["name"])

            offer = await _offer(alice, shop, shop_did)
            step("Alice proffers her terms: #NoStalking (P2B1)", negotiation=offer["id"][:8])
            done = await _agreed(alice, offer["id"])
            agreement_id = done["agreement_id"]
            record = await shop.call("GET", f"/api/agreements/{agreement_id}")
            verified = Agreement.decode(bytes.fromhex(record["agreement_hex"]))
            step(
                "the shop's policy accepts; both hold one agreement, verified by a third party",
                agreement=agreement_id[:16],
                signed_by=f"{verified.person.short} and {verified.vendor.short}",
            )

            for field, kind, value in (
                ("email", "email", "alice@example.org"),
                ("address", "postal-address", "1 Main St; Springfield; 12345; US"),
                ("phone", "phone", "+15555550100"),
            ):
                await alice.call("PUT", f"/api/vault/{field}", {"type": kind, "value": value})
            step("Alice's vault: three fields, sealed at rest", fields="email, address, phone")

            grant = await alice.call(
                "POST",
                "/api/grants",
                {
                    "peer": shop_did,
                    "fields": ["email", "address"],
                    "purpose": "service-provision",
                    "context": "order 42",
                    "expires_s": _GRANT_S,
                },
            )
            step(f"Alice grants email and address for {_GRANT_S} s", grant=grant["grant_id"][:8])

            async def delivered() -> Any:
                with contextlib.suppress(_Refused):
                    return await shop.call("GET", f"/api/holdings/{alice_did}/email")
                return None

            read = await _until(delivered, "the delivery")
            step("the shop reads what it was given", email=read["value"])
            try:
                await shop.call("GET", f"/api/holdings/{alice_did}/phone")
                answer = "given (this would be a bug)"
            except _Refused as exc:
                answer = f"refused: {exc.code}"
            step("the shop asks for the phone, outside the grant", answer=answer)

            statement = await alice.call("POST", f"/api/holdings/{shop_did}/query", {})
            step("Alice asks: what do you hold about me?", signed_answer=_summary(statement))

            async def receipted() -> Any:
                shown = await alice.call("GET", f"/api/grants/{grant['grant_id']}")
                return shown if shown["state"] == "deleted" else None

            gone = await _until(receipted, "the deletion receipt", timeout_s=_GRANT_S + 10)
            step(
                "the grant expires: the shop deletes the data and signs a receipt",
                reason=gone.get("deletion_reason"),
            )
            log = await alice.call("GET", "/api/audit")
            theirs = await shop.call("GET", "/api/audit")
            step(
                "both audit trails verify (hash-chained)",
                alice_entries=len(log["entries"]),
                shop_entries=len(theirs["entries"]),
            )
            honoured = await _until(lambda: _attested(alice, shop_did), "the attestation")
            step(
                "Alice's node attests by itself: the shop honoured her terms",
                verdict=honoured["verdict"],
                clause=honoured["clause"],
            )
            broker = _Api(http, broker_url, Home(root / "Data Broker").api_token())
            broker_did = broker_runner.app[NODE].peer_id.did
            await _reputation_chapter(
                alice,
                _Api(http, bob_url, Home(root / "Bob").api_token()),
                broker,
                broker_did,
                step,
            )
            await _market_chapter(
                alice,
                _Api(http, hub_url, Home(root / "Market Hub").api_token()),
                _Api(http, bikes_url, Home(root / "Bike Shop").api_token()),
                broker,
                step,
            )
    step("done", seconds=round(time.perf_counter() - started, 2))


async def _attested(node: _Api, subject: str) -> dict[str, Any] | None:
    found = await node.call("GET", f"/api/attestations?about={subject}")
    return found["attestations"][0] if found["attestations"] else None


async def _meet(a: _Api, b: _Api) -> dict[str, Any]:
    invitation = await b.call("POST", "/api/invite", {"ttl_s": 600})
    met: dict[str, Any] = await a.call("POST", "/api/connect", {"uri": invitation["uri"]})
    return met


async def _offer(person: _Api, vendor: _Api, vendor_did: str) -> dict[str, Any]:
    """The vendor takes the story's policy; the person proffers #NoStalking (P2B1)."""
    await vendor.call("PUT", "/api/policy", {"toml": _POLICY})
    offer: dict[str, Any] = await person.call(
        "POST", "/api/terms/offer", {"peer": vendor_did, "roster": "P2B1"}
    )
    return offer


async def _agreed(person: _Api, negotiation_id: str) -> dict[str, Any]:
    """The negotiation as the person holds it, once it is agreed."""

    async def agreed() -> Any:
        found = await person.call("GET", f"/api/terms/{negotiation_id}")
        return found if found["state"] == "agreed" else None

    done: dict[str, Any] = await _until(agreed, "the agreement")
    return done


async def _agree(person: _Api, vendor: _Api, vendor_did: str) -> None:
    offer = await _offer(person, vendor, vendor_did)
    await _agreed(person, offer["id"])


async def _reputation_chapter(
    alice: _Api, bob: _Api, broker: _Api, broker_did: str, step: Callable[..., None]
) -> None:
    """A vendor keeps her data; her node attests it, her friend's node cuts the vendor off."""
    await _meet(alice, broker)
    await _agree(alice, broker, broker_did)
    grant = {"peer": broker_did, "fields": ["email"], "purpose": "service-provision"}
    await alice.call("POST", "/api/grants", {**grant, "expires_s": 1})
    step("Alice meets a data broker (a test mode that keeps data) and grants her email for 1 s")
    breached = await _until(lambda: _attested(alice, broker_did), "the breach", timeout_s=15)
    step(
        "no deletion receipt in time: her node attests the breach",
        verdict=breached["verdict"],
        note=breached["note"][:60] + "…",
    )
    alice_did = (await _meet(bob, alice))["peer"]
    bob_did = (await bob.call("GET", "/api/status"))["did"]
    await alice.call("PUT", f"/api/share-policies/{bob_did}", {"mode": "mine"})
    await bob.call("PUT", f"/api/vouches/{alice_did}")
    await _meet(bob, broker)
    await _agree(bob, broker, broker_did)
    await bob.call("PUT", "/api/vault/email", {"type": "email", "value": "bob@example.org"})
    step("Bob, her friend, vouches for her; she shares her attestations with him")

    async def cut_off() -> Any:
        seen = await bob.call("GET", f"/api/reputation/{broker_did}")
        return seen if seen["cut_off"] else None

    seen = await _until(cut_off, "the cut-off")
    try:
        await bob.call("POST", "/api/grants", {**grant, "expires_s": 3600})
        answer = "granted (this would be a bug)"
    except _Refused as exc:
        answer = f"refused: {exc.code}"
    step(
        "Bob's node refuses the broker a grant",
        answer=answer,
        standing=seen["standing"]["value"],
        why=" → ".join(seen["why"][0]["path_names"]),
    )


async def _market_chapter(
    alice: _Api, hub: _Api, bikes: _Api, broker: _Api, step: Callable[..., None]
) -> None:
    """Advertising in reverse: she casts an intent at a hub under a fresh key; a new bike shop
    and the broker she attested answer; the broker's offer is hidden; she accepts the shop's,
    which invites her in, agrees on her terms, and reads the address she grants for delivery."""
    hub_did = (await hub.call("GET", "/api/status"))["did"]
    bikes_did = (await bikes.call("GET", "/api/status"))["did"]
    alice_did = (await alice.call("GET", "/api/status"))["did"]
    for vendor in (bikes, broker):
        await _meet(vendor, hub)
        await vendor.call(
            "POST", "/api/intents/subscriptions", {"hub": hub_did, "categories": ["goods"]}
        )
    await _meet(alice, hub)
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
        await _until(functools.partial(_in_inbox, vendor, intent_id), "the intent at a vendor")
        await vendor.call("POST", f"/api/intents/inbox/{intent_id}/answer", {"price": price})

    async def both_in() -> Any:
        found = await alice.call("GET", f"/api/intents/{intent_id}")
        return found if found["offers"] and found["hidden"] else None

    offers = await _until(both_in, "both offers")
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

    agreement = await _until(agreed, "the agreement with the bike shop", timeout_s=20)
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
        with contextlib.suppress(_Refused):
            return await bikes.call("GET", f"/api/holdings/{alice_did}/address")
        return None

    read = await _until(address, "the delivery address")
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

    reread = await _until(new_address, "the new address at the bike shop")
    step(
        "she moves: the new address reaches the bike shop under its live grant, once",
        updated=", ".join(sent) or "nobody",
        not_updated=", ".join(not_sent) or "nobody",
        address=_shown(reread),
    )


def _shown(read: dict[str, Any]) -> str:
    value = read["value"]
    return ", ".join(map(str, value.values())) if isinstance(value, dict) else str(value)


async def _in_inbox(vendor: _Api, intent_id: str) -> bool:
    found = await vendor.call("GET", "/api/intents/inbox")
    return any(i["id"] == intent_id for i in found["intents"])


def _summary(statement: dict[str, Any]) -> str:
    if not statement.get("answered"):
        return "no answer"
    fields = sorted({f for item in statement["items"] for f in item["fields"]})
    return f"{len(statement['items'])} grant ({', '.join(fields)}), signature verified"
