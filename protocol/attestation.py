"""Attestations and rebuttals: signed, checkable statements about how a peer kept an agreement.

An attestation ``[signed_bytes, sig]`` is signed by its attester under ``amity/attest/v1\\0`` and
carries the whole signed agreement it speaks about, so its proof of relationship (the attester and
the subject are that agreement's two parties) travels with it and anyone can check it from the
bytes alone. A rebuttal is the subject's signed answer, citing the attestation's id. Sans-IO: time
comes in as ``now_ms``. See spec/reputation.md §2 and §3.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.agreement import MAX_AGREEMENT_BYTES, Agreement
from amity.protocol.encoding import (
    Value,
    encode,
    expect_array,
    expect_bytes,
    expect_int,
    expect_str,
    utf8_size,
)
from amity.protocol.errors import (
    AttestationClauseError,
    AttestationExpiredError,
    AttestationSignatureError,
    RebuttalMismatchError,
    SchemaError,
    StrangerError,
    UnsupportedVersionError,
    UsageError,
    format_time_ms,
)
from amity.protocol.identity import PEER_ID_BYTES, PeerId, SigningIdentity
from amity.protocol.signed import SignedParts, sign_structure, split_signed_any_arity
from amity.protocol.termsmessages import MAX_TIME_MS

__all__ = [
    "ATTESTATION_VERSION",
    "ATTESTATION_DOMAIN",
    "ATTESTATION_ID_DOMAIN",
    "REBUTTAL_DOMAIN",
    "ATTESTATION_ID_BYTES",
    "EVIDENCE_HASH_BYTES",
    "MAX_EVIDENCE",
    "MAX_NOTE_BYTES",
    "MAX_REBUTTAL_TEXT_BYTES",
    "MAX_ATTESTATION_BYTES",
    "MAX_REBUTTAL_BYTES",
    "Verdict",
    "Attestation",
    "Rebuttal",
    "attestation_id_of",
]

ATTESTATION_VERSION: Final = 1
ATTESTATION_DOMAIN: Final = b"amity/attest/v1\x00"
ATTESTATION_ID_DOMAIN: Final = b"amity/attestation-id/v1\x00"
REBUTTAL_DOMAIN: Final = b"amity/rebut/v1\x00"
ATTESTATION_ID_BYTES: Final = 32
#: Evidence items are hashes (receipt, audit entry) of 32 bytes; at most this many per attestation.
EVIDENCE_HASH_BYTES: Final = 32
MAX_EVIDENCE: Final = 16
MAX_NOTE_BYTES: Final = 280
MAX_REBUTTAL_TEXT_BYTES: Final = 1000
#: The embedded agreement plus the fixed fields, 16 hashes, a note and a signature, with room.
MAX_ATTESTATION_BYTES: Final = MAX_AGREEMENT_BYTES + 2048
MAX_REBUTTAL_BYTES: Final = MAX_REBUTTAL_TEXT_BYTES + 256
_ARITY: Final = 10
_REBUTTAL_ARITY: Final = 5


class Verdict(enum.Enum):
    """What the attester says of the subject's conduct under one clause. See §2.1."""

    HONOURED = "honoured"
    BREACHED = "breached"
    DISPUTED = "disputed"


def attestation_id_of(signed_bytes: bytes) -> bytes:
    """SHA-256 over ``amity/attestation-id/v1\\0`` and an attestation's signed bytes (§2.3)."""
    return hashlib.sha256(ATTESTATION_ID_DOMAIN + signed_bytes).digest()


def _check_time(ms: int, what: str) -> int:
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_TIME_MS:
        raise UsageError(f"{what} is an int of milliseconds since the epoch")
    return ms


def _check_text(text: str, what: str, max_bytes: int) -> str:
    if not isinstance(text, str):
        raise UsageError(f"{what} is a str")
    size = utf8_size(text, what)
    if size > max_bytes:
        raise UsageError(f"{what} is {size} bytes; the limit is {max_bytes}")
    return text


def _check_current(expires_ms: int, now_ms: int) -> None:
    if now_ms >= expires_ms:
        raise AttestationExpiredError(
            f"attestation expired at {format_time_ms(expires_ms)}; ask the attester for a fresh one"
        )


def _read_version(parts: SignedParts, what: str, arity: int) -> None:
    # Version before arity, so a later version with other fields is refused as such.
    version = parts.fields[0] if parts.fields else None
    if isinstance(version, bool) or version != ATTESTATION_VERSION:
        raise UnsupportedVersionError(
            f"{what} version {version!r:.20}; this node reads {ATTESTATION_VERSION}",
            hint=UnsupportedVersionError.code,
        )
    expect_array(parts.fields, what, arity=arity)


