"""Intentcasting's wire formats against spec/vectors/intents.json, plus properties and tampering:
intents, work stamps, sealed offers, accepts, withdraws, receipts, hub bodies (spec/intents.md)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.errors import (
    AmityError,
    BadWorkError,
    IntentConstraintError,
    UnknownCategoryError,
    UsageError,
)
from amity.protocol.identity import SigningIdentity
from amity.protocol.intent import Intent
from amity.protocol.intentacts import IntentReceipt, Withdraw, open_accept
from amity.protocol.intentcategory import check_category, check_subscription, matches
from amity.protocol.intentmessages import decode_intent_body
from amity.protocol.intentoffer import Offer, open_offer
from amity.protocol.intentwelcome import OpenedWelcome, open_vendor_mail
from amity.protocol.intentwork import check_work, solve_work, work_bits_of
from amity.protocol.linkcert import LinkKey
from amity.protocol.money import CURRENCIES, Money
from tests.strategies import each_byte_tampered
from tests.vectors import unhex, vector_cases


def _intent(vector: dict[str, Any]) -> Intent:
    return Intent.decode(unhex(vector, "intent_hex"))


def _run(vector: dict[str, Any]) -> object:
    """Carry out a vector's operation (spec/vectors/intents.json notes)."""
    op = vector["operation"]
    if op == "intent":
        intent = _intent(vector)
        if "now_ms" in vector:
            intent.check_live(vector["now_ms"])
        return intent
    if op == "work":
        check_work(unhex(vector, "intent_id_hex"), unhex(vector, "nonce_hex"), vector["work_bits"])
        return None
    if op == "offer":
        link = LinkKey(unhex(vector, "link_seed_hex"))
        return open_offer(unhex(vector, "sealed_hex"), _intent(vector), link, vector["now_ms"])
    if op == "accept":
        vendor = SigningIdentity(unhex(vector, "vendor_seed_hex")).peer_id
        link = LinkKey(unhex(vector, "vendor_link_seed_hex"))
        return open_accept(unhex(vector, "sealed_hex"), vendor, link, _intent(vector))
    if op == "withdraw":
        return Withdraw.decode(unhex(vector, "withdraw_hex"))
    if op == "receipt":
        return IntentReceipt.decode(unhex(vector, "receipt_hex"))
    if op == "welcome":
        link = LinkKey(unhex(vector, "link_seed_hex"))
        return open_vendor_mail(
            unhex(vector, "sealed_hex"), _intent(vector), link, vector["now_ms"]
        )
    assert op == "body"
    return decode_intent_body(vector["type"], unhex(vector, "body_hex"))


@pytest.mark.parametrize("vector", **vector_cases("intents", error=False))
def test_positive_vector(vector: dict[str, Any]) -> None:
    found = _run(vector)
    op = vector["operation"]
    if op == "intent":
        assert isinstance(found, Intent)
        assert found.intent_id.hex() == vector["intent_id_hex"]
        assert found.terms_id.hex() == vector["terms_id_hex"]
        assert found.intent_key == SigningIdentity(unhex(vector, "intent_seed_hex")).peer_id
        assert found.link_public == LinkKey(unhex(vector, "link_seed_hex")).public
    elif op == "work":
        assert (
            work_bits_of(unhex(vector, "intent_id_hex"), unhex(vector, "nonce_hex"))
            == (vector["earned_bits"])
        )
    elif op == "offer":
        offer = found.offer  # type: ignore[attr-defined]
        assert offer.encoded.hex() == vector["offer_hex"]
        assert offer.offer_id.hex() == vector["offer_id_hex"]
        assert offer.price.to_wire() == vector["price"]
    elif op == "accept":
        assert found.encoded.hex() == vector["accept_hex"]  # type: ignore[attr-defined]
        person = vector.get("person_peer_id_hex")
        reveal = found.reveal  # type: ignore[attr-defined]
        assert (None if reveal is None else reveal.person.key.hex()) == person
    elif op == "welcome":
        assert isinstance(found, OpenedWelcome)
        vendor = SigningIdentity(unhex(vector, "vendor_seed_hex")).peer_id
        assert found.envelope.sender == vendor and found.envelope.body.hex() == vector["body_hex"]
        welcome = found.welcome
        assert welcome.offer_id.hex() == vector["offer_id_hex"]
        assert welcome.invitation.encoded.hex() == vector["card_hex"]
        assert welcome.invitation.invite_secret == unhex(vector, "invite_secret_hex")


