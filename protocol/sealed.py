"""Sealed mail: a signed envelope encrypted to the recipient's link key, for offline delivery.

Sign-then-encrypt: the inner envelope is signed by the sender as usual, then sealed with an
ephemeral X25519 key to the recipient's certified link key. The box is byte-for-byte a libsodium
``crypto_box_seal`` box (any libsodium binding can open it); only the ephemeral key is passed in
instead of drawn inside, so simulated runs and test vectors are reproducible. Before sealing, the
envelope is padded to one of a few bucket sizes, so a relay sees who the mail is for and which
bucket it fills, nothing else. See spec/sealed.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import nacl.bindings
import nacl.exceptions

from amity.protocol.encoding import decode, encode, expect_array, expect_bytes
from amity.protocol.envelope import MAX_ENVELOPE_BYTES, Envelope, open_envelope
from amity.protocol.errors import (
    SealDecryptError,
    SealKeyError,
    SealPaddingError,
    UnsupportedVersionError,
    UsageError,
)
from amity.protocol.identity import PEER_ID_BYTES, PeerId
from amity.protocol.linkcert import LINK_KEY_BYTES, LinkKey

__all__ = [
    "SEALED_VERSION",
    "SEAL_OVERHEAD_BYTES",
    "PADDING_BUCKETS",
    "pad",
    "unpad",
    "MAX_BOX_BYTES",
    "MAX_SEALED_BYTES",
    "SealedHeader",
    "seal",
    "peek_sealed",
    "open_sealed",
]

SEALED_VERSION: Final = 1
#: Ephemeral public key (32) + Poly1305 tag (16), as in crypto_box_seal.
SEAL_OVERHEAD_BYTES: Final = 48
_LENGTH_BYTES: Final = 4
#: The sizes a padded plaintext may have (spec/sealed.md §2.1): powers of two from 256 bytes to
#: 128 KiB, then one bucket that just fits the largest envelope with its length prefix.
PADDING_BUCKETS: Final = (*(1 << k for k in range(8, 18)), MAX_ENVELOPE_BYTES + _LENGTH_BYTES)
#: The largest box a valid envelope can need; anything longer is refused before decrypting.
MAX_BOX_BYTES: Final = PADDING_BUCKETS[-1] + SEAL_OVERHEAD_BYTES
MAX_SEALED_BYTES: Final = MAX_BOX_BYTES + 128
_ARITY: Final = 4


@dataclass(frozen=True, slots=True)
class SealedHeader:
    """What anyone (a relay) can read of sealed mail: its recipient and which link key opens it."""

    recipient: PeerId
    link_public: bytes
    box: bytes


_BOX_SIZES: Final = frozenset(bucket + SEAL_OVERHEAD_BYTES for bucket in PADDING_BUCKETS)


def pad(envelope: bytes) -> bytes:
    """``len(envelope)`` as 4 bytes big-endian, the envelope, then zeros up to its bucket."""
    if len(envelope) > MAX_ENVELOPE_BYTES:
        raise UsageError(f"envelope of {len(envelope)} bytes is larger than {MAX_ENVELOPE_BYTES}")
    size = len(envelope) + _LENGTH_BYTES
    bucket = next(b for b in PADDING_BUCKETS if b >= size)
    return len(envelope).to_bytes(_LENGTH_BYTES, "big") + envelope + bytes(bucket - size)


def unpad(padded: bytes) -> bytes:
    """The envelope inside a padded plaintext; ``seal.bad_padding`` unless it is exactly what
    :func:`pad` makes of it (spec/sealed.md §2.1)."""
    length = int.from_bytes(padded[:_LENGTH_BYTES], "big")
    end = _LENGTH_BYTES + length
    if (
        len(padded) < _LENGTH_BYTES
        or length > MAX_ENVELOPE_BYTES
        or len(padded) != next(b for b in PADDING_BUCKETS if b >= end)
        or padded[end:].count(0) != len(padded) - end
    ):
        raise SealPaddingError(
            f"sealed mail opened to {len(padded)} bytes that are not an envelope padded to its "
            "bucket; the sender's node does not follow spec/sealed.md §2.1"
        )
    return padded[_LENGTH_BYTES:end]


def seal(
    envelope: bytes, *, recipient: PeerId, link_public: bytes, ephemeral_private: bytes
) -> bytes:
    """Pad a signed envelope to its bucket and encrypt it to ``link_public`` (the recipient's
    certified link key)."""
    if len(link_public) != LINK_KEY_BYTES or len(ephemeral_private) != LINK_KEY_BYTES:
        raise UsageError("seal() needs a 32-byte link key and 32 bytes of ephemeral secret")
    if len(envelope) > MAX_ENVELOPE_BYTES:
        raise UsageError(f"envelope of {len(envelope)} bytes is larger than {MAX_ENVELOPE_BYTES}")
    ephemeral_public = nacl.bindings.crypto_scalarmult_base(ephemeral_private)
    nonce = _seal_nonce(ephemeral_public, link_public)
    try:
        boxed = nacl.bindings.crypto_box(pad(envelope), nonce, link_public, ephemeral_private)
    except nacl.exceptions.RuntimeError as exc:  # libsodium refuses low-order public keys
        raise UsageError(f"cannot seal to that link key: {exc}") from None
    return encode([SEALED_VERSION, recipient.key, link_public, ephemeral_public + boxed])


def peek_sealed(data: bytes) -> SealedHeader:
    """Read the routing header of sealed mail without decrypting it (what a relay does)."""
    # Version before arity (a later version may have other fields); bool is not the int 1.
    fields = expect_array(decode(data, max_bytes=MAX_SEALED_BYTES), "sealed mail")
    version = fields[0] if fields else None
    if isinstance(version, bool) or version != SEALED_VERSION:
        raise UnsupportedVersionError(
            f"sealed mail version {version!r}; this node speaks {SEALED_VERSION}",
            hint="version.unsupported",
        )
    _, recipient_key, link_public, box = expect_array(fields, "sealed mail", arity=_ARITY)
    recipient = PeerId(expect_bytes(recipient_key, "sealed mail recipient", size=PEER_ID_BYTES))
    link = expect_bytes(link_public, "sealed mail link key", size=LINK_KEY_BYTES)
    boxed = expect_bytes(box, "sealed mail box", max_size=MAX_BOX_BYTES)
    if len(boxed) < SEAL_OVERHEAD_BYTES:
        raise SealDecryptError(f"sealed box of {len(boxed)} bytes is shorter than its overhead")
    if len(boxed) not in _BOX_SIZES:
        raise SealPaddingError(
            f"sealed box of {len(boxed)} bytes: not a padding bucket plus {SEAL_OVERHEAD_BYTES}"
        )
    return SealedHeader(recipient, link, boxed)


def open_sealed(
    data: bytes, *, recipient: PeerId, link_key: LinkKey, types: frozenset[str] | None = None
) -> Envelope:
    """Decrypt sealed mail with our link key and open the envelope inside (signature checked)."""
    header = peek_sealed(data)
    if header.recipient != recipient or header.link_public != link_key.public:
        raise SealKeyError(
            f"sealed mail is for {header.recipient.short} under link key "
            f"{header.link_public.hex()[:12]}, not for this node's current link key"
        )
    ephemeral_public, boxed = header.box[:LINK_KEY_BYTES], header.box[LINK_KEY_BYTES:]
    nonce = _seal_nonce(ephemeral_public, link_key.public)
    try:
        padded = nacl.bindings.crypto_box_open(boxed, nonce, ephemeral_public, link_key.private)
    except (nacl.exceptions.CryptoError, nacl.exceptions.RuntimeError):
        raise SealDecryptError("sealed mail does not decrypt with this node's link key") from None
    return open_envelope(unpad(padded), recipient=recipient, types=types)


def _seal_nonce(ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    # libsodium crypto_box_seal: nonce = BLAKE2b-192(epk || pk).
    return hashlib.blake2b(ephemeral_public + recipient_public, digest_size=24).digest()
