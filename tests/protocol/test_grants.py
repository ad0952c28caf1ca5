"""Grants, revocations, requests, derived claims and deliveries against spec/vectors/grants.json."""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

import nacl.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.claims import MAX_CLAIM_BYTES, DerivedClaim, age_on
from amity.protocol.delivery import MAX_DELIVERY_BYTES, deliver, open_delivery
from amity.protocol.encoding import encode
from amity.protocol.errors import AmityError, GrantExpiredError, UsageError
from amity.protocol.grants import (
    MAX_GRANT_BYTES,
    MAX_REQUEST_BYTES,
    Grant,
    GrantRequest,
    Onward,
    Revocation,
    decode_request,
    encode_request,
    open_grant,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkKey
from amity.protocol.vault import Field, FieldType, PostalAddress, decode_field
from tests.protocol.test_vault import cases, field_from_json
from tests.strategies import arbitrary_bytes, each_byte_tampered, mutated
from tests.vectors import unhex

PERSON = SigningIdentity(bytes([0xA0]) * 32)
VENDOR = SigningIdentity(bytes([0xB0]) * 32)
LINK = LinkKey(bytes([0xB1]) * 32)
T0 = 1_767_225_600_000
DAY_MS = 86_400_000


def _peer(vector: dict[str, Any], key: str) -> PeerId:
    return PeerId(unhex(vector, key))


def _grant(**changes: Any) -> Grant:
    inputs: dict[str, Any] = {
        "grantee": VENDOR.peer_id,
        "grant_id": bytes(range(16)),
        "agreement_id": bytes(32),
        "fields": ["email", "age-over"],
        "purpose": "order-fulfilment",
        "context": "order 1",
        "onward": Onward.NONE,
        "issued_ms": T0,
        "not_after_ms": T0 + DAY_MS,
    }
    return Grant.issue(PERSON, **(inputs | changes))


GRANT = _grant()
EMAIL = Field("email", FieldType.EMAIL, "alice@example.org")
BIRTH = Field("birth-date", FieldType.BIRTH_DATE, "2000-01-01")
CLAIM = DerivedClaim.derive(
    PERSON, BIRTH, "age-over", audience=VENDOR.peer_id, grant_id=GRANT.grant_id, at_ms=T0, age=18
)
BODY = deliver(GRANT, [EMAIL], [CLAIM], link_public=LINK.public, ephemeral_private=bytes(32))


# -- vectors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", **cases("grant", error=False))
def test_grant_vector(vector: dict[str, Any]) -> None:
    grant = Grant.issue(
        SigningIdentity(unhex(vector, "grantor_seed_hex")),
        grantee=_peer(vector, "grantee_peer_id_hex"),
        grant_id=unhex(vector, "grant_id_hex"),
        agreement_id=unhex(vector, "agreement_id_hex"),
        fields=vector["fields"],
        purpose=vector["purpose"],
        context=vector["context"],
        onward=Onward(vector["onward"]),
        issued_ms=vector["issued_ms"],
        not_after_ms=vector["not_after_ms"],
    )
    assert grant.encoded.hex() == vector["grant_hex"]
    assert grant.grantor.key.hex() == vector["grantor_peer_id_hex"]
    assert Grant.decode(grant.encoded) == grant


@pytest.mark.parametrize("vector", **cases("grant", error=True))
def test_grant_refusal_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as excinfo:
        open_grant(
            unhex(vector, "grant_hex"),
            grantor=_peer(vector, "grantor_peer_id_hex"),
            grantee=_peer(vector, "grantee_peer_id_hex"),
            now_ms=vector["now_ms"],
        )
    assert excinfo.value.code == vector["error"]


@pytest.mark.parametrize("vector", **cases("revocation", error=False))
def test_revocation_vector(vector: dict[str, Any]) -> None:
    grant = Grant.decode(unhex(vector, "grant_hex"))
    identity = SigningIdentity(unhex(vector, "grantor_seed_hex"))
    revocation = Revocation.issue(identity, grant, vector["revoked_ms"])
    assert revocation.encoded.hex() == vector["revocation_hex"]
    assert Revocation.decode(revocation.encoded) == revocation
    revocation.check_for(grant)


@pytest.mark.parametrize("vector", **cases("revocation", error=True))
def test_revocation_refusal_vector(vector: dict[str, Any]) -> None:
    grant = Grant.decode(unhex(vector, "grant_hex"))
    with pytest.raises(AmityError) as excinfo:
        Revocation.decode(unhex(vector, "revocation_hex")).check_for(grant)
    assert excinfo.value.code == vector["error"]


@pytest.mark.parametrize("vector", **cases("request", error=False))
def test_request_vector(vector: dict[str, Any]) -> None:
    request = GrantRequest(
        tuple(vector["fields"]), vector["purpose"], vector["context"], vector["duration_ms"]
    )
    assert encode_request(request).hex() == vector["body_hex"]
    assert decode_request(unhex(vector, "body_hex")) == request


@pytest.mark.parametrize("vector", **cases("request", error=True))
def test_request_refusal_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as excinfo:
        decode_request(unhex(vector, "body_hex"))
    assert excinfo.value.code == vector["error"]


@pytest.mark.parametrize("vector", **cases("claim", error=False))
def test_claim_vector(vector: dict[str, Any]) -> None:
    kind = vector["claim"]
    claim = DerivedClaim.derive(
        SigningIdentity(unhex(vector, "issuer_seed_hex")),
        decode_field(unhex(vector, "source_field_hex")),
        kind,
        audience=_peer(vector, "audience_peer_id_hex"),
        grant_id=unhex(vector, "grant_id_hex"),
        at_ms=vector["at_ms"],
        age=vector["value"] if kind == "age-over" else None,
    )
    assert claim.encoded.hex() == vector["claim_hex"]
    assert DerivedClaim.decode(claim.encoded) == claim
    assert claim.value == vector["value"]


@pytest.mark.parametrize("vector", **cases("claim", error=True))
def test_claim_refusal_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as excinfo:
        DerivedClaim.decode(unhex(vector, "claim_hex"))
    assert excinfo.value.code == vector["error"]


@pytest.mark.parametrize("vector", **cases("delivery", error=False))
def test_delivery_vector(vector: dict[str, Any]) -> None:
    grant = Grant.decode(unhex(vector, "grant_hex"))
    fields = [field_from_json(item) for item in vector["fields"]]
    claims = [DerivedClaim.decode(bytes.fromhex(c)) for c in vector["claims_hex"]]
    link = LinkKey(unhex(vector, "link_seed_hex"))
    assert link.public.hex() == vector["link_public_hex"]
    body = deliver(
        grant,
        fields,
        claims,
        link_public=link.public,
        ephemeral_private=unhex(vector, "ephemeral_seed_hex"),
    )
    assert body.hex() == vector["body_hex"]
    opened = open_delivery(
        body,
        grantor=_peer(vector, "grantor_peer_id_hex"),
        grantee=_peer(vector, "grantee_peer_id_hex"),
        link_key=link,
        now_ms=vector["now_ms"],
    )
    assert (opened.grant, list(opened.fields), list(opened.claims)) == (grant, fields, claims)


@pytest.mark.parametrize("vector", **cases("delivery", error=True))
def test_delivery_refusal_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as excinfo:
        open_delivery(
            unhex(vector, "body_hex"),
            grantor=_peer(vector, "grantor_peer_id_hex"),
            grantee=_peer(vector, "grantee_peer_id_hex"),
            link_key=LinkKey(unhex(vector, "link_seed_hex")),
            now_ms=vector["now_ms"],
        )
    assert excinfo.value.code == vector["error"]


# -- rules and limits ------------------------------------------------------------------------------


def test_every_single_byte_change_of_a_grant_is_refused() -> None:
    for index, mask, tampered in each_byte_tampered(GRANT.encoded):
        with pytest.raises(AmityError):
            Grant.decode(tampered)
            raise AssertionError(f"byte {index} ^ {mask:#x} accepted")


def test_largest_structures_fit_their_limits() -> None:
    names = [f"f{i:02d}-" + "x" * 28 for i in range(32)]
    grant = _grant(fields=names, purpose="p" * 48, context="é" * 32, not_after_ms=2**64 - 1)
    assert len(grant.encoded) <= MAX_GRANT_BYTES - 64
    request = GrantRequest(tuple(names), "p" * 48, "é" * 32, 2**64 - 1)
    assert len(encode_request(request)) <= MAX_REQUEST_BYTES
    address = Field(
        "postal-address",
        FieldType.POSTAL_ADDRESS,
        PostalAddress("s" * 200, "c" * 100, "9" * 16, "DE"),
    )
    claim = DerivedClaim.derive(
        PERSON, address, "country-of", audience=VENDOR.peer_id, grant_id=bytes(16), at_ms=2**48
    )
    assert len(claim.encoded) <= MAX_CLAIM_BYTES
    text = [Field(name, FieldType.TEXT, "\U0001f600" * 1024) for name in names]
    big = _grant(fields=names, purpose="p" * 48, context="é" * 32)
    plaintext = encode([1, big.encoded, [[f.name, "text", f.value] for f in text], []])
    assert len(plaintext) <= MAX_DELIVERY_BYTES
    deliver(big, text, link_public=LINK.public, ephemeral_private=bytes(32))


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("2008-01-01", "2026-01-01", 18),
        ("2008-01-02", "2026-01-01", 17),
        ("2004-02-29", "2022-02-28", 17),
        ("2004-02-29", "2022-03-01", 18),
        ("2004-02-29", "2024-02-29", 20),
    ],
)
def test_age_on(born: str, on: str, age: int) -> None:
    day = datetime.datetime.fromisoformat(on + "T23:59:59+00:00")
    assert age_on(datetime.date.fromisoformat(born), int(day.timestamp() * 1000)) == age


