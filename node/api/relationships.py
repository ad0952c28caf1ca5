"""A relationship as the local API (and the dashboard) shows it."""

from __future__ import annotations

from typing import Any

from amity.node.api.card import policy_json
from amity.node.daemon import Node
from amity.protocol.errors import format_time_ms
from amity.protocol.relationship import Relationship, RelationshipState

__all__ = ["relationship_json"]


def relationship_json(rel: Relationship, node: Node) -> dict[str, Any]:
    card = rel.peer_card
    return {
        "peer": rel.peer.did if rel.peer else None,
        "fingerprint": rel.peer.fingerprint if rel.peer else None,
        "name": card.name if card else "",
        "kind": card.kind.value if card else "",
        "role": rel.role.value,
        "state": rel.state.value,
        "since": format_time_ms(rel.since_ms),
        "last_seen": format_time_ms(rel.last_seen_ms) if rel.last_seen_ms else None,
        "ended_reason": rel.ended_reason,
        # Online is said of the live relationship only, not of an ended one with the same peer.
        "online": rel.state is RelationshipState.CONNECTED
        and bool(rel.peer and node.links.get(rel.peer)),
        "outbox_pending": node.store.count_pending(rel.peer.key) if rel.peer else 0,
        "policy": policy_json(card),
    }
