"""Her dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, against
two real daemons (a person and a vendor) on loopback.

Playwright rather than Selenium: it waits for what a test expects on the page by itself (no
sleeps, no hand-written polling of the DOM), and it drives an installed Chromium through
``executable_path`` without a driver binary that must match the browser's version (the
``browser`` fixture: conftest.py).
"""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.node.conftest import NodeFactory, wait_for
from tests.node.ui.browsing import accessible, screenshot, sign_in


def test_she_connects_agrees_shares_and_revokes_and_the_vendor_console_follows(
    nodes: NodeFactory, browser: Browser
) -> None:
    """Everything through the two dashboards (her vault's values come from the API: the
    dashboard shows fields, it never takes or shows their values)."""
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    for name, value in (("email", "alice@example.org"), ("name", "Alice Example")):
        put = alice.api.request("PUT", f"/api/vault/{name}", {"type": name, "value": value})
        assert put.status == 200, put.body
    page, link = sign_in(browser, alice)
    console, _ = sign_in(browser, shop)

    console.get_by_role("link", name="Invitations").click()
    console.get_by_label("one hour").check()
    console.get_by_role("button", name="Make an invitation").click()
    uri = console.get_by_label("The link").input_value()
    assert uri.startswith("amity:")
    accessible(console)
    page.get_by_role("link", name="Invitations").click()
    page.get_by_label("The amity: link you were given").fill(uri)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status")).to_contain_text("You are now connected with shop")

    page.get_by_role("link", name="Terms").click()
    page.get_by_label("To", exact=True).select_option(shop.did)
    page.get_by_role("radio", name="P2B1").check()
    page.get_by_role("button", name="Offer these terms").click()
    expect(page.get_by_role("status")).to_contain_text("You offered P2B1 to shop")
    accessible(page)
    console.get_by_role("link", name="Terms").click()
    offered = console.get_by_role("region", name="Negotiations open")
    expect(offered).to_contain_text("your turn")
    expect(offered).to_contain_text("You do not track me beyond our relationship.")
    accessible(console)
    screenshot(console, "terms-offered")
    offered.get_by_role("button", name="Accept terms from alice").click()
    expect(console.get_by_role("status")).to_contain_text("You accepted the terms with alice")
    expect(page.get_by_role("region", name="Agreements")).to_contain_text("in force")  # live

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="shop"))
    expect(row).to_contain_text("connected")
    expect(row).to_contain_text("online")
    accessible(page)
    page.get_by_role("link", name="shop").click()
    page.get_by_label("email").check()
    page.get_by_label("name", exact=True).check()
    page.get_by_label("For", exact=True).select_option("service-provision")
    page.get_by_label("Until").select_option(label="30 days from now")
    page.get_by_role("button", name="Share with shop").click()
    expect(page.get_by_role("status")).to_contain_text("You shared email, name for service")
    grant_id = wait_for(
        lambda: (g := shop.api.get("/api/grants")["held"]) and g[0]["grant_id"],
        what="the vendor holds her grant",
    )
    page.reload()  # the notice was shown; from here on, the page as she comes back to it
    expect(page.get_by_role("heading", name="shop")).to_be_visible()
    shop.api.post(f"/api/peers/{alice.did}/notes", {"text": "Your order ships Monday."})
    notes = page.get_by_role("region", name="Notes")
    expect(notes).to_contain_text("Your order ships Monday.")  # live, no reload
    page.get_by_label("Write to shop").fill("Thank you!")
    page.get_by_role("button", name="Send the note").click()
    expect(page.get_by_role("status")).to_contain_text("Your note is on its way")
    wait_for(
        lambda: [m["text"] for m in shop.api.get("/api/messages")["messages"]] == ["Thank you!"],
        what="the vendor receives her note",
    )
    page.reload()
    expect(page.get_by_text("You do not track me beyond our relationship.")).to_be_visible()
    expect(page.get_by_text("email, name")).to_be_visible()
    page.get_by_role("button", name="Ask what they hold about you").click()
    expect(page.get_by_role("status")).to_contain_text("Its signature is verified")
    answer = page.get_by_role("region", name="What they hold about you")
    expect(answer.get_by_text("email, name")).to_be_visible()
    expect(answer.get_by_text("Check this")).to_have_count(0)
    accessible(page)
    screenshot(page, "relationship")
    console.get_by_role("link", name="Customers").click()
    customer = console.get_by_role("row").filter(has=console.get_by_role("link", name="alice"))
    expect(customer).to_contain_text("email, name for service provision")
    accessible(console)
    screenshot(console, "customers")
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

    page.set_viewport_size({"width": 390, "height": 844})  # a phone held upright
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("link", name="shop")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing off the side
    accessible(page)
    screenshot(page, "overview-phone", width=390)

    spent = page.goto(link)
    assert spent is not None and spent.status == 403
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
