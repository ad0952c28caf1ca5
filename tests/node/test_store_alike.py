"""Every table group gives the same answers on both engines: one script of writes and reads,
run on a SQLite file and on a PostgreSQL database, must read back alike (node/store/engine.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amity.node.store import (
    AgreementRow,
    AttestationRow,
    AuditRow,
    GrantReceiptRow,
    GrantRequestRow,
    HoldingRow,
    HoldingsQueryRow,
    IssuedGrantRow,
    NegotiationRow,
    RelationshipRow,
    SharePolicyRow,
    Store,
    VaultRow,
)

P, Q, G, N, A = b"P" * 32, b"Q" * 32, b"G" * 16, b"N" * 16, b"A" * 32


def _write(store: Store) -> list[Any]:
    """Writes of every table group, with what each write answers."""
    said: list[Any] = []
    store.set_meta("k", b"v")
    store.set_meta("k", b"w")
    store.save_relationship(RelationshipRow(b"s1", P, "connected", "{}", 1, 5, "ana", "F1", "d1"))
    store.save_relationship(RelationshipRow(b"s2", None, "invited", "{}", 2))
    store.save_relationship(RelationshipRow(b"s1", P, "ended", '{"x": 1}', 3, None, "ana", "F1"))
    said += [store.add_mail(Q, P, b"sealed one", 0, 100, ticketed=False)]
    said += [store.add_mail(Q, P, b"two", 0, 5), store.add_mail(P, Q, b"3", 0, 100)]
    said += [store.add_inbox(P, 1, "msg.note", b"one", b"e1", 1)]
    said += [store.add_inbox(P, 3, "msg.note", b"three", b"e3", 2)]
    said += [store.add_inbox(P, 2, "x", b"", b"", 2)]
    # Last: PostgreSQL spends a serial number on a conflict that SQLite does not.
    said += [store.add_inbox(P, 1, "x", b"", b"", 1)]
    store.set_deposit_ticket(P, b"ticket", 9)
    store.set_deposit_ticket(P, b"ticket 2", 10)
    store.put_vault(VaultRow("email", "email", b"sealed", 1))
    store.put_vault(VaultRow("email", "email", b"sealed again", 2))
    store.put_vault(VaultRow("city", "text", b"c", 2))
    store.save_issued_grant(IssuedGrantRow(G, P, A, b"grant", 1, 50))
    store.save_issued_grant(IssuedGrantRow(G, P, A, b"grant", 1, 50, b"revoked", 7))
    store.set_update_version(G, 3)
    store.save_holding(HoldingRow(G, Q, "held", "{}", 40, 1))
    store.save_holding(HoldingRow(G, Q, "deleted", '{"d": 1}', None, 2))
    for i in (3, 1, 2):  # a page of an export is in grant-id order, not the order written
        store.save_holding(HoldingRow(bytes([i]) * 16, P, "held", "{}", None, 3))
    store.add_held_value(G, "email", b"first")
    store.add_held_value(G, "email", b"second is ignored")
    said += [store.add_grant_request(GrantRequestRow(0, P, True, b"ask", 1, "pending"))]
    said += [
        store.decide_grant_request(1, "granted", G, 2),
        store.decide_grant_request(9, "x", None, 2),
    ]
    receipt = GrantReceiptRow(P, G, "deletion", b"receipt", 3)
    said += [store.add_grant_receipt(receipt), store.add_grant_receipt(receipt)]
    store.save_holdings_query(HoldingsQueryRow(b"q" * 16, P, 1))
    store.save_holdings_query(HoldingsQueryRow(b"q" * 16, P, 1, b"statement", 4))
    store.add_audit(AuditRow(1, P, "grant.issued", 1, b"entry 1"))
    store.add_audit(AuditRow(2, None, "vault.changed", 2, b"entry 2"))
    store.save_negotiation(NegotiationRow(N, P, "offered", "{}", 1, 1, 30))
    store.save_negotiation(NegotiationRow(N, P, "agreed", '{"a": 1}', 1, 2, None))
    store.save_agreement(AgreementRow(A, N, P, b"T" * 32, 2, b"agreement"))
    store.save_agreement(AgreementRow(A, N, P, b"T" * 32, 2, b"agreement"))
    said += [store.supersede_agreement(A, b"B" * 32), store.supersede_agreement(b"?", A)]
    store.end_agreement(A, 9)
    for n, cause in ((1, G), (2, G), (3, None)):
        attestation = AttestationRow(
            bytes([n]) * 32, P, Q, "breached", b"att %d" % n, 1, 10 * n, None, 0, "pending",
            cause, n,
        )  # fmt: skip
        said += [store.add_attestation(attestation)]  # 2: a second one for the same cause
    store.set_review(bytes([1]) * 32, "approved")
    said += [store.add_rebuttal(bytes([1]) * 32, b"no", 3), store.add_rebuttal(A, b"no", 4)]
    store.mark_shared(P, [bytes([1]) * 32, bytes([3]) * 32], 5)
    store.mark_shared(P, [bytes([1]) * 32], 6)
    store.save_share_policy(SharePolicyRow(P, "mine", 1, 10, 1))
    store.save_share_policy(SharePolicyRow(P, "all", 2, 20, 2))
    store.set_vouch(P, 1)
    store.set_vouch(P, 2)
    store.set_vouch(Q, 1)
    store.set_vouch(Q, None)
    store.put_intent_record("intent_castings", b"i1", '{"c": 1}')
    store.put_intent_record("intent_castings", b"i1", '{"c": 2}')
    store.put_intent_record("intent_castings", b"i0", "{}")
    store.drop_intent_record("intent_castings", b"i0")
    said += [store.next_intent_seq(b"i1", P), store.next_intent_seq(b"i1", P)]
    store.took_intent_seq(b"i1", P, 7)
    store.took_intent_seq(b"i1", P, 3)
    store.add_intent_outbox(b"i1", P, 1, b"env 1")
    store.add_intent_outbox(b"i1", P, 2, b"env 2")
    store.ack_intent_outbox(b"i1", P, (1,))
    store.put_loyalty(b"L1", True, 5, b"declared", None)
    store.put_loyalty(b"L1", True, 5, b"declared", b"revoked")
    store.put_loyalty(b"L0", False, 4, b"theirs", None)
    store.put_beacon(P, b"b2", '{"n": 2}')
    store.put_beacon(P, b"b1", '{"n": 1}')
    store.put_beacon(P, b"b2", '{"n": 3}')
    store.put_delegation(b"D2", "capability", 7, '{"n": 1}')
    store.put_delegation(b"D1", "act", 7, '{"n": 2}')
    store.put_delegation(b"D2", "capability", 7, '{"n": 3}')
    store.put_thing((b"T2", 9, b"card 2", "owned", None, b"\x90"), b"sealed 2")
    store.put_thing((b"T1", 8, b"card 1", "offered", b"transfer", b"\x90"), b"sealed 1")
    store.put_thing((b"T1", 10, b"card 1", "sold", None, b"\x91\xc4\x01s"), b"")
    store.put_thing((b"T2", 11, b"card 2", "offered", b"t2", b"\x90"), None)  # keeps its seed
    said += [
        store.add_webhook("https://crm.example/a", "whsec_a", ("grant.given", "deletion.done"), 1),
        store.add_webhook("http://127.0.0.1:9/b", "whsec_b", ("grant.given",), 2),
        store.queue_event("msg_1", "grant.given", b'{"n": 1}', 10),  # one delivery each: 2
        store.queue_event("msg_2", "deletion.done", b'{"n": 2}', 11),
        store.queue_event("msg_3", "intent.received", b"{}", 12),  # nobody wants it: 0
        store.queue_event("msg_4", "grant.given", b'{"n": 4}', 13),
    ]
    store.delivery_attempted(1, 1, 20, None, None)  # delivered
    store.delivery_attempted(1, 2, 21, "late", 99)  # no longer pending: nothing changes
    store.delivery_attempted(2, 1, 20, "HTTP 500", 40)  # retry at 40
    store.delivery_attempted(3, 3, 22, "refused", None)  # dead
    said += [store.replay_deliveries(30, [2]), store.remove_webhook(2), store.remove_webhook(7)]
    return said


def _read(store: Store) -> list[Any]:
    """Every read of every table group, after the writes."""
    return [
        store.get_meta("k"), store.get_meta("none"),
        store.load_relationships(), store.load_relationships(with_timer=True),
        store.relationships_of(P), store.relationship(b"s2"), store.count_relationships(),
        store.find_relationships("name", "an", limit=5), store.count_found_relationships("did", "d"),
        store.connected_after(0, 5), store.newest_inbox(P, "msg.note", 5),
        store.mail_for(Q, 1, limit=10), store.mail_for(Q, 10, after_id=1, limit=10),
        store.count_mail(Q), store.mail_bytes_from(P), store.stranger_mail_for(Q),
        store.deposit_ticket(P), store.deposit_ticket(Q),
        store.vault(), store.vault("email"), store.issued_grants(), store.issued_grants(peer_id=Q),
        store.holdings(), store.holdings(state="held"), store.held_values(G),
        store.holdings_after(None, 2), store.holdings_after(bytes([2]) * 16, 5),
        store.grant_requests(), store.grant_requests(state="pending"), store.grant_receipts(G),
        store.holdings_query(b"q" * 16), store.audit_entries(),
        store.negotiation(N), store.negotiations(id_prefix=N.hex()[:5]),
        store.negotiations(with_timer=True), store.agreement(A), store.agreements(peer_id=P),
        store.agreed_peers(),
        store.attestations(), store.attestations(review="approved", mine=True),
        store.attestations(newest=True, limit=2), store.caused(),
        store.count_from(P), store.rebuttals(bytes([1]) * 32), store.shared_with(P),
        store.shared_since(P, 6), store.share_policies(), store.vouches(),
        store.intent_records("intent_castings"), store.intent_link_seqs(b"i1", P),
        store.pending_intent_outbox(b"i1", P), store.loyalty_rows(), store.beacon_records(),
        store.strangers_with_state(), store.thing_rows(), store.delegation_rows(),
        store.webhooks(), store.due_deliveries(35, 10), store.due_deliveries(5, 10),
        store.next_due_ms(), store.deliveries(), store.deliveries("dead", limit=1),
        store.count_deliveries(),
    ]  # fmt: skip


def _erase(store: Store) -> list[Any]:
    """Deletions, with what each answers."""
    return [
        store.delete_mail(Q, [1, 2, 99]), store.expire_mail(100), store.delete_vault("city"),
        store.delete_held_values(G), store.delete_expired_attestations(15),
        store.forget_deposit_ticket(P),
    ]  # fmt: skip


def _script(target: Path | str) -> list[Any]:
    with Store(target) as store:
        with store.transaction():
            said = _write(store)
        read = _read(store)
        with store.transaction():
            erased = _erase(store)
        with store.transaction():
            erased.append(store.replay_deliveries(40, dead=True))
        return [said, read, erased, _read(store)]


def test_every_table_group_answers_alike_on_both_engines(tmp_path: Path, pg_url: str) -> None:
    on_sqlite = _script(tmp_path / "amity.db")
    on_postgres = _script(pg_url)
    for part, (lite, pg) in enumerate(zip(on_sqlite, on_postgres, strict=True)):
        for number, (one, other) in enumerate(zip(lite, pg, strict=True)):
            assert one == other, f"part {part}, item {number}"
    said = on_sqlite[0]
    assert said[:3] == [1, 2, 3] and said[3] == 1  # row ids: mail, then the grant request
    assert said[-11:-9] == [1, 2]  # intent seqs
    assert said[-3:] == [1, True, False]  # a delivery replayed, webhooks removed
    assert said[-9:-3] == [1, 2, 2, 1, 0, 2]  # webhook ids, then deliveries queued per event
    assert on_sqlite[2][-1] == 1  # the dead delivery, replayed


def test_holdings_come_a_page_at_a_time_in_grant_id_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "amity.db")
    ids = [bytes([i]) * 16 for i in (5, 2, 4, 1, 3)]
    with store.transaction():
        for gid in ids:
            store.save_holding(HoldingRow(gid, P, "held", "{}", None, 1))

    pages, after = [], None
    while rows := store.holdings_after(after, 2):
        pages.append([row.grant_id[0] for row in rows])
        after = rows[-1].grant_id

    assert pages == [[1, 2], [3, 4], [5]]
