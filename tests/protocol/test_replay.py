"""The replay guard against spec/vectors/replay.json, a reference model, and its persistence."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.envelope import NONCE_BYTES, Envelope, open_envelope, sign_envelope
from amity.protocol.errors import AmityError, DuplicateError, ReplayError, UsageError
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.replay import (
    LIVE_POLICY,
    MAIL_POLICY,
    PeerWindow,
    ReplayGuard,
    ReplayPolicy,
)
from tests.vectors import unhex, vector_cases

ALICE = SigningIdentity(bytes.fromhex("a1" * 32)).peer_id
CAROL = SigningIdentity(bytes.fromhex("ca" * 32)).peer_id
BOB = SigningIdentity(bytes.fromhex("b0" * 32)).peer_id
T0 = 1_767_225_600_000
NAMED_POLICIES = {"LIVE_POLICY": LIVE_POLICY, "MAIL_POLICY": MAIL_POLICY}


def _envelope(seq: int, nonce: bytes, ts_ms: int = T0, sender: PeerId = ALICE) -> Envelope:
    """An envelope as open_envelope would return it (the guard never looks at the bytes)."""
    return Envelope("test.replay", sender, BOB, seq, ts_ms, nonce, b"", b"")


def _nonce(number: int) -> bytes:
    return number.to_bytes(NONCE_BYTES, "big")


def _outcome(guard: ReplayGuard, envelope: Envelope, now_ms: int) -> str:
    try:
        guard.accept(envelope, now_ms)
    except AmityError as exc:
        return exc.code
    return "accept"


# -- vectors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", **vector_cases("replay"))
def test_replay_vector(vector: dict[str, Any]) -> None:
    fields = {k: v for k, v in vector["policy"].items() if k != "name"}
    policy = ReplayPolicy(**fields)
    if "name" in vector["policy"]:
        assert NAMED_POLICIES[vector["policy"]["name"]] == policy
    recipient = SigningIdentity(unhex(vector, "recipient_seed_hex")).peer_id
    senders = {
        name: SigningIdentity(bytes.fromhex(seed)) for name, seed in vector["senders"].items()
    }
    guard = ReplayGuard(policy)
    outcomes, expected = [], []
    for arrival in vector["arrivals"]:
        data = sign_envelope(
            senders[arrival["sender"]],
            type="test.replay",
            recipient=recipient,
            seq=arrival["seq"],
            ts_ms=arrival["ts_ms"],
            nonce=unhex(arrival, "nonce_hex"),
            body=b"",
        )
        envelope = open_envelope(data, recipient=recipient)
        outcomes.append(_outcome(guard, envelope, arrival["now_ms"]))
        expected.append(arrival["expect"])
    assert outcomes == expected


def test_policy_numbers() -> None:
    # spec/replay.md §5 states these numbers; a change here is a change of the spec.
    minute, day = 60_000, 24 * 3_600_000
    assert (
        ReplayPolicy(window=1024, max_age_ms=10 * minute, max_skew_ms=minute, max_nonces=4096)
        == LIVE_POLICY
    )
    assert (
        ReplayPolicy(window=8192, max_age_ms=14 * day, max_skew_ms=minute, max_nonces=16384)
        == MAIL_POLICY
    )


@pytest.mark.parametrize(
    "limits",
    [{"window": 0}, {"max_age_ms": -1}, {"max_skew_ms": -1}, {"max_nonces": 0}],
    ids=repr,
)
def test_policy_limits_must_be_positive(limits: dict[str, int]) -> None:
    with pytest.raises(UsageError):
        ReplayPolicy(**limits)


# -- behaviour ----------------------------------------------------------------------------------


def test_check_changes_nothing() -> None:
    guard = ReplayGuard()
    envelope = _envelope(1, _nonce(1))
    guard.check(envelope, T0)
    guard.check(envelope, T0)
    assert guard.export_peer(ALICE) is None
    guard.accept(envelope, T0)
    with pytest.raises(DuplicateError):
        guard.check(envelope, T0)


def test_forget_drops_the_sender() -> None:
    guard = ReplayGuard()
    envelope = _envelope(1, _nonce(1))
    guard.accept(envelope, T0)
    guard.forget(ALICE)
    assert guard.export_peer(ALICE) is None
    guard.accept(envelope, T0)  # why forget() is only for senders refused upstream anyway


def test_export_is_a_snapshot_and_restore_copies() -> None:
    guard = ReplayGuard()
    guard.accept(_envelope(1, _nonce(1)), T0)
    snapshot = guard.export_peer(ALICE)
    assert snapshot is not None
    guard.accept(_envelope(2, _nonce(2)), T0)
    assert (snapshot.highest, list(snapshot.nonces)) == (1, [_nonce(1)])
    restored = ReplayGuard()
    restored.restore_peer(ALICE, snapshot)
    restored.accept(_envelope(3, _nonce(3)), T0)
    assert snapshot.highest == 1  # the restored guard does not write through to the caller's copy
    with pytest.raises(DuplicateError):
        restored.accept(_envelope(1, _nonce(9)), T0)
    restored.accept(_envelope(2, _nonce(2)), T0)  # unknown to the old snapshot


# -- properties ---------------------------------------------------------------------------------

SMALL = ReplayPolicy(window=16, max_age_ms=1_000, max_skew_ms=100, max_nonces=1 << 20)


@settings(max_examples=200, deadline=None)
@given(
    base=st.integers(min_value=1, max_value=(1 << 64) - SMALL.window),
    offsets=st.sets(st.integers(min_value=0, max_value=SMALL.window - 1), min_size=1),
    data=st.data(),
)
def test_any_permutation_within_window_is_accepted_once(
    base: int, offsets: set[int], data: st.DataObject
) -> None:
    seqs = data.draw(st.permutations(sorted(base + o for o in offsets)), label="arrival order")
    guard = ReplayGuard(SMALL)
    for seq in seqs:
        guard.accept(_envelope(seq, _nonce(seq)), T0)
    replays = data.draw(st.permutations(seqs), label="replay order")
    for seq in replays:
        for nonce in (_nonce(seq), _nonce(0)):  # the same envelope, or the seq with a new nonce
            with pytest.raises(DuplicateError):
                guard.accept(_envelope(seq, nonce), T0)


class _Model:
    """The rules of spec/replay.md §3 as plainly as they can be written: sets, no bitmaps."""

    def __init__(self, policy: ReplayPolicy) -> None:
        self.policy = policy
        self.seqs: dict[PeerId, set[int]] = {}
        self.nonces: dict[PeerId, set[bytes]] = {}

    def accept(self, envelope: Envelope, now_ms: int) -> str:
        policy, sender = self.policy, envelope.sender
        if not now_ms - policy.max_age_ms <= envelope.ts_ms <= now_ms + policy.max_skew_ms:
            return "replay.expired"
        seen = self.seqs.setdefault(sender, set())
        nonces = self.nonces.setdefault(sender, set())
        if envelope.nonce in nonces:
            return "replay.duplicate"
        if seen and envelope.seq <= max(seen) - policy.window:
            return "replay.too_old"
        if envelope.seq in seen:
            return "replay.duplicate"
        seen.add(envelope.seq)
        nonces.add(envelope.nonce)
        return "accept"


_arrivals = st.lists(
    st.tuples(
        st.sampled_from([ALICE, CAROL]),
        st.integers(min_value=1, max_value=60),  # seq: small, so windows overlap and collide
        st.integers(min_value=0, max_value=40),  # nonce label: collisions happen
        # ts_ms - now_ms: often exactly at, or one past, either bound of SMALL's time window
        st.sampled_from([-1_001, -1_000, 0, 100, 101])
        | st.integers(min_value=-1_200, max_value=200),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(_arrivals)
def test_guard_matches_the_reference_model(arrivals: list[tuple[PeerId, int, int, int]]) -> None:
    # Times stay still, and the nonce cache never fills, so the model needs no forgetting.
    guard, model = ReplayGuard(SMALL), _Model(SMALL)
    for sender, seq, nonce, skew in arrivals:
        envelope = _envelope(seq, _nonce(nonce), T0 + skew, sender)
        assert _outcome(guard, envelope, T0) == model.accept(envelope, T0)


@settings(max_examples=100, deadline=None)
@given(history=_arrivals, probes=_arrivals)
def test_export_restore_round_trip(
    history: list[tuple[PeerId, int, int, int]], probes: list[tuple[PeerId, int, int, int]]
) -> None:
    original = ReplayGuard(SMALL)
    for sender, seq, nonce, skew in history:
        _outcome(original, _envelope(seq, _nonce(nonce), T0 + skew, sender), T0)
    restored = ReplayGuard(SMALL)
    for sender in (ALICE, CAROL):
        window = original.export_peer(sender)
        if window is not None:
            assert isinstance(window, PeerWindow)
            restored.restore_peer(sender, window)
    for sender, seq, nonce, skew in probes:
        envelope = _envelope(seq, _nonce(nonce), T0 + skew, sender)
        assert _outcome(restored, envelope, T0) == _outcome(original, envelope, T0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=80))
def test_nothing_is_accepted_twice(seqs: list[int]) -> None:
    # Whatever arrives in whatever order, each seq is accepted at most once and every refusal
    # is a ReplayError; the nonce cache is tiny so the sequence window does the work.
    guard = ReplayGuard(ReplayPolicy(window=8, max_age_ms=1_000, max_skew_ms=100, max_nonces=1))
    accepted: list[int] = []
    for index, seq in enumerate(seqs):
        try:
            guard.accept(_envelope(seq, _nonce(index)), T0)
        except ReplayError:
            continue
        accepted.append(seq)
    assert len(accepted) == len(set(accepted))
