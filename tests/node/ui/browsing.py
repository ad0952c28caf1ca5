"""What the browser tests do again and again: sign in through `amity ui`, check a page with
axe-core, and make an agreement and a grant between two real daemons through their APIs."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.node.conftest import Node, run_amity, wait_for


def sign_in(browser: Browser, node: Node) -> tuple[Page, str]:
    """A new page signed in to ``node``'s dashboard through a fresh one-time link; the link."""
    made = run_amity("ui", "--home", node.home, "--json")
    assert made.returncode == 0, made.stderr
    link: str = json.loads(made.stdout)["url"]
    page = browser.new_page()
    page.goto(link)
    page.wait_for_url("**/ui/")
    return page, link


def screenshot(page: Page, name: str, width: int = 1100) -> Path:
    """The page as it looks now, whole, ``width`` pixels wide (a laptop's by default):
    ``$AMITY_SCREENSHOTS/NAME.png`` (README's pictures come from there), else a folder in the
    system's temporary directory."""
    folder = Path(os.environ.get("AMITY_SCREENSHOTS") or Path(tempfile.gettempdir()) / "amity-ui")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.set_viewport_size({"width": width, "height": 800})
    page.screenshot(path=path, full_page=True)
    return path


def accessible(page: Page) -> None:
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


def agree_and_grant(alice: Node, shop: Node) -> str:
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
