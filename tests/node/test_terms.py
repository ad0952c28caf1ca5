"""Terms end to end: real ``amity run`` daemons, driven through the CLI and the local API.

A person offers terms, a vendor's node answers from its policy file (or its owner does), and
both end with the same signed agreement, which ``amity verify`` checks offline. Outcomes are
awaited by polling the local API (see conftest.py), never by sleeping.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.node.conftest import (
    Node,
    NodeFactory,
    connect,
    invite,
    meet,
    run_amity,
    wait_for,
)

POLICY = """\
version = 1
vocabulary = 1
default = "ask-human"

[clause."amity.no-tracking"]
action = "accept"

[clause."amity.purpose-limitation"]
action = "within"
purposes = { include = ["service-provision"] }

[clause."amity.no-third-party-sharing"]
action = "accept"

[clause."amity.delete-on-end"]
action = "within"
days = { min = 30 }
counter = { days = 30 }

[clause."amity.breach-notice"]
action = "within"
hours = { min = 72 }
otherwise = "reject"
reason = "we notify breaches within 72 hours, as the law asks"
"""
ASK_HUMAN = 'version = 1\nvocabulary = 1\ndefault = "ask-human"\n'
MY_TERMS = """\
title = "Alice's terms"
[clause."amity.no-tracking"]
[clause."amity.delete-on-end"]
days = 7
[clause."amity.purpose-limitation"]
purposes = ["service-provision", "delivery"]
"""


def cli(*args: str | Path, status: int = 0) -> dict[str, Any]:
    """Run ``amity … --json``; check the exit status and return the one JSON object printed."""
    result: subprocess.CompletedProcess[str] = run_amity(*args, "--json")
    assert result.returncode == status, f"amity {args}: {result.returncode} {result.stderr}"
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def set_policy(node: Node, tmp_path: Path, text: str) -> None:
    path = tmp_path / f"{node.name}-policy.toml"
    path.write_text(text, encoding="utf-8")
    assert cli("policy", "set", "--home", node.home, path)["in_force"]


def negotiation(node: Node, nid: str) -> dict[str, Any]:
    data: dict[str, Any] = node.api.get(f"/api/terms/{nid}")
    return data


def reaches(node: Node, nid: str, state: str) -> dict[str, Any]:
    """Wait until ``node`` reports negotiation ``nid`` in ``state``; return it."""
    return wait_for(
        lambda: (n := negotiation(node, nid))["state"] == state and n,
        what=f"{node.name}: negotiation {nid[:8]} {state}",
    )


@pytest.fixture(scope="module")
def pair(module_nodes: NodeFactory) -> tuple[Node, Node]:
    """A person and a vendor, connected; each test installs the vendor policy it needs."""
    alice, shop = module_nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    return alice, shop


def test_policy_accepts_p2b1_and_the_exported_agreement_verifies(
    pair: tuple[Node, Node], tmp_path: Path
) -> None:
    alice, shop = pair
    set_policy(shop, tmp_path, POLICY)

    offered = cli("terms", "offer", "--home", alice.home, "shop", "--roster", "P2B1")

    assert offered["state"] == "offered" and offered["terms"]["roster"] == "P2B1"
    ours = reaches(alice, offered["id"], "agreed")
    theirs = reaches(shop, offered["id"], "agreed")
    assert ours["agreement_id"] == theirs["agreement_id"]
    assert (ours["we_are"], theirs["we_are"]) == ("person", "vendor")
    agreement_id = ours["agreement_id"]
    listed = cli("agreements", "--home", shop.home)["agreements"]
    assert agreement_id in [a["agreement_id"] for a in listed]

    exported = tmp_path / "p2b1.agreement"
    cli("agreements", "--home", alice.home, "--export", agreement_id[:8], exported)
    verified = cli("verify", exported)
    assert verified["verified"] is True
    assert verified["agreement_id"] == agreement_id
    assert (verified["person"], verified["vendor"]) == (alice.did, shop.did)
    assert verified["terms"]["terms_id"] == offered["terms"]["terms_id"]
    assert verified["terms"]["clauses"][1]["text"] == "You do not track me beyond our relationship."
    human = run_amity("verify", exported)
    assert human.returncode == 0 and "both signatures verify" in human.stdout

    encoded = exported.read_bytes()
    for where, code in [
        (len(encoded) - 1, "agreement.bad_signature"),  # the vendor's signature
        (encoded.index(b"You do not track"), "agreement.terms_mismatch"),  # the terms' text
    ]:
        tampered = bytearray(encoded)
        tampered[where] ^= 0x01
        exported.write_bytes(bytes(tampered))
        assert cli("verify", exported, status=3)["error"]["code"] == code


def test_a_counter_from_the_policy_is_accepted_by_the_person(
    pair: tuple[Node, Node], tmp_path: Path
) -> None:
    alice, shop = pair
    set_policy(shop, tmp_path, POLICY)
    terms_file = tmp_path / "mine.toml"
    terms_file.write_text(MY_TERMS, encoding="utf-8")

    offered = cli("terms", "offer", "--home", alice.home, shop.did, "--file", terms_file)

    countered = reaches(alice, offered["id"], "countered")
    assert countered["our_turn"] and countered["rounds"] == 2
    days = {c["id"]: c["params"] for c in countered["terms"]["clauses"]}
    assert days["amity.delete-on-end"] == {"days": 30}
    editable = run_amity("terms", "show", "--home", alice.home, offered["id"][:8], "--toml")
    assert '[clause."amity.delete-on-end"]\ndays = 30' in editable.stdout

    accepted = cli("terms", "accept", "--home", alice.home, offered["id"][:8])

    assert accepted["state"] == "agreed"
    theirs = reaches(shop, offered["id"], "agreed")
    assert theirs["agreement_id"] == accepted["agreement_id"]
    assert theirs["terms"]["terms_id"] == countered["terms"]["terms_id"]


def test_a_rejecting_policy_ends_it_with_reasons(pair: tuple[Node, Node], tmp_path: Path) -> None:
    alice, shop = pair
    set_policy(shop, tmp_path, POLICY)

    offered = cli("terms", "offer", "--home", alice.home, "shop", "--roster", "AMITY-STRICT")

    rejected = reaches(alice, offered["id"], "rejected")
    assert rejected["reasons"] == [
        {
            "clause": "amity.breach-notice",
            "reason": "we notify breaches within 72 hours, as the law asks",
        }
    ]
    assert rejected["agreement_id"] is None
    assert reaches(shop, offered["id"], "rejected")["our_turn"] is False
    shown = run_amity("terms", "show", "--home", alice.home, offered["id"])
    assert "amity.breach-notice: we notify breaches" in shown.stdout


def test_ask_human_waits_until_the_vendor_owner_accepts(
    pair: tuple[Node, Node], tmp_path: Path
) -> None:
    alice, shop = pair
    set_policy(shop, tmp_path, ASK_HUMAN)

    offered = cli("terms", "offer", "--home", alice.home, "shop", "--roster", "AMITY-SHOP")

    nid = offered["id"]
    wait_for(lambda: shop.log_lines("terms.waiting", negotiation=nid[:8]), what="shop waits")
    waiting = negotiation(shop, nid)
    assert (waiting["state"], waiting["our_turn"]) == ("offered", True)
    assert negotiation(alice, nid)["state"] == "offered"
    not_hers = cli("terms", "accept", "--home", alice.home, nid, status=1)
    assert not_hers["error"]["code"] == "local.state"

    accepted = shop.api.post(f"/api/terms/{nid}/accept")

    assert accepted["state"] == "agreed"
    assert reaches(alice, nid, "agreed")["agreement_id"] == accepted["agreement_id"]


def test_an_unanswered_offer_expires_on_both_sides(pair: tuple[Node, Node], tmp_path: Path) -> None:
    alice, shop = pair
    set_policy(shop, tmp_path, ASK_HUMAN)

    offered = cli(
        "terms", "offer", "--home", alice.home, "shop", "--roster", "P2B1", "--expires", "2s"
    )

    assert reaches(shop, offered["id"], "expired")["open"] is False
    assert reaches(alice, offered["id"], "expired")["agreement_id"] is None


def test_a_vendor_restart_keeps_the_negotiation_and_its_deadline(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    set_policy(shop, tmp_path, ASK_HUMAN)
    kept = cli("terms", "offer", "--home", alice.home, "shop", "--roster", "P2B1")
    lapsing = cli(
        "terms", "offer", "--home", alice.home, "shop", "--roster", "P2B1", "--expires", "4s"
    )
    reaches(shop, kept["id"], "offered")
    reaches(shop, lapsing["id"], "offered")

    assert shop.stop() == 0
    shop.start()

    assert shop.log_lines("terms.resumed", timers="2")
    assert negotiation(shop, kept["id"])["state"] == "offered"
    reaches(shop, lapsing["id"], "expired")  # the deadline was armed again at start
    reaches(alice, lapsing["id"], "expired")
    accepted = cli("terms", "accept", "--home", shop.home, kept["id"][:8])
    assert reaches(alice, kept["id"], "agreed")["agreement_id"] == accepted["agreement_id"]


def test_policy_and_terms_mistakes_name_what_to_fix(
    pair: tuple[Node, Node], tmp_path: Path
) -> None:
    alice, shop = pair
    set_policy(shop, tmp_path, POLICY)
    bad = tmp_path / "bad.toml"
    bad.write_text(ASK_HUMAN + '[clause."amity.delete-on-end"]\naction = "within"\ndays = 7\n')

    offline = cli("policy", "check", bad, status=1)["error"]
    online = shop.api.request("PUT", "/api/policy", {"toml": bad.read_text()})

    assert offline["code"] == "local.policy" and "line 6" in offline["message"]
    assert online.status == 400
    assert (online.body["error"]["line"], online.body["error"]["field"]) == (
        6,
        "clause.amity.delete-on-end.days",
    )
    assert cli("policy", "show", "--home", shop.home)["in_force"]  # the old one stands
    missing = cli("terms", "show", "--home", alice.home, "0000", status=1)["error"]
    assert missing["code"] == "local.not_found"
    assert shop.api.request("GET", "/api/terms/0000").status == 404
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[clause."amity.delete-on-end"]\ndays = 900\n')
    refused = cli("terms", "offer", "--home", alice.home, "shop", "--file", wrong, status=1)
    assert "amity.delete-on-end.days" in refused["error"]["message"]


def test_policy_check_shows_the_decision_for_each_roster_agreement(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)

    decisions = {d["name"]: d for d in cli("policy", "check", policy)["decisions"]}

    assert decisions["P2B1"]["decision"] == "accept"
    assert decisions["AMITY-SHOP"]["decision"] == "ask-human"
    assert decisions["AMITY-STRICT"]["decision"] == "reject"
    assert decisions["AMITY-STRICT"]["reasons"][0]["clause"] == "amity.breach-notice"


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_deeply_nested_files_are_refused_with_a_message(tmp_path: Path, suffix: str) -> None:
    """Nesting deeper than a parser can follow is a usage error, not a traceback (issue 14)."""
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    deep_policy = tmp_path / "deep-policy.toml"
    deep_policy.write_text(POLICY + "x = " + "[" * 5000 + "\n")
    deep_terms = tmp_path / f"deep-terms{suffix}"
    nested = "[" * 5000 if suffix == ".json" else "x = " + "{ a = " * 5000
    deep_terms.write_text(nested)

    refused_policy = cli("policy", "check", deep_policy, status=1)["error"]
    refused_terms = cli("policy", "check", policy, "--terms", deep_terms, status=1)["error"]

    assert refused_policy["code"] == "local.policy" and "nest" in refused_policy["message"]
    assert refused_terms["code"] == "local.usage" and deep_terms.name in refused_terms["message"]


def test_a_vendor_card_publishes_its_policy(nodes: NodeFactory, tmp_path: Path) -> None:
    shop = nodes.create("shop", "vendor")
    set_policy(shop, tmp_path, POLICY)
    uri = invite(shop)
    shown = cli("card", "show", uri)
    assert shown["policy"]["default"] == "ask-human"
    assert shown["policy"]["clauses"]["amity.no-tracking"] == "accept"
    assert shown["policy"]["clauses"]["amity.breach-notice"] == "within"
    text = run_amity("card", "show", uri)
    assert "policy:" in text.stdout and "amity.no-tracking (accept)" in text.stdout

    alice = nodes.create("alice", "person")
    connect(alice, uri)
    seen = wait_for(lambda: alice.peer(shop.did), what="alice's record of the shop")
    assert seen["policy"]["clauses"] == shown["policy"]["clauses"]
