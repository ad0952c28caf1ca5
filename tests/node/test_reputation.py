"""Reputation end to end: real ``amity run`` daemons, driven through the CLI and the API.

A vendor run in the ``keep-data`` test mode keeps a person's data after her grant expires and
sends no deletion receipt; her node attests the breach by itself, she approves it and shares it
with a friend who vouches for her; the friend's node then refuses a new grant to that vendor,
with the reason. An honest vendor earns an honoured attestation the same way. Hostile shares (an
attestation about strangers, a flood from identities nobody trusts) are refused or ignored and
the node keeps serving. Outcomes are awaited by polling, never by sleeping.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import (
    ATTESTATION_DOMAIN,
    ATTESTATION_VERSION,
    Attestation,
    Verdict,
)
from amity.protocol.frames import encode_envelope_frame
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.reputationmessages import MSG_SHARE, RawItem, encode_share, pack_items
from amity.protocol.signed import sign_structure
from amity.protocol.terms import ROSTER
from tests.node.conftest import Node, NodeFactory, async_wait_for, meet, run_amity, wait_for
from tests.node.test_grants import agree, cli, fill_vault, grant, held_rows, q
from tests.node.test_hostile import WirePeer, _seq_of, now_ms

_DAY_MS = 86_400_000


def attestations(node: Node, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cli("attestations", "--home", node.home, *args)["attestations"]
    return found


def test_a_breach_is_attested_shared_and_cuts_the_vendor_off(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    alice, friend, carol = nodes.create_many(
        [("alice", "person"), ("friend", "person"), ("carol", "person")]
    )
    shop = nodes.create("shop", "vendor", run_args=["--misbehave", "keep-data"])
    meet(alice, shop)
    agree(alice, shop, tmp_path)
    fill_vault(alice)
    policy = cli("reputation", "--home", alice.home, "--grace", "1s")
    assert policy["policy"]["receipt_grace_s"] == 1 and not policy["policy"]["auto_share"]
    # Her friend already deals with the shop: an agreement and a live grant, and her policy
    # says to revoke what a vendor holds once it is cut off.
    meet(friend, shop)
    agree(friend, shop, tmp_path)
    cli("vault", "set", "--home", friend.home, "email", "email", "friend@example.org")
    live = grant(friend, shop, "email", "1h")
    cli("reputation", "--home", friend.home, "--on-existing", "revoke")

    grant_id = grant(alice, shop, "email", "2s")
    wait_for(
        lambda: cli("grants", "--home", alice.home)["granted"][0]["delivered"],
        what="the delivery receipt",
    )
    # The grant expires, the vendor keeps the data, the deadline passes: her node attests.
    pending = wait_for(
        lambda: attestations(alice, "--pending"), what="an automatic attestation to review"
    )
    (made,) = pending
    assert made["verdict"] == "breached" and made["automatic"] and made["mine"]
    assert made["subject"] == shop.did and made["clause"] == "amity.delete-on-end"
    assert grant_id[:16] in made["note"] and "no deletion receipt" in made["note"]
    assert held_rows(shop, grant_id) == 1, "the misbehaving vendor still holds the value"

    # Shared with nobody until she says so: approve it, then share her own with a friend.
    meet(alice, friend)
    cli("share-policy", "--home", alice.home, "friend", "mine")
    assert not attestations(friend), "a pending attestation left her node"
    approved = cli("attestations", "--home", alice.home, "--approve", made["id"][:8])
    assert approved["review"] == "approved"
    cli("vouch", "--home", friend.home, "alice")
    received = wait_for(lambda: attestations(friend, "--about", shop.did), what="the share")
    assert [a["id"] for a in received] == [made["id"]]
    assert received[0]["from"] == alice.did and received[0]["hops"] == 0

    # The friend's node cuts the shop off: it revokes the live grant (the shop deletes and
    # says so) and refuses a new one, with the reason.
    revoked = wait_for(
        lambda: (g := friend.api.get(f"/api/grants/{live}"))["state"] == "deleted" and g,
        what="the live grant revoked and deleted",
    )
    assert revoked["deletion_reason"] == "revoked"
    refused = run_amity(
        "grant", "--home", friend.home, "shop", "--fields", "email", "--purpose", "delivery",
        "--expires", "1h", "--json",
    )  # fmt: skip
    assert refused.returncode == 1, refused.stdout
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "local.cut_off"
    assert "standing -1.00" in error["message"] and "below your threshold" in error["message"]

    why = cli("reputation", "--home", friend.home, "shop")
    assert why["cut_off"] and why["standing"]["value"] == -1.0
    (inflow,) = why["why"]
    assert inflow["attester"] == alice.did and inflow["breached"] == 1
    assert inflow["attester_weight"] == 1.0
    assert inflow["path"] == [friend.did, alice.did]
    assert friend.log_lines("reputation.cut_off"), friend.log()
    human = run_amity("reputation", "--home", friend.home, "shop")
    assert "CUT OFF" in human.stdout and "trust path: you → alice" in human.stdout
    # Seconds after the shop obeyed the revocation, the friend's node has judged nothing: a grant
    # her policy revoked gives no verdict (spec/reputation.md §6.2), or the cut-off would lift.
    assert [a["id"] for a in attestations(friend, "--about", shop.did)] == [made["id"]]

    # Carol asks Alice what she knows about the shop: Alice's policy for her decides. Carol has
    # not vouched for Alice, so the answer is kept but weighs nothing in Carol's trust.
    meet(alice, carol)
    ask = ["attestations", "--home", carol.home, "--ask", "alice", "--about", shop.did]
    assert cli(*ask)["attestations"] == 0, "Alice shares nothing with Carol yet"
    cli("share-policy", "--home", alice.home, "carol", "mine")
    answer = cli(*ask)
    assert answer["answered"] and answer["attestations"] == 1
    assert answer["reputation"]["standing"]["evidence"] == 0.0
    assert answer["reputation"]["why"][0]["path"] is None
    assert not answer["reputation"]["cut_off"]

    # Lowering her threshold is her call: the same evidence no longer cuts the vendor off.
    cli("reputation", "--home", friend.home, "--threshold", "-1")
    wait_for(
        lambda: not cli("reputation", "--home", friend.home, "shop")["cut_off"],
        what="the cut-off lifted",
    )
    cli(
        "grant", "--home", friend.home, "shop", "--fields", "email", "--purpose", "delivery",
        "--expires", "1h",
    )  # fmt: skip


def test_an_honest_vendor_earns_an_honoured_attestation_and_can_rebut(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    agree(alice, shop, tmp_path)
    fill_vault(alice)
    cli("reputation", "--home", alice.home, "--grace", "5s", "--auto-share", "on")
    grant(alice, shop, "email", "1s")
    (made,) = wait_for(lambda: attestations(alice), what="an automatic attestation")
    assert made["verdict"] == "honoured" and made["review"] == "approved"
    assert "in time" in made["note"] and len(made["evidence"]) == 2

    # She shares everything with the shop itself; it answers with a rebuttal (it may).
    cli("share-policy", "--home", alice.home, "shop", "all")
    (seen,) = wait_for(lambda: attestations(shop), what="the shop receives it")
    rebuttal = cli(
        "rebut", "--home", shop.home, seen["id"][:8], "--text", "thanks, we always delete"
    )
    assert rebuttal["sent_to"] == [alice.did]
    shown = wait_for(
        lambda: (a := attestations(alice)[0])["rebuttals"] and a, what="the rebuttal arrives"
    )
    assert shown["rebuttals"][0]["text"] == "thanks, we always delete"
    assert shown["rebuttals"][0]["by"] == shop.did
    # Rebutting what is not about you is refused, with a reason.
    bad = run_amity("rebut", "--home", alice.home, made["id"][:8], "--text", "no", "--json")
    assert bad.returncode == 1
    assert "only the attestation's subject" in json.loads(bad.stdout)["error"]["message"]

    standing = cli("reputation", "--home", alice.home, "shop")
    assert standing["standing"]["value"] == 1.0 and standing["pretrusted"]
    overview = cli("reputation", "--home", alice.home)
    assert [p["peer"] for p in overview["peers"]] == [shop.did]


def test_a_vendor_cuts_off_an_abusive_customer(nodes: NodeFactory, tmp_path: Path) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    agreement = agree(alice, shop, tmp_path)
    # Vocabulary v1 has no customer-side clause: the vendor names one of the agreement and says
    # what happened in the note (spec/reputation.md §6.5).
    made = cli(
        "attest", "--home", shop.home, "alice", "--clause", "amity.no-tracking",
        "--verdict", "breached", "--note", "abusive to our staff, order 42",
    )  # fmt: skip
    assert made["agreement"] == agreement and made["review"] == "approved"
    wait_for(
        lambda: cli("reputation", "--home", shop.home, "alice")["cut_off"],
        what="the customer cut off",
    )
    offered = cli("terms", "offer", "--home", alice.home, "shop", "--roster", "P2B1")
    rejected = wait_for(
        lambda: (n := alice.api.get(f"/api/terms/{offered['id']}"))["state"] == "rejected" and n,
        what="the vendor's node rejects her new offer",
    )
    assert rejected["reasons"] == [
        {"clause": "", "reason": "declined: this node's reputation policy cuts you off"}
    ]


# -- hostile shares ----------------------------------------------------------------------------


def _agreement(person: SigningIdentity, vendor: SigningIdentity) -> Agreement:
    return Agreement.create(ROSTER["P2B1"].document, person, vendor, os.urandom(16), now_ms())


def _attest(
    attester: SigningIdentity, agreement: Agreement, verdict: Verdict, note: str = ""
) -> Attestation:
    return Attestation.issue(
        attester,
        agreement,
        clause_id=agreement.terms.clauses[0].clause_id,
        verdict=verdict,
        issued_ms=now_ms(),
        expires_ms=now_ms() + _DAY_MS,
        note=note,
    )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_a_share_about_strangers_is_refused_and_a_sybil_flood_is_ignored(
    nodes: NodeFactory, http: aiohttp.ClientSession
) -> None:
    target, shop = nodes.create_many([("target", "person"), ("shop", "vendor")])
    peer = WirePeer("mallory")
    link = await peer.become_peer_of(http, target)
    target_id = PeerId.from_did(target.did)

    # An attestation whose attester is not a party of the agreement it carries: stranger.
    a, b, outsider = (SigningIdentity(os.urandom(32)) for _ in range(3))
    other = _agreement(a, b)

    fields = [
        ATTESTATION_VERSION, outsider.peer_id.key, b.peer_id.key, other.encoded,
        other.terms.clauses[0].clause_id, "breached", [], now_ms(), now_ms() + _DAY_MS, "",
    ]  # fmt: skip
    alien = sign_structure(fields, ATTESTATION_DOMAIN, outsider)
    envelope = peer.envelope(target_id, MSG_SHARE, encode_share([RawItem(alien, 0, ())]))
    await link.send(encode_envelope_frame(envelope))
    assert await link.refusal_for(_seq_of(envelope)) == "attestation.stranger"

    # A flood: 10 000 attestations from 50 Sybils, over real agreements among themselves, all
    # saying the shop breached and each other honoured. Nobody the target trusts knows them.
    shop_key = SigningIdentity(os.urandom(32))  # stands for a vendor the Sybils never met
    sybils = [SigningIdentity(os.urandom(32)) for _ in range(50)]
    items = []
    for i, sybil in enumerate(sybils):
        for j in range(40):
            other_sybil = sybils[(i + j + 1) % len(sybils)]
            pact = _agreement(sybil, other_sybil if j % 2 else shop_key)
            verdict = Verdict.HONOURED if j % 2 else Verdict.BREACHED
            items += [
                RawItem(_attest(sybil, pact, verdict, f"{k}").encoded, 0, ()) for k in range(5)
            ]
    assert len(items) == 10_000
    seqs = []
    for batch in pack_items(items):
        envelope = peer.envelope(target_id, MSG_SHARE, encode_share(batch))
        seqs.append(_seq_of(envelope))
        await link.send(encode_envelope_frame(envelope))
    for seq in seqs:
        await link.ack_for(seq, timeout=60)
    shop_did = shop_key.peer_id.did

    def flooded() -> dict[str, Any]:
        data: dict[str, Any] = target.api.get("/api/reputation")
        return data

    await async_wait_for(lambda: flooded()["held"] == 10_000, timeout=60)
    view = target.api.get(f"/api/reputation/{q(shop_did)}")
    assert view["score"] == 0.0 and view["standing"]["evidence"] == 0.0
    assert not view["cut_off"]
    assert all(w["attester_weight"] == 0.0 and w["path"] is None for w in view["why"])
    # ...and it keeps serving: a real peer still connects and is answered.
    meet(target, shop)
    assert target.api.get("/api/status")["did"] == target.did


def test_share_policy_and_vouch_need_a_known_peer(nodes: NodeFactory) -> None:
    node = nodes.create("lonely")
    stranger = SigningIdentity(os.urandom(32)).peer_id.did
    result = run_amity("share-policy", "--home", node.home, stranger, "mine")
    assert result.returncode == 1 and "no relationship" in result.stderr
    result = run_amity("vouch", "--home", node.home, stranger)
    assert result.returncode == 1 and "connect first" in result.stderr
    bad = node.api.request("PUT", "/api/reputation/policy", {"threshold": 3})
    assert bad.status == 400 and "threshold" in bad.body["error"]["message"]
    bad = node.api.request("PUT", "/api/reputation/policy", {"cutoff": 1})
    assert bad.status == 400 and "unknown reputation policy key" in bad.body["error"]["message"]
