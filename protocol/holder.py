"""The grant holder: the grantee's side of one grant, from delivery to deletion. Sans-IO.

``step(holding, event, now_ms, signer=...)`` returns the next holding and the effects the node
must carry out, in order. As in h11's ``_state.py``, everything that moves a holding lives here:
states, events, effects and the one table, :data:`TRANSITIONS`. Data is held until the grant's
``not_after_ms``, a revocation, or the delete-on-end deadline, whichever comes first; then it is
deleted and a signed deletion receipt goes back, exactly once. Until then a ``grant.update`` with
a newer version replaces the values (spec/signals.md §2). Reading what is held, and saying what
is held, are :mod:`amity.protocol.holdings`. See spec/grants.md §8.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeAlias

from amity.protocol.claims import DerivedClaim
from amity.protocol.delivery import Delivery
from amity.protocol.errors import (
    GrantExpiredError,
    GrantFieldsError,
    NoGrantError,
    UpdateReplayedError,
    UpdateStaleError,
    UsageError,
    format_time_ms,
)
from amity.protocol.grants import Grant, Revocation, check_time
from amity.protocol.identity import SigningIdentity
from amity.protocol.receipts import (
    MSG_RECEIPT,
    DeletionReason,
    DeletionReceipt,
    DeliveryReceipt,
    UpdateReceipt,
)
from amity.protocol.relationship import CancelTimer, Effect, SendMessage, SetTimer
from amity.protocol.update import Update
from amity.protocol.vault import Field

__all__ = [
    "TIMER_DELETE",
    "HoldingState",
    "Holding",
    "Event",
    "DeliveryReceived",
    "RevocationReceived",
    "RelationshipEnded",
    "TimerFired",
    "UpdateReceived",
    "EVENT_TYPES",
    "Effect",
    "Persist",
    "DeleteData",
    "SendMessage",
    "SetTimer",
    "CancelTimer",
    "Step",
    "Transition",
    "TRANSITIONS",
    "open_holding",
    "step",
]

TIMER_DELETE: Final = "delete"


class HoldingState(enum.Enum):
    """HELD: the values are kept; DELETED (terminal): they are gone and a receipt went back."""

    HELD = "held"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Holding:
    """What the grantee keeps about one grant; only :func:`step` makes new ones. See §8.1."""

    grant: Grant
    state: HoldingState
    received_ms: int
    fields: tuple[Field, ...] = field(repr=False)
    claims: tuple[DerivedClaim, ...] = field(repr=False)
    #: Set when the relationship ended: the delete-on-end deadline.
    end_deadline_ms: int | None = None
    timer_token: str | None = None
    timer_at_ms: int | None = None
    timers_armed: int = 0
    deleted_ms: int | None = None
    deletion_reason: DeletionReason | None = None
    #: The version of the values held: 0 as delivered, then each update's (spec/signals.md §2).
    version: int = 0

    @property
    def deadline_ms(self) -> int:
        """When the data must be gone: the grant's expiry or the delete-on-end deadline."""
        end = self.end_deadline_ms
        return self.grant.not_after_ms if end is None else min(end, self.grant.not_after_ms)


# -- events (spec/grants.md §8.2) -----------------------------------------------------------------


class Event:
    """Base class of every input to :func:`step` (wsproto style)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class DeliveryReceived(Event):
    """The same grant was delivered again (from :func:`~amity.protocol.delivery.open_delivery`)."""

    delivery: Delivery


@dataclass(frozen=True, slots=True)
class RevocationReceived(Event):
    """A verified revocation arrived (from :meth:`~amity.protocol.grants.Revocation.decode`)."""

    revocation: Revocation


@dataclass(frozen=True, slots=True)
class RelationshipEnded(Event):
    """The relationship ended; the agreement's delete-on-end clause allows ``delete_within_ms``."""

    delete_within_ms: int

    def __post_init__(self) -> None:
        check_time(self.delete_within_ms, "delete_within_ms")


@dataclass(frozen=True, slots=True)
class TimerFired(Event):
    """The timer that a :class:`SetTimer` with ``token`` asked for has come due."""

    token: str


@dataclass(frozen=True, slots=True)
class UpdateReceived(Event):
    """New values of the grant arrived (from :func:`~amity.protocol.update.open_update`)."""

    update: Update


EVENT_TYPES: Final = (
    DeliveryReceived,
    RevocationReceived,
    RelationshipEnded,
    TimerFired,
    UpdateReceived,
)


# -- effects (spec/grants.md §8.4): SendMessage, SetTimer and CancelTimer are the relationship's,
# so one effect runner in the node carries out those of every machine.


@dataclass(frozen=True, slots=True)
class Persist(Effect):
    """Store ``holding`` durably (values included while HELD) before the effects after it."""

    holding: Holding


