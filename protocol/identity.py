"""Node identity: an Ed25519 key is the node; its public half is the peer id. See spec/identity.md.

A :class:`PeerId` is shown as a ``did:key`` (multicodec 0xed01 + base58btc) so the wider
decentralised-identity world can read it, and as a short fingerprint for people to compare aloud.
Every signature amity makes is domain-separated: the signed input is ``domain + message``, with a
domain string that ends in a NUL byte and names the structure and its version.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from typing import Final

import nacl.bindings
import nacl.exceptions
import nacl.signing

from amity.protocol.errors import (
    AmityError,
    BadDidError,
    BadKeyError,
    BadSignatureError,
    UsageError,
)

__all__ = [
    "PEER_ID_BYTES",
    "SIGNATURE_BYTES",
    "SEED_BYTES",
    "PeerId",
    "SigningIdentity",
    "verify_signature",
    "base58_encode",
    "base58_decode",
]

PEER_ID_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64
SEED_BYTES: Final = 32
_DID_PREFIX: Final = "did:key:z"
_ED25519_MULTICODEC: Final = b"\xed\x01"
_FINGERPRINT_DOMAIN: Final = b"amity/fpr/v1\x00"
_B58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX: Final = {c: i for i, c in enumerate(_B58_ALPHABET)}


@dataclass(frozen=True, slots=True, order=True)
class PeerId:
    """A node's identity: its 32-byte Ed25519 public key, checked to be a usable curve point."""

    key: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.key, bytes) or len(self.key) != PEER_ID_BYTES:
            raise BadKeyError(f"a peer id is {PEER_ID_BYTES} bytes of Ed25519 public key")
        # Rejects non-canonical encodings and small-order points, which would make signatures
        # meaningless (any signature verifies against some of them).
        if not _is_valid_point(self.key):
            raise BadKeyError(
                "peer id is not a valid Ed25519 public key (small order or off curve)"
            )

    @classmethod
    def from_did(cls, did: str) -> PeerId:
        """Parse ``did:key:z6Mk…``; raises BadDidError or BadKeyError."""
        if not isinstance(did, str) or not did.startswith(_DID_PREFIX):
            raise BadDidError(f"expected a did:key starting with {_DID_PREFIX!r}, got {did!r:.60}")
        try:
            raw = base58_decode(did[len(_DID_PREFIX) :])
        except ValueError as exc:
            raise BadDidError(f"did:key is not valid base58btc: {exc}") from None
        if not raw.startswith(_ED25519_MULTICODEC) or len(raw) != 2 + PEER_ID_BYTES:
            raise BadDidError("did:key does not hold an Ed25519 public key (multicodec 0xed01)")
        return cls(raw[2:])

    @property
    def did(self) -> str:
        """The ``did:key`` form: ``did:key:z6Mk…`` (multicodec 0xed01, base58btc)."""
        return _did(self.key)

    @property
    def fingerprint(self) -> str:
        """Sixteen base32 characters in four groups, for people to compare (80 bits)."""
        return _fingerprint(self.key)

    @property
    def short(self) -> str:
        """A short form for logs: the first two fingerprint groups (``ABCD-EFGH``)."""
        return self.fingerprint[:9]

    def __str__(self) -> str:
        return self.did

    def __repr__(self) -> str:
        return f"PeerId({self.did})"


class SigningIdentity:
    """The private half of a node's identity: an Ed25519 key made from a 32-byte seed."""

    __slots__ = ("_signing_key", "peer_id")

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
            raise UsageError(f"an identity seed is {SEED_BYTES} bytes")
        self._signing_key = nacl.signing.SigningKey(seed)
        self.peer_id = PeerId(bytes(self._signing_key.verify_key))

    @property
    def seed(self) -> bytes:
        """The secret seed, for the node to store (mode 0600). Never log it."""
        return bytes(self._signing_key)

    def sign(self, domain: bytes, message: bytes) -> bytes:
        """Sign ``domain + message``; ``domain`` must end with a NUL byte (spec/identity.md §4)."""
        if not domain.endswith(b"\x00"):
            raise UsageError("signature domains end with a NUL byte")
        return self._signing_key.sign(domain + message).signature

    def sign_jws(self, signing_input: bytes) -> bytes:
        """Sign a JWS signing input (RFC 7515 §5.1: ``BASE64URL(header) '.' BASE64URL(payload)``).

        JWS leaves no room for a domain, but its input always starts with ``eyJ`` (the base64url
        of ``{"``), which no amity domain does (they start ``amity/``): the two cannot collide
        (spec/identity.md §4).
        """
        if not signing_input.startswith(b"eyJ"):
            raise UsageError("a JWS signing input starts with a base64url JSON header")
        return self._signing_key.sign(signing_input).signature

    def __repr__(self) -> str:
        return f"SigningIdentity({self.peer_id.did})"


def verify_signature(
    peer_id: PeerId,
    domain: bytes,
    message: bytes,
    signature: bytes,
    *,
    error: type[AmityError] = BadSignatureError,
    what: str = "signature",
) -> None:
    """Check an Ed25519 signature over ``domain + message``; raises ``error`` if it is not valid."""
    if len(signature) != SIGNATURE_BYTES:
        raise error(f"{what}: a signature is {SIGNATURE_BYTES} bytes, got {len(signature)}")
    try:
        nacl.bindings.crypto_sign_open(signature + domain + message, peer_id.key)
    except nacl.exceptions.BadSignatureError:
        raise error(f"{what} does not verify against {peer_id.short}") from None


@functools.lru_cache(maxsize=1 << 16)
def _did(key: bytes) -> str:
    # A node names the same few thousand peers in every event it publishes; base58 of 34 bytes
    # is a long division in Python, so the (pure) answer is memoised.
    return _DID_PREFIX + base58_encode(_ED25519_MULTICODEC + key)


@functools.lru_cache(maxsize=1 << 12)
def _fingerprint(key: bytes) -> str:
    digest = hashlib.sha256(_FINGERPRINT_DOMAIN + key).digest()[:10]
    text = base64.b32encode(digest).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


@functools.lru_cache(maxsize=1 << 16)
def _is_valid_point(key: bytes) -> bool:
    # The subgroup check costs about as much as a signature check; a node meets the same few
    # thousand keys again and again, so the (pure) answer is memoised.
    return bool(nacl.bindings.crypto_core_ed25519_is_valid_point(key))


def base58_encode(data: bytes) -> str:
    """Bitcoin-alphabet base58 (multibase ``z``), as did:key uses."""
    zeros = len(data) - len(data.lstrip(b"\x00"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rem = divmod(number, 58)
        digits.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(digits))


def base58_decode(text: str) -> bytes:
    """Inverse of :func:`base58_encode`; raises ValueError on a character outside the alphabet."""
    if len(text) > 128:
        raise ValueError("longer than any key amity reads")
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + _B58_INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * zeros + body
