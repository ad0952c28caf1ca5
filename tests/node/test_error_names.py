"""Errors name a peer as the person knows it: its name, with the short fingerprint that tells
two of one name apart; never the fingerprint alone when the node knows a name (issue 19).
Real daemons, driven by the real commands."""

from __future__ import annotations

from amity.protocol.identity import PeerId
from tests.node.conftest import NodeFactory, meet, run_amity, wait_for


def test_a_refusal_names_the_peer_by_its_name_and_fingerprint(nodes: NodeFactory) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    known_as = f"shop ({PeerId.from_did(shop.did).short})"

    attest = run_amity(
        "attest",
        "shop",
        "--clause",
        "amity.no-tracking",
        "--verdict",
        "breached",
        "--home",
        alice.home,
    )
    ended = run_amity("end", "shop", "--home", alice.home)
    assert ended.returncode == 0, ended.stderr
    wait_for(
        lambda: alice.api.get("/api/peers")["peers"][0]["state"] == "ended",
        what="the relationship ends",
    )
    send = run_amity("send", shop.did, "hello", "--home", alice.home)

    assert attest.returncode != 0
    assert f"no agreement with {known_as}: an attestation needs an agreement" in attest.stderr
    assert send.returncode != 0
    assert f"cannot send to {known_as}: the relationship is ended" in send.stderr
