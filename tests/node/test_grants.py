"""Vault and grants end to end: real ``amity run`` daemons, driven through the CLI and the API.

A person and a vendor agree on terms (through the terms service's own CLI: the person offers a
terms file, the vendor's owner accepts), the person fills her vault and grants fields; the
vendor's node holds them, serves reads only under a live grant, and deletes them (rows gone
from its SQLite file) on expiry, revocation, the end of the relationship, and after a restart,
each time returning a signed deletion receipt. Outcomes are awaited by polling, never by sleeping.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.node.conftest import Node, NodeFactory, Reply, meet, run_amity, wait_for

TERMS = """\
title = "Alice's shopping terms"
[clause."amity.no-tracking"]
[clause."amity.delete-on-end"]
days = 0
[clause."amity.purpose-limitation"]
purposes = ["delivery", "order-fulfilment"]
"""


def cli(*args: str | Path, status: int = 0) -> dict[str, Any]:
    """Run ``amity … --json``; check the exit status and return the one JSON object printed."""
    result: subprocess.CompletedProcess[str] = run_amity(*args, "--json")
    assert result.returncode == status, f"amity {args}: {result.returncode} {result.stderr}"
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def agree(person: Node, vendor: Node, tmp_path: Path) -> str:
    """The person offers her terms file, the vendor's owner accepts; the agreement id."""
    terms = tmp_path / "terms.toml"
    terms.write_text(TERMS, encoding="utf-8")
    offered = cli("terms", "offer", "--home", person.home, vendor.name, "--file", terms)
    wait_for(
        lambda: vendor.api.request("GET", f"/api/terms/{offered['id']}").status == 200,
        what="the offer reaches the vendor",
    )
    accepted = cli("terms", "accept", "--home", vendor.home, offered["id"][:8])
    agreement_id: str = accepted["agreement_id"]
    wait_for(
        lambda: person.api.request("GET", f"/api/agreements/{agreement_id}").status == 200,
        what="the person holds the agreement",
    )
    return agreement_id


def fill_vault(person: Node) -> None:
    home = person.home
    cli("vault", "set", "--home", home, "email", "email", "alice@example.org")
    cli(
        "vault",
        "set",
        "--home",
        home,
        "postal-address",
        "postal-address",
        "Hauptstr. 5; Berlin; 10115; DE",
    )
    cli("vault", "set", "--home", home, "birth-date", "birth-date", "1990-04-01")


def grant(person: Node, vendor: Node, fields: str, expires: str, purpose: str = "delivery") -> str:
    made = cli(
        "grant", "--home", person.home, vendor.name, "--fields", fields,
        "--purpose", purpose, "--context", "order 42", "--expires", expires,
    )  # fmt: skip
    assert made["state"] == "active" and made["agreement_id"]
    grant_id: str = made["grant_id"]
    return grant_id


def read(vendor: Node, person: Node, field: str, purpose: str | None = None) -> Reply:
    path = f"/api/holdings/{q(person.did)}/{field}"
    if purpose:
        path += f"?purpose={purpose}"
    return vendor.api.request("GET", path)


def granted(person: Node, grant_id: str) -> dict[str, Any]:
    data: dict[str, Any] = person.api.get(f"/api/grants/{grant_id}")
    return data


def deletion_receipt(person: Node, grant_id: str, reason: str) -> dict[str, Any]:
    """Wait until the person holds the signed deletion receipt of ``grant_id``; the grant."""
    shown = wait_for(
        lambda: (g := granted(person, grant_id))["state"] == "deleted" and g,
        what=f"the deletion receipt of {grant_id[:8]}",
    )
    assert shown["deletion_reason"] == reason
    return shown


def held_rows(vendor: Node, grant_id: str) -> int:
    """Value rows of the grant in the vendor's SQLite file (read beside the running node)."""
    with contextlib.closing(sqlite3.connect(vendor.home / "amity.db")) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM held_values WHERE hex(grant_id) = upper(?)", (grant_id,)
        ).fetchone()
    return int(count)


@pytest.fixture(scope="module")
def pair(module_nodes: NodeFactory, tmp_path_factory: pytest.TempPathFactory) -> tuple[Node, Node]:
    """A person and a vendor, connected and agreed, the person's vault filled."""
    alice, shop = module_nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    agree(alice, shop, tmp_path_factory.mktemp("terms"))
    fill_vault(alice)
    return alice, shop


