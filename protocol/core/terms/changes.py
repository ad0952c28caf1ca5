"""She changes her terms: every peer with an agreement in force gets a signed notice, which is
an amending offer; nothing changes for a peer until it agrees.

In v1 every change of terms needs the peer's consent: an agreement is exactly the terms both
signed, so different terms are a different agreement. The notice is therefore the amendment of
spec/terms.md §10 (a ``terms.offer`` that carries ``previous_agreement_id``, signed by her over
the agreement it would make): the peer's policy or its owner accepts, counters or rejects it,
and until it accepts the old agreement stands. :func:`change_terms` decides, for each agreement
in force, whether it gets one and why not, so that her software can say whom it told.
See spec/signals.md §3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from amity.protocol.core.terms.effects import TermsEffect
from amity.protocol.core.terms.host import TermsHost
from amity.protocol.core.terms.service import offer
from amity.protocol.identity import PeerId
from amity.protocol.relationship import RelationshipState
from amity.protocol.terms import TermsDocument

__all__ = ["InForce", "TermsChange", "change_terms"]


@dataclass(frozen=True, slots=True)
class InForce:
    """An agreement not superseded by an amendment: its id, its peer, the terms it holds."""

    agreement_id: bytes
    peer: PeerId
    terms_id: bytes


@dataclass(frozen=True, slots=True)
class TermsChange:
    """What became of one agreement: an amendment offered (its negotiation), or not and why."""

    agreement: InForce
    negotiation_id: bytes | None
    why: str = ""


def _why_not(
    host: TermsHost, agreement: InForce, terms: TermsDocument, open_for: Mapping[bytes, bytes]
) -> str:
    if agreement.terms_id == terms.terms_id:
        return "already agreed to these terms"
    pending = open_for.get(agreement.agreement_id)
    if pending is not None:
        return f"an amendment of it is open already (negotiation {pending.hex()[:8]})"
    rel = host.relationship(agreement.peer)
    if rel is None or rel.state is not RelationshipState.CONNECTED:
        return "no relationship" if rel is None else f"the relationship is {rel.state.value}"
    if host.cut_off(agreement.peer) is not None:
        return "your reputation policy cuts it off"
    return ""


def change_terms(
    host: TermsHost,
    agreements: Iterable[InForce],
    terms: TermsDocument,
    now_ms: int,
    *,
    ttl_ms: int,
    new_id: Callable[[], bytes],
    open_for: Mapping[bytes, bytes],
) -> tuple[list[TermsChange], list[TermsEffect]]:
    """Offer ``terms`` as an amendment of every agreement in force; one commit's effects.

    ``agreements`` are the node's agreements in force, ``open_for`` maps an agreement id to the
    open negotiation that already amends it, and ``new_id`` makes a fresh negotiation id.
    """
    changes: list[TermsChange] = []
    done: list[TermsEffect] = []
    for agreement in agreements:
        why = _why_not(host, agreement, terms, open_for)
        if why:
            changes.append(TermsChange(agreement, None, why))
            continue
        nid = new_id()
        _, effects = offer(
            host,
            agreement.peer,
            terms,
            now_ms,
            negotiation_id=nid,
            ttl_ms=ttl_ms,
            amends=agreement.agreement_id,
        )
        done += effects
        changes.append(TermsChange(agreement, nid))
    return changes, done
