"""The vendor's console on a real SQLite store of 100 000 customers: a page is the right fifty,
the next and previous pages follow on without gap or overlap, and a search by name, fingerprint
or did finds the customer it names, with what that customer granted and when it must be
deleted. The rows are written by the node's own RelationshipBook and HoldingBook."""

from __future__ import annotations

import html
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.bindings
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from amity.node.api.keys import NODE
from amity.node.daemon import Node, wall_clock_ms
from amity.node.grants.api import GRANTS
from amity.node.grants.holdings import HoldingBook
from amity.node.home import Config, Home
from amity.node.runner import RunOptions, create_app
from amity.node.ui.console import PAGE_SIZE, search_terms
from amity.node.ui.guard import CSP
from amity.node.ui.overview import LISTED
from amity.node.ui.words import when
from amity.protocol.card import INVITE_SECRET_BYTES, Card, NodeKind
from amity.protocol.grants import Grant, Onward
from amity.protocol.holder import Holding, HoldingState
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship, RelationshipState, Role

CUSTOMERS = 100_000
_DAY_MS = 24 * 3600 * 1000
_NOW_MS = wall_clock_ms()  # the node under test reads the same clock
_ZOE = 77_777  # the one customer named Zoë Quill, who granted her email


@dataclass
class Filled:
    zoe: PeerId
    names: list[str]  # every customer's name, by row


def _card(name: str, kind: NodeKind = NodeKind.PERSON) -> tuple[Keyring, Card]:
    keyring = Keyring(os.urandom(32))
    _, cert = keyring.current(_NOW_MS)
    card = Card.issue(
        keyring.identity,
        link_cert=cert,
        kind=kind,
        name=name,
        issued_ms=_NOW_MS - _DAY_MS,
        not_after_ms=cert.not_after_ms,
    )
    return keyring, card


def _fill(node: Node, holdings: HoldingBook) -> Filled:
    """100 000 connected customers (64 cards' names, one Zoë Quill), in one transaction, through
    the running node's own book, after it started (a start reads every relationship, which is
    not what this test is about)."""
    pool = [_card(f"Customer {i:02}")[1] for i in range(64)]
    zoe_keyring, zoe_card = _card("Zoë Quill")
    names = []
    store, book, vendor = node.store, node.book, node.peer_id
    with store.transaction():
        for i in range(CUSTOMERS):
            if i == _ZOE:
                peer, card = zoe_keyring.identity.peer_id, zoe_card
            else:
                public, _ = nacl.bindings.crypto_sign_seed_keypair(os.urandom(32))
                peer, card = PeerId(public), pool[i % 64]
            since = _NOW_MS - 1000 * (CUSTOMERS - i)
            rel = Relationship(
                role=Role.INVITER,
                state=RelationshipState.CONNECTED,
                peer=peer,
                invite_secret=os.urandom(INVITE_SECRET_BYTES),
                invite_expires_ms=since + 7 * _DAY_MS,
                created_ms=since - 5000,
                since_ms=since,
                last_seen_ms=since,
                handshake_done=True,
                peer_card=card,
                timers_armed=2,
            )
            book.save(rel, since)
            names.append(card.name)
        grant = Grant.issue(
            zoe_keyring.identity,
            grantee=vendor,
            grant_id=os.urandom(16),
            agreement_id=os.urandom(32),
            fields=["email"],
            purpose="order-fulfilment",
            context="",
            onward=Onward.NONE,
            issued_ms=_NOW_MS - _DAY_MS,
            not_after_ms=_NOW_MS + 30 * _DAY_MS,
        )
        held = Holding(grant, HoldingState.HELD, _NOW_MS - _DAY_MS, (), ())
        holdings.save(held, _NOW_MS - _DAY_MS)
    return Filled(zoe_keyring.identity.peer_id, names)


