"""Agreements: one terms document signed by both parties, provable to anyone. See spec/terms.md §9.

Both parties sign the same canonical ``signed_bytes`` (``[1, terms_id, terms, person, vendor,
negotiation_id, agreed_ms]``) under ``amity/agreement/v1\\0``; an agreement is ``[signed_bytes,
person_sig, vendor_sig]``. Ed25519 signatures are deterministic, so both sides hold byte-identical
agreements. :meth:`Agreement.decode` checks everything a third party needs, from the bytes alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_bytes,
    expect_int,
    expect_version,
)
from amity.protocol.errors import (
    AgreementHashError,
    AgreementSignatureError,
    SchemaError,
    UsageError,
)
from amity.protocol.identity import (
    PEER_ID_BYTES,
    SIGNATURE_BYTES,
    PeerId,
    SigningIdentity,
    verify_signature,
)
from amity.protocol.terms import MAX_TERMS_BYTES, TERMS_ID_BYTES, TermsDocument
from amity.protocol.termsmessages import AGREEMENT_ID_BYTES, MAX_TIME_MS, NEGOTIATION_ID_BYTES

__all__ = [
    "AGREEMENT_VERSION",
    "AGREEMENT_DOMAIN",
    "AGREEMENT_ID_DOMAIN",
    "AGREEMENT_ID_BYTES",
    "MAX_AGREEMENT_BYTES",
    "Agreement",
    "agreement_signed_bytes",
    "sign_agreement",
    "verify_agreement_signature",
]

AGREEMENT_VERSION: Final = 1
AGREEMENT_DOMAIN: Final = b"amity/agreement/v1\x00"
AGREEMENT_ID_DOMAIN: Final = b"amity/agreement-id/v1\x00"
#: The terms document, two peer ids, two signatures and the fixed fields around them.
MAX_AGREEMENT_BYTES: Final = MAX_TERMS_BYTES + 320
_ARITY: Final = 7


def agreement_signed_bytes(
    terms: TermsDocument,
    person: PeerId,
    vendor: PeerId,
    negotiation_id: bytes,
    agreed_ms: int,
) -> bytes:
    """The canonical bytes both parties sign: ``enc([1, terms_id, terms, person, vendor, …])``."""
    if person == vendor:
        raise UsageError("an agreement is between two different parties")
    if not isinstance(negotiation_id, bytes) or len(negotiation_id) != NEGOTIATION_ID_BYTES:
        raise UsageError(f"a negotiation id is {NEGOTIATION_ID_BYTES} bytes")
    if (
        isinstance(agreed_ms, bool)
        or not isinstance(agreed_ms, int)
        or not 0 <= agreed_ms <= MAX_TIME_MS
    ):
        raise UsageError("agreed_ms is an int of milliseconds since the epoch")
    fields: list[Value] = [
        AGREEMENT_VERSION,
        terms.terms_id,
        terms.encoded,
        person.key,
        vendor.key,
        negotiation_id,
        agreed_ms,
    ]
    return encode(fields)


def sign_agreement(signer: SigningIdentity, signed_bytes: bytes) -> bytes:
    """One party's signature over an agreement's signed bytes."""
    return signer.sign(AGREEMENT_DOMAIN, signed_bytes)


def verify_agreement_signature(
    party: PeerId, signed_bytes: bytes, signature: bytes, *, what: str = "agreement signature"
) -> None:
    """Check ``party``'s signature over ``signed_bytes``; AgreementSignatureError if it fails."""
    verify_signature(
        party, AGREEMENT_DOMAIN, signed_bytes, signature, error=AgreementSignatureError, what=what
    )


