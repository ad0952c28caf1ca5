"""A simulated node's reputation service: real attestations shared as reputation.share envelopes."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.core.reputation.cutoff import DECLINED
from amity.protocol.errors import (
    AmityError,
    AttestationExpiredError,
    AttestationSignatureError,
    CutOffError,
    UsageError,
)
from amity.protocol.relationship import SendMessage
from amity.protocol.reputationmessages import (
    MSG_QUERY,
    MSG_SHARE,
    RawItem,
    encode_query,
    encode_share,
)
from amity.protocol.sharing import ShareMode, SharePolicy
from amity.protocol.verdicts import clause_for
from amity.simulations.context import Staged
from amity.simulations.crypto import CryptoMode, crypto_mode
from amity.simulations.node import SimNode
from tests.simulations.test_grants import EMAIL, agreed_pair
from tests.simulations.test_node import Pair
from tests.simulations.test_node import only_negotiation as agreed

_YEAR_MS = 365 * 86_400_000


def _attest(p: Pair, verdict: Verdict = Verdict.HONOURED, note: str = "") -> Attestation:
    agreement = agreed(p.person).agreement
    assert agreement is not None
    now = p.person.now_ms()
    return Attestation.issue(
        p.person.keyring.identity,
        agreement,
        clause_id=agreement.terms.clauses[0].clause_id,
        verdict=verdict,
        issued_ms=now,
        expires_ms=now + _YEAR_MS,
        note=note,
    )


def _held_by(node: SimNode) -> list[bytes]:
    return [h.attestation.encoded for h in node.reputation.held_items()]


def test_an_attestation_goes_to_a_sharing_peer_once_as_a_verified_envelope() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        first, second = _attest(p, note="1"), _attest(p, Verdict.BREACHED, note="2")
        p.person.reputation.attest(first)
        p.person.reputation.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.MINE))
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        assert _held_by(p.vendor) == [first.encoded]
        p.person.reputation.attest(second)
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
    assert _held_by(p.vendor) == [first.encoded, second.encoded]
    assert p.person.reputation.shared == 2 and p.vendor.reputation.received == 2
    (held, _) = p.vendor.reputation.held_items()
    assert held.origin == p.person.peer_id.key and held.hops == 0
    assert p.vendor.reputation.trust.get(first.attestation_id) is held.attestation


def test_nothing_goes_without_a_policy_or_before_approval() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        p.person.reputation.attest(_attest(p, note="pending"), approved=False)
        p.person.reputation.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.NONE))
        p.person.reputation.attest(_attest(p, note="approved"))
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        assert _held_by(p.vendor) == []
        p.person.reputation.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.MINE))
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
    assert [h.attestation.note for h in p.vendor.reputation.held_items()] == ["approved"]


def test_a_forged_item_refuses_the_whole_share_and_the_node_keeps_serving() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        good = _attest(p, note="good")
        forged = bytearray(_attest(p, note="forged").encoded)
        forged[-1] ^= 0x01
        body = encode_share([RawItem(good.encoded, 0, ()), RawItem(bytes(forged), 0, ())])
        p.person.outbox.add(p.vendor.peer_id, MSG_SHARE, body)
        p.person.outbox.flush(p.vendor.peer_id, p.person.links[p.vendor.peer_id][-1])
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        assert p.vendor.rejected == 1 and p.person.refused_by_peers == 1
        assert _held_by(p.vendor) == []
        p.person.reputation.attest(good)
        p.person.reputation.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.MINE))
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
    assert _held_by(p.vendor) == [good.encoded]


def test_a_share_over_the_quota_is_refused() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        p.vendor.reputation.policy = replace(p.vendor.reputation.policy, max_received_per_peer=1)
        for note in ("a", "b"):
            p.person.reputation.attest(_attest(p, note=note))
        p.person.reputation.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.MINE))
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
    assert _held_by(p.vendor) == []
    assert ("vendor", "message.rejected") in [(n, e) for _, n, e in p.log.events]


def test_the_hourly_rate_holds_items_back_for_a_later_pass() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        for note in ("a", "b", "c"):
            p.person.reputation.attest(_attest(p, note=note))
        policy = SharePolicy(ShareMode.MINE, per_hour=2)
        p.person.reputation.set_policy(p.vendor.peer_id, policy)
        p.engine.run(until_ms=p.engine.now_ms + 60_000)
        assert [h.attestation.note for h in p.vendor.reputation.held_items()] == ["a", "b"]
        p.engine.run(until_ms=p.engine.now_ms + 3_600_000)
    assert [h.attestation.note for h in p.vendor.reputation.held_items()] == ["a", "b", "c"]


def test_her_own_verdicts_make_her_local_trust() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        rep = p.person.reputation
        rep.add_direct(p.vendor.peer_id)
        assert rep.result().standing(p.vendor.peer_id).value is None
        rep.attest(_attest(p, Verdict.BREACHED))
        standing = rep.result().standing(p.vendor.peer_id)
    assert standing.value == -1.0 and standing.evidence > 0


def test_the_run_verifies_each_attestation_once_but_checks_expiry_on_every_read() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        made = _attest(p)
        shared = p.person.shared
        first = shared.read_item(RawItem(made.encoded, 0, ()), made.issued_ms)
        again = shared.read_item(RawItem(made.encoded, 2, ()), made.issued_ms)
        assert first.attestation is again.attestation and again.hops == 2
        with pytest.raises(AttestationExpiredError):
            shared.read_item(RawItem(made.encoded, 0, ()), made.expires_ms)
        forged = bytearray(made.encoded)
        forged[-1] ^= 0x01
        with pytest.raises(AttestationSignatureError):
            shared.read_item(RawItem(bytes(forged), 0, ()), made.issued_ms)


def test_an_honoured_grant_is_attested_and_shared_as_the_daemon_does() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        rep = p.person.reputation
        rep.attest_grants(auto_share=True)
        rep.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.MINE))
        grant = p.person.grants.grant(
            p.vendor.peer_id, [EMAIL], purpose="service-provision", duration_ms=5_000
        )
        p.engine.run(until_ms=p.engine.now_ms + 10_000)
    (mine,) = [h.attestation for h in rep.held_items()]
    issued = p.person.grants.issued[grant.grant_id]
    assert mine.verdict is Verdict.HONOURED
    assert mine.clause_id == clause_for(mine.agreement) == "amity.purpose-limitation"  # P2B1
    assert mine.evidence[0] == hashlib.sha256(grant.encoded).digest()
    assert mine.evidence[1] == hashlib.sha256(issued.receipts[-1].encoded).digest()
    assert mine.note.startswith(f"grant {grant.grant_id.hex()[:16]}: deletion receipt")
    assert _held_by(p.vendor) == [mine.encoded], "shared with the vendor (policy mine)"


def test_a_grant_kept_past_its_deadline_is_attested_breached_and_held_for_review() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair(keep_data=True)
        rep = p.person.reputation
        rep.attest_grants()
        rep.policy = replace(rep.policy, receipt_grace_s=60)
        rep.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.MINE))
        grant = p.person.grants.grant(
            p.vendor.peer_id, [EMAIL], purpose="service-provision", duration_ms=5_000
        )
        p.engine.run(until_ms=p.engine.now_ms + 60_000)
        assert list(rep.held_items()) == [], "not before the deadline"
        p.engine.run(until_ms=p.engine.now_ms + 10_000)
    (held,) = rep.held_items()
    assert held.attestation.verdict is Verdict.BREACHED and held.review == "pending"
    assert held.attestation.note.startswith(f"grant {grant.grant_id.hex()[:16]}: delivered, but")
    assert _held_by(p.vendor) == [], "pending review: not shared"


def test_a_policy_that_already_shared_is_not_changed_silently() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        rep = p.person.reputation
        rep.attest(_attest(p))
        rep.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.MINE))
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        rep.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.MINE))  # the same: fine
        with pytest.raises(UsageError, match="set once"):
            rep.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.ALL))


def test_a_query_is_answered_with_what_the_askers_policy_allows() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        mine = _attest(p, Verdict.BREACHED, note="asked for")
        p.person.reputation.attest(mine)
        p.person.reputation.set_policy(p.vendor.peer_id, SharePolicy(ShareMode.MINE))
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        assert _held_by(p.vendor) == [mine.encoded], "shared once, unasked"
        query_id = bytes(range(16))
        body = encode_query(query_id, p.vendor.peer_id)
        p.vendor.commit(Staged(sends=[SendMessage(p.person.peer_id, MSG_QUERY, body)]))
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
    assert p.vendor.rejected == 0 and p.person.rejected == 0
    assert p.person.reputation.shared == 2, "the answer carries it again (spec §6.3)"


def test_a_cut_off_peer_gets_no_grant_and_its_terms_are_declined() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        p.person.reputation.attest(_attest(p, Verdict.BREACHED, note="kept my data"))
        assert p.vendor.peer_id in p.person.reputation.cut_off()
        with pytest.raises(CutOffError, match="cut off by your reputation policy"):
            p.person.grants.grant(
                p.vendor.peer_id, [EMAIL], purpose="service-provision", duration_ms=5_000
            )
        assert p.person.reputation.declines(p.vendor.peer_id) == DECLINED
        assert p.vendor.reputation.declines(p.person.peer_id) is None


def test_a_rebuttal_goes_to_the_attester_and_stays_with_the_attestation() -> None:
    with crypto_mode(CryptoMode.REAL):
        p = agreed_pair()
        agreement = agreed(p.vendor).agreement
        assert agreement is not None
        now = p.vendor.now_ms()
        about_her = Attestation.issue(
            p.vendor.keyring.identity,
            agreement,
            clause_id=agreement.terms.clauses[0].clause_id,
            verdict=Verdict.BREACHED,
            issued_ms=now,
            expires_ms=now + _YEAR_MS,
        )
        p.vendor.reputation.attest(about_her)
        p.vendor.reputation.set_policy(p.person.peer_id, SharePolicy(ShareMode.MINE))
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
        aid = about_her.attestation_id
        assert p.person.reputation.holds(aid)
        with pytest.raises(AmityError, match="only the attestation's subject"):
            p.vendor.reputation.rebut(aid, "not me")
        assert p.person.reputation.rebut(aid, "I never had that data") == [p.vendor.peer_id]
        p.engine.run(until_ms=p.engine.now_ms + 1_000)
    assert p.vendor.rejected == 0
    (kept,) = p.vendor.reputation.rebuttals(aid)
    assert p.person.reputation.rebuttals(aid) == [kept]
