"""Intents cast directly at vendors she knows, on real daemons (spec/intents.md §7.8).

She has relationships with three vendors: one takes intents of bicycles at its own endpoint,
one takes only books, one takes none. `amity intent cast --direct` reaches the first only, as
the intent's fresh key on a link of its own, never over her relationship link: the vendor's
store and audit learn the pseudonym and nothing that names her. It answers; she accepts
without revealing herself and withdraws, with a receipt. Bad input at the direct endpoint
(malformed, replayed, oversized) is refused with its code and the vendor keeps serving.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest

from amity.protocol.encoding import encode
from amity.protocol.envelope import sign_envelope
from amity.protocol.frames import encode_envelope_frame
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.intent import Constraints, Intent, TermsRef
from amity.protocol.intentmessages import (
    MSG_CAST,
    MSG_DIRECT,
    Cast,
    DirectRules,
    decode_intent_body,
    encode_intent_body,
)
from amity.protocol.intentwork import solve_work
from amity.protocol.keyring import Keyring
from amity.protocol.linkcert import LinkKey
from amity.protocol.session import Session
from tests.node.conftest import WAIT_S, Node, NodeFactory, meet, run_amity, wait_for
from tests.node.test_daemon import read_events
from tests.node.test_grants import cli
from tests.node.test_hostile import WireLink, endpoint, now_ms
from tests.node.test_intents import CATEGORY, inbox
from tests.node.test_nearby import _port

#: Low work, so the test spends its time on the protocol.
DIRECT = '\n[direct]\ncategories = ["{}"]\nwork_bits = 4\n'


def direct_vendor(nodes: NodeFactory, name: str, category: str | None) -> Node:
    vendor = nodes.create(name, "vendor", start=False)
    if category is not None:
        with open(vendor.home / "config.toml", "a", encoding="utf-8") as config:
            config.write(DIRECT.format(category))
    vendor.start()
    return vendor


def rows_naming(home: Path, key: bytes) -> dict[str, int]:
    """Per table, how many rows hold ``key`` (its bytes, its hex, or its did:key)."""
    needles = (key.hex(), PeerId(key).did)
    found: dict[str, int] = {}
    db = sqlite3.connect(home / "amity.db")
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                if any(
                    (isinstance(v, str) and any(n in v for n in needles))
                    or (isinstance(v, bytes) and key in v)
                    for v in row
                ):
                    found[table] = found.get(table, 0) + 1
    finally:
        db.close()
    return found


def test_a_direct_cast_reaches_the_vendor_that_serves_it_as_the_pseudonym_only(
    nodes: NodeFactory,
) -> None:
    person = nodes.create("alice")
    bikes = direct_vendor(nodes, "bikes", CATEGORY)
    books = direct_vendor(nodes, "books", "goods.books")
    plain = direct_vendor(nodes, "plain", None)
    for vendor in (bikes, books, plain):
        meet(person, vendor)
    her = PeerId.from_did(person.did).key
    before = rows_naming(bikes.home, her)
    assert before, "the vendor knows her: their relationship names her"

    made = cli(
        "intent", "cast", "--home", person.home, "--direct", "--delay", "0s", "--category", CATEGORY,
        "--budget", "300EUR", "--region", "FR", "--expires", "1d", "--text", "a child's bike",
    )  # fmt: skip
    assert made["direct"] == [bikes.did] and made["hubs"] == []
    (seen,) = wait_for(lambda: inbox(bikes), what="the intent at the vendor that serves it")
    assert seen["id"] == made["id"] and seen["via"] == made["pseudonym"]
    assert not inbox(books) and not inbox(plain)

    cli("intent", "answer", "--home", bikes.home, made["id"][:8], "--price", "240EUR")
    offers = wait_for(
        lambda: cli("intent", "offers", "--home", person.home, made["id"][:8])["offers"],
        what="the vendor's offer, back on the direct link",
    )
    assert offers[0]["vendor"] == bikes.did and offers[0]["price"] == "240.00 EUR"
    cli("intent", "accept", "--home", person.home, offers[0]["id"][:12], "--anonymous")
    won = wait_for(lambda: (i := inbox(bikes)[0])["state"] == "won" and i, what="the accept")
    assert won["revealed"] is None

    # The vendor knows her (a relationship), but nothing it stored about the intent names her:
    # the rows that name her are those it had before the cast; the pseudonym is in its inbox.
    pseudonym = PeerId.from_did(made["pseudonym"]).key
    assert rows_naming(bikes.home, her) == before
    assert "intent_seen" in rows_naming(bikes.home, pseudonym)
    assert not any(her.hex() in line for line in bikes.log_lines("intents.link_up"))

    cli("intent", "withdraw", "--home", person.home, made["id"][:8])
    receipts = wait_for(
        lambda: person.api.get(f"/api/intents/{made['id']}")["receipts"], what="its receipt"
    )
    assert [(r["deleter"], r["reason"]) for r in receipts] == [(bikes.did, "withdrawn")]
    wait_for(lambda: not inbox(bikes), what="the vendor deleted it")
    # Its housekeeping (at start, then hourly) forgets the pseudonym: it collected everything
    # and no intent here names it any more (spec/intents.md §7.8).
    bikes.stop()
    bikes.start()
    short = PeerId(pseudonym).short
    forgotten = wait_for(
        lambda: bikes.log_lines("intents.pseudonym_forgotten", peer=short),
        what="the vendor to forget the pseudonym",
    )
    assert "uncollected=0" in forgotten[0]
    assert not rows_naming(bikes.home, pseudonym)


def test_no_vendor_takes_it_directly_says_so(nodes: NodeFactory) -> None:
    person = nodes.create("alice")
    plain = direct_vendor(nodes, "plain", None)
    meet(person, plain)
    refused = cli(
        "intent", "cast", "--home", person.home, "--direct", "--delay", "0s", "--category", CATEGORY,
        status=1,
    )  # fmt: skip
    assert "directly" in refused["error"]["message"]


async def test_bad_input_at_a_direct_endpoint_is_refused_and_it_keeps_serving(
    nodes: NodeFactory,
) -> None:
    bikes = direct_vendor(nodes, "bikes", CATEGORY)
    vendor = PeerId.from_did(bikes.did)
    seed = os.urandom(32)
    signer = SigningIdentity(seed)
    now = now_ms()
    intent = Intent.create(
        signer,
        link_public=LinkKey(os.urandom(32)).public,
        category=CATEGORY,
        text="a bike",
        constraints=Constraints(None, None, None, 1),
        terms=TermsRef.roster("P2B1"),
        offers_wanted=3,
        cast_ms=now,
        expires_ms=now + 3600_000,
    )
    cast = encode_intent_body(Cast(intent.encoded, solve_work(intent.intent_id, 4)))

    def envelope(seq: int, body: bytes) -> bytes:
        return sign_envelope(
            signer, type=MSG_CAST, recipient=vendor, seq=seq, ts_ms=now_ms(),
            nonce=os.urandom(16), body=body,
        )  # fmt: skip

    async with aiohttp.ClientSession() as http:
        link, rules = await _dial(http, bikes, seed)
        assert rules.categories == (CATEGORY,) and rules.work_bits == 4
        await link.send(encode_envelope_frame(envelope(1, b"\xc1not msgpack")))
        assert await link.refusal_for(1) == "encoding.malformed"
        oversized = encode([1, b"\x00" * 20_000, bytes(16)])  # an intent past 17 408 bytes
        await link.send(encode_envelope_frame(envelope(2, oversized)))
        assert await link.refusal_for(2) == "encoding.too_large"
        # an intent signed by another key than the one casting it here
        other = Intent.create(
            SigningIdentity(os.urandom(32)), link_public=LinkKey(os.urandom(32)).public,
            category=CATEGORY, text="not mine", constraints=Constraints(None, None, None, 1),
            terms=TermsRef.roster("P2B1"), offers_wanted=1, cast_ms=now, expires_ms=now + 60_000,
        )  # fmt: skip
        forged = encode_intent_body(Cast(other.encoded, solve_work(other.intent_id, 4)))
        await link.send(encode_envelope_frame(envelope(3, forged)))
        assert await link.refusal_for(3) == "intent.bad_signature"
        await link.send(encode_envelope_frame(envelope(4, cast)))
        await link.ack_for(4)
        await link.send(encode_envelope_frame(envelope(5, cast)))  # the same cast, again
        assert await link.refusal_for(5) == "intent.replayed"
        await link.close()
    (seen,) = inbox(bikes)
    assert seen["id"] == intent.intent_id.hex() and seen["via"] == signer.peer_id.did
    assert len(bikes.log_lines("intents.refused")) == 4
    # and it still serves a real caster
    person = nodes.create("alice")
    meet(person, bikes)
    made = cli(
        "intent", "cast", "--home", person.home, "--direct", "--delay", "0s", "--category", CATEGORY,
    )  # fmt: skip
    wait_for(lambda: len(inbox(bikes)) == 2, what=f"intent {made['id'][:8]} after the bad ones")


async def _dial(
    http: aiohttp.ClientSession, node: Node, seed: bytes
) -> tuple[WireLink, DirectRules]:
    """The vendor's intents path, under ``seed`` (an intent key): handshake, its rules."""
    ws = await http.ws_connect(endpoint(node).replace("/amity/v1/ws", "/amity/v1/intents"))
    link_key, cert = Keyring(seed).current(now_ms())
    session = Session(
        initiator=True,
        link_key=link_key,
        link_cert=cert,
        ephemeral_private=os.urandom(32),
        expected_peer=PeerId.from_did(node.did),
        extra=b"",
    )
    await ws.send_bytes(session.start())
    answer = await ws.receive(WAIT_S)
    finish = session.receive_handshake(answer.data, now_ms())
    assert finish is not None
    await ws.send_bytes(finish)
    rules = decode_intent_body(MSG_DIRECT, session.peer_extra)
    assert isinstance(rules, DirectRules)
    return WireLink(ws, session), rules


