"""Test vectors for spec/succession.md: rotation and revocation statements, and chain resolution.

Every key is made from a fixed 32-byte seed and every time is fixed, so the output is identical on
every run (Ed25519 signatures are deterministic). Negative vectors that need a structure the
public API refuses to make (version 2, an unknown reason, a wrong countersignature) are signed
here field by field, so their signatures are valid and only the named defect remains.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.encoding import Value, encode
from amity.protocol.errors import (
    BadKeyError,
    ForkError,
    KeyRevokedError,
    MalformedError,
    SchemaError,
    SuccessionChainError,
    SuccessionSignatureError,
    UnsupportedVersionError,
)
from amity.protocol.identity import SigningIdentity
from amity.protocol.succession import (
    REVOCATION_DOMAIN,
    ROTATION_ACCEPT_DOMAIN,
    ROTATION_DOMAIN,
    RevocationStatement,
    RotationStatement,
)

#: Base time: 2023-11-14T22:13:20Z.
T0 = 1_700_000_000_000
DAY_MS = 86_400_000
SEEDS = [bytes([0xA0 + n]) * 32 for n in range(6)]
KEYS = [SigningIdentity(seed) for seed in SEEDS]

BAD_SIGNATURE = SuccessionSignatureError.code
BROKEN_CHAIN = SuccessionChainError.code
FORK = ForkError.code
REVOKED = KeyRevokedError.code


def _rotate(old: int, new: int, ts_ms: int, reason: str = "routine") -> bytes:
    return RotationStatement.issue(KEYS[old], KEYS[new], reason, ts_ms).encoded


def _revoke(key: int, effective_ms: int, reason: str = "compromised") -> bytes:
    return RevocationStatement.issue(KEYS[key], reason, effective_ms).encoded


def _raw_rotation(
    fields: list[Value],
    old: SigningIdentity,
    new: SigningIdentity,
    new_domain: bytes = ROTATION_ACCEPT_DOMAIN,
) -> bytes:
    signed_bytes = encode(fields)
    return encode(
        [signed_bytes, old.sign(ROTATION_DOMAIN, signed_bytes), new.sign(new_domain, signed_bytes)]
    )


def _flip_bit(data: bytes, offset_from_end: int) -> bytes:
    # A rotation ends with sig_new (64 bytes), preceded by sig_old and its 2-byte bin header, so
    # offset 1 lands in sig_new and offset 64 + 2 + 1 in sig_old.
    index = len(data) - offset_from_end
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _rotation_vector(name: str, description: str, old: int, new: int, reason: str) -> Any:
    statement = RotationStatement.issue(KEYS[old], KEYS[new], reason, T0)
    signed_bytes = encode([1, KEYS[old].peer_id.key, KEYS[new].peer_id.key, reason, T0])
    return {
        "name": name,
        "description": description,
        "operation": "rotation",
        "old_seed_hex": SEEDS[old].hex(),
        "new_seed_hex": SEEDS[new].hex(),
        "reason": reason,
        "ts_ms": T0,
        "old_key_hex": KEYS[old].peer_id.key.hex(),
        "new_key_hex": KEYS[new].peer_id.key.hex(),
        "signed_bytes_hex": signed_bytes.hex(),
        "statement_hex": statement.encoded.hex(),
    }


def _decode_error(operation: str, name: str, description: str, data: bytes, error: str) -> Any:
    return {
        "name": name,
        "description": description,
        "operation": operation,
        "statement_hex": data.hex(),
        "error": error,
    }


def _chain(
    name: str,
    description: str,
    statements: list[bytes],
    revocations: list[bytes],
    at_ms: int,
    *,
    final: int | None = None,
    error: str | None = None,
) -> Any:
    vector: dict[str, Any] = {
        "name": name,
        "description": description,
        "operation": "resolve_chain",
        "start_key_hex": KEYS[0].peer_id.key.hex(),
        "statements_hex": [s.hex() for s in statements],
        "revocations_hex": [r.hex() for r in revocations],
        "at_ms": at_ms,
    }
    if final is not None:
        vector["final_key_hex"] = KEYS[final].peer_id.key.hex()
    if error is not None:
        vector["error"] = error
    return vector


def _decode_vectors() -> list[Any]:
    k0, k1, k2 = KEYS[0], KEYS[1], KEYS[2]
    good = _rotate(0, 1, T0)
    fields: list[Value] = [1, k0.peer_id.key, k1.peer_id.key, "routine", T0]
    revocation = _revoke(0, T0)
    routine_fields = encode([1, k0.peer_id.key, "routine", T0])
    revocation_routine = encode([routine_fields, k0.sign(REVOCATION_DOMAIN, routine_fields)])
    return [
        _rotation_vector(
            "rotation-routine", "A routine rotation from key 0 to key 1.", 0, 1, "routine"
        ),
        _rotation_vector(
            "rotation-compromised",
            "A rotation away from a compromised key 1 to key 2.",
            1,
            2,
            "compromised",
        ),
        _decode_error(
            "rotation",
            "rotation-bad-old-signature",
            "One bit of the old key's signature is flipped.",
            _flip_bit(good, 64 + 2 + 1),
            BAD_SIGNATURE,
        ),
        _decode_error(
            "rotation",
            "rotation-bad-new-signature",
            "One bit of the new key's countersignature is flipped.",
            _flip_bit(good, 1),
            BAD_SIGNATURE,
        ),
        _decode_error(
            "rotation",
            "rotation-countersigned-by-another-key",
            "Key 0 names key 1 as successor but key 2 countersigns: no proof of possession.",
            _raw_rotation(fields, k0, k2),
            BAD_SIGNATURE,
        ),
        _decode_error(
            "rotation",
            "rotation-countersigned-in-old-role",
            "The new key signs under amity/rotate/v1 instead of amity/rotate-accept/v1.",
            _raw_rotation(fields, k0, k1, ROTATION_DOMAIN),
            BAD_SIGNATURE,
        ),
        _decode_error(
            "rotation",
            "rotation-wrong-version",
            "Version 2, validly signed by both keys.",
            _raw_rotation([2, *fields[1:]], k0, k1),
            UnsupportedVersionError.code,
        ),
        _decode_error(
            "rotation",
            "rotation-version-true",
            "The version field is msgpack true, not the integer 1.",
            _raw_rotation([True, *fields[1:]], k0, k1),
            UnsupportedVersionError.code,
        ),
        _decode_error(
            "rotation",
            "rotation-version-2-other-shape",
            "Version 2 with six fields: the version is read before the arity.",
            _raw_rotation([2, *fields[1:], b"future"], k0, k1),
            UnsupportedVersionError.code,
        ),
        _decode_error(
            "rotation",
            "rotation-new-key-small-order",
            "The new key is the Ed25519 identity point (small order), refused before signatures.",
            _raw_rotation([1, k0.peer_id.key, b"\x01" + bytes(31), "routine", T0], k0, k1),
            BadKeyError.code,
        ),
        _decode_error(
            "rotation",
            "rotation-unknown-reason",
            "Reason 'bored' is not in the closed set, though both keys signed it.",
            _raw_rotation([*fields[:3], "bored", T0], k0, k1),
            SchemaError.code,
        ),
        _decode_error(
            "rotation",
            "rotation-to-same-key",
            "Old and new key are the same key, which signs twice.",
            _raw_rotation([1, k0.peer_id.key, k0.peer_id.key, "routine", T0], k0, k0),
            SchemaError.code,
        ),
        _decode_error(
            "rotation",
            "rotation-truncated",
            "A valid rotation without its last byte.",
            good[:-1],
            MalformedError.code,
        ),
        {
            "name": "revocation-compromised",
            "description": "Key 0 declares itself compromised from T0 on.",
            "operation": "revocation",
            "seed_hex": SEEDS[0].hex(),
            "reason": "compromised",
            "effective_ms": T0,
            "key_hex": k0.peer_id.key.hex(),
            "statement_hex": revocation.hex(),
        },
        _decode_error(
            "revocation",
            "revocation-bad-signature",
            "One bit of the revocation's signature is flipped.",
            _flip_bit(revocation, 1),
            BAD_SIGNATURE,
        ),
        _decode_error(
            "revocation",
            "revocation-unknown-reason",
            "'routine' is a rotation reason, not a revocation reason.",
            revocation_routine,
            SchemaError.code,
        ),
        _decode_error(
            "revocation",
            "revocation-truncated",
            "A valid revocation without its last byte.",
            revocation[:-1],
            MalformedError.code,
        ),
    ]


def _chain_vectors() -> list[Any]:
    r01, r12, r23 = _rotate(0, 1, T0), _rotate(1, 2, T0 + DAY_MS), _rotate(2, 3, T0 + 2 * DAY_MS)
    now = T0 + 10 * DAY_MS
    return [
        _chain("chain-empty", "No rotations: the start key is current.", [], [], now, final=0),
        _chain("chain-single-rotation", "Key 0 rotated to key 1.", [r01], [], now, final=1),
        _chain("chain-of-three", "Keys 0 -> 1 -> 2 -> 3.", [r01, r12, r23], [], now, final=3),
        _chain(
            "chain-equal-timestamps",
            "Two rotations at the same instant: timestamps may repeat, not go backwards.",
            [r01, _rotate(1, 2, T0)],
            [],
            now,
            final=2,
        ),
        _chain(
            "chain-old-key-revoked-after-rotation",
            "Key 0 is revoked from after its rotation: the rotation stands.",
            [r01, r12],
            [_revoke(0, T0 + 1)],
            now,
            final=2,
        ),
        _chain(
            "chain-final-key-revoked-later",
            "Key 1 is revoked from one ms after at_ms: it is still current at at_ms.",
            [r01],
            [_revoke(1, now + 1, "retired")],
            now,
            final=1,
        ),
        _chain(
            "chain-unrelated-revocation",
            "A revocation of key 5, which is not in the chain, changes nothing.",
            [r01],
            [_revoke(5, T0)],
            now,
            final=1,
        ),
        _chain(
            "chain-broken",
            "Key 0 -> 1, then a rotation from key 2: a link is missing.",
            [r01, r23],
            [],
            now,
            error=BROKEN_CHAIN,
        ),
        _chain(
            "chain-out-of-order",
            "The right statements in the wrong order.",
            [r12, r01],
            [],
            now,
            error=BROKEN_CHAIN,
        ),
        _chain(
            "chain-timestamp-backwards",
            "Key 1 -> 2 is dated one ms before key 0 -> 1.",
            [r01, _rotate(1, 2, T0 - 1)],
            [],
            now,
            error=BROKEN_CHAIN,
        ),
        _chain(
            "chain-cycle",
            "Key 0 -> 1 -> 0: a key may appear only once in a chain.",
            [r01, _rotate(1, 0, T0 + DAY_MS)],
            [],
            now,
            error=BROKEN_CHAIN,
        ),
        _chain(
            "chain-duplicate-statement",
            "The same rotation given twice.",
            [r01, r01],
            [],
            now,
            error=BROKEN_CHAIN,
        ),
        _chain(
            "chain-fork",
            "Key 0 signed rotations to key 1 and to key 2: evidence that key 0 is compromised.",
            [r01, _rotate(0, 2, T0 + DAY_MS, "compromised")],
            [],
            now,
            error=FORK,
        ),
        _chain(
            "chain-fork-same-successor",
            "Key 0 signed two different rotations to key 1 (different reason and time).",
            [r01, _rotate(0, 1, T0 + 1, "lost-device")],
            [],
            now,
            error=FORK,
        ),
        _chain(
            "chain-rotation-after-revocation",
            "Key 0 is revoked from T0 - 1; its rotation at T0 is void.",
            [r01],
            [_revoke(0, T0 - 1)],
            now,
            error=REVOKED,
        ),
        _chain(
            "chain-rotation-at-revocation-time",
            "Key 0 is revoked from exactly T0, the rotation's own time: the rotation is void.",
            [r01],
            [_revoke(0, T0)],
            now,
            error=REVOKED,
        ),
        _chain(
            "chain-revoked-final-key",
            "Key 1, the end of the chain, is revoked from exactly at_ms.",
            [r01],
            [_revoke(1, now, "lost-device")],
            now,
            error=REVOKED,
        ),
        _chain(
            "chain-revoked-start-key",
            "No rotations and the start key is revoked.",
            [],
            [_revoke(0, T0)],
            now,
            error=REVOKED,
        ),
        _chain(
            "chain-tampered-statement",
            "The second rotation carries a flipped bit in its countersignature.",
            [r01, _flip_bit(r12, 1)],
            [],
            now,
            error=BAD_SIGNATURE,
        ),
        _chain(
            "chain-tampered-revocation",
            "A revocation with a flipped bit in its signature fails the whole call.",
            [r01],
            [_flip_bit(_revoke(5, T0), 1)],
            now,
            error=BAD_SIGNATURE,
        ),
    ]


def build() -> dict[str, Any]:
    vectors = _decode_vectors() + _chain_vectors()
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "amity key succession: rotation, revocation, chain resolution",
        "spec": "spec/succession.md",
        "notes": (
            "Keys are Ed25519 keys made from the 32-byte seeds given (*_seed_hex); *_key_hex are "
            "their public keys. operation 'rotation': RotationStatement.issue(old, new, reason, "
            "ts_ms) must give statement_hex, and decoding statement_hex must give the fields; "
            "negative ones: decoding statement_hex must fail with error. operation 'revocation': "
            "the same for RevocationStatement. operation 'resolve_chain': resolve_chain(start, "
            "statements, revocations, at_ms) must return final_key_hex or fail with error. "
            "Signature offsets: a rotation ends with sig_new (64 bytes), preceded by its 2-byte "
            "bin header and sig_old."
        ),
        "vectors": vectors,
    }
