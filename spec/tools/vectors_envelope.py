"""Test vectors for spec/envelope.md: signing, and every way open_envelope refuses.

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.encoding import Value, encode
from amity.protocol.envelope import (
    ENVELOPE_DOMAIN,
    MAX_BODY_BYTES,
    MAX_ENVELOPE_BYTES,
    MAX_TYPE_BYTES,
    open_envelope,
    sign_envelope,
)
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId, SigningIdentity

ALICE_SEED = bytes.fromhex("a11ce0000000000000000000000000000000000000000000000000000000a11c")
BOB_SEED = bytes.fromhex("b0b0000000000000000000000000000000000000000000000000000000000b0b")
CAROL_SEED = bytes.fromhex("ca201000000000000000000000000000000000000000000000000000000ca201")
ALICE = SigningIdentity(ALICE_SEED)
BOB = SigningIdentity(BOB_SEED)
CAROL = SigningIdentity(CAROL_SEED)
NONCE = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
TS_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
BODY = encode(["terms-hash", b"\x00" * 4, 7])

NOTES = (
    "Seeds are Ed25519 seeds (RFC 8032 private keys); peer ids are the public keys. "
    "Positive vectors: sign_envelope with the given sender seed and fields must give exactly "
    "envelope_hex (signed_bytes_hex and signature_hex are its two parts), and open_envelope by "
    "the recipient (with `types` when given) must return the same fields. Negative vectors: "
    "open_envelope(envelope, recipient=recipient_peer_id_hex, types=types or None) must raise "
    "the AmityError whose code is `error`. A vector too large to print gives `envelope_parts` "
    "instead of `envelope_hex`: concatenate each part, either {bytes_hex} or {repeat_hex, count}."
)


def _fields(
    *,
    version: Value = 1,
    type_: Value = "terms.offer",
    sender: Value = None,
    to: Value = None,
    seq: Value = 1,
    ts_ms: Value = TS_MS,
    nonce: Value = NONCE,
    body: Value = BODY,
) -> list[Value]:
    return [
        version,
        type_,
        ALICE.peer_id.key if sender is None else sender,
        BOB.peer_id.key if to is None else to,
        seq,
        ts_ms,
        nonce,
        body,
    ]


def _signed(fields: list[Value], signer: SigningIdentity = ALICE) -> bytes:
    """Sign any field list (even one sign_envelope would refuse), as a hostile sender could."""
    signed_bytes = encode(fields)
    return encode([signed_bytes, signer.sign(ENVELOPE_DOMAIN, signed_bytes)])


def _tampered(fields: list[Value], signer: SigningIdentity = ALICE) -> bytes:
    """Sign ``_fields()``, then swap in ``fields``, keeping the original signature."""
    signed_bytes = encode(_fields())
    signature = signer.sign(ENVELOPE_DOMAIN, signed_bytes)
    return encode([encode(fields), signature])


def _positive(
    name: str,
    description: str,
    *,
    type_: str = "terms.offer",
    seq: int = 1,
    ts_ms: int = TS_MS,
    nonce: bytes = NONCE,
    body: bytes = BODY,
    types: list[str] | None = None,
) -> dict[str, Any]:
    data = sign_envelope(
        ALICE, type=type_, recipient=BOB.peer_id, seq=seq, ts_ms=ts_ms, nonce=nonce, body=body
    )
    opened = open_envelope(data, recipient=BOB.peer_id, types=types)
    signed_bytes = encode([1, type_, ALICE.peer_id.key, BOB.peer_id.key, seq, ts_ms, nonce, body])
    signature = ALICE.sign(ENVELOPE_DOMAIN, signed_bytes)
    assert data == encode([signed_bytes, signature]) and opened.body == body
    vector: dict[str, Any] = {
        "name": name,
        "description": description,
        "sender_seed_hex": ALICE_SEED.hex(),
        "sender_peer_id_hex": ALICE.peer_id.key.hex(),
        "recipient_peer_id_hex": BOB.peer_id.key.hex(),
        "type": type_,
        "seq": seq,
        "ts_ms": ts_ms,
        "nonce_hex": nonce.hex(),
        "body_hex": body.hex(),
    }
    if types is not None:
        vector["types"] = types
    vector |= {
        "signed_bytes_hex": signed_bytes.hex(),
        "signature_hex": signature.hex(),
        "envelope_hex": data.hex(),
    }
    return vector


def _negative(
    name: str,
    description: str,
    data: bytes,
    error: str,
    *,
    recipient: PeerId | None = None,
    types: list[str] | None = None,
) -> dict[str, Any]:
    opener = BOB.peer_id if recipient is None else recipient
    try:
        open_envelope(data, recipient=opener, types=types)
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    vector: dict[str, Any] = {
        "name": name,
        "description": description,
        "recipient_peer_id_hex": opener.key.hex(),
    }
    if types is not None:
        vector["types"] = types
    if len(data) > 4096:
        vector["envelope_parts"] = _parts(data)
    else:
        vector["envelope_hex"] = data.hex()
    vector["error"] = error
    return vector


def _parts(data: bytes) -> list[dict[str, Any]]:
    """Print the longest run of one byte value as {repeat_hex, count}, the rest as hex."""
    best_start, best_len, start = 0, 0, 0
    for index in range(1, len(data) + 1):
        if index == len(data) or data[index] != data[start]:
            if index - start > best_len:
                best_start, best_len = start, index - start
            start = index
    end = best_start + best_len
    return [
        {"bytes_hex": data[:best_start].hex()},
        {"repeat_hex": data[best_start : best_start + 1].hex(), "count": best_len},
        {"bytes_hex": data[end:].hex()},
    ]


def _swap_byte(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _positives() -> list[dict[str, Any]]:
    return [
        _positive(
            "typical-offer",
            "A terms.offer from Alice to Bob with a small msgpack body.",
        ),
        _positive(
            "minimal",
            "Empty body, seq 1, ts_ms 0, all-zero nonce: the smallest envelope there is.",
            type_="a",
            ts_ms=0,
            nonce=bytes(16),
            body=b"",
        ),
        _positive(
            "bin16-body",
            "A 300-byte body: the body's bin header takes its 3-byte (bin16) form.",
            type_="vault.data",
            seq=2,
            body=bytes(range(256)) + bytes(44),
        ),
        _positive(
            "largest-seq-and-time",
            "seq and ts_ms at their largest (2**63 - 1, so any signed 64-bit store holds them).",
            type_="rel.end",
            seq=(1 << 63) - 1,
            ts_ms=(1 << 63) - 1,
        ),
        _positive(
            "type-64-bytes",
            "A type name of exactly MAX_TYPE_BYTES (64) characters, dotted lower-case.",
            type_="a" * 31 + "." + "b_9" + "c" * 29,
        ),
        _positive(
            "type-in-accepted-list",
            "The receiver passes a list of accepted types and the envelope's type is in it.",
            type_="rel.end",
            types=["rel.end", "terms.offer"],
        ),
    ]


def _negatives() -> list[dict[str, Any]]:
    valid = sign_envelope(
        ALICE, type="terms.offer", recipient=BOB.peer_id, seq=1, ts_ms=TS_MS, nonce=NONCE, body=BODY
    )
    to_carol = sign_envelope(
        ALICE,
        type="terms.offer",
        recipient=CAROL.peer_id,
        seq=1,
        ts_ms=TS_MS,
        nonce=NONCE,
        body=BODY,
    )
    big_body = bytes([0x61]) * (MAX_BODY_BYTES + 1)
    huge_body = bytes([0x62]) * (MAX_ENVELOPE_BYTES - 100)
    huge = _signed(_fields(body=huge_body))
    assert len(huge) > MAX_ENVELOPE_BYTES
    bad = "envelope.bad_signature"
    schema = "encoding.schema"
    return [
        # -- signature ----------------------------------------------------------------------------
        _negative(
            "signature-bit-flipped",
            "One bit of the signature's last byte flipped.",
            _swap_byte(valid, len(valid) - 1),
            bad,
        ),
        _negative(
            "signature-by-someone-else",
            "Fields claim Alice as sender but Carol signed them.",
            _signed(_fields(), signer=CAROL),
            bad,
        ),
        _negative(
            "signature-other-domain",
            "Alice's signature over the same signed bytes under another domain (link cert's).",
            encode([encode(_fields()), ALICE.sign(b"amity/linkcert/v1\x00", encode(_fields()))]),
            bad,
        ),
        _negative(
            "tampered-type",
            "type changed from terms.offer to terms.offes after signing.",
            _tampered(_fields(type_="terms.offes")),
            bad,
        ),
        _negative(
            "tampered-from",
            "from replaced by Carol's (valid) key after Alice signed: checked against Carol.",
            _tampered(_fields(sender=CAROL.peer_id.key)),
            bad,
        ),
        _negative(
            "tampered-to",
            "to changed from Bob to Carol after signing, opened by Carol: the signature is "
            "checked before the recipient, so this is bad_signature, not a message for Carol.",
            _tampered(_fields(to=CAROL.peer_id.key)),
            bad,
            recipient=CAROL.peer_id,
        ),
        _negative(
            "tampered-seq",
            "seq 1 changed to 2 after signing.",
            _tampered(_fields(seq=2)),
            bad,
        ),
        _negative(
            "tampered-ts",
            "ts_ms moved one millisecond after signing.",
            _tampered(_fields(ts_ms=TS_MS + 1)),
            bad,
        ),
        _negative(
            "tampered-nonce",
            "One bit of the nonce flipped after signing.",
            _tampered(_fields(nonce=_swap_byte(NONCE, 15))),
            bad,
        ),
        _negative(
            "tampered-body",
            "One bit of the body flipped after signing.",
            _tampered(_fields(body=_swap_byte(BODY, 0))),
            bad,
        ),
        _negative(
            "tampered-body-truncated",
            "Body shortened by one byte after signing (headers re-encoded canonically).",
            _tampered(_fields(body=BODY[:-1])),
            bad,
        ),
        # -- recipient and type ---------------------------------------------------------------------
        _negative(
            "wrong-recipient",
            "Validly signed by Alice to Carol, and handed to Bob.",
            to_carol,
            "envelope.wrong_recipient",
        ),
        _negative(
            "wrong-type",
            "Validly signed to Bob, but Bob only accepts rel.end here.",
            valid,
            "envelope.wrong_type",
            types=["rel.end"],
        ),
        _negative(
            "wrong-type-empty-list",
            "An empty list of accepted types refuses every type.",
            valid,
            "envelope.wrong_type",
            types=[],
        ),
        _negative(
            "order-recipient-before-type",
            "Signed to Carol with a type Bob does not accept: the recipient is checked first.",
            to_carol,
            "envelope.wrong_recipient",
            types=["rel.end"],
        ),
        # -- version ----------------------------------------------------------------------------------
        _negative(
            "version-2",
            "Validly signed, version 2, otherwise a v1 layout.",
            _signed(_fields(version=2)),
            "version.unsupported",
        ),
        _negative(
            "version-2-nine-fields",
            "Version 2 with an extra field: refused for its version, not its arity.",
            _signed([*_fields(version=2), b"extension"]),
            "version.unsupported",
        ),
        _negative(
            "version-2-bad-signature",
            "Version 2 with a garbage signature: the version is checked before the signature.",
            encode([encode(_fields(version=2)), bytes(64)]),
            "version.unsupported",
        ),
        _negative(
            "version-0",
            "Validly signed, version 0.",
            _signed(_fields(version=0)),
            "version.unsupported",
        ),
        _negative(
            "version-true",
            "Validly signed, version msgpack true (0xc3): not the int 1, though Python says "
            "True == 1.",
            _signed(_fields(version=True)),
            "version.unsupported",
        ),
        _negative(
            "version-str",
            'Validly signed, version "1" (a str).',
            _signed(_fields(version="1")),
            "version.unsupported",
        ),
        _negative(
            "inner-empty-array",
            "signed_bytes is an empty array: no version to read.",
            _signed([]),
            "version.unsupported",
        ),
        # -- encoding -----------------------------------------------------------------------------
        _negative(
            "empty-input",
            "Zero bytes.",
            b"",
            "encoding.malformed",
        ),
        _negative(
            "truncated",
            "A valid envelope missing its last byte.",
            valid[:-1],
            "encoding.malformed",
        ),
        _negative(
            "trailing-byte",
            "A valid envelope followed by one more byte (0xc0, nil).",
            valid + b"\xc0",
            "encoding.malformed",
        ),
        _negative(
            "non-canonical-outer",
            "The signed part's bin header in bin16 form (c5 00 xx) where bin8 is required.",
            b"\x92\xc5\x00" + valid[2:],
            "encoding.non_canonical",
        ),
        _negative(
            "non-canonical-inner",
            "seq 1 encoded as uint16 (cd 00 01) inside the signed bytes, validly signed: the "
            "signature does not make a non-canonical encoding acceptable.",
            _signed_raw(
                b"\x98"
                + b"".join(encode(f) for f in _fields()[:4])
                + b"\xcd\x00\x01"
                + b"".join(encode(f) for f in _fields()[5:])
            ),
            "encoding.non_canonical",
        ),
        _negative(
            "outer-is-map",
            "A msgpack map where the outer array belongs.",
            b"\x81\xa1a\x01",
            "encoding.non_canonical",
        ),
        _negative(
            "outer-three-elements",
            "The outer array with a third element.",
            encode([encode(_fields()), ALICE.sign(ENVELOPE_DOMAIN, encode(_fields())), b""]),
            schema,
        ),
        _negative(
            "signed-part-not-bin",
            "The signed part as an array instead of bin holding its encoding.",
            encode([_fields(), ALICE.sign(ENVELOPE_DOMAIN, encode(_fields()))]),
            schema,
        ),
        _negative(
            "signature-63-bytes",
            "A signature one byte short.",
            encode([encode(_fields()), ALICE.sign(ENVELOPE_DOMAIN, encode(_fields()))[:63]]),
            schema,
        ),
        _negative(
            "inner-seven-fields",
            "Version 1 with the body missing, validly signed.",
            _signed(_fields()[:7]),
            schema,
        ),
        _negative(
            "bad-type-name-upper-case",
            'type "Terms.Offer", validly signed: types are dotted lower-case names.',
            _signed(_fields(type_="Terms.Offer")),
            schema,
        ),
        _negative(
            "bad-type-name-empty-segment",
            'type "terms..offer", validly signed.',
            _signed(_fields(type_="terms..offer")),
            schema,
        ),
        _negative(
            "bad-type-name-65-bytes",
            "type of 65 characters, one more than MAX_TYPE_BYTES.",
            _signed(_fields(type_="a" * (MAX_TYPE_BYTES + 1))),
            "encoding.too_large",
        ),
        _negative(
            "type-as-bin",
            "type given as bin rather than str.",
            _signed(_fields(type_=b"terms.offer")),
            schema,
        ),
        _negative(
            "seq-0",
            "seq 0, validly signed: sequence numbers start at 1.",
            _signed(_fields(seq=0)),
            schema,
        ),
        _negative(
            "seq-2-to-the-63",
            "seq 2**63, validly signed: one above the largest (signed 64-bit) sequence number.",
            _signed(_fields(seq=1 << 63)),
            schema,
        ),
        _negative(
            "ts-2-to-the-63",
            "ts_ms 2**63, validly signed: one above the largest timestamp.",
            _signed(_fields(ts_ms=1 << 63)),
            schema,
        ),
        _negative(
            "seq-negative",
            "seq -1, validly signed.",
            _signed(_fields(seq=-1)),
            schema,
        ),
        _negative(
            "ts-negative",
            "ts_ms -1, validly signed.",
            _signed(_fields(ts_ms=-1)),
            schema,
        ),
        _negative(
            "nonce-15-bytes",
            "A 15-byte nonce, validly signed.",
            _signed(_fields(nonce=NONCE[:15])),
            schema,
        ),
        _negative(
            "nonce-17-bytes",
            "A 17-byte nonce, validly signed.",
            _signed(_fields(nonce=NONCE + b"\x10")),
            schema,
        ),
        _negative(
            "to-31-bytes",
            "to one byte short, validly signed.",
            _signed(_fields(to=BOB.peer_id.key[:31])),
            schema,
        ),
        _negative(
            "from-not-a-point",
            "from is 32 bytes that are not a valid Ed25519 public key (all zero: small order).",
            _signed(_fields(sender=bytes(32))),
            "identity.bad_key",
        ),
        _negative(
            "body-as-str",
            "body given as str rather than bin.",
            _signed(_fields(body="body")),
            schema,
        ),
        _negative(
            "order-schema-before-signature",
            "seq 0 and a garbage signature: the shape is checked before the signature.",
            encode([encode(_fields(seq=0)), bytes(64)]),
            schema,
        ),
        # -- limits -------------------------------------------------------------------------------
        _negative(
            "body-over-limit",
            "A validly signed body of MAX_BODY_BYTES + 1 (262145) bytes; the envelope itself "
            "is within MAX_ENVELOPE_BYTES, so the body limit is what refuses it.",
            _signed(_fields(body=big_body)),
            "encoding.too_large",
        ),
        _negative(
            "envelope-over-limit",
            "A validly signed envelope longer than MAX_ENVELOPE_BYTES (262656) bytes.",
            huge,
            "encoding.too_large",
        ),
    ]


def _signed_raw(signed_bytes: bytes) -> bytes:
    return encode([signed_bytes, ALICE.sign(ENVELOPE_DOMAIN, signed_bytes)])


def build() -> dict[str, Any]:
    vectors = _positives() + _negatives()
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "amity envelopes: signing and verification",
        "spec": "spec/envelope.md",
        "notes": NOTES,
        "vectors": vectors,
    }
