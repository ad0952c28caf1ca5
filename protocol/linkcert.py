"""Link keys: X25519 keys for Diffie-Hellman, certified by the identity key with an expiry.

The Ed25519 identity key never does Diffie-Hellman. A node makes an X25519 *link key*, and its
identity key signs a certificate binding the two for a stated time, so the link key can rotate
without touching the identity. See spec/identity.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import nacl.bindings

from amity.protocol.encoding import Value, expect_array, expect_bytes, expect_int
from amity.protocol.errors import (
    BadKeyError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateSignatureError,
    SchemaError,
    UnsupportedVersionError,
    UsageError,
    format_time_ms,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.signed import sign_structure, split_signed_any_arity

__all__ = [
    "LINK_KEY_BYTES",
    "LINKCERT_DOMAIN",
    "LinkKey",
    "LinkCert",
    "MAX_LINKCERT_BYTES",
    "is_usable_link_key",
]

LINK_KEY_BYTES: Final = 32
LINKCERT_DOMAIN: Final = b"amity/linkcert/v1\x00"
MAX_LINKCERT_BYTES: Final = 256
_VERSION: Final = 1
_ARITY: Final = 5
_CURVE25519_P: Final = (1 << 255) - 19
#: u-coordinates of the small-order points of Curve25519 (libsodium's list, canonical forms):
#: Diffie-Hellman with any of them gives a result every eavesdropper knows.
_SMALL_ORDER_U: Final = frozenset(
    {
        0,
        1,
        325606250916557431795983626356110631294008115727848805560023387167927233504,
        39382357235489614581723060781553021112529911719440698176882885853963445705823,
        _CURVE25519_P - 1,
    }
)


def is_usable_link_key(public: bytes) -> bool:
    """True if ``public`` is a canonical X25519 u-coordinate (< p) of a point not of small order."""
    u = int.from_bytes(public, "little")
    return len(public) == LINK_KEY_BYTES and u < _CURVE25519_P and u not in _SMALL_ORDER_U


class LinkKey:
    """An X25519 key pair made from 32 secret bytes (the caller supplies the randomness)."""

    __slots__ = ("private", "public")

    def __init__(self, private: bytes) -> None:
        if not isinstance(private, bytes) or len(private) != LINK_KEY_BYTES:
            raise UsageError(f"an X25519 private key is {LINK_KEY_BYTES} bytes")
        self.private = private
        self.public: bytes = nacl.bindings.crypto_scalarmult_base(private)

    def __repr__(self) -> str:
        return f"LinkKey(public={self.public.hex()[:16]}…)"


@dataclass(frozen=True, slots=True)
class LinkCert:
    """Identity ``issuer`` vouches for X25519 key ``link_public`` from not_before to not_after."""

    issuer: PeerId
    link_public: bytes
    not_before_ms: int
    not_after_ms: int
    encoded: bytes

    @classmethod
    def issue(
        cls, identity: SigningIdentity, link_public: bytes, not_before_ms: int, not_after_ms: int
    ) -> LinkCert:
        """Sign a certificate for ``link_public``; see spec/identity.md §5.2 for the layout."""
        if not isinstance(link_public, bytes) or not is_usable_link_key(link_public):
            raise UsageError(
                f"a link key is {LINK_KEY_BYTES} bytes of canonical X25519 key, not of small order"
            )
        if not 0 <= not_before_ms < not_after_ms:
            raise UsageError("a link certificate needs 0 <= not_before_ms < not_after_ms")
        fields: list[Value] = [
            _VERSION,
            identity.peer_id.key,
            link_public,
            not_before_ms,
            not_after_ms,
        ]
        data = sign_structure(fields, LINKCERT_DOMAIN, identity)
        return cls(identity.peer_id, link_public, not_before_ms, not_after_ms, data)

    @classmethod
    def decode(cls, data: bytes) -> LinkCert:
        """Parse and verify the signature (not the validity period: see :meth:`check_valid`)."""
        # The version is read before the arity, so that a later version with other fields is
        # refused as version.unsupported; ``true == 1`` in Python, so bool is refused by type.
        parts = split_signed_any_arity(data, "link certificate", max_bytes=MAX_LINKCERT_BYTES)
        version = parts.fields[0] if parts.fields else None
        if isinstance(version, bool) or version != _VERSION:
            raise UnsupportedVersionError(
                f"link certificate version {version!r}; this node speaks {_VERSION}",
                hint="version.unsupported",
            )
        expect_array(parts.fields, "link certificate", arity=_ARITY)
        _, issuer_key, link_public, not_before, not_after = parts.fields
        issuer = PeerId(expect_bytes(issuer_key, "link certificate issuer", size=32))
        link = expect_bytes(link_public, "link certificate key", size=LINK_KEY_BYTES)
        if not is_usable_link_key(link):
            raise BadKeyError(
                "link certificate key is not a usable X25519 key (small order or not canonical)"
            )
        not_before_ms = expect_int(not_before, "link certificate not_before_ms")
        not_after_ms = expect_int(not_after, "link certificate not_after_ms")
        if not_before_ms >= not_after_ms:
            raise SchemaError(
                f"link certificate is never valid: not_before_ms {not_before_ms} is not "
                f"before not_after_ms {not_after_ms}"
            )
        parts.verify(
            issuer, LINKCERT_DOMAIN, error=CertificateSignatureError, what="link certificate"
        )
        return cls(issuer, link, not_before_ms, not_after_ms, bytes(data))

    def check_valid(self, now_ms: int) -> None:
        """Raise unless ``now_ms`` falls inside the certificate's validity period."""
        if now_ms < self.not_before_ms:
            raise CertificateNotYetValidError(
                f"link certificate of {self.issuer.short} is valid only from "
                f"{format_time_ms(self.not_before_ms)}"
            )
        if now_ms >= self.not_after_ms:
            raise CertificateExpiredError(
                f"link certificate of {self.issuer.short} expired at "
                f"{format_time_ms(self.not_after_ms)}; "
                "the peer must present a fresh one (a new card or handshake)"
            )
