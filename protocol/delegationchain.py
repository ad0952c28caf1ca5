"""What an agent asks under a chain of capabilities, and how anyone checks the chain. Sans-IO.

An :class:`Act` is signed by the agent: "for her, under capability C, grant fields F to vendor V
for purpose P, for D ms". :func:`verify_chain` checks a chain from her own capability down to the
agent's (each link signed by the agent of the one before, each only narrower, none revoked, all
live); :func:`check_act` that the act falls inside the last link. Her node runs both before it
acts; a vendor runs both again before it takes what she granted on the agent's word.
See spec/delegation.md §5-§6.
"""

from __future__ import annotations

import itertools
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.delegation import CAPABILITY_ID_BYTES, Capability, check_link
from amity.protocol.delegationscope import GRANT
from amity.protocol.encoding import Value, expect_bytes, expect_int, expect_str
from amity.protocol.errors import (
    DelegationExpiredError,
    DelegationPartyError,
    DelegationRevokedError,
    DelegationScopeError,
    DelegationSignatureError,
    SchemaError,
    UsageError,
    format_time_ms,
)
from amity.protocol.grants import (
    GRANT_ID_BYTES,
    MAX_CONTEXT_BYTES,
    MAX_PURPOSE_BYTES,
    PURPOSE_PATTERN,
    Grant,
    check_names,
    expect_names,
    expect_peer,
    read_signed,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.signed import sign_structure
from amity.protocol.vault import ONE_LINE_PATTERN

__all__ = [
    "ACT_DOMAIN",
    "ACT_GRANT",
    "MAX_CHAIN",
    "MAX_ACT_BYTES",
    "DAY_MS",
    "CLOCK_SKEW_MS",
    "Act",
    "verify_chain",
    "check_act",
    "check_grant",
]

ACT_DOMAIN: Final = b"amity/delegation-act/v1\x00"
ACT_GRANT: Final = "grant"
#: Her capability and at most three re-delegations below it.
MAX_CHAIN: Final = 4
MAX_ACT_BYTES: Final = 2048
DAY_MS: Final = 24 * 3600 * 1000
#: Clocks differ: a link that starts up to this much after a reader's now is live for it (§6).
CLOCK_SKEW_MS: Final = 5 * 60 * 1000
_MAX_MS: Final = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Act:
    """The agent's signed request to act for ``person`` under ``capability_id`` (§5)."""

    act_id: bytes
    agent: PeerId
    person: PeerId
    capability_id: bytes
    action: str
    vendor: PeerId
    fields: tuple[str, ...]
    purpose: str
    context: str
    duration_ms: int
    issued_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def grant_for(
        cls,
        agent: SigningIdentity,
        capability: Capability,
        *,
        person: PeerId,
        act_id: bytes,
        vendor: PeerId,
        fields: Sequence[str],
        purpose: str,
        context: str,
        duration_ms: int,
        issued_ms: int,
    ) -> Act:
        """Sign the agent's request to grant ``fields`` of ``person`` to ``vendor`` under the
        last link of its chain, ``capability``."""
        if capability.agent != agent.peer_id:
            raise UsageError("an agent acts only under a capability that names it")
        values: list[Value] = [
            1, act_id, agent.peer_id.key, person.key, capability.capability_id, ACT_GRANT,
            vendor.key, list(check_names(fields)), purpose, context, duration_ms, issued_ms,
        ]  # fmt: skip
        try:
            return cls.decode(sign_structure(values, ACT_DOMAIN, agent))
        except SchemaError as exc:
            raise UsageError(f"this act breaks a rule: {exc.message}") from None

    @classmethod
    def decode(cls, data: bytes) -> Act:
        """Read an act and verify it under the agent it names."""
        what = "delegated act"
        parts = read_signed(data, what, arity=12, max_bytes=MAX_ACT_BYTES)
        _, act_id, agent, person, cap, action, vendor, names, purpose, context, ms, at = (
            parts.fields
        )
        act = cls(
            expect_bytes(act_id, f"{what} id", size=GRANT_ID_BYTES),
            expect_peer(agent, f"{what} agent"),
            expect_peer(person, f"{what} person"),
            expect_bytes(cap, f"{what} capability", size=CAPABILITY_ID_BYTES),
            expect_str(action, f"{what} action", max_bytes=32),
            expect_peer(vendor, f"{what} vendor"),
            expect_names(names, f"{what} fields"),
            expect_str(
                purpose, f"{what} purpose", max_bytes=MAX_PURPOSE_BYTES, pattern=PURPOSE_PATTERN
            ),
            expect_str(
                context, f"{what} context", max_bytes=MAX_CONTEXT_BYTES, pattern=ONE_LINE_PATTERN
            ),
            expect_int(ms, f"{what} duration_ms", lo=1, hi=_MAX_MS),
            expect_int(at, f"{what} issued_ms", hi=_MAX_MS),
            bytes(data),
        )
        if act.action != ACT_GRANT:
            raise SchemaError(f"{what}: unknown action {act.action!r:.32}")
        parts.verify(act.agent, ACT_DOMAIN, error=DelegationSignatureError, what=what)
        return act


def verify_chain(
    chain: Sequence[Capability], *, person: PeerId, now_ms: int, revoked: Container[bytes]
) -> Capability:
    """Check a decoded chain for ``person`` at ``now_ms``; returns its last link (§6).

    In order: her capability first (``delegate.wrong_party``), each link under the one before
    (``delegate.widened``), none revoked (``delegate.revoked``), all live (``delegate.expired``).
    """
    if not 1 <= len(chain) <= MAX_CHAIN:
        raise SchemaError(f"a delegation chain has 1..{MAX_CHAIN} capabilities")
    root = chain[0]
    if root.parent is not None or root.issuer != person:
        raise DelegationPartyError(
            f"the chain does not start with a capability {person.short} signed herself"
        )
    for parent, child in itertools.pairwise(chain):
        check_link(parent, child)
    for link in chain:
        if link.capability_id in revoked:
            raise DelegationRevokedError(
                f"capability {link.capability_id.hex()[:8]} was revoked by its issuer"
            )
    for link in chain:
        if not link.not_before_ms - CLOCK_SKEW_MS <= now_ms < link.not_after_ms:
            raise DelegationExpiredError(
                f"capability {link.capability_id.hex()[:8]} is valid from "
                f"{format_time_ms(link.not_before_ms)} until {format_time_ms(link.not_after_ms)}"
            )
    return chain[-1]


def check_act(leaf: Capability, act: Act) -> None:
    """The act is by the leaf's agent, under the leaf, and inside its ``grant`` scope (§6)."""
    if act.agent != leaf.agent or act.capability_id != leaf.capability_id:
        raise DelegationPartyError("the act is not signed by the agent of the chain's last link")
    scope = leaf.scope(GRANT)
    if scope is None:
        raise DelegationScopeError("the capability does not let its agent grant data")
    outside = sorted(set(act.fields) - set(scope.fields))
    if outside:
        raise DelegationScopeError(
            f"the capability does not cover {', '.join(outside)} "
            f"(it covers {', '.join(scope.fields)})"
        )
    if scope.purposes and act.purpose not in scope.purposes:
        raise DelegationScopeError(
            f"the capability grants for {', '.join(scope.purposes)}, not {act.purpose}"
        )
    if act.duration_ms > scope.max_days * DAY_MS:
        raise DelegationScopeError(
            f"the capability grants for at most {scope.max_days} days, not "
            f"{act.duration_ms / DAY_MS:.4g}"
        )


def check_grant(act: Act, grant: Grant) -> None:
    """The grant her node made is the one the act asked for: its fields and purpose, from her,
    to the act's vendor, for no longer (spec/delegation.md §7, the vendor's check)."""
    lasts = grant.not_after_ms - grant.issued_ms
    if (
        grant.grantor != act.person
        or grant.grantee != act.vendor
        or grant.fields != act.fields
        or grant.purpose != act.purpose
        or lasts > act.duration_ms
    ):
        raise DelegationScopeError(
            f"grant {grant.grant_id.hex()[:8]} is not the act's: {', '.join(grant.fields)} for "
            f"{grant.purpose}, {lasts / DAY_MS:.4g} days"
        )
