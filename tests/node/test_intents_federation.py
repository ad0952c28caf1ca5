"""Hubs that list each other, on real daemons (spec/intents.md §7.3, §7.6).

Two hubs met (invite and connect) and list each other in config.toml's ``[hub] peers``; a vendor
subscribed at hub A only sees an intent cast at hub B, its offer gets back to her through both
hubs, her accept reaches it the same way, and her withdraw brings receipts from both hubs. An
intent cast at both hubs is held once by each and forwarded once between them; ``max_hops`` stops
an intent at the hub where it runs out.
"""

from __future__ import annotations

from typing import Any

from tests.node.conftest import Node, NodeFactory, meet, start_all, wait_for
from tests.node.test_grants import cli
from tests.node.test_intents import cast, inbox


def hubs(
    nodes: NodeFactory, peers: dict[str, list[str]], extra: dict[str, str] | None = None
) -> list[Node]:
    """Hubs named as ``peers``'s keys, each listing the hubs its value names (and the lines of
    ``extra`` under its name in its ``[hub]`` table), then met pairwise."""
    made = nodes.create_many([(name, "vendor") for name in peers], start=False, run_args=["--hub"])
    by_name = {n.name: n for n in made}
    for hub in made:
        listed = ", ".join(f'"{by_name[p].did}"' for p in peers[hub.name])
        more = (extra or {}).get(hub.name, "")
        with open(hub.home / "config.toml", "a", encoding="utf-8") as config:
            config.write(f"\n[hub]\npeers = [{listed}]\nwork_bits = 8\n{more}\n")
    start_all(made)
    met: set[frozenset[str]] = set()
    for hub in made:
        for other in peers[hub.name]:
            pair = frozenset((hub.name, other))
            if pair not in met:
                met.add(pair)
                meet(hub, by_name[other])
    return made


def held(hub: Node) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in hub.api.get("/api/intents/hub")["intents"]}


def test_a_vendor_at_one_hub_answers_an_intent_cast_at_another(nodes: NodeFactory) -> None:
    hub_a, hub_b = hubs(nodes, {"hub-a": ["hub-b"], "hub-b": ["hub-a"]})
    # Started before they met, each hub warned its operator; now each sees the other, met.
    assert hub_a.log_lines("intents.hub_peer_not_met", peer=hub_b.fingerprint[:9])
    (listed,) = cli("intent", "hub", "--home", hub_a.home)["peers"]
    assert (listed["did"], listed["name"], listed["state"]) == (hub_b.did, "hub-b", "connected")
    person, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(shop, hub_a)
    cli("intent", "subscribe", "--home", shop.home, "--hub", "hub-a", "--category", "goods")
    meet(person, hub_b)
    meet(person, hub_a)

    made = cast(person, hub_b)
    intent_id = made["id"]
    (seen,) = wait_for(lambda: inbox(shop), what="the intent at the shop, through hub A")
    assert seen["id"] == intent_id and seen["via"] == hub_a.did
    at_a, at_b = held(hub_a)[intent_id], held(hub_b)[intent_id]
    assert at_b["origin"] == made["pseudonym"] and at_b["hops_left"] == 2
    assert at_a["origin"] == hub_b.did and at_a["hops_left"] == 1
    assert at_a["sent_to"] == [shop.did], "hub A sends it back to hub B"

    cli("intent", "answer", "--home", shop.home, intent_id[:8], "--price", "180EUR")
    (offer,) = wait_for(
        lambda: person.api.get(f"/api/intents/{intent_id}")["offers"],
        what="the shop's offer, back through hub A and hub B",
    )
    assert offer["vendor"] == shop.did and offer["price"] == "180.00 EUR"
    assert held(hub_b)[intent_id]["offers"] == 1 and held(hub_a)[intent_id]["offers"] == 1

    # Her accept goes out through hub B and hub A; the shop's welcome (its invitation) comes
    # back the same way, and her node joins it and agrees on her terms (§6.1).
    accepted = cli("intent", "accept", "--home", person.home, offer["id"][:12], "--wait", "60s")
    assert accepted["vendor"] == shop.did and accepted["agreement"]
    won = inbox(shop)[0]
    assert won["revealed"] == person.did and won["state"] in ("won", "welcomed")

    cli("intent", "withdraw", "--home", person.home, intent_id[:8])
    receipts = wait_for(
        lambda: len(r := person.api.get(f"/api/intents/{intent_id}")["receipts"]) == 3 and r,
        what="receipts from both hubs and the shop",
    )
    assert {r["deleter"] for r in receipts} == {hub_a.did, hub_b.did, shop.did}
    wait_for(lambda: not held(hub_a) and not inbox(shop), what="hub A and the shop deleted it")

    # Cast at both hubs: each stores it once (her casts are both taken), the forward that
    # crosses the other is dropped, and the shop gets it once and answers once.
    both = cast(person, hub_b, hubs=[hub_a.did, hub_b.did])
    (seen,) = wait_for(lambda: inbox(shop), what="the intent cast at both hubs")
    assert seen["id"] == both["id"]
    cli("intent", "answer", "--home", shop.home, both["id"][:8], "--price", "170EUR")
    wait_for(
        lambda: person.api.get(f"/api/intents/{both['id']}")["offers"],
        what="the offer of the intent cast at both hubs",
    )
    # Each hub took her cast; a forward that met a copy already held was dropped, or her cast
    # met the copy a forward brought and made her pseudonym its way back.
    crossed = [
        line
        for hub in (hub_a, hub_b)
        for what in ("duplicate", "cast-again")
        for line in hub.log_lines("intents.relayed", what=what)
    ]
    assert 1 <= len(crossed) <= 2, crossed
    assert held(hub_a)[both["id"]]["origin"] == both["pseudonym"]
    assert held(hub_b)[both["id"]]["origin"] == both["pseudonym"]
    kept = person.api.get(f"/api/intents/{both['id']}")
    assert kept["offers_kept"] == 1, "the one offer reached her once"


def test_max_hops_stops_an_intent_where_it_runs_out(nodes: NodeFactory) -> None:
    # A chain: hub C lists B, B lists A and C, A lists B. C's intents go one hop (to B); B's two.
    hub_a, hub_b, hub_c = hubs(
        nodes,
        {"hub-a": ["hub-b"], "hub-b": ["hub-a", "hub-c"], "hub-c": ["hub-b"]},
        {"hub-c": "max_hops = 1"},
    )
    person = nodes.create("alice")
    meet(person, hub_b)
    meet(person, hub_c)
    far = cast(person, hub_c)
    wait_for(lambda: far["id"] in held(hub_b), what="the intent at hub B, one hop away")
    assert held(hub_b)[far["id"]]["hops_left"] == 0
    near = cast(person, hub_b)  # B's own go two hops: to A (and C), queued after C's would be
    wait_for(lambda: near["id"] in held(hub_a), what="hub B's own intent at hub A")
    assert held(hub_a)[near["id"]]["hops_left"] == 1
    assert far["id"] not in held(hub_a), "an intent out of hops went on"
