"""LAN discovery between two real daemons: `amity nearby` lists the other node as a hint."""

from __future__ import annotations

import json

import pytest

from tests.node.conftest import NodeFactory, run_amity, wait_for


def test_two_nodes_see_each_other_nearby(nodes: NodeFactory) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")], mdns=True)
    for node in (alice, shop):
        if not node.api.get("/api/nearby")["enabled"]:
            off = node.log_lines("discovery.off")
            pytest.skip(
                f"LAN discovery could not start on this machine: {off or node.log()[-400:]}"
            )

    def shop_seen() -> list[dict[str, object]]:
        return [n for n in alice.api.get("/api/nearby")["nearby"] if n["did"] == shop.did]

    found = wait_for(shop_seen, what="alice to discover the shop")
    assert found[0]["kind"] == "vendor" and found[0]["name"] == "shop"
    assert found[0]["verified"] is False  # a hint until a handshake proves the key

    listing = run_amity("nearby", "--home", alice.home, "--json")
    assert listing.returncode == 0, listing.stderr
    assert shop.did in [n["did"] for n in json.loads(listing.stdout)["nearby"]]
    text = run_amity("nearby", "--home", alice.home)
    assert "unverified" in text.stdout and shop.did in text.stdout
