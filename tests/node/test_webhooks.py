"""CRM webhooks on real daemons (spec/webhooks.md): a vendor's node feeds a receiver on
127.0.0.1 that checks every signature with its own HMAC; a receiver that fails, is down, or
hangs; a kill -9 with deliveries pending."""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.node.conftest import Node, NodeFactory, meet, run_amity, send, wait_for
from tests.node.crm import Receiver
from tests.node.test_grants import agree, cli, deletion_receipt, grant

TERMS = """\
title = "Alice's terms"
[clause."amity.delete-on-end"]
days = 1
[clause."amity.purpose-limitation"]
purposes = ["delivery"]
"""


@pytest.fixture
def crm() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


def vendor(nodes: NodeFactory, store: str | None = None, **webhooks: Any) -> Node:
    """A vendor whose config.toml has ``[webhooks]`` set to ``webhooks``, started."""
    shop = nodes.create("shop", "vendor", start=False, store=store)
    lines = "".join(f"{key} = {value!r}\n" for key, value in webhooks.items())
    with open(shop.home / "config.toml", "a", encoding="utf-8") as config:
        config.write(f"\n[webhooks]\n{lines}")
    shop.start()
    return shop


def subscribe(shop: Node, crm: Receiver, secret_file: Path, events: str = "all") -> dict[str, Any]:
    made = cli(
        "webhook", "add", "--home", shop.home, crm.url, "--events", events,
        "--secret-file", secret_file,
    )  # fmt: skip
    crm.secret = secret_file.read_text(encoding="utf-8")
    return made


def deliveries(shop: Node, state: str | None = None) -> list[dict[str, Any]]:
    path = "/api/webhooks/deliveries?limit=1000" + (f"&state={state}" if state else "")
    found: list[dict[str, Any]] = shop.api.get(path)["deliveries"]
    return found


