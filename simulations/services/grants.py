"""The simulated node's grants service: grantor and grantee, as in node/grants/.

The grantor signs a real :class:`~amity.protocol.grants.Grant` under an agreement its terms
service reached, seals the values to the grantee's certified link key
(:func:`~amity.protocol.delivery.deliver`) and keeps the receipts that come back. The grantee
opens the delivery with its link key and drives :mod:`amity.protocol.holder` for each grant it
holds: hold, delivery receipt, deletion at expiry or revocation, signed deletion receipt. A node
made with ``keep_data`` breaks its word as ``amity run --misbehave keep-data`` does: its deletion
timers never fire, so no deletion receipt goes back. ``on_held`` is the owner's software hearing of
each grant the node newly holds, once it is committed, as the daemon publishes ``grant.received``
on its event stream; what the owner then does with the values is outside the protocol (see
:class:`~amity.simulations.behaviours.owners.OnwardSharer`). See spec/grants.md §4-§8.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from amity.protocol.agreement import Agreement
from amity.protocol.delivery import MSG_DELIVER, deliver, delivery_link_key, open_delivery
from amity.protocol.envelope import Envelope
from amity.protocol.errors import GrantPartyError, StateError
from amity.protocol.grants import GRANT_ID_BYTES, MSG_REVOKE, Grant, Onward, Revocation
from amity.protocol.holder import (
    CancelTimer,
    DeleteData,
    DeliveryReceived,
    Effect,
    Holding,
    HoldingState,
    Persist,
    RevocationReceived,
    SendMessage,
    SetTimer,
    TimerFired,
    open_holding,
    step,
)
from amity.protocol.identity import PeerId
from amity.protocol.receipts import MSG_RECEIPT, DeletionReceipt, HoldingsStatement, open_receipt
from amity.protocol.relationship import Relationship, RelationshipState
from amity.protocol.vault import Field
from amity.protocol.verdicts import ReceiptRecord
from amity.simulations.context import Staged
from amity.simulations.world.engine import Timer

if TYPE_CHECKING:
    from amity.simulations.node import SimNode

__all__ = ["GRANT_TYPES", "IssuedGrant", "SimGrants"]

GRANT_TYPES: Final = frozenset({MSG_DELIVER, MSG_REVOKE, MSG_RECEIPT})


@dataclass(slots=True)
class IssuedGrant:
    """A grant this node issued, and what came back: when it was delivered and deleted."""

    grant: Grant
    revoked_ms: int | None = None
    delivered_ms: int | None = None
    deleted_ms: int | None = None
    deletion_reason: str = ""
    #: Every receipt that came back, with its kind and when (what an automatic verdict reads).
    receipts: list[ReceiptRecord] = field(default_factory=list)


class SimGrants:
    """Grants issued and held by one simulated node."""

    types: frozenset[str] = GRANT_TYPES
    #: Of those, the types still taken once the relationship ended (the core's after-end rule).
    after_end: frozenset[str] = frozenset({MSG_RECEIPT})

    def __init__(self, node: SimNode, *, keep_data: bool = False) -> None:
        self.node = node
        self.keep_data = keep_data
        #: Called with each holding this node newly holds, after its commit (the owner's software).
        self.on_held: Callable[[Holding], None] | None = None
        #: The owner's word, per grant, on keeping its data when its deletion comes due (a
        #: breaching behaviour; ``keep_data`` keeps every grant's).
        self.keeps: Callable[[Holding], bool] | None = None
        #: Called with a grant this node issued each time a receipt for it is committed.
        self.on_receipt: Callable[[IssuedGrant], None] | None = None
        self.issued: dict[bytes, IssuedGrant] = {}
        self.held: dict[bytes, Holding] = {}
        self._timers: dict[bytes, tuple[str, Timer]] = {}

    # -- the grantor -------------------------------------------------------------------------------

    def agreement_with(self, peer: PeerId) -> Agreement:
        """The newest agreement this node reached with ``peer`` (its terms service keeps them)."""
        found = [
            neg.agreement
            for neg in self.node.terms.negotiations.values()
            if neg.peer == peer and neg.agreement is not None
        ]
        if not found:
            raise StateError(f"no agreement with {peer.short}: data travels only under one")
        return max(found, key=lambda a: (a.agreed_ms, a.agreement_id))

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
        rel = self._connected(peer)
        card = rel.peer_card
        if card is None:
            raise StateError(f"{peer.short} has not sent its card yet")
        now = self.node.now_ms()
        grant = Grant.issue(
            self.node.keyring.identity,
            grantee=peer,
            grant_id=self.node.random.take(GRANT_ID_BYTES),
            agreement_id=self.agreement_with(peer).agreement_id,
            fields=[f.name for f in fields],
            purpose=purpose,
            context=context,
            onward=Onward.NONE,
            issued_ms=now,
            not_after_ms=now + duration_ms,
        )
        body = deliver(
            grant,
            list(fields),
            link_public=card.link_cert.link_public,
            ephemeral_private=self.node.random.take(32),
        )
        self.issued[grant.grant_id] = IssuedGrant(grant)
        self._record("grant.issued", peer, grant.grant_id)
        self.node.commit(Staged(sends=[SendMessage(peer, MSG_DELIVER, body)]))
        return grant

    def revoke(self, grant_id: bytes) -> None:
        """Sign a revocation and send it; the grantee deletes and returns a deletion receipt."""
        issued = self.issued[grant_id]
        peer = issued.grant.grantee
        self._connected(peer)
        now = self.node.now_ms()
        revocation = Revocation.issue(self.node.keyring.identity, issued.grant, now)
        issued.revoked_ms = now
        self._record("grant.revoked", peer, grant_id)
        self.node.commit(Staged(sends=[SendMessage(peer, MSG_REVOKE, revocation.encoded)]))

    def _on_receipt(self, envelope: Envelope, now_ms: int) -> Staged:
        sender = envelope.sender
        receipt = open_receipt(envelope.body, issuer=sender, subject=self.node.peer_id)
        if isinstance(receipt, HoldingsStatement):
            return Staged()  # no simulated owner asks what peers hold
        issued = self.issued.get(receipt.grant_id)
        if issued is None or issued.grant.grantee != sender:
            raise GrantPartyError(
                f"{sender.short} sent a receipt for grant {receipt.grant_id.hex()[:16]}, which "
                "we never granted it",
                hint=GrantPartyError.code,
            )
        if isinstance(receipt, DeletionReceipt):
            if issued.deleted_ms is None:
                issued.deleted_ms = now_ms
                issued.deletion_reason = receipt.reason.value
            kind = "deletion"
        else:
            if issued.delivered_ms is None:
                issued.delivered_ms = now_ms
            kind = "delivery"
        issued.receipts.append(ReceiptRecord(kind, now_ms, receipt.encoded))
        after: list[Callable[[], None]] = [
            functools.partial(self._record, f"grant.receipt.{kind}", sender, receipt.grant_id)
        ]
        if self.on_receipt is not None:
            after.append(functools.partial(self.on_receipt, issued))
        return Staged(after=after)

    # -- the grantee -------------------------------------------------------------------------------

    def _on_deliver(self, envelope: Envelope, now_ms: int) -> Staged:
        keyring = self.node.keyring
        link = delivery_link_key(envelope.body)
        key = keyring.find_link_key(link, now_ms) or keyring.current(now_ms)[0]
        delivery = open_delivery(
            envelope.body,
            grantor=envelope.sender,
            grantee=self.node.peer_id,
            link_key=key,
            now_ms=now_ms,
        )
        grant = delivery.grant
        self._check_agreement(grant, envelope.sender)
        me = keyring.identity
        held = self.held.get(grant.grant_id)
        if held is not None:
            return self._perform(*step(held, DeliveryReceived(delivery), now_ms, signer=me))
        holding, effects = open_holding(delivery, now_ms, signer=me)
        self._record("grant.received", envelope.sender, grant.grant_id)
        return self._perform(holding, effects)

    def _on_revoke(self, envelope: Envelope, now_ms: int) -> Staged:
        revocation = Revocation.decode(envelope.body)
        held = self.held.get(revocation.grant_id)
        if held is None or not envelope.sender == revocation.grantor == held.grant.grantor:
            raise GrantPartyError(
                f"{envelope.sender.short} revoked grant {revocation.grant_id.hex()[:16]}, which "
                "this node does not hold from it",
                hint=GrantPartyError.code,
            )
        me = self.node.keyring.identity
        return self._perform(*step(held, RevocationReceived(revocation), now_ms, signer=me))

    def _check_agreement(self, grant: Grant, sender: PeerId) -> None:
        """Data travels only under an agreement both hold (spec/grants.md §11)."""
        if not any(
            neg.agreement is not None and neg.agreement.agreement_id == grant.agreement_id
            for neg in self.node.terms.negotiations.values()
            if neg.peer == sender
        ):
            raise GrantPartyError(
                f"grant {grant.grant_id.hex()[:16]} cites an agreement this node does not hold "
                f"with {sender.short}",
                hint=GrantPartyError.code,
            )

    def holds_values(self, grant_id: bytes) -> bool:
        """Whether this node still holds the values of ``grant_id`` (data left behind, if late)."""
        held = self.held.get(grant_id)
        return held is not None and held.state is HoldingState.HELD

    # -- the Service protocol ----------------------------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        if envelope.type == MSG_DELIVER:
            return self._on_deliver(envelope, now_ms)
        if envelope.type == MSG_REVOKE:
            return self._on_revoke(envelope, now_ms)
        return self._on_receipt(envelope, now_ms)

    # -- effects -----------------------------------------------------------------------------------

    def _perform(self, holding: Holding, effects: list[Effect]) -> Staged:
        staged = Staged()
        gid = holding.grant.grant_id
        for effect in effects:
            if isinstance(effect, Persist):
                before = self.held.get(gid)
                self.held[gid] = effect.holding
                if effect.holding.state is HoldingState.DELETED and (
                    before is None or before.state is HoldingState.HELD
                ):
                    staged.after.append(
                        functools.partial(self._record, "grant.deleted", holding.grant.grantor, gid)
                    )
                elif before is None and self.on_held is not None:
                    # Only a holding that is HELD reaches here: a new one, with its values.
                    staged.after.append(functools.partial(self.on_held, effect.holding))
            elif isinstance(effect, DeleteData):
                pass  # the values live only inside the Holding, replaced by the Persist above
            elif isinstance(effect, SendMessage):
                staged.sends.append(effect)
            elif isinstance(effect, SetTimer):
                staged.after.append(functools.partial(self._arm, gid, effect.token, effect.at_ms))
            elif isinstance(effect, CancelTimer):
                staged.after.append(functools.partial(self._disarm, gid, effect.token))
        return staged

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
        held = self.held.get(gid)
        if held is None:
            return
        if self.keep_data or (self.keeps is not None and self.keeps(held)):
            # The breaching test mode (or owner): data stays, no receipt goes back.
            self._record("misbehave.kept_data", held.grant.grantor, gid)
            return
        signer = self.node.keyring.identity
        self.node.commit(
            self._perform(*step(held, TimerFired(token), self.node.now_ms(), signer=signer))
        )

    def _connected(self, peer: PeerId) -> Relationship:
        rel = self.node.relationship(peer)
        if rel is None or rel.state is not RelationshipState.CONNECTED:
            state = "no relationship" if rel is None else f"the relationship is {rel.state.value}"
            raise StateError(f"cannot grant to {peer.short}: {state}")
        return rel

    def _record(self, event: str, peer: PeerId, grant_id: bytes) -> None:
        self.node.env.observer.record(self.node, event, peer, grant_id.hex()[:16])
