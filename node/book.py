"""The book of relationships: protocol Relationship records, kept in the store and looked up.

Lookups go to the database (indexed by peer and by invitation secret) with a small cache, so a
vendor with a hundred thousand relationships starts as fast as a person with three.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Final

from amity.node.store import RelationshipRow, Store
from amity.protocol.card import Card
from amity.protocol.identity import PeerId
from amity.protocol.relationship import Relationship, RelationshipState, Role

__all__ = ["RelationshipBook", "relationship_to_json", "relationship_from_json", "search_name"]

_CACHE_SIZE: Final = 4096
#: Meta key: the search columns of every relationship are filled (see _index_for_search).
_SEARCH_INDEXED: Final = "relationships.search_indexed"


def relationship_to_json(rel: Relationship) -> str:
    """The stored form of a relationship: every field, bytes as hex."""
    record: dict[str, Any] = {
        "role": rel.role.value,
        "state": rel.state.value,
        "peer": None if rel.peer is None else rel.peer.key.hex(),
        "invite_secret": rel.invite_secret.hex(),
        "invite_expires_ms": rel.invite_expires_ms,
        "created_ms": rel.created_ms,
        "since_ms": rel.since_ms,
        "last_seen_ms": rel.last_seen_ms,
        "handshake_done": rel.handshake_done,
        "peer_card": None if rel.peer_card is None else rel.peer_card.encoded.hex(),
        "timer_token": rel.timer_token,
        "timer_at_ms": rel.timer_at_ms,
        "timers_armed": rel.timers_armed,
        "ended_reason": rel.ended_reason,
        "ended_by": rel.ended_by,
    }
    return json.dumps(record, sort_keys=True)


def relationship_from_json(text: str) -> Relationship:
    """Inverse of :func:`relationship_to_json` (the card's signatures are checked again)."""
    r = json.loads(text)
    return Relationship(
        role=Role(r["role"]),
        state=RelationshipState(r["state"]),
        peer=None if r["peer"] is None else PeerId(bytes.fromhex(r["peer"])),
        invite_secret=bytes.fromhex(r["invite_secret"]),
        invite_expires_ms=r["invite_expires_ms"],
        created_ms=r["created_ms"],
        since_ms=r["since_ms"],
        last_seen_ms=r["last_seen_ms"],
        handshake_done=r["handshake_done"],
        peer_card=None if r["peer_card"] is None else Card.decode(bytes.fromhex(r["peer_card"])),
        timer_token=r["timer_token"],
        timer_at_ms=r["timer_at_ms"],
        timers_armed=r["timers_armed"],
        ended_reason=r["ended_reason"],
        ended_by=r["ended_by"],
    )


def search_name(rel: Relationship) -> str:
    """The name a search by name looks at: the peer card's, casefolded ("" without a card)."""
    return "" if rel.peer_card is None else rel.peer_card.name.casefold()


class RelationshipBook:
    """Relationships by invitation secret (their identity) and by peer."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: OrderedDict[bytes, Relationship] = OrderedDict()
        #: peer -> secret of its current relationship (includes staged, uncommitted changes).
        self._current: OrderedDict[PeerId, bytes] = OrderedDict()
        if store.get_meta(_SEARCH_INDEXED) is None:
            self._index_for_search()

    def _index_for_search(self) -> None:
        """Fill the search columns of rows stored before they existed (migration 12), once."""
        with self._store.transaction():
            while found := self._store.unindexed_relationships(1000):
                for f in found:
                    rel = relationship_from_json(f.row.record)
                    assert rel.peer is not None  # the rows found have a peer
                    self._store.set_search_columns(
                        f.id, search_name(rel), rel.peer.fingerprint, rel.peer.did
                    )
            self._store.set_meta(_SEARCH_INDEXED, b"1")

    def save(self, rel: Relationship, now_ms: int) -> None:
        """Write ``rel`` (call inside a store transaction) and cache it."""
        peer = rel.peer
        row = RelationshipRow(
            invite_secret=rel.invite_secret,
            peer_id=None if peer is None else peer.key,
            state=rel.state.value,
            record=relationship_to_json(rel),
            updated_ms=now_ms,
            timer_at_ms=rel.timer_at_ms,
            peer_name=None if peer is None else search_name(rel),
            peer_fingerprint=None if peer is None else peer.fingerprint,
            peer_did=None if peer is None else peer.did,
        )
        self._store.save_relationship(row)
        self.remember(rel)

    def by_secret(self, secret: bytes) -> Relationship | None:
        cached = self._cache.get(secret)
        if cached is not None:
            self._cache.move_to_end(secret)
            return cached
        row = self._store.relationship(secret)
        return None if row is None else self.remember(relationship_from_json(row.record))

    def name_of(self, peer: PeerId) -> str:
        """The peer as a person knows it, for messages: its card's name with the short
        fingerprint that tells two of one name apart (``Corner Shop (3AFH-W77N)``), or the
        fingerprint alone for a peer whose card she never saw."""
        rel = self.current(peer)
        name = "" if rel is None or rel.peer_card is None else rel.peer_card.name
        return f"{name} ({peer.short})" if name else peer.short

    def current(self, peer: PeerId) -> Relationship | None:
        """The live relationship with ``peer``, else the most recent ended one, else None."""
        secret = self._current.get(peer)
        if secret is not None:
            self._current.move_to_end(peer)
            found = self.by_secret(secret)
            if found is not None:
                return found
        rows = self._store.relationships_of(peer.key)
        live = [row for row in rows if row.state != RelationshipState.ENDED.value]
        candidates = live or rows
        return self.by_secret(candidates[-1].invite_secret) if candidates else None

    def all(self) -> list[Relationship]:
        return [relationship_from_json(row.record) for row in self._store.load_relationships()]

    def connected_pages(self, size: int) -> Iterator[list[Relationship]]:
        """Every CONNECTED relationship, ``size`` at a time (the book's newer copy where it has
        one not yet on disk)."""
        after = 0
        while found := self._store.connected_after(after, size):
            yield [self._cache.get(f.row.invite_secret) or relationship_from_json(f.row.record)
                   for f in found]  # fmt: skip
            after = found[-1].id

    def with_timers(self) -> list[Relationship]:
        """Relationships waiting on a timer (to re-arm after a restart)."""
        rows = self._store.load_relationships(with_timer=True)
        return [relationship_from_json(row.record) for row in rows]

    def remember(self, rel: Relationship) -> Relationship:
        """Make ``rel`` what lookups return now, before its row is committed (staged writes)."""
        self._cache[rel.invite_secret] = rel
        self._cache.move_to_end(rel.invite_secret)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        if rel.peer is not None:
            known = self._current.get(rel.peer)
            if (
                known is None
                or known == rel.invite_secret
                or rel.state is not RelationshipState.ENDED
            ):
                self._current[rel.peer] = rel.invite_secret
                self._current.move_to_end(rel.peer)
                while len(self._current) > _CACHE_SIZE:
                    self._current.popitem(last=False)
        return rel