@dataclass(frozen=True, slots=True)
class Attestation:
    """A verified attestation; ``encoded`` holds the exact bytes it was read from. See §2."""

    attester: PeerId
    subject: PeerId
    agreement: Agreement
    clause_id: str
    verdict: Verdict
    evidence: tuple[bytes, ...]
    issued_ms: int
    expires_ms: int
    note: str
    signed_bytes: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    encoded: bytes = field(repr=False)
    #: What a rebuttal cites and what a node deduplicates by (§2.3).
    attestation_id: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attestation_id", attestation_id_of(self.signed_bytes))

    def check_current(self, now_ms: int) -> None:
        """Raise :class:`AttestationExpiredError` if it has expired by ``now_ms`` (§2.2, last)."""
        _check_current(self.expires_ms, now_ms)

    @classmethod
    def issue(
        cls,
        attester: SigningIdentity,
        agreement: Agreement,
        *,
        clause_id: str,
        verdict: Verdict,
        evidence: Iterable[bytes] = (),
        issued_ms: int,
        expires_ms: int,
        note: str = "",
    ) -> Attestation:
        """Sign an attestation about the other party of ``agreement``.

        Every field is checked as :meth:`decode` checks it; the one check left out is the
        signatures, since ``agreement`` is a verified :class:`Agreement` and the attester's own
        signature was made here (Ed25519 signing is deterministic and always verifies).
        """
        if not isinstance(agreement, Agreement):
            raise UsageError("an attestation is about an Agreement")
        me = attester.peer_id
        if me not in (agreement.person, agreement.vendor):
            raise UsageError("only a party to the agreement can attest under it")
        subject = agreement.vendor if me == agreement.person else agreement.person
        if not isinstance(verdict, Verdict):
            raise UsageError("verdict is a Verdict")
        hashes = tuple(evidence)
        if len(hashes) > MAX_EVIDENCE or not all(
            isinstance(h, bytes) and len(h) == EVIDENCE_HASH_BYTES for h in hashes
        ):
            raise UsageError(
                f"evidence is at most {MAX_EVIDENCE} hashes of {EVIDENCE_HASH_BYTES} B"
            )
        if _check_time(issued_ms, "issued_ms") >= _check_time(expires_ms, "expires_ms"):
            raise UsageError("an attestation expires after it is issued")
        if clause_id not in {c.clause_id for c in agreement.terms.clauses}:
            raise UsageError(f"clause {clause_id!r:.80} is not in the agreement's terms")
        fields: list[Value] = [
            ATTESTATION_VERSION,
            me.key,
            subject.key,
            agreement.encoded,
            clause_id,
            verdict.value,
            list(hashes),
            issued_ms,
            expires_ms,
            _check_text(note, "note", MAX_NOTE_BYTES),
        ]
        signed_bytes = encode(fields)
        signature = attester.sign(ATTESTATION_DOMAIN, signed_bytes)
        return cls(
            attester=me,
            subject=subject,
            agreement=agreement,
            clause_id=clause_id,
            verdict=verdict,
            evidence=hashes,
            issued_ms=issued_ms,
            expires_ms=expires_ms,
            note=note,
            signed_bytes=signed_bytes,
            signature=signature,
            encoded=encode([signed_bytes, signature]),
        )

    @classmethod
    def decode(cls, data: bytes, now_ms: int | None = None) -> Attestation:
        """Read and verify an attestation in the order of §2.2; AmityError on any defect."""
        what = "attestation"
        parts = split_signed_any_arity(data, what, max_bytes=MAX_ATTESTATION_BYTES)
        _read_version(parts, what, _ARITY)
        f = parts.fields
        attester = PeerId(expect_bytes(f[1], "attestation attester", size=PEER_ID_BYTES))
        subject = PeerId(expect_bytes(f[2], "attestation subject", size=PEER_ID_BYTES))
        agreement_bytes = expect_bytes(f[3], "attestation agreement", max_size=MAX_AGREEMENT_BYTES)
        clause_id = expect_str(f[4], "attestation clause", max_bytes=64)
        verdict_text = expect_str(f[5], "attestation verdict", max_bytes=16)
        try:
            verdict = Verdict(verdict_text)
        except ValueError:
            raise SchemaError(
                f"attestation verdict {verdict_text!r}; expected honoured, breached or disputed"
            ) from None
        evidence = tuple(
            expect_bytes(item, "attestation evidence hash", size=EVIDENCE_HASH_BYTES)
            for item in expect_array(f[6], "attestation evidence", max_len=MAX_EVIDENCE)
        )
        issued_ms = expect_int(f[7], "attestation issued_ms", hi=MAX_TIME_MS)
        expires_ms = expect_int(f[8], "attestation expires_ms", hi=MAX_TIME_MS)
        if expires_ms <= issued_ms:
            raise SchemaError("attestation: expires_ms is not after issued_ms")
        note = expect_str(f[9], "attestation note", max_bytes=MAX_NOTE_BYTES)
        parts.verify(
            attester, ATTESTATION_DOMAIN, error=AttestationSignatureError, what="attester signature"
        )
        agreement = Agreement.decode(agreement_bytes)
        parties = {agreement.person, agreement.vendor}
        if attester == subject or attester not in parties or subject not in parties:
            raise StrangerError(
                f"attester {attester.key.hex()[:16]}… and subject {subject.key.hex()[:16]}… are "
                "not the two parties of the agreement it carries; it proves no relationship, "
                "ignore it"
            )
        if clause_id not in {c.clause_id for c in agreement.terms.clauses}:
            raise AttestationClauseError(
                f"clause {clause_id!r:.80} is not in the terms of agreement "
                f"{agreement.agreement_id.hex()[:16]}…; the attestation speaks of nothing agreed"
            )
        if now_ms is not None:
            _check_current(expires_ms, now_ms)
        return cls(
            attester=attester,
            subject=subject,
            agreement=agreement,
            clause_id=clause_id,
            verdict=verdict,
            evidence=evidence,
            issued_ms=issued_ms,
            expires_ms=expires_ms,
            note=note,
            signed_bytes=parts.signed_bytes,
            signature=parts.signature,
            encoded=bytes(data),
        )