def test_a_shop_on_the_lan_and_a_vendor_she_knows_get_it_and_neither_learns_who_she_is(
    nodes: NodeFactory,
) -> None:
    # one vendor she has a relationship with (not on the LAN), one shop only on the LAN
    bikes = direct_vendor(nodes, "bikes", CATEGORY)
    shop = nodes.create("shop", "vendor", start=False, mdns=True)
    with open(shop.home / "config.toml", "a", encoding="utf-8") as config:
        config.write(DIRECT.format("goods"))
    shop.start()
    # she browses the LAN but does not announce herself: her node listens on loopback only
    person = nodes.create("alice", mdns=True, start=False)
    person.run_args = [*person.run_args, "--listen", f"127.0.0.1:{_port(person)}"]
    person.start()
    announced = nodes.create("bob", mdns=True)
    for node in (person, shop, announced):
        if not node.api.get("/api/nearby")["enabled"]:
            pytest.skip(f"LAN discovery could not start on this machine: {node.log()[-400:]}")
    seen = wait_for(
        lambda: [n for n in person.api.get("/api/nearby")["nearby"] if n["did"] == shop.did],
        what="her node to see the shop on the LAN",
    )
    assert seen[0]["intents"] == ["goods"] and seen[0]["kind"] == "vendor"
    assert "takes intents: goods" in run_amity("nearby", "--home", person.home).stdout

    assert person.api.get("/api/nearby")["announced"] is False
    meet(person, bikes)
    her = PeerId.from_did(person.did).key
    known_before = rows_naming(bikes.home, her)
    # A node that announces itself would show the shop its did:key at the address the cast
    # comes from: it refuses to cast nearby, and says why.
    refused = cli(
        "intent", "cast", "--home", announced.home, "--nearby", "--delay", "0", "--category", CATEGORY,
        status=1,
    )  # fmt: skip
    assert "announces itself" in refused["error"]["message"] and not inbox(shop)

    made = cli(
        "intent", "cast", "--home", person.home, "--direct", "--nearby", "--delay", "0",
        "--category", CATEGORY, "--budget", "300EUR", "--expires", "1d",
    )  # fmt: skip
    assert sorted(made["direct"]) == sorted([bikes.did, shop.did]) and made["hubs"] == []
    (got,) = wait_for(lambda: inbox(shop), what="the intent at the shop nearby")
    assert got["via"] == made["pseudonym"]
    (known,) = wait_for(lambda: inbox(bikes), what="the intent at the vendor she knows")
    assert known["via"] == made["pseudonym"] and known["id"] == got["id"]
    cli("intent", "answer", "--home", shop.home, made["id"][:8], "--price", "199EUR")
    wait_for(
        lambda: person.api.get(f"/api/intents/{made['id']}")["offers"],
        what="the shop's offer, back over the LAN",
    )
    # Their stores and audit logs (every table) hold the pseudonym; nothing new names her.
    pseudonym = PeerId.from_did(made["pseudonym"]).key
    assert not rows_naming(shop.home, her)  # it never met her
    assert rows_naming(bikes.home, her) == known_before  # only what their relationship holds
    for vendor in (shop, bikes):
        assert "intent_seen" in rows_naming(vendor.home, pseudonym)


