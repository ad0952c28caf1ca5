"""Change once, everywhere, on real daemons (spec/signals.md §2).

A person with three vendors: two hold her postal address under live grants, the third's grant
has expired (and its data is deleted). One of the two is offline when she moves. `amity vault
set` reports who was updated; the online vendor holds the new address at once and returns an
update receipt; the offline one gets it when it is back, once; the third gets nothing.
"""

from __future__ import annotations

from pathlib import Path

from tests.node.conftest import NodeFactory, meet, run_amity, wait_for
from tests.node.test_grants import agree, cli, deletion_receipt, grant, granted, held_rows, read

OLD = "Hauptstr. 5; Berlin; 10115; DE"
NEW = "Rue de la Paix 1; Paris; 75002; FR"


def _audited(node_home: Path, peer: str, kind: str) -> int:
    entries = cli("log", "--home", node_home, peer)["entries"]
    return sum(1 for e in entries if e["kind"] == kind)


def test_a_new_address_reaches_every_live_grantee_once(nodes: NodeFactory, tmp_path: Path) -> None:
    alice, near, away, past = nodes.create_many(
        [("alice", "person"), ("near", "vendor"), ("away", "vendor"), ("past", "vendor")]
    )
    for vendor in (near, away, past):
        meet(alice, vendor)
        agree(alice, vendor, tmp_path / vendor.name)
    cli("vault", "set", "--home", alice.home, "email", "email", "alice@example.org")
    cli("vault", "set", "--home", alice.home, "postal-address", "postal-address", OLD)
    near_grant = grant(alice, near, "postal-address", "1h")
    away_grant = grant(alice, away, "email,postal-address", "1h")
    past_grant = grant(alice, past, "postal-address", "2s")
    for vendor in (near, away):
        wait_for(lambda v=vendor: read(v, alice, "postal-address").status == 200)
    deletion_receipt(alice, past_grant, "expired")
    assert away.stop() == 0

    changed = cli("vault", "set", "--home", alice.home, "postal-address", "postal-address", NEW)

    outcomes = {u["peer_name"]: u for u in changed["updates"]}
    assert set(outcomes) == {"near", "away", "past"}
    assert (outcomes["near"]["updated"], outcomes["near"]["version"]) == (True, 1)
    assert (outcomes["away"]["updated"], outcomes["away"]["version"]) == (True, 1)
    assert not outcomes["past"]["updated"] and outcomes["past"]["why_not"].startswith("expired")
    # The online vendor holds the new address, its old one deleted, and signs for it.
    shown = wait_for(
        lambda: (g := granted(alice, near_grant))["version_receipted"] == 1 and g,
        what="near's update receipt",
    )
    assert shown["version"] == 1 and [r["kind"] for r in shown["receipts"]] == [
        "delivery",
        "update",
    ]
    assert read(near, alice, "postal-address").body["value"]["city"] == "Paris"
    assert held_rows(near, near_grant) == 1
    assert near.api.get(f"/api/grants/{near_grant}")["version"] == 1
    listed = run_amity("grants", "--home", alice.home)
    assert (
        f"{near_grant[:8]}  near" in listed.stdout
        and "active, v1 sent, v1 receipted" in listed.stdout
    )
    statement = cli("holdings", "--home", alice.home, "near")
    assert [(i["grant_id"], i["version"]) for i in statement["items"]] == [(near_grant, 1)]
    # The expired grant's vendor got nothing: no update, no value.
    assert read(past, alice, "postal-address").body["error"]["code"] == "grants.no_grant"
    assert _audited(past.home, "alice", "grant.updated") == 0

    # The offline vendor gets it on its return, once.
    away.start()
    wait_for(
        lambda: granted(alice, away_grant)["version_receipted"] == 1,
        what="away's update receipt after it came back",
    )
    moved = read(away, alice, "postal-address")
    assert moved.body["value"]["city"] == "Paris" and moved.body["grant_id"] == away_grant
    assert read(away, alice, "email").body["value"] == "alice@example.org"
    assert held_rows(away, away_grant) == 2
    wait_for(lambda: alice.pending() == 0, what="alice's outbox to drain")
    assert _audited(away.home, "alice", "grant.updated") == 1
    assert [r["kind"] for r in granted(alice, away_grant)["receipts"]] == ["delivery", "update"]
    assert not any(g["version"] for g in [granted(alice, past_grant)])

    # Setting the same value again signals nothing; the human output names who was updated.
    again = cli("vault", "set", "--home", alice.home, "postal-address", "postal-address", NEW)
    assert again["updates"] == []
    human = run_amity("vault", "set", "--home", alice.home, "email", "email", "a@example.net")
    assert human.returncode == 0, human.stderr
    assert "updated  away: grant" in human.stdout and "version 2" in human.stdout
    assert "near" not in human.stdout  # near's grant does not name the email


