"""Simulated relays: sealed mail deposited for an offline peer, handed over, ACKed, and quotas."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from amity.protocol.card import NodeKind
from amity.protocol.errors import SealKeyError
from amity.protocol.frames import (
    Deposit,
    FrameKind,
    decode_deposited,
    decode_mail_ack,
    encode_deposit,
    encode_mail,
    split_frame,
)
from amity.protocol.handover import HAND_OVER_WINDOW
from amity.protocol.identity import PeerId
from amity.protocol.mailbox import MailboxPolicy
from amity.protocol.notes import MSG_NOTE, encode_note
from amity.protocol.relationship import SendMessage
from amity.protocol.sealed import open_sealed, seal
from amity.simulations.context import Staged
from amity.simulations.crypto import CryptoMode, crypto_mode
from amity.simulations.mailbox import SimMailbox
from amity.simulations.node import SimNode
from amity.simulations.relay import make_relay, use_relay
from amity.simulations.world.streams import RandomStreams
from tests.simulations.test_node import Pair, meet, pair

SECRET = "meet me at the old mill"


@dataclass
class World:
    p: Pair
    relay: SimNode
    used: list[tuple[bool, str]] = field(default_factory=list)


def with_relay() -> World:
    """The person and vendor of test_node, and a relay the person uses before they meet."""
    p = pair()
    streams = RandomStreams(99)
    relay = SimNode(
        p.person.env,
        name="relay",
        kind=NodeKind.RELAY,
        seed=streams.key("relay"),
        random=streams.bytes_source("relay"),
        reachable=True,
    )
    make_relay(relay)
    world = World(p, relay)
    use_relay(p.person, relay.invite(3_600_000), lambda ok, why: world.used.append((ok, why)))
    p.engine.run(until_ms=2_000)
    meet(p)
    p.engine.run(until_ms=12_000)
    return world


def send_note(sender: SimNode, to: PeerId, text: str) -> None:
    sender.commit(Staged(sends=[SendMessage(to, MSG_NOTE, encode_note(text))]))


def events(p: Pair, node: str) -> list[str]:
    return [event for _, name, event in p.log.events if name == node]


def test_the_relay_is_on_her_card_and_she_holds_a_link_to_it() -> None:
    with crypto_mode(CryptoMode.REAL):
        w = with_relay()
    p = w.p
    assert w.used == [(True, "connected")]
    rel = p.vendor.relationship(p.person.peer_id)
    assert rel is not None and rel.peer_card is not None
    assert [r.peer_id for r in rel.peer_card.relays] == [w.relay.peer_id]
    assert p.person.links.get(w.relay.peer_id)


def test_mail_for_an_offline_person_waits_at_her_relay_and_reaches_her_when_she_is_back() -> None:
    with crypto_mode(CryptoMode.REAL):
        w = with_relay()
        p, relay = w.p, w.relay
        assert relay.mailbox is not None
        p.network.set_online(p.person.address, False)
        p.engine.run(until_ms=p.engine.now_ms + 5_000)
        send_note(p.vendor, p.person.peer_id, SECRET)
        p.engine.run(until_ms=p.engine.now_ms + 5_000)

        (held,) = relay.mailbox.held(p.person.peer_id)
        assert p.vendor.deposits is not None and p.vendor.deposits.sent == 1
        # Her hello gave the vendor a deposit ticket: its mail uses her peers' room, not the
        # strangers' budget (spec/relay.md §6).
        assert held.ticketed and p.person.peer_id in p.vendor.deposits.tickets
        # The relay holds sealed bytes only: no plaintext, and its own key opens nothing.
        assert SECRET.encode() not in held.sealed
        relay_key = relay.keyring.current(relay.now_ms())[0]
        with pytest.raises(SealKeyError):
            open_sealed(held.sealed, recipient=relay.peer_id, link_key=relay_key)
        # Resending keeps retrying directly, but deposits each envelope once only.
        p.engine.run(until_ms=p.engine.now_ms + 120_000)
        assert p.vendor.deposits.sent == 1 and len(relay.mailbox.held()) == 1
        assert p.vendor.outbox.pending(p.person.peer_id) == 1

        # She comes back while the vendor is away: only the relay can give her the note.
        p.network.set_online(p.vendor.address, False)
        p.network.set_online(p.person.address, True)
        p.engine.run(until_ms=p.engine.now_ms + 5_000)
        assert "mail.accepted" in events(p, "person")
        assert relay.mailbox.held() == [] and relay.mailbox.acked == 1
        assert p.vendor.outbox.pending(p.person.peer_id) == 1  # it has not heard from her yet

        # The vendor is back: her node links to it, its outbox resends, her ACK clears it.
        p.network.set_online(p.vendor.address, True)
        p.engine.run(until_ms=p.engine.now_ms + 60_000)
    assert p.vendor.outbox.pending(p.person.peer_id) == 0
    assert p.person.duplicates >= 1  # the resent note was stored already: ACKed again
    assert p.vendor.deposits.deposited == set()


def test_five_thousand_notes_are_deposited_and_handed_over_in_pages() -> None:
    """As the daemon: every pending envelope is deposited, page by page, and every held item is
    handed over with at most a window's worth unacknowledged, each accepted once."""
    many = 5_000
    with crypto_mode(CryptoMode.REAL):
        w = with_relay()
        p, relay = w.p, w.relay
        assert relay.mailbox is not None
        p.network.set_online(p.person.address, False)
        p.engine.run(until_ms=p.engine.now_ms + 5_000)
        for i in range(many):
            send_note(p.vendor, p.person.peer_id, f"note {i}")
        p.engine.run(until_ms=p.engine.now_ms + 60_000)
        assert len(relay.mailbox.held(p.person.peer_id)) == many
        assert p.vendor.deposits is not None and p.vendor.deposits.sent == many

        p.network.set_online(p.vendor.address, False)  # the relay is the only road
        p.network.set_online(p.person.address, True)
        in_flight: list[int] = []
        window = relay.mailbox.window

        def watch() -> None:  # the largest window on any of the relay's links, as it goes
            links = relay.links.get(p.person.peer_id, ())
            in_flight.extend(len(window(link).in_flight) for link in links)
            if relay.mailbox is not None and relay.mailbox.held():
                p.engine.call_later(50, watch)

        watch()
        p.engine.run(until_ms=p.engine.now_ms + 60_000)
    assert relay.mailbox.held() == [] and relay.mailbox.acked == many
    assert events(p, "person").count("mail.accepted") == many
    assert p.person.duplicates == 0
    assert 0 < max(in_flight) <= HAND_OVER_WINDOW


