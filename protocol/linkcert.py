"""Link keys: X25519 keys for Diffie-Hellman, certified by the identity key with an expiry.

The Ed25519 identity key never does Diffie-Hellman. A node makes an X25519 *link key*, and its
identity key signs a certificate binding the two for a stated time, so the link key can rotate
without touching the identity. See spec/identity.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import nacl.bindings

from amity.protocol.encoding import Value, expect_bytes, expect_int
from amity.protocol.errors import (
    BadKeyError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateSignatureError,
    UnsupportedVersionError,
    UsageError,
    format_time_ms,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.signed import sign_structure, split_signed

__all__ = ["LINK_KEY_BYTES", "LINKCERT_DOMAIN", "LinkKey", "LinkCert", "MAX_LINKCERT_BYTES"]

LINK_KEY_BYTES: Final = 32
LINKCERT_DOMAIN: Final = b"amity/linkcert/v1\x00"
MAX_LINKCERT_BYTES: Final = 256
_VERSION: Final = 1


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
        """Sign a certificate for ``link_public``; see spec/identity.md §5 for the layout."""
        if len(link_public) != LINK_KEY_BYTES:
            raise UsageError(f"a link key is {LINK_KEY_BYTES} bytes")
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
        parts = split_signed(data, "link certificate", arity=5, max_bytes=MAX_LINKCERT_BYTES)
        version, issuer_key, link_public, not_before, not_after = parts.fields
        if version != _VERSION:
            raise UnsupportedVersionError(
                f"link certificate version {version!r}; this node speaks 1"
            )
        issuer = PeerId(expect_bytes(issuer_key, "link certificate issuer", size=32))
        link = expect_bytes(link_public, "link certificate key", size=LINK_KEY_BYTES)
        if link == bytes(LINK_KEY_BYTES):
            raise BadKeyError("link key is all zeroes")
        not_before_ms = expect_int(not_before, "link certificate not_before_ms")
        not_after_ms = expect_int(not_after, "link certificate not_after_ms")
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
