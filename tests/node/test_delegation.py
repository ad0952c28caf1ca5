"""Fourth parties on real daemons (spec/delegation.md): she gives an agent a capability, the
agent accepts and asks her node for a grant, the vendor checks the chain before it holds the
data, and both audit trails say "by agent A for her"; acts outside the capability, and acts
after she revoked it, are refused with their codes."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from tests.node.conftest import Node, NodeFactory, meet, run_amity, wait_for
from tests.node.test_grants import agree, cli, fill_vault, read


def act(agent: Node, cap: str, vendor: Node, fields: str, *, expires: str = "7d",
        purpose: str = "order-fulfilment", status: int = 0) -> dict[str, Any]:  # fmt: skip
    return cli(
        "delegate", "act", "--home", agent.home, cap[:8], vendor.did, "--fields", fields,
        "--purpose", purpose, "--expires", expires, "--wait", "20s", status=status,
    )  # fmt: skip


def accepted(agent: Node, cap: str) -> None:
    wait_for(lambda: any(c["id"] == cap for c in cli("delegate", "list", "--home", agent.home)
                         ["capabilities"]), what="the offer at the agent")  # fmt: skip
    assert cli("delegate", "accept", "--home", agent.home, cap[:8])["state"] == "live"


def test_an_agent_grants_for_her_within_its_capability(nodes: NodeFactory, tmp_path: Path) -> None:
    alice, agent, shop = nodes.create_many(
        [("alice", "person"), ("agent", "person"), ("shop", "vendor")]
    )
    meet(alice, agent)
    meet(alice, shop)
    agree(alice, shop, tmp_path)
    fill_vault(alice)
    cap = cli(
        "delegate", "grant", "--home", alice.home, "agent", "--fields", "email,postal-address",
        "--purpose", "order-fulfilment", "--max-days", "30", "--expires", "30d",
        "--scope", "offers.read", "--note", "my buying agent",
    )["id"]  # fmt: skip
    accepted(agent, cap)

    done = act(agent, cap, shop, "postal-address")
    assert done["outcome"] == "done" and done["grant"], done
    held = wait_for(lambda: read(shop, alice, "postal-address"), what="the vendor holds it")
    assert held.status == 200
    with contextlib.closing(sqlite3.connect(shop.home / "amity.db")) as db:
        kept = db.execute(
            "SELECT count(*), sum(length(body) + length(envelope)) FROM inbox WHERE type = ?",
            ("delegate.deliver",),
        ).fetchone()
    assert kept == (1, 0)  # the delivery's values live in the holdings only (grants.md §8.7)
    seen = cli("delegate", "list", "--home", shop.home)["acts"]
    assert [(a["role"], a["agent"], a["person"]) for a in seen] == [
        ("received", agent.did, alice.did)
    ]
    theirs = cli("log", "--home", shop.home, "alice")["entries"]
    assert any(e["kind"] == "delegate.verified" for e in theirs)
    received = [e for e in theirs if e["kind"] == "grant.received"]
    assert received and "by agent" in received[-1]["detail"], received
    mine = cli("log", "--home", alice.home)["entries"]
    acted = [e for e in mine if e["kind"] == "delegate.acted"]
    assert acted and "by agent" in acted[0]["detail"] and "postal-address" in acted[0]["detail"]

    refusals = {
        "a field it was not given": act(agent, cap, shop, "birth-date", status=3),
        "more days than it allows": act(agent, cap, shop, "email", expires="31d", status=3),
        "another purpose": act(agent, cap, shop, "email", purpose="delivery", status=3),
    }
    assert {k: v["code"] for k, v in refusals.items()} == dict.fromkeys(
        refusals, "delegate.out_of_scope"
    )
    standing = cli(
        "delegate", "grant", "--home", alice.home, "agent", "--fields", "email",
        "--min-standing", "0.5", "--expires", "1d",
    )["id"]  # fmt: skip
    accepted(agent, standing)
    below = act(agent, standing, shop, "email", status=3)
    assert below["code"] == "delegate.out_of_scope" and "standing" in below["reason"]

    cli("delegate", "revoke", "--home", alice.home, cap[:8])
    wait_for(lambda: cap in cli("delegate", "list", "--home", shop.home)["revocations_kept"],
             what="the revocation at the vendor")  # fmt: skip
    wait_for(lambda: next(c for c in cli("delegate", "list", "--home", agent.home)
                          ["capabilities"] if c["id"] == cap)["state"] == "revoked",
             what="the revocation at the agent")  # fmt: skip
    after = run_amity("delegate", "act", "--home", agent.home, cap[:8], shop.did, "--fields",
                      "email", "--purpose", "order-fulfilment", "--expires", "1d")  # fmt: skip
    assert after.returncode == 3 and "revoked" in after.stderr, after.stderr
    human = run_amity("delegate", "list", "--home", alice.home)
    assert "revoked" in human.stdout and "out_of_scope" in human.stdout, human.stdout
    assert alice.status()["rejected"] == 0


def test_an_agent_passes_on_a_narrower_capability(
    nodes: NodeFactory, tmp_path: Path, vendor_store: str | None
) -> None:
    """The shop also on PostgreSQL: what it keeps of a delegated grant, on both engines."""
    alice, agent, helper, shop = nodes.create_many(
        [("alice", "person"), ("agent", "person"), ("helper", "person"), ("shop", "vendor")],
        stores={"shop": vendor_store},
    )
    for a, b in ((alice, agent), (alice, helper), (agent, helper), (alice, shop)):
        meet(a, b)
    agree(alice, shop, tmp_path)
    fill_vault(alice)
    cap = cli(
        "delegate", "grant", "--home", alice.home, "agent", "--fields", "email,postal-address",
        "--expires", "30d", "--redelegate",
    )["id"]  # fmt: skip
    accepted(agent, cap)
    wider = run_amity("delegate", "grant", "--home", agent.home, "helper", "--fields", "phone",
                      "--expires", "1d", "--under", cap[:8])  # fmt: skip
    assert wider.returncode == 3 and "delegate.widened" in wider.stderr, wider.stderr
    passed = cli(
        "delegate", "grant", "--home", agent.home, "helper", "--fields", "email",
        "--max-days", "2", "--expires", "1d", "--under", cap[:8],
    )  # fmt: skip
    assert passed["chain"] == 2 and passed["person"] == alice.did
    accepted(helper, passed["id"])
    done = act(helper, passed["id"], shop, "email", expires="2d", purpose="delivery")
    assert done["outcome"] == "done", done
    assert act(helper, passed["id"], shop, "email", expires="3d", status=3)["code"] == (
        "delegate.out_of_scope"
    )
    wait_for(lambda: read(shop, alice, "email").status == 200, what="the shop holds it")
    (seen,) = cli("delegate", "list", "--home", shop.home)["acts"]
    assert seen["agent"] == helper.did and seen["person"] == alice.did
    cli("delegate", "revoke", "--home", alice.home, cap[:8])
    wait_for(lambda: cap in cli("delegate", "list", "--home", shop.home)["revocations_kept"],
             what="her revocation at the shop")  # fmt: skip
    shop.stop()
    shop.start()  # what the shop keeps survives a restart, on either engine
    after = cli("delegate", "list", "--home", shop.home)
    assert after["revocations_kept"] == [cap] and len(after["acts"]) == 1
