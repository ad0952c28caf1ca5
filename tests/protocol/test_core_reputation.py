"""The node core's reputation rules over a host in memory: messages, selection, the cut-off gate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from amity.protocol.attestation import Attestation, Rebuttal
from amity.protocol.core.reputation import cutoff, messages
from amity.protocol.core.reputation.effects import Answer, KeepRebuttal, KeepReceived, MarkShared
from amity.protocol.core.reputation.policy import ReputationPolicy
from amity.protocol.core.reputation.selection import choose, room
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    CutOffError,
    RebuttalMismatchError,
    ReputationQuotaError,
    UnknownAttestationError,
)
from amity.protocol.identity import PeerId
from amity.protocol.reputationmessages import (
    MSG_QUERY,
    MSG_REBUT,
    MSG_SHARE,
    RawItem,
    SharedItem,
    decode_share,
    encode_query,
    encode_rebut,
    encode_share,
    read_item,
)
from amity.protocol.sharing import APPROVED, ShareMode, SharePolicy
from amity.protocol.trustindex import TrustState
from tests.protocol.test_reputation import IDS, T0, _attest

ALICE, BOB, CAROL = IDS["alice"], IDS["bob"], IDS["carol"]
NOW = T0 + 1_000


@dataclass
class Row:
    """One attestation held, as the rules read it."""

    attestation: Attestation
    origin: bytes | None = None
    hops: int = 0
    review: str = APPROVED

    @property
    def attestation_id(self) -> bytes:
        return self.attestation.attestation_id

    @property
    def encoded(self) -> bytes:
        return self.attestation.encoded

    @property
    def attester(self) -> bytes:
        return self.attestation.attester.key

    @property
    def expires_ms(self) -> int:
        return self.attestation.expires_ms


@dataclass
class Host:
    """Alice's node, in memory."""

    peer_id: PeerId = ALICE.peer_id
    policy: ReputationPolicy = field(default_factory=ReputationPolicy)
    held: list[Row] = field(default_factory=list)
    policies: dict[PeerId, SharePolicy] = field(default_factory=dict)
    sent_last_hour: int = 0
    from_sender: int = 0

    def held_from(self, sender: PeerId) -> int:
        return self.from_sender

    def holds(self, attestation_id: bytes) -> bool:
        return any(r.attestation_id == attestation_id for r in self.held)

    def about(self, subject: PeerId) -> list[Row]:
        return [r for r in self.held if r.attestation.subject == subject]

    def share_policy(self, peer: PeerId) -> SharePolicy:
        return self.policies.get(peer, SharePolicy())

    def shared_since(self, peer: PeerId, since_ms: int) -> int:
        return self.sent_last_hour

    def rebuttals(self, attestation_id: bytes) -> Sequence[bytes]:
        return ()

    def read_item(self, item: RawItem, now_ms: int) -> SharedItem:
        return read_item(item, now_ms)


def _envelope(sender: PeerId, type_: str, body: bytes) -> Envelope:
    return Envelope(type_, sender, ALICE.peer_id, 1, NOW, b"\0" * 16, body, b"")


def test_a_share_is_kept_with_its_sender_and_the_query_it_answers() -> None:
    theirs = _attest(BOB, CAROL, "breached", 1)
    mine = _attest(ALICE, CAROL, "honoured", 2)
    body = encode_share([RawItem(theirs.encoded, 0, ()), RawItem(mine.encoded, 0, ())], b"q" * 16)
    (kept,) = messages.receive(Host(), _envelope(BOB.peer_id, MSG_SHARE, body), NOW)
    assert isinstance(kept, KeepReceived)
    assert kept.sender == BOB.peer_id and kept.query_id == b"q" * 16
    assert [i.attestation.encoded for i in kept.items] == [theirs.encoded], "her own left out"


