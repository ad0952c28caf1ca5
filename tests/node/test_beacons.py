"""Support beacons on real daemons (spec/beacons.md): she raises one to the shop and a friend,
both answer in threads of their own, she answers the shop, closes; a closed beacon takes no
more answers."""

from __future__ import annotations

from typing import Any

from tests.node.conftest import Node, NodeFactory, meet, run_amity, wait_for
from tests.node.test_grants import cli


def _beacons(node: Node) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cli("beacon", "list", "--home", node.home)["beacons"]
    return found


def test_raise_answer_close(nodes: NodeFactory) -> None:
    alice, bob, shop = nodes.create_many(
        [("alice", "person"), ("bob", "person"), ("shop", "vendor")]
    )
    meet(alice, shop)
    meet(alice, bob)
    raised = cli(
        "beacon", "raise", "--home", alice.home, "my bike's gears slip", "--to", "shop",
        "--to", "bob", "--about", "shop", "--text", "Third gear jumps under load.",
    )  # fmt: skip
    bid = raised["id"]
    assert sorted(raised["to"]) == sorted([shop.did, bob.did])
    for peer, text in ((shop, "bring it in: free adjustment"), (bob, "try the barrel adjuster")):
        wait_for(lambda p=peer: _beacons(p), what=f"the beacon at {peer.name}")
        cli("beacon", "answer", "--home", peer.home, bid[:8], text)
    mine = wait_for(
        lambda: len((b := _beacons(alice)[0])["thread"]) == 2 and b, what="both answers"
    )
    assert {x["from"] for x in mine["thread"]} == {shop.did, bob.did}
    cli("beacon", "answer", "--home", alice.home, bid[:8], "tomorrow at 10?", "--to", "shop")
    wait_for(lambda: len(_beacons(shop)[0]["thread"]) == 2, what="her answer at the shop")
    assert [x["text"] for x in _beacons(bob)[0]["thread"]] == ["try the barrel adjuster"]

    cli("beacon", "close", "--home", alice.home, bid[:8])
    wait_for(lambda: _beacons(bob)[0]["state"] == "closed", what="the close at bob's")
    late = run_amity("beacon", "answer", "--home", bob.home, bid[:8], "late")
    assert late.returncode == 1 and "closed" in late.stderr
