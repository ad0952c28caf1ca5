"""Which attestations go to which peer (spec/reputation.md §6.3), over a real SQLite store and a
real PostgreSQL one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from amity.node.reputation.sharing import select
from amity.node.store import AttestationRow, Store
from amity.protocol.errors import UsageError
from amity.protocol.sharing import APPROVED, PENDING, RECEIVED, WITHHELD, SharePolicy

NOW = 1_800_000_000_000
HOUR = 3_600_000
FRIEND, OTHER, VENDOR = b"F" * 32, b"O" * 32, b"V" * 32
ME = b"M" * 32


@pytest.fixture
def store(store_target: Path | str) -> Iterator[Store]:
    with Store(store_target) as opened:
        yield opened


def row(
    n: int,
    *,
    origin: bytes | None = None,
    review: str = APPROVED,
    hops: int = 0,
    attester: bytes = ME,
    expires_ms: int = NOW + 10 * HOUR,
) -> AttestationRow:
    return AttestationRow(
        attestation_id=bytes([n]) * 32,
        attester=attester,
        subject=VENDOR,
        verdict="breached",
        encoded=b"attestation %d" % n,
        issued_ms=NOW - HOUR,
        expires_ms=expires_ms,
        origin=origin,
        hops=hops,
        review=RECEIVED if origin is not None else review,
        cause=None,
        received_ms=NOW - HOUR + n,
    )


def ids(chosen: list[tuple[bytes, object]]) -> list[int]:
    return [aid[0] for aid, _ in chosen]


def test_the_mode_review_and_hops_decide(store: Store) -> None:
    rows = [
        row(1),
        row(2, review=PENDING),
        row(3, review=WITHHELD),
        row(4, origin=OTHER, attester=OTHER),
        row(5, origin=OTHER, attester=b"A" * 32, hops=1),
        row(6, origin=FRIEND, attester=b"B" * 32),  # came from the friend: never sent back
        row(7, origin=OTHER, attester=FRIEND),  # the friend's own: never sent back
        row(8, expires_ms=NOW),  # expired
    ]
    with store.transaction():
        for r in rows:
            assert store.add_attestation(r)
    assert select(store, FRIEND, SharePolicy.make("none", 1, 500), NOW) == []
    assert ids(select(store, FRIEND, SharePolicy.make("mine", 1, 500), NOW)) == [1]
    chosen = select(store, FRIEND, SharePolicy.make("all", 1, 500), NOW)
    assert ids(chosen) == [1, 4]
    assert [item.hops for _, item in chosen] == [0, 1]  # relayed one hop further
    assert ids(select(store, FRIEND, SharePolicy.make("all", 2, 500), NOW)) == [1, 4, 5]
    # A rebuttal travels with the attestation it answers.
    with store.transaction():
        store.add_rebuttal(bytes([1]) * 32, b"rebuttal of 1", NOW)
    (first, _) = select(store, FRIEND, SharePolicy.make("all", 1, 500), NOW)
    assert first[1].rebuttals == (b"rebuttal of 1",)


def test_each_goes_once_and_the_hourly_rate_holds_the_rest(store: Store) -> None:
    with store.transaction():
        for n in range(1, 8):
            store.add_attestation(row(n))
    policy = SharePolicy.make("mine", 1, 3)
    first = select(store, FRIEND, policy, NOW)
    assert ids(first) == [1, 2, 3]
    with store.transaction():
        store.mark_shared(FRIEND, [aid for aid, _ in first], NOW)
    assert select(store, FRIEND, policy, NOW + 1) == [], "the hour's rate is used up"
    later = select(store, FRIEND, policy, NOW + HOUR + 1)
    assert ids(later) == [4, 5, 6], "an hour on: the next ones, never the same again"
    # An answer to a query may repeat what was sent (unsent_only=False), within the rate.
    again = select(store, OTHER, policy, NOW, unsent_only=False, rows=[row(1)])
    assert ids(again) == [1]


def test_a_policy_is_checked() -> None:
    with pytest.raises(UsageError, match="none, mine or all"):
        SharePolicy.make("everything", 1, 10)
    with pytest.raises(UsageError, match="max_hops"):
        SharePolicy.make("all", 0, 10)
    with pytest.raises(UsageError, match="max_hops"):
        SharePolicy.make("all", 9, 10)
    with pytest.raises(UsageError, match="per_hour"):
        SharePolicy.make("all", 1, 0)


def test_one_automatic_attestation_per_grant(store: Store) -> None:
    grant = b"G" * 16
    first = row(1)
    with store.transaction():
        assert store.add_attestation(AttestationRow(**{**_fields(first), "cause": grant}))
        again = AttestationRow(**{**_fields(row(2)), "cause": grant})
        assert not store.add_attestation(again)
    assert store.caused() == {grant}
    assert len(store.attestations()) == 1


def _fields(r: AttestationRow) -> dict[str, object]:
    return {name: getattr(r, name) for name in AttestationRow.__dataclass_fields__}
