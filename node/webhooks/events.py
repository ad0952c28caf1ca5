"""What each webhook event says (spec/webhooks.md §3), built from the record whose change causes
it. Each function returns a write for the commit that stores that change (amity.node.daemon
queues one delivery per subscription to the event in it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from amity.protocol.attestation import Attestation
from amity.protocol.core.intents.records import Seen
from amity.protocol.grants import Grant
from amity.protocol.holder import Holding
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Negotiation
from amity.protocol.receipts import DeletionReason

if TYPE_CHECKING:
    from amity.node.daemon.webhooks import Webhooks

__all__ = [
    "agreement_signed",
    "grant_given",
    "grant_deleted",
    "deletion_due",
    "attestation_received",
    "intent_received",
    "queued_if_new",
]

Write = Callable[[], None]
T = TypeVar("T")


def queued_if_new(insert: Callable[[T], bool], row: T, hook: Write) -> None:
    """In the commit: ``insert(row)``, and queue the webhook only if the row is new (the same
    attestation shared twice is received once)."""
    if insert(row):
        hook()


def agreement_signed(hooks: Webhooks, neg: Negotiation, now_ms: int) -> Write:
    """``agreement.signed``: both signed; the agreement, its terms and what it amends."""
    agreement = neg.agreement
    assert agreement is not None
    return hooks.queue_about(
        "agreement.signed",
        neg.peer,
        now_ms,
        agreement=agreement.agreement_id.hex(),
        negotiation=neg.negotiation_id.hex(),
        terms=agreement.terms.terms_id.hex(),
        title=agreement.terms.title,
        agreed_ms=agreement.agreed_ms,
        amends=None if neg.previous_agreement_id is None else neg.previous_agreement_id.hex(),
    )


def grant_given(hooks: Webhooks, holding: Holding, now_ms: int) -> Write:
    """``grant.given``: a customer's grant arrived with its values (the names, never values)."""
    grant = holding.grant
    return hooks.queue_about(
        "grant.given",
        grant.grantor,
        now_ms,
        grant=grant.grant_id.hex(),
        agreement=grant.agreement_id.hex(),
        fields=list(grant.fields),
        purpose=grant.purpose,
        context=grant.context,
        not_after_ms=grant.not_after_ms,
    )


def _grant(grant: Grant) -> dict[str, Any]:
    """What every grant event says of its grant: its id and the names of its fields."""
    return {"grant": grant.grant_id.hex(), "fields": list(grant.fields)}


def grant_updated(hooks: Webhooks, holding: Holding, now_ms: int) -> Write:
    """``grant.updated``: the customer's new values replaced a held grant's (the names and the
    version, never values): the CRM's copy is stale (spec/signals.md §2)."""
    grant = holding.grant
    return hooks.queue_about(
        "grant.updated", grant.grantor, now_ms, version=holding.version, **_grant(grant)
    )


def grant_deleted(hooks: Webhooks, holding: Holding, now_ms: int) -> list[Write]:
    """A held grant's values were deleted and the receipt sent: ``grant.revoked`` or
    ``grant.expired`` when that is why, then ``deletion.done``."""
    grant = holding.grant
    reason = holding.deletion_reason
    writes = []
    common = _grant(grant)
    if reason is DeletionReason.REVOKED:
        writes.append(hooks.queue_about("grant.revoked", grant.grantor, now_ms, **common))
    elif reason is DeletionReason.EXPIRED:
        writes.append(
            hooks.queue_about(
                "grant.expired", grant.grantor, now_ms, not_after_ms=grant.not_after_ms, **common
            )
        )
    writes.append(
        hooks.queue_about(
            "deletion.done",
            grant.grantor,
            now_ms,
            reason=None if reason is None else reason.value,
            deleted_ms=holding.deleted_ms,
            **common,
        )
    )
    return writes


def deletion_due(hooks: Webhooks, holding: Holding, now_ms: int) -> Write:
    """``deletion.due``: the relationship ended, so the grant's data must go by ``due_ms``
    (delete-on-end), from this node and from the CRM."""
    grant = holding.grant
    return hooks.queue_about(
        "deletion.due",
        grant.grantor,
        now_ms,
        due_ms=holding.deadline_ms,
        reason="relationship-ended",
        **_grant(grant),
    )


def attestation_received(
    hooks: Webhooks, sender: PeerId, attestation: Attestation, now_ms: int
) -> Write:
    """``attestation.received``: a peer shared a signed verdict about someone (peer: who sent
    it; attester and subject: who said it about whom)."""
    return hooks.queue_about(
        "attestation.received",
        sender,
        now_ms,
        attestation=attestation.attestation_id.hex(),
        attester=attestation.attester.did,
        subject=attestation.subject.did,
        verdict=attestation.verdict.value,
        clause=attestation.clause_id,
        agreement=attestation.agreement.agreement_id.hex(),
        issued_ms=attestation.issued_ms,
    )


def intent_received(hooks: Webhooks, seen: Seen, now_ms: int) -> Write:
    """``intent.received``: an intent cast at a hub this node subscribes to reached its inbox
    (peer: the hub; the caster is a pseudonym, its intent key)."""
    intent = seen.intent
    return hooks.queue(
        "intent.received",
        {
            "peer": seen.via.did,
            "intent": intent.intent_id.hex(),
            "pseudonym": intent.intent_key.did,
            "category": intent.category,
            "text": intent.text,
            "cast_ms": intent.cast_ms,
            "expires_ms": intent.expires_ms,
        },
        now_ms,
    )
