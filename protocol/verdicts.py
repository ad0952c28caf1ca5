"""Automatic verdicts: what a grantor's own records say about how a grantee kept a grant.

A grant that ended (expired, or revoked) must be answered by a deletion receipt within a grace
period. If it was (the receipt arrived by the deadline), the grantee honoured the agreement; if
the grantee confirmed delivery but no deletion receipt came by the deadline, it breached it. A
grant never confirmed delivered gives no verdict (the data may never have arrived). Sans-IO: the
caller passes the grant's records and ``now_ms``. See spec/reputation.md §6.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import MAX_NOTE_BYTES, Attestation, Verdict
from amity.protocol.errors import UsageError, format_time_ms
from amity.protocol.identity import SigningIdentity

__all__ = [
    "ReceiptRecord",
    "Finding",
    "grant_verdict",
    "verdict_deadline_ms",
    "clause_for",
    "automatic_attestation",
    "CLAUSE_PREFERENCE",
]

#: The clause an automatic verdict speaks of: the first of these the agreement has, else its
#: first clause. Keeping data past a grant's end breaks the deletion and retention promises first.
CLAUSE_PREFERENCE: Final = (
    "amity.delete-on-end",
    "amity.max-retention",
    "amity.purpose-limitation",
)


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    """A receipt the grantor holds about the grant: ``delivery`` or ``deletion``, when, its bytes."""

    kind: str
    received_ms: int
    encoded: bytes


@dataclass(frozen=True, slots=True)
class Finding:
    """An automatic verdict, the evidence hashes it rests on and a note that says why."""

    verdict: Verdict
    evidence: tuple[bytes, ...]
    note: str


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def verdict_deadline_ms(not_after_ms: int, revoked_ms: int | None, grace_ms: int) -> int:
    """The last millisecond a deletion receipt is in time: the grant's end plus ``grace_ms``.

    A grant ends at ``not_after_ms``, or when it was revoked if that was earlier. A delivered
    grant without a deletion receipt is breached once this has passed (§6.2).
    """
    ended_ms = not_after_ms if revoked_ms is None else min(revoked_ms, not_after_ms)
    return ended_ms + grace_ms


def grant_verdict(
    *,
    grant_encoded: bytes,
    not_after_ms: int,
    revoked_ms: int | None,
    receipts: Sequence[ReceiptRecord],
    grace_ms: int,
    now_ms: int,
) -> Finding | None:
    """The verdict on one grant now, or None while it is open or gives no verdict."""
    if isinstance(grace_ms, bool) or not isinstance(grace_ms, int) or grace_ms < 0:
        raise UsageError("grace_ms is an int >= 0")
    deadline_ms = verdict_deadline_ms(not_after_ms, revoked_ms, grace_ms)
    ended_ms = deadline_ms - grace_ms
    deletions = [r for r in receipts if r.kind == "deletion"]
    deliveries = [r for r in receipts if r.kind == "delivery"]
    grant_hash = _sha256(grant_encoded)
    if deletions:
        first = min(deletions, key=lambda r: r.received_ms)
        if first.received_ms <= deadline_ms:
            return Finding(
                Verdict.HONOURED,
                (grant_hash, _sha256(first.encoded)),
                f"deletion receipt {format_time_ms(first.received_ms)}, in time for the grant "
                f"that ended {format_time_ms(ended_ms)}",
            )
        return Finding(
            Verdict.BREACHED,
            (grant_hash, _sha256(first.encoded)),
            f"deletion receipt only {format_time_ms(first.received_ms)}, after the deadline "
            f"{format_time_ms(deadline_ms)}",
        )
    # A receipt received at the deadline is in time, so the grantee is late only after it.
    if now_ms <= deadline_ms or not deliveries:
        return None
    delivered = min(deliveries, key=lambda r: r.received_ms)
    return Finding(
        Verdict.BREACHED,
        (grant_hash, _sha256(delivered.encoded)),
        f"delivered, but no deletion receipt by {format_time_ms(deadline_ms)} for the grant "
        f"that ended {format_time_ms(ended_ms)}",
    )


def clause_for(agreement: Agreement) -> str:
    """The clause an automatic verdict about ``agreement`` names (see CLAUSE_PREFERENCE)."""
    present = [c.clause_id for c in agreement.terms.clauses]
    for clause_id in CLAUSE_PREFERENCE:
        if clause_id in present:
            return clause_id
    return present[0]


def automatic_attestation(
    attester: SigningIdentity,
    agreement: Agreement,
    grant_id: bytes,
    finding: Finding,
    *,
    now_ms: int,
    ttl_ms: int,
) -> Attestation:
    """The attestation a grantor's node signs for ``finding`` on one grant (§6.2).

    It names :func:`clause_for` the agreement, carries the finding's evidence, and its note says
    which grant (the first 16 hex digits of its id) and why, cut to the note's limit.
    """
    note = f"grant {grant_id.hex()[:16]}: {finding.note}"
    return Attestation.issue(
        attester,
        agreement,
        clause_id=clause_for(agreement),
        verdict=finding.verdict,
        evidence=finding.evidence,
        issued_ms=now_ms,
        expires_ms=now_ms + ttl_ms,
        note=note.encode()[:MAX_NOTE_BYTES].decode(errors="ignore"),
    )
