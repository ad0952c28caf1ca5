"""Deposit tickets and the relay's admission rule against spec/vectors/relay.json, plus fuzzing."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.errors import AmityError, UsageError
from amity.protocol.frames import Deposit, decode_deposit, encode_deposit, split_frame
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.mailbox import MailboxPolicy, admit_deposit
from amity.protocol.sealed import seal
from amity.protocol.ticket import (
    MAX_TICKET_BYTES,
    TICKET_LIFETIME_MS,
    TicketIssuer,
    check_ticket,
    issue_ticket,
    read_ticket,
)
from tests.strategies import mutated
from tests.vectors import unhex, vector_cases

ALICE = SigningIdentity(bytes.fromhex("a1" * 32))
BOB = SigningIdentity(bytes.fromhex("b0" * 32))
T0 = 1_767_225_600_000
TICKET = issue_ticket(ALICE, sender=BOB.peer_id, not_after_ms=T0 + TICKET_LIFETIME_MS)


def _peer(vector: dict[str, Any], key: str) -> PeerId:
    return PeerId(unhex(vector, key))


@pytest.mark.parametrize("vector", **vector_cases("relay"))
def test_relay_vector(vector: dict[str, Any]) -> None:
    operation = vector["operation"]
    if operation == "issue":
        identity = SigningIdentity(unhex(vector, "recipient_seed_hex"))
        sender = _peer(vector, "sender_peer_id_hex")
        ticket = issue_ticket(identity, sender=sender, not_after_ms=vector["not_after_ms"])
        assert ticket == unhex(vector, "ticket_hex")
        assert read_ticket(ticket).sender == sender
        assert unhex(vector, "signed_bytes_hex") in ticket
    elif operation == "check":
        arguments = {
            "recipient": _peer(vector, "recipient_peer_id_hex"),
            "sender": _peer(vector, "sender_peer_id_hex"),
            "now_ms": vector["now_ms"],
        }
        data = unhex(vector, "ticket_hex")
        if "error" in vector:
            with pytest.raises(AmityError) as info:
                check_ticket(data, **arguments)
            assert info.value.code == vector["error"], info.value
        else:
            assert check_ticket(data, **arguments).encoded == data
    else:
        assert operation == "admit"
        alice = _peer(vector, "recipient_peer_id_hex")
        ticket = vector["ticket_hex"]
        admission = admit_deposit(
            Deposit(1, unhex(vector, "sealed_hex"), bytes.fromhex(ticket) if ticket else None),
            MailboxPolicy(**vector["policy"]),
            sender=_peer(vector, "sender_peer_id_hex"),
            now_ms=vector["now_ms"],
            serves=lambda peer: peer == alice,
            bytes_from_sender=lambda: int(vector["held_bytes_from_sender"]),
            items_for=lambda peer: int(vector["held_items_for_recipient"]),
            stranger_mail_for=lambda peer: (
                int(vector["held_stranger_items_for_recipient"]),
                int(vector["held_stranger_bytes_for_recipient"]),
            ),
        )
        assert admission.code == vector["code"]
        if admission.code == "ok":
            assert admission.recipient == alice
            assert admission.ticketed is vector["ticketed"]


def test_a_ticket_is_at_most_148_bytes_and_fits_a_hello_and_a_deposit() -> None:
    biggest = issue_ticket(ALICE, sender=BOB.peer_id, not_after_ms=2**64 - 1)
    assert len(biggest) == 148 <= MAX_TICKET_BYTES
    sealed = seal(b"x", recipient=ALICE.peer_id, link_public=bytes(range(32)),
                  ephemeral_private=bytes(range(1, 33)))  # fmt: skip
    _, payload = split_frame(encode_deposit(7, sealed, biggest))
    assert decode_deposit(payload) == Deposit(7, sealed, biggest)
    assert decode_deposit(split_frame(encode_deposit(7, sealed))[1]) == Deposit(7, sealed, None)


def test_issue_refuses_a_negative_time() -> None:
    with pytest.raises(UsageError):
        issue_ticket(ALICE, sender=BOB.peer_id, not_after_ms=-1)


def test_the_issuer_reuses_a_ticket_until_half_its_life_is_gone() -> None:
    issuer = TicketIssuer(ALICE)
    first = issuer.for_peer(BOB.peer_id, T0)
    assert issuer.for_peer(BOB.peer_id, T0 + TICKET_LIFETIME_MS // 2 - 1) == first
    renewed = issuer.for_peer(BOB.peer_id, T0 + TICKET_LIFETIME_MS // 2)
    assert renewed != first
    ticket = check_ticket(
        renewed, recipient=ALICE.peer_id, sender=BOB.peer_id, now_ms=T0 + TICKET_LIFETIME_MS
    )
    assert ticket.not_after_ms == T0 + TICKET_LIFETIME_MS // 2 + TICKET_LIFETIME_MS


def test_strangers_share_one_budget_and_peers_keep_their_room() -> None:
    """Fresh keys do not help a stranger: the budget is per recipient, not per sender."""
    policy = MailboxPolicy(max_items_per_recipient=20, stranger_items_per_recipient=5)
    held: list[bool] = []  # ticketed?
    sealed = seal(b"x" * 10, recipient=ALICE.peer_id, link_public=bytes(range(32)),
                  ephemeral_private=bytes(range(1, 33)))  # fmt: skip

    def deposit(sender: PeerId, ticket: bytes | None) -> str:
        admission = admit_deposit(
            Deposit(1, sealed, ticket),
            policy,
            sender=sender,
            now_ms=T0,
            serves=lambda peer: peer == ALICE.peer_id,
            bytes_from_sender=lambda: 0,
            items_for=lambda peer: len(held),
            stranger_mail_for=lambda peer: (
                held.count(False),
                held.count(False) * len(sealed),
            ),
        )
        if admission.code == "ok":
            held.append(admission.ticketed)
        return admission.code

    strangers = [SigningIdentity(bytes([i]) * 32).peer_id for i in range(1, 40)]
    codes = [deposit(stranger, None) for stranger in strangers]
    assert codes.count("ok") == 5
    assert set(codes[5:]) == {"relay.strangers_full"}
    bobs = [deposit(BOB.peer_id, TICKET) for _ in range(20)]
    assert bobs.count("ok") == 15 and bobs[15:] == ["relay.full"] * 5


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated(st.just(TICKET)), st.binary(max_size=MAX_TICKET_BYTES + 8)))
def test_check_ticket_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        check_ticket(data, recipient=ALICE.peer_id, sender=BOB.peer_id, now_ms=T0)


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated(st.just(encode_deposit(1, b"\x91\x01", TICKET)[1:])), st.binary()))
def test_decode_deposit_raises_only_amity_errors(payload: bytes) -> None:
    with contextlib.suppress(AmityError):
        deposit = decode_deposit(payload)
        assert deposit.ticket is None or 1 <= len(deposit.ticket) <= MAX_TICKET_BYTES


def test_an_empty_ticket_is_nil_or_nothing() -> None:
    with pytest.raises(AmityError) as info:
        decode_deposit(encode_deposit(1, b"\x91\x01", b"")[1:])
    assert info.value.code == "encoding.schema"
