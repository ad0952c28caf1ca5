"""Her dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, against
two real daemons (a person and a vendor) on loopback.

Playwright rather than Selenium: it waits for what a test expects on the page by itself (no
sleeps, no hand-written polling of the DOM), and it drives an installed Chromium through
``executable_path`` without a driver binary that must match the browser's version (the
``browser`` fixture: conftest.py).
"""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.node.conftest import NodeFactory, meet, wait_for
from tests.node.ui.browsing import accessible, agree_and_grant, sign_in


def test_she_signs_in_sees_the_relationship_and_revokes_a_grant_the_vendor_deletes(
    nodes: NodeFactory, browser: Browser
) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    grant_id = agree_and_grant(alice, shop)

    page, link = sign_in(browser, alice)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="shop"))
    expect(row).to_contain_text("connected")
    expect(row).to_contain_text("online")
    accessible(page)
    page.get_by_role("link", name="shop").click()
    expect(page.get_by_role("heading", name="shop")).to_be_visible()
    expect(page.get_by_text("You do not track me beyond our relationship.")).to_be_visible()
    expect(page.get_by_text("email, name")).to_be_visible()
    page.get_by_role("button", name="Ask what they hold about you").click()
    expect(page.get_by_role("status")).to_contain_text("Its signature is verified")
    answer = page.get_by_role("region", name="What they hold about you")
    expect(answer.get_by_text("email, name")).to_be_visible()
    expect(answer.get_by_text("Check this")).to_have_count(0)
    accessible(page)
    console, _ = sign_in(browser, shop)
    console.get_by_role("link", name="Customers").click()
    customer = console.get_by_role("row").filter(has=console.get_by_role("link", name="alice"))
    expect(customer).to_contain_text("email, name for service provision")
    accessible(console)
    page.get_by_role("button", name="Revoke email, name").click()
    expect(page.get_by_role("status")).to_contain_text("You revoked email, name")

    held = wait_for(
        lambda: (g := shop.api.get(f"/api/grants/{grant_id}"))["state"] == "deleted" and g,
        what="the vendor deletes the revoked grant",
    )
    assert held["deletion_reason"] == "revoked"
    wait_for(
        lambda: alice.api.get(f"/api/grants/{grant_id}")["state"] == "deleted",
        what="her node holds the deletion receipt",
    )
    # Neither page is reloaded: each follows its node's event stream (static/live.js).
    expect(customer).to_contain_text("Deleted: email, name")
    expect(page.get_by_text("deleted, with a signed receipt")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("You revoked email, name")  # still shown
    expect(page.locator("#live")).to_contain_text("Updated at")  # said to a screen reader too
    expect(page.get_by_role("button", name="Revoke email, name")).to_have_count(0)
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("status")).to_contain_text("Your audit trail checks out")
    page.get_by_label("Find in your audit trail").fill("revoked")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("cell", name="a grant was revoked")).to_be_visible()
    accessible(page)
    for name in ("Your vault", "Your things", "Invitations"):
        page.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
        accessible(page)

    spent = page.goto(link)
    assert spent is not None and spent.status == 403
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