def test_claims_must_be_true_and_from_the_right_field() -> None:
    young = Field("birth-date", FieldType.BIRTH_DATE, "2010-06-01")
    with pytest.raises(UsageError):
        DerivedClaim.derive(
            PERSON, young, "age-over", audience=VENDOR.peer_id, grant_id=bytes(16), at_ms=T0, age=18
        )
    with pytest.raises(UsageError):
        DerivedClaim.derive(
            PERSON, EMAIL, "country-of", audience=VENDOR.peer_id, grant_id=bytes(16), at_ms=T0
        )
    assert CLAIM.statement == "age >= 18 on 2026-01-01 (from birth-date)"


def test_deliver_refuses_what_the_grant_does_not_name() -> None:
    phone = Field("phone", FieldType.PHONE, "+4930123456")
    with pytest.raises(UsageError):
        deliver(
            GRANT, [EMAIL, phone], [CLAIM], link_public=LINK.public, ephemeral_private=bytes(32)
        )
    with pytest.raises(UsageError):
        deliver(GRANT, [EMAIL], [], link_public=LINK.public, ephemeral_private=bytes(32))
    with pytest.raises(UsageError):
        deliver(GRANT, [EMAIL], [CLAIM], link_public=bytes(32), ephemeral_private=bytes(32))


