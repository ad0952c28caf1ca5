"""The simulator's negotiation book: a finished record reads back equal to what was persisted."""

from __future__ import annotations

from dataclasses import replace

import pytest

from amity.protocol.negotiation import (
    OPEN_STATES,
    Accept,
    Counter,
    Event,
    Negotiation,
    NegotiationState,
    TimerFired,
    received,
    step,
)
from amity.protocol.relationship import SendMessage
from amity.protocol.termsmessages import decode_terms_body
from amity.simulations.services.negotiation_book import NegotiationBook
from tests.protocol.test_negotiation import (
    DAY,
    DOCUMENTS,
    PERSON,
    REPRESENTATIVES,
    T0,
    VENDOR,
    _pair,
)


def _stored(neg: Negotiation, book: NegotiationBook) -> Negotiation:
    book[neg.negotiation_id] = neg
    return book[neg.negotiation_id]


def _is_packed(book: NegotiationBook, negotiation_id: bytes) -> bool:
    return not isinstance(book._records[negotiation_id], Negotiation)


@pytest.mark.parametrize("label", sorted(REPRESENTATIVES))
def test_every_state_reads_back_as_stored(label: str) -> None:
    neg, signer = REPRESENTATIVES[label]
    book = NegotiationBook(signer.peer_id)
    assert _stored(neg, book) == neg
    assert list(book) == [neg.negotiation_id] and len(book) == 1
    assert neg.negotiation_id in book and b"other" not in book
    assert _is_packed(book, neg.negotiation_id) == (neg.state not in OPEN_STATES)


def _agreed_on_the_vendors_counter() -> tuple[Negotiation, Negotiation]:
    """Both ends after the person accepted the vendor's counter (the proposer is the vendor)."""
    person, vendor = _pair()
    vendor, effects = step(vendor, Counter(DOCUMENTS["d7"], DAY), T0 + 2, signer=VENDOR)
    counter = next(e for e in effects if isinstance(e, SendMessage))
    person, _ = step(person, _arrived(counter), T0 + 3, signer=PERSON)
    person, effects = step(person, Accept(), T0 + 4, signer=PERSON)
    accept = next(e for e in effects if isinstance(e, SendMessage))
    vendor, _ = step(vendor, _arrived(accept), T0 + 5, signer=VENDOR)
    return person, vendor


def _arrived(message: SendMessage) -> Event:
    return received(decode_terms_body(message.type, message.body))


def test_an_agreement_is_rebuilt_byte_for_byte_on_both_sides() -> None:
    person, vendor = _agreed_on_the_vendors_counter()
    assert person.state is vendor.state is NegotiationState.AGREED
    ours = _stored(person, NegotiationBook(PERSON.peer_id))
    theirs = _stored(vendor, NegotiationBook(VENDOR.peer_id))
    assert ours == person and theirs == vendor
    assert ours.agreement is not None and theirs.agreement is not None
    assert ours.agreement.encoded == theirs.agreement.encoded
    assert ours.proposal_sig == ours.agreement.vendor_sig  # kept once, as the vendor's


def test_a_read_record_steps_as_the_stored_one_would() -> None:
    """An accept that crossed the deadline still agrees late (spec/terms.md §7.4)."""
    person, vendor = _pair()
    person, _ = step(person, TimerFired(person.timer_token or ""), T0 + DAY, signer=PERSON)
    book = NegotiationBook(PERSON.peer_id)
    stored = _stored(person, book)
    assert _is_packed(book, person.negotiation_id)
    vendor, effects = step(vendor, Accept(), T0 + 2, signer=VENDOR)
    accept = next(e for e in effects if isinstance(e, SendMessage))
    late = _arrived(accept)
    assert step(stored, late, T0 + DAY + 1, signer=PERSON) == step(
        person, late, T0 + DAY + 1, signer=PERSON
    )


def test_a_record_the_packed_form_cannot_hold_is_kept_as_it_is() -> None:
    neg, signer = REPRESENTATIVES["rejected"]
    odd = replace(neg, timer_token="deadline-7", timer_at_ms=T0)  # no finished record has one
    book = NegotiationBook(signer.peer_id)
    assert _stored(odd, book) is odd
    assert not _is_packed(book, odd.negotiation_id)


def test_the_agreements_index_follows_the_records() -> None:
    """Who she holds an agreement with, and which, as a scan of every record would say."""
    person, _ = _agreed_on_the_vendors_counter()
    opened, _ = _pair()
    book = NegotiationBook(PERSON.peer_id)
    book[opened.negotiation_id] = opened  # no agreement: not indexed
    assert list(book.agreed_peers()) == [] and book.has_peer(VENDOR.peer_id)
    _stored(person, book)
    agreement = person.agreement
    assert agreement is not None
    assert list(book.agreed_peers()) == [VENDOR.peer_id]
    assert book.agreements_with(VENDOR.peer_id) == [agreement]
    assert book.agreements_with(PERSON.peer_id) == []
    assert book.by_agreement(agreement.agreement_id) == person
    assert book.by_agreement(b"\x00" * 32) is None
    book[person.negotiation_id] = replace(person, agreement=None, state=NegotiationState.REJECTED)
    assert list(book.agreed_peers()) == [] and book.by_agreement(agreement.agreement_id) is None
    book[person.negotiation_id] = person
    del book[person.negotiation_id]
    assert list(book.agreed_peers()) == [] and book.by_agreement(agreement.agreement_id) is None
    assert not book.has_peer(PERSON.peer_id)