def test_a_share_over_the_quota_is_refused_whole() -> None:
    host = Host(policy=ReputationPolicy(max_received_per_peer=1), from_sender=1)
    body = encode_share([RawItem(_attest(BOB, CAROL, "breached", 1).encoded, 0, ())])
    with pytest.raises(ReputationQuotaError):
        messages.receive(host, _envelope(BOB.peer_id, MSG_SHARE, body), NOW)


def test_a_query_is_answered_by_the_askers_policy_and_counted() -> None:
    about = Row(_attest(ALICE, CAROL, "breached", 1))
    host = Host(held=[about, Row(_attest(ALICE, BOB, "honoured", 2))])
    query = encode_query(b"q" * 16, CAROL.peer_id)
    (answer,) = messages.receive(host, _envelope(BOB.peer_id, MSG_QUERY, query), NOW)
    assert isinstance(answer, Answer) and decode_share(answer.body).items == ()  # policy none
    host.policies[BOB.peer_id] = SharePolicy(ShareMode.MINE)
    marked, answer = messages.receive(host, _envelope(BOB.peer_id, MSG_QUERY, query), NOW)
    assert marked == MarkShared(BOB.peer_id, (about.attestation_id,))
    assert isinstance(answer, Answer) and answer.to == BOB.peer_id and answer.type == MSG_SHARE
    share = decode_share(answer.body)
    assert share.query_id == b"q" * 16 and [i.attestation for i in share.items] == [about.encoded]


def test_a_rebuttal_comes_from_the_subject_about_one_held() -> None:
    about_bob = _attest(ALICE, BOB, "breached", 1)
    rebuttal = Rebuttal.issue(BOB, about_bob, text="I deleted it", issued_ms=NOW)
    body = encode_rebut(about_bob.encoded, rebuttal.encoded)
    with pytest.raises(UnknownAttestationError):
        messages.receive(Host(), _envelope(BOB.peer_id, MSG_REBUT, body), NOW)
    host = Host(held=[Row(about_bob)])
    with pytest.raises(RebuttalMismatchError):
        messages.receive(host, _envelope(CAROL.peer_id, MSG_REBUT, body), NOW)
    (kept,) = messages.receive(host, _envelope(BOB.peer_id, MSG_REBUT, body), NOW)
    assert isinstance(kept, KeepRebuttal) and kept.attestation_id == about_bob.attestation_id


def test_selection_keeps_to_the_rate_and_what_was_sent() -> None:
    rows = [Row(_attest(ALICE, CAROL, "honoured", k)) for k in range(3)]
    policy = SharePolicy(ShareMode.MINE, per_hour=2)
    assert room(policy, 1) == 1 and room(SharePolicy(), 0) == 0
    first = rows[0].attestation_id
    chosen = choose(rows, policy, BOB.peer_id.key, NOW, space=room(policy, 0), sent={first})
    assert [aid for aid, _ in chosen] == [r.attestation_id for r in rows[1:]]


def test_the_cut_off_gate_refuses_a_grant_and_declines_terms() -> None:
    trust = TrustState(ALICE.peer_id)
    trust.add(_attest(ALICE, BOB, "breached", 1))
    trust.set_direct({BOB.peer_id})
    policy = ReputationPolicy()
    cut = cutoff.cut_offs(policy, trust.result(now_ms=NOW), ALICE.peer_id)
    assert list(cut) == [BOB.peer_id]
    assert cutoff.changes({}, cut) == ([BOB.peer_id], [])
    assert cutoff.changes(cut, {}) == ([], [BOB.peer_id])
    with pytest.raises(CutOffError, match="below your threshold"):
        cutoff.check_grant(cut, BOB.peer_id)
    cutoff.check_grant(cut, CAROL.peer_id)
    assert cutoff.declines(cut, BOB.peer_id) == cutoff.DECLINED
    assert cutoff.declines(cut, CAROL.peer_id) is None
    assert cutoff.on_existing(policy, 0) == "none" and cutoff.on_existing(policy, 2) == "warn"
