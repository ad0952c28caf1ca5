"""Grants, holdings, receipts, statements and audit entries as the local API shows them (JSON).

Pure views over the store's records and the core's structures; nothing here writes. Times are
shown as ISO 8601 UTC with the raw ``*_ms`` beside them where a script may compute with them.
"""

from __future__ import annotations

from typing import Any

from amity.node.daemon import Node
from amity.node.grants.fields import value_to_json
from amity.node.store import GrantReceiptRow, GrantRequestRow, HoldingsQueryRow, IssuedGrantRow
from amity.protocol.audit import AuditEntry, AuditHead
from amity.protocol.claims import DerivedClaim
from amity.protocol.core.grants.updates import UpdateOutcome
from amity.protocol.errors import format_time_ms
from amity.protocol.grants import Grant, decode_request
from amity.protocol.holder import Holding, HoldingState
from amity.protocol.identity import PeerId
from amity.protocol.receipts import (
    DeletionReceipt,
    HoldingsStatement,
    UpdateReceipt,
    decode_receipt,
)
from amity.protocol.relationship import RelationshipState
from amity.protocol.vault import Field

__all__ = [
    "peer_name",
    "issued_json",
    "held_json",
    "value_json",
    "request_json",
    "receipt_json",
    "statement_json",
    "audit_json",
    "outcome_json",
]


def _iso(ms: int | None) -> str | None:
    return None if ms is None else format_time_ms(ms)


def peer_name(node: Node, peer: PeerId) -> str:
    """The name on the peer's card, as ``amity peers`` shows it ('' if none)."""
    rel = node.book.current(peer)
    card = None if rel is None else rel.peer_card
    return "" if card is None else card.name


def _grant_json(grant: Grant) -> dict[str, Any]:
    return {
        "grant_id": grant.grant_id.hex(),
        "agreement_id": grant.agreement_id.hex(),
        "fields": list(grant.fields),
        "purpose": grant.purpose,
        "context": grant.context,
        "onward": grant.onward.value,
        "issued": format_time_ms(grant.issued_ms),
        "not_after": format_time_ms(grant.not_after_ms),
        "not_after_ms": grant.not_after_ms,
    }


def receipt_json(row: GrantReceiptRow) -> dict[str, Any]:
    receipt = decode_receipt(row.encoded)
    data: dict[str, Any] = {
        "grant_id": row.grant_id.hex(),
        "peer": PeerId(row.peer_id).did,
        "kind": row.kind,
        "received": format_time_ms(row.received_ms),
        "receipt_hex": row.encoded.hex(),
    }
    if isinstance(receipt, DeletionReceipt):
        data["reason"] = receipt.reason.value
        data["deleted"] = format_time_ms(receipt.deleted_ms)
        data["deleted_ms"] = receipt.deleted_ms
    elif isinstance(receipt, UpdateReceipt):
        data["version"] = receipt.version
        data["replaced"] = format_time_ms(receipt.replaced_ms)
    elif not isinstance(receipt, HoldingsStatement):
        data["held_since"] = format_time_ms(receipt.received_ms)
    return data


def issued_json(
    node: Node, row: IssuedGrantRow, receipts: list[GrantReceiptRow], now_ms: int
) -> dict[str, Any]:
    """A grant we issued: where it stands, judged from the receipts that came back."""
    grant = Grant.decode(row.encoded)
    shown = [receipt_json(r) for r in receipts]
    deletion = next((r for r in shown if r["kind"] == "deletion"), None)
    delivery = next((r for r in shown if r["kind"] == "delivery"), None)
    peer = PeerId(row.peer_id)
    rel = node.book.current(peer)
    if deletion is not None:
        state = "deleted"
    elif row.revocation is not None:
        state = "revoked"
    elif now_ms >= grant.not_after_ms:
        state = "expired"
    elif rel is not None and rel.state is RelationshipState.ENDED:
        state = "ended"  # the holder deletes under the agreement's delete-on-end
    else:
        state = "active"
    return {
        **_grant_json(grant),
        "side": "granted",
        "peer": peer.did,
        "peer_name": peer_name(node, peer),
        "state": state,
        "revoked": _iso(row.revoked_ms),
        "delivered": None if delivery is None else delivery["received"],
        "deleted": None if deletion is None else deletion["deleted"],
        "deletion_reason": None if deletion is None else deletion["reason"],
        "awaiting_deletion_receipt": state in ("revoked", "expired", "ended"),
        "version": row.update_version,
        "version_receipted": max((r["version"] for r in shown if r["kind"] == "update"), default=0),
        "receipts": shown,
    }


