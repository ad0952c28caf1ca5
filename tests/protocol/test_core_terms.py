"""The node core's terms service on its own: two nodes in memory, no daemon, no engine.

Each node is a small TermsHost that keeps what ``Persist`` saves and hands every ``SendMessage``
to the other at once, so the rules (routing, the policy's and the cut-off's answers, the owner's
moves, deadlines, audit entries) are checked as plain calls. The daemon and the simulator run the
same rules (tests/node/test_terms_service.py, tests/simulations/).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from amity.protocol.card import Card, NodeKind
from amity.protocol.core.terms import service
from amity.protocol.core.terms.effects import (
    Answered,
    AnswerFailed,
    ArmTimer,
    Audit,
    DisarmTimer,
    Moved,
    TermsEffect,
    Unreadable,
    Waits,
)
from amity.protocol.encoding import encode
from amity.protocol.envelope import Envelope, open_envelope, sign_envelope
from amity.protocol.errors import NegotiationTransitionError, NodeError, NotFoundError
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.negotiation import (
    MAX_ROUNDS,
    Accept,
    Counter,
    Negotiation,
    NegotiationState,
    Persist,
    Withdraw,
)
from amity.protocol.policy import Policy, parse_policy
from amity.protocol.relationship import Relationship, RelationshipState, Role, SendMessage
from amity.protocol.terms import ROSTER
from amity.protocol.termsmessages import MSG_OFFER, MSG_REJECT, decode_terms_body

NOW = 1_800_000_000_000
P2B1 = ROSTER["P2B1"].document
SHOP = ROSTER["AMITY-SHOP"].document
ACCEPT_P2B1 = parse_policy(
    'version = 1\nvocabulary = 1\ndefault = "reject"\n'
    '[clause."amity.no-tracking"]\naction = "accept"\n'
    '[clause."amity.purpose-limitation"]\naction = "accept"\n'
    '[clause."amity.no-third-party-sharing"]\naction = "accept"\n'
)
S = NegotiationState


class Node:
    """A TermsHost in memory: its negotiations, one relationship per peer, its owner's rules."""

    def __init__(self, seed: int, kind: NodeKind, policy: Policy | None = None) -> None:
        self.keyring = Keyring(bytes([seed]) * 32)
        self.kind = kind
        self.peer_id = self.keyring.identity.peer_id
        self.policy = policy
        self.refusal: str | None = None
        #: (peer, terms id) this node promised to agree to (an intent offer she accepted).
        self.promises: set[tuple[PeerId, bytes]] = set()
        self.book: dict[bytes, Negotiation] = {}
        self.rels: dict[PeerId, Relationship] = {}
        self.seq = 0

    def card(self) -> Card:
        _, cert = self.keyring.current(NOW)
        return Card.issue(
            self.keyring.identity,
            link_cert=cert,
            kind=self.kind,
            name=self.kind.value,
            issued_ms=NOW,
            not_after_ms=NOW + 86_400_000,
        )

    # -- the TermsHost protocol

    def negotiation_by_id(self, negotiation_id: bytes) -> Negotiation | None:
        return self.book.get(negotiation_id)

    def relationship(self, peer: PeerId) -> Relationship | None:
        return self.rels.get(peer)

    def policy_in_force(self) -> Policy | None:
        return self.policy

    def cut_off(self, peer: PeerId) -> str | None:
        return self.refusal

    def holds_agreement(self, agreement_id: bytes, peer: PeerId) -> bool:
        return any(
            n.peer == peer and n.agreement is not None and n.agreement.agreement_id == agreement_id
            for n in self.book.values()
        )

    def promised(self, peer: PeerId, terms_id: bytes, now_ms: int) -> bool:
        return (peer, terms_id) in self.promises

    # -- carrying out

    def apply(self, effects: Sequence[TermsEffect]) -> list[SendMessage]:
        """Keep what is persisted; return what is sent."""
        for effect in effects:
            if isinstance(effect, Persist):
                self.book[effect.negotiation.negotiation_id] = effect.negotiation
        return [e for e in effects if isinstance(e, SendMessage)]

    def envelope(self, send: SendMessage) -> Envelope:
        self.seq += 1
        data = sign_envelope(
            self.keyring.identity,
            type=send.type,
            recipient=send.to,
            seq=self.seq,
            ts_ms=NOW,
            nonce=bytes(16),
            body=send.body,
        )
        return open_envelope(data, recipient=send.to)


