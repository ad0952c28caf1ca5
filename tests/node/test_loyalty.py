"""Loyalty she declares, on real daemons (spec/loyalty.md): declared to a vendor, verified and
kept there, revoked; a declaration to a friend (not a vendor) is refused at her node."""

from __future__ import annotations

from tests.node.conftest import NodeFactory, meet, run_amity, wait_for
from tests.node.test_grants import cli


def test_declare_list_revoke(nodes: NodeFactory) -> None:
    alice, bob, shop = nodes.create_many(
        [("alice", "person"), ("bob", "person"), ("shop", "vendor")]
    )
    meet(alice, shop)
    meet(alice, bob)
    made = cli(
        "loyalty", "declare", "--home", alice.home, "shop", "--since", "2024-01-01",
        "--until", "2030-01-01", "--category", "goods.bicycles", "--note", "since my first bike",
    )  # fmt: skip
    assert made["mine"] and made["vendor"] == shop.did and made["state"] == "live"

    def at_shop() -> dict[str, object] | None:
        found = cli("loyalty", "list", "--home", shop.home)["declarations"]
        return found[0] if found else None

    held = wait_for(at_shop, what="the declaration at the shop")
    assert held["id"] == made["id"] and held["person"] == alice.did and not held["mine"]
    assert held["categories"] == ["goods.bicycles"] and held["note"] == "since my first bike"

    to_friend = run_amity(
        "loyalty", "declare", "--home", alice.home, "bob", "--until", "2030-01-01"
    )
    assert to_friend.returncode == 1 and "not a vendor" in to_friend.stderr, to_friend.stderr

    cli("loyalty", "revoke", "--home", alice.home, made["id"][:8])
    wait_for(lambda: (h := at_shop()) is not None and h["state"] == "revoked",
             what="the revocation at the shop")  # fmt: skip
    again = run_amity("loyalty", "revoke", "--home", alice.home, made["id"][:8])
    assert again.returncode == 1 and "already revoked" in again.stderr
    human = run_amity("loyalty", "list", "--home", alice.home)
    assert "revoked" in human.stdout and "goods.bicycles" in human.stdout
