"""Her reputation pages in a real browser, against two real daemons (a person and a vendor).

She revokes a grant; the vendor's deletion receipt makes her node judge it (kept its word) and
hold the verdict for her review; she approves it on her page, chooses to share with the vendor
there, and attests a breach of her own through the API. The vendor sees both on its page,
"What others say about you", and answers the breach; her node receives the signed answer and
her page about the vendor shows it.
"""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.node.conftest import NodeFactory, meet, wait_for
from tests.node.ui.browsing import accessible, agree_and_grant, screenshot, sign_in


def test_she_reviews_her_verdict_shares_it_and_the_vendor_answers_a_breach(
    nodes: NodeFactory, browser: Browser
) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    grant_id = agree_and_grant(alice, shop)
    alice.api.post(f"/api/grants/{grant_id}/revoke")
    pending = wait_for(
        lambda: alice.api.get("/api/attestations?pending=1")["attestations"],
        what="her node judges the revoked grant from its deletion receipt",
    )
    # P2B1 has no deletion clause: the verdict names its purpose limitation (reputation.md §6.2).
    assert [(a["verdict"], a["clause"]) for a in pending] == [
        ("honoured", "amity.purpose-limitation")
    ]

    page, _ = sign_in(browser, alice)
    page.get_by_role("link", name="Reputation").click()
    waiting = page.get_by_role("region", name="Waiting for you")
    expect(waiting).to_contain_text("shop kept their word on using data only for the agreed")
    accessible(page)
    waiting.get_by_role("button", name="Approve verdict on shop").click()
    expect(page.get_by_role("status")).to_contain_text("You approved your verdict on shop")
    expect(page.get_by_role("region", name="Waiting for you")).to_contain_text("Nothing waits")
    page.get_by_role("link", name="shop").click()
    expect(page.get_by_role("heading", name="Reputation of shop")).to_be_visible()
    screenshot(page, "reputation-of-a-vendor")
    page.get_by_label("your own attestations").check()
    page.get_by_role("button", name="Save what you share").click()
    expect(page.get_by_role("status")).to_contain_text("You share your own attestations with shop")
    accessible(page)
    breach = alice.api.post(
        "/api/attestations",
        {
            "peer": shop.did,
            "clause": "amity.no-tracking",
            "verdict": "breached",
            "note": "a tracking pixel in the receipt e-mail",
        },
    )
    wait_for(
        lambda: len(shop.api.get(f"/api/attestations?about={shop.did}")["attestations"]) == 2,
        what="both attestations about the vendor reach it",
    )

    console, _ = sign_in(browser, shop)
    console.get_by_role("link", name="Reputation").click()
    said = console.get_by_role("region", name="What others say about you")
    expect(said).to_contain_text("alice says you broke your word on not tracking")
    expect(said).to_contain_text("alice says you kept your word on using data only for")
    accessible(console)
    said.get_by_label("Your answer to alice").fill("We removed the pixel on 3 March.")
    said.get_by_role("button", name="Send your answer").click()
    expect(console.get_by_role("status")).to_contain_text("sent to alice")
    expect(said).to_contain_text("“We removed the pixel on 3 March.”")

    wait_for(
        lambda: alice.api.get(f"/api/attestations/{breach['id']}")["rebuttals"],
        what="her node receives the vendor's signed answer",
    )
    expect(page.get_by_text("Their answer: “We removed the pixel on 3 March.”")).to_be_visible()
