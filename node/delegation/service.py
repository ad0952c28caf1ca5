"""The delegation service on a daemon: records in memory, mirrored to the store in each commit.

What a ``delegate.*`` message or an owner's command means is amity.protocol.core.delegation;
here its effects become one staged commit (the records, the messages in the outbox, and the
grants effects through the grants service's carrier) and, once on disk, events.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from amity.node.services import Outgoing, SmallService, Staged
from amity.protocol.core.delegation import agent, her
from amity.protocol.core.delegation import service as core
from amity.protocol.core.delegation.records import (
    ActRecord,
    CapabilityRecord,
    DelegationEffect,
    KeepRevocation,
    SaveAct,
    SaveCapability,
)
from amity.protocol.core.grants.effects import Effect as GrantsEffect
from amity.protocol.core.grants.host import GrantsHost
from amity.protocol.delegation import Capability, CapabilityRevocation
from amity.protocol.delegationchain import Act
from amity.protocol.delegationscope import STANDING_SCALE, Scope
from amity.protocol.envelope import Envelope
from amity.protocol.identity import PeerId
from amity.protocol.relationship import Relationship, SendMessage

if TYPE_CHECKING:
    from amity.node.daemon import Node
    from amity.node.grants.service import GrantsService
    from amity.node.reputation.service import ReputationService

__all__ = ["DelegationService"]


def _chain(hexes: list[str]) -> tuple[Capability, ...]:
    return tuple(Capability.decode(bytes.fromhex(h)) for h in hexes)


class DelegationService(SmallService):
    """See the module docstring; the host of amity.protocol.core.delegation too."""

    types: frozenset[str] = core.TYPES
    not_in_inbox: frozenset[str] = core.NOT_IN_INBOX

    def __init__(self, node: Node, grants: GrantsService, reputation: ReputationService) -> None:
        super().__init__(node)
        self._grants = grants
        self._reputation = reputation
        self.capabilities: dict[bytes, CapabilityRecord] = {}
        self.acts: dict[bytes, ActRecord] = {}
        self.revocations: dict[bytes, CapabilityRevocation] = {}
        for kind, raw in node.store.delegation_rows():
            self._load(kind, json.loads(raw))

    def _load(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "capability":
            revocation = data["revocation"]
            record = CapabilityRecord(
                _chain(data["chain"]), data["mine"], data["at_ms"], data["accepted"],
                None if revocation is None else CapabilityRevocation.decode(
                    bytes.fromhex(revocation)),
                tuple(PeerId(bytes.fromhex(v)) for v in data["vendors"]),
            )  # fmt: skip
            self.capabilities[record.capability_id] = record
        elif kind == "act":
            gid = data["grant_id"]
            act = ActRecord(
                Act.decode(bytes.fromhex(data["act"])), _chain(data["chain"]), data["role"],
                data["at_ms"], data["code"], data["reason"],
                None if gid is None else bytes.fromhex(gid),
            )  # fmt: skip
            self.acts[act.act_id] = act
        else:
            revoked = CapabilityRevocation.decode(bytes.fromhex(data["revocation"]))
            self.revocations[revoked.capability_id] = revoked

    # -- the host (with SmallService's keyring and relationship) ------------------------------------

    @property
    def grants(self) -> GrantsHost:
        return self._grants.host

    def capability(self, capability_id: bytes) -> CapabilityRecord | None:
        return self.capabilities.get(capability_id)

    def act_record(self, act_id: bytes) -> ActRecord | None:
        return self.acts.get(act_id)

    def revocation(self, capability_id: bytes) -> CapabilityRevocation | None:
        record = self.capabilities.get(capability_id)
        if record is not None and record.revocation is not None:
            return record.revocation
        return self.revocations.get(capability_id)

    def works_for_me(self, peer: PeerId) -> bool:
        return any(r.mine and r.capability.agent == peer for r in self.capabilities.values())

    def seen(self, capability_id: bytes) -> bool:
        return any(
            r.role == "received" and any(c.capability_id == capability_id for c in r.chain)
            for r in self.acts.values()
        )

    def standing(self, vendor: PeerId) -> int | None:
        result = self._reputation.result
        value = None if result is None else result.standing(vendor).value
        return None if value is None else round(value * STANDING_SCALE)

    # -- peers' messages (the Service protocol) ----------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        return self._stage(core.receive(self, envelope, now_ms, os.urandom), now_ms)

    # -- what the owner asks -----------------------------------------------------------------------

    async def grant(
        self, agent_peer: PeerId, *, scopes: Sequence[Scope], not_before_ms: int,
        not_after_ms: int, redelegate: bool, note: str, under: bytes | None = None,
    ) -> CapabilityRecord:  # fmt: skip
        now = self.node.clock_ms()
        record, effects = her.grant(
            self, agent_peer, now, scopes=scopes, not_before_ms=not_before_ms,
            not_after_ms=not_after_ms, redelegate=redelegate, note=note, under=under,
        )  # fmt: skip
        await self.node.commit(self._stage(effects, now))
        return record

    async def revoke(self, capability_id: bytes) -> CapabilityRecord:
        now = self.node.clock_ms()
        record, effects = her.revoke(self, capability_id, now)
        await self.node.commit(self._stage(effects, now))
        return record

    async def accept(self, capability_id: bytes) -> CapabilityRecord:
        now = self.node.clock_ms()
        record, effects = agent.accept(self, capability_id, now)
        await self.node.commit(self._stage(effects, now))
        return record

    async def act(
        self, capability_id: bytes, vendor: PeerId, fields: Sequence[str], *, purpose: str,
        context: str, duration_ms: int,
    ) -> ActRecord:  # fmt: skip
        now = self.node.clock_ms()
        record, effects = agent.act_grant(
            self, capability_id, vendor, fields, now, os.urandom, purpose=purpose,
            context=context, duration_ms=duration_ms,
        )  # fmt: skip
        await self.node.commit(self._stage(effects, now))
        return record

    # -- effects -----------------------------------------------------------------------------------

    def _stage(self, effects: list[DelegationEffect], now_ms: int) -> Staged:
        grants: list[GrantsEffect] = [e for e in effects if isinstance(e, GrantsEffect)]
        staged = self._grants.carrier.stage(grants, now_ms) if grants else Staged()
        for effect in effects:
            if isinstance(effect, SendMessage):
                staged.sends.append(Outgoing(effect.to, effect.type, effect.body))
            elif isinstance(effect, SaveCapability):
                self._save_capability(staged, effect)
            elif isinstance(effect, SaveAct):
                self._save_act(staged, effect)
            elif isinstance(effect, KeepRevocation):
                revocation = effect.revocation
                self.revocations[revocation.capability_id] = revocation
                row = json.dumps({"revocation": revocation.encoded.hex()})
                staged.writes.append(functools.partial(
                    self.node.store.put_delegation, revocation.capability_id, "revocation",
                    now_ms, row))  # fmt: skip
                self._publish(staged, "revoked", {"capability": revocation.capability_id.hex()})
        return staged

    def _publish(self, staged: Staged, what: str, detail: dict[str, object]) -> None:
        staged.after.append(functools.partial(self.node.events.publish, f"delegate.{what}", detail))

    def _save_capability(self, staged: Staged, effect: SaveCapability) -> None:
        record = effect.record
        self.capabilities[record.capability_id] = record
        revocation = None if record.revocation is None else record.revocation.encoded.hex()
        row = json.dumps({
            "chain": [c.encoded.hex() for c in record.chain], "mine": record.mine,
            "at_ms": record.at_ms, "accepted": record.accepted, "revocation": revocation,
            "vendors": [v.key.hex() for v in record.vendors],
        })  # fmt: skip
        staged.writes.append(functools.partial(
            self.node.store.put_delegation, record.capability_id, "capability", record.at_ms,
            row))  # fmt: skip
        if effect.what != "used":
            cap = record.capability
            self._publish(staged, effect.what, {
                "capability": record.capability_id.hex(), "issuer": cap.issuer.did,
                "agent": cap.agent.did,
            })  # fmt: skip

    def _save_act(self, staged: Staged, effect: SaveAct) -> None:
        record = effect.record
        self.acts[record.act_id] = record
        act = record.act
        gid = None if record.grant_id is None else record.grant_id.hex()
        row = json.dumps({
            "act": act.encoded.hex(), "chain": [c.encoded.hex() for c in record.chain],
            "role": record.role, "at_ms": record.at_ms, "code": record.code,
            "reason": record.reason, "grant_id": gid,
        })  # fmt: skip
        staged.writes.append(functools.partial(
            self.node.store.put_delegation, record.act_id, "act", record.at_ms, row))  # fmt: skip
        self._publish(staged, effect.what, {
            "act": record.act_id.hex(), "agent": act.agent.did, "person": act.person.did,
            "vendor": act.vendor.did, "fields": list(act.fields), "code": record.code,
            "grant": gid,
        })  # fmt: skip