@dataclass(frozen=True, slots=True)
class DeleteData(Effect):
    """Erase the values of ``grant_id`` from the store and from every copy the node made."""

    grant_id: bytes


Step: TypeAlias = tuple[Holding, list[Effect]]
_S = HoldingState


def _arm(holding: Holding) -> tuple[Holding, list[Effect]]:
    effects: list[Effect] = []
    if holding.timer_token is not None:
        effects.append(CancelTimer(holding.timer_token))
    count = holding.timers_armed + 1
    token = f"{TIMER_DELETE}-{count}"
    at_ms = holding.deadline_ms
    holding = replace(holding, timer_token=token, timer_at_ms=at_ms, timers_armed=count)
    return holding, [*effects, SetTimer(at_ms, token)]


def _delivery_receipt(holding: Holding, signer: SigningIdentity) -> SendMessage:
    grant = holding.grant
    receipt = DeliveryReceipt.issue(
        signer,
        grantor=grant.grantor,
        grant_id=grant.grant_id,
        fields=grant.fields,
        received_ms=holding.received_ms,
    )
    return SendMessage(grant.grantor, MSG_RECEIPT, receipt.encoded)


def _delete(holding: Holding, reason: DeletionReason, now_ms: int, signer: SigningIdentity) -> Step:
    grant = holding.grant
    effects: list[Effect] = [DeleteData(grant.grant_id)]
    pending = holding.timer_token
    holding = replace(
        holding,
        state=_S.DELETED,
        fields=(),
        claims=(),
        timer_token=None,
        timer_at_ms=None,
        deleted_ms=now_ms,
        deletion_reason=reason,
    )
    receipt = DeletionReceipt.issue(
        signer, grantor=grant.grantor, grant_id=grant.grant_id, reason=reason, deleted_ms=now_ms
    )
    effects.append(Persist(holding))
    if pending is not None:
        effects.append(CancelTimer(pending))
    return holding, [*effects, SendMessage(grant.grantor, MSG_RECEIPT, receipt.encoded)]


def _due_reason(holding: Holding) -> DeletionReason:
    end = holding.end_deadline_ms
    if end is not None and end <= holding.grant.not_after_ms:
        return DeletionReason.RELATIONSHIP_ENDED
    return DeletionReason.EXPIRED


# -- handlers: one per kind of transition; the table below says which applies when ---------------


def _redelivered(h: Holding, event: DeliveryReceived, now_ms: int, signer: SigningIdentity) -> Step:
    if event.delivery.grant.encoded != h.grant.encoded:
        raise GrantFieldsError(
            f"grant id {h.grant.grant_id.hex()} already names another grant; a grantor "
            "changes a grant by revoking it and issuing a new one"
        )
    return h, [_delivery_receipt(h, signer)]  # the first values stay; the receipt may be lost


def _revoked(h: Holding, event: RevocationReceived, now_ms: int, signer: SigningIdentity) -> Step:
    event.revocation.check_for(h.grant)
    return _delete(h, DeletionReason.REVOKED, now_ms, signer)


def _ended(h: Holding, event: RelationshipEnded, now_ms: int, signer: SigningIdentity) -> Step:
    end = now_ms + event.delete_within_ms
    if h.end_deadline_ms is not None and h.end_deadline_ms <= end:
        return h, []  # an earlier end already set an earlier deadline
    h = replace(h, end_deadline_ms=end)
    if h.deadline_ms <= now_ms:
        return _delete(h, _due_reason(h), now_ms, signer)
    if h.deadline_ms == h.timer_at_ms:
        return h, []
    return _arm(h)


def _timer(h: Holding, event: TimerFired, now_ms: int, signer: SigningIdentity) -> Step:
    if event.token != h.timer_token:  # cancelled or superseded: it lost a race, nothing to do
        return h, []
    return _delete(replace(h, timer_token=None, timer_at_ms=None), _due_reason(h), now_ms, signer)


def _updated(h: Holding, event: UpdateReceived, now_ms: int, signer: SigningIdentity) -> Step:
    update = event.update
    if now_ms >= h.deadline_ms:
        raise GrantExpiredError(
            f"grant {h.grant.grant_id.hex()[:16]}'s data is due for deletion since "
            f"{format_time_ms(h.deadline_ms)}; an update cannot extend it",
            hint=GrantExpiredError.code,
        )
    if update.version == h.version:
        raise UpdateReplayedError(
            f"version {update.version} of grant {h.grant.grant_id.hex()[:16]} is held already",
            hint=UpdateReplayedError.code,
        )
    if update.version < h.version:
        raise UpdateStaleError(
            f"version {update.version} of grant {h.grant.grant_id.hex()[:16]} is older than "
            f"version {h.version}, which is held",
            hint=UpdateStaleError.code,
        )
    update.check_for(h.grant)
    grant = h.grant
    new = replace(h, fields=update.fields, claims=update.claims, version=update.version)
    receipt = UpdateReceipt.issue(
        signer,
        grantor=grant.grantor,
        grant_id=grant.grant_id,
        version=update.version,
        replaced_ms=now_ms,
    )
    sent = SendMessage(grant.grantor, MSG_RECEIPT, receipt.encoded)
    return new, [DeleteData(grant.grant_id), Persist(new), sent]


