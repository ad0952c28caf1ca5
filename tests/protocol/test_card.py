"""Peer cards and amity: URIs: the spec vectors, issue/decode agreement, URI forms and fuzzing."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.card import (
    CARD_DOMAIN,
    INVITE_SECRET_BYTES,
    MAX_CARD_BYTES,
    MAX_ENDPOINTS,
    MAX_NAME_BYTES,
    MAX_POLICY_BYTES,
    MAX_RELAYS,
    Card,
    NodeKind,
    Relay,
)
from amity.protocol.encoding import Value, decode, decode_array, encode
from amity.protocol.errors import (
    AmityError,
    CardSignatureError,
    CardUriError,
    UnknownVocabularyError,
    UnsupportedVersionError,
    UsageError,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.policy import (
    ClauseRule,
    Policy,
    RuleAction,
    parse_policy,
    policy_summary,
)
from amity.protocol.relmessages import MAX_REASON_BYTES
from amity.protocol.signed import sign_structure
from amity.protocol.terms import VOCABULARIES
from tests.protocol.test_policy import policies
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
SHOP_POLICY = parse_policy(
    'version = 1\nvocabulary = 1\ndefault = "reject"\n\n'
    '[clause."amity.no-tracking"]\naction = "accept"\n'
)
VENDOR = _issue(kind=NodeKind.VENDOR, policy=policy_summary(SHOP_POLICY))


def _summary_of_size(size_bytes: int) -> bytes:
    """A valid policy summary of exactly ``size_bytes``: every clause rejected, reasons padded."""
    clause_ids = sorted(VOCABULARIES[1])
    lengths = [MAX_REASON_BYTES] * len(clause_ids)

    def summary() -> bytes:
        rules = tuple(
            ClauseRule(clause_id, RuleAction.REJECT, reason="x" * n)
            for clause_id, n in zip(clause_ids, lengths, strict=True)
        )
        return policy_summary(Policy(RuleAction.REJECT, rules))

    index = len(lengths) - 1
    while len(summary()) > size_bytes:
        if lengths[index] == 0:
            index -= 1
        lengths[index] -= 1
    assert len(summary()) == size_bytes
    return summary()


def _signed_with_policy(policy: Value) -> bytes:
    """CARD's fields with another value as the policy, validly signed by Alice."""
    signed_bytes = decode_array(CARD.encoded, 2, "card")[0]
    assert isinstance(signed_bytes, bytes)
    fields = decode_array(signed_bytes, 11, "card fields")
    return sign_structure([*fields[:-1], policy], CARD_DOMAIN, ALICE)


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
    policy = None if vector["policy_hex"] is None else unhex(vector, "policy_hex")
    if policy is not None:
        assert policy_summary(parse_policy(vector["policy_toml"])) == policy
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
        policy=policy,
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
    assert decoded.policy == policy
    if policy is None:
        assert decoded.policy_summary() is None
    else:
        assert decoded.policy_summary() == parse_policy(vector["policy_toml"])
    decoded.check_valid(vector["now_ms"])
    assert Card.from_uri(vector["uri"]) == card


