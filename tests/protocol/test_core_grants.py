"""The grants service of the node core: what each grant.* message, timer and end means, once.

A host in memory stands for either driver; the effects are what both the daemon and the
simulator carry out (spec/grants.md §4-§8, §11, §14).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import pytest

from amity.protocol.agreement import Agreement
from amity.protocol.card import Card, NodeKind
from amity.protocol.core.grants import grantor, holder, service
from amity.protocol.core.grants.agreements import delete_within_ms, in_force, newest
from amity.protocol.core.grants.effects import (
    ArmTimer,
    Audit,
    Deleted,
    DeleteValues,
    DisarmTimer,
    EndAgreement,
    Held,
    Issued,
    KeepReceipt,
    KeepRequest,
    KeptData,
    ReceiptCame,
    RequestCame,
    SaveHolding,
    SaveIssued,
    Send,
)
from amity.protocol.core.grants.host import AgreementRecord, AskedQuery
from amity.protocol.core.grants.rule import SharingRule
from amity.protocol.envelope import Envelope
from amity.protocol.errors import GrantPartyError, NodeError
from amity.protocol.grants import MSG_REQUEST, GrantRequest, encode_request
from amity.protocol.holder import Holding, HoldingState
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.receipts import MSG_HOLDINGS, MSG_RECEIPT, encode_holdings_query
from amity.protocol.relationship import RelationshipState
from amity.protocol.terms import ROSTER, Clause, TermsDocument
from amity.protocol.vault import Field, FieldType

T0 = 1_767_225_600_000
DAY_MS = 86_400_000
EMAIL = Field("email", FieldType.EMAIL, "alice@example.org")


@dataclass
class MemoryHost:
    """One node's grants records in memory (what both drivers keep, in their own way)."""

    keyring: Keyring
    keeps_data: bool = False
    fields: dict[str, Field] = field(default_factory=dict)
    rule: SharingRule = field(default_factory=SharingRule)
    peers: dict[PeerId, Any] = field(default_factory=dict)
    agreements: dict[bytes, AgreementRecord] = field(default_factory=dict)
    holdings: dict[bytes, Holding] = field(default_factory=dict)
    issued: dict[bytes, PeerId] = field(default_factory=dict)
    queries: dict[bytes, AskedQuery] = field(default_factory=dict)
    cut_off: set[PeerId] = field(default_factory=set)

    @property
    def vault(self) -> MemoryHost:
        return self

    def get(self, name: str) -> Field | None:
        return self.fields.get(name)

    def of_type(self, kind: FieldType) -> Field | None:
        return next((f for f in self.fields.values() if f.type is kind), None)

    def relationship(self, peer: PeerId) -> Any:
        return self.peers.get(peer)

    def check_grantee(self, peer: PeerId) -> None:
        if peer in self.cut_off:
            raise NodeError(f"{peer.short} is cut off")

    def agreement(self, agreement_id: bytes) -> AgreementRecord | None:
        return self.agreements.get(agreement_id)

    def agreed_peers(self) -> list[PeerId]:
        return sorted({r.peer for r in self.agreements.values() if r.ended_ms is None},
                      key=lambda p: p.key)  # fmt: skip

    def agreements_with(self, peer: PeerId) -> list[AgreementRecord]:
        found = [r for r in self.agreements.values() if r.peer == peer]
        return sorted(found, key=lambda r: r.agreement.agreed_ms, reverse=True)

    def holding(self, grant_id: bytes) -> Holding | None:
        return self.holdings.get(grant_id)

    def held_from(self, grantor: PeerId | None = None) -> list[Holding]:
        return [
            h
            for h in self.holdings.values()
            if h.state is HoldingState.HELD and grantor in (None, h.grant.grantor)
        ]

    def issued_to(self, grant_id: bytes) -> PeerId | None:
        return self.issued.get(grant_id)

    def asked(self, query_id: bytes) -> AskedQuery | None:
        return self.queries.get(query_id)

    def apply(self, effects: list[Any]) -> None:
        """Keep what a driver keeps."""
        for effect in effects:
            if isinstance(effect, SaveHolding):
                self.holdings[effect.holding.grant.grant_id] = effect.holding
            elif isinstance(effect, SaveIssued):
                self.issued[effect.grant.grant_id] = effect.grant.grantee
            elif isinstance(effect, EndAgreement):
                record = self.agreements[effect.agreement_id]
                self.agreements[effect.agreement_id] = replace(record, ended_ms=effect.ended_ms)


_counter = itertools.count(1)


