"""Relays with real daemons: mail for a node that is offline and unreachable waits at its relay."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from tests.node.conftest import (
    Node,
    NodeFactory,
    invite,
    meet,
    messages,
    send,
    texts,
    wait_for,
)


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
    assert shop.log_lines("relay.deposited"), shop.log()

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
