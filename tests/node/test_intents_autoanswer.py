"""A vendor's policy file answers intents by itself, on real daemons (spec/intents.md §5.2).

The shop's policy.toml accepts the roster terms and says it answers bicycles in France at
120 EUR each; an intent that fits gets its offer without anyone at the shop, and ``amity intent
inbox`` shows it answered by the rule; one over her budget waits for a person. A mistake in the
rules is refused with its line and field, and the file in force stays; an edit is read again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fuzzing.intents import ACCEPT_ALL
from tests.node.conftest import NodeFactory, meet, run_amity, wait_for
from tests.node.test_grants import cli
from tests.node.test_intents import cast, inbox

RULE = """
[[intents.answer]]
categories = ["goods.bicycles"]
price = "120EUR"
regions = ["FR"]
lead_time = "1d"
valid = "1d"
terms_of_sale = "Delivered in a week; 30-day returns."
"""


def test_the_policy_file_answers_the_intents_that_fit(nodes: NodeFactory, tmp_path: Path) -> None:
    hub = nodes.create("hub", "vendor", start=False, run_args=["--hub"])
    with open(hub.home / "config.toml", "a", encoding="utf-8") as config:
        config.write("\n[hub]\nwork_bits = 8\n")
    hub.start()
    person, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    (shop.home / "policy.toml").write_text(ACCEPT_ALL + RULE, encoding="utf-8")
    meet(shop, hub)
    meet(person, hub)
    cli("intent", "subscribe", "--home", shop.home, "--hub", "hub", "--category", "goods")
    (rule,) = cli("policy", "show", "--home", shop.home)["intent_rules"]
    assert rule["price"] == "120.00 EUR" and "P2B1" in rule["terms"]

    # A mistake in the rules: refused with its line and field; the file in force stays.
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(ACCEPT_ALL + RULE.replace('"1d"\nterms', '"1 day"\nterms'), encoding="utf-8")
    refused = run_amity("policy", "set", "--home", shop.home, wrong, "--json")
    assert refused.returncode == 1, refused.stdout
    error = json.loads(refused.stdout)["error"]
    line = ACCEPT_ALL.count("\n") + 7
    assert f"line {line}, field intents.answer[1].valid" in error["message"], error
    assert run_amity("policy", "check", wrong).returncode == 1
    assert cli("policy", "show", "--home", shop.home)["intent_rules"] == [rule]

    dear = cast(person, hub, budget="100EUR")  # 120 EUR does not fit: a person decides
    fits = cast(person, hub, quantity=2)  # 240 EUR within 300 EUR, in FR: the rule answers
    (offer,) = wait_for(
        lambda: person.api.get(f"/api/intents/{fits['id']}")["offers"],
        what="the shop's offer, made by its policy file",
    )
    assert offer["vendor"] == shop.did and offer["price"] == "240.00 EUR"
    assert offer["terms_of_sale"] == "Delivered in a week; 30-day returns."
    held: dict[str, dict[str, Any]] = {
        i["id"]: i for i in cli("intent", "inbox", "--home", shop.home)["intents"]
    }
    assert held[fits["id"]]["state"] == "answered" and held[fits["id"]]["answered_by"] == "rule"
    assert held[dear["id"]]["state"] == "new" and held[dear["id"]]["answered_by"] is None
    text = run_amity("intent", "inbox", "--home", shop.home).stdout
    assert "answered by rule" in text and "offered 240.00 EUR" in text, text

    # The owner answers the one the rule left, by hand; the inbox tells the two apart.
    cli("intent", "answer", "--home", shop.home, dear["id"][:8], "--price", "99EUR")
    by_hand = {i["id"]: i for i in inbox(shop)}[dear["id"]]
    assert by_hand["answered_by"] == "person"

    # An edit of the file is read again: the next intent gets the new price.
    (shop.home / "policy.toml").write_text(
        ACCEPT_ALL + RULE.replace("120EUR", "110EUR"), encoding="utf-8"
    )
    later = cast(person, hub)
    (offer,) = wait_for(
        lambda: person.api.get(f"/api/intents/{later['id']}")["offers"],
        what="the offer at the new price",
    )
    assert offer["price"] == "110.00 EUR"