def held_json(node: Node, holding: Holding, now_ms: int) -> dict[str, Any]:
    """A grant we hold for someone: its fields (names only), deadline and state."""
    grant = holding.grant
    reason = holding.deletion_reason
    held = holding.state is HoldingState.HELD
    return {
        **_grant_json(grant),
        "side": "held",
        "peer": grant.grantor.did,
        "peer_name": peer_name(node, grant.grantor),
        "state": holding.state.value,
        "live": held and now_ms < holding.deadline_ms,
        "received": format_time_ms(holding.received_ms),
        "deadline": format_time_ms(holding.deadline_ms),
        "deadline_ms": holding.deadline_ms,
        "end_deadline": _iso(holding.end_deadline_ms),
        "deleted": _iso(holding.deleted_ms),
        "deletion_reason": None if reason is None else reason.value,
        "version": holding.version,
    }


def value_json(value: Field | DerivedClaim) -> dict[str, Any]:
    """A field's value, or a derived claim in words with its signed bytes."""
    if isinstance(value, Field):
        return {"name": value.name, "type": value.type.value, "value": value_to_json(value)}
    return {
        "name": value.kind,
        "type": "claim",
        "value": value.value,
        "statement": value.statement,
        "claim_hex": value.encoded.hex(),
    }


def request_json(node: Node, row: GrantRequestRow) -> dict[str, Any]:
    request = decode_request(row.body)
    peer = PeerId(row.peer_id)
    return {
        "id": row.id,
        "direction": "sent" if row.outgoing else "received",
        "peer": peer.did,
        "peer_name": peer_name(node, peer),
        "fields": list(request.fields),
        "purpose": request.purpose,
        "context": request.context,
        "duration_s": request.duration_ms // 1000,
        "at": format_time_ms(row.at_ms),
        "state": row.state,
        "grant_id": None if row.grant_id is None else row.grant_id.hex(),
        "decided": _iso(row.decided_ms),
    }


def statement_json(
    query: HoldingsQueryRow, statement: HoldingsStatement | None, ours: dict[bytes, str]
) -> dict[str, Any]:
    """A holdings statement, each line compared with our own record of that grant.

    ``ours`` maps our grant ids to this peer to their state; a line we revoked or that has
    expired, or a grant we never issued, is flagged: evidence for the person (spec §8.6).
    """
    data: dict[str, Any] = {
        "query_id": query.query_id.hex(),
        "peer": PeerId(query.peer_id).did,
        "asked": format_time_ms(query.asked_ms),
        "answered": statement is not None,
    }
    if statement is None:
        return data
    items = []
    for item in statement.items:
        state = ours.get(item.grant_id, "unknown")
        items.append(
            {
                "grant_id": item.grant_id.hex(),
                "fields": list(item.fields),
                "not_after": format_time_ms(item.not_after_ms),
                "version": item.version,
                "our_record": state,
                "flag": state in ("revoked", "expired", "deleted", "unknown"),
            }
        )
    listed = {item.grant_id for item in statement.items}
    return {
        **data,
        "verified": True,
        "issuer": statement.issuer.did,
        "at": format_time_ms(statement.at_ms),
        "items": items,
        "not_listed": sorted(g.hex() for g, s in ours.items() if s == "active" and g not in listed),
        "statement_hex": statement.encoded.hex(),
    }


def audit_json(head: AuditHead, entries: list[AuditEntry]) -> dict[str, Any]:
    return {
        "verified": True,
        "head": {"length": head.length, "hash": head.hash.hex()},
        "entries": [
            {
                "index": e.index,
                "at": format_time_ms(e.ts_ms),
                "kind": e.kind,
                "peer": None if e.peer is None else e.peer.did,
                "subject": e.subject.hex(),
                "detail": e.detail,
                "hash": e.hash.hex(),
            }
            for e in entries
        ],
    }


def outcome_json(node: Node, outcome: UpdateOutcome) -> dict[str, object]:
    """One grant's part in a vault change, as the API and the event stream show it."""
    grant = outcome.grant
    return {
        "grant": grant.grant_id.hex(),
        "peer": grant.grantee.did,
        "peer_name": peer_name(node, grant.grantee),
        "fields": list(grant.fields),
        "updated": outcome.version is not None,
        "version": outcome.version,
        "why_not": outcome.why,
    }