async def test_a_delayed_cast_is_scheduled_then_cast_at_a_random_time(nodes: NodeFactory) -> None:
    person = nodes.create("alice")
    bikes = direct_vendor(nodes, "bikes", CATEGORY)
    meet(person, bikes)
    before = now_ms()
    headers = {"Authorization": f"Bearer {person.api.token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(person.api.base + "/api/events") as stream,
    ):
        scheduled = cli(
            "intent", "cast", "--home", person.home, "--direct", "--delay", "6s",
            "--category", CATEGORY,
        )  # fmt: skip
        at = scheduled["at"]
        if _ms(at) > now_ms() + 500:  # the draw left time to look (most runs): still waiting
            listed = person.api.get("/api/intents")
            assert listed["intents"] == [] and [s["scheduled"] for s in listed["scheduled"]] == [
                scheduled["scheduled"]
            ]
            assert not inbox(bikes)  # nothing was dialled or sent yet
        events = await read_events(stream, until=lambda e: e["kind"] == "intent.cast")
    cast = events[-1]
    assert cast["scheduled"] == scheduled["scheduled"] and cast["direct"] == [bikes.did]
    mine = person.api.get(f"/api/intents/{cast['intent']}")
    cast_ms = _ms(mine["cast"])
    assert before - 1000 <= cast_ms <= _ms(at) + 1000  # its cast_ms is when it was cast
    (seen,) = wait_for(lambda: inbox(bikes), what="the scheduled intent at the vendor")
    assert seen["id"] == cast["intent"]
    assert cli("intent", "list", "--home", person.home)["scheduled"] == []


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_a_scheduled_cast_outlives_a_kill_and_is_cast_at_the_next_start(
    nodes: NodeFactory,
) -> None:
    """Kept in the store before her node answers 'scheduled': a kill -9 loses nothing, and a
    node that starts after the cast's time casts it at once."""
    person = nodes.create("alice")
    bikes = direct_vendor(nodes, "bikes", CATEGORY)
    meet(person, bikes)
    scheduled = cli(
        "intent", "cast", "--home", person.home, "--direct", "--delay", "24h",
        "--category", CATEGORY,
    )  # fmt: skip

    person.kill()
    # Its time goes by while the node is down (the store says when; here it is moved back).
    db = sqlite3.connect(person.home / "amity.db")
    with db:
        (raw,) = db.execute("SELECT value FROM meta WHERE key = 'intents.scheduled'").fetchone()
        kept = json.loads(raw)
        assert list(kept) == [scheduled["scheduled"]]
        kept[scheduled["scheduled"]]["at_ms"] = now_ms() - 1000
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'intents.scheduled'",
            (json.dumps(kept).encode(),),
        )
    db.close()
    person.start()

    (seen,) = wait_for(lambda: inbox(bikes), what="the kept cast at the vendor, after the start")
    assert seen["category"] == CATEGORY
    wait_for(
        lambda: cli("intent", "list", "--home", person.home)["scheduled"] == [],
        what="her node forgets the cast it made",
    )
