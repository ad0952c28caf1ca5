"""``amity customers export`` on real daemons: what each customer granted the shop, one row per
grant, as CSV a spreadsheet or CRM reads and as JSON lines; names of fields, never values."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.node.conftest import NodeFactory, meet, run_amity, wait_for
from tests.node.test_grants import agree, cli, fill_vault, grant, read


def test_the_shop_exports_its_customers_grants(nodes: NodeFactory, tmp_path: Path) -> None:
    alice, bob, shop = nodes.create_many(
        [("alice", "person"), ("bob", "person"), ("shop", "vendor")]
    )
    for person in (alice, bob):
        meet(person, shop)
        agree(person, shop, tmp_path / person.name)
        fill_vault(person)
    alice_grant = grant(alice, shop, "email", "1h")
    bob_grant = grant(bob, shop, "email,postal-address", "2h", purpose="order-fulfilment")
    for person in (alice, bob):
        wait_for(lambda p=person: read(shop, p, "email").status == 200, what="the delivery")

    out = tmp_path / "customers.csv"
    written = cli("customers", "export", "--home", shop.home, "--format", "csv", "--out", out)
    assert written["bytes"] == out.stat().st_size > 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = {r["grant_id"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {alice_grant, bob_grant}
    assert (rows[alice_grant]["customer"], rows[alice_grant]["customer_name"]) == (
        alice.did,
        "alice",
    )
    assert rows[bob_grant]["fields"] == "email;postal-address"
    assert rows[bob_grant]["purpose"] == "order-fulfilment"
    assert rows[bob_grant]["context"] == "order 42" and rows[bob_grant]["state"] == "held"
    assert "@example.org" not in out.read_text(encoding="utf-8")  # names of fields, no values

    lines = run_amity("customers", "export", "--home", shop.home, "--format", "jsonl")
    assert lines.returncode == 0, lines.stderr
    objects = [json.loads(line) for line in lines.stdout.splitlines()]
    assert {o["grant_id"] for o in objects} == {alice_grant, bob_grant}
    assert next(o for o in objects if o["grant_id"] == alice_grant)["fields"] == ["email"]

    # A disk that fills up is said in words, not as the node's fault or a traceback.
    full = run_amity("customers", "export", "--home", shop.home, "--out", "/dev/full")
    assert full.returncode == 1 and "cannot write /dev/full: No space left" in full.stderr
    assert "Traceback" not in full.stderr and "stopped answering" not in full.stderr

    refused = shop.api.request("GET", "/api/customers/export?format=xlsx")
    assert refused.status == 400 and refused.body["error"]["code"] == "local.usage"
    empty = tmp_path / "none.csv"
    cli("customers", "export", "--home", alice.home, "--out", empty)
    assert empty.read_text(encoding="utf-8").startswith("customer,customer_name,grant_id")