def test_mail_opened_then_the_short_dial_clears_the_senders_outbox() -> None:
    """A reachable recipient: after the mail it dials the sender once (as the daemon does)."""
    with crypto_mode(CryptoMode.REAL):
        w = with_relay()
        p = w.p
        assert w.relay.mailbox is not None
        p.network.set_online(p.person.address, False)
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        # The vendor has mail for her; she is a reachable node that holds no links of its own.
        p.person.reachable = True
        send_note(p.vendor, p.person.peer_id, SECRET)
        p.engine.run(until_ms=p.engine.now_ms + 5_000)
        assert len(w.relay.mailbox.held()) == 1
        p.network.set_online(p.person.address, True)
        p.engine.run(until_ms=p.engine.now_ms + 5_000)
    assert w.relay.mailbox.held() == []
    assert p.vendor.outbox.pending(p.person.peer_id) == 0


class _Link:
    """Enough of a SimLink for frame handlers: who it proved, and what was sent on it."""

    def __init__(self, peer: PeerId) -> None:
        self.proven_peer = peer
        self.sent: list[bytes] = []

    def send(self, message: bytes) -> None:
        self.sent.append(message)


def _sealed_for(node: SimNode, size: int = 10) -> bytes:
    link_public = node.keyring.current(node.now_ms())[1].link_public
    return seal(
        b"\x00" * size,
        recipient=node.peer_id,
        link_public=link_public,
        ephemeral_private=b"\x07" * 32,
    )


