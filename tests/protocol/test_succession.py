"""Key succession: the spec vectors, the rules of spec/succession.md one by one, and fuzzing."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.encoding import decode, encode
from amity.protocol.errors import (
    AmityError,
    KeyRevokedError,
    SchemaError,
    SuccessionError,
    SuccessionSignatureError,
    TooLargeError,
    UsageError,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.succession import (
    MAX_CHAIN_STATEMENTS,
    MAX_REVOCATION_BYTES,
    MAX_ROTATION_BYTES,
    REVOCATION_REASONS,
    ROTATION_ACCEPT_DOMAIN,
    ROTATION_DOMAIN,
    ROTATION_REASONS,
    RevocationStatement,
    RotationStatement,
    resolve_chain,
)
from tests.vectors import unhex, vector_cases

T0 = 1_700_000_000_000
KEYS = [SigningIdentity(bytes([n + 1]) * 32) for n in range(5)]
ROTATION = RotationStatement.issue(KEYS[0], KEYS[1], "routine", T0)
REVOCATION = RevocationStatement.issue(KEYS[0], "compromised", T0)


def _run_vector(vector: dict[str, Any]) -> None:
    """Check the outputs a positive vector names; for a negative one, just run the operation."""
    operation = vector["operation"]
    if operation == "rotation":
        data = unhex(vector, "statement_hex")
        rotation = RotationStatement.decode(data)
        assert rotation.encoded == data
        old = SigningIdentity(unhex(vector, "old_seed_hex"))
        new = SigningIdentity(unhex(vector, "new_seed_hex"))
        issued = RotationStatement.issue(old, new, vector["reason"], vector["ts_ms"])
        assert issued.encoded == data
        assert issued == rotation
        assert rotation.old.key == unhex(vector, "old_key_hex") == old.peer_id.key
        assert rotation.new.key == unhex(vector, "new_key_hex") == new.peer_id.key
        assert (rotation.reason, rotation.ts_ms) == (vector["reason"], vector["ts_ms"])
        outer = decode(data)
        assert isinstance(outer, list)
        assert outer[0] == unhex(vector, "signed_bytes_hex")
    elif operation == "revocation":
        data = unhex(vector, "statement_hex")
        revocation = RevocationStatement.decode(data)
        assert revocation.encoded == data
        identity = SigningIdentity(unhex(vector, "seed_hex"))
        issued = RevocationStatement.issue(identity, vector["reason"], vector["effective_ms"])
        assert issued.encoded == data
        assert issued == revocation
        assert revocation.key.key == unhex(vector, "key_hex")
        assert revocation.effective_ms == vector["effective_ms"]
    elif operation == "resolve_chain":
        final = resolve_chain(
            PeerId(unhex(vector, "start_key_hex")),
            [bytes.fromhex(s) for s in vector["statements_hex"]],
            [bytes.fromhex(r) for r in vector["revocations_hex"]],
            at_ms=vector["at_ms"],
        )
        assert final.key == unhex(vector, "final_key_hex")
    else:
        pytest.fail(f"unknown operation {operation!r}")


@pytest.mark.parametrize("vector", **vector_cases("succession"))
def test_vector(vector: dict[str, Any]) -> None:
    if "error" in vector:
        with pytest.raises(AmityError) as excinfo:
            _run_vector(vector)
        assert excinfo.value.code == vector["error"], excinfo.value.message
    else:
        _run_vector(vector)


# -- issuing: local errors -------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["bored", "", "Routine", "retired"])
def test_issue_rotation_rejects_reasons_outside_the_set(reason: str) -> None:
    with pytest.raises(UsageError):
        RotationStatement.issue(KEYS[0], KEYS[1], reason, T0)


@pytest.mark.parametrize("reason", ["routine", "bored"])
def test_issue_revocation_rejects_reasons_outside_the_set(reason: str) -> None:
    with pytest.raises(UsageError):
        RevocationStatement.issue(KEYS[0], reason, T0)


@pytest.mark.parametrize("ts_ms", [-1, 1 << 64, True])
def test_issue_rejects_times_outside_uint64(ts_ms: int) -> None:
    with pytest.raises(UsageError):
        RotationStatement.issue(KEYS[0], KEYS[1], "routine", ts_ms)
    with pytest.raises(UsageError):
        RevocationStatement.issue(KEYS[0], "retired", ts_ms)


def test_issue_rotation_to_the_same_key_is_refused() -> None:
    with pytest.raises(UsageError):
        RotationStatement.issue(KEYS[0], SigningIdentity(KEYS[0].seed), "routine", T0)


@pytest.mark.parametrize("reason", sorted(ROTATION_REASONS))
def test_every_rotation_reason_round_trips(reason: str) -> None:
    issued = RotationStatement.issue(KEYS[0], KEYS[1], reason, (1 << 64) - 1)
    assert RotationStatement.decode(issued.encoded) == issued
    assert len(issued.encoded) <= MAX_ROTATION_BYTES


@pytest.mark.parametrize("reason", sorted(REVOCATION_REASONS))
def test_every_revocation_reason_round_trips(reason: str) -> None:
    issued = RevocationStatement.issue(KEYS[0], reason, (1 << 64) - 1)
    assert RevocationStatement.decode(issued.encoded) == issued
    assert len(issued.encoded) <= MAX_REVOCATION_BYTES


def test_the_two_rotation_signatures_use_their_own_domains() -> None:
    outer = decode(ROTATION.encoded)
    assert isinstance(outer, list)
    signed_bytes, sig_old, sig_new = outer
    assert isinstance(signed_bytes, bytes)
    assert sig_old == KEYS[0].sign(ROTATION_DOMAIN, signed_bytes)
    assert sig_new == KEYS[1].sign(ROTATION_ACCEPT_DOMAIN, signed_bytes)


def test_swapped_signatures_do_not_verify() -> None:
    outer = decode(ROTATION.encoded)
    assert isinstance(outer, list)
    with pytest.raises(SuccessionSignatureError):
        RotationStatement.decode(encode([outer[0], outer[2], outer[1]]))


def test_a_revocation_is_not_a_rotation() -> None:
    with pytest.raises(SchemaError):
        RotationStatement.decode(REVOCATION.encoded)
    with pytest.raises(SchemaError):
        RevocationStatement.decode(ROTATION.encoded)


# -- resolving chains ------------------------------------------------------------------------------


def _chain(*pairs: tuple[int, int, int]) -> list[bytes]:
    return [RotationStatement.issue(KEYS[a], KEYS[b], "routine", t).encoded for a, b, t in pairs]


def test_fork_is_found_even_when_the_forking_statement_comes_later() -> None:
    chain = _chain((0, 1, T0), (1, 2, T0 + 1), (0, 3, T0 + 2))
    # SuccessionError, not a subclass: the fork has its own class once errors.py gains ForkError.
    with pytest.raises(SuccessionError, match="two different rotations"):
        resolve_chain(KEYS[0].peer_id, chain, at_ms=T0 + 10)


def test_revocation_of_a_middle_key_voids_only_later_rotations() -> None:
    chain = _chain((0, 1, T0), (1, 2, T0 + 5))
    ok = RevocationStatement.issue(KEYS[1], "lost-device", T0 + 6).encoded
    assert resolve_chain(KEYS[0].peer_id, chain, [ok], at_ms=T0 + 10) == KEYS[2].peer_id
    void = RevocationStatement.issue(KEYS[1], "lost-device", T0 + 5).encoded
    with pytest.raises(KeyRevokedError):
        resolve_chain(KEYS[0].peer_id, chain, [ok, void], at_ms=T0 + 10)


def test_revocation_effective_at_zero_voids_every_rotation() -> None:
    chain = _chain((0, 1, 0))
    hard = RevocationStatement.issue(KEYS[0], "compromised", 0).encoded
    with pytest.raises(KeyRevokedError):
        resolve_chain(KEYS[0].peer_id, chain, [hard], at_ms=1)


def test_a_rotation_dated_after_at_ms_still_applies() -> None:
    chain = _chain((0, 1, T0 + 1000))
    assert resolve_chain(KEYS[0].peer_id, chain, at_ms=T0) == KEYS[1].peer_id


def test_too_many_statements_are_refused_before_any_signature_check() -> None:
    with pytest.raises(TooLargeError):
        resolve_chain(KEYS[0].peer_id, [b""] * (MAX_CHAIN_STATEMENTS + 1), at_ms=T0)


@pytest.mark.parametrize("at_ms", [-1, True])
def test_resolve_rejects_a_bad_time(at_ms: int) -> None:
    with pytest.raises(UsageError):
        resolve_chain(KEYS[0].peer_id, [], at_ms=at_ms)


def test_resolve_rejects_a_start_that_is_not_a_peer_id() -> None:
    with pytest.raises(UsageError):
        resolve_chain(KEYS[0].peer_id.key, [], at_ms=T0)  # type: ignore[arg-type]


# -- arbitrary input raises nothing but AmityError -------------------------------------------------


def _mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    """Bit flips, truncations, insertions and splices of one valid statement."""
    flips = st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 7)).map(
        lambda p: valid[: p[0]] + bytes([valid[p[0]] ^ (1 << p[1])]) + valid[p[0] + 1 :]
    )
    cuts = st.integers(0, len(valid) - 1).map(lambda n: valid[:n])
    inserts = st.tuples(st.integers(0, len(valid)), st.binary(min_size=1, max_size=8)).map(
        lambda p: valid[: p[0]] + p[1] + valid[p[0] :]
    )
    return st.one_of(flips, cuts, inserts)


def _decodes_or_raises_amity_error(data: bytes) -> None:
    for decoder in (RotationStatement.decode, RevocationStatement.decode):
        with contextlib.suppress(AmityError):
            decoder(data)


@given(st.binary(max_size=400))
def test_decoders_on_arbitrary_bytes_raise_only_amity_errors(data: bytes) -> None:
    _decodes_or_raises_amity_error(data)


@given(st.one_of(_mutations(ROTATION.encoded), _mutations(REVOCATION.encoded)))
def test_decoders_on_mutated_statements_raise_only_amity_errors(data: bytes) -> None:
    _decodes_or_raises_amity_error(data)


@given(
    st.lists(st.one_of(_mutations(ROTATION.encoded), st.just(ROTATION.encoded)), max_size=3),
    st.lists(st.one_of(_mutations(REVOCATION.encoded), st.just(REVOCATION.encoded)), max_size=2),
    st.integers(0, (1 << 64) - 1),
)
def test_resolve_chain_on_mutated_input_raises_only_amity_errors(
    statements: list[bytes], revocations: list[bytes], at_ms: int
) -> None:
    try:
        final = resolve_chain(KEYS[0].peer_id, statements, revocations, at_ms=at_ms)
    except AmityError:
        return
    assert final in (KEYS[0].peer_id, KEYS[1].peer_id)