def test_grant_issue_checks_its_arguments() -> None:
    for changes in [
        {"fields": []},
        {"fields": ["email", "email"]},
        {"fields": "email"},
        {"purpose": "Order"},
        {"context": "two\nlines"},
        {"context": "x" * 65},
        {"grant_id": bytes(15)},
        {"not_after_ms": T0},
    ]:
        with pytest.raises(UsageError):
            _grant(**changes)
    with pytest.raises(UsageError):
        Revocation.issue(VENDOR, GRANT, T0)


def test_open_grant_checks_time_last() -> None:
    opened = open_grant(GRANT.encoded, grantor=PERSON.peer_id, grantee=VENDOR.peer_id, now_ms=T0)
    assert opened == GRANT
    with pytest.raises(GrantExpiredError):
        GRANT.check_live(GRANT.not_after_ms)


# -- decoders raise nothing but AmityError ---------------------------------------------------------

_SIGNED = st.sampled_from(
    [GRANT.encoded, CLAIM.encoded, Revocation.issue(PERSON, GRANT, T0).encoded]
)
_REQUEST = encode_request(GrantRequest(("email",), "marketing", "", 1))


@given(st.one_of(arbitrary_bytes(), mutated(_SIGNED)))
def test_signed_decoders_raise_only_amity_errors(data: bytes) -> None:
    for decoder in (Grant.decode, Revocation.decode, DerivedClaim.decode):
        with contextlib.suppress(AmityError):
            decoder(data)


@given(st.one_of(arbitrary_bytes(), mutated(st.just(_REQUEST))))
def test_decode_request_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        decode_request(data)


@settings(max_examples=60)
@given(st.one_of(arbitrary_bytes(), mutated(st.just(BODY))))
def test_open_delivery_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        open_delivery(
            data, grantor=PERSON.peer_id, grantee=VENDOR.peer_id, link_key=LINK, now_ms=T0
        )


def _sealed(plaintext: bytes) -> bytes:
    """A grant.deliver body around any plaintext, even one deliver() would refuse."""
    box = nacl.bindings.crypto_box_seal(plaintext, LINK.public)
    return encode([1, LINK.public, box])


_PLAINTEXT = encode([1, GRANT.encoded, [["email", "email", EMAIL.value]], [CLAIM.encoded]])


@settings(max_examples=60)
@given(mutated(st.just(_PLAINTEXT)))
def test_open_delivery_on_damaged_plaintext(plaintext: bytes) -> None:
    with contextlib.suppress(AmityError):
        open_delivery(
            _sealed(plaintext),
            grantor=PERSON.peer_id,
            grantee=VENDOR.peer_id,
            link_key=LINK,
            now_ms=T0,
        )


def test_intact_plaintext_opens() -> None:
    opened = open_delivery(
        _sealed(_PLAINTEXT),
        grantor=PERSON.peer_id,
        grantee=VENDOR.peer_id,
        link_key=LINK,
        now_ms=T0,
    )
    assert opened.fields == (EMAIL,) and opened.claims == (CLAIM,)
