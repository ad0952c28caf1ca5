"""Relays with real daemons: mail for a node that is offline and unreachable waits at its relay."""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import aiohttp

from amity.protocol.card import Card
from amity.protocol.frames import FrameKind, decode_deposited, encode_deposit, split_frame
from amity.protocol.identity import PeerId
from amity.protocol.mailbox import MailboxPolicy
from amity.protocol.sealed import seal
from tests.node.conftest import (
    WAIT_S,
    Node,
    NodeFactory,
    invite,
    meet,
    messages,
    send,
    texts,
    wait_for,
)
from tests.node.test_hostile import WireLink, WirePeer

#: Deposits each throwaway stranger key makes before the flood takes a fresh key.
_BATCH: Final = 100


def _held_at(relay_home: object) -> int:
    """Items in the relay's mailbox, read straight from its SQLite file."""
    with sqlite3.connect(f"file:{relay_home}/amity.db?mode=ro", uri=True) as db:
        (count,) = db.execute("SELECT count(*) FROM mailbox").fetchone()
    return int(count)


def test_mail_waits_at_the_relay_and_is_handed_over(nodes: NodeFactory) -> None:
    relay = nodes.create("relay", "relay", run_args=["--relay"])
    shop = nodes.create("shop", "vendor")
    # Alice is behind NAT: no peer endpoint, so nobody can dial her; she uses the relay.
    alice = nodes.create("alice", "person", run_args=["--listen", "none"])
    reply = alice.api.post("/api/relays", {"uri": invite(relay)})
    assert reply["state"] == "connected"
    assert [r["did"] for r in alice.api.get("/api/relays")["relays"]] == [relay.did]
    meet(alice, shop)  # her hello carries a card that names the relay

    alice.stop()
    sent = [send(shop, alice.did, f"while you were away {i}") for i in range(5)]
    wait_for(lambda: _held_at(relay.home) == len(sent), what="the relay to hold 5")
    # The relay holds the mail once its commit is done; it answers DEPOSITED after that, so the
    # shop's log of the answer may come a moment later.
    wait_for(lambda: shop.log_lines("relay.deposited"), what="the shop to hear DEPOSITED")

    alice.start()
    wait_for(lambda: len(messages(alice, shop.did)) == len(sent), what="alice to get the held mail")
    assert texts(alice, shop.did) == [f"while you were away {i}" for i in range(5)]
    wait_for(lambda: _held_at(relay.home) == 0, what="the relay to delete it")
    # She dials the shop once, its outbox resends, her duplicate ACKs clear it: nothing twice.
    wait_for(lambda: shop.pending() == 0, what="the shop's outbox to drain")
    assert texts(alice, shop.did) == [f"while you were away {i}" for i in range(5)]


def test_a_relay_refuses_mail_for_strangers(nodes: NodeFactory) -> None:
    relay = nodes.create("relay", "relay", run_args=["--relay"])
    shop = nodes.create("shop", "vendor")
    alice = nodes.create("alice", "person", run_args=["--listen", "none"])
    # Alice lists the relay only after the relay forgot her: it ended the relationship.
    alice.api.post("/api/relays", {"uri": invite(relay)})
    meet(alice, shop)
    relay.api.post(f"/api/peers/{alice.did}/end", {"reason": "closing the mailbox"})
    wait_for(lambda: alice.peer(relay.did)["state"] == "ended", what="alice to see the end")
    alice.stop()
    send(shop, alice.did, "nobody holds this")
    wait_for(
        lambda: shop.log_lines("relay.deposited") or relay.log_lines("relay.refused"),
        what="the deposit attempt",
    )
    assert relay.log_lines("relay.refused"), relay.log()
    assert "relay.unknown_recipient" in relay.log()
    assert _held_at(relay.home) == 0


#: More than a relay once handed over per link (500) and a sender once deposited (1 000).
MANY: Final = 5_000


def _send_many(node: Node, peer_did: str, count: int) -> dict[int, str]:
    """Queue ``count`` notes (eight at a time); returns each one's text by its seq."""
    with ThreadPoolExecutor(8) as pool:
        texts_sent = [f"note {i}" for i in range(count)]
        seqs = list(pool.map(lambda text: send(node, peer_did, text), texts_sent))
    return dict(zip(seqs, texts_sent, strict=True))


def test_five_thousand_notes_reach_an_offline_node_through_its_relay(nodes: NodeFactory) -> None:
    """All of them are deposited, held, handed over in pages, stored in order, exactly once."""
    relay = nodes.create("relay", "relay", run_args=["--relay"])
    shop = nodes.create("shop", "vendor")
    alice = nodes.create("alice", "person", run_args=["--listen", "none"])
    alice.api.post("/api/relays", {"uri": invite(relay)})
    meet(alice, shop)

    alice.stop()
    sent = _send_many(shop, alice.did, MANY)
    wait_for(lambda: _held_at(relay.home) == MANY, timeout=180, what=f"the relay to hold {MANY}")
    # The relay is the only road now: alice's one dial to the shop after the mail finds nobody.
    shop.stop()

    alice.start()
    wait_for(
        lambda: len(messages(alice, shop.did)) == MANY, timeout=180, what="alice to get them all"
    )
    wait_for(lambda: _held_at(relay.home) == 0, what="the relay to delete them all")
    got = messages(alice, shop.did)
    assert [m["seq"] for m in got] == sorted(sent)  # in order, each once
    assert [m["text"] for m in got] == [sent[seq] for seq in sorted(sent)]
    assert len(relay.log_lines("relay.handed_over")) >= 1


