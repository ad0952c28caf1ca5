"""Her dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, against
two real daemons (a person and a vendor) on loopback.

Playwright rather than Selenium: it waits for what a test expects on the page by itself (no
sleeps, no hand-written polling of the DOM), and it drives an installed Chromium through
``executable_path`` without a driver binary that must match the browser's version. Its own
browser download is never used. .ci/run installs Debian's chromium; without it this test is
skipped, except under CI, where it fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.node.conftest import Node, NodeFactory, meet, run_amity, wait_for

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"{why}: CI must run the browser tests")
        pytest.skip(why)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


def _accessible(page: Page) -> None:
    """axe-core finds no serious or critical WCAG 2.x A/AA violation on the page as it is now."""
    results = Axe().run(
        page,
        options={
            "resultTypes": ["violations"],
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        },
    )
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not found, f"{page.url}:\n" + "\n".join(found)


def _agree_and_grant(alice: Node, shop: Node) -> str:
    """She offers her terms (P2B1), the vendor accepts, she shares two fields for an hour."""
    offered = alice.api.post("/api/terms/offer", {"peer": shop.did, "roster": "P2B1"})
    wait_for(
        lambda: shop.api.request("GET", f"/api/terms/{offered['id']}").status == 200,
        what="the offer reaches the vendor",
    )
    agreement = shop.api.post(f"/api/terms/{offered['id']}/accept")["agreement_id"]
    wait_for(
        lambda: alice.api.request("GET", f"/api/agreements/{agreement}").status == 200,
        what="she holds the agreement",
    )
    for name, value in (("email", "alice@example.org"), ("name", "Alice Example")):
        put = alice.api.request("PUT", f"/api/vault/{name}", {"type": name, "value": value})
        assert put.status == 200, put.body
    made = alice.api.post(
        "/api/grants",
        {
            "peer": shop.did,
            "fields": ["email", "name"],
            "purpose": "service-provision",
            "expires_s": 3600,
        },
    )
    grant_id: str = made["grant_id"]
    wait_for(
        lambda: shop.api.request("GET", f"/api/grants/{grant_id}").body.get("state") == "held",
        what="the vendor holds the grant",
    )
    return grant_id


def test_she_signs_in_sees_the_relationship_and_revokes_a_grant_the_vendor_deletes(
    nodes: NodeFactory, browser: Browser
) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    grant_id = _agree_and_grant(alice, shop)
    made = run_amity("ui", "--home", alice.home, "--json")
    assert made.returncode == 0, made.stderr
    link = json.loads(made.stdout)["url"]
    page = browser.new_page()

    page.goto(link)
    page.wait_for_url("**/ui/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="shop"))
    expect(row).to_contain_text("connected")
    expect(row).to_contain_text("online")
    _accessible(page)
    page.get_by_role("link", name="shop").click()
    expect(page.get_by_role("heading", name="shop")).to_be_visible()
    expect(page.get_by_text("You do not track me beyond our relationship.")).to_be_visible()
    expect(page.get_by_text("email, name")).to_be_visible()
    page.get_by_role("button", name="Ask what they hold about you").click()
    expect(page.get_by_role("status")).to_contain_text("Its signature is verified")
    answer = page.get_by_role("region", name="What they hold about you")
    expect(answer.get_by_text("email, name")).to_be_visible()
    expect(answer.get_by_text("Check this")).to_have_count(0)
    _accessible(page)
    console = browser.new_page()
    made_shop = run_amity("ui", "--home", shop.home, "--json")
    assert made_shop.returncode == 0, made_shop.stderr
    console.goto(json.loads(made_shop.stdout)["url"])
    console.get_by_role("link", name="Customers").click()
    customer = console.get_by_role("row").filter(has=console.get_by_role("link", name="alice"))
    expect(customer).to_contain_text("email, name for service provision")
    _accessible(console)
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
    _accessible(page)
    for name in ("Your vault", "Your things", "Invitations"):
        page.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
        _accessible(page)

    spent = page.goto(link)
    assert spent is not None and spent.status == 403
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
