"""Automatic attestations: what a grant the node issued says of its grantee, and when to look.

Once per grant, the receipts it brought back give a verdict (:func:`amity.protocol.verdicts.
grant_verdict`); a grant that was delivered but gives none yet is looked at again just after its
deadline. The attestation is held for the owner's review unless her policy shares it at once.
A grant the policy's cut-off revoked gives none (the driver leaves it out). See
spec/reputation.md §6.2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amity.protocol.agreement import Agreement
from amity.protocol.core.reputation.effects import KeepOwn
from amity.protocol.core.reputation.policy import ReputationPolicy
from amity.protocol.identity import SigningIdentity
from amity.protocol.sharing import APPROVED, PENDING
from amity.protocol.verdicts import (
    Finding,
    ReceiptRecord,
    automatic_attestation,
    grant_verdict,
    verdict_deadline_ms,
)

__all__ = ["Judgement", "judge", "attest"]


@dataclass(frozen=True, slots=True)
class Judgement:
    """A grant's verdict now (``finding``), or, without one, when to look again (if ever)."""

    finding: Finding | None
    look_again_ms: int | None = None


def judge(
    *,
    grant_encoded: bytes,
    not_after_ms: int,
    revoked_ms: int | None,
    receipts: Sequence[ReceiptRecord],
    policy: ReputationPolicy,
    now_ms: int,
) -> Judgement:
    """The verdict one issued grant gives now under ``policy``'s receipt grace."""
    grace_ms = policy.grace_ms
    finding = grant_verdict(
        grant_encoded=grant_encoded,
        not_after_ms=not_after_ms,
        revoked_ms=revoked_ms,
        receipts=receipts,
        grace_ms=grace_ms,
        now_ms=now_ms,
    )
    if finding is not None:
        return Judgement(finding)
    if any(r.kind == "delivery" for r in receipts):
        return Judgement(None, verdict_deadline_ms(not_after_ms, revoked_ms, grace_ms))
    return Judgement(None)  # never delivered: no verdict, nothing to wait for


def attest(
    identity: SigningIdentity,
    agreement: Agreement,
    grant_id: bytes,
    finding: Finding,
    *,
    policy: ReputationPolicy,
    now_ms: int,
) -> KeepOwn:
    """The automatic attestation for ``finding``, reviewed as the policy says, to keep."""
    attestation = automatic_attestation(
        identity, agreement, grant_id, finding, now_ms=now_ms, ttl_ms=policy.attestation_ttl_ms
    )
    return KeepOwn(attestation, APPROVED if policy.auto_share else PENDING, grant_id)