@pytest.mark.parametrize("vector", **vector_cases("card"))
def test_card_vector(vector: dict[str, Any]) -> None:
    operation = vector["operation"]
    if operation == "issue":
        _check_issue_vector(vector)
        return
    if "policy_error" in vector:  # a newer policy: the card stands, the policy does not read
        card = Card.decode(unhex(vector, "card_hex"))
        assert card.policy is not None
        with pytest.raises(AmityError) as excinfo:
            card.policy_summary()
        assert excinfo.value.code == vector["policy_error"]
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
        {"policy": _summary_of_size(MAX_POLICY_BYTES + 1)},
        {"policy": b""},
        {"policy": policy_summary(SHOP_POLICY)[:-1]},
        {"policy": encode([1, 1, "reject", [["amity.no-such-clause", "accept", [], [], "", ""]]])},
        {"policy": encode([1, 9, "reject", []])},
        {"policy": encode([2, 1, "reject", []])},
    ],
    ids=",".join,
)
def test_issue_refuses_what_decode_would_refuse(overrides: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        _issue(**overrides)


def test_largest_card_fits() -> None:
    card = _issue(
        kind=NodeKind.VENDOR,
        name="é" * (MAX_NAME_BYTES // 2),
        endpoints=["ws://" + "a" * 250 + f"{i}" for i in range(MAX_ENDPOINTS)],
        relays=[Relay(BOB.peer_id, "ws://" + "r" * 251)] * MAX_RELAYS,
        issued_ms=2**64 - 2,
        not_after_ms=2**64 - 1,
        invite_secret=bytes(INVITE_SECRET_BYTES),
        policy=_summary_of_size(MAX_POLICY_BYTES),
    )
    assert len(card.encoded) == 5675  # spec/card.md §1
    assert len(card.encoded) <= MAX_CARD_BYTES
    assert Card.from_uri(card.to_uri()) == card
    # The URI of a card at the limit, with padding, is still under the URI limit.
    padded = "amity:" + base64.b32encode(bytes(MAX_CARD_BYTES)).decode()
    with pytest.raises(CardUriError, match="damaged or incomplete"):
        Card.from_uri(padded)


def test_policy_is_published_and_read_back() -> None:
    assert VENDOR.policy == policy_summary(SHOP_POLICY)
    assert VENDOR.policy_summary() == SHOP_POLICY
    assert CARD.policy is None and CARD.policy_summary() is None
    assert Card.decode(VENDOR.encoded) == VENDOR
    assert Card.from_uri(VENDOR.to_uri()) == VENDOR


def test_check_valid_boundaries() -> None:
    CARD.check_valid(T0)
    CARD.check_valid(CARD.not_after_ms - 1)
    with pytest.raises(AmityError) as excinfo:
        CARD.check_valid(CARD.not_after_ms)
    assert excinfo.value.code == "card.expired"


# -- URIs ------------------------------------------------------------------------------------------

_QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@pytest.mark.parametrize("card", [CARD, INVITATION, VENDOR], ids=["card", "invitation", "vendor"])
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


def test_a_damaged_or_cut_uri_says_so_in_plain_words() -> None:
    uri = CARD.to_uri()
    for bad in (uri[:-10], uri[:40], uri + "AB", uri[:30] + "1" + uri[31:]):
        with pytest.raises(CardUriError) as caught:
            Card.from_uri(bad)
        assert caught.value.message == (
            "this invitation link is damaged or incomplete: copy all of it again, or scan its "
            "QR code"
        )


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


@settings(max_examples=40, deadline=None)
@given(policy=st.none() | policies(), kind=st.sampled_from(NodeKind), invite=st.booleans())
def test_round_trip_with_and_without_policy(
    policy: Policy | None, kind: NodeKind, invite: bool
) -> None:
    summary = None if policy is None else policy_summary(policy)
    secret = bytes(INVITE_SECRET_BYTES) if invite else None
    if summary is not None and len(summary) > MAX_POLICY_BYTES:
        with pytest.raises(UsageError):
            _issue(kind=kind, invite_secret=secret, policy=summary)
        return
    card = _issue(kind=kind, invite_secret=secret, policy=summary)
    assert Card.decode(card.encoded) == card
    assert Card.from_uri(card.to_uri()) == card
    assert card.policy == summary
    assert card.policy_summary() == policy


@settings(max_examples=150, deadline=None)
@given(policy=mutated(policies().map(policy_summary)) | arbitrary_bytes(80) | strs(20))
def test_decode_signed_card_with_any_policy_raises_only_amity_errors(policy: bytes | str) -> None:
    # The policy is read after the signature, so only a validly signed card reaches its decoder.
    try:
        card = Card.decode(_signed_with_policy(policy))
    except AmityError:
        return
    assert card.policy == policy
    try:
        assert card.policy_summary() is not None
    except AmityError as exc:  # only a summary newer than this node leaves the card standing
        assert exc.code in (UnknownVocabularyError.code, UnsupportedVersionError.code)


@settings(max_examples=150, deadline=None)
@given(data=arbitrary_bytes(600))
def test_decode_arbitrary_bytes_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        Card.decode(data)


@settings(max_examples=150, deadline=None)
@given(data=mutated(st.sampled_from([CARD.encoded, INVITATION.encoded, VENDOR.encoded])))
def test_decode_mutated_card_raises_only_amity_errors(data: bytes) -> None:
    try:
        card = Card.decode(data)
    except AmityError:
        return
    assert card in (CARD, INVITATION, VENDOR)


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
