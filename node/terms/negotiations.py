"""The book of negotiations: protocol Negotiation records kept in the store, and their agreements.

A record is stored as JSON (every field, bytes as hex), as node/book.py stores relationships; the
agreement a negotiation reached is stored apart, as its exact signed bytes, so that it can be
exported and verified as it is. Changes are visible to lookups at once and reach the disk with
the next group commit. See spec/terms.md §7.2 and §9.
"""

from __future__ import annotations

import json
from typing import Any

from amity.node.store import AgreementRow, NegotiationRow, Store
from amity.protocol.agreement import Agreement
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Negotiation, NegotiationState, Party
from amity.protocol.terms import TermsDocument
from amity.protocol.termsmessages import RejectReason

__all__ = ["NegotiationBook", "negotiation_to_json", "negotiation_from_json"]


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def _bytes(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value)


def negotiation_to_json(neg: Negotiation) -> str:
    """The stored form of a negotiation, without its agreement (stored as bytes beside it)."""
    record: dict[str, Any] = {
        "negotiation_id": neg.negotiation_id.hex(),
        "we_are": neg.we_are.value,
        "person": neg.person.key.hex(),
        "vendor": neg.vendor.key.hex(),
        "state": neg.state.value,
        "terms": neg.terms.encoded.hex(),
        "proposed_by": neg.proposed_by,
        "proposed_ms": neg.proposed_ms,
        "proposal_sig": neg.proposal_sig.hex(),
        "expires_ms": neg.expires_ms,
        "rounds": neg.rounds,
        "created_ms": neg.created_ms,
        "since_ms": neg.since_ms,
        "previous_agreement_id": _hex(neg.previous_agreement_id),
        "prior_terms_id": _hex(neg.prior_terms_id),
        "reasons": [[r.clause_id, r.reason] for r in neg.reasons],
        "timer_token": neg.timer_token,
        "timer_at_ms": neg.timer_at_ms,
        "timers_armed": neg.timers_armed,
    }
    return json.dumps(record, sort_keys=True)


def negotiation_from_json(text: str, agreement: bytes | None = None) -> Negotiation:
    """Inverse of :func:`negotiation_to_json`; terms and agreement are checked again."""
    r = json.loads(text)
    return Negotiation(
        negotiation_id=bytes.fromhex(r["negotiation_id"]),
        we_are=Party(r["we_are"]),
        person=PeerId(bytes.fromhex(r["person"])),
        vendor=PeerId(bytes.fromhex(r["vendor"])),
        state=NegotiationState(r["state"]),
        terms=TermsDocument.decode(bytes.fromhex(r["terms"])),
        proposed_by=r["proposed_by"],
        proposed_ms=r["proposed_ms"],
        proposal_sig=bytes.fromhex(r["proposal_sig"]),
        expires_ms=r["expires_ms"],
        rounds=r["rounds"],
        created_ms=r["created_ms"],
        since_ms=r["since_ms"],
        previous_agreement_id=_bytes(r["previous_agreement_id"]),
        prior_terms_id=_bytes(r["prior_terms_id"]),
        agreement=None if agreement is None else Agreement.decode(agreement),
        reasons=tuple(RejectReason(c, why) for c, why in r["reasons"]),
        timer_token=r["timer_token"],
        timer_at_ms=r["timer_at_ms"],
        timers_armed=r["timers_armed"],
    )


def _from_row(row: NegotiationRow) -> Negotiation:
    return negotiation_from_json(row.record, row.agreement)


class NegotiationBook:
    """Negotiations by id, with changes staged for the next commit visible at once."""

    def __init__(self, store: Store) -> None:
        self._store = store
        #: Changed in memory, not yet committed: what lookups must return meanwhile.
        self._pending: dict[bytes, Negotiation] = {}

    def remember(self, neg: Negotiation) -> None:
        """Make ``neg`` what lookups return now, before its row is committed."""
        self._pending[neg.negotiation_id] = neg

    def save(self, neg: Negotiation, now_ms: int) -> None:
        """Write ``neg`` and the agreement it reached, if any (call inside a transaction)."""
        self._store.save_negotiation(
            NegotiationRow(
                negotiation_id=neg.negotiation_id,
                peer_id=neg.peer.key,
                state=neg.state.value,
                record=negotiation_to_json(neg),
                created_ms=neg.created_ms,
                updated_ms=now_ms,
                timer_at_ms=neg.timer_at_ms,
            )
        )
        agreement = neg.agreement
        if agreement is None:
            return
        self._store.save_agreement(
            AgreementRow(
                agreement_id=agreement.agreement_id,
                negotiation_id=neg.negotiation_id,
                peer_id=neg.peer.key,
                terms_id=agreement.terms_id,
                agreed_ms=agreement.agreed_ms,
                encoded=agreement.encoded,
            )
        )
        if neg.previous_agreement_id is not None:  # an amendment: the old one is replaced
            self._store.supersede_agreement(neg.previous_agreement_id, agreement.agreement_id)

    def committed(self, neg: Negotiation) -> None:
        """``neg`` is on disk: forget the staged copy unless a newer change replaced it."""
        if self._pending.get(neg.negotiation_id) is neg:
            del self._pending[neg.negotiation_id]

    def get(self, negotiation_id: bytes) -> Negotiation | None:
        found = self._pending.get(negotiation_id)
        if found is not None:
            return found
        row = self._store.negotiation(negotiation_id)
        return None if row is None else _from_row(row)

    def find(
        self, *, peer: PeerId | None = None, id_prefix: str | None = None, limit: int = 1000
    ) -> list[Negotiation]:
        """Negotiations, newest first: all, with ``peer``, or whose hex id starts with a prefix."""
        rows = self._store.negotiations(
            peer_id=None if peer is None else peer.key, id_prefix=id_prefix, limit=limit
        )
        found = {row.negotiation_id: _from_row(row) for row in rows}
        for nid, neg in self._pending.items():
            if (peer is None or neg.peer == peer) and (
                id_prefix is None or nid.hex().startswith(id_prefix.lower())
            ):
                found[nid] = neg
        ordered = sorted(found.values(), key=lambda n: n.created_ms, reverse=True)
        return ordered[:limit]

    def with_timers(self) -> list[Negotiation]:
        """Negotiations waiting on a deadline (to re-arm after a restart)."""
        return [_from_row(row) for row in self._store.negotiations(with_timer=True, limit=-1)]
