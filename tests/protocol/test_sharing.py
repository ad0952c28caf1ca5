"""The sans-IO sharing rules (spec/reputation.md §6.3, §6.4) that the daemon and simulator share."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.attestation import Attestation
from amity.protocol.errors import (
    AmityError,
    AttestationSignatureError,
    ReputationQuotaError,
    UsageError,
)
from amity.protocol.identity import SigningIdentity
from amity.protocol.reputationmessages import RawItem, Share
from amity.protocol.sharing import (
    APPROVED,
    PENDING,
    RECEIVED,
    ShareMode,
    SharePolicy,
    accept_share,
    allowed,
    hops_out,
)
from tests.strategies import arbitrary_bytes, mutated
from tests.vectors import load_vector_file, unhex

FILE = load_vector_file("reputation_messages")
BY_NAME = {v["name"]: v for v in FILE["vectors"]}
IDS = {n: SigningIdentity(bytes.fromhex(i["seed_hex"])) for n, i in FILE["identities"].items()}
SHARE = BY_NAME["share-unasked-with-rebuttal"]
ATTESTATION = unhex(SHARE["items"][0], "attestation_hex")
BOB_ATTESTATION = unhex(BY_NAME["share-answer"]["items"][1], "attestation_hex")
NOW = SHARE["now_ms"]
ATTESTER = Attestation.decode(ATTESTATION).attester
PEER = b"\x07" * 32
FRIEND = b"\x08" * 32


@dataclass(frozen=True)
class Row:
    attester: bytes
    origin: bytes | None
    hops: int
    expires_ms: int
    review: str


def _own(review: str = APPROVED) -> Row:
    return Row(ATTESTER.key, None, 0, NOW + 1000, review)


def _received(hops: int) -> Row:
    return Row(ATTESTER.key, FRIEND, hops, NOW + 1000, RECEIVED)


MINE = SharePolicy(ShareMode.MINE)
ALL_1 = SharePolicy(ShareMode.ALL, max_hops=1)
ALL_2 = SharePolicy(ShareMode.ALL, max_hops=2)


def test_own_approved_attestations_go_to_any_sharing_peer() -> None:
    assert allowed(_own(), MINE, PEER, NOW)
    assert allowed(_own(), ALL_1, PEER, NOW)
    assert not allowed(_own(), SharePolicy(), PEER, NOW)  # none, the default
    assert not allowed(_own(PENDING), MINE, PEER, NOW)


def test_received_attestations_go_one_hop_further_within_the_limit() -> None:
    assert hops_out(_own()) == 0 and hops_out(_received(0)) == 1
    assert not allowed(_received(0), MINE, PEER, NOW)
    assert allowed(_received(0), ALL_1, PEER, NOW)
    assert not allowed(_received(1), ALL_1, PEER, NOW)
    assert allowed(_received(1), ALL_2, PEER, NOW)


def test_nothing_goes_back_to_its_attester_or_origin_or_after_expiry() -> None:
    assert not allowed(_received(0), ALL_2, FRIEND, NOW)
    assert not allowed(_own(), ALL_2, ATTESTER.key, NOW)
    assert not allowed(_own(), ALL_2, PEER, NOW + 1000)


def test_a_policy_is_checked_when_made() -> None:
    assert SharePolicy.make("all", 2, 10) == SharePolicy(ShareMode.ALL, 2, 10)
    for bad in (("some", 1, 1), ("all", 0, 1), ("all", 99, 1), ("all", 1, 0), ("all", True, 1)):
        with pytest.raises(UsageError):
            SharePolicy.make(*bad)


def _share(*attestations: bytes) -> Share:
    return Share(None, tuple(RawItem(a, 0, ()) for a in attestations))


def test_accept_share_verifies_items_and_leaves_out_the_owners_own() -> None:
    other = IDS["vendor"].peer_id
    got = accept_share(
        _share(ATTESTATION, BOB_ATTESTATION),
        owner=other,
        now_ms=NOW,
        held_from_sender=0,
        max_from_sender=10,
    )
    assert [i.attestation.encoded for i in got.items] == [ATTESTATION, BOB_ATTESTATION]
    mine = accept_share(
        _share(ATTESTATION, BOB_ATTESTATION),
        owner=ATTESTER,
        now_ms=NOW,
        held_from_sender=0,
        max_from_sender=10,
    )
    assert [i.attestation.encoded for i in mine.items] == [BOB_ATTESTATION]
    assert got.expired == mine.expired == 0


def test_accept_share_counts_expired_items_and_drops_them() -> None:
    expires = Attestation.decode(ATTESTATION).expires_ms
    got = accept_share(
        _share(ATTESTATION),
        owner=IDS["vendor"].peer_id,
        now_ms=expires,
        held_from_sender=0,
        max_from_sender=10,
    )
    assert got.items == () and got.expired == 1


def test_accept_share_refuses_a_forged_item_and_a_share_over_the_quota() -> None:
    forged = bytearray(ATTESTATION)
    forged[-1] ^= 0x01
    owner = IDS["vendor"].peer_id
    with pytest.raises(AttestationSignatureError):
        accept_share(
            _share(ATTESTATION, bytes(forged)),
            owner=owner,
            now_ms=NOW,
            held_from_sender=0,
            max_from_sender=10,
        )
    accept_share(
        _share(ATTESTATION), owner=owner, now_ms=NOW, held_from_sender=9, max_from_sender=10
    )
    with pytest.raises(ReputationQuotaError):
        accept_share(
            _share(ATTESTATION, BOB_ATTESTATION),
            owner=owner,
            now_ms=NOW,
            held_from_sender=9,
            max_from_sender=10,
        )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(arbitrary_bytes(), mutated(st.just(ATTESTATION))), st.integers(0, 8)),
        max_size=4,
    )
)
def test_accept_share_raises_only_amity_errors_on_any_items(raw: list[tuple[bytes, int]]) -> None:
    share = Share(None, tuple(RawItem(data, hops, ()) for data, hops in raw))
    try:
        got = accept_share(
            share, owner=IDS["vendor"].peer_id, now_ms=NOW, held_from_sender=0, max_from_sender=3
        )
    except AmityError:
        return
    assert len(got.items) + got.expired <= len(raw)
