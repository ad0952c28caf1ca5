"""Things she owns, on real daemons (spec/things.md): a key and a card per thing, its link and QR
code, and any node checking a scanned link without learning who owns the thing."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from amity.node.store import Store
from amity.node.things.book import ThingBook
from amity.protocol.identity import SigningIdentity
from amity.protocol.signed import sign_structure
from amity.protocol.things import THING_CARD_DOMAIN, ThingCard
from tests.node.conftest import NodeFactory, meet, run_amity
from tests.node.test_grants import agree, cli


def test_she_records_a_thing_and_a_shop_reads_its_link(nodes: NodeFactory, tmp_path: Path) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    agreement = agree(alice, shop, tmp_path)

    added = cli(
        "thing", "add", "--home", alice.home, "--maker", "Riese & Müller", "--model", "Load 75",
        "--serial", "WRM-000123", "--agreement", agreement[:8], "--warranty-until", "2029-05-31",
        "--manual", "https://example.org/load-75.pdf", "--contact", "Cycle Shop, +33 4 00",
    )  # fmt: skip
    assert added["purchase"] == agreement and added["warranty_until"].startswith("2029-05-31")
    assert added["uri"].startswith("amity:thing:")
    listed = cli("thing", "list", "--home", alice.home)["things"]
    assert [t["id"] for t in listed] == [added["id"]]
    human = run_amity("thing", "list", "--home", alice.home)
    assert f"{added['id'][:8]}  Riese & Müller Load 75, serial WRM-000123" in human.stdout

    # A QR code for the label, and the link read back from it by the shop's node.
    qr = tmp_path / "bike.svg"
    shown = cli("thing", "show", "--home", alice.home, added["id"][:6], "--qr", qr)
    assert shown["uri"] == added["uri"] and qr.read_text().startswith("<?xml")
    read = cli("thing", "read", "--home", shop.home, added["uri"].lower())
    assert (read["maker"], read["serial"], read["thing"]) == (
        "Riese & Müller",
        "WRM-000123",
        added["thing"],
    )
    assert alice.did not in str(read)  # the card names no owner

    # Her audit trail notes it; the thing's key is kept, sealed, and signs as the card says.
    entries = cli("log", "--home", alice.home)["entries"]
    assert any(e["kind"] == "thing.added" and "Load 75" in e["detail"] for e in entries)
    assert alice.stop() == 0
    with Store(alice.home / "amity.db") as store:
        sealed = store.thing_rows()[0][3]
        assert len(sealed) == 24 + 32 + 16  # nonce, the seed sealed, its tag
        book = ThingBook(store, _vault_key(alice.home))
        thing = book.all()[0]
        assert book.identity(thing).peer_id == thing.card.thing


def test_a_bad_link_or_a_forged_card_is_refused_in_words(nodes: NodeFactory) -> None:
    (shop,) = nodes.create_many([("shop2", "vendor")])
    real = ThingCard.issue(SigningIdentity(os.urandom(32)), maker="M", model="X", issued_ms=1)
    cut = run_amity("thing", "read", "--home", shop.home, real.to_uri()[:-10])
    assert cut.returncode == 3 and "damaged or incomplete" in cut.stderr
    assert "Traceback" not in cut.stderr and "[thing.bad_uri]" in cut.stderr
    fields = [1, real.thing.key, "M", "X", "", None, None, [], [], 1]
    forged = sign_structure(fields, THING_CARD_DOMAIN, SigningIdentity(os.urandom(32)))
    uri = "amity:thing:" + base64.b32encode(forged).decode().rstrip("=")
    refused = cli("thing", "read", "--home", shop.home, uri, status=3)["error"]
    assert refused["code"] == "thing.bad_signature"
    # A vendor's node keeps no things of its own.
    kept = cli("thing", "list", "--home", shop.home, status=1)["error"]
    assert kept["code"] == "local.node" and "person's node" in kept["message"]


def _vault_key(home: Path) -> bytes:
    from amity.node.home import Home
    from amity.protocol.vault import vault_key

    return vault_key(Home(home).load_seed())
