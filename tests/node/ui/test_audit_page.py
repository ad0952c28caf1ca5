"""Her audit trail page on a real node: the chain verified before any entry is shown, a search
that finds entries by what they say (words, code, detail, who), newest first, in pages; and a
log edited behind the node's back shown as not checking out, with no entries."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from amity.node.api.keys import NODE
from amity.node.grants.api import GRANTS
from amity.node.home import Config, Home
from amity.node.runner import RunOptions, create_app
from amity.node.ui.audit import PAGE_SIZE
from amity.node.ui.guard import CSP
from amity.protocol.card import NodeKind
from amity.protocol.identity import SigningIdentity
from tests.node.ui.test_routes import Dashboard

_T0_MS = 1_796_000_000_000
SHOP = SigningIdentity(bytes(range(32))).peer_id


@pytest.fixture
async def trail(tmp_path: Path) -> AsyncIterator[tuple[Dashboard, Path]]:
    """Alice's node with 130 audit entries: 128 reads of her email, a grant of her phone number
    and its revocation, all about one peer."""
    home = Home(tmp_path / "alice")
    config = Config(name="Alice", kind=NodeKind.PERSON, mdns=False)
    seed = home.create(config)
    options = RunOptions(listen=None, api="127.0.0.1:0", mdns=False, relay=False)
    app = create_app(home, config, seed, options)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        node, log = app[NODE], app[GRANTS].audit
        with node.store.transaction():
            log.append(_T0_MS, "grant.issued", SHOP, bytes(16), "phone for delivery")
            for i in range(128):
                log.append(_T0_MS + 1 + i, "grant.read", SHOP, bytes(16), f"email read #{i}")
            log.append(_T0_MS + 200, "grant.revoked", SHOP, bytes(16), "phone")
        yield Dashboard(client, home.api_token()), home.db_path


def _details(text: str) -> list[str]:
    """The detail column of each row shown, in order."""
    return re.findall(r"<td>([^<]*)<details>", text)


async def test_the_audit_trail_wants_the_session(trail: tuple[Dashboard, Path]) -> None:
    dashboard, _ = trail

    reply = await dashboard.client.get("/ui/audit")

    assert reply.status == 401
    assert reply.headers["Content-Security-Policy"] == CSP


async def test_the_chain_is_verified_and_the_newest_entries_come_first_in_pages(
    trail: tuple[Dashboard, Path],
) -> None:
    dashboard, _ = trail
    await dashboard.sign_in()

    first = await (await dashboard.client.get("/ui/audit")).text()
    second = await (await dashboard.client.get("/ui/audit?page=2")).text()

    assert "Your audit trail checks out: all 130 entries are there" in first
    assert _details(first)[:2] == ["phone", "email read #127"]
    assert len(_details(first)) == PAGE_SIZE
    assert _details(second)[-1] == "phone for delivery"
    assert len(_details(second)) == 130 - PAGE_SIZE
    assert "Page 2 of 2." in second


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("PHONE", ["phone", "phone for delivery"]),  # detail, any case
        ("revoked", ["phone"]),  # the change in words ("a grant was revoked")
        ("grant.issued", ["phone for delivery"]),  # its code
        # #12 and #120 to #127, newest first
        ("read #12", [f"email read #{n}" for n in (*range(127, 119, -1), 12)]),
    ],
)
async def test_a_search_finds_entries_by_what_they_say(
    trail: tuple[Dashboard, Path], query: str, expected: list[str]
) -> None:
    dashboard, _ = trail
    await dashboard.sign_in()

    text = await (await dashboard.client.get("/ui/audit", params={"q": query})).text()

    assert _details(text) == expected
    assert f"mention “{query}”" in text


async def test_a_search_by_who_finds_every_entry_about_them(
    trail: tuple[Dashboard, Path],
) -> None:
    dashboard, _ = trail
    await dashboard.sign_in()

    text = await (await dashboard.client.get("/ui/audit", params={"q": SHOP.did[:24]})).text()

    assert "130 entries mention" in text


async def test_an_edited_log_does_not_check_out_and_shows_no_entries(
    trail: tuple[Dashboard, Path],
) -> None:
    dashboard, db_path = trail
    await dashboard.sign_in()
    with sqlite3.connect(db_path) as db:  # someone deletes one entry behind the node's back
        db.execute("DELETE FROM audit_log WHERE idx = 5")

    reply = await dashboard.client.get("/ui/audit")
    text = await reply.text()

    assert reply.status == 200
    assert "Your audit trail does not check out" in text
    assert _details(text) == []
