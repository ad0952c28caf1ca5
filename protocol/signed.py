"""Signed structures: ``[signed_bytes, signature]``, the one shape every signed thing takes.

``signed_bytes`` is the canonical encoding of a fixed-position array whose first field is the
structure's version; the signature covers ``domain + signed_bytes`` exactly as received. Keeping
the signed bytes as an opaque bin (not a nested array) means a verifier never re-encodes anything.
See spec/encoding.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass

from amity.protocol.encoding import (
    MAX_MESSAGE_BYTES,
    Value,
    decode,
    encode,
    expect_array,
    expect_bytes,
)
from amity.protocol.errors import AmityError, BadSignatureError
from amity.protocol.identity import SIGNATURE_BYTES, PeerId, SigningIdentity, verify_signature

__all__ = ["SignedParts", "sign_structure", "split_signed", "split_signed_any_arity"]


@dataclass(frozen=True, slots=True)
class SignedParts:
    """A signed structure taken apart: the exact signed bytes, their signature, and the fields."""

    signed_bytes: bytes
    signature: bytes
    fields: list[Value]

    def verify(
        self,
        signer: PeerId,
        domain: bytes,
        *,
        error: type[AmityError] = BadSignatureError,
        what: str = "signature",
    ) -> None:
        """Check that ``signer`` signed ``domain + signed_bytes``."""
        verify_signature(signer, domain, self.signed_bytes, self.signature, error=error, what=what)


def sign_structure(fields: list[Value], domain: bytes, signer: SigningIdentity) -> bytes:
    """Encode ``fields`` canonically, sign them under ``domain`` and wrap both."""
    signed_bytes = encode(fields)
    return encode([signed_bytes, signer.sign(domain, signed_bytes)])


def split_signed(
    data: bytes, what: str, *, arity: int, max_bytes: int = MAX_MESSAGE_BYTES
) -> SignedParts:
    """Decode ``[signed_bytes, sig]`` and the ``arity`` fields inside; does NOT verify."""
    parts = split_signed_any_arity(data, what, max_bytes=max_bytes)
    expect_array(parts.fields, what, arity=arity)
    return parts


def split_signed_any_arity(
    data: bytes, what: str, *, max_bytes: int = MAX_MESSAGE_BYTES
) -> SignedParts:
    """Decode ``[signed_bytes, sig]`` and the array inside, whatever its length; does NOT verify.

    For readers that check the version (field 0) before the arity, so that a later version with
    other fields is refused as ``version.unsupported`` rather than as a schema error.
    """
    outer = expect_array(decode(data, max_bytes=max_bytes), what, arity=2)
    signed_bytes = expect_bytes(outer[0], f"{what} signed part", max_size=max_bytes)
    signature = expect_bytes(outer[1], f"{what} signature", size=SIGNATURE_BYTES)
    fields = expect_array(decode(signed_bytes, max_bytes=max_bytes), what)
    return SignedParts(signed_bytes, signature, fields)
