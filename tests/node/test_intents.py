"""Intentcasting on real daemons: a person, two vendors and a hub (spec/intents.md §7.5, §8).

She casts at the hub as a stranger, under a fresh key per intent; both vendors (subscribed over
their relationships with the hub) receive it and answer; both offers reach her; she accepts one,
and only that vendor learns who she is; withdraw brings receipts. A hub killed with SIGKILL keeps
the intents it acknowledged.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp

from amity.protocol.identity import PeerId
from amity.protocol.terms import ROSTER
from tests.node.conftest import Node, NodeFactory, meet, run_amity, wait_for
from tests.node.test_daemon import read_events
from tests.node.test_grants import agree, cli, fill_vault, grant, read

CATEGORY = "goods.bicycles"


def cast(person: Node, hub: Node, **extra: Any) -> dict[str, Any]:
    body = {
        "category": CATEGORY,
        "text": "a child's bike for a 6-year-old",
        "budget": "300EUR",
        "region": "FR",
        "terms": "P2B1",
        "offers": 5,
        "expires_s": 3 * 24 * 3600,
        "hubs": [hub.did],
        **extra,
    }
    made: dict[str, Any] = person.api.post("/api/intents", body)
    return made


def inbox(vendor: Node) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = vendor.api.get("/api/intents/inbox")["intents"]
    return items


def holds(home: Path, did: str) -> bool:
    """Whether any table of the node's database holds the peer ``did``: as text, as the hex of
    its key, or as the key's bytes."""
    key = PeerId.from_did(did).key
    needles_text = (did, key.hex())
    path = home / "amity.db"
    assert path.exists(), path
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if isinstance(value, str) and any(n in value for n in needles_text):
                        return True
                    if isinstance(value, bytes) and key in value:
                        return True
    finally:
        db.close()
    return False


def cut_off(person: Node, vendor: Node, tmp_path: Path) -> None:
    """She met ``vendor`` before, agreed, and attests it breached: her policy cuts it off."""
    meet(person, vendor)
    agree(person, vendor, tmp_path)
    attest = ["attest", "--home", person.home, vendor.name, "--clause", "amity.delete-on-end"]
    cli(*attest, "--verdict", "breached")
    wait_for(
        lambda: cli("reputation", "--home", person.home, vendor.name)["cut_off"],
        what=f"{vendor.name} cut off",
    )


def test_cast_offers_accept_reveal_withdraw(nodes: NodeFactory, tmp_path: Path) -> None:
    hub = nodes.create("hub", "vendor", run_args=["--hub"])
    person = nodes.create("alice")
    bikes, cycles, spammy = nodes.create_many(
        [("bikes", "vendor"), ("cycles", "vendor"), ("spammy", "vendor")]
    )
    cut_off(person, spammy, tmp_path)
    for vendor in (bikes, cycles, spammy):
        meet(vendor, hub)
        cli("intent", "subscribe", "--home", vendor.home, "--hub", "hub", "--category", "goods")
    meet(person, hub)

    made = cli(
        "intent", "cast", "--home", person.home, "--category", CATEGORY, "--budget", "300EUR",
        "--region", "FR", "--terms", "P2B1", "--offers", "5", "--expires", "3d", "--hub", "hub",
        "--text", "a child's bike for a 6-year-old",
    )  # fmt: skip
    assert made["state"] == "open" and made["pseudonym"] != person.did
    intent_id = made["id"]
    held = hub.api.get("/api/intents/hub")
    assert [i["id"] for i in held["intents"]] == [intent_id]

    for vendor in (bikes, cycles, spammy):
        (seen,) = wait_for(lambda v=vendor: inbox(v), what=f"the intent at {vendor.name}")
        assert seen["id"] == intent_id and seen["pseudonym"] == made["pseudonym"]
        assert seen["via"] == hub.did and seen["budget"] == "300.00 EUR"
    bikes.api.post(f"/api/intents/inbox/{intent_id[:12]}/answer", {"price": "249EUR"})
    cycles.api.post(f"/api/intents/inbox/{intent_id[:12]}/answer", {"price": "279EUR"})
    answered = cli("intent", "answer", "--home", spammy.home, intent_id[:8], "--price", "99EUR")
    assert answered["state"] == "answered"

    shown = wait_for(
        lambda: (
            (v := cli("intent", "offers", "--home", person.home, intent_id[:8]))["hidden"]
            and len(v["offers"]) == 2
            and v
        ),
        what="both offers shown, the cut-off vendor's hidden",
    )
    assert [o["vendor"] for o in shown["offers"]] == [bikes.did, cycles.did]
    (hidden,) = shown["hidden"]
    assert hidden["vendor"] == spammy.did and hidden["price"] == "99.00 EUR"
    assert [o["price"] for o in shown["offers"]] == ["249.00 EUR", "279.00 EUR"]

    best = shown["offers"][0]["id"]
    # her node waits for the vendor's invitation, joins, and agrees on her terms (§6.1)
    accepted = cli("intent", "accept", "--home", person.home, best[:12], "--wait", "60s")
    assert accepted["vendor"] == bikes.did and accepted["welcomed"] is False
    won = wait_for(
        lambda: (i := inbox(bikes)[0])["revealed"] and i, what="the accept at the best vendor"
    )
    assert won["revealed"] == person.did and won["state"] in ("won", "welcomed")
    assert cycles.api.get("/api/intents/inbox")["intents"][0]["revealed"] is None
    assert holds(bikes.home, person.did), "the vendor she chose keeps who she is"

    # the vendor invites her in; her node joins and offers the intent's terms, which the
    # vendor accepts because its offer countersigned them (spec/intents.md §6.1)
    agreement = cli("agreements", "--home", person.home, accepted["agreement"][:12])
    assert agreement["peer"] == bikes.did and agreement["vendor"] == bikes.did
    assert agreement["terms"]["terms_id"] == ROSTER["P2B1"].document.terms_id.hex()
    assert person.did in [p["peer"] for p in cli("peers", "--home", bikes.home)["peers"]]
    assert bikes.did in [p["peer"] for p in cli("peers", "--home", person.home)["peers"]]
    fill_vault(person)
    grant(person, bikes, "postal-address", "30d", purpose="service-provision")
    wait_for(
        lambda: read(bikes, person, "postal-address", "service-provision").status == 200,
        what="the vendor reads her address for the delivery",
    )
    assert not holds(cycles.home, person.did), "the other vendor holds her identity"

    cli("intent", "withdraw", "--home", person.home, intent_id[:8])
    receipts = wait_for(
        lambda: len(r := person.api.get(f"/api/intents/{intent_id}")["receipts"]) == 4 and r,
        what="receipts from the hub and the three vendors that answered",
    )
    assert {r["deleter"] for r in receipts} == {hub.did, bikes.did, cycles.did, spammy.did}
    assert all(r["reason"] == "withdrawn" for r in receipts)
    wait_for(lambda: not any(map(inbox, (bikes, cycles, spammy))), what="the vendors deleted it")
    assert hub.api.get("/api/intents/hub")["intents"] == []


