"""Relationships searched a page at a time (store/customers.py, migration 12): the book fills
the search columns as it saves, and once, at its first start, for rows stored before."""

from __future__ import annotations

import os
from pathlib import Path

from amity.node.book import RelationshipBook
from amity.node.store import SearchBy, Store
from amity.protocol.card import INVITE_SECRET_BYTES, Card, NodeKind
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship, RelationshipState, Role

_NOW_MS = 1_796_000_000_000


def _relationship(name: str, *, with_peer: bool = True) -> Relationship:
    keyring = Keyring(os.urandom(32))
    _, cert = keyring.current(_NOW_MS)
    card = Card.issue(
        keyring.identity,
        link_cert=cert,
        kind=NodeKind.PERSON,
        name=name,
        issued_ms=_NOW_MS - 1000,
        not_after_ms=cert.not_after_ms,
    )
    return Relationship(
        role=Role.INVITER,
        state=RelationshipState.CONNECTED if with_peer else RelationshipState.INVITED,
        peer=keyring.identity.peer_id if with_peer else None,
        invite_secret=os.urandom(INVITE_SECRET_BYTES),
        invite_expires_ms=_NOW_MS + 1000,
        created_ms=_NOW_MS,
        since_ms=_NOW_MS,
        last_seen_ms=_NOW_MS,
        handshake_done=with_peer,
        peer_card=card if with_peer else None,
    )


def _peer(rel: Relationship) -> PeerId:
    assert rel.peer is not None
    return rel.peer


def _save(store: Store, *rels: Relationship) -> None:
    book = RelationshipBook(store)
    with store.transaction():
        for rel in rels:
            book.save(rel, _NOW_MS)


def test_a_search_finds_by_name_fingerprint_and_did_prefix_in_pages(
    store_target: Path | str,
) -> None:
    names = ["Bea", "alma", "Ánh", "Al", "Bo", "alma"]
    rels = [_relationship(n) for n in names]
    with Store(store_target) as store:
        _save(store, *rels, _relationship("", with_peer=False))  # an invitation: no peer yet

        def found(by: SearchBy, prefix: str) -> list[str]:
            return [r.row.record for r in store.find_relationships(by, prefix, limit=2)]

        first = store.find_relationships("name", "al", limit=2)
        after = store.find_relationships("name", "al", after=first[-1].id, limit=2)
        before = store.find_relationships("name", "al", before=after[0].id, limit=2)
        fpr = _peer(rels[4]).fingerprint

        assert [r.row.peer_id for r in first] == [_peer(rels[3]).key, _peer(rels[1]).key]
        assert [r.row.peer_id for r in after] == [_peer(rels[5]).key]
        assert before == first
        assert store.count_found_relationships("name", "") == 6
        assert store.count_found_relationships("name", "á") == 1
        assert found("fingerprint", fpr[:6]) == found("did", _peer(rels[4]).did[:30])
        assert len(found("fingerprint", fpr[:6])) == 1


def test_rows_stored_before_the_search_columns_are_filled_once(store_target: Path | str) -> None:
    rel = _relationship("Old Customer")
    with Store(store_target) as store:
        _save(store, rel)
        # As a database from before migration 12 would have them: columns empty, nothing filled.
        with store.transaction():
            store._db.execute(
                "UPDATE relationships SET peer_name = NULL, peer_fingerprint = NULL, peer_did = NULL"
            )
            store._db.execute("DELETE FROM meta WHERE key = 'relationships.search_indexed'")
    with Store(store_target) as store:
        assert store.count_found_relationships("name", "") == 0

        RelationshipBook(store)

        found = store.find_relationships("name", "old c", limit=5)
        assert [f.row.peer_id for f in found] == [_peer(rel).key]
        assert store.get_meta("relationships.search_indexed") == b"1"