def _gone(h: Holding, event: UpdateReceived, now_ms: int, signer: SigningIdentity) -> Step:
    gid = h.grant.grant_id.hex()[:16]
    reason = h.deletion_reason
    if reason is DeletionReason.EXPIRED:
        raise GrantExpiredError(
            f"grant {gid} expired and its data was deleted", hint=GrantExpiredError.code
        )
    why = "deleted" if reason is None else reason.value
    raise NoGrantError(
        f"grant {gid}'s data was deleted ({why}); an update cannot bring it back",
        hint=NoGrantError.code,
    )


def _ignore(h: Holding, event: Event, now_ms: int, signer: SigningIdentity) -> Step:
    return h, []


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: the handler for an event, and the states it may lead to."""

    handler: Callable[[Holding, Any, int, SigningIdentity], Step]
    targets: frozenset[HoldingState]


def _to(handler: Callable[[Holding, Any, int, SigningIdentity], Step], *targets: _S) -> Transition:
    return Transition(handler, frozenset(targets))


#: (state, event type) -> transition: the whole machine (spec/grants.md §8.3). DELETED absorbs
#: everything, so a revocation, timer or end that crosses a deletion is never an error and never
#: produces a second receipt; only an update is refused there, so that the grantor learns the
#: grantee holds nothing to update (spec/signals.md §2.3).
TRANSITIONS: Final[Mapping[tuple[HoldingState, type[Event]], Transition]] = {
    (_S.HELD, DeliveryReceived): _to(_redelivered, _S.HELD),
    (_S.HELD, RevocationReceived): _to(_revoked, _S.DELETED),
    (_S.HELD, RelationshipEnded): _to(_ended, _S.HELD, _S.DELETED),
    (_S.HELD, TimerFired): _to(_timer, _S.HELD, _S.DELETED),
    (_S.HELD, UpdateReceived): _to(_updated, _S.HELD),
    (_S.DELETED, DeliveryReceived): _to(_ignore, _S.DELETED),
    (_S.DELETED, RevocationReceived): _to(_ignore, _S.DELETED),
    (_S.DELETED, RelationshipEnded): _to(_ignore, _S.DELETED),
    (_S.DELETED, TimerFired): _to(_ignore, _S.DELETED),
    (_S.DELETED, UpdateReceived): _to(_gone, _S.DELETED),
}


def _check_signer(grant: Grant, signer: SigningIdentity) -> None:
    if not isinstance(signer, SigningIdentity) or signer.peer_id != grant.grantee:
        raise UsageError("the holder signs receipts with the grantee's own identity")


def open_holding(delivery: Delivery, now_ms: int, *, signer: SigningIdentity) -> Step:
    """Start holding a newly delivered grant: persist, send a delivery receipt, arm the timer."""
    check_time(now_ms, "now_ms")
    _check_signer(delivery.grant, signer)
    delivery.grant.check_live(now_ms)
    holding = Holding(delivery.grant, _S.HELD, now_ms, delivery.fields, delivery.claims)
    holding, timers = _arm(holding)
    return holding, [Persist(holding), _delivery_receipt(holding, signer), *timers]


def step(holding: Holding, event: Event, now_ms: int, *, signer: SigningIdentity) -> Step:
    """Apply one event at ``now_ms``: the next holding and the effects, in order. See §8.3."""
    check_time(now_ms, "now_ms")
    if not isinstance(holding, Holding) or type(event) not in EVENT_TYPES:
        raise UsageError("step() takes a Holding and one of the EVENT_TYPES")
    _check_signer(holding.grant, signer)
    if (
        isinstance(event, RevocationReceived)
        and event.revocation.grant_id != holding.grant.grant_id
    ) or (isinstance(event, UpdateReceived) and event.update.grant_id != holding.grant.grant_id):
        raise UsageError("route a revocation or an update to the holding of the grant it names")
    transition = TRANSITIONS[(holding.state, type(event))]
    new, effects = transition.handler(holding, event, now_ms, signer)
    assert new.state in transition.targets, f"{transition.handler.__name__} left the table"
    if new != holding and not any(isinstance(e, Persist) for e in effects):
        effects.insert(0, Persist(new))
    return new, effects