@dataclass(frozen=True, slots=True)
class Agreement:
    """A verified agreement; ``encoded`` holds the exact bytes it was read from. See §9."""

    terms: TermsDocument
    person: PeerId
    vendor: PeerId
    negotiation_id: bytes
    agreed_ms: int
    signed_bytes: bytes
    person_sig: bytes
    vendor_sig: bytes
    encoded: bytes

    @property
    def terms_id(self) -> bytes:
        return self.terms.terms_id

    @property
    def agreement_id(self) -> bytes:
        """SHA-256 over ``amity/agreement-id/v1\\0`` and the signed bytes: what grants cite."""
        return hashlib.sha256(AGREEMENT_ID_DOMAIN + self.signed_bytes).digest()

    @classmethod
    def assemble(cls, signed_bytes: bytes, person_sig: bytes, vendor_sig: bytes) -> Agreement:
        """Put the two signatures together and verify the result as a third party would."""
        return cls.decode(encode([signed_bytes, person_sig, vendor_sig]))

    @classmethod
    def create(
        cls,
        terms: TermsDocument,
        person: SigningIdentity,
        vendor: SigningIdentity,
        negotiation_id: bytes,
        agreed_ms: int,
    ) -> Agreement:
        """Both signatures at once (tests, vectors, a demo, a simulator holding both keys).

        Nothing here needs verifying: both signatures are made here, over bytes that
        :func:`agreement_signed_bytes` built from checked fields.
        """
        signed = agreement_signed_bytes(
            terms, person.peer_id, vendor.peer_id, negotiation_id, agreed_ms
        )
        person_sig, vendor_sig = sign_agreement(person, signed), sign_agreement(vendor, signed)
        return cls(
            terms=terms,
            person=person.peer_id,
            vendor=vendor.peer_id,
            negotiation_id=negotiation_id,
            agreed_ms=agreed_ms,
            signed_bytes=signed,
            person_sig=person_sig,
            vendor_sig=vendor_sig,
            encoded=encode([signed, person_sig, vendor_sig]),
        )

    @classmethod
    def decode(cls, data: bytes) -> Agreement:
        """Read and verify an agreement from its bytes alone; AmityError on any defect."""
        outer = expect_array(decode(data, max_bytes=MAX_AGREEMENT_BYTES), "agreement", arity=3)
        signed_bytes = expect_bytes(outer[0], "agreement signed part", max_size=MAX_AGREEMENT_BYTES)
        person_sig = expect_bytes(outer[1], "agreement person signature", size=SIGNATURE_BYTES)
        vendor_sig = expect_bytes(outer[2], "agreement vendor signature", size=SIGNATURE_BYTES)
        fields = expect_array(decode(signed_bytes, max_bytes=MAX_AGREEMENT_BYTES), "agreement")
        expect_version(fields, AGREEMENT_VERSION, "agreement")
        expect_array(fields, "agreement", arity=_ARITY)
        terms_id = expect_bytes(fields[1], "agreement terms id", size=TERMS_ID_BYTES)
        terms = TermsDocument.decode(
            expect_bytes(fields[2], "agreement terms", max_size=MAX_TERMS_BYTES)
        )
        person = PeerId(expect_bytes(fields[3], "agreement person", size=PEER_ID_BYTES))
        vendor = PeerId(expect_bytes(fields[4], "agreement vendor", size=PEER_ID_BYTES))
        if person == vendor:
            raise SchemaError("agreement: the person and the vendor are the same key")
        negotiation_id = expect_bytes(
            fields[5], "agreement negotiation id", size=NEGOTIATION_ID_BYTES
        )
        agreed_ms = expect_int(fields[6], "agreement agreed_ms", hi=MAX_TIME_MS)
        if terms.terms_id != terms_id:
            raise AgreementHashError(
                f"the agreement names terms {terms_id.hex()[:16]}… but embeds terms "
                f"{terms.terms_id.hex()[:16]}…; it was altered, do not rely on it"
            )
        verify_agreement_signature(person, signed_bytes, person_sig, what="the person's signature")
        verify_agreement_signature(vendor, signed_bytes, vendor_sig, what="the vendor's signature")
        return cls(
            terms=terms,
            person=person,
            vendor=vendor,
            negotiation_id=negotiation_id,
            agreed_ms=agreed_ms,
            signed_bytes=signed_bytes,
            person_sig=person_sig,
            vendor_sig=vendor_sig,
            encoded=bytes(data),
        )
