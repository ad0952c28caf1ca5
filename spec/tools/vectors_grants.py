"""Test vectors for spec/grants.md: fields, the vault seal, grants, claims, deliveries, receipts.

Every key comes from a fixed seed and every nonce, id and time is fixed, so the output is the
same on every run. Expected signed bytes are packed here with msgpack and signed with PyNaCl
directly, then checked against amity: the vectors state the layouts of spec/grants.md, they are
not only a recording of what the implementation happens to do.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgpack
import nacl.bindings
import nacl.signing

from amity.protocol.claims import DerivedClaim
from amity.protocol.delivery import Delivery, deliver, open_delivery
from amity.protocol.errors import AmityError
from amity.protocol.grants import (
    Grant,
    GrantRequest,
    Onward,
    Revocation,
    decode_request,
    encode_request,
    open_grant,
)
from amity.protocol.identity import SigningIdentity
from amity.protocol.linkcert import LinkKey
from amity.protocol.vault import (
    Field,
    FieldType,
    PostalAddress,
    decode_field,
    encode_field,
    open_field,
    seal_field,
    vault_key,
)

PERSON_SEED = bytes.fromhex("a11ce0000000000000000000000000000000000000000000000000000000a11c")
VENDOR_SEED = bytes.fromhex("b0b0000000000000000000000000000000000000000000000000000000000b0b")
MALLORY_SEED = bytes.fromhex("ca201000000000000000000000000000000000000000000000000000000ca201")
VENDOR_LINK_SEED = bytes.fromhex("b0b11e0000000000000000000000000000000000000000000000000000b0b11e")
OTHER_LINK_SEED = bytes.fromhex("b0b01d0000000000000000000000000000000000000000000000000000b0b01d")
EPHEMERAL_SEED = bytes.fromhex("e9e9e90000000000000000000000000000000000000000000000000000e9e9e9")
VAULT_NONCE = bytes.fromhex("5eed" * 12)
GRANT_ID = bytes.fromhex("9a0000000000000000000000000000a1")
OTHER_GRANT_ID = bytes.fromhex("9b0000000000000000000000000000b2")
AGREEMENT_ID = hashlib.blake2b(b"an agreement both signed", digest_size=32).digest()
QUERY_ID = bytes.fromhex("40000000000000000000000000000051")
PERSON, VENDOR, MALLORY = (SigningIdentity(s) for s in (PERSON_SEED, VENDOR_SEED, MALLORY_SEED))
VENDOR_LINK, OTHER_LINK = LinkKey(VENDOR_LINK_SEED), LinkKey(OTHER_LINK_SEED)
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY_MS = 86_400_000
NOT_AFTER = T0 + 30 * DAY_MS

NOTES = (
    "Seeds are Ed25519 seeds (person = grantor, vendor = grantee, mallory = anyone else); link "
    "seeds are X25519 private keys. Every vector has a `kind`. field: encode_field(field) == "
    "field_hex and back; with `error`, decode_field(field_hex) must raise it. vault-seal: "
    "vault_key(seed) == key_hex, seal_field(key, field, nonce) == sealed_hex, open_field(key, "
    "sealed, name) gives it back; with `error`, open_field(vault_key(seed_hex), sealed_hex, name) "
    "must raise it. grant / revocation / claim: the inputs signed by the seed give exactly "
    "`*_hex`; negatives: open_grant(grant_hex, grantor, grantee, now_ms), Revocation.decode + "
    "check_for(grant), DerivedClaim.decode must raise `error`. request and holdings-query: body "
    "codecs. delivery: deliver(grant, fields, claims, link_public, ephemeral_seed) == body_hex; "
    "negatives: open_delivery(body_hex, grantor, grantee, link_key(link_seed_hex), now_ms). "
    "receipt: issue == receipt_hex; negatives: open_receipt(receipt_hex, issuer, subject). read: "
    "open the delivery at received_ms, then read(name, purpose, now_ms). holder-trace: open_holding "
    "then step() per event; `effects` lists each step's effects in order as `persist STATE`, "
    "`delete-data GRANT_ID`, `send TYPE BODY_HEX`, `set-timer TOKEN at MS`, `cancel-timer TOKEN`. "
    "Field values in JSON: a str, or {street, city, postcode, country}, or [[key, value], ...]."
)


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def _signed(fields: list[Any], domain: bytes, seed: bytes) -> bytes:
    """``[signed_bytes, sig]`` built without amity, to check amity against."""
    signed = _pack(fields)
    signature = nacl.signing.SigningKey(seed).sign(domain + signed).signature
    return _pack([signed, signature])


def _refused(name: str, error: str, call: Any) -> None:
    try:
        call()
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")


def _value_json(item: Field) -> Any:
    if isinstance(item.value, PostalAddress):
        v = item.value
        return {"street": v.street, "city": v.city, "postcode": v.postcode, "country": v.country}
    if isinstance(item.value, tuple):
        return [list(pair) for pair in item.value]
    return item.value


def _field_json(item: Field) -> dict[str, Any]:
    return {"name": item.name, "type": item.type.value, "value": _value_json(item)}


ADDRESS = Field(
    "postal-address",
    FieldType.POSTAL_ADDRESS,
    PostalAddress("Hauptstraße 5", "Berlin", "10115", "DE"),
)
EMAIL = Field("email", FieldType.EMAIL, "alice@example.org")
PHONE = Field("phone", FieldType.PHONE, "+4930123456")
BIRTH = Field("birth-date", FieldType.BIRTH_DATE, "2004-02-29")
FIELDS = [
    Field("name", FieldType.NAME, "Alice Example"),
    EMAIL,
    ADDRESS,
    PHONE,
    BIRTH,
    Field("sizes", FieldType.PREFERENCES, (("shirt", "M"), ("shoe-eu", "39"))),
    Field("note", FieldType.TEXT, "Leave parcels\twith the neighbour.\nThanks!"),
]


def _field_vectors() -> list[dict[str, Any]]:
    out = []
    for item in FIELDS:
        data = encode_field(item)
        assert data == _pack([item.name, item.type.value, _raw(item)])
        assert decode_field(data) == item
        out.append(
            {
                "kind": "field",
                "name": f"field-{item.type.value}",
                "description": f"A {item.type.value} field: [name, type, value].",
                "field": _field_json(item),
                "field_hex": data.hex(),
            }
        )
    bad: list[tuple[str, str, list[Any], str]] = [
        (
            "phone-no-plus",
            "A phone without '+': not E.164.",
            ["phone", "phone", "030123456"],
            "vault.bad_value",
        ),
        (
            "phone-16-digits",
            "Sixteen digits: E.164 allows 15.",
            ["phone", "phone", "+" + "1" * 16],
            "vault.bad_value",
        ),
        (
            "phone-leading-zero",
            "Country codes never start with 0.",
            ["phone", "phone", "+0301234"],
            "vault.bad_value",
        ),
        (
            "phone-spaces",
            "Spaces are for people, not for E.164.",
            ["phone", "phone", "+49 30 1234"],
            "vault.bad_value",
        ),
        (
            "birth-date-30-feb",
            "A date that does not exist.",
            ["birth-date", "birth-date", "2001-02-30"],
            "vault.bad_value",
        ),
        (
            "birth-date-29-feb-2001",
            "29 February of a common year.",
            ["birth-date", "birth-date", "2001-02-29"],
            "vault.bad_value",
        ),
        (
            "birth-date-short-year",
            "Not YYYY-MM-DD.",
            ["birth-date", "birth-date", "01-02-03"],
            "vault.bad_value",
        ),
        (
            "country-lower-case",
            "Country codes are upper case.",
            ["postal-address", "postal-address", ["Main St 1", "Dublin", "", "ie"]],
            "vault.bad_value",
        ),
        (
            "country-user-assigned",
            "XK is user-assigned, not an ISO 3166-1 code.",
            ["postal-address", "postal-address", ["Rr. 1", "Prishtina", "10000", "XK"]],
            "vault.bad_value",
        ),
        (
            "address-three-parts",
            "A postal address has four parts.",
            ["postal-address", "postal-address", ["Main St 1", "Dublin", "IE"]],
            "encoding.schema",
        ),
        (
            "email-no-dot",
            "A host name needs a dot.",
            ["email", "email", "alice@localhost"],
            "vault.bad_value",
        ),
        (
            "email-space",
            "No spaces in an address.",
            ["email", "email", "alice smith@example.org"],
            "vault.bad_value",
        ),
        (
            "preferences-unsorted",
            "Preference keys must ascend.",
            ["sizes", "preferences", [["shoe-eu", "39"], ["shirt", "M"]]],
            "vault.bad_value",
        ),
        (
            "preferences-duplicate",
            "A preference key appears twice.",
            ["sizes", "preferences", [["shirt", "M"], ["shirt", "L"]]],
            "vault.bad_value",
        ),
        (
            "name-two-lines",
            "A name is one line.",
            ["name", "name", "Alice\nExample"],
            "vault.bad_value",
        ),
        ("name-empty", "A name is not empty.", ["name", "name", ""], "vault.bad_value"),
        (
            "text-escape",
            "Free text holds no terminal escapes.",
            ["note", "text", "hi\x1b[2J"],
            "vault.bad_value",
        ),
        (
            "unknown-type",
            "A type outside the closed set.",
            ["ssn", "national-id", "123"],
            "vault.bad_value",
        ),
        (
            "reserved-name",
            "age-over names a derived claim, not a field.",
            ["age-over", "text", "18"],
            "vault.bad_value",
        ),
        (
            "name-upper-case",
            "Field names are lower case.",
            ["Email", "email", "a@example.org"],
            "vault.bad_value",
        ),
        (
            "name-over-type-limit",
            "A name of 201 bytes: over the type's 200, under the 4096-byte wire ceiling.",
            ["name", "name", "n" * 201],
            "vault.bad_value",
        ),
        (
            "name-over-wire-ceiling",
            "A name of 4097 bytes: over the 4096-byte wire ceiling of a str value.",
            ["name", "name", "n" * 4097],
            "encoding.too_large",
        ),
        (
            "street-over-wire-ceiling",
            "A street of 257 bytes: over the 256-byte ceiling of an address part.",
            ["postal-address", "postal-address", ["s" * 257, "Berlin", "10115", "DE"]],
            "encoding.too_large",
        ),
        (
            "preference-over-type-limit",
            "A preference value of 65 bytes: over the type's 64, under the 128-byte ceiling.",
            ["sizes", "preferences", [["shirt", "m" * 65]]],
            "vault.bad_value",
        ),
        (
            "preferences-33-pairs",
            "33 preferences: over the 32-pair ceiling.",
            ["sizes", "preferences", [[f"k{i:02}", "v"] for i in range(33)]],
            "encoding.too_large",
        ),
        (
            "name-c1-control",
            "A name holding U+0085 (NEL, a C1 control): not one line.",
            ["name", "name", "Alice\x85Example"],
            "vault.bad_value",
        ),
        ("value-int", "A phone as an int.", ["phone", "phone", 4930123456], "encoding.schema"),
        (
            "four-elements",
            "A field is [name, type, value].",
            ["phone", "phone", "+4930123", "x"],
            "encoding.schema",
        ),
    ]
    for name, description, raw, error in bad:
        data = _pack(raw)
        _refused(name, error, lambda data=data: decode_field(data))
        out.append(
            {
                "kind": "field",
                "name": f"field-{name}",
                "description": description,
                "field_hex": data.hex(),
                "error": error,
            }
        )
    return out


def _raw(item: Field) -> Any:
    value = _value_json(item)
    if isinstance(value, dict):
        return [value["street"], value["city"], value["postcode"], value["country"]]
    return value


def _seal_vectors() -> list[dict[str, Any]]:
    key = vault_key(PERSON_SEED)
    assert (
        key == hashlib.blake2b(b"amity/vault-key/v1\x00", key=PERSON_SEED, digest_size=32).digest()
    )
    sealed = seal_field(key, EMAIL, VAULT_NONCE)
    box = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        encode_field(EMAIL), b"amity/vault/v1\x00email", VAULT_NONCE, key
    )
    assert sealed == _pack([1, VAULT_NONCE, box]) and open_field(key, sealed, name="email") == EMAIL
    out: list[dict[str, Any]] = [
        {
            "kind": "vault-seal",
            "name": "vault-seal-email",
            "description": "The email field sealed at rest with the key derived from the seed.",
            "seed_hex": PERSON_SEED.hex(),
            "key_hex": key.hex(),
            "nonce_hex": VAULT_NONCE.hex(),
            "field_hex": encode_field(EMAIL).hex(),
            "row_name": "email",
            "sealed_hex": sealed.hex(),
        }
    ]
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    negatives = [
        (
            "vault-seal-tampered",
            "One bit of the tag flipped.",
            PERSON_SEED,
            bytes(flipped),
            "email",
            "vault.decrypt_failed",
        ),
        (
            "vault-seal-moved-row",
            "The sealed email stored under the row 'phone'.",
            PERSON_SEED,
            sealed,
            "phone",
            "vault.decrypt_failed",
        ),
        (
            "vault-seal-other-seed",
            "Opened with the key of another identity.",
            VENDOR_SEED,
            sealed,
            "email",
            "vault.decrypt_failed",
        ),
        (
            "vault-seal-empty-box",
            "A box with no bytes at all, shorter than the 16-byte tag.",
            PERSON_SEED,
            _pack([1, VAULT_NONCE, b""]),
            "email",
            "vault.decrypt_failed",
        ),
        (
            "vault-seal-short-box",
            "A box of 15 bytes: the tag cut by one byte, no ciphertext.",
            PERSON_SEED,
            _pack([1, VAULT_NONCE, box[-15:]]),
            "email",
            "vault.decrypt_failed",
        ),
        (
            "vault-seal-too-large",
            "A sealed form of 4265 bytes (limit 4264), refused for its size before it is decoded.",
            PERSON_SEED,
            _pack([1, VAULT_NONCE, bytes(4265 - 26 - 3 - 2)]),
            "email",
            "encoding.too_large",
        ),
        (
            "vault-seal-version-true",
            "Version true: not the int 1, an unsupported version (spec/encoding.md §5.4).",
            PERSON_SEED,
            _pack([True, VAULT_NONCE, box]),
            "email",
            "version.unsupported",
        ),
        (
            "vault-seal-empty",
            "An empty array: a missing version is an unsupported one.",
            PERSON_SEED,
            _pack([]),
            "email",
            "version.unsupported",
        ),
        (
            "vault-seal-version-2",
            "Version 2 of the sealed form.",
            PERSON_SEED,
            _pack([2, VAULT_NONCE, box]),
            "email",
            "version.unsupported",
        ),
    ]
    for name, description, seed, data, row, error in negatives:
        _refused(name, error, lambda s=seed, d=data, r=row: open_field(vault_key(s), d, name=r))
        out.append(
            {
                "kind": "vault-seal",
                "name": name,
                "description": description,
                "seed_hex": seed.hex(),
                "row_name": row,
                "sealed_hex": data.hex(),
                "error": error,
            }
        )
    return out


GRANT_FIELDS = ["age-over", "country-of", "email", "phone"]


def _grant_inputs(**changes: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "grantee": VENDOR.peer_id,
        "grant_id": GRANT_ID,
        "agreement_id": AGREEMENT_ID,
        "fields": GRANT_FIELDS,
        "purpose": "order-fulfilment",
        "context": "order 2026-0042",
        "onward": Onward.NONE,
        "issued_ms": T0,
        "not_after_ms": NOT_AFTER,
    }
    return inputs | changes


def _grant(identity: SigningIdentity = PERSON, **changes: Any) -> Grant:
    return Grant.issue(identity, **_grant_inputs(**changes))


GRANT = _grant()
#: The typical grant's signed fields, as spec/grants.md §4.1 lays them out.
GRANT_SIGNED: list[Any] = [
    1,
    PERSON.peer_id.key,
    VENDOR.peer_id.key,
    GRANT_ID,
    AGREEMENT_ID,
    GRANT_FIELDS,
    "order-fulfilment",
    "order 2026-0042",
    "none",
    T0,
    NOT_AFTER,
]
CLAIMS = [
    DerivedClaim.derive(
        PERSON, BIRTH, "age-over", audience=VENDOR.peer_id, grant_id=GRANT_ID, at_ms=T0, age=18
    ),
    DerivedClaim.derive(
        PERSON, ADDRESS, "country-of", audience=VENDOR.peer_id, grant_id=GRANT_ID, at_ms=T0
    ),
]


def _grant_json(grant: Grant) -> dict[str, Any]:
    return {
        "grantor_peer_id_hex": grant.grantor.key.hex(),
        "grantee_peer_id_hex": grant.grantee.key.hex(),
        "grant_id_hex": grant.grant_id.hex(),
        "agreement_id_hex": grant.agreement_id.hex(),
        "fields": list(grant.fields),
        "purpose": grant.purpose,
        "context": grant.context,
        "onward": grant.onward.value,
        "issued_ms": grant.issued_ms,
        "not_after_ms": grant.not_after_ms,
    }


def _grant_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, description, grant in [
        ("grant-typical", "Two raw fields and two derived claims for order fulfilment.", GRANT),
        (
            "grant-aggregate-only",
            "One field, aggregates may be shared, empty context.",
            _grant(fields=["email"], context="", onward=Onward.AGGREGATE_ONLY),
        ),
    ]:
        raw = _grant_json(grant)
        expected = _signed(
            [
                1,
                grant.grantor.key,
                grant.grantee.key,
                grant.grant_id,
                grant.agreement_id,
                raw["fields"],
                raw["purpose"],
                raw["context"],
                raw["onward"],
                raw["issued_ms"],
                raw["not_after_ms"],
            ],
            b"amity/grant/v1\x00",
            PERSON_SEED,
        )
        assert grant.encoded == expected and Grant.decode(expected) == grant
        out.append(
            {
                "kind": "grant",
                "name": name,
                "description": description,
                "grantor_seed_hex": PERSON_SEED.hex(),
                **raw,
                "grant_hex": expected.hex(),
            }
        )
    forged = GRANT.encoded[:-1] + bytes([GRANT.encoded[-1] ^ 1])
    fields = GRANT_SIGNED
    negatives: list[tuple[str, str, bytes, int, str, Any]] = [
        (
            "grant-tampered",
            "One bit of the signature flipped.",
            forged,
            T0,
            "grants.bad_signature",
            None,
        ),
        (
            "grant-wrong-signer",
            "Names the person as grantor but mallory signed it.",
            _signed(fields, b"amity/grant/v1\x00", MALLORY_SEED),
            T0,
            "grants.bad_signature",
            None,
        ),
        (
            "grant-other-domain",
            "The person's signature, made under the revocation domain.",
            _signed(fields, b"amity/grant-revoke/v1\x00", PERSON_SEED),
            T0,
            "grants.bad_signature",
            None,
        ),
        (
            "grant-expired",
            "Opened at exactly not_after_ms.",
            GRANT.encoded,
            NOT_AFTER,
            "grants.expired",
            None,
        ),
        (
            "grant-from-mallory",
            "A valid grant by mallory, handed over as the person's.",
            _grant(MALLORY).encoded,
            T0,
            "grants.wrong_party",
            None,
        ),
        (
            "grant-for-someone-else",
            "A valid grant to mallory, opened by the vendor.",
            _grant(grantee=MALLORY.peer_id).encoded,
            T0,
            "grants.wrong_party",
            None,
        ),
        (
            "grant-version-2",
            "Version 2, with its fields as in v1.",
            _signed([2, *fields[1:]], b"amity/grant/v1\x00", PERSON_SEED),
            T0,
            "version.unsupported",
            None,
        ),
        (
            "grant-fields-unsorted",
            "Field names out of order.",
            _signed(
                [*fields[:5], ["email", "age-over"], *fields[6:]],
                b"amity/grant/v1\x00",
                PERSON_SEED,
            ),
            T0,
            "encoding.schema",
            None,
        ),
        (
            "grant-no-fields",
            "A grant of nothing.",
            _signed([*fields[:5], [], *fields[6:]], b"amity/grant/v1\x00", PERSON_SEED),
            T0,
            "encoding.schema",
            None,
        ),
        (
            "grant-purpose-upper-case",
            "Purpose ids are [a-z][a-z0-9-]*.",
            _signed([*fields[:6], "Marketing", *fields[7:]], b"amity/grant/v1\x00", PERSON_SEED),
            T0,
            "encoding.schema",
            None,
        ),
        (
            "grant-unknown-onward",
            "An onward rule v1 does not know.",
            _signed([*fields[:8], "anyone", *fields[9:]], b"amity/grant/v1\x00", PERSON_SEED),
            T0,
            "encoding.schema",
            None,
        ),
        (
            "grant-empty-period",
            "not_after_ms equal to issued_ms.",
            _signed([*fields[:10], T0], b"amity/grant/v1\x00", PERSON_SEED),
            T0,
            "encoding.schema",
            None,
        ),
    ]
    for name, description, data, now_ms, error, _ in negatives:
        _refused(
            name,
            error,
            lambda d=data, n=now_ms: open_grant(
                d, grantor=PERSON.peer_id, grantee=VENDOR.peer_id, now_ms=n
            ),
        )
        out.append(
            {
                "kind": "grant",
                "name": name,
                "description": description,
                "grant_hex": data.hex(),
                "grantor_peer_id_hex": PERSON.peer_id.key.hex(),
                "grantee_peer_id_hex": VENDOR.peer_id.key.hex(),
                "now_ms": now_ms,
                "error": error,
            }
        )
    return out


def _revocation_vectors() -> list[dict[str, Any]]:
    revocation = Revocation.issue(PERSON, GRANT, T0 + DAY_MS)
    fields = [1, PERSON.peer_id.key, VENDOR.peer_id.key, GRANT_ID, T0 + DAY_MS]
    assert revocation.encoded == _signed(fields, b"amity/grant-revoke/v1\x00", PERSON_SEED)
    out: list[dict[str, Any]] = [
        {
            "kind": "revocation",
            "name": "revocation",
            "description": "The person revokes the typical grant a day later.",
            "grantor_seed_hex": PERSON_SEED.hex(),
            "grant_hex": GRANT.encoded.hex(),
            "revoked_ms": T0 + DAY_MS,
            "revocation_hex": revocation.encoded.hex(),
        },
    ]
    for name, description, data, error in [
        (
            "revocation-by-mallory",
            "Mallory signs a revocation naming herself as grantor.",
            _signed(
                [1, MALLORY.peer_id.key, *fields[2:]], b"amity/grant-revoke/v1\x00", MALLORY_SEED
            ),
            "grants.wrong_party",
        ),
        (
            "revocation-forged",
            "Names the person as grantor, signed by mallory.",
            _signed(fields, b"amity/grant-revoke/v1\x00", MALLORY_SEED),
            "grants.bad_signature",
        ),
        (
            "revocation-other-grant",
            "The person revokes another grant id.",
            _signed(
                [*fields[:3], OTHER_GRANT_ID, fields[4]], b"amity/grant-revoke/v1\x00", PERSON_SEED
            ),
            "grants.wrong_party",
        ),
        (
            "revocation-too-large",
            "257 bytes (limit 256): the person's revocation with an 89-byte sixth field, refused "
            "for its size before the arity is read.",
            _signed([*fields, bytes(89)], b"amity/grant-revoke/v1\x00", PERSON_SEED),
            "encoding.too_large",
        ),
    ]:
        assert name != "revocation-too-large" or len(data) == 257, len(data)
        _refused(name, error, lambda d=data: Revocation.decode(d).check_for(GRANT))
        out.append(
            {
                "kind": "revocation",
                "name": name,
                "description": description,
                "grant_hex": GRANT.encoded.hex(),
                "revocation_hex": data.hex(),
                "error": error,
            }
        )
    return out


def _request_vectors() -> list[dict[str, Any]]:
    request = GrantRequest(("email", "postal-address"), "order-fulfilment", "checkout", 30 * DAY_MS)
    body = encode_request(request)
    assert body == _pack(
        [1, ["email", "postal-address"], "order-fulfilment", "checkout", 30 * DAY_MS]
    )
    out: list[dict[str, Any]] = [
        {
            "kind": "request",
            "name": "request",
            "description": "A vendor asks for two fields for 30 days.",
            "fields": list(request.fields),
            "purpose": request.purpose,
            "context": request.context,
            "duration_ms": request.duration_ms,
            "body_hex": body.hex(),
        },
    ]
    for name, description, raw, error in [
        (
            "request-zero-duration",
            "A duration of 0 ms.",
            [1, ["email"], "marketing", "", 0],
            "encoding.schema",
        ),
        (
            "request-version-2",
            "Version 2.",
            [2, ["email"], "marketing", "", 1],
            "version.unsupported",
        ),
        (
            "request-duplicate-field",
            "The same field twice.",
            [1, ["email", "email"], "marketing", "", 1],
            "encoding.schema",
        ),
        (
            "request-context-newline",
            "A context label is one line.",
            [1, ["email"], "marketing", "a\nb", 1],
            "encoding.schema",
        ),
    ]:
        data = _pack(raw)
        _refused(name, error, lambda d=data: decode_request(d))
        out.append(
            {
                "kind": "request",
                "name": name,
                "description": description,
                "body_hex": data.hex(),
                "error": error,
            }
        )
    return out


def _claim_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for claim, source in zip(CLAIMS, [BIRTH, ADDRESS], strict=True):
        fields = [
            1,
            PERSON.peer_id.key,
            VENDOR.peer_id.key,
            GRANT_ID,
            claim.kind,
            source.type.value,
            claim.value,
            T0,
        ]
        assert claim.encoded == _signed(fields, b"amity/claim/v1\x00", PERSON_SEED)
        out.append(
            {
                "kind": "claim",
                "name": f"claim-{claim.kind}",
                "description": f"{claim.statement}, derived from the {source.name} field.",
                "issuer_seed_hex": PERSON_SEED.hex(),
                "audience_peer_id_hex": VENDOR.peer_id.key.hex(),
                "grant_id_hex": GRANT_ID.hex(),
                "source_field_hex": encode_field(source).hex(),
                "claim": claim.kind,
                "value": claim.value,
                "at_ms": T0,
                "claim_hex": claim.encoded.hex(),
            }
        )
    base = [1, PERSON.peer_id.key, VENDOR.peer_id.key, GRANT_ID, "age-over", "birth-date", 18, T0]
    for name, description, data, error in [
        (
            "claim-forged",
            "Signed by mallory in the person's name.",
            _signed(base, b"amity/claim/v1\x00", MALLORY_SEED),
            "grants.bad_signature",
        ),
        (
            "claim-wrong-source",
            "age-over said to come from a postal address.",
            _signed([*base[:5], "postal-address", *base[6:]], b"amity/claim/v1\x00", PERSON_SEED),
            "encoding.schema",
        ),
        (
            "claim-unknown-kind",
            "A kind v1 does not know.",
            _signed([*base[:4], "income-over", *base[5:]], b"amity/claim/v1\x00", PERSON_SEED),
            "encoding.schema",
        ),
        (
            "claim-age-151",
            "An age beyond 150.",
            _signed([*base[:6], 151, T0], b"amity/claim/v1\x00", PERSON_SEED),
            "encoding.schema",
        ),
    ]:
        _refused(name, error, lambda d=data: DerivedClaim.decode(d))
        out.append(
            {
                "kind": "claim",
                "name": name,
                "description": description,
                "claim_hex": data.hex(),
                "error": error,
            }
        )
    return out


def _box(plaintext: bytes, link_public: bytes) -> bytes:
    epk = nacl.bindings.crypto_scalarmult_base(EPHEMERAL_SEED)
    nonce = hashlib.blake2b(epk + link_public, digest_size=24).digest()
    return epk + nacl.bindings.crypto_box(plaintext, nonce, link_public, EPHEMERAL_SEED)


def _raw_delivery(
    grant: bytes, values: list[Any], claims: list[bytes], link: LinkKey = VENDOR_LINK
) -> bytes:
    return _pack([1, link.public, _box(_pack([1, grant, values, claims]), link.public)])


DELIVERED = [EMAIL, PHONE]
BODY = deliver(
    GRANT, DELIVERED, CLAIMS, link_public=VENDOR_LINK.public, ephemeral_private=EPHEMERAL_SEED
)


def _open(body: bytes, now_ms: int = T0, link: LinkKey = VENDOR_LINK) -> Delivery:
    return open_delivery(
        body, grantor=PERSON.peer_id, grantee=VENDOR.peer_id, link_key=link, now_ms=now_ms
    )


def _delivery_vectors() -> list[dict[str, Any]]:
    values = [[f.name, f.type.value, _raw(f)] for f in DELIVERED]
    claims = [c.encoded for c in CLAIMS]
    assert _raw_delivery(GRANT.encoded, values, claims) == BODY
    assert nacl.bindings.crypto_box_seal_open(
        msgpack.unpackb(BODY)[2], VENDOR_LINK.public, VENDOR_LINK.private
    )
    out: list[dict[str, Any]] = [
        {
            "kind": "delivery",
            "name": "delivery-typical",
            "description": "The typical grant, its email and phone and two claims, sealed to the vendor.",
            "grantor_peer_id_hex": PERSON.peer_id.key.hex(),
            "grantee_peer_id_hex": VENDOR.peer_id.key.hex(),
            "link_seed_hex": VENDOR_LINK_SEED.hex(),
            "link_public_hex": VENDOR_LINK.public.hex(),
            "ephemeral_seed_hex": EPHEMERAL_SEED.hex(),
            "grant_hex": GRANT.encoded.hex(),
            "fields": [_field_json(f) for f in DELIVERED],
            "claims_hex": [c.hex() for c in claims],
            "now_ms": T0,
            "body_hex": BODY.hex(),
        },
    ]
    address = [ADDRESS.name, ADDRESS.type.value, _raw(ADDRESS)]
    flipped = bytearray(BODY)
    flipped[-1] ^= 1
    other_claim = DerivedClaim.derive(
        PERSON,
        BIRTH,
        "age-over",
        audience=VENDOR.peer_id,
        grant_id=OTHER_GRANT_ID,
        at_ms=T0,
        age=18,
    )
    mallory_claim = DerivedClaim.derive(
        MALLORY, BIRTH, "age-over", audience=VENDOR.peer_id, grant_id=GRANT_ID, at_ms=T0, age=18
    )
    for name, description, data, now_ms, link, error in [
        (
            "delivery-field-not-in-grant",
            "Carries the postal address, which the grant does not name.",
            _raw_delivery(GRANT.encoded, [values[0], address, values[1]], claims),
            T0,
            VENDOR_LINK,
            "grants.field_mismatch",
        ),
        (
            "delivery-field-missing",
            "The phone the grant names is missing.",
            _raw_delivery(GRANT.encoded, values[:1], claims),
            T0,
            VENDOR_LINK,
            "grants.field_mismatch",
        ),
        (
            "delivery-claim-of-other-grant",
            "An age-over claim made under another grant.",
            _raw_delivery(GRANT.encoded, values, [other_claim.encoded, claims[1]]),
            T0,
            VENDOR_LINK,
            "grants.field_mismatch",
        ),
        (
            "delivery-claim-by-mallory",
            "An age-over claim signed by mallory.",
            _raw_delivery(GRANT.encoded, values, [mallory_claim.encoded, claims[1]]),
            T0,
            VENDOR_LINK,
            "grants.wrong_party",
        ),
        (
            "delivery-phone-not-e164",
            "The phone value is not E.164.",
            _raw_delivery(GRANT.encoded, [values[0], ["phone", "phone", "030 123456"]], claims),
            T0,
            VENDOR_LINK,
            "vault.bad_value",
        ),
        (
            "delivery-grant-expired",
            "Opened at the grant's not_after_ms.",
            BODY,
            NOT_AFTER,
            VENDOR_LINK,
            "grants.expired",
        ),
        (
            "delivery-tampered-grant",
            "The grant inside is signed by mallory in the person's name.",
            _raw_delivery(
                _signed(
                    GRANT_SIGNED,
                    b"amity/grant/v1\x00",
                    MALLORY_SEED,
                ),
                values,
                claims,
            ),
            T0,
            VENDOR_LINK,
            "grants.bad_signature",
        ),
        (
            "delivery-box-tampered",
            "One bit of the box flipped.",
            bytes(flipped),
            T0,
            VENDOR_LINK,
            "seal.decrypt_failed",
        ),
        (
            "delivery-wrong-link-key",
            "Opened by a node holding another link key.",
            BODY,
            T0,
            OTHER_LINK,
            "seal.wrong_key",
        ),
        (
            "delivery-sealed-to-other-key",
            "The header names the vendor's key; the box was sealed to another.",
            _pack(
                [
                    1,
                    VENDOR_LINK.public,
                    _box(_pack([1, GRANT.encoded, values, claims]), OTHER_LINK.public),
                ]
            ),
            T0,
            VENDOR_LINK,
            "seal.decrypt_failed",
        ),
    ]:
        _refused(name, error, lambda d=data, n=now_ms, k=link: _open(d, n, k))
        out.append(
            {
                "kind": "delivery",
                "name": name,
                "description": description,
                "grantor_peer_id_hex": PERSON.peer_id.key.hex(),
                "grantee_peer_id_hex": VENDOR.peer_id.key.hex(),
                "link_seed_hex": link.private.hex(),
                "now_ms": now_ms,
                "body_hex": data.hex(),
                "error": error,
            }
        )
    return out


def build() -> dict[str, Any]:
    vectors = [
        *_field_vectors(),
        *_seal_vectors(),
        *_grant_vectors(),
        *_revocation_vectors(),
        *_request_vectors(),
        *_claim_vectors(),
        *_delivery_vectors(),
    ]
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "amity vault fields, grants, requests, derived claims and deliveries",
        "spec": "spec/grants.md",
        "notes": NOTES,
        "vectors": vectors,
    }