def test_a_direct_link_resends_more_than_a_thousand_pending_notes(nodes: NodeFactory) -> None:
    """When the link comes up, the sender's outbox is resent page after page, past 1 000."""
    shop, alice = nodes.create_many([("shop", "vendor"), ("alice", "person")])
    meet(alice, shop)
    alice.stop()
    sent = _send_many(shop, alice.did, 1_500)
    alice.start()
    send(alice, shop.did, "I am back")  # her dial brings the link up; the shop's outbox follows
    wait_for(lambda: len(messages(alice, shop.did)) == len(sent), timeout=120, what="all 1 500")
    got = messages(alice, shop.did)
    assert [m["seq"] for m in got] == sorted(sent)
    wait_for(lambda: shop.pending() == 0, what="the shop's outbox to drain")


def _sizes_at(relay_home: object) -> set[int]:
    """The distinct sizes of the sealed mail in the relay's mailbox."""
    with sqlite3.connect(f"file:{relay_home}/amity.db?mode=ro", uri=True) as db:
        rows = db.execute("SELECT DISTINCT length(sealed) FROM mailbox").fetchall()
    return {int(size) for (size,) in rows}


async def _deposit_all(link: WireLink, sealed: list[bytes]) -> list[str]:
    """Send one DEPOSIT per sealed mail on ``link``; the relay's answer codes, in order."""
    for deposit_id, mail in enumerate(sealed, 1):
        await link.send(encode_deposit(deposit_id, mail))
    codes: dict[int, str] = {}
    while len(codes) < len(sealed):
        message = await link.ws.receive(WAIT_S)
        assert message.type is aiohttp.WSMsgType.BINARY, message
        plain = link.session.decrypt(message.data)
        if plain is None:
            continue
        kind, payload = split_frame(plain)
        if kind is FrameKind.DEPOSITED:
            answer = decode_deposited(payload)
            codes[answer.deposit_id] = answer.code
    return [codes[i] for i in range(1, len(sealed) + 1)]


async def _flood(relay: Node, victim: Card) -> tuple[int, list[str]]:
    """A stranger floods ``victim``'s mailbox, with a fresh key for every batch of tiny notes.

    Goes on until a whole batch is refused, or the victim's whole mailbox (10 000) is full.
    Returns how many deposits were taken and the codes of the last batch.
    """
    limit = MailboxPolicy().max_items_per_recipient
    taken = 0
    async with aiohttp.ClientSession() as http:
        for n in range(limit // _BATCH + 1):
            stranger = WirePeer(f"stranger-{n}")
            link = await stranger.dial(http, relay)
            sealed = [
                seal(
                    stranger.note(victim.peer_id, f"spam {n}.{i}"),
                    recipient=victim.peer_id,
                    link_public=victim.link_cert.link_public,
                    ephemeral_private=bytes([n % 256, i % 256]) * 16,
                )
                for i in range(_BATCH)
            ]
            codes = await _deposit_all(link, sealed)
            await link.close()
            taken += codes.count("ok")
            if "ok" not in codes:
                return taken, codes
    return taken, codes


def test_a_strangers_flood_leaves_room_for_the_recipients_peers(nodes: NodeFactory) -> None:
    """Fresh keys bought a stranger the whole mailbox; now mail without a ticket shares a
    small budget, and a peer that holds the recipient's ticket still gets through."""
    relay = nodes.create("relay", "relay", run_args=["--relay"])
    shop = nodes.create("shop", "vendor")
    alice = nodes.create("alice", "person", run_args=["--listen", "none"])
    alice.api.post("/api/relays", {"uri": invite(relay)})
    meet(alice, shop)  # her hello names the relay and hands the shop a deposit ticket
    card = Card.from_uri(invite(alice))  # her link key, as anyone who met her could know it
    alice.stop()

    taken, last = asyncio.run(_flood(relay, card))
    policy = MailboxPolicy()
    assert taken == policy.stranger_items_per_recipient, taken
    assert set(last) == {"relay.strangers_full"}
    assert _held_at(relay.home) == taken

    send(shop, alice.did, "your order has shipped")
    wait_for(
        lambda: shop.log_lines("relay.deposited", items="1"), what="the shop's ticketed deposit"
    )
    assert _held_at(relay.home) == taken + 1
    # Notes of 9 to 22 characters: the relay holds them all at one padded size (sealed.md §2.1).
    assert _sizes_at(relay.home) == {377}

    alice.start()
    wait_for(lambda: texts(alice, shop.did), what="alice to get the shop's note")
    assert texts(alice, shop.did) == ["your order has shipped"]
    assert [m for m in messages(alice) if m["peer"] != shop.did] == []  # strangers: refused
    wait_for(lambda: _held_at(relay.home) == 0, what="the relay to hand over everything")
    assert PeerId.from_did(alice.did) == card.peer_id
