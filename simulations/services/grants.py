"""The simulated node's grants service: a driver of amity.protocol.core.grants, as node/grants/.

What each ``grant.*`` message, timer and end means is the node core's (the same rules the daemon
runs); this class keeps the records in memory, arms the engine's timers and tells the run's
observer. The grantor signs a real :class:`~amity.protocol.grants.Grant` under the newest
agreement its terms service reached and keeps the receipts that come back; the grantee holds,
receipts and deletes as :mod:`amity.protocol.holder` says. A node made with ``keep_data`` breaks
its word as ``amity run --misbehave keep-data`` does: its deletion timers never delete, so no
deletion receipt goes back. ``on_held`` is the owner's software hearing of each grant the node
newly holds, once it is committed, as the daemon publishes ``grant.received`` on its event
stream; what the owner then does with the values is outside the protocol (see
:class:`~amity.simulations.behaviours.owners.OnwardSharer`). See spec/grants.md §4-§8.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from amity.protocol.agreement import Agreement
from amity.protocol.core.grants import grantor, holder
from amity.protocol.core.grants import service as core
from amity.protocol.core.grants.agreements import newest
from amity.protocol.core.grants.effects import (
    ArmTimer,
    Audit,
    Deleted,
    DisarmTimer,
    Effect,
    EndAgreement,
    Held,
    KeepReceipt,
    KeptData,
    ReceiptCame,
    SaveHolding,
    SaveIssued,
    SaveRevocation,
    SaveUpdate,
    Send,
)
from amity.protocol.core.grants.host import AgreementRecord, AskedQuery
from amity.protocol.core.grants.rule import SharingRule
from amity.protocol.core.grants.updates import IssuedRecord, UpdateOutcome, update_field
from amity.protocol.envelope import Envelope
from amity.protocol.grants import Grant
from amity.protocol.holder import Holding, HoldingState
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.receipts import DeletionReceipt, UpdateReceipt
from amity.protocol.relationship import Relationship, SendMessage
from amity.protocol.vault import Field, FieldType
from amity.protocol.verdicts import ReceiptRecord
from amity.simulations.context import Staged
from amity.simulations.world.engine import Timer

if TYPE_CHECKING:
    from amity.simulations.node import SimNode

__all__ = ["GRANT_TYPES", "IssuedGrant", "SimGrants"]

GRANT_TYPES: Final = core.TYPES
#: Audit entries the run's observer hears of as they are staged (the rest only the daemon keeps).
_OBSERVED: Final = frozenset({"grant.issued", "grant.revoked", "grant.received", "grant.updated"})


class _Vault:
    """A simulated person's fields as she last set them (:meth:`SimGrants.vault_set`); a grant
    is given its fields with it, so a node that never changes one keeps none here."""

    def __init__(self) -> None:
        self.fields: dict[str, Field] = {}

    def get(self, name: str) -> Field | None:
        return self.fields.get(name)

    def of_type(self, kind: FieldType) -> Field | None:
        return next((f for f in self.fields.values() if f.type is kind), None)


_NO_RULE: Final = SharingRule()


@dataclass(slots=True)
class IssuedGrant:
    """A grant this node issued, and what came back: when it was delivered and deleted."""

    grant: Grant
    revoked_ms: int | None = None
    delivered_ms: int | None = None
    deleted_ms: int | None = None
    deletion_reason: str = ""
    #: The newest version of its values sent in a grant.update (0: only the delivery).
    version: int = 0
    #: Every receipt that came back, with its kind and when (what an automatic verdict reads).
    receipts: list[ReceiptRecord] = field(default_factory=list)


class SimGrants:
    """Grants issued and held by one simulated node (the grants core's host and driver)."""

    types: frozenset[str] = core.TYPES
    #: Of those, the types still taken once the relationship ended (the core's after-end rule).
    after_end: frozenset[str] = core.AFTER_END

    def __init__(self, node: SimNode, *, keep_data: bool = False) -> None:
        self.node = node
        self.keep_data = keep_data
        #: Called with each holding this node newly holds, after its commit (the owner's software).
        self.on_held: Callable[[Holding], None] | None = None
        #: The owner's word, per grant, on keeping its data when its deletion comes due (a
        #: breaching behaviour; ``keep_data`` keeps every grant's). The core reads it as
        #: ``keeps_data`` while that grant's timer is handled.
        self.keeps: Callable[[Holding], bool] | None = None
        self._keeping = False
        #: Called with a grant this node issued each time a receipt for it is committed.
        self.on_receipt: Callable[[IssuedGrant], None] | None = None
        self.issued: dict[bytes, IssuedGrant] = {}
        #: Agreements that ended with their relationship (spec/terms.md §10): id -> when.
        self.ended: dict[bytes, int] = {}
        self.held: dict[bytes, Holding] = {}
        self._timers: dict[bytes, tuple[str, Timer]] = {}
        self._vault = _Vault()

    # -- the owner's commands ----------------------------------------------------------------------

    def agreement_with(self, peer: PeerId) -> Agreement:
        """The agreement a new grant to ``peer`` lives under (the core's rule)."""
        return newest(self, peer)

    def grant(
        self,
        peer: PeerId,
        fields: Sequence[Field],
        *,
        purpose: str,
        duration_ms: int,
        context: str = "",
    ) -> Grant:
        """Sign a grant of ``fields`` to ``peer`` and queue its sealed delivery."""
        now = self.node.now_ms()
        grant, effects = grantor.issue(
            self,
            peer,
            [f.name for f in fields],
            purpose=purpose,
            context=context,
            duration_ms=duration_ms,
            now_ms=now,
            random=self.node.random.take,
            given={f.name: f for f in fields},
        )
        self.node.commit(self._stage(effects, now))
        return grant

    def revoke(self, grant_id: bytes) -> None:
        """Sign a revocation and send it; the grantee deletes and returns a deletion receipt."""
        issued = self.issued[grant_id]
        now = self.node.now_ms()
        _, effects = grantor.revoke(
            self, issued.grant, revoked=issued.revoked_ms is not None, now_ms=now
        )
        self.node.commit(self._stage(effects, now))

    def vault_set(self, changed: Field) -> list[UpdateOutcome]:
        """She changes a field: every grantee holding it under a live grant gets the new value
        under that grant, with the next version (the core's rule, spec/signals.md §2), in one
        commit; what became of each grant that names it."""
        self._vault.fields[changed.name] = changed
        now = self.node.now_ms()
        records = [
            IssuedRecord(i.grant, i.revoked_ms is not None, i.deleted_ms is not None, i.version)
            for i in self.issued.values()
        ]
        outcomes, effects = update_field(
            self, records, changed, now_ms=now, random=self.node.random.take, vault=self._vault
        )
        if effects:
            self.node.commit(self._stage(effects, now))
        return outcomes

    def holds_values(self, grant_id: bytes) -> bool:
        """Whether this node still holds the values of ``grant_id`` (data left behind, if late)."""
        held = self.held.get(grant_id)
        return held is not None and held.state is HoldingState.HELD

    # -- the Service protocol, and the end of a relationship ---------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        return self._stage(core.receive(self, envelope, now_ms, self.node.random.take), now_ms)

    def relationships_ended(self) -> None:
        """A relationship's end is committed: start delete-on-end, as the daemon does."""
        now = self.node.now_ms()
        effects = holder.relationships_ended(self, now)
        if effects:
            self.node.commit(self._stage(effects, now))

    # -- the host (amity.protocol.core.grants.host) ------------------------------------------------

    @property
    def keyring(self) -> Keyring:
        return self.node.keyring

    @property
    def keeps_data(self) -> bool:
        return self.keep_data or self._keeping

    @property
    def vault(self) -> _Vault:
        return self._vault

    @property
    def rule(self) -> SharingRule:
        return _NO_RULE

    def relationship(self, peer: PeerId) -> Relationship | None:
        return self.node.relationship(peer)

    def check_grantee(self, peer: PeerId) -> None:
        reputation = self.node.reputation_if_made
        if reputation is not None:  # the cut-off gate (spec/reputation.md §6.5), as the daemon's
            reputation.check_grant(peer)

    def agreement(self, agreement_id: bytes) -> AgreementRecord | None:
        neg = self.node.terms.negotiations.by_agreement(agreement_id)
        if neg is None or neg.agreement is None:
            return None
        return AgreementRecord(neg.agreement, neg.peer, None, self.ended.get(agreement_id))

    def agreed_peers(self) -> list[PeerId]:
        book = self.node.terms.negotiations
        return [
            peer
            for peer in book.agreed_peers()
            if any(a.agreement_id not in self.ended for a in book.agreements_with(peer))
        ]

    def agreements_with(self, peer: PeerId) -> list[AgreementRecord]:
        found = self.node.terms.negotiations.agreements_with(peer)
        found.sort(key=lambda a: (a.agreed_ms, a.agreement_id), reverse=True)
        return [
            AgreementRecord(agreement, peer, None, self.ended.get(agreement.agreement_id))
            for agreement in found
        ]

    def holding(self, grant_id: bytes) -> Holding | None:
        return self.held.get(grant_id)

    def held_from(self, grantor: PeerId | None = None) -> list[Holding]:
        held = [
            h
            for h in self.held.values()
            if h.state is HoldingState.HELD and (grantor is None or h.grant.grantor == grantor)
        ]
        return sorted(held, key=lambda h: h.received_ms, reverse=True)

    def issued_to(self, grant_id: bytes) -> PeerId | None:
        issued = self.issued.get(grant_id)
        return None if issued is None else issued.grant.grantee

    def asked(self, query_id: bytes) -> AskedQuery | None:
        return None  # no simulated owner asks what her peers hold

    # -- effects -----------------------------------------------------------------------------------

    def _stage(self, effects: list[Effect], now_ms: int) -> Staged:
        """The core's effects: records now (our "transaction"), timers and events after it."""
        staged = Staged()
        after = staged.after
        for effect in effects:
            if isinstance(effect, Send):
                staged.sends.append(SendMessage(effect.to, effect.type, effect.body))
            elif isinstance(effect, Audit):
                if effect.kind in _OBSERVED:
                    self._record(effect.kind, effect.peer, effect.subject)
            elif isinstance(effect, SaveHolding):
                self.held[effect.holding.grant.grant_id] = effect.holding
            elif isinstance(effect, ArmTimer):
                after.append(
                    functools.partial(self._arm, effect.grant_id, effect.token, effect.at_ms)
                )
            elif isinstance(effect, DisarmTimer):
                after.append(functools.partial(self._disarm, effect.grant_id, effect.token))
            elif isinstance(effect, Held):
                if self.on_held is not None:
                    after.append(functools.partial(self.on_held, effect.holding))
            elif isinstance(effect, Deleted):
                grant = effect.holding.grant
                after.append(
                    functools.partial(self._record, "grant.deleted", grant.grantor, grant.grant_id)
                )
            elif isinstance(effect, KeptData):
                self._record("misbehave.kept_data", effect.grantor, effect.grant_id)
            elif isinstance(effect, SaveIssued):
                self.issued[effect.grant.grant_id] = IssuedGrant(effect.grant)
            elif isinstance(effect, EndAgreement):
                self.ended[effect.agreement_id] = effect.ended_ms
            elif isinstance(effect, SaveUpdate):
                self.issued[effect.grant_id].version = effect.version
            elif isinstance(effect, SaveRevocation):
                self.issued[effect.revocation.grant_id].revoked_ms = effect.revocation.revoked_ms
            elif isinstance(effect, KeepReceipt):
                self._keep(effect, now_ms)
            elif isinstance(effect, ReceiptCame):
                kind = f"grant.receipt.{effect.kind}"
                after.append(functools.partial(self._record, kind, effect.peer, effect.grant_id))
                if self.on_receipt is not None:
                    after.append(functools.partial(self.on_receipt, self.issued[effect.grant_id]))
            # Values live only inside the Holding (DeleteValues: replaced by its SaveHolding);
            # no simulated owner issues requests or asks for statements.
        return staged

    def _keep(self, effect: KeepReceipt, now_ms: int) -> None:
        receipt = effect.receipt
        issued = self.issued[receipt.grant_id]
        if isinstance(receipt, DeletionReceipt):
            if issued.deleted_ms is None:
                issued.deleted_ms = now_ms
                issued.deletion_reason = receipt.reason.value
            kind = "deletion"
        elif isinstance(receipt, UpdateReceipt):
            kind = "update"  # no verdict rests on it (spec/signals.md §2.4)
        else:
            if issued.delivered_ms is None:
                issued.delivered_ms = now_ms
            kind = "delivery"
        issued.receipts.append(ReceiptRecord(kind, now_ms, receipt.encoded))

    def _arm(self, gid: bytes, token: str, at_ms: int) -> None:
        self._disarm(gid)
        delay = max(0, at_ms - self.node.now_ms())
        self._timers[gid] = (token, self.node.engine.call_later(delay, self._fire, gid, token))

    def _disarm(self, gid: bytes, token: str | None = None) -> None:
        armed = self._timers.get(gid)
        if armed is not None and token in (None, armed[0]):
            self.node.engine.cancel(armed[1])
            del self._timers[gid]

    def _fire(self, gid: bytes, token: str) -> None:
        self._timers.pop(gid, None)
        now = self.node.now_ms()
        held = self.held.get(gid)
        self._keeping = held is not None and self.keeps is not None and self.keeps(held)
        try:
            effects = holder.timer_fired(self, gid, token, now)
        finally:
            self._keeping = False
        staged = self._stage(effects, now)
        if not any(isinstance(e, KeptData) for e in effects) and gid in self.held:
            self.node.commit(staged)  # as before the core: a stale timer commits nothing, too

    def _record(self, event: str, peer: PeerId, grant_id: bytes) -> None:
        self.node.env.observer.record(self.node, event, peer, grant_id.hex()[:16])
