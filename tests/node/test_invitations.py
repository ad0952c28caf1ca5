"""Invitations are not relationships: `amity invitations` lists the unused ones and withdraws
them; `amity peers` lists relationships only, and says online of the live one only."""

from __future__ import annotations

import json

from tests.node.conftest import NodeFactory, invite, is_connected, run_amity, wait_for
from tests.node.test_grants import cli


def test_unused_invitations_are_listed_and_withdrawn_apart_from_peers(
    nodes: NodeFactory,
) -> None:
    shop, alice, bob = nodes.create_many(
        [("shop", "vendor"), ("alice", "person"), ("bob", "person")]
    )
    used = cli("invite", "--home", shop.home)
    spare = cli("invite", "--home", shop.home, "--expires", "1h")
    listed = cli("invitations", "--home", shop.home)["invitations"]
    assert [(i["id"], i["state"]) for i in listed] == [(spare["id"], "open"), (used["id"], "open")]
    assert cli("peers", "--home", shop.home)["peers"] == []

    cli("connect", "--home", alice.home, used["uri"])
    wait_for(lambda: is_connected(shop, alice), what="alice connected")
    assert [i["id"] for i in cli("invitations", "--home", shop.home)["invitations"]] == [
        spare["id"]
    ]
    (peer,) = cli("peers", "--home", shop.home)["peers"]
    assert (peer["peer"], peer["state"], peer["online"]) == (alice.did, "connected", True)

    withdrawn = cli("invitations", "--home", shop.home, "--withdraw", spare["id"][:6])
    assert (withdrawn["id"], withdrawn["state"]) == (spare["id"], "withdrawn")
    again = run_amity("invitations", "--home", shop.home, "--withdraw", spare["id"][:6], "--json")
    assert again.returncode == 1
    assert "only an unused invitation" in json.loads(again.stdout)["error"]["message"]
    unknown = run_amity("invitations", "--home", shop.home, "--withdraw", "ffffffff", "--json")
    assert json.loads(unknown.stdout)["error"]["code"] == "local.not_found"
    # Whoever holds a withdrawn or used invitation hears so from the inviter at once.
    for uri in (spare["uri"], used["uri"]):
        refused = run_amity("connect", "--home", bob.home, uri, "--json")
        assert refused.returncode == 1, refused.stdout
        said = json.loads(refused.stdout)["error"]["message"]
        assert "shop refused this invitation" in said and "ask for a new one" in said
    assert len(bob.log_lines("message.refused_by_peer", code="relationship.invitation_spent")) == 2
    assert [p["peer"] for p in cli("peers", "--home", shop.home)["peers"]] == [alice.did]


def test_online_is_said_of_the_live_relationship_only(nodes: NodeFactory) -> None:
    shop, alice = nodes.create_many([("shop", "vendor"), ("alice", "person")])
    cli("connect", "--home", alice.home, invite(shop))
    wait_for(lambda: is_connected(shop, alice), what="connected")
    cli("end", "--home", alice.home, "shop", "--reason", "moving on")
    wait_for(
        lambda: [p["state"] for p in cli("peers", "--home", shop.home)["peers"]] == ["ended"],
        what="the end at the shop",
    )
    cli("connect", "--home", alice.home, invite(shop))
    wait_for(lambda: is_connected(shop, alice), what="connected again")
    seen = sorted((p["state"], p["online"]) for p in cli("peers", "--home", shop.home)["peers"])
    assert seen == [("connected", True), ("ended", False)]


def test_an_inviter_that_is_not_running_is_said_so_in_plain_words(nodes: NodeFactory) -> None:
    shop, alice = nodes.create_many([("shop", "vendor"), ("alice", "person")])
    uri = invite(shop)
    shop.stop()
    refused = run_amity("connect", "--home", alice.home, uri, "--json")
    assert refused.returncode == 1, refused.stdout
    said = json.loads(refused.stdout)["error"]["message"]
    assert said.startswith("cannot reach shop: nothing listens at ws://127.0.0.1:"), said
    assert "is the node running?" in said
    assert "Connect call failed" not in said and "ssl" not in said
