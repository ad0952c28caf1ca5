"""Peer cards and amity: URIs: the spec vectors, issue/decode agreement, URI forms and fuzzing."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.card import (
    INVITE_SECRET_BYTES,
    MAX_CARD_BYTES,
    MAX_ENDPOINTS,
    MAX_NAME_BYTES,
    MAX_RELAYS,
    Card,
    NodeKind,
    Relay,
)
from amity.protocol.encoding import decode
from amity.protocol.errors import (
    AmityError,
    CardSignatureError,
    CardUriError,
    UsageError,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey
from tests.strategies import arbitrary_bytes, each_byte_tampered, mutated, strs
from tests.vectors import unhex, vector_cases

T0 = 1_700_000_000_000
DAY_MS = 86_400_000
ALICE = SigningIdentity(bytes([0x41]) * 32)
BOB = SigningIdentity(bytes([0x42]) * 32)
ALICE_LINK = LinkKey(bytes([0x51]) * 32)
ALICE_CERT = LinkCert.issue(ALICE, ALICE_LINK.public, T0, T0 + 30 * DAY_MS)
BOB_CERT = LinkCert.issue(BOB, LinkKey(bytes([0x52]) * 32).public, T0, T0 + 30 * DAY_MS)


def _issue(**overrides: Any) -> Card:
    fields: dict[str, Any] = {
        "link_cert": ALICE_CERT,
        "kind": NodeKind.PERSON,
        "name": "Alice",
        "endpoints": ["ws://192.0.2.7:7700/amity/v1"],
        "relays": [Relay(BOB.peer_id, "wss://relay.example/amity/v1")],
        "issued_ms": T0,
        "not_after_ms": T0 + 7 * DAY_MS,
        "invite_secret": None,
    }
    fields.update(overrides)
    return Card.issue(ALICE, **fields)


CARD = _issue()
INVITATION = _issue(invite_secret=bytes(range(INVITE_SECRET_BYTES)))


# -- the spec vectors ------------------------------------------------------------------------------


def _check_issue_vector(vector: dict[str, Any]) -> None:
    identity = SigningIdentity(unhex(vector, "identity_seed_hex"))
    link = LinkKey(unhex(vector, "link_seed_hex"))
    assert link.public == unhex(vector, "link_public_hex")
    cert = LinkCert.issue(
        identity, link.public, vector["cert_not_before_ms"], vector["cert_not_after_ms"]
    )
    assert cert.encoded == unhex(vector, "link_cert_hex")
    secret = vector["invite_secret_hex"]
    relays = [Relay(PeerId(bytes.fromhex(r["id_hex"])), r["endpoint"]) for r in vector["relays"]]
    card = Card.issue(
        identity,
        link_cert=cert,
        kind=NodeKind(vector["kind"]),
        name=vector["card_name"],
        endpoints=vector["endpoints"],
        relays=relays,
        issued_ms=vector["issued_ms"],
        not_after_ms=vector["not_after_ms"],
        invite_secret=None if secret is None else bytes.fromhex(secret),
    )
    data = unhex(vector, "card_hex")
    assert card.encoded == data
    assert card.to_uri() == vector["uri"]
    outer = decode(data)
    assert isinstance(outer, list)
    assert outer[0] == unhex(vector, "signed_bytes_hex")

    decoded = Card.decode(data)
    assert decoded == card
    assert decoded.peer_id.key == unhex(vector, "peer_id_hex") == identity.peer_id.key
    assert decoded.peer_id.did == vector["did"]
    assert decoded.peer_id.fingerprint == vector["fingerprint"]
    assert decoded.link_cert == cert
    assert decoded.kind.value == vector["kind"]
    assert decoded.name == vector["card_name"]
    assert list(decoded.endpoints) == vector["endpoints"]
    assert tuple(decoded.relays) == tuple(relays)
    assert decoded.is_invitation == (secret is not None)
    decoded.check_valid(vector["now_ms"])
    assert Card.from_uri(vector["uri"]) == card


@pytest.mark.parametrize("vector", **vector_cases("card"))
def test_card_vector(vector: dict[str, Any]) -> None:
    operation = vector["operation"]
    if operation == "issue":
        _check_issue_vector(vector)
        return
    if "error" not in vector:
        assert operation == "from_uri"
        assert Card.from_uri(vector["uri"]).encoded == unhex(vector, "card_hex")
        return
    with pytest.raises(AmityError) as excinfo:
        if operation == "from_uri":
            Card.from_uri(vector["uri"])
        elif operation == "decode":
            Card.decode(unhex(vector, "card_hex"))
        else:
            assert operation == "check_valid"
            card = Card.decode(unhex(vector, "card_hex"))
            card.check_valid(vector["now_ms"])
    assert excinfo.value.code == vector["error"]


# -- issuing ---------------------------------------------------------------------------------------


def test_an_empty_name_is_allowed() -> None:
    # Regression: the name pattern once required one character, so `amity id new` without
    # --name could not issue a card at all.
    card = _issue(name="")
    assert Card.decode(card.encoded).name == ""


@pytest.mark.parametrize(
    "overrides",
    [
        {"link_cert": BOB_CERT},
        {"name": "tab\there"},
        {"name": "csi\x9b"},
        {"name": "x" * (MAX_NAME_BYTES + 1)},
        {"name": "\ud800"},
        {"endpoints": ["no scheme"]},
        {"endpoints": ["WS://upper.example/"]},
        {"endpoints": [f"ws://192.0.2.{i}/" for i in range(MAX_ENDPOINTS + 1)]},
        {"relays": [Relay(BOB.peer_id, "ws://r/")] * (MAX_RELAYS + 1)},
        {"invite_secret": bytes(INVITE_SECRET_BYTES - 1)},
        {"issued_ms": T0, "not_after_ms": T0},
        {"issued_ms": -1},
    ],
    ids=",".join,
)
def test_issue_refuses_what_decode_would_refuse(overrides: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        _issue(**overrides)


def test_largest_card_fits() -> None:
    card = _issue(
        name="é" * (MAX_NAME_BYTES // 2),
        endpoints=["ws://" + "a" * 250 + f"{i}" for i in range(MAX_ENDPOINTS)],
        relays=[Relay(BOB.peer_id, "ws://" + "r" * 251)] * MAX_RELAYS,
        invite_secret=bytes(INVITE_SECRET_BYTES),
    )
    assert len(card.encoded) <= MAX_CARD_BYTES
    assert Card.from_uri(card.to_uri()) == card


def test_check_valid_boundaries() -> None:
    CARD.check_valid(T0)
    CARD.check_valid(CARD.not_after_ms - 1)
    with pytest.raises(AmityError) as excinfo:
        CARD.check_valid(CARD.not_after_ms)
    assert excinfo.value.code == "card.expired"


# -- URIs ------------------------------------------------------------------------------------------

_QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@pytest.mark.parametrize("card", [CARD, INVITATION], ids=["card", "invitation"])
def test_uri_round_trips(card: Card) -> None:
    uri = card.to_uri()
    assert uri.startswith("amity:")
    body = uri.removeprefix("amity:")
    assert "=" not in body
    # Upper-cased, the whole URI fits a QR code's alphanumeric mode.
    assert set(uri.upper()) <= _QR_ALPHANUMERIC
    assert Card.from_uri(uri) == card
    assert Card.from_uri(uri.lower()) == card
    assert Card.from_uri(uri.upper()) == card
    wrapped = "\n".join(uri[i : i + 40] for i in range(0, len(uri), 40))
    assert Card.from_uri(f"  {wrapped}\r\n") == card
    assert Card.from_uri(" \t".join(uri[i : i + 7] for i in range(0, len(uri), 7))) == card


def test_uri_errors_name_the_problem() -> None:
    uri = CARD.to_uri()
    for bad in ("", "amity", "https://example.com/", uri.replace("amity:", "amity//"), uri + "1"):
        with pytest.raises(CardUriError):
            Card.from_uri(bad)
    with pytest.raises(CardUriError):
        Card.from_uri("amity:" + "A" * 9000)
    with pytest.raises(CardUriError):
        Card.from_uri(b"amity:AAAA")  # type: ignore[arg-type]


def test_uri_of_a_forged_card_reports_the_signature() -> None:
    forged = CARD.encoded[:-1] + bytes([CARD.encoded[-1] ^ 1])
    uri = "amity:" + base64.b32encode(forged).decode().rstrip("=")
    with pytest.raises(CardSignatureError):
        Card.from_uri(uri)


# -- properties ------------------------------------------------------------------------------------

_endpoints = st.lists(
    st.one_of(
        st.sampled_from(["ws://192.0.2.7:7700/amity/v1", "wss://shop.example/", "tcp://[::1]:1"]),
        strs(30),
    ),
    max_size=MAX_ENDPOINTS + 1,
)


@settings(max_examples=60, deadline=None)
@given(name=strs(70), endpoints=_endpoints, secret=st.none() | st.binary(min_size=15, max_size=17))
def test_issue_and_decode_agree(name: str, endpoints: list[str], secret: bytes | None) -> None:
    # Whatever the caller asks for, either the card is refused up front (a local error) or it
    # decodes back to itself: nothing can be issued that the decoder refuses.
    try:
        card = _issue(name=name, endpoints=endpoints, invite_secret=secret)
    except UsageError:
        return
    assert Card.decode(card.encoded) == card
    assert Card.from_uri(card.to_uri()) == card


@settings(max_examples=150, deadline=None)
@given(data=arbitrary_bytes(600))
def test_decode_arbitrary_bytes_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        Card.decode(data)


@settings(max_examples=150, deadline=None)
@given(data=mutated(st.sampled_from([CARD.encoded, INVITATION.encoded])))
def test_decode_mutated_card_raises_only_amity_errors(data: bytes) -> None:
    try:
        card = Card.decode(data)
    except AmityError:
        return
    assert card in (CARD, INVITATION)


def test_every_changed_byte_is_refused() -> None:
    # Exhaustive: each byte of a card XOR 0x01, 0x80 and 0xff. The signature covers the fields,
    # and Ed25519 signatures as verified here are not malleable.
    accepted = []
    for index, mask, tampered in each_byte_tampered(CARD.encoded):
        try:
            Card.decode(tampered)
        except AmityError:
            continue
        accepted.append((index, mask))
    assert accepted == []


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_from_uri_arbitrary_text_raises_only_amity_errors(text: str) -> None:
    for candidate in (text, "amity:" + text, "AMITY:" + text.upper()):
        with contextlib.suppress(AmityError):
            Card.from_uri(candidate)


@settings(max_examples=150, deadline=None)
@given(index=st.integers(min_value=0), char=st.characters())
def test_from_uri_mutated_raises_only_amity_errors(index: int, char: str) -> None:
    uri = CARD.to_uri()
    position = index % len(uri)
    mutated_uri = uri[:position] + char + uri[position + 1 :]
    try:
        card = Card.from_uri(mutated_uri)
    except AmityError:
        return
    # Only changes the parser ignores (case, whitespace, unused base32 bits) may be accepted.
    assert card == CARD
