"""`amity demo --story`: two real nodes on loopback walk the whole VRM story."""

from __future__ import annotations

import json

from tests.node.conftest import run_amity


def test_the_story_runs_end_to_end() -> None:
    result = run_amity("demo", "--story", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    steps = {step["what"]: step for step in json.loads(result.stdout)["steps"]}
    agreed = steps["the shop's policy accepts; both hold one agreement, verified by a third party"]
    assert len(agreed["agreement"]) == 16
    assert steps["the shop reads what it was given"]["email"] == "alice@example.org"
    outside = steps["the shop asks for the phone, outside the grant"]
    assert outside["answer"] == "refused: grants.no_grant"
    answer = steps["Alice asks: what do you hold about me?"]["signed_answer"]
    assert answer == "1 grant (address, email), signature verified"
    expired = steps["the grant expires: the shop deletes the data and signs a receipt"]
    assert expired["reason"] == "expired"
    trails = steps["both audit trails verify (hash-chained)"]
    assert trails["alice_entries"] > 0 and trails["shop_entries"] > 0
    honoured = steps["Alice's node attests by itself: the shop honoured her terms"]
    assert honoured["verdict"] == "honoured"
    breach = steps["no deletion receipt in time: her node attests the breach"]
    assert breach["verdict"] == "breached"
    refused = steps["Bob's node refuses the broker a grant"]
    assert refused["answer"] == "refused: local.cut_off"
    assert refused["standing"] == -1.0 and refused["why"] == "you → Alice"
    answered = steps[
        "two vendors answer, countersigning her terms; the broker's cheaper offer is hidden"
    ]
    assert (answered["shown"], answered["hidden"]) == ("249.00 EUR", "99.00 EUR (cut off)")
    joined = steps[
        "she accepts: only the bike shop learns who she is; it invites her in, agrees her terms"
    ]
    assert len(joined["agreement"]) == 16
    delivered = steps["she grants her address for the delivery; the shop reads it"]
    assert delivered["address"] == "1 Main St, Springfield, 12345, US"
    moved = steps["she moves: the new address reaches the bike shop under its live grant, once"]
    assert (
        moved["updated"] == "Bike Shop" and moved["address"] == "9 Elm Rd, Shelbyville, 54321, US"
    )
    assert "Corner Shop" in moved["not_updated"]
    card = steps["the bike gets a key and a card of its own; its QR link names no owner"]
    assert card["shop_reads"] == "Bike Shop Junior 16, serial JR16-0042"
    sale = steps["she sells it to Bob: the key, card and history go, her data does not; both sign"]
    assert (sale["bob_holds"], sale["alice_holds"], sale["signed_by"]) == (
        "owned",
        "sold",
        "Alice and Bob",
    )
    assert "misbehave" not in result.stderr, "node logs leak into the story"