def test_hub_killed_keeps_the_intent_it_acknowledged(nodes: NodeFactory) -> None:
    hub = nodes.create("hub", "vendor", run_args=["--hub"])
    person, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(person, hub)
    meet(shop, hub)
    made = cast(person, hub)  # returns once the hub ACKed: stored and fsynced
    hub.kill()
    hub.start()
    held = hub.api.get("/api/intents/hub")
    assert [i["id"] for i in held["intents"]] == [made["id"]]
    # A vendor subscribing after the restart still gets it, and its offer reaches her.
    shop.api.post("/api/intents/subscriptions", {"hub": hub.did, "categories": [CATEGORY]})
    (seen,) = wait_for(lambda: inbox(shop), what="the intent after the restart")
    shop.api.post(f"/api/intents/inbox/{seen['id']}/answer", {"price": "200EUR"})
    wait_for(
        lambda: person.api.get(f"/api/intents/{made['id']}")["offers"],
        what="the offer through the restarted hub",
    )
    # Its housekeeping ran at the restart and left the live intent's pseudonym alone (§7.7).
    assert not hub.log_lines("intents.pseudonym_forgotten")


async def test_a_refused_cast_says_why_and_offers_show_on_the_event_stream(
    nodes: NodeFactory,
) -> None:
    hub = nodes.create("hub", "vendor", start=False, run_args=["--hub"])
    with open(hub.home / "config.toml", "a", encoding="utf-8") as config:
        config.write('\n[hub]\nmax_ttl = "1d"\nwork_bits = 12\n')
    hub.start()
    person, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(person, hub)
    meet(shop, hub)
    cli("intent", "subscribe", "--home", shop.home, "--hub", "hub", "--category", CATEGORY)

    # The hub keeps intents for a day at most: its REFUSE comes back over the pseudonymous
    # link, with its own code, and the hub holds nothing.
    cast_3d = ["intent", "cast", "--home", person.home, "--category", CATEGORY, "--hub", "hub"]
    refused = run_amity(*cast_3d, "--expires", "3d", "--json")
    assert refused.returncode == 3, refused.stdout  # the hub's answer, not ours
    assert json.loads(refused.stdout)["error"]["code"] == "intent.bad_constraint"
    assert hub.api.get("/api/intents/hub")["intents"] == []
    assert not inbox(shop)

    headers = {"Authorization": f"Bearer {person.api.token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(person.api.base + "/api/events") as stream,
    ):
        made = cli(*cast_3d, "--expires", "12h")
        (seen,) = wait_for(lambda: inbox(shop), what="the intent at the shop")
        cli("intent", "answer", "--home", shop.home, seen["id"][:8], "--price", "120EUR")
        events = await read_events(stream, until=lambda e: e["kind"] == "intent.offer_shown")
    shown = events[-1]
    assert shown["intent"] == made["id"] and shown["vendor"] == shop.did and shown["rank"] == 1
