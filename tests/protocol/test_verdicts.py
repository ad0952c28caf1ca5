"""Automatic verdicts on grants (spec/reputation.md §6.2): every rule, the vectors, the clause."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Verdict
from amity.protocol.errors import UsageError
from amity.protocol.grants import Grant, Onward
from amity.protocol.identity import SigningIdentity
from amity.protocol.receipts import DeletionReason, DeletionReceipt, DeliveryReceipt
from amity.protocol.terms import Clause, TermsDocument
from amity.protocol.verdicts import (
    Finding,
    ReceiptRecord,
    clause_for,
    grant_verdict,
)
from tests.vectors import unhex, vector_cases

T0 = 1_767_225_600_000
HOUR = 3_600_000
NOT_AFTER = T0 + 30 * 24 * HOUR
GRACE = HOUR
DEADLINE = NOT_AFTER + GRACE
GRANT = b"the grant's bytes"
DELIVERY = b"a delivery receipt's bytes"
DELETION = b"a deletion receipt's bytes"


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _verdict(
    receipts: list[ReceiptRecord],
    now_ms: int,
    *,
    revoked_ms: int | None = None,
    grace_ms: int = GRACE,
) -> Finding | None:
    return grant_verdict(
        grant_encoded=GRANT,
        not_after_ms=NOT_AFTER,
        revoked_ms=revoked_ms,
        receipts=receipts,
        grace_ms=grace_ms,
        now_ms=now_ms,
    )


def _delivered(at_ms: int = T0 + 5, data: bytes = DELIVERY) -> ReceiptRecord:
    return ReceiptRecord("delivery", at_ms, data)


def _deleted(at_ms: int, data: bytes = DELETION) -> ReceiptRecord:
    return ReceiptRecord("deletion", at_ms, data)


# -- the vectors -----------------------------------------------------------------------------------

_CASES = vector_cases("reputation_messages")
_VERDICTS = [v for v in _CASES["argvalues"] if v["operation"] == "verdict"]


@pytest.mark.parametrize("vector", _VERDICTS, ids=[v["name"] for v in _VERDICTS])
def test_verdict_vector(vector: dict[str, Any]) -> None:
    grant = unhex(vector, "grant_hex")
    finding = grant_verdict(
        grant_encoded=grant,
        not_after_ms=vector["not_after_ms"],
        revoked_ms=vector["revoked_ms"],
        receipts=[
            ReceiptRecord(r["kind"], r["received_ms"], unhex(r, "receipt_hex"))
            for r in vector["receipts"]
        ],
        grace_ms=vector["grace_ms"],
        now_ms=vector["now_ms"],
    )
    if vector["verdict"] is None:
        assert finding is None
        assert vector["evidence_hex"] == []
        return
    assert finding is not None
    assert finding.verdict == Verdict(vector["verdict"])
    assert [h.hex() for h in finding.evidence] == vector["evidence_hex"]
    assert finding.evidence[0] == _sha(grant)
    assert finding.note


# -- every rule ------------------------------------------------------------------------------------


def test_a_deletion_receipt_in_time_is_honoured() -> None:
    finding = _verdict([_delivered(), _deleted(NOT_AFTER + 1)], NOT_AFTER + 1)
    assert finding == Finding(Verdict.HONOURED, (_sha(GRANT), _sha(DELETION)), finding.note)
    assert finding.note


def test_a_deletion_receipt_exactly_at_the_deadline_is_in_time() -> None:
    finding = _verdict([_delivered(), _deleted(DEADLINE)], DEADLINE + HOUR)
    assert finding is not None and finding.verdict is Verdict.HONOURED


def test_a_deletion_receipt_before_the_grant_ended_is_honoured_at_once() -> None:
    # The grantee deleted early; nothing needs to wait for the deadline.
    finding = _verdict([_delivered(), _deleted(T0 + HOUR)], T0 + HOUR)
    assert finding is not None and finding.verdict is Verdict.HONOURED


def test_a_late_deletion_receipt_is_a_breach_and_the_evidence() -> None:
    finding = _verdict([_delivered(), _deleted(DEADLINE + 1)], DEADLINE + 1)
    assert finding is not None
    assert finding.verdict is Verdict.BREACHED
    assert finding.evidence == (_sha(GRANT), _sha(DELETION))


def test_a_late_deletion_receipt_is_a_breach_even_without_a_delivery_receipt() -> None:
    finding = _verdict([_deleted(DEADLINE + HOUR)], DEADLINE + HOUR)
    assert finding is not None and finding.verdict is Verdict.BREACHED


def test_the_first_deletion_receipt_decides() -> None:
    early, late = b"deleted in time", b"deleted again, late"
    finding = _verdict(
        [_deleted(DEADLINE + HOUR, late), _delivered(), _deleted(NOT_AFTER, early)],
        DEADLINE + HOUR,
    )
    assert finding is not None
    assert finding.verdict is Verdict.HONOURED
    assert finding.evidence == (_sha(GRANT), _sha(early))


@pytest.mark.parametrize("now_ms", [T0, NOT_AFTER - 1, NOT_AFTER, DEADLINE - 1, DEADLINE])
def test_no_verdict_until_the_deadline_has_passed(now_ms: int) -> None:
    # A receipt received at the deadline is still in time, so at the deadline nothing is late.
    assert _verdict([_delivered()], now_ms) is None


def test_delivered_but_no_deletion_receipt_after_the_deadline_is_a_breach() -> None:
    finding = _verdict([_delivered()], DEADLINE + 1)
    assert finding is not None
    assert finding.verdict is Verdict.BREACHED
    assert finding.evidence == (_sha(GRANT), _sha(DELIVERY))


def test_the_first_delivery_receipt_is_the_evidence() -> None:
    first, again = b"first delivery", b"re-delivery"
    finding = _verdict([_delivered(T0 + 9, again), _delivered(T0 + 1, first)], DEADLINE + 1)
    assert finding is not None
    assert finding.evidence == (_sha(GRANT), _sha(first))


@pytest.mark.parametrize("now_ms", [DEADLINE + 1, DEADLINE + 365 * 24 * HOUR])
def test_never_delivered_gives_no_verdict(now_ms: int) -> None:
    assert _verdict([], now_ms) is None
    assert _verdict([ReceiptRecord("holdings", T0, b"holdings")], now_ms) is None


def test_a_revocation_before_not_after_moves_the_deadline() -> None:
    revoked = T0 + 24 * HOUR
    assert _verdict([_delivered()], revoked + GRACE, revoked_ms=revoked) is None
    breach = _verdict([_delivered()], revoked + GRACE + 1, revoked_ms=revoked)
    assert breach is not None and breach.verdict is Verdict.BREACHED
    # Without the revocation the same moment is weeks before the deadline.
    assert _verdict([_delivered()], revoked + GRACE + 1) is None
    late = _verdict([_delivered(), _deleted(revoked + GRACE + 1)], NOT_AFTER, revoked_ms=revoked)
    assert late is not None and late.verdict is Verdict.BREACHED
    in_time = _verdict([_delivered(), _deleted(revoked + GRACE)], NOT_AFTER, revoked_ms=revoked)
    assert in_time is not None and in_time.verdict is Verdict.HONOURED


def test_a_revocation_after_not_after_changes_nothing() -> None:
    # The grant had ended already: the deadline stays not_after + grace.
    assert _verdict([_delivered()], DEADLINE, revoked_ms=NOT_AFTER + 5 * HOUR) is None
    finding = _verdict([_delivered()], DEADLINE + 1, revoked_ms=NOT_AFTER + 5 * HOUR)
    assert finding is not None and finding.verdict is Verdict.BREACHED
    late = _verdict([_deleted(DEADLINE + 1)], DEADLINE + 1, revoked_ms=NOT_AFTER + 5 * HOUR)
    assert late is not None and late.verdict is Verdict.BREACHED


def test_grace_zero_makes_the_end_itself_the_deadline() -> None:
    assert _verdict([_delivered()], NOT_AFTER, grace_ms=0) is None
    finding = _verdict([_delivered()], NOT_AFTER + 1, grace_ms=0)
    assert finding is not None and finding.verdict is Verdict.BREACHED
    honoured = _verdict([_deleted(NOT_AFTER)], NOT_AFTER, grace_ms=0)
    assert honoured is not None and honoured.verdict is Verdict.HONOURED


@pytest.mark.parametrize("grace_ms", [-1, True, 1.5, "3600000", None])
def test_grace_must_be_a_non_negative_int(grace_ms: Any) -> None:
    with pytest.raises(UsageError):
        _verdict([_delivered()], DEADLINE + 1, grace_ms=grace_ms)


_receipts = st.lists(
    st.builds(
        ReceiptRecord,
        st.sampled_from(["delivery", "deletion"]),
        st.integers(T0, DEADLINE + 3 * HOUR),
        st.binary(min_size=1, max_size=8),
    ),
    max_size=4,
)


@given(_receipts, st.integers(T0, DEADLINE + 3 * HOUR), st.none() | st.integers(T0, NOT_AFTER))
def test_a_verdict_once_given_never_changes(
    receipts: list[ReceiptRecord], now_ms: int, revoked_ms: int | None
) -> None:
    # The node attests once per grant, so what it says must still hold whatever arrives later.
    # A receipt stamped with the very millisecond of the evaluation may arrive after it.
    known = [r for r in receipts if r.received_ms < now_ms]
    first = _verdict(known, now_ms, revoked_ms=revoked_ms)
    if first is None:
        return
    assert first.evidence[0] == _sha(GRANT)
    assert first.evidence[1] in {_sha(r.encoded) for r in known}
    later = _verdict(receipts, DEADLINE + 3 * HOUR, revoked_ms=revoked_ms)
    assert later is not None
    assert later.verdict == first.verdict
    if first.evidence[1] not in {_sha(r.encoded) for r in known if r.kind == "delivery"}:
        # Only a breach on a delivery receipt may later cite the late deletion receipt instead.
        assert later.evidence == first.evidence


# -- with real grants and receipts -----------------------------------------------------------------

PERSON = SigningIdentity(bytes([0xA1]) * 32)
VENDOR = SigningIdentity(bytes([0xB2]) * 32)


def test_evidence_hashes_the_signed_grant_and_receipts() -> None:
    grant = Grant.issue(
        PERSON,
        grantee=VENDOR.peer_id,
        grant_id=bytes(range(16)),
        agreement_id=bytes(32),
        fields=["email"],
        purpose="order-fulfilment",
        context="",
        onward=Onward.NONE,
        issued_ms=T0,
        not_after_ms=NOT_AFTER,
    )
    delivery = DeliveryReceipt.issue(
        VENDOR, grantor=PERSON.peer_id, grant_id=grant.grant_id, fields=["email"], received_ms=T0
    )
    deletion = DeletionReceipt.issue(
        VENDOR,
        grantor=PERSON.peer_id,
        grant_id=grant.grant_id,
        reason=DeletionReason.EXPIRED,
        deleted_ms=NOT_AFTER,
    )

    def verdict(receipts: list[ReceiptRecord], now_ms: int) -> Finding | None:
        return grant_verdict(
            grant_encoded=grant.encoded,
            not_after_ms=grant.not_after_ms,
            revoked_ms=None,
            receipts=receipts,
            grace_ms=GRACE,
            now_ms=now_ms,
        )

    delivered = ReceiptRecord("delivery", T0 + 1, delivery.encoded)
    honoured = verdict(
        [delivered, ReceiptRecord("deletion", NOT_AFTER, deletion.encoded)], NOT_AFTER
    )
    breached = verdict([delivered], DEADLINE + 1)
    assert honoured is not None and breached is not None
    grant_hash = hashlib.sha256(grant.encoded).digest()
    assert honoured.evidence == (grant_hash, hashlib.sha256(deletion.encoded).digest())
    assert breached.evidence == (grant_hash, hashlib.sha256(delivery.encoded).digest())


# -- the clause a verdict names --------------------------------------------------------------------

_CLAUSES = {
    "amity.breach-notice": Clause.of("amity.breach-notice", hours=24),
    "amity.delete-on-end": Clause.of("amity.delete-on-end", days=30),
    "amity.max-retention": Clause.of("amity.max-retention", days=90),
    "amity.no-tracking": Clause.of("amity.no-tracking"),
    "amity.purpose-limitation": Clause.of("amity.purpose-limitation", purposes=("marketing",)),
}


def _agreement(*clause_ids: str) -> Agreement:
    terms = TermsDocument.create([_CLAUSES[c] for c in clause_ids], "Verdict test")
    return Agreement.create(terms, PERSON, VENDOR, bytes(16), T0)


@pytest.mark.parametrize(
    ("clause_ids", "expected"),
    [
        # Terms are sorted by clause id, so the first clause is never the preferred one by luck.
        (tuple(_CLAUSES), "amity.delete-on-end"),
        (
            ("amity.breach-notice", "amity.max-retention", "amity.purpose-limitation"),
            "amity.max-retention",
        ),
        (("amity.no-tracking", "amity.purpose-limitation"), "amity.purpose-limitation"),
        (("amity.no-tracking", "amity.breach-notice"), "amity.breach-notice"),
        (("amity.no-tracking",), "amity.no-tracking"),
    ],
)
def test_clause_for_prefers_deletion_then_retention_then_purpose(
    clause_ids: tuple[str, ...], expected: str
) -> None:
    agreement = _agreement(*clause_ids)
    assert clause_for(agreement) == expected
    assert clause_for(agreement) in {c.clause_id for c in agreement.terms.clauses}
