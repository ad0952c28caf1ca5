"""A vendor changes its published policy, on real daemons (spec/signals.md §4).

Two customers hold agreements with one shop; one of them is offline. The shop tightens its
policy so that it would no longer sign those terms. The shop's owner is told which agreements
that touches and that they still bind; the online customer's node hears of it at once (a hello
with the new card on the live link), the offline one when it next reaches the shop; each is told in words what
changed and that her agreement holds. Nothing about the agreements changes on either side.
"""

from __future__ import annotations

import html
import urllib.parse
import urllib.request
from pathlib import Path

from tests.node.conftest import Node, NodeFactory, meet, run_amity, wait_for
from tests.node.test_grants import TERMS, cli
from tests.node.test_terms import set_policy

COMMON = """\
version = 1
vocabulary = 1
default = "ask-human"

[clause."amity.no-tracking"]
action = "accept"

[clause."amity.purpose-limitation"]
action = "accept"
"""
LOOSE = (
    COMMON
    + """
[clause."amity.delete-on-end"]
action = "accept"
"""
)
STRICT = (
    COMMON
    + """
[clause."amity.delete-on-end"]
action = "within"
days = { min = 30 }
otherwise = "reject"
reason = "we keep records 30 days for returns"
"""
)


def _agree(person: Node, vendor: Node, tmp_path: Path) -> str:
    """Her terms, which the vendor's policy accepts by itself: the agreement id."""
    terms = tmp_path / f"{person.name}-terms.toml"
    terms.write_text(TERMS, encoding="utf-8")
    offered = cli("terms", "offer", "--home", person.home, vendor.name, "--file", terms)
    agreement: str = wait_for(
        lambda: person.api.get(f"/api/terms/{offered['id']}")["agreement_id"],
        what="the vendor's policy accepts",
    )
    return agreement


def _page(person: Node, peer: Node) -> str:
    """Her dashboard's page of ``peer``, signed in with the one-time link of `amity ui`."""
    link = cli("ui", "--home", person.home)["url"]
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(link, timeout=10) as signed_in:
        base = signed_in.geturl().split("/ui/")[0]
    path = "/ui/peers/" + urllib.parse.quote(peer.did, safe="")
    with opener.open(base + path, timeout=10) as answer:
        text: str = answer.read().decode("utf-8")
    return html.unescape(text)


def _policy_entries(node_home: Path) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = cli("log", "--home", node_home, "shop")["entries"]
    return [e for e in entries if e["kind"] == "terms.policy"]


def test_a_vendor_that_tightens_its_policy_tells_every_customer(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    alice, bob, shop = nodes.create_many(
        [("alice", "person"), ("bob", "person"), ("shop", "vendor")]
    )
    set_policy(shop, tmp_path, LOOSE)
    agreed = {}
    for person in (alice, bob):
        meet(person, shop)
        agreed[person.name] = _agree(person, shop, tmp_path)
    assert cli("agreements", "--home", alice.home)["agreements"][0]["policy_check"]["welcome"]
    assert bob.stop() == 0

    strict = tmp_path / "strict.toml"
    strict.write_text(STRICT, encoding="utf-8")
    changed = cli("policy", "set", "--home", shop.home, strict)["change"]

    # The shop's owner: what changed, who was told, which agreements it would not sign now.
    assert changed["told"] == 2  # both connected relationships; bob's hello waits in the outbox
    assert [c["clause"] for c in changed["changes"]] == ["amity.delete-on-end"]
    assert changed["not_welcome"] == 2
    for check in changed["agreements"]:
        assert check["holds"] and check["verdict"] == "reject"
        assert check["clauses"] == ["amity.delete-on-end"]
    human = run_amity("policy", "set", "--home", shop.home, strict)
    assert human.returncode == 0, human.stderr
    assert "2 agreement(s) in force hold terms this policy would not sign now" in human.stdout
    assert "told" not in human.stdout  # the same policy again: nobody is told twice

    # Alice (online) is told at once, in words, and her agreement still holds.
    entries = wait_for(lambda: _policy_entries(alice.home), what="alice hears of the change")
    assert len(entries) == 1
    detail = str(entries[0]["detail"])
    assert "shop changed its published policy" in detail
    assert "amity.delete-on-end: accepts -> now accepts days 30.." in detail, detail
    assert "the agreement still holds" in detail and "would refuse amity.delete-on-end" in detail
    listed = cli("agreements", "--home", alice.home)["agreements"]
    assert [(a["agreement_id"], a["state"]) for a in listed] == [(agreed["alice"], "in force")]
    check = listed[0]["policy_check"]
    assert check["welcome"] is False and check["verdict"] == "reject"
    shown = run_amity("agreements", "--home", alice.home)
    assert "its vendor's policy now: the agreement still holds" in shown.stdout
    # Her dashboard says so on the shop's page.
    assert "would no longer sign these terms as they are (amity.delete-on-end)" in _page(
        alice, shop
    )
    # The shop's side of the agreement is untouched too.
    assert {a["state"] for a in cli("agreements", "--home", shop.home)["agreements"]} == {
        "in force"
    }

    # Bob was offline: he hears of it once he is back and his node reaches the shop (his card
    # names no endpoint, so the shop cannot dial him; his next message dials it).
    bob.start()
    cli("send", "--home", bob.home, "shop", "back again")
    wait_for(lambda: _policy_entries(bob.home), what="bob hears of the change on his return")
    wait_for(lambda: shop.pending() == 0, what="the shop's outbox to drain")
    assert len(_policy_entries(bob.home)) == 1
    assert len(_policy_entries(alice.home)) == 1  # and alice only once