def events_taken(crm: Receiver) -> list[str]:
    return [g.event["type"] for g in crm.taken()]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_every_event_of_a_customer_reaches_the_crm_signed(
    nodes: NodeFactory, crm: Receiver, tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    store = None if engine == "sqlite" else str(request.getfixturevalue("pg_url"))
    crm.start()
    shop = vendor(nodes, store, retry_base_s=0.05, retry_cap_s=0.5)
    alice = nodes.create("alice")
    secret_file = tmp_path / "crm.secret"

    made = subscribe(shop, crm, secret_file)

    assert made["secret_made"] and made["secret_file"] == str(secret_file)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert cli("webhook", "list", "--home", shop.home)["webhooks"][0]["url"] == crm.url
    meet(alice, shop)
    terms = tmp_path / "terms.toml"
    terms.write_text(TERMS, encoding="utf-8")
    offered = cli("terms", "offer", "--home", alice.home, shop.name, "--file", terms)
    wait_for(lambda: shop.api.request("GET", f"/api/terms/{offered['id']}").status == 200)
    cli("terms", "accept", "--home", shop.home, offered["id"][:8])
    wait_for(lambda: alice.api.get("/api/agreements")["agreements"], what="the agreement")
    cli("vault", "set", "--home", alice.home, "email", "email", "alice@example.org")
    expiring = grant(alice, shop, "email", "1s")
    deletion_receipt(alice, expiring, "expired")
    revoked = grant(alice, shop, "email", "30d")
    wait_for(
        lambda: "grant.given" in events_taken(crm) and events_taken(crm).count("grant.given") == 2
    )
    cli("revoke", "--home", alice.home, revoked)
    deletion_receipt(alice, revoked, "revoked")
    live = grant(alice, shop, "email", "30d")
    wait_for(lambda: events_taken(crm).count("grant.given") == 3, what="the third grant")
    cli("vault", "set", "--home", alice.home, "email", "email", "alice@new.example")
    wait_for(lambda: "grant.updated" in events_taken(crm), what="the update, under the live grant")
    cli("end", "--home", alice.home, shop.name, "--reason", "moving on")

    wanted = [
        "relationship.opened", "agreement.signed", "grant.given", "grant.expired",
        "deletion.done", "grant.given", "grant.revoked", "deletion.done", "grant.given",
        "grant.updated", "relationship.ended", "deletion.due",
    ]  # fmt: skip
    wait_for(lambda: sorted(events_taken(crm)) == sorted(wanted), what=f"the events {wanted}")
    assert all(g.verified for g in crm.all()), "every request carries a good signature"
    taken = crm.taken()
    assert len({g.msg_id for g in taken}) == len(taken), "one webhook-id per event"
    assert {g.event["data"]["peer"] for g in taken} == {alice.did}
    by_type = {g.event["type"]: g.event["data"] for g in taken}
    assert by_type["relationship.opened"]["peer_name"] == "alice"
    assert by_type["grant.expired"]["grant"] == expiring
    assert by_type["grant.revoked"]["grant"] == revoked
    assert by_type["deletion.due"]["grant"] == live
    assert (by_type["grant.updated"]["grant"], by_type["grant.updated"]["version"]) == (live, 1)
    assert by_type["grant.given"]["fields"] == ["email"]
    assert by_type["relationship.ended"]["reason"] == "moving on"
    shown = deliveries(shop)
    assert {d["state"] for d in shown} == {"delivered"} and len(shown) == len(wanted)


def test_a_receiver_that_fails_at_first_gets_each_event_once_it_recovers(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    crm = Receiver(fail_first=3)
    crm.start()
    try:
        shop = vendor(nodes, retry_base_s=0.05, retry_cap_s=0.4)
        alice = nodes.create("alice")
        subscribe(shop, crm, tmp_path / "crm.secret", "relationship.opened")

        meet(alice, shop)

        wait_for(crm.taken, what="the delivery, once the receiver recovers")
        tries = crm.all()
        assert [g.status for g in tries] == [500, 500, 500, 204]
        assert len({g.msg_id for g in tries}) == 1, "every retry carries the same webhook-id"
        assert len({g.body for g in tries}) == 1, "and the same body"
        assert [int(g.timestamp) for g in tries] == sorted(int(g.timestamp) for g in tries)
        (done,) = wait_for(lambda: deliveries(shop, "delivered"))
        assert done["attempts"] == 4 and done["message_id"] == tries[0].msg_id
        assert len(shop.log_lines("webhook.retry", about="relationship.opened")) == 3
        wait_for(lambda: shop.log_lines("webhook.delivered", attempts="4"), what="the log line")
        assert "Traceback" not in shop.log()
    finally:
        crm.stop()


def test_a_receiver_that_is_down_gets_a_dead_letter_then_the_replay(
    nodes: NodeFactory, crm: Receiver, tmp_path: Path
) -> None:
    shop = vendor(nodes, retry_base_s=0.05, retry_cap_s=0.2, max_attempts=3)
    alice = nodes.create("alice")
    subscribe(shop, crm, tmp_path / "crm.secret", "relationship.opened")

    meet(alice, shop)  # the receiver is not listening: every attempt is refused

    (dead,) = wait_for(lambda: deliveries(shop, "dead"), what="the dead letter")
    assert dead["attempts"] == 3 and "cannot reach" in dead["last_error"]
    crm.start()
    replayed = cli("webhook", "replay", "--home", shop.home, "--dead")
    assert replayed["replayed"] == 1
    (got,) = wait_for(crm.taken, what="the replayed delivery")
    assert got.verified and got.msg_id == dead["message_id"]
    assert got.event["data"]["peer"] == alice.did
    assert wait_for(lambda: deliveries(shop, "delivered"))[0]["id"] == dead["id"]
    unknown = cli("webhook", "replay", "--home", shop.home, "999", status=1)
    assert unknown["error"]["code"] == "local.not_found"


def test_a_hanging_receiver_holds_up_no_ack_and_a_kill_9_loses_no_delivery(
    nodes: NodeFactory, crm: Receiver, tmp_path: Path
) -> None:
    # A receiver that takes the connection and never answers: each attempt waits its timeout.
    with socket.socket() as hanging:
        hanging.bind(("127.0.0.1", crm.port))
        hanging.listen(64)
        shop = vendor(nodes, timeout_s=120, retry_base_s=0.05, retry_cap_s=0.2)
        alice = nodes.create("alice")
        subscribe(shop, crm, tmp_path / "crm.secret", "relationship.opened,agreement.signed")
        meet(alice, shop)
        wait_for(lambda: deliveries(shop, "pending"), what="a delivery under way")

        for n in range(20):  # the node's ACKs do not wait for the CRM
            send(alice, shop.did, f"note {n}")
        wait_for(lambda: alice.pending() == 0, what="every note ACKed while the CRM hangs")
        assert not crm.all()

        shop.kill()  # kill -9, the delivery still pending
    crm.start()
    shop.start()

    (got,) = wait_for(crm.taken, what="the delivery after the restart")
    assert got.verified and got.event["type"] == "relationship.opened"
    assert wait_for(lambda: deliveries(shop, "delivered"))[0]["message_id"] == got.msg_id


def test_the_command_line_says_what_is_wrong_before_it_asks_the_node(tmp_path: Path) -> None:
    home, secret = tmp_path / "nowhere", tmp_path / "s.secret"
    bad_url = run_amity("webhook", "add", "ftp://crm.example/", "--events", "grant.given",
                        "--secret-file", secret, "--home", home)  # fmt: skip
    assert bad_url.returncode == 1 and "http:// or https://" in bad_url.stderr
    unknown = run_amity("webhook", "add", "https://crm.example/", "--events", "grant.gvn",
                        "--secret-file", secret, "--home", home)  # fmt: skip
    assert unknown.returncode == 1
    assert "unknown webhook event 'grant.gvn'; known: relationship.opened" in unknown.stderr
    assert not secret.exists(), "no secret is made for a command that cannot work"
    secret.write_text("not a secret\n", encoding="utf-8")
    unusable = run_amity("webhook", "add", "https://crm.example/", "--events", "all",
                         "--secret-file", secret, "--home", home)  # fmt: skip
    assert unusable.returncode == 1 and "holds no usable secret" in unusable.stderr
    helped = run_amity("webhook", "add", "--help")
    assert "reachable from this machine" in helped.stdout and "deletion.due" in helped.stdout


def test_list_deliveries_and_remove_in_words(
    nodes: NodeFactory, crm: Receiver, tmp_path: Path
) -> None:
    crm.start()
    shop = vendor(nodes)
    alice = nodes.create("alice")
    made = subscribe(shop, crm, tmp_path / "crm.secret", "relationship.opened")
    again = subscribe(shop, crm, tmp_path / "crm.secret", "grant.given")
    assert not again["secret_made"], "an existing secret file is read, not replaced"
    meet(alice, shop)
    wait_for(crm.taken, what="the delivery")

    listed = run_amity("webhook", "list", "--home", shop.home)
    assert f"{made['id']}  {crm.url}  relationship.opened" in listed.stdout
    wait_for(
        lambda: (
            "0 pending, 1 delivered, 0 dead"
            in run_amity("webhook", "list", "--home", shop.home).stdout
        ),
        what="the list counts the delivery",
    )
    shown = run_amity("webhook", "deliveries", "--home", shop.home, "--state", "delivered")
    assert "relationship.opened" in shown.stdout and crm.taken()[0].msg_id in shown.stdout
    removed = cli("webhook", "remove", "--home", shop.home, str(made["id"]))
    assert removed == {"removed": made["id"]}
    assert cli("webhook", "deliveries", "--home", shop.home)["deliveries"] == []
    gone = cli("webhook", "remove", "--home", shop.home, str(made["id"]), status=1)
    assert gone["error"]["code"] == "local.not_found"


def test_an_attestation_and_an_intent_reach_the_vendors_crm(
    nodes: NodeFactory, crm: Receiver, tmp_path: Path
) -> None:
    crm.start()
    shop = vendor(nodes)
    hub = nodes.create("hub", "vendor", run_args=["--hub"])
    alice = nodes.create("alice")
    subscribe(shop, crm, tmp_path / "crm.secret", "attestation.received,intent.received")
    meet(alice, shop)
    agree(alice, shop, tmp_path)
    attest = ["attest", "--home", alice.home, shop.name, "--clause", "amity.delete-on-end"]
    made = cli(*attest, "--verdict", "breached")
    cli("share-policy", "--home", alice.home, "shop", "mine")  # she shares her own with it

    (said,) = wait_for(crm.taken, what="attestation.received")
    assert said.verified and said.event["type"] == "attestation.received"
    data = said.event["data"]
    assert (data["attestation"], data["attester"]) == (made["id"], alice.did)
    assert (data["subject"], data["verdict"], data["peer"]) == (shop.did, "breached", alice.did)

    meet(shop, hub)
    cli("intent", "subscribe", "--home", shop.home, "--hub", "hub", "--category", "goods")
    meet(alice, hub)
    cast = cli(
        "intent", "cast", "--home", alice.home, "--category", "goods.bicycles", "--budget",
        "300EUR", "--region", "FR", "--terms", "P2B1", "--expires", "3d", "--hub", "hub",
        "--text", "a child's bike",
    )  # fmt: skip
    wait_for(lambda: len(crm.taken()) == 2, what="intent.received")
    intent = crm.taken()[1]
    assert intent.verified and intent.event["type"] == "intent.received"
    assert intent.event["data"]["intent"] == cast["id"]
    assert intent.event["data"]["pseudonym"] == cast["pseudonym"] != alice.did
    assert intent.event["data"]["peer"] == hub.did and alice.did not in intent.body.decode()
