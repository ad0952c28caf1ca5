"""A thing's card (spec/things.md §2): the vectors, the URI, and the rules issuing applies."""

from __future__ import annotations

import os
from typing import Any

import pytest

from amity.protocol.errors import AmityError, ThingUriError, UsageError
from amity.protocol.identity import SigningIdentity
from amity.protocol.things import MAX_THING_CARD_BYTES, ThingCard
from tests.vectors import unhex, vector_cases

T0 = 1_800_000_000_000


def _read(vector: dict[str, Any]) -> ThingCard:
    if vector["operation"] == "uri":
        return ThingCard.from_uri(vector["uri"])
    return ThingCard.decode(unhex(vector, "card_hex"))


def things_cases(*operations: str, error: bool) -> dict[str, Any]:
    """``vector_cases("things")`` of these operations only."""
    cases = vector_cases("things", error=error)
    kept = [(v, i) for v, i in zip(cases["argvalues"], cases["ids"], strict=True)
            if v["operation"] in operations]  # fmt: skip
    return {"argvalues": [v for v, _ in kept], "ids": [i for _, i in kept]}


@pytest.mark.parametrize("vector", **things_cases("card", "uri", error=False))
def test_positive_vector(vector: dict[str, Any]) -> None:
    card = _read(vector)
    assert card.encoded.hex() == vector["card_hex"]
    if vector["operation"] == "uri":
        return
    assert ThingCard.from_uri(vector["uri"]) == card and card.to_uri() == vector["uri"]
    assert card.thing.key.hex() == vector["thing_hex"]
    assert (card.maker, card.model, card.serial) == (
        vector["maker"],
        vector["model"],
        vector["serial"],
    )
    assert (card.purchase.hex() if card.purchase else None) == vector["purchase_hex"]
    assert card.warranty_until_ms == vector["warranty_until_ms"]
    assert (list(card.manuals), list(card.contacts)) == (vector["manuals"], vector["contacts"])
    assert card.issued_ms == vector["issued_ms"]


@pytest.mark.parametrize("vector", **things_cases("card", "uri", error=True))
def test_negative_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as info:
        _read(vector)
    assert info.value.code == vector["error"]


def test_issuing_refuses_what_a_reader_would_refuse() -> None:
    thing = SigningIdentity(os.urandom(32))
    with pytest.raises(UsageError, match="maker"):
        ThingCard.issue(thing, maker="", model="X", issued_ms=T0)
    with pytest.raises(UsageError, match="manuals: 5 elements; the limit is 4"):
        ThingCard.issue(thing, maker="M", model="X", manuals=("u",) * 5, issued_ms=T0)


def test_the_largest_card_fits_its_uri_and_one_byte_more_does_not() -> None:
    thing = SigningIdentity(os.urandom(32))
    card = ThingCard.issue(
        thing,
        maker="m" * 100,
        model="m" * 100,
        serial="s" * 100,
        purchase=bytes(64),
        warranty_until_ms=2**63 - 1,
        manuals=("u" * 200,) * 4,
        contacts=("c" * 200,) * 4,
        issued_ms=2**63 - 1,
    )
    assert len(card.encoded) <= MAX_THING_CARD_BYTES
    assert ThingCard.from_uri(card.to_uri()) == card
    with pytest.raises(ThingUriError):
        ThingCard.from_uri(card.to_uri() + "A" * 8)