class Console:
    def __init__(self, client: TestClient[Any, Any], token: str, filled: Filled | None) -> None:
        self.client = client
        self.token = token
        self.filled = filled

    async def sign_in(self) -> None:
        reply = await self.client.post(
            "/api/ui/login", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert (await self.client.get((await reply.json())["path"])).status == 200

    async def page(self, query: str = "") -> tuple[list[str], str]:
        """The customers' names on the page ``/ui/customers?query``, and the page."""
        reply = await self.client.get(f"/ui/customers?{query}")
        assert reply.status == 200
        assert reply.headers["Content-Security-Policy"] == CSP
        text = await reply.text()
        rows = re.findall(r'<td><a href="/ui/peers/[^"]+">([^<]*)</a>', text)
        return [html.unescape(r) for r in rows], text


def _link(text: str, rel: str) -> str:
    found = re.search(rf'<a href="/ui/customers\?([^"]*)" rel="{rel}">', text)
    assert found is not None, f"no {rel} link"
    return html.unescape(found.group(1))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def console(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Console]:
    home = Home(tmp_path_factory.mktemp("console") / "shop")
    config = Config(name="Shop", kind=NodeKind.VENDOR, mdns=False)
    seed = home.create(config)
    options = RunOptions(listen=None, api="127.0.0.1:0", mdns=False, relay=False)
    app = create_app(home, config, seed, options)
    server = TestServer(app, host="127.0.0.1")
    async with TestClient(server) as client:
        filled = _fill(app[NODE], app[GRANTS].holdings)
        yield Console(client, home.api_token(), filled)


_module_loop = pytest.mark.asyncio(loop_scope="module")


@_module_loop
async def test_the_console_wants_the_session(console: Console) -> None:
    console.client.session.cookie_jar.clear()

    reply = await console.client.get("/ui/customers")

    assert reply.status == 401


@_module_loop
async def test_pages_of_customers_follow_on_in_name_order(console: Console) -> None:
    await console.sign_in()
    assert console.filled is not None
    ordered = sorted(console.filled.names, key=str.casefold)

    first, text = await console.page()
    second, text2 = await console.page(_link(text, "next"))
    back, _ = await console.page(_link(text2, "prev"))

    assert f"{CUSTOMERS} customers, by name." in text
    assert len(first) == len(second) == PAGE_SIZE
    assert first + second == ordered[: 2 * PAGE_SIZE]
    assert back == first
    assert 'rel="prev"' not in text


@_module_loop
async def test_the_last_page_of_a_search_has_no_next(console: Console) -> None:
    await console.sign_in()
    # "Customer 63" names every 64th customer: 1 562 of them, 32 pages.
    assert console.filled is not None
    expected = sum(1 for name in console.filled.names if name == "Customer 63")
    seen: list[str] = []
    query = "q=CUSTOMER+63&by=name"
    pages = 0
    while True:
        names, text = await console.page(query)
        seen += names
        pages += 1
        if 'rel="next"' not in text:
            break
        query = _link(text, "next")

    assert f"{expected} customers whose name starts with" in text
    assert seen == ["Customer 63"] * expected
    assert pages == -(-expected // PAGE_SIZE)


@_module_loop
@pytest.mark.parametrize("by", ["name", "fingerprint", "did"])
async def test_a_search_finds_the_customer_with_what_she_granted(console: Console, by: str) -> None:
    await console.sign_in()
    assert console.filled is not None
    zoe = console.filled.zoe
    typed = {
        "name": "zoË q",  # any case
        "fingerprint": zoe.fingerprint.replace("-", "").lower()[:7],  # no dashes, lower case
        "did": zoe.did[:20],
    }[by]

    names, text = await console.page(f"q={typed}&by={by}")

    assert "Zoë Quill" in names
    row = text[text.index("Zoë Quill") :]
    row = row[: row.index("</tr>")]
    assert "<strong>email</strong> for order fulfilment" in row
    # The grant's expiry, and the date to delete it by (the same: the relationship goes on).
    assert row.count(when(_NOW_MS + 30 * _DAY_MS)) == 2
    if by != "did":  # a did prefix of 20 characters is shared by few customers; these by none
        assert names == ["Zoë Quill"]


def test_what_a_search_looks_for() -> None:
    assert search_terms("  ZoË ", "name") == ("name", "zoë")
    assert search_terms("abcd2efg h", "fingerprint") == ("fingerprint", "ABCD-2EFG-H")
    assert search_terms("did:key:z6Mk", "name") == ("did", "did:key:z6Mk")


async def test_a_person_has_no_console(tmp_path: Path) -> None:
    home = Home(tmp_path / "alice")
    config = Config(name="Alice", kind=NodeKind.PERSON, mdns=False)
    seed = home.create(config)
    options = RunOptions(listen=None, api="127.0.0.1:0", mdns=False, relay=False)
    server = TestServer(create_app(home, config, seed, options), host="127.0.0.1")
    async with TestClient(server) as client:
        person = Console(client, home.api_token(), None)
        await person.sign_in()
        reply = await client.get("/ui/customers")
        overview = await (await client.get("/ui/")).text()

    assert reply.status == 404
    assert "/ui/customers" not in overview


@_module_loop
async def test_the_overview_of_a_hundred_thousand_customers_is_a_page_of_them_by_name(
    console: Console,
) -> None:
    await console.sign_in()
    assert console.filled is not None
    ordered = sorted(console.filled.names, key=str.casefold)

    reply = await console.client.get("/ui/")
    text = await reply.text()
    first = re.findall(r'<td><a href="/ui/peers/[^"]+">([^<]*)</a>', text)
    following = re.search(r'<a href="/ui/\?([^"]*)" rel="next">', text)
    assert following is not None
    second = re.findall(
        r'<td><a href="/ui/peers/[^"]+">([^<]*)</a>',
        await (await console.client.get(f"/ui/?{html.unescape(following[1])}")).text(),
    )

    assert reply.status == 200
    assert f"You have {CUSTOMERS} relationships; here are {LISTED} of them, by name." in text
    assert [html.unescape(n) for n in first + second] == ordered[: 2 * LISTED]
    assert 'rel="prev"' not in text


@_module_loop
async def test_the_terms_and_intents_pages_of_a_hundred_thousand_customers_read_a_page_of_them(
    console: Console,
) -> None:
    await console.sign_in()

    terms = await console.client.get("/ui/terms")
    intents = await console.client.get("/ui/intents")

    assert terms.status == 200 and intents.status == 200
    assert "more peers than a list can show" in await terms.text()
    assert "Intents for you" in await intents.text()