def test_two_fields_for_one_second_are_held_then_deleted(pair: tuple[Node, Node]) -> None:
    alice, shop = pair

    grant_id = grant(alice, shop, "email,postal-address", "1s")

    first = wait_for(lambda: (r := read(shop, alice, "email")).status == 200 and r, timeout=5)
    assert first.body["value"] == "alice@example.org" and first.body["grant_id"] == grant_id
    address = read(shop, alice, "postal-address", "delivery")
    assert address.status == 200, address.body
    assert address.body["value"]["country"] == "DE"
    assert held_rows(shop, grant_id) == 2

    shown = deletion_receipt(alice, grant_id, "expired")

    assert shown["delivered"] is not None
    assert [r["kind"] for r in shown["receipts"]] == ["delivery", "deletion"]
    refused = read(shop, alice, "email")
    assert (refused.status, refused.body["error"]["code"]) == (403, "grants.no_grant")
    assert held_rows(shop, grant_id) == 0
    held = shop.api.get(f"/api/grants/{grant_id}")
    assert (held["side"], held["state"], held["deletion_reason"]) == ("held", "deleted", "expired")


def test_revocation_deletes_at_once(pair: tuple[Node, Node]) -> None:
    alice, shop = pair
    grant_id = grant(alice, shop, "email", "1h")
    wait_for(lambda: read(shop, alice, "email").status == 200, what="the vendor holds it")

    revoked = cli("revoke", "--home", alice.home, grant_id[:8])

    assert revoked["state"] == "revoked" and revoked["awaiting_deletion_receipt"]
    deletion_receipt(alice, grant_id, "revoked")
    assert read(shop, alice, "email").body["error"]["code"] == "grants.no_grant"
    assert held_rows(shop, grant_id) == 0
    again = cli("revoke", "--home", alice.home, grant_id, status=1)
    assert "revoked already" in again["error"]["message"]


def test_reads_outside_a_grant_get_nothing(pair: tuple[Node, Node]) -> None:
    alice, shop = pair
    grant_id = grant(alice, shop, "email", "1h")
    wait_for(lambda: read(shop, alice, "email").status == 200, what="the vendor holds it")

    for field, purpose in [("phone", None), ("postal-address", None), ("email", "marketing")]:
        refused = read(shop, alice, field, purpose)
        assert (refused.status, refused.body["error"]["code"]) == (403, "grants.no_grant")
    via_cli = cli("read", "--home", shop.home, "alice", "birth-date", status=1)
    assert via_cli["error"]["code"] == "grants.no_grant"
    assert cli("read", "--home", shop.home, "alice", "email")["value"] == "alice@example.org"
    not_allowed = cli(
        "grant", "--home", alice.home, "shop", "--fields", "email",
        "--purpose", "marketing", "--expires", "1h", status=1,
    )  # fmt: skip
    assert "limits use of your data to delivery" in not_allowed["error"]["message"]
    log = cli("log", "--home", shop.home, "alice")
    assert log["verified"] and {"grant.read", "grant.refused"} <= {
        e["kind"] for e in log["entries"]
    }
    cli("revoke", "--home", alice.home, grant_id)


def test_holdings_log_receipts_and_requests(pair: tuple[Node, Node], tmp_path: Path) -> None:
    alice, shop = pair
    grant_id = grant(alice, shop, "age-over:18,email", "1h", purpose="order-fulfilment")
    wait_for(lambda: read(shop, alice, "age-over").status == 200, what="the vendor holds it")
    assert read(shop, alice, "age-over").body["statement"].startswith("age >= 18")

    statement = cli("holdings", "--home", alice.home, "shop")

    assert statement["answered"] and statement["verified"] and statement["issuer"] == shop.did
    assert [i["grant_id"] for i in statement["items"]] == [grant_id]
    assert statement["items"][0]["fields"] == ["age-over", "email"]
    human = run_amity("holdings", "--home", alice.home, "shop")
    assert human.returncode == 0 and "signature verified" in human.stdout

    mine = cli("log", "--home", alice.home)
    kinds = [e["kind"] for e in mine["entries"]]
    assert mine["verified"] and mine["head"]["length"] == len(kinds)
    assert {"grant.issued", "grant.delivered", "receipt.received", "holdings.answered"} <= set(
        kinds
    )
    out = tmp_path / "receipt.json"
    cli("receipts", "export", "--home", alice.home, grant_id[:8], "--out", out)
    record = json.loads(out.read_text())
    assert record["version"] == "KI-CR-v1.1.0" and record["amity"]["grantId"] == grant_id
    assert record["services"][0]["purposes"][0]["piiCategory"] == ["age-over", "email"]
    assert record["piiControllers"][0]["piiController"] == "shop"
    assert record["piiControllers"][0]["contact"] == shop.did
    # The same receipt signed by her node: evidence on its own, checked offline.
    signed = tmp_path / "receipt.jws"
    cli("receipts", "export", "--home", alice.home, grant_id[:8], "--out", signed)
    checked = cli("receipts", "verify", signed)
    assert checked["verified"] and checked["signed_by"] == alice.did
    assert checked["receipt"] == record and checked["fields"] == ["age-over", "email"]
    header, payload, signature = signed.read_text().strip().split(".")
    forged = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    signed.write_text(f"{header}.{forged}.{signature}\n")
    refused = run_amity("receipts", "verify", signed)
    assert refused.returncode == 3 and "[audit.bad_jws]" in refused.stderr

    asked = cli(
        "request", "--home", shop.home, "alice", "--fields", "email,phone",
        "--purpose", "delivery", "--expires", "2h",
    )  # fmt: skip
    assert asked["state"] == "sent"
    pending = wait_for(
        lambda: cli("requests", "--home", alice.home, "--pending")["requests"],
        what="the request reaches the person",
    )
    assert pending[0]["fields"] == ["email", "phone"]
    approved = cli(
        "grant", "--home", alice.home, "--request", str(pending[0]["id"]), "--fields", "email"
    )
    assert approved["fields"] == ["email"] and approved["context"] == ""
    wait_for(lambda: read(shop, alice, "email").body.get("grant_id") == approved["grant_id"])


