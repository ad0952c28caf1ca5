"""A vendor's published policy changed: her node tells her, the vendor's node tells its owner.

The rule is :mod:`amity.protocol.core.terms.policywatch` (spec/signals.md §4): every agreement
in force still holds, and each side learns, in plain words, what changed and which agreements
the new policy would no longer sign as they are. Her node hears of the change from the vendor's
new card (a ``rel.hello`` on the live relationship, which the vendor's node sends to every
connected customer when its card changes: :mod:`amity.node.daemon.cardwatch`).
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from amity.node.logs import log_event
from amity.node.services import Staged
from amity.protocol.agreement import Agreement
from amity.protocol.card import Card, NodeKind
from amity.protocol.core.terms.policywatch import AgreementCheck, PolicyReview, review_policy
from amity.protocol.identity import PeerId
from amity.protocol.relationship import Relationship
from amity.protocol.terms import TermsDocument

if TYPE_CHECKING:
    from amity.node.store import AgreementRow
    from amity.node.terms.service import TermsService

__all__ = [
    "in_force",
    "peer_policy_changed",
    "own_policy_changed",
    "policy_check",
    "review_json",
]

_log = logging.getLogger("amity.terms")


def in_force(
    service: TermsService, peer: PeerId | None = None
) -> list[tuple[bytes, TermsDocument]]:
    """The agreements in force (with ``peer``, or all): their ids and the terms they hold."""
    return [
        (row.agreement_id, Agreement.decode(row.encoded).terms) for row in service.in_force(peer)
    ]


def _check_json(a: AgreementCheck) -> dict[str, Any]:
    return {
        "agreement_id": a.agreement_id.hex(),
        "terms_id": a.terms_id.hex(),
        "holds": True,
        "welcome": a.still_welcome if a.verdict is not None else None,
        "verdict": None if a.verdict is None else a.verdict.value,
        "clauses": list(a.clauses),
        "words": a.words,
    }


def policy_check(service: TermsService, row: AgreementRow) -> dict[str, Any] | None:
    """For an agreement in force: what the vendor's published policy says of its terms now (a
    person's node reads the vendor's latest card, a vendor's node its own policy); None for an
    agreement no longer in force or a vendor that publishes no policy."""
    if row.superseded_by is not None or row.ended_ms is not None:
        return None
    if service.kind is NodeKind.VENDOR:
        published = service.published_policy()
    else:
        rel = service.node.book.current(PeerId(row.peer_id))
        published = None if rel is None or rel.peer_card is None else rel.peer_card.policy
    if published is None:
        return None
    terms = Agreement.decode(row.encoded).terms
    review = review_policy(None, published, [(row.agreement_id, terms)])
    return {**_check_json(review.agreements[0]), "unreadable": review.unreadable or None}


def review_json(review: PolicyReview) -> dict[str, Any]:
    """A review as the API and the events show it."""
    return {
        "changes": [
            {"clause": c.clause_id, "before": c.before, "after": c.after} for c in review.changes
        ],
        "agreements": [_check_json(a) for a in review.agreements],
        "not_welcome": len(review.worse_for),
        "unreadable": review.unreadable or None,
    }


def _changed_words(review: PolicyReview) -> str:
    if review.unreadable:
        return review.unreadable
    if not review.changes:
        return "no clause's rule changed"
    return "; ".join(f"{c.clause_id}: {c.before} -> now {c.after}" for c in review.changes)


def peer_policy_changed(
    service: TermsService, before: Card, rel: Relationship, now_ms: int
) -> Staged:
    """Her side: a connected vendor's hello carried another published policy. One audit entry
    per agreement in force with it (or one for the relationship), and ``terms.policy_changed``."""
    card, peer = rel.peer_card, rel.peer
    assert card is not None and peer is not None
    review = review_policy(before.policy, card.policy, in_force(service, peer))
    changed = f"{card.name or peer.short} changed its published policy ({_changed_words(review)})"
    staged = Staged()
    entries = [(a.agreement_id, f"{changed}; {a.words}") for a in review.agreements]
    for subject, detail in entries or [(b"", changed)]:
        staged.writes.append(
            functools.partial(service.audit.append, now_ms, "terms.policy", peer, subject, detail)
        )
    data = {"peer": peer.did, "name": card.name, **review_json(review)}

    def tell() -> None:
        log_event(
            _log,
            "terms.policy_changed",
            logging.WARNING if review.worse_for else logging.INFO,
            peer=peer.short,
            changed=len(review.changes),
            agreements=len(review.agreements),
            not_welcome=len(review.worse_for),
        )
        service.node.events.publish("terms.policy_changed", data)

    staged.after.append(tell)
    return staged


def own_policy_changed(
    service: TermsService, before: bytes | None, after: bytes | None, told: int
) -> PolicyReview:
    """The vendor's side: its own published policy changed and ``told`` connected customers
    were sent the new card. Logs and publishes ``policy.changed`` with the agreements in force
    that the new policy would not sign as they are: they stand until amended."""
    review = review_policy(before, after, in_force(service))
    log_event(
        _log,
        "policy.changed",
        logging.WARNING if review.worse_for else logging.INFO,
        changed=len(review.changes),
        told=told,
        not_welcome=len(review.worse_for),
    )
    service.node.events.publish("policy.changed", {"told": told, **review_json(review)})
    return review
