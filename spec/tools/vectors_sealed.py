"""Test vectors for spec/sealed.md: sealing with a fixed ephemeral key, and every refusal.

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

import hashlib
from typing import Any

import nacl.bindings

from amity.protocol.encoding import encode
from amity.protocol.envelope import sign_envelope
from amity.protocol.errors import AmityError
from amity.protocol.identity import SigningIdentity
from amity.protocol.linkcert import LinkKey
from amity.protocol.sealed import SEALED_VERSION, open_sealed, pad, peek_sealed, seal

ALICE_SEED = bytes.fromhex("a11ce0000000000000000000000000000000000000000000000000000000a11c")
BOB_SEED = bytes.fromhex("b0b0000000000000000000000000000000000000000000000000000000000b0b")
CAROL_SEED = bytes.fromhex("ca201000000000000000000000000000000000000000000000000000000ca201")
BOB_LINK_PRIVATE = bytes.fromhex("b0b11e0000000000000000000000000000000000000000000000000000b0b11e")
BOB_OLD_LINK_PRIVATE = bytes.fromhex(
    "b0b01d0000000000000000000000000000000000000000000000000000b0b01d"
)
CAROL_LINK_PRIVATE = bytes.fromhex(
    "ca211e00000000000000000000000000000000000000000000000000ca211e00"
)
EPHEMERAL_PRIVATE = bytes.fromhex(
    "e9e9e90000000000000000000000000000000000000000000000000000e9e9e9"
)
ALICE = SigningIdentity(ALICE_SEED)
BOB = SigningIdentity(BOB_SEED)
CAROL = SigningIdentity(CAROL_SEED)
BOB_LINK = LinkKey(BOB_LINK_PRIVATE)
BOB_OLD_LINK = LinkKey(BOB_OLD_LINK_PRIVATE)
CAROL_LINK = LinkKey(CAROL_LINK_PRIVATE)
NONCE = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
TS_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

NOTES = (
    "Seeds are Ed25519 seeds; link keys are X25519 private keys (public = X25519 base-point "
    "multiplication). Positive vectors: seal(envelope, recipient, link_public, "
    "ephemeral_seed) must give exactly sealed_hex; its box must open with plain libsodium "
    "crypto_box_seal_open(box, link_public, link_private) to padded_hex, which is envelope_hex "
    "padded to its bucket (sealed.md §2.1: 4-byte big-endian length, envelope, zeros); "
    "peek_sealed must "
    "show the recipient and link key; open_sealed must return the envelope. Negative vectors: "
    "open_sealed(sealed, recipient=recipient_peer_id_hex, link_key=LinkKey(link_seed_hex), "
    "types=types or None) must raise the AmityError whose code is `error`."
)


def _envelope(to: SigningIdentity = BOB, type_: str = "mail.note", body: bytes = b"hello") -> bytes:
    return sign_envelope(
        ALICE, type=type_, recipient=to.peer_id, seq=1, ts_ms=TS_MS, nonce=NONCE, body=body
    )


def _seal(envelope: bytes, to: SigningIdentity = BOB, link: LinkKey = BOB_LINK) -> bytes:
    return seal(
        envelope, recipient=to.peer_id, link_public=link.public, ephemeral_private=EPHEMERAL_PRIVATE
    )


def _box_raw(plaintext: bytes, link_public: bytes) -> bytes:
    """A crypto_box_seal box around any plaintext (even one seal() would refuse)."""
    ephemeral_public = nacl.bindings.crypto_scalarmult_base(EPHEMERAL_PRIVATE)
    nonce = hashlib.blake2b(ephemeral_public + link_public, digest_size=24).digest()
    boxed = nacl.bindings.crypto_box(plaintext, nonce, link_public, EPHEMERAL_PRIVATE)
    return ephemeral_public + boxed


def _sealed_raw(
    box: bytes, *, version: object = SEALED_VERSION, link: bytes | None = None
) -> bytes:
    fields: list[Any] = [version, BOB.peer_id.key, BOB_LINK.public if link is None else link, box]
    return encode(fields)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _positive(name: str, description: str, envelope: bytes, **opened: Any) -> dict[str, Any]:
    sealed = _seal(envelope)
    header = peek_sealed(sealed)
    padded = nacl.bindings.crypto_box_seal_open(header.box, BOB_LINK.public, BOB_LINK.private)
    assert padded == pad(envelope)
    assert open_sealed(sealed, recipient=BOB.peer_id, link_key=BOB_LINK).encoded == envelope
    return {
        "name": name,
        "description": description,
        "sender_seed_hex": ALICE_SEED.hex(),
        "recipient_seed_hex": BOB_SEED.hex(),
        "recipient_peer_id_hex": BOB.peer_id.key.hex(),
        "link_seed_hex": BOB_LINK.private.hex(),
        "link_public_hex": BOB_LINK.public.hex(),
        "ephemeral_seed_hex": EPHEMERAL_PRIVATE.hex(),
        "ephemeral_public_hex": header.box[:32].hex(),
        **opened,
        "envelope_hex": envelope.hex(),
        "padded_hex": padded.hex(),
        "box_hex": header.box.hex(),
        "sealed_hex": sealed.hex(),
    }


def _negative(
    name: str,
    description: str,
    sealed: bytes,
    error: str,
    *,
    recipient: SigningIdentity = BOB,
    link: LinkKey = BOB_LINK,
    types: list[str] | None = None,
) -> dict[str, Any]:
    try:
        open_sealed(
            sealed,
            recipient=recipient.peer_id,
            link_key=link,
            types=None if types is None else frozenset(types),
        )
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    vector: dict[str, Any] = {
        "name": name,
        "description": description,
        "recipient_peer_id_hex": recipient.peer_id.key.hex(),
        "link_seed_hex": link.private.hex(),
    }
    if types is not None:
        vector["types"] = types
    return vector | {"sealed_hex": sealed.hex(), "error": error}


def build() -> dict[str, Any]:
    envelope = _envelope()
    valid = _seal(envelope)
    box = peek_sealed(valid).box
    decrypt, wrong_key = "seal.decrypt_failed", "seal.wrong_key"
    padding = "seal.bad_padding"
    vectors = [
        _positive(
            "typical",
            "Alice's signed mail.note to Bob, sealed to Bob's link key with a fixed ephemeral key.",
            envelope,
            type="mail.note",
            seq=1,
            ts_ms=TS_MS,
            body_hex=b"hello".hex(),
        ),
        _positive(
            "same-bucket",
            "A 60-byte body: a longer envelope than `typical`, in the same 256-byte bucket, so "
            "the sealed mail has exactly the same size.",
            _envelope(body=bytes(60)),
            type="mail.note",
            seq=1,
            ts_ms=TS_MS,
            body_hex=bytes(60).hex(),
        ),
        _positive(
            "bucket-512",
            "A 300-byte body: the envelope and its length pass 256 bytes, so it is padded to 512.",
            _envelope(body=bytes(300)),
            type="mail.note",
            seq=1,
            ts_ms=TS_MS,
            body_hex=bytes(300).hex(),
        ),
        # -- the sealed layer ---------------------------------------------------------------------
        _negative(
            "box-ciphertext-tampered",
            "One bit flipped in the last byte of the box (ciphertext).",
            _sealed_raw(_flip(box, len(box) - 1)),
            decrypt,
        ),
        _negative(
            "box-tag-tampered",
            "One bit flipped in the Poly1305 tag (box bytes 32..47).",
            _sealed_raw(_flip(box, 40)),
            decrypt,
        ),
        _negative(
            "box-ephemeral-key-tampered",
            "One bit flipped in the ephemeral public key (box bytes 0..31).",
            _sealed_raw(_flip(box, 0)),
            decrypt,
        ),
        _negative(
            "box-truncated",
            "The box cut one byte short: no bucket has that size, refused before decrypting.",
            _sealed_raw(box[:-1]),
            padding,
        ),
        _negative(
            "box-not-padded",
            "A libsodium box around the bare envelope, not padded: refused before decrypting.",
            _sealed_raw(_box_raw(envelope, BOB_LINK.public)),
            padding,
        ),
        _negative(
            "padding-not-zero",
            "The last padding byte is 0x01, not zero.",
            _sealed_raw(_box_raw(pad(envelope)[:-1] + b"\x01", BOB_LINK.public)),
            padding,
        ),
        _negative(
            "padding-bucket-too-large",
            "The envelope padded to 512 bytes although it fits 256: padding is canonical.",
            _sealed_raw(_box_raw(pad(envelope) + bytes(256), BOB_LINK.public)),
            padding,
        ),
        _negative(
            "padding-length-past-the-end",
            "The length prefix says 256 bytes, more than the 252 that follow it.",
            _sealed_raw(_box_raw((256).to_bytes(4, "big") + pad(envelope)[4:], BOB_LINK.public)),
            padding,
        ),
        _negative(
            "padding-length-short",
            "The length prefix says one byte less than the envelope: its last byte counts as "
            "padding and is not zero.",
            _sealed_raw(
                _box_raw(
                    (len(envelope) - 1).to_bytes(4, "big") + pad(envelope)[4:], BOB_LINK.public
                )
            ),
            padding,
        ),
        _negative(
            "box-shorter-than-overhead",
            "A box of 47 bytes, shorter than ephemeral key + tag: refused before decrypting.",
            _sealed_raw(box[:47]),
            decrypt,
        ),
        _negative(
            "box-for-other-link-key",
            "The header names Bob's current link key but the box was sealed to his old one.",
            _sealed_raw(_box_raw(pad(envelope), BOB_OLD_LINK.public)),
            decrypt,
        ),
        _negative(
            "wrong-link-key",
            "Sealed to Bob's old link key (header says so), opened with his current one: "
            "refused before decrypting. A node keeps old link keys to open mail still in "
            "flight, choosing by the header's link key.",
            _seal(envelope, link=BOB_OLD_LINK),
            wrong_key,
        ),
        _negative(
            "wrong-recipient-header",
            "Sealed to Carol (her id and link key in the header), handed to Bob.",
            _seal(_envelope(to=CAROL), to=CAROL, link=CAROL_LINK),
            wrong_key,
        ),
        _negative(
            "header-recipient-swapped",
            "Bob's box under a header naming Carol, opened by Carol: her link key is not the "
            "one named.",
            encode([SEALED_VERSION, CAROL.peer_id.key, BOB_LINK.public, box]),
            wrong_key,
            recipient=CAROL,
            link=CAROL_LINK,
        ),
        _negative(
            "truncated",
            "Valid sealed mail missing its last byte.",
            valid[:-1],
            "encoding.malformed",
        ),
        _negative(
            "empty-input",
            "Zero bytes.",
            b"",
            "encoding.malformed",
        ),
        _negative(
            "version-2",
            "Version 2 sealed mail.",
            _sealed_raw(box, version=2),
            "version.unsupported",
        ),
        _negative(
            "version-2-five-fields",
            "Version 2 with an extra field: refused for its version, not its arity.",
            encode([2, BOB.peer_id.key, BOB_LINK.public, box, b""]),
            "version.unsupported",
        ),
        _negative(
            "version-true",
            "Version as msgpack true (0xc3) rather than the int 1.",
            _sealed_raw(box, version=True),
            "version.unsupported",
        ),
        _negative(
            "three-fields",
            "Version 1 with the box missing.",
            encode([SEALED_VERSION, BOB.peer_id.key, BOB_LINK.public]),
            "encoding.schema",
        ),
        _negative(
            "link-key-31-bytes",
            "The header's link key one byte short.",
            _sealed_raw(box, link=BOB_LINK.public[:31]),
            "encoding.schema",
        ),
        # -- the envelope inside ------------------------------------------------------------------
        _negative(
            "inner-wrong-recipient",
            "Sealed correctly to Bob, but the envelope inside is Alice's to Carol (Bob "
            "forwarding Carol's mail, or a relay re-sealing it): refused by the envelope check.",
            _seal(_envelope(to=CAROL)),
            "envelope.wrong_recipient",
        ),
        _negative(
            "inner-bad-signature",
            "Sealed correctly to Bob, but the envelope's signature is broken.",
            _sealed_raw(_box_raw(pad(_flip(envelope, len(envelope) - 1)), BOB_LINK.public)),
            "envelope.bad_signature",
        ),
        _negative(
            "inner-wrong-type",
            "Sealed correctly, but Bob only accepts rel.end by mail here.",
            valid,
            "envelope.wrong_type",
            types=["rel.end"],
        ),
        _negative(
            "inner-not-msgpack",
            "The box decrypts to a padded plaintext whose one envelope byte is not msgpack "
            "(0xc1 is reserved).",
            _sealed_raw(_box_raw(pad(b"\xc1"), BOB_LINK.public)),
            "encoding.malformed",
        ),
        _negative(
            "inner-empty",
            "Well-formed padding around an envelope of zero bytes.",
            _sealed_raw(_box_raw(pad(b""), BOB_LINK.public)),
            "encoding.malformed",
        ),
    ]
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "amity sealed mail: sign-then-seal to a link key (libsodium crypto_box_seal)",
        "spec": "spec/sealed.md",
        "notes": NOTES,
        "vectors": vectors,
    }