def meet(person: Node, vendor: Node) -> None:
    for me, other in ((person, vendor), (vendor, person)):
        me.rels[other.peer_id] = Relationship(
            role=Role.INVITEE if me is person else Role.INVITER,
            state=RelationshipState.CONNECTED,
            peer=other.peer_id,
            invite_secret=bytes(16),
            invite_expires_ms=NOW,
            created_ms=NOW,
            since_ms=NOW,
            peer_card=other.card(),
        )


def deliver(sender: Node, recipient: Node, sends: list[SendMessage]) -> list[TermsEffect]:
    """Hand ``sends`` to ``recipient``'s service; its answer is applied and returned."""
    effects: list[TermsEffect] = []
    for send in sends:
        envelope = sender.envelope(send)
        rel = recipient.rels[sender.peer_id]
        answer = service.receive(recipient, envelope, rel, NOW)
        recipient.apply(answer)
        effects += answer
    return effects


@pytest.fixture
def pair() -> tuple[Node, Node]:
    person, vendor = Node(1, NodeKind.PERSON), Node(2, NodeKind.VENDOR, ACCEPT_P2B1)
    meet(person, vendor)
    return person, vendor


def test_the_policy_accepts_in_the_same_answer(pair: tuple[Node, Node]) -> None:
    person, vendor = pair
    neg, effects = service.offer(person, vendor.peer_id, P2B1, NOW, negotiation_id=b"\x07" * 16)
    assert [type(e) for e in effects] == [Audit, Persist, SendMessage, ArmTimer]
    answer = deliver(person, vendor, person.apply(effects))
    kinds = [type(e).__name__ for e in answer]
    # the peer's offer (audited, saved, timed, noticed), then the policy's accept, then who said so
    assert kinds == [
        "Audit",
        "Persist",
        "ArmTimer",
        "Moved",
        "Audit",
        "Persist",
        "DisarmTimer",
        "SendMessage",
        "Moved",
        "Answered",
    ]
    answered = answer[-1]
    assert isinstance(answered, Answered)
    assert (answered.answer, answered.gate, answered.negotiation.state) == (
        "Accept",
        False,
        S.AGREED,
    )
    audits = [e.kind for e in answer if isinstance(e, Audit)]
    assert audits == ["terms.offer", "agreement"]
    timers = [e for e in answer if isinstance(e, ArmTimer | DisarmTimer)]
    assert {t.negotiation_id for t in timers} == {neg.negotiation_id}
    deliver(vendor, person, [e for e in answer if isinstance(e, SendMessage)])
    assert person.book[neg.negotiation_id].state is S.AGREED


def test_without_a_policy_the_terms_wait_for_a_person(pair: tuple[Node, Node]) -> None:
    person, vendor = pair
    vendor.policy = None
    _, effects = service.offer(person, vendor.peer_id, P2B1, NOW, negotiation_id=b"\x01" * 16)
    answer = deliver(person, vendor, person.apply(effects))
    assert isinstance(answer[-1], Waits) and answer[-1].why == "no policy in force"
    assert not any(isinstance(e, SendMessage) for e in answer)


def test_the_cut_off_rejects_before_the_policy(pair: tuple[Node, Node]) -> None:
    person, vendor = pair
    vendor.refusal = "trust below the threshold"
    _, effects = service.offer(person, vendor.peer_id, P2B1, NOW, negotiation_id=b"\x02" * 16)
    answer = deliver(person, vendor, person.apply(effects))
    answered = answer[-1]
    assert isinstance(answered, Answered) and answered.gate and answered.answer == "Reject"
    assert answered.negotiation.reasons[0].reason == "trust below the threshold"
    assert [e.kind for e in answer if isinstance(e, Audit)] == ["terms.offer", "terms.closed"]


