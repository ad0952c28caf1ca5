"""Which agreement a grant lives under, and what its clauses ask of the grants service.

Data travels only under an agreement both parties signed (spec/grants.md §11): a grant is issued
under the newest agreement in force with the grantee, for a purpose it allows, and a holder
takes one only if it holds the agreement it cites with the grantor. When the relationship ends,
the agreement in force (amendments followed) says how long the holder has to delete (§14).
"""

from __future__ import annotations

from typing import Final

from amity.protocol.agreement import Agreement
from amity.protocol.core.grants.effects import Effect, EndAgreement
from amity.protocol.core.grants.host import GrantsHost
from amity.protocol.errors import GrantPartyError, NodeError, format_time_ms
from amity.protocol.grants import Grant
from amity.protocol.identity import PeerId
from amity.protocol.relationship import RelationshipState

__all__ = [
    "DELETE_ON_END",
    "PURPOSE_LIMITATION",
    "check_covers",
    "check_purpose",
    "delete_within_ms",
    "end_with_relationships",
    "in_force",
    "newest",
]

DELETE_ON_END: Final = "amity.delete-on-end"
PURPOSE_LIMITATION: Final = "amity.purpose-limitation"
_DAY_MS: Final = 24 * 3600 * 1000
#: How far an amendment chain is followed to the agreement in force.
_MAX_AMENDMENTS: Final = 64


def newest(host: GrantsHost, peer: PeerId) -> Agreement:
    """The agreement a new grant to ``peer`` lives under: the newest one not amended since and
    not ended with an earlier relationship (spec/terms.md §10)."""
    records = host.agreements_with(peer)
    for record in records:
        if record.superseded_by is None and record.ended_ms is None:
            return record.agreement
    ended = next((r for r in records if r.ended_ms is not None), None)
    if ended is not None:
        raise NodeError(
            f"your agreement with {peer.short} ({ended.agreement.agreement_id.hex()[:8]}) ended "
            f"with your earlier relationship on {format_time_ms(ended.ended_ms or 0)}; a new "
            f"relationship needs a new agreement (amity terms offer {peer.did} --roster P2B1)"
        )
    raise NodeError(
        f"no agreement with {peer.short} yet: data travels only under agreed terms; "
        f"agree first (amity terms offer {peer.did} --roster P2B1)"
    )


def end_with_relationships(host: GrantsHost, now_ms: int) -> list[Effect]:
    """End every agreement with a peer whose (latest) relationship has ENDED (terms.md §10).

    The driver asks at start and whenever a relationship's end is on disk, before the peer can
    have met us again, so an agreement never passes into a later relationship.
    """
    out: list[Effect] = []
    for peer in host.agreed_peers():
        rel = host.relationship(peer)
        if rel is None or rel.state is not RelationshipState.ENDED:
            continue
        for record in host.agreements_with(peer):
            if record.ended_ms is None:
                out.append(EndAgreement(record.agreement.agreement_id, now_ms))
    return out


def check_purpose(agreement: Agreement, purpose: str) -> None:
    """A purpose-limitation clause names the purposes a grant under it may serve."""
    clause = agreement.terms.clause(PURPOSE_LIMITATION)
    if clause is None:
        return
    allowed = clause.param("purposes", agreement.terms.vocab_version)
    if isinstance(allowed, tuple) and purpose not in allowed:
        raise NodeError(
            f"agreement {agreement.agreement_id.hex()[:16]} limits use of your data to "
            f"{', '.join(map(str, allowed))}; grant for one of those, or amend the terms"
        )


def check_covers(host: GrantsHost, grant: Grant, sender: PeerId) -> None:
    """A delivered grant cites an agreement this node holds with its grantor (§11)."""
    record = host.agreement(grant.agreement_id)
    if record is not None and record.peer == sender and record.ended_ms is not None:
        raise GrantPartyError(
            f"grant {grant.grant_id.hex()[:16]} cites agreement "
            f"{grant.agreement_id.hex()[:16]}, which ended with an earlier relationship; "
            "agree on terms again first",
            hint=GrantPartyError.code,
        )
    if record is None or record.peer != sender:
        raise GrantPartyError(
            f"grant {grant.grant_id.hex()[:16]} cites agreement "
            f"{grant.agreement_id.hex()[:16]}, which this node does not hold with "
            f"{sender.short}; agree on terms first",
            hint=GrantPartyError.code,
        )


def in_force(host: GrantsHost, agreement_id: bytes) -> Agreement | None:
    """The agreement in force of the one named: its amendments followed to the newest."""
    record = host.agreement(agreement_id)
    for _ in range(_MAX_AMENDMENTS):
        newer = (
            None
            if record is None or record.superseded_by is None
            else host.agreement(record.superseded_by)
        )
        if newer is None:
            break
        record = newer
    return None if record is None else record.agreement


def delete_within_ms(host: GrantsHost, agreement_id: bytes) -> int:
    """The delete-on-end delay of the agreement in force; 0 without one.

    A grant without a delete-on-end clause is deleted at once when the relationship ends: the
    person could revoke every grant at that moment anyway (spec/grants.md §14).
    """
    agreement = in_force(host, agreement_id)
    if agreement is None:
        return 0
    terms = agreement.terms
    clause = terms.clause(DELETE_ON_END)
    if clause is None:
        return 0
    days = clause.param("days", terms.vocab_version)
    return int(days) * _DAY_MS if isinstance(days, int) else 0
