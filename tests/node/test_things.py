"""Things she owns, on real daemons (spec/things.md): a key and a card per thing, its link and QR
code, and any node checking a scanned link without learning who owns the thing."""

from __future__ import annotations

import base64
import html
import json
import os
import urllib.request
from pathlib import Path

from amity.node.store import Store
from amity.node.things.service import open_seed
from amity.protocol.identity import SigningIdentity
from amity.protocol.signed import sign_structure
from amity.protocol.things import THING_CARD_DOMAIN, ThingCard
from amity.protocol.thingtransfer import Sale
from tests.node.conftest import Node, NodeFactory, meet, run_amity, wait_for
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
    assert f"{added['id'][:8]}  yours" in human.stdout
    assert "Riese & Müller Load 75, serial WRM-000123" in human.stdout

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

    # Her audit trail notes it; the thing's key is kept sealed, and is the card's key.
    entries = cli("log", "--home", alice.home)["entries"]
    assert any(e["kind"] == "thing.owned" and "Load 75" in e["detail"] for e in entries)
    assert alice.stop() == 0
    with Store(alice.home / "amity.db") as store:
        ((row, sealed),) = store.thing_rows()
    assert len(sealed) == 24 + 32 + 16  # nonce, the seed sealed, its tag
    seed = open_seed(_vault_key(alice.home), row[0], sealed)
    assert SigningIdentity(seed).peer_id.key.hex() == added["id"]


def test_she_sells_her_bike_to_bob_and_both_sign_the_sale(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    alice, bob, carol = nodes.create_many(
        [("alice", "person"), ("bob", "person"), ("carol", "person")]
    )
    meet(alice, bob)
    meet(bob, carol)
    cli("vault", "set", "--home", alice.home, "email", "email", "alice@example.org")
    bike = cli("thing", "add", "--home", alice.home, "--maker", "Brompton", "--model", "C Line")
    offered = cli("thing", "transfer", "--home", alice.home, bike["id"][:8], "bob")
    assert offered["state"] == "offered" and offered["offered_to"] == bob.did
    incoming = wait_for(
        lambda: [t for t in cli("thing", "list", "--home", bob.home)["things"]],
        what="bob's node holds the offer",
    )
    assert [(t["id"], t["state"], t["offered_by"]) for t in incoming] == [
        (bike["id"], "incoming", alice.did)
    ]
    # Until bob accepts, the bike is alice's.
    assert cli("thing", "show", "--home", alice.home, bike["id"][:8])["state"] == "offered"

    # Bob takes it from his dashboard: the page offers it, his Accept signs the sale.
    page = Dashboard(bob)
    offer_page = page.get("/ui/things")
    assert "alice offers it to you" in offer_page and "Brompton C Line" in offer_page
    answer = page.post(f"/ui/things/{bike['id']}/accept")
    assert "The Brompton C Line is yours. You both signed the sale; alice is told." in answer
    taken = cli("thing", "show", "--home", bob.home, bike["id"][:8])
    assert taken["state"] == "owned" and len(taken["sales"]) == 1
    assert "<svg" in page.get("/ui/things")  # its QR code, for a label
    sale = taken["sales"][0]
    assert (sale["seller"], sale["buyer"]) == (alice.did, bob.did)
    sold = wait_for(
        lambda: (
            (t := cli("thing", "show", "--home", alice.home, bike["id"][:8]))["state"] == "sold"
            and t
        ),
        what="alice's node hears bob accepted",
    )
    assert sold["sales"] == taken["sales"]  # one record, signed by both
    record = Sale.decode(bytes.fromhex(sale["sale_hex"]))
    assert (record.transfer.seller.did, record.transfer.buyer.did) == (alice.did, bob.did)
    # Her key for the bike is forgotten; bob holds it; nothing of hers went with it.
    assert alice.stop() == 0
    with Store(alice.home / "amity.db") as store:
        ((_, sealed),) = store.thing_rows()
    assert sealed == b""
    assert "alice@example.org" not in json.dumps(cli("thing", "list", "--home", bob.home))

    # Bob sells it on to carol: the history goes with it.
    cli("thing", "transfer", "--home", bob.home, bike["id"][:8], "carol")
    wait_for(
        lambda: cli("thing", "list", "--home", carol.home)["things"],
        what="carol's node holds the offer",
    )
    now_carols = cli("thing", "accept", "--home", carol.home, bike["id"][:8])
    assert [(s["seller"], s["buyer"]) for s in now_carols["sales"]] == [
        (alice.did, bob.did),
        (bob.did, carol.did),
    ]
    human = run_amity("thing", "show", "--home", carol.home, bike["id"][:8])
    assert f"by {alice.did} to {bob.did}" in human.stdout


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


class Dashboard:
    """A person's dashboard, signed in with the one-time link of `amity ui` (a real session
    cookie; changes carry this origin, as a browser's form does)."""

    def __init__(self, node: Node) -> None:
        link = cli("ui", "--home", node.home)["url"]
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with self._opener.open(link, timeout=10) as signed_in:
            self._base = signed_in.geturl().split("/ui/")[0]

    def get(self, path: str) -> str:
        with self._opener.open(self._base + path, timeout=10) as answer:
            return html.unescape(answer.read().decode("utf-8"))

    def post(self, path: str) -> str:
        request = urllib.request.Request(
            self._base + path, data=b"", method="POST", headers={"Origin": self._base}
        )
        with self._opener.open(request, timeout=10) as answer:  # follows the 303 to the page
            return html.unescape(answer.read().decode("utf-8"))


def _vault_key(home: Path) -> bytes:
    from amity.node.home import Home
    from amity.protocol.vault import vault_key

    return vault_key(Home(home).load_seed())