def test_promised_terms_are_accepted_whatever_the_policy_says(pair: tuple[Node, Node]) -> None:
    """A vendor's intent offer countersigned her terms and she took it: those terms, from her,
    are accepted at once even by a policy that would reject them; other terms are not."""
    person, vendor = pair
    vendor.policy = parse_policy('version = 1\nvocabulary = 1\ndefault = "reject"\n')
    vendor.promises.add((person.peer_id, P2B1.terms_id))
    _, effects = service.offer(person, vendor.peer_id, P2B1, NOW, negotiation_id=b"\x03" * 16)
    answered = deliver(person, vendor, person.apply(effects))[-1]
    assert isinstance(answered, Answered) and answered.answer == "Accept" and not answered.gate
    assert answered.negotiation.state is S.AGREED
    _, effects = service.offer(person, vendor.peer_id, SHOP, NOW, negotiation_id=b"\x04" * 16)
    answered = deliver(person, vendor, person.apply(effects))[-1]
    assert isinstance(answered, Answered) and answered.answer == "Reject"


def test_the_cut_off_answers_before_a_promise(pair: tuple[Node, Node]) -> None:
    person, vendor = pair
    vendor.promises.add((person.peer_id, P2B1.terms_id))
    vendor.refusal = "she was cut off since"
    _, effects = service.offer(person, vendor.peer_id, P2B1, NOW, negotiation_id=b"\x05" * 16)
    answered = deliver(person, vendor, person.apply(effects))[-1]
    assert isinstance(answered, Answered) and answered.gate and answered.answer == "Reject"


