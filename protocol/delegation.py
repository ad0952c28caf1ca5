"""Fourth parties: a capability she signs for an agent that works for her, and its revocation.

Sans-IO. A :class:`Capability` says "agent A may do *this* for me, from then until then"; an agent
whose capability allows it may pass on a narrower one (a chain: each link names its parent and
may only narrow it). A :class:`CapabilityRevocation` by a link's issuer ends it, and every chain
through it, at once. What an agent asks under a chain, and how a chain is checked, is
:mod:`amity.protocol.delegationchain`. See spec/delegation.md §2-§4.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.delegationscope import (
    MAX_SCOPES,
    Scope,
    decode_scope,
    encode_scope,
    widening,
)
from amity.protocol.encoding import (
    Value,
    expect_array,
    expect_bool,
    expect_bytes,
    expect_int,
    expect_str,
)
from amity.protocol.errors import (
    DelegationSignatureError,
    DelegationWidenedError,
    SchemaError,
    UsageError,
    format_time_ms,
)
from amity.protocol.grants import expect_peer, read_signed
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.signed import sign_structure

__all__ = [
    "DELEGATION_DOMAIN",
    "DELEGATION_ID_DOMAIN",
    "DELEGATION_REVOKE_DOMAIN",
    "CAPABILITY_ID_BYTES",
    "MAX_CAPABILITY_BYTES",
    "MAX_REVOCATION_BYTES",
    "MAX_NOTE_BYTES",
    "Capability",
    "CapabilityRevocation",
    "check_link",
]

DELEGATION_DOMAIN: Final = b"amity/delegation/v1\x00"
DELEGATION_ID_DOMAIN: Final = b"amity/delegation-id/v1\x00"
DELEGATION_REVOKE_DOMAIN: Final = b"amity/delegation-revoke/v1\x00"
CAPABILITY_ID_BYTES: Final = 32
MAX_CAPABILITY_BYTES: Final = 4096
MAX_REVOCATION_BYTES: Final = 192
MAX_NOTE_BYTES: Final = 200
_MAX_MS: Final = 2**63 - 1


def _scopes(value: Value, what: str) -> tuple[Scope, ...]:
    items = expect_array(value, what, max_len=MAX_SCOPES)
    if not items:
        raise SchemaError(f"{what}: names no scope")
    scopes = tuple(decode_scope(item, f"{what} entry") for item in items)
    names = [s.name for s in scopes]
    if names != sorted(set(names)):
        raise SchemaError(f"{what}: one scope of each kind, in ascending order of their names")
    return scopes


@dataclass(frozen=True, slots=True)
class Capability:
    """``issuer`` lets ``agent`` act within ``scopes`` from ``not_before_ms`` until
    ``not_after_ms`` (spec/delegation.md §2). ``parent`` is None for her own capability (the
    root of a chain), else the id of the capability its issuer holds."""

    issuer: PeerId
    agent: PeerId
    parent: bytes | None
    scopes: tuple[Scope, ...]
    #: Whether the agent may pass a narrower capability on (a longer chain).
    redelegate: bool
    not_before_ms: int
    not_after_ms: int
    issued_ms: int
    note: str
    encoded: bytes = field(repr=False)
    #: SHA-256("amity/delegation-id/v1\0" || signed_bytes): what a chain and a revocation name.
    capability_id: bytes = field(default=b"", repr=False)

    def live_at(self, now_ms: int) -> bool:
        return self.not_before_ms <= now_ms < self.not_after_ms

    def scope(self, name: str) -> Scope | None:
        return next((s for s in self.scopes if s.name == name), None)

    @classmethod
    def create(
        cls,
        issuer: SigningIdentity,
        agent: PeerId,
        *,
        scopes: Sequence[Scope],
        not_before_ms: int,
        not_after_ms: int,
        issued_ms: int,
        parent: Capability | None = None,
        redelegate: bool = False,
        note: str = "",
    ) -> Capability:
        """Sign a capability; one under ``parent`` must narrow it (checked here, as a reader
        would: a widened link is refused before it is made)."""
        if parent is not None and parent.agent != issuer.peer_id:
            raise UsageError("only the agent a capability names passes it on")
        ordered = sorted(scopes, key=lambda s: s.name)
        fields: list[Value] = [
            1, issuer.peer_id.key, agent.key, b"" if parent is None else parent.capability_id,
            [encode_scope(s) for s in ordered], redelegate, not_before_ms, not_after_ms,
            issued_ms, note,
        ]  # fmt: skip
        try:
            made = cls.decode(sign_structure(fields, DELEGATION_DOMAIN, issuer))
        except SchemaError as exc:
            raise UsageError(f"this capability breaks a rule: {exc.message}") from None
        if parent is not None:
            check_link(parent, made)  # the chain's rule, once, for what we sign
        return made

    @classmethod
    def decode(cls, data: bytes) -> Capability:
        """Read a capability and verify it under the issuer it names (spec/delegation.md §2)."""
        what = "capability"
        parts = read_signed(data, what, arity=10, max_bytes=MAX_CAPABILITY_BYTES)
        _, issuer, agent, parent, scopes, redelegate, nb, na, issued, note = parts.fields
        parent_id = expect_bytes(parent, f"{what} parent", max_size=CAPABILITY_ID_BYTES)
        if parent_id and len(parent_id) != CAPABILITY_ID_BYTES:
            raise SchemaError(f"{what} parent: empty or {CAPABILITY_ID_BYTES} bytes")
        capability = cls(
            expect_peer(issuer, f"{what} issuer"),
            expect_peer(agent, f"{what} agent"),
            parent_id or None,
            _scopes(scopes, f"{what} scopes"),
            expect_bool(redelegate, f"{what} redelegate"),
            expect_int(nb, f"{what} not_before_ms", hi=_MAX_MS),
            expect_int(na, f"{what} not_after_ms", hi=_MAX_MS),
            expect_int(issued, f"{what} issued_ms", hi=_MAX_MS),
            expect_str(note, f"{what} note", max_bytes=MAX_NOTE_BYTES),
            bytes(data),
            hashlib.sha256(DELEGATION_ID_DOMAIN + parts.signed_bytes).digest(),
        )
        if capability.not_after_ms <= capability.not_before_ms:
            raise SchemaError(f"{what}: not_after_ms must be after not_before_ms")
        if capability.issuer == capability.agent:
            raise SchemaError(f"{what}: the issuer and the agent are one key")
        parts.verify(
            capability.issuer, DELEGATION_DOMAIN, error=DelegationSignatureError, what=what
        )
        return capability


@dataclass(frozen=True, slots=True)
class CapabilityRevocation:
    """The issuer of a capability ends it, and every chain through it (spec/delegation.md §4)."""

    capability_id: bytes
    issuer: PeerId
    revoked_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def create(
        cls, issuer: SigningIdentity, capability: Capability, revoked_ms: int
    ) -> CapabilityRevocation:
        if capability.issuer != issuer.peer_id:
            raise UsageError("only the issuer of a capability revokes it")
        fields: list[Value] = [1, capability.capability_id, issuer.peer_id.key, revoked_ms]
        return cls.decode(sign_structure(fields, DELEGATION_REVOKE_DOMAIN, issuer))

    @classmethod
    def decode(cls, data: bytes) -> CapabilityRevocation:
        what = "capability revocation"
        parts = read_signed(data, what, arity=4, max_bytes=MAX_REVOCATION_BYTES)
        _, capability_id, issuer, at = parts.fields
        revocation = cls(
            expect_bytes(capability_id, f"{what} capability id", size=CAPABILITY_ID_BYTES),
            expect_peer(issuer, f"{what} issuer"),
            expect_int(at, f"{what} revoked_ms", hi=_MAX_MS),
            bytes(data),
        )
        parts.verify(
            revocation.issuer, DELEGATION_REVOKE_DOMAIN, error=DelegationSignatureError, what=what
        )
        return revocation


def check_link(parent: Capability, child: Capability) -> None:
    """``child`` follows from ``parent``: signed by its agent, naming it, and only narrower."""
    if child.parent != parent.capability_id or child.issuer != parent.agent:
        raise DelegationWidenedError(
            "a capability in the chain is not issued under the one before it by its agent"
        )
    if not parent.redelegate:
        raise DelegationWidenedError(
            f"capability {parent.capability_id.hex()[:8]} does not let its agent pass it on"
        )
    if child.not_before_ms < parent.not_before_ms or child.not_after_ms > parent.not_after_ms:
        raise DelegationWidenedError(
            f"a capability runs until {format_time_ms(child.not_after_ms)} under one that ends "
            f"{format_time_ms(parent.not_after_ms)}: a link may only narrow its time"
        )
    for scope in child.scopes:
        above = parent.scope(scope.name)
        why = f"{scope.name} is not in its parent" if above is None else widening(above, scope)
        if why is not None:
            raise DelegationWidenedError(f"a link widens the capability above it: {why}")