@pytest.mark.parametrize("vector", **vector_cases("intents", error=True))
def test_negative_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as caught:
        _run(vector)
    assert caught.value.code == vector["error"]


# -- tampering: any changed byte of a signed structure is refused with an AmityError --------------


@pytest.mark.parametrize("name", ["intent-roster", "offer-sealed"])
def test_every_changed_byte_is_refused(name: str) -> None:
    """An intent or an offer with any one byte changed is refused (or reads as itself)."""
    vector = next(v for v in vector_cases("intents")["argvalues"] if v["name"] == name)
    key = "intent_hex" if name.startswith("intent") else "offer_hex"
    good = unhex(vector, key)
    read = Intent.decode if key == "intent_hex" else Offer.decode
    for index, mask, tampered in each_byte_tampered(good, masks=(0x01,)):
        try:
            found = read(tampered)
        except AmityError:
            continue
        raise AssertionError(f"byte {index} ^ {mask:#x} accepted: {found}")


# -- categories, money, work ----------------------------------------------------------------------


def test_categories_and_subscriptions() -> None:
    check_category(1, "goods.bicycles")
    check_category(1, "x.org.example.bike-trailers")
    for bad in ("goods.spaceships", "x.only", "goods"):
        with pytest.raises(UnknownCategoryError):
            check_category(1, bad)
    with pytest.raises(UnknownCategoryError):
        check_category(2, "goods.bicycles")
    check_subscription(1, "goods")
    assert matches(("goods",), "goods.bicycles")
    assert matches(("goods.bicycles",), "goods.bicycles")
    assert not matches(("goods.bicycle",), "goods.bicycles")
    assert not matches(("services",), "goods.bicycles")


@pytest.mark.parametrize(
    ("text", "minor", "code", "shown"),
    [
        ("300EUR", 30000, "EUR", "300.00 EUR"),
        ("299.9 eur", 29990, "EUR", "299.90 EUR"),
        ("300 JPY", 300, "JPY", "300 JPY"),
        ("1.234 KWD", 1234, "KWD", "1.234 KWD"),
    ],
)
def test_money_parse(text: str, minor: int, code: str, shown: str) -> None:
    money = Money.parse(text)
    assert (money.amount_minor, money.currency, str(money)) == (minor, code, shown)


@pytest.mark.parametrize("text", ["300", "EUR", "1.5 JPY", "3.001 EUR", "12 ABC", "-1 EUR"])
def test_money_parse_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        Money.parse(text)


def test_currency_table_is_iso_shaped() -> None:
    assert len(CURRENCIES) > 150
    assert all(len(code) == 3 and code.isupper() for code in CURRENCIES)
    assert CURRENCIES["EUR"] == 2 and CURRENCIES["JPY"] == 0 and CURRENCIES["BHD"] == 3


@settings(max_examples=20, deadline=None)
@given(intent_id=st.binary(min_size=32, max_size=32), bits=st.integers(0, 10))
def test_solved_work_passes_and_is_bound_to_its_intent(intent_id: bytes, bits: int) -> None:
    nonce = solve_work(intent_id, bits)
    check_work(intent_id, nonce, bits)
    assert work_bits_of(intent_id, nonce) >= bits
    other = bytes([intent_id[0] ^ 1]) + intent_id[1:]
    if work_bits_of(other, nonce) < 12:
        with pytest.raises(BadWorkError):
            check_work(other, nonce, 12)


def test_intent_create_refuses_what_a_reader_refuses() -> None:
    vector = vector_cases("intents", error=False)["argvalues"][0]
    intent = _intent(vector)
    key = SigningIdentity(unhex(vector, "intent_seed_hex"))
    with pytest.raises(UsageError):
        Intent.create(
            key,
            link_public=intent.link_public,
            category="goods.spaceships",
            text="",
            constraints=intent.constraints,
            terms=intent.terms,
            offers_wanted=1,
            cast_ms=0,
            expires_ms=1,
        )
    with pytest.raises(IntentConstraintError):
        raise IntentConstraintError("the class exists with its code")