def test_an_answer_that_fails_leaves_it_to_a_person(
    pair: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    person, vendor = pair
    # An answer the machine refuses (the terms on the table are the peer's, not ours to withdraw).
    # No real policy gives one (an expired offer is refused on arrival; past the last round the
    # policy rejects: the test above), so a stand-in answer reaches this guard, which keeps a
    # policy mistake from losing the offer.
    monkeypatch.setattr(service, "auto_answer", lambda policy, neg: Withdraw())
    _, effects = service.offer(person, vendor.peer_id, P2B1, NOW, negotiation_id=b"\x03" * 16)
    answer = deliver(person, vendor, person.apply(effects))
    failed, waits = answer[-2:]
    assert isinstance(failed, AnswerFailed) and failed.code == "local.state"
    assert isinstance(waits, Waits) and waits.negotiation.our_turn
    assert not any(isinstance(e, SendMessage) for e in answer)


#: A vendor that always counters #NoStalking's no-sharing clause with aggregates allowed.
COUNTER_SHARING = parse_policy(
    'version = 1\nvocabulary = 1\ndefault = "reject"\n'
    '[clause."amity.no-tracking"]\naction = "accept"\n'
    '[clause."amity.purpose-limitation"]\naction = "accept"\n'
    '[clause."amity.no-third-party-sharing"]\naction = "counter"\n'
    "counter = { allow_aggregate = true }\n"
)


def test_a_policy_that_would_counter_past_the_last_round_rejects(pair: tuple[Node, Node]) -> None:
    """The vendor's policy counters each time, until the rounds are used up: then it rejects,
    saying why (a real policy never answers what the machine would refuse)."""
    person, vendor = pair
    vendor.policy = COUNTER_SHARING
    nid = b"\x03" * 16
    _, effects = service.offer(vendor, person.peer_id, ROSTER["AMITY-SHOP"].document, NOW,
                               negotiation_id=nid)  # fmt: skip
    deliver(vendor, person, vendor.apply(effects))  # round 1: the vendor's own terms
    for _ in range(2):  # rounds 2 and 4: she counters with #NoStalking; 3 and 5: its policy
        _, effects = service.move(person, nid, Counter(P2B1), NOW)
        answer = deliver(person, vendor, person.apply(effects))
        sends = vendor.apply(answer)
        assert isinstance(answer[-1], Answered) and answer[-1].answer == "Counter"
        deliver(vendor, person, sends)
    _, effects = service.move(person, nid, Counter(P2B1), NOW)  # round 6
    answer = deliver(person, vendor, person.apply(effects))
    answered = answer[-1]
    assert isinstance(answered, Answered) and answered.answer == "Reject"
    assert answered.negotiation.rounds == MAX_ROUNDS
    (sent,) = [e for e in answer if isinstance(e, SendMessage)]
    assert sent.type == MSG_REJECT and b"all 6 rounds are used" in sent.body


def test_messages_are_routed_to_the_senders_negotiation(pair: tuple[Node, Node]) -> None:
    person, vendor = pair
    vendor.policy = None
    nid = b"\x04" * 16
    _, effects = service.offer(person, vendor.peer_id, P2B1, NOW, negotiation_id=nid)
    sends = person.apply(effects)
    deliver(person, vendor, sends)
    with pytest.raises(NegotiationTransitionError, match="reuses the id"):
        deliver(person, vendor, sends)
    withdrawn, effects = service.move(person, nid, Withdraw(), NOW)
    assert withdrawn.state is S.WITHDRAWN
    stranger = Node(3, NodeKind.PERSON)
    meet(stranger, vendor)  # the same body, signed by another peer: not its negotiation
    with pytest.raises(NegotiationTransitionError, match="no negotiation"):
        deliver(stranger, vendor, person.apply(effects))
    assert vendor.book[nid].state is S.OFFERED


def test_an_offer_we_cannot_read_is_rejected_naming_why(pair: tuple[Node, Node]) -> None:
    person, vendor = pair
    unknown_clause = encode([1, 1, [["amity.no-such-clause", []]], "", ""])
    body = encode([1, b"\x05" * 16, unknown_clause, NOW, NOW + 60_000, None, bytes(64)])
    envelope = person.envelope(SendMessage(vendor.peer_id, MSG_OFFER, body))
    answer = service.receive(vendor, envelope, vendor.rels[person.peer_id], NOW)
    send, unreadable = answer
    assert isinstance(send, SendMessage) and send.type == MSG_REJECT
    assert isinstance(unreadable, Unreadable)
    reject = decode_terms_body(MSG_REJECT, send.body)
    assert reject.reasons[0].reason == unreadable.code
    assert vendor.book == {}


def test_the_owners_moves_are_checked(pair: tuple[Node, Node]) -> None:
    person, vendor = pair
    other = Node(4, NodeKind.PERSON)
    meet(other, person)  # two persons: no terms between them
    with pytest.raises(NodeError, match="not a person and a vendor"):
        service.offer(person, other.peer_id, P2B1, NOW, negotiation_id=b"\x06" * 16)
    with pytest.raises(NodeError, match="no relationship"):
        service.offer(person, Node(5, NodeKind.VENDOR).peer_id, P2B1, NOW, negotiation_id=bytes(16))
    with pytest.raises(NotFoundError, match="to amend"):
        service.offer(
            person, vendor.peer_id, SHOP, NOW, negotiation_id=bytes(16), amends=b"\x09" * 32
        )
    with pytest.raises(NotFoundError):
        service.move(person, b"\x0a" * 16, Accept(), NOW)


def test_a_deadline_expires_the_negotiation(pair: tuple[Node, Node]) -> None:
    person, vendor = pair
    nid = b"\x08" * 16
    _, effects = service.offer(person, vendor.peer_id, SHOP, NOW, negotiation_id=nid)
    person.apply(effects)
    (timer,) = [e for e in effects if isinstance(e, ArmTimer)]
    assert service.timer_fired(person, nid, "stale", timer.at_ms) == []
    expired = service.timer_fired(person, nid, timer.token, timer.at_ms)
    assert [type(e) for e in expired] == [Audit, Persist, Moved]
    moved = expired[-1]
    assert isinstance(moved, Moved) and moved.kind == "expired"
    assert moved.negotiation.state is S.EXPIRED
    assert service.timer_fired(person, b"\x0b" * 16, "deadline-1", NOW) == []