@dataclass(frozen=True, slots=True)
class Rebuttal:
    """The subject's signed answer to one attestation; travels with it. See §3."""

    rebutter: PeerId
    attestation_id: bytes
    issued_ms: int
    text: str
    encoded: bytes = field(repr=False)

    @classmethod
    def issue(
        cls, subject: SigningIdentity, attestation: Attestation, *, text: str, issued_ms: int
    ) -> Rebuttal:
        """Sign a rebuttal of ``attestation``; only its subject may."""
        if not isinstance(attestation, Attestation):
            raise UsageError("a rebuttal answers an Attestation")
        if subject.peer_id != attestation.subject:
            raise UsageError("only the attestation's subject can rebut it")
        fields: list[Value] = [
            ATTESTATION_VERSION,
            subject.peer_id.key,
            attestation.attestation_id,
            _check_time(issued_ms, "issued_ms"),
            _check_text(text, "rebuttal text", MAX_REBUTTAL_TEXT_BYTES),
        ]
        return cls.decode(sign_structure(fields, REBUTTAL_DOMAIN, subject), attestation)

    @classmethod
    def decode(cls, data: bytes, attestation: Attestation | None = None) -> Rebuttal:
        """Read and verify a rebuttal; with ``attestation``, check that it answers that one."""
        what = "rebuttal"
        parts = split_signed_any_arity(data, what, max_bytes=MAX_REBUTTAL_BYTES)
        _read_version(parts, what, _REBUTTAL_ARITY)
        f = parts.fields
        rebutter = PeerId(expect_bytes(f[1], "rebuttal subject", size=PEER_ID_BYTES))
        cited = expect_bytes(f[2], "rebuttal attestation id", size=ATTESTATION_ID_BYTES)
        issued_ms = expect_int(f[3], "rebuttal issued_ms", hi=MAX_TIME_MS)
        text = expect_str(f[4], "rebuttal text", max_bytes=MAX_REBUTTAL_TEXT_BYTES)
        parts.verify(
            rebutter, REBUTTAL_DOMAIN, error=AttestationSignatureError, what="rebuttal signature"
        )
        if attestation is not None and (
            cited != attestation.attestation_id or rebutter != attestation.subject
        ):
            raise RebuttalMismatchError(
                f"the rebuttal answers attestation {cited.hex()[:16]}… by "
                f"{rebutter.key.hex()[:16]}…, not attestation "
                f"{attestation.attestation_id.hex()[:16]}… about its subject; keep them apart"
            )
        return cls(rebutter, cited, issued_ms, text, bytes(data))