def test_quotas_refuse_with_the_daemons_codes() -> None:
    with crypto_mode(CryptoMode.REAL):
        w = with_relay()
        p, relay = w.p, w.relay
    serves = {p.person.peer_id}
    # Sealed mail is padded (spec/sealed.md §2.1): 10 bytes seal to 377, 500 bytes to 633.
    policy = MailboxPolicy(max_bytes_per_sender=800, max_items_per_recipient=2)
    box = SimMailbox(relay.engine, serves=serves.__contains__, clock_ms=relay.now_ms, policy=policy)
    mail = _sealed_for(p.person)
    sender, other = p.vendor.peer_id, relay.peer_id
    assert box.deposit(sender, Deposit(1, mail))[0] == "ok"
    assert box.deposit(sender, Deposit(2, _sealed_for(p.vendor)))[0] == "relay.unknown_recipient"
    assert box.deposit(sender, Deposit(3, b"\x01garbage"))[0].startswith("encoding.")
    assert box.deposit(sender, Deposit(4, _sealed_for(p.person, 500)))[0] == "relay.quota"
    assert box.deposit(other, Deposit(5, mail))[0] == "ok"
    assert box.deposit(other, Deposit(6, mail))[0] == "relay.full"
    codes = ("relay.unknown_recipient", "relay.quota", "relay.full")
    assert [box.refused[code] for code in codes] == [1, 1, 1] and sum(box.refused.values()) == 4
    # Only the recipient's own MAIL_ACK deletes: the sender frees its quota then.
    assert box.ack(sender, [1]) == 0 and box.ack(p.person.peer_id, [1]) == 1
    assert box.deposit(sender, Deposit(7, _sealed_for(p.person, 200)))[0] == "ok"


def test_a_node_that_is_no_relay_answers_not_a_relay() -> None:
    with crypto_mode(CryptoMode.REAL):
        w = with_relay()
    p = w.p
    link = _Link(p.person.peer_id)
    p.vendor.link_message(link, encode_deposit(1, _sealed_for(p.person)))  # type: ignore[arg-type]
    ((kind, payload),) = [split_frame(m) for m in link.sent]
    assert kind is FrameKind.DEPOSITED and decode_deposited(payload).code == "relay.not_a_relay"


def test_unreadable_mail_is_acknowledged_so_it_does_not_hold_the_window() -> None:
    """A relay waits for MAIL_ACKs before it sends more: every MAIL gets one, even garbage."""
    with crypto_mode(CryptoMode.REAL):
        w = with_relay()
    p = w.p
    link = _Link(w.relay.peer_id)
    rejected = p.person.rejected
    p.person.link_message(link, encode_mail(7, b"\x01garbage"))  # type: ignore[arg-type]
    ((kind, acked),) = [split_frame(m) for m in link.sent]
    assert kind is FrameKind.MAIL_ACK and decode_mail_ack(acked) == (7,)
    assert p.person.rejected == rejected + 1  # rejected and counted; the node goes on


def _deposit_payload(sealed: bytes) -> bytes:
    return split_frame(encode_deposit(1, sealed))[1]


def test_mail_expires_after_its_ttl_and_is_swept() -> None:
    with crypto_mode(CryptoMode.REAL):
        w = with_relay()
        p, relay = w.p, w.relay
        box = make_relay(relay, MailboxPolicy(ttl_ms=7_200_000))
        p.network.set_online(p.person.address, False)
        send_note(p.vendor, p.person.peer_id, SECRET)
        p.engine.run(until_ms=p.engine.now_ms + 60_000)
        assert len(box.held()) == 1 and box.mail_for(p.person.peer_id)
        p.engine.run(until_ms=p.engine.now_ms + 7_200_000)
        assert box.mail_for(p.person.peer_id) == []  # expired: never handed over
        p.engine.run(until_ms=p.engine.now_ms + 3_600_000)
    assert box.held() == [] and box.expired == 1