def _random(n: int) -> bytes:
    return next(_counter).to_bytes(4, "big") * (n // 4)


def _card(keyring: Keyring, kind: NodeKind) -> Card:
    _, cert = keyring.current(T0)
    return Card.issue(
        keyring.identity,
        link_cert=cert,
        kind=kind,
        name=kind.value,
        issued_ms=T0,
        not_after_ms=T0 + 30 * DAY_MS,
    )


def _connected(card: Card, state: RelationshipState = RelationshipState.CONNECTED) -> Any:
    return SimpleNamespace(state=state, peer_card=card)


def _envelope(sender: MemoryHost, to: MemoryHost, kind: str, body: bytes) -> Envelope:
    return Envelope(
        kind, sender.keyring.identity.peer_id, to.keyring.identity.peer_id, 1, T0, b"n", body, b""
    )


def _parties(terms: TermsDocument | None = None) -> tuple[MemoryHost, MemoryHost, Agreement]:
    """She and a shop, connected, under one agreement both hold."""
    person = MemoryHost(Keyring(b"p" * 32), fields={"email": EMAIL})
    shop = MemoryHost(Keyring(b"s" * 32))
    her, its = person.keyring.identity, shop.keyring.identity
    document = terms or ROSTER["P2B1"].document
    agreement = Agreement.create(document, her, its, b"\x01" * 16, T0)
    person.agreements[agreement.agreement_id] = AgreementRecord(agreement, its.peer_id)
    shop.agreements[agreement.agreement_id] = AgreementRecord(agreement, her.peer_id)
    person.peers[its.peer_id] = _connected(_card(shop.keyring, NodeKind.VENDOR))
    shop.peers[her.peer_id] = _connected(_card(person.keyring, NodeKind.PERSON))
    return person, shop, agreement


def _grant(person: MemoryHost, shop: MemoryHost, duration_ms: int = DAY_MS) -> Any:
    grant, effects = grantor.issue(
        person,
        shop.keyring.identity.peer_id,
        ["email"],
        purpose="service-provision",
        context="order 42",
        duration_ms=duration_ms,
        now_ms=T0,
        random=_random,
    )
    person.apply(effects)
    (deliver,) = [e for e in effects if isinstance(e, Send)]
    return grant, effects, _envelope(person, shop, deliver.type, deliver.body)


def test_a_grant_is_held_receipted_and_timed_in_the_order_both_drivers_carry_out() -> None:
    person, shop, _ = _parties()
    grant, issued, delivery = _grant(person, shop)
    assert [type(e) for e in issued] == [SaveIssued, Audit, Audit, Send, Issued]
    effects = service.receive(shop, delivery, T0 + 10, _random)
    assert [type(e) for e in effects] == [Audit, SaveHolding, Held, Send, ArmTimer]
    assert effects[0] == Audit(
        "grant.received", person.keyring.identity.peer_id, grant.grant_id, effects[0].detail
    )
    shop.apply(effects)
    receipt = next(e for e in effects if isinstance(e, Send))
    back = service.receive(person, _envelope(shop, person, MSG_RECEIPT, receipt.body), T0, _random)
    assert [type(e) for e in back] == [KeepReceipt, Audit, ReceiptCame]
    assert back[2].kind == "delivery"
    # Its timer comes due: deleted, one receipt, an audit entry and an event.
    timer = next(e for e in effects if isinstance(e, ArmTimer))
    due = holder.timer_fired(shop, grant.grant_id, timer.token, timer.at_ms)
    assert [type(e) for e in due] == [DeleteValues, SaveHolding, Deleted, Send, Audit]


def test_a_delivery_under_an_agreement_the_holder_lacks_is_refused() -> None:
    person, shop, agreement = _parties()
    del shop.agreements[agreement.agreement_id]
    _, _, delivery = _grant(person, shop)
    with pytest.raises(GrantPartyError, match="agree on terms first"):
        service.receive(shop, delivery, T0 + 10, _random)


def test_a_grant_for_a_purpose_the_agreement_limits_away_is_not_issued() -> None:
    person, shop, _ = _parties()
    with pytest.raises(NodeError, match="limits use of your data"):
        grantor.issue(
            person,
            shop.keyring.identity.peer_id,
            ["email"],
            purpose="marketing",
            context="",
            duration_ms=DAY_MS,
            now_ms=T0,
            random=_random,
        )


def test_a_breaching_holder_keeps_the_data_when_the_timer_fires() -> None:
    person, shop, _ = _parties()
    shop.keeps_data = True
    grant, _, delivery = _grant(person, shop)
    effects = service.receive(shop, delivery, T0 + 10, _random)
    shop.apply(effects)
    timer = next(e for e in effects if isinstance(e, ArmTimer))
    kept = holder.timer_fired(shop, grant.grant_id, timer.token, timer.at_ms)
    assert kept == [KeptData(grant.grant_id, person.keyring.identity.peer_id)]


def test_the_end_deletes_at_once_unless_a_delete_on_end_clause_gives_days() -> None:
    person, shop, _ = _parties()
    _, _, delivery = _grant(person, shop)
    shop.apply(service.receive(shop, delivery, T0 + 10, _random))
    assert holder.relationships_ended(shop, T0 + 20) == [], "still connected: nothing moves"
    her = person.keyring.identity.peer_id
    shop.peers[her] = _connected(shop.peers[her].peer_card, RelationshipState.ENDED)
    effects = holder.relationships_ended(shop, T0 + 20)
    kinds = [DeleteValues, SaveHolding, Deleted, DisarmTimer, Send, Audit, EndAgreement]
    assert [type(e) for e in effects] == kinds
    assert effects[2].holding.deletion_reason.value == "relationship-ended"

    shop_terms = ROSTER["P2B1"].document
    clauses = [*shop_terms.clauses, Clause.of("amity.delete-on-end", days=30)]
    person, shop, agreement = _parties(TermsDocument.create(clauses, "with delete-on-end"))
    assert delete_within_ms(shop, agreement.agreement_id) == 30 * DAY_MS
    assert in_force(shop, agreement.agreement_id) == agreement


def test_an_agreement_ends_with_its_relationship() -> None:
    """terms.md §10: the end marks the agreement ended once; no grant is made under it after,
    and a holder refuses a delivered grant citing it."""
    person, shop, agreement = _parties()
    grant, _, delivery = _grant(person, shop)
    her, its = person.keyring.identity.peer_id, shop.keyring.identity.peer_id
    person.peers[its] = _connected(person.peers[its].peer_card, RelationshipState.ENDED)
    ended = [e for e in holder.relationships_ended(person, T0 + 30) if isinstance(e, EndAgreement)]
    assert ended == [EndAgreement(agreement.agreement_id, T0 + 30)]
    person.apply(ended)
    assert holder.relationships_ended(person, T0 + 40) == [], "once"
    person.peers[its] = _connected(person.peers[its].peer_card, RelationshipState.CONNECTED)
    with pytest.raises(NodeError, match="ended with your earlier relationship"):
        newest(person, its)
    shop.agreements[agreement.agreement_id] = replace(
        shop.agreements[agreement.agreement_id], ended_ms=T0 + 30
    )
    with pytest.raises(GrantPartyError, match="ended with an earlier relationship"):
        service.receive(shop, delivery, T0 + 50, _random)
    assert her not in shop.agreed_peers() and grant.grantor == her


def test_a_receipt_or_statement_nobody_is_owed_is_refused() -> None:
    person, shop, _ = _parties()
    _, _, delivery = _grant(person, shop)
    effects = service.receive(shop, delivery, T0 + 10, _random)
    receipt = next(e for e in effects if isinstance(e, Send))
    person.issued.clear()
    with pytest.raises(GrantPartyError, match="never granted"):
        service.receive(person, _envelope(shop, person, MSG_RECEIPT, receipt.body), T0, _random)
    query_id = b"q" * 16
    asked = service.receive(
        shop, _envelope(person, shop, MSG_HOLDINGS, encode_holdings_query(query_id)), T0, _random
    )
    statement = next(e for e in asked if isinstance(e, Send))
    answer = _envelope(shop, person, MSG_RECEIPT, statement.body)
    with pytest.raises(GrantPartyError, match="never asked"):
        service.receive(person, answer, T0, _random)
    person.queries[query_id] = AskedQuery(shop.keyring.identity.peer_id, answered=True)
    assert service.receive(person, answer, T0, _random) == [], "the first answer stands"


def test_her_rule_answers_a_request_or_leaves_it_to_her() -> None:
    person, shop, _ = _parties()
    body = encode_request(GrantRequest(("email",), "service-provision", "", DAY_MS))
    request = _envelope(shop, person, MSG_REQUEST, body)
    waits = service.receive(person, request, T0, _random)
    assert [type(e) for e in waits] == [KeepRequest, Audit, RequestCame]
    assert waits[0].state == "pending"
    person.rule = SharingRule(auto_approve=True)
    granted = service.receive(person, request, T0, _random)
    assert granted[0].state == "approved" and granted[0].grant_id is not None
    assert any(isinstance(e, Send) for e in granted), "the grant is delivered at once"


def test_a_cut_off_peer_gets_no_grant_even_when_her_rule_would_approve() -> None:
    person, shop, _ = _parties()
    person.rule = SharingRule(auto_approve=True)
    person.cut_off.add(shop.keyring.identity.peer_id)
    body = encode_request(GrantRequest(("email",), "service-provision", "", DAY_MS))
    effects = service.receive(person, _envelope(shop, person, MSG_REQUEST, body), T0, _random)
    assert effects[0].state == "pending" and not any(isinstance(e, Send) for e in effects)