def test_a_vendor_restart_before_expiry_still_deletes_on_time(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    agree(alice, shop, tmp_path)
    fill_vault(alice)
    grant_id = grant(alice, shop, "email", "6s")
    wait_for(lambda: read(shop, alice, "email").status == 200, what="the vendor holds it")
    not_after_ms = granted(alice, grant_id)["not_after_ms"]

    assert shop.stop() == 0
    shop.start()

    assert shop.log_lines("grants.resumed", timers="1")
    shown = deletion_receipt(alice, grant_id, "expired")
    receipt = shown["receipts"][-1]
    assert not_after_ms <= receipt["deleted_ms"] < not_after_ms + 3000
    assert held_rows(shop, grant_id) == 0
    assert time.time() * 1000 >= not_after_ms


def test_ending_the_relationship_deletes_under_delete_on_end(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    agree(alice, shop, tmp_path)
    fill_vault(alice)
    grant_id = grant(alice, shop, "email,postal-address", "30d")
    wait_for(lambda: read(shop, alice, "email").status == 200, what="the vendor holds it")

    cli("end", "--home", alice.home, shop.did)

    held = wait_for(
        lambda: (g := shop.api.get(f"/api/grants/{grant_id}"))["state"] == "deleted" and g,
        what="delete-on-end at the vendor",
    )
    assert held["deletion_reason"] == "relationship-ended"
    assert held_rows(shop, grant_id) == 0
    assert read(shop, alice, "email").body["error"]["code"] == "grants.no_grant"
    # The deletion receipt travels after the end and is accepted (a service's after_end type).
    wait_for(lambda: granted(alice, grant_id)["state"] == "deleted", what="the receipt after end")
    entries = cli("log", "--home", shop.home, "alice")["entries"]
    deleted = [e["detail"] for e in entries if e["kind"] == "grant.deleted"]
    assert deleted == ["relationship-ended: email, postal-address erased; deletion receipt sent"]

    with contextlib.closing(sqlite3.connect(shop.home / "amity.db")) as db, db:
        index, entry = next(
            (i, e)
            for i, e in db.execute("SELECT idx, entry FROM audit_log ORDER BY idx")
            if b"order 42" in e
        )
        edited = entry.replace(b"order 42", b"order 43")  # someone edits what was received
        db.execute("UPDATE audit_log SET entry = ? WHERE idx = ?", (edited, index))
    refused = shop.api.request("GET", "/api/audit")
    assert (refused.status, refused.body["error"]["code"]) == (422, "audit.broken_chain")
    broken = run_amity("log", "--home", shop.home, "--json")
    assert broken.returncode == 3  # the node refused data it holds: a verification failure
    assert json.loads(broken.stdout)["error"]["code"] == "audit.broken_chain"


def test_an_agreement_ends_with_its_relationship(nodes: NodeFactory, tmp_path: Path) -> None:
    """End, meet again, grant: refused, because the agreement ended with the first relationship
    (spec/terms.md §10), on both sides; a new agreement in the new relationship serves."""
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    first = agree(alice, shop, tmp_path)
    fill_vault(alice)
    cli("end", "--home", alice.home, shop.did)
    for node in (alice, shop):
        ended = wait_for(
            lambda n=node: (a := cli("agreements", "--home", n.home, first[:12]))["ended"] and a,
            what=f"the agreement ended at {node.name}",
        )
        assert ended["state"] == "ended"

    meet(alice, shop)
    refused = run_amity(
        "grant", "--home", alice.home, shop.name, "--fields", "email",
        "--purpose", "delivery", "--expires", "30d",
    )  # fmt: skip
    assert refused.returncode == 1
    assert "ended with your earlier relationship" in refused.stderr, refused.stderr
    second = agree(alice, shop, tmp_path)
    assert second != first
    listed = {a["agreement_id"]: a["state"] for a in cli("agreements", "--home", alice.home)[
        "agreements"
    ]}  # fmt: skip
    assert listed == {first: "ended", second: "in force"}
    shown = cli("agreements", "--home", alice.home, second[:12])
    assert shown["concluded"] and shown["concluded"] >= shown["agreed"]
    grant(alice, shop, "email", "30d")
    wait_for(lambda: read(shop, alice, "email").status == 200, what="the grant under the new one")
