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

import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from amity.node.api.app import NODE
from amity.node.cli.storykit import Api, Refused, meet, until
from amity.node.cli.storymarket import market_chapter
from amity.node.cli.storythings import things_chapter
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
            alice = Api(http, alice_url, Home(root / "Alice").api_token())
            shop = Api(http, shop_url, Home(root / "Corner Shop").api_token())
            alice_did = alice_runner.app[NODE].peer_id.did
            shop_did = shop_runner.app[NODE].peer_id.did
            step("two nodes running on loopback", person=alice_did, vendor=shop_did)
            # Her node judges each grant by its deletion receipt, and shares what it finds.
            await alice.call(
                "PUT", "/api/reputation/policy", {"receipt_grace_s": 1, "auto_share": True}
            )

            met = await meet(alice, shop)
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
                with contextlib.suppress(Refused):
                    return await shop.call("GET", f"/api/holdings/{alice_did}/email")
                return None

            read = await until(delivered, "the delivery")
            step("the shop reads what it was given", email=read["value"])
            try:
                await shop.call("GET", f"/api/holdings/{alice_did}/phone")
                answer = "given (this would be a bug)"
            except Refused as exc:
                answer = f"refused: {exc.code}"
            step("the shop asks for the phone, outside the grant", answer=answer)

            statement = await alice.call("POST", f"/api/holdings/{shop_did}/query", {})
            step("Alice asks: what do you hold about me?", signed_answer=_summary(statement))

            async def receipted() -> Any:
                shown = await alice.call("GET", f"/api/grants/{grant['grant_id']}")
                return shown if shown["state"] == "deleted" else None

            gone = await until(receipted, "the deletion receipt", timeout_s=_GRANT_S + 10)
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
            honoured = await until(lambda: _attested(alice, shop_did), "the attestation")
            step(
                "Alice's node attests by itself: the shop honoured her terms",
                verdict=honoured["verdict"],
                clause=honoured["clause"],
            )
            broker = Api(http, broker_url, Home(root / "Data Broker").api_token())
            broker_did = broker_runner.app[NODE].peer_id.did
            await _reputation_chapter(
                alice,
                Api(http, bob_url, Home(root / "Bob").api_token()),
                broker,
                broker_did,
                step,
            )
            bikes = Api(http, bikes_url, Home(root / "Bike Shop").api_token())
            await market_chapter(
                alice,
                Api(http, hub_url, Home(root / "Market Hub").api_token()),
                bikes,
                broker,
                step,
            )
            await things_chapter(
                alice, Api(http, bob_url, Home(root / "Bob").api_token()), bikes, step
            )
    step("done", seconds=round(time.perf_counter() - started, 2))


async def _attested(node: Api, subject: str) -> dict[str, Any] | None:
    found = await node.call("GET", f"/api/attestations?about={subject}")
    return found["attestations"][0] if found["attestations"] else None


async def _offer(person: Api, vendor: Api, vendor_did: str) -> dict[str, Any]:
    """The vendor takes the story's policy; the person proffers #NoStalking (P2B1)."""
    await vendor.call("PUT", "/api/policy", {"toml": _POLICY})
    offer: dict[str, Any] = await person.call(
        "POST", "/api/terms/offer", {"peer": vendor_did, "roster": "P2B1"}
    )
    return offer


async def _agreed(person: Api, negotiation_id: str) -> dict[str, Any]:
    """The negotiation as the person holds it, once it is agreed."""

    async def agreed() -> Any:
        found = await person.call("GET", f"/api/terms/{negotiation_id}")
        return found if found["state"] == "agreed" else None

    done: dict[str, Any] = await until(agreed, "the agreement")
    return done


async def _agree(person: Api, vendor: Api, vendor_did: str) -> None:
    offer = await _offer(person, vendor, vendor_did)
    await _agreed(person, offer["id"])


async def _reputation_chapter(
    alice: Api, bob: Api, broker: Api, broker_did: str, step: Callable[..., None]
) -> None:
    """A vendor keeps her data; her node attests it, her friend's node cuts the vendor off."""
    await meet(alice, broker)
    await _agree(alice, broker, broker_did)
    grant = {"peer": broker_did, "fields": ["email"], "purpose": "service-provision"}
    await alice.call("POST", "/api/grants", {**grant, "expires_s": 1})
    step("Alice meets a data broker (a test mode that keeps data) and grants her email for 1 s")
    breached = await until(lambda: _attested(alice, broker_did), "the breach", timeout_s=15)
    step(
        "no deletion receipt in time: her node attests the breach",
        verdict=breached["verdict"],
        note=breached["note"][:60] + "…",
    )
    alice_did = (await meet(bob, alice))["peer"]
    bob_did = (await bob.call("GET", "/api/status"))["did"]
    await alice.call("PUT", f"/api/share-policies/{bob_did}", {"mode": "mine"})
    await bob.call("PUT", f"/api/vouches/{alice_did}")
    await meet(bob, broker)
    await _agree(bob, broker, broker_did)
    await bob.call("PUT", "/api/vault/email", {"type": "email", "value": "bob@example.org"})
    step("Bob, her friend, vouches for her; she shares her attestations with him")

    async def cut_off() -> Any:
        seen = await bob.call("GET", f"/api/reputation/{broker_did}")
        return seen if seen["cut_off"] else None

    seen = await until(cut_off, "the cut-off")
    try:
        await bob.call("POST", "/api/grants", {**grant, "expires_s": 3600})
        answer = "granted (this would be a bug)"
    except Refused as exc:
        answer = f"refused: {exc.code}"
    step(
        "Bob's node refuses the broker a grant",
        answer=answer,
        standing=seen["standing"]["value"],
        why=" → ".join(seen["why"][0]["path_names"]),
    )


def _summary(statement: dict[str, Any]) -> str:
    if not statement.get("answered"):
        return "no answer"
    fields = sorted({f for item in statement["items"] for f in item["fields"]})
    return f"{len(statement['items'])} grant ({', '.join(fields)}), signature verified"
