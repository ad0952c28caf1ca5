"""Key succession: an identity key hands over to a new key, or declares itself revoked.

A node is its Ed25519 key, so relationships survive a key change only through a signed hand-over:
the old key signs a :class:`RotationStatement` naming the new key and the new key countersigns it.
A :class:`RevocationStatement` is a key's own declaration that it must no longer be trusted from a
given time. :func:`resolve_chain` walks a chain of rotations to the key that is current now.
See spec/succession.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_bytes,
    expect_int,
    expect_str,
)
from amity.protocol.errors import (
    ForkError,
    KeyRevokedError,
    SchemaError,
    SuccessionChainError,
    SuccessionSignatureError,
    TooLargeError,
    UnsupportedVersionError,
    UsageError,
    format_time_ms,
)
from amity.protocol.identity import (
    PEER_ID_BYTES,
    SIGNATURE_BYTES,
    PeerId,
    SigningIdentity,
    verify_signature,
)
from amity.protocol.signed import sign_structure

__all__ = [
    "ROTATION_DOMAIN",
    "ROTATION_ACCEPT_DOMAIN",
    "REVOCATION_DOMAIN",
    "SUCCESSION_VERSION",
    "ROTATION_REASONS",
    "REVOCATION_REASONS",
    "MAX_ROTATION_BYTES",
    "MAX_REVOCATION_BYTES",
    "MAX_CHAIN_STATEMENTS",
    "MAX_REVOCATIONS",
    "RotationStatement",
    "RevocationStatement",
    "resolve_chain",
]

#: The old key signs ``ROTATION_DOMAIN + signed_bytes``.
ROTATION_DOMAIN: Final = b"amity/rotate/v1\x00"
#: The new key signs ``ROTATION_ACCEPT_DOMAIN + signed_bytes`` (the same bytes, its own role).
ROTATION_ACCEPT_DOMAIN: Final = b"amity/rotate-accept/v1\x00"
REVOCATION_DOMAIN: Final = b"amity/revoke/v1\x00"
SUCCESSION_VERSION: Final = 1
ROTATION_REASONS: Final = frozenset({"routine", "compromised", "lost-device"})
REVOCATION_REASONS: Final = frozenset({"compromised", "lost-device", "retired"})
MAX_ROTATION_BYTES: Final = 256
MAX_REVOCATION_BYTES: Final = 256
MAX_CHAIN_STATEMENTS: Final = 256
MAX_REVOCATIONS: Final = 256
_MAX_REASON_BYTES: Final = 32
_ROTATION_ARITY: Final = 5
_REVOCATION_ARITY: Final = 4


@dataclass(frozen=True, slots=True)
class RotationStatement:
    """Key ``old`` hands the identity over to key ``new`` as of ``ts_ms``; both have signed.

    See spec/succession.md §2.
    """

    old: PeerId
    new: PeerId
    reason: str
    ts_ms: int
    encoded: bytes

    @classmethod
    def issue(
        cls, old: SigningIdentity, new: SigningIdentity, reason: str, ts_ms: int
    ) -> RotationStatement:
        """Sign a rotation with the old key and countersign it with the new one; see §2."""
        _check_local(reason, ROTATION_REASONS, ts_ms, "rotation")
        if old.peer_id == new.peer_id:
            raise UsageError("a rotation needs a new key different from the old one")
        signed_bytes = encode([SUCCESSION_VERSION, old.peer_id.key, new.peer_id.key, reason, ts_ms])
        sig_old = old.sign(ROTATION_DOMAIN, signed_bytes)
        sig_new = new.sign(ROTATION_ACCEPT_DOMAIN, signed_bytes)
        data = encode([signed_bytes, sig_old, sig_new])
        return cls(old.peer_id, new.peer_id, reason, ts_ms, data)

    @classmethod
    def decode(cls, data: bytes) -> RotationStatement:
        """Parse a rotation and verify both signatures, in the order of spec/succession.md §4.1."""
        what = "rotation statement"
        signed_bytes, (sig_old, sig_new), fields = _split(
            data, what, signatures=2, arity=_ROTATION_ARITY, max_bytes=MAX_ROTATION_BYTES
        )
        _, old_key, new_key, reason, ts_ms = fields
        old = PeerId(expect_bytes(old_key, f"{what} old key", size=PEER_ID_BYTES))
        new = PeerId(expect_bytes(new_key, f"{what} new key", size=PEER_ID_BYTES))
        if old == new:
            raise SchemaError(f"{what}: old and new key are the same ({old.short})")
        reason_text = _expect_reason(reason, ROTATION_REASONS, what)
        when = expect_int(ts_ms, f"{what} ts_ms")
        verify_signature(
            old,
            ROTATION_DOMAIN,
            signed_bytes,
            sig_old,
            error=SuccessionSignatureError,
            what=f"{what} signature of the old key",
        )
        verify_signature(
            new,
            ROTATION_ACCEPT_DOMAIN,
            signed_bytes,
            sig_new,
            error=SuccessionSignatureError,
            what=f"{what} countersignature of the new key",
        )
        return cls(old, new, reason_text, when, bytes(data))


@dataclass(frozen=True, slots=True)
class RevocationStatement:
    """Key ``key`` declares itself untrustworthy from ``effective_ms`` on.

    See spec/succession.md §3.
    """

    key: PeerId
    reason: str
    effective_ms: int
    encoded: bytes

    @classmethod
    def issue(
        cls, identity: SigningIdentity, reason: str, effective_ms: int
    ) -> RevocationStatement:
        """Self-sign a revocation (it may be made in advance and kept offline); see §3."""
        _check_local(reason, REVOCATION_REASONS, effective_ms, "revocation")
        fields: list[Value] = [SUCCESSION_VERSION, identity.peer_id.key, reason, effective_ms]
        data = sign_structure(fields, REVOCATION_DOMAIN, identity)
        return cls(identity.peer_id, reason, effective_ms, data)

    @classmethod
    def decode(cls, data: bytes) -> RevocationStatement:
        """Parse a revocation and verify its signature, in the order of spec/succession.md §4.2."""
        what = "revocation statement"
        signed_bytes, (signature,), fields = _split(
            data, what, signatures=1, arity=_REVOCATION_ARITY, max_bytes=MAX_REVOCATION_BYTES
        )
        _, key_bytes, reason, effective_ms = fields
        key = PeerId(expect_bytes(key_bytes, f"{what} key", size=PEER_ID_BYTES))
        reason_text = _expect_reason(reason, REVOCATION_REASONS, what)
        when = expect_int(effective_ms, f"{what} effective_ms")
        verify_signature(
            key,
            REVOCATION_DOMAIN,
            signed_bytes,
            signature,
            error=SuccessionSignatureError,
            what=what,
        )
        return cls(key, reason_text, when, bytes(data))


def resolve_chain(
    start: PeerId,
    statements: Sequence[bytes],
    revocations: Sequence[bytes] = (),
    *,
    at_ms: int,
) -> PeerId:
    """Check the rotations that lead from ``start`` and return the key current at ``at_ms``.

    See spec/succession.md §5 for the rules and the order in which they are checked.
    """
    if not isinstance(start, PeerId):
        raise UsageError(f"start must be a PeerId, not {type(start).__name__}")
    if isinstance(at_ms, bool) or not isinstance(at_ms, int) or at_ms < 0:
        raise UsageError("at_ms is a non-negative int of milliseconds since the epoch")
    if len(statements) > MAX_CHAIN_STATEMENTS:
        raise TooLargeError(
            f"{len(statements)} rotation statements; the limit is {MAX_CHAIN_STATEMENTS}"
        )
    if len(revocations) > MAX_REVOCATIONS:
        raise TooLargeError(f"{len(revocations)} revocations; the limit is {MAX_REVOCATIONS}")
    chain = [RotationStatement.decode(raw) for raw in statements]
    revoked_from: dict[PeerId, int] = {}
    for raw in revocations:
        revocation = RevocationStatement.decode(raw)
        earlier = revoked_from.get(revocation.key, revocation.effective_ms)
        revoked_from[revocation.key] = min(earlier, revocation.effective_ms)
    _check_no_fork(chain)
    current = start
    seen = {start}
    last_ts_ms = 0
    for index, rotation in enumerate(chain):
        where = f"rotation #{index}"
        if rotation.old != current:
            raise SuccessionChainError(
                f"{where} starts from {rotation.old.short}, but the chain has reached "
                f"{current.short}; pass the statements in order, with none missing"
            )
        if rotation.ts_ms < last_ts_ms:
            raise SuccessionChainError(
                f"{where} is dated {format_time_ms(rotation.ts_ms)}, before the rotation it "
                f"follows ({format_time_ms(last_ts_ms)}); timestamps must not go backwards"
            )
        if rotation.new in seen:
            raise SuccessionChainError(
                f"{where} rotates back to {rotation.new.short}, a key already in the chain"
            )
        revoked_ms = revoked_from.get(rotation.old)
        if revoked_ms is not None and rotation.ts_ms >= revoked_ms:
            raise KeyRevokedError(
                f"{where} was signed by {rotation.old.short} at {format_time_ms(rotation.ts_ms)}, "
                f"but that key is revoked from {format_time_ms(revoked_ms)}; the rotation is void"
            )
        current = rotation.new
        seen.add(current)
        last_ts_ms = rotation.ts_ms
    revoked_ms = revoked_from.get(current)
    if revoked_ms is not None and revoked_ms <= at_ms:
        raise KeyRevokedError(
            f"key {current.short} is revoked from {format_time_ms(revoked_ms)}; "
            "stop using it and ask the peer for its current key out of band"
        )
    return current


def _check_no_fork(chain: Sequence[RotationStatement]) -> None:
    first_from: dict[PeerId, RotationStatement] = {}
    for index, rotation in enumerate(chain):
        earlier = first_from.setdefault(rotation.old, rotation)
        if earlier is rotation:
            continue
        if earlier.encoded == rotation.encoded:
            raise SuccessionChainError(
                f"rotation #{index} is given twice; pass each statement once"
            )
        raise ForkError(
            f"key {rotation.old.short} signed two different rotations (to {earlier.new.short} "
            f"and to {rotation.new.short}): the key may be compromised; trust neither branch "
            "until the owner is re-verified out of band"
        )


def _split(
    data: bytes, what: str, *, signatures: int, arity: int, max_bytes: int
) -> tuple[bytes, list[bytes], list[Value]]:
    """Decode ``[signed_bytes, sig, ...]`` and check the version before the arity (§4)."""
    outer = expect_array(decode(data, max_bytes=max_bytes), what, arity=1 + signatures)
    signed_bytes = expect_bytes(outer[0], f"{what} signed part", max_size=max_bytes)
    sigs = [
        expect_bytes(sig, f"{what} signature #{index}", size=SIGNATURE_BYTES)
        for index, sig in enumerate(outer[1:])
    ]
    fields = expect_array(decode(signed_bytes, max_bytes=max_bytes), what)
    # A later version may carry other fields: its sender must hear "version.unsupported", not a
    # schema error. bool is refused by type: in Python True == 1, but msgpack true is not 1.
    version = fields[0] if fields else None
    if isinstance(version, bool) or version != SUCCESSION_VERSION:
        raise UnsupportedVersionError(
            f"{what} version {version!r}; this node speaks {SUCCESSION_VERSION}",
            hint="version.unsupported",
        )
    expect_array(fields, what, arity=arity)
    return signed_bytes, sigs, fields


def _expect_reason(value: Value, allowed: frozenset[str], what: str) -> str:
    reason = expect_str(value, f"{what} reason", max_bytes=_MAX_REASON_BYTES)
    if reason not in allowed:
        raise SchemaError(f"{what}: reason {reason!r} is not one of {sorted(allowed)}")
    return reason


def _check_local(reason: str, allowed: frozenset[str], time_ms: int, what: str) -> None:
    if not isinstance(reason, str) or reason not in allowed:
        raise UsageError(f"{what} reason {reason!r} is not one of {sorted(allowed)}")
    if isinstance(time_ms, bool) or not isinstance(time_ms, int) or not 0 <= time_ms < 1 << 64:
        raise UsageError(f"{what} time is an int of milliseconds since the epoch, 0 .. 2**64-1")