NEW_TERMS = """\
title = "Alice's shopping terms, 2027"
[clause."amity.no-tracking"]
[clause."amity.delete-on-end"]
days = 0
[clause."amity.purpose-limitation"]
purposes = ["delivery"]
"""


def test_changed_terms_ask_every_peer_with_an_agreement(nodes: NodeFactory, tmp_path: Path) -> None:
    alice, yes, no, gone = nodes.create_many(
        [("alice", "person"), ("yes", "vendor"), ("no", "vendor"), ("gone", "vendor")]
    )
    agreed = {}
    for vendor in (yes, no, gone):
        meet(alice, vendor)
        agreed[vendor.name] = agree(alice, vendor, tmp_path / vendor.name)
    cli("end", "--home", alice.home, gone.did)
    terms = tmp_path / "new.toml"
    terms.write_text(NEW_TERMS, encoding="utf-8")

    changed = cli("terms", "change", "--home", alice.home, "--file", terms, "--expires", "1h")

    by_peer = {c["peer_name"]: c for c in changed["changes"]}
    # The agreement with gone ended with its relationship: it is not in force, nobody to ask.
    assert {n: c["offered"] for n, c in by_peer.items()} == {"yes": True, "no": True}
    assert {by_peer[n]["agreement_id"] for n in ("yes", "no")} == {agreed["yes"], agreed["no"]}
    for vendor in (yes, no):
        nid = by_peer[vendor.name]["negotiation_id"]
        wait_for(
            lambda v=vendor, n=nid: v.api.request("GET", f"/api/terms/{n}").status == 200,
            what=f"the amendment reaches {vendor.name}",
        )
    # Nothing changes until a vendor agrees: one accepts, the other refuses.
    cli("terms", "accept", "--home", yes.home, by_peer["yes"]["negotiation_id"][:8])
    cli("terms", "reject", "--home", no.home, by_peer["no"]["negotiation_id"][:8])
    old_yes = wait_for(
        lambda: (a := alice.api.get(f"/api/agreements/{agreed['yes']}"))["superseded_by"] and a,
        what="the amendment agreed with yes",
    )
    new = alice.api.get(f"/api/agreements/{old_yes['superseded_by']}")
    assert new["terms"]["terms_id"] == changed["terms_id"]
    wait_for(
        lambda: (
            alice.api.get(f"/api/terms/{by_peer['no']['negotiation_id']}")["state"] == "rejected"
        ),
        what="no's rejection",
    )
    assert alice.api.get(f"/api/agreements/{agreed['no']}")["superseded_by"] is None
    # Asked again: yes already agreed to them; no is asked anew.
    again = cli("terms", "change", "--home", alice.home, "--file", terms)
    reasons = {c["peer_name"]: c["why_not"] for c in again["changes"]}
    assert reasons["yes"] == "already agreed to these terms" and reasons["no"] == ""
    human = run_amity("terms", "change", "--home", alice.home, "--file", terms)
    assert human.returncode == 0, human.stderr
    assert "not    no:" in human.stdout and "an amendment of it is open already" in human.stdout
