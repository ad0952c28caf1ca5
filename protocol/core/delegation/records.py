"""The delegation service's records, effects, and what it needs from its driver (its host).

See spec/delegation.md §7.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from amity.protocol.core.grants.effects import Effect as GrantsEffect
from amity.protocol.core.grants.host import GrantsHost
from amity.protocol.delegation import Capability, CapabilityRevocation
from amity.protocol.delegationchain import Act
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship, SendMessage

__all__ = [
    "Random",
    "CapabilityRecord",
    "ActRecord",
    "SaveCapability",
    "SaveAct",
    "KeepRevocation",
    "DelegationEffect",
    "DelegationHost",
    "by_agent",
    "revoked_links",
]

#: Fresh random bytes, ``n`` at a time.
Random = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class CapabilityRecord:
    """A capability this node issued (``mine``: the chain is that one link) or holds as an agent
    (the whole chain down to it), with its state."""

    chain: tuple[Capability, ...]
    mine: bool
    at_ms: int
    #: The agent's owner accepted it (an agent acts only under an accepted capability).
    accepted: bool = False
    revocation: CapabilityRevocation | None = None
    #: Her side: the vendors that received a chain through it (a revocation goes to each).
    vendors: tuple[PeerId, ...] = ()

    @property
    def capability(self) -> Capability:
        return self.chain[-1]

    @property
    def capability_id(self) -> bytes:
        return self.chain[-1].capability_id

    @property
    def person(self) -> PeerId:
        return self.chain[0].issuer

    def state(self, now_ms: int) -> str:
        cap = self.capability
        if self.revocation is not None:
            return "revoked"
        if now_ms >= cap.not_after_ms:
            return "expired"
        if not self.mine and not self.accepted:
            return "offered"
        return "live" if cap.live_at(now_ms) else "not yet"


@dataclass(frozen=True, slots=True)
class ActRecord:
    """An act: asked by this agent (``asked``), handled by her node (``handled``), or a
    delegated grant a vendor received (``received``). ``code`` None: no answer yet; "": done."""

    act: Act
    chain: tuple[Capability, ...]
    role: str
    at_ms: int
    code: str | None = None
    reason: str = ""
    grant_id: bytes | None = None

    @property
    def act_id(self) -> bytes:
        return self.act.act_id

    @property
    def outcome(self) -> str:
        if self.code is None:
            return "waiting"
        return "done" if self.code == "" else "refused"


@dataclass(frozen=True, slots=True)
class SaveCapability:
    """Store (or replace) a capability record; ``what`` names the event: granted, offered,
    accepted, revoked, used."""

    record: CapabilityRecord
    what: str


@dataclass(frozen=True, slots=True)
class SaveAct:
    """Store (or replace) an act record; ``what``: asked, acted, refused, received."""

    record: ActRecord
    what: str


@dataclass(frozen=True, slots=True)
class KeepRevocation:
    """A vendor keeps a revocation of a capability it saw in a chain."""

    revocation: CapabilityRevocation


DelegationEffect: TypeAlias = SaveCapability | SaveAct | KeepRevocation | SendMessage | GrantsEffect


class DelegationHost(Protocol):
    @property
    def keyring(self) -> Keyring: ...

    @property
    def grants(self) -> GrantsHost:
        """The node's grants host: her grants are made, and a vendor's held, through it."""
        ...

    def relationship(self, peer: PeerId) -> Relationship | None: ...

    def capability(self, capability_id: bytes) -> CapabilityRecord | None: ...

    def act_record(self, act_id: bytes) -> ActRecord | None: ...

    def revocation(self, capability_id: bytes) -> CapabilityRevocation | None:
        """A revocation of that capability this node holds: of its own records, or kept."""
        ...

    def seen(self, capability_id: bytes) -> bool:
        """A vendor: whether a chain through this capability reached it."""
        ...

    def works_for_me(self, peer: PeerId) -> bool:
        """Whether ``peer`` is the agent of a capability this node issued."""
        ...

    def standing(self, vendor: PeerId) -> int | None:
        """Her own trust's standing of ``vendor`` in thousandths (-1000..1000); None: unknown."""
        ...


def revoked_links(host: DelegationHost, chain: Sequence[Capability]) -> set[bytes]:
    """The links of ``chain`` revoked by their own issuer, as far as this node knows: what
    verify_chain's ``revoked`` is (a revocation by anyone else revokes nothing)."""
    found = set()
    for link in chain:
        revocation = host.revocation(link.capability_id)
        if revocation is not None and revocation.issuer == link.issuer:
            found.add(link.capability_id)
    return found


def by_agent(act: Act) -> str:
    """The words both audit trails use (spec/delegation.md §7)."""
    return f"by agent {act.agent.short} for {act.person.short}"
