"""LAN discovery between two real daemons: `amity nearby` lists the other node as a hint."""

from __future__ import annotations

import json

import pytest

from tests.node.conftest import Node, NodeFactory, run_amity, wait_for


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


def test_a_node_on_loopback_browses_but_announces_nothing(nodes: NodeFactory) -> None:
    """It would announce an address where nobody can reach it: it announces nothing."""
    seen = nodes.create("seen", "vendor", mdns=True)
    hidden = nodes.create("hidden", "person", mdns=True, start=False)
    hidden.run_args = [*hidden.run_args, "--listen", f"127.0.0.1:{_port(hidden)}"]
    hidden.start()
    for node in (seen, hidden):
        if not node.api.get("/api/nearby")["enabled"]:
            pytest.skip(f"LAN discovery could not start on this machine: {node.log()[-400:]}")
    assert hidden.api.get("/api/nearby")["announced"] is False
    assert seen.api.get("/api/nearby")["announced"] is True
    wait_for(
        lambda: seen.did in [n["did"] for n in hidden.api.get("/api/nearby")["nearby"]],
        what="the loopback node to see the announced one",
    )
    assert hidden.log_lines("discovery.browse_only")
    # The announced node has had the time the other needed to see it; it never sees the other.
    assert hidden.did not in [n["did"] for n in seen.api.get("/api/nearby")["nearby"]]
    text = run_amity("nearby", "--home", hidden.home)
    assert "others do not see this node" in text.stdout


def _port(node: Node) -> int:
    listen = (node.home / "config.toml").read_text(encoding="utf-8").split("listen = ")[1]
    return int(listen.split('"')[1].rsplit(":", 1)[1])
