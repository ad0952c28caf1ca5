"""A vendor with many customers tells them of its changed card a page at a time.

One real vendor node (the runner's app, a SQLite home, in-process on 127.0.0.1) holding 1 200
connected customers, written straight into its store as a vendor that had met them would hold
them. Its first look at its card only remembers what the card says (each customer got the card
in its hello); a changed policy is then told to every connected customer, one rel.hello each,
through the outbox, over three pages of CardWatch.PAGE.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nacl.bindings
from aiohttp.test_utils import TestClient, TestServer

from amity.node.api.keys import NODE
from amity.node.book import RelationshipBook
from amity.node.daemon.cardwatch import PAGE
from amity.node.home import Config, Home
from amity.node.runner import RunOptions, create_app
from amity.node.store import Store
from amity.protocol.card import INVITE_SECRET_BYTES, Card, NodeKind
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship, RelationshipState, Role

CUSTOMERS = 1_200
_DAY_MS = 86_400_000
POLICY = """\
version = 1
vocabulary = 1
default = "ask-human"

[clause."amity.no-tracking"]
action = "accept"
"""


def _fill(db_path: Path, now_ms: int) -> None:
    """Customers met before the node starts (as after an upgrade from before the watch)."""
    keyring = Keyring(os.urandom(32))
    _, cert = keyring.current(now_ms)
    card = Card.issue(
        keyring.identity,
        link_cert=cert,
        kind=NodeKind.PERSON,
        name="Customer",
        issued_ms=now_ms - _DAY_MS,
        not_after_ms=cert.not_after_ms,
    )
    with Store(db_path) as store:
        book = RelationshipBook(store)
        with store.transaction():
            for i in range(CUSTOMERS):
                public, _ = nacl.bindings.crypto_sign_seed_keypair(os.urandom(32))
                state = RelationshipState.ENDED if i % 10 == 0 else RelationshipState.CONNECTED
                rel = Relationship(
                    role=Role.INVITER,
                    state=state,
                    peer=PeerId(public),
                    invite_secret=os.urandom(INVITE_SECRET_BYTES),
                    invite_expires_ms=now_ms + _DAY_MS,
                    created_ms=now_ms - 5000,
                    since_ms=now_ms - 1000,
                    last_seen_ms=now_ms - 1000,
                    handshake_done=True,
                    peer_card=card,
                    timers_armed=2,
                )
                book.save(rel, now_ms)


async def test_a_changed_policy_reaches_every_connected_customer_page_by_page(
    tmp_path: Path,
) -> None:
    assert CUSTOMERS > 2 * PAGE
    home = Home(tmp_path / "shop")
    config = Config(name="Shop", kind=NodeKind.VENDOR, mdns=False)
    seed = home.create(config)
    _fill(home.db_path, int(time.time() * 1000))
    options = RunOptions(listen=None, api="127.0.0.1:0", mdns=False, relay=False)
    app = create_app(home, config, seed, options)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        node = app[NODE]
        first = await node.cardwatch.check()  # the start looked once already: no news
        pending_before = node.store.count_pending()

        put = await client.put(
            "/api/policy",
            json={"toml": POLICY},
            headers={"Authorization": f"Bearer {home.api_token()}"},
        )
        change = (await put.json())["change"]
        pending_after = node.store.count_pending()

        connected = CUSTOMERS - CUSTOMERS // 10
        assert (first, pending_before) == (0, 0)
        assert change["told"] == connected
        assert pending_after == connected
