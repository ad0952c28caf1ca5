"""Her intents page and a vendor's, in a real browser, against three real daemons: a person, a
vendor and an intent hub (the vendor subscribed at it, she met it).

She casts a bike intent at the hub from her page; the vendor sees it on its page (what she
wants and her terms, not who she is) and answers with a price; her page shows the offer ranked;
she accepts, and only then does the vendor's node learn who she is.
"""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.node.conftest import NodeFactory, meet, wait_for
from tests.node.test_grants import cli
from tests.node.ui.browsing import accessible, screenshot, sign_in


def test_she_casts_the_vendor_answers_and_she_accepts_in_the_browser(
    nodes: NodeFactory, browser: Browser
) -> None:
    hub = nodes.create("hub", "vendor", run_args=["--hub"])
    alice, bikes = nodes.create_many([("alice", "person"), ("bikes", "vendor")])
    meet(bikes, hub)
    cli("intent", "subscribe", "--home", bikes.home, "--hub", "hub", "--category", "goods")
    meet(alice, hub)

    page, _ = sign_in(browser, alice)
    page.get_by_role("link", name="Intents").click()
    page.get_by_label("What kind of thing").select_option("goods.bicycles")
    page.get_by_label("In your words").fill("a child's bike for a 6-year-old")
    page.get_by_label("Budget").fill("300 EUR")
    page.get_by_label("Region").fill("FR")
    page.get_by_label("at the hub hub").check()
    accessible(page)
    page.get_by_role("button", name="Cast your intent").click()
    expect(page.get_by_role("status")).to_contain_text("Your intent is out (goods.bicycles)")
    seen = wait_for(
        lambda: bikes.api.get("/api/intents/inbox")["intents"], what="the intent reaches bikes"
    )

    console, _ = sign_in(browser, bikes)
    console.get_by_role("link", name="Intents").click()
    offered = console.get_by_role("region", name="Intents for you")
    expect(offered).to_contain_text("a child's bike for a 6-year-old")
    expect(offered).not_to_contain_text("alice")
    accessible(console)
    offered.get_by_label("Your price").fill("280 EUR")
    offered.get_by_role("button", name="Offer goods.bicycles").click()
    expect(console.get_by_role("status")).to_contain_text("Your offer of 280.00 EUR")

    mine = page.get_by_role("region", name="Your intents")
    expect(mine.get_by_role("cell", name="280.00 EUR", exact=True)).to_be_visible()  # live
    screenshot(page, "intent-offers")
    accessible(page)
    mine.get_by_role("button", name="Accept 280.00 EUR from").click()
    expect(page.get_by_role("status")).to_contain_text("You accepted the offer")
    revealed = wait_for(
        lambda: bikes.api.get("/api/intents/inbox")["intents"][0]["revealed"],
        what="bikes learns who accepted",
    )
    assert revealed == alice.did and seen[0]["revealed"] is None
