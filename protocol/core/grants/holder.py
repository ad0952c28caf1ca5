"""The holder's side of grants (a vendor's node): what a delivery, a revocation, a holdings
query, a timer and the end of a relationship mean for the grants it holds.

Each function drives :mod:`amity.protocol.holder` for the holdings concerned and returns the
effects (:mod:`amity.protocol.core.grants.effects`) with the audit entries and events that go with
them: the record first, then the values' deletion, the receipt, the timers. A delivery is taken
only under an agreement the node holds with the grantor; a revocation only from the grantor of a
grant the node holds; the end of a relationship starts the agreement's delete-on-end.
See spec/grants.md §5, §7.3, §8 and §14.
"""

from __future__ import annotations

from amity.protocol.core.grants.agreements import (
    check_covers,
    delete_within_ms,
    end_with_relationships,
)
from amity.protocol.core.grants.effects import (
    ArmTimer,
    Audit,
    Deleted,
    DeleteValues,
    DisarmTimer,
    Effect,
    Held,
    KeptData,
    Replaced,
    SaveHolding,
    Send,
)
from amity.protocol.core.grants.host import GrantsHost
from amity.protocol.delivery import Delivery, delivery_link_key, open_delivery
from amity.protocol.envelope import Envelope
from amity.protocol.errors import GrantPartyError, format_time_ms
from amity.protocol.grants import Grant, Revocation
from amity.protocol.holder import (
    CancelTimer,
    DeleteData,
    DeliveryReceived,
    Holding,
    HoldingState,
    Persist,
    RelationshipEnded,
    RevocationReceived,
    SendMessage,
    SetTimer,
    TimerFired,
    UpdateReceived,
    open_holding,
    step,
)
from amity.protocol.holder import Effect as HolderEffect
from amity.protocol.holdings import holdings_statement
from amity.protocol.identity import PeerId
from amity.protocol.receipts import MSG_RECEIPT, decode_holdings_query
from amity.protocol.relationship import RelationshipState
from amity.protocol.update import open_update

__all__ = [
    "on_deliver",
    "open_body",
    "hold",
    "on_revoke",
    "on_update",
    "on_holdings_query",
    "relationships_ended",
    "timer_fired",
]


def _names(grant: Grant) -> str:
    return ", ".join(grant.fields)


def on_deliver(host: GrantsHost, envelope: Envelope, now_ms: int) -> list[Effect]:
    """``grant.deliver``: open it with the link key it names, then hold (or re-receipt) it."""
    return hold(host, open_body(host, envelope.sender, envelope.body, now_ms), now_ms)


def open_body(host: GrantsHost, sender: PeerId, body: bytes, now_ms: int) -> Delivery:
    """Open a ``grant.deliver`` body from ``sender`` with the link key it names (§5.2)."""
    keyring = host.keyring
    link = delivery_link_key(body)
    key = keyring.find_link_key(link, now_ms) or keyring.current(now_ms)[0]
    return open_delivery(
        body, grantor=sender, grantee=keyring.identity.peer_id, link_key=key, now_ms=now_ms
    )


def hold(host: GrantsHost, delivery: Delivery, now_ms: int, *, by: str = "") -> list[Effect]:
    """Hold an opened delivery (or re-receipt it); ``by`` adds who asked for it to the audit
    entry (a delegated grant: spec/delegation.md §7)."""
    grant = delivery.grant
    check_covers(host, grant, grant.grantor)
    me = host.keyring.identity
    held = host.holding(grant.grant_id)
    if held is not None:
        new, effects = step(held, DeliveryReceived(delivery), now_ms, signer=me)
        return _perform(held, new, effects, now_ms)
    holding, effects = open_holding(delivery, now_ms, signer=me)
    detail = (
        f"{_names(grant)} for {grant.purpose}"
        + (f" ({grant.context})" if grant.context else "")
        + f" until {format_time_ms(grant.not_after_ms)}"
        + (f"; {by}" if by else "")
    )
    return _perform(None, holding, effects, now_ms, first=("grant.received", detail))


def on_revoke(host: GrantsHost, envelope: Envelope, now_ms: int) -> list[Effect]:
    """``grant.revoke``: a signed revocation of a grant we hold deletes it now."""
    revocation = Revocation.decode(envelope.body)
    held = host.holding(revocation.grant_id)
    if held is None or not envelope.sender == revocation.grantor == held.grant.grantor:
        raise GrantPartyError(
            f"{envelope.sender.short} revoked grant {revocation.grant_id.hex()[:16]}, which "
            "this node does not hold from it",
            hint=GrantPartyError.code,
        )
    new, effects = step(held, RevocationReceived(revocation), now_ms, signer=host.keyring.identity)
    first = None
    if held.state is HoldingState.HELD:
        first = ("grant.revoked", f"revoked at {format_time_ms(revocation.revoked_ms)}")
    return _perform(held, new, effects, now_ms, first=first)


def on_update(host: GrantsHost, envelope: Envelope, now_ms: int) -> list[Effect]:
    """``grant.update``: new values of a grant we hold from the sender replace the old ones,
    once per version (spec/signals.md §2.3)."""
    keyring = host.keyring
    link = delivery_link_key(envelope.body)
    key = keyring.find_link_key(link, now_ms) or keyring.current(now_ms)[0]
    update = open_update(envelope.body, link_key=key)
    held = host.holding(update.grant_id)
    if held is None or held.grant.grantor != envelope.sender:
        raise GrantPartyError(
            f"{envelope.sender.short} updated grant {update.grant_id.hex()[:16]}, which this "
            "node does not hold from it",
            hint=GrantPartyError.code,
        )
    check_covers(host, held.grant, envelope.sender)  # not under an agreement that ended
    new, effects = step(held, UpdateReceived(update), now_ms, signer=keyring.identity)
    detail = f"version {update.version}: {_names(held.grant)} replaced, the values before deleted"
    return _perform(held, new, effects, now_ms, first=("grant.updated", detail))


def on_holdings_query(host: GrantsHost, envelope: Envelope, now_ms: int) -> list[Effect]:
    """``grant.holdings``: answer with a signed statement of every grant held from the asker."""
    query_id = decode_holdings_query(envelope.body)
    sender = envelope.sender
    statement = holdings_statement(
        host.held_from(sender),
        grantor=sender,
        query_id=query_id,
        now_ms=now_ms,
        signer=host.keyring.identity,
    )
    detail = f"answered: {len(statement.items)} grant(s) held"
    return [
        Audit("holdings.answered", sender, query_id, detail),
        Send(sender, MSG_RECEIPT, statement.encoded),
    ]


def relationships_ended(host: GrantsHost, now_ms: int) -> list[Effect]:
    """Start delete-on-end for every grant held from a peer whose relationship ENDED.

    The driver asks at start and whenever a relationship's end is on disk: the scan is what
    makes an end that arrived just before a crash still delete (spec/grants.md §14). Each
    holding it moves has one :class:`SaveHolding` among the effects. The agreements with those
    peers end too (:func:`~amity.protocol.core.grants.agreements.end_with_relationships`).
    """
    me = host.keyring.identity
    done: list[Effect] = []
    for record in host.held_from():
        if record.end_deadline_ms is not None:
            continue
        rel = host.relationship(record.grant.grantor)
        held = host.holding(record.grant.grant_id)  # with its values, as it stays HELD
        if rel is None or rel.state is not RelationshipState.ENDED or held is None:
            continue
        within = delete_within_ms(host, held.grant.agreement_id)
        new, effects = step(held, RelationshipEnded(within), now_ms, signer=me)
        first = None
        if new.state is HoldingState.HELD:
            first = (
                "grant.ending",
                f"relationship ended: deleted by {format_time_ms(new.deadline_ms)}",
            )
        done += _perform(held, new, effects, now_ms, first=first)
    return done + end_with_relationships(host, now_ms)


def timer_fired(host: GrantsHost, grant_id: bytes, token: str, now_ms: int) -> list[Effect]:
    """A deletion timer came due: delete, unless it lost a race (the holder's table says)."""
    held = host.holding(grant_id)
    if held is None:
        return []
    if host.keeps_data:  # the breaching test mode: data stays, no receipt goes back
        return [KeptData(grant_id, held.grant.grantor)]
    new, effects = step(held, TimerFired(token), now_ms, signer=host.keyring.identity)
    return _perform(held, new, effects, now_ms)


def _perform(
    before: Holding | None,
    after: Holding,
    effects: list[HolderEffect],
    now_ms: int,
    *,
    first: tuple[str, str] | None = None,
) -> list[Effect]:
    """The holder machine's effects as the service's, with the audit entries and events."""
    if not effects:
        return []
    grant = after.grant
    gid = grant.grant_id
    done: list[Effect] = []
    if first is not None:
        done.append(Audit(first[0], grant.grantor, gid, first[1]))
    deleted = (
        before is not None
        and before.state is HoldingState.HELD
        and after.state is HoldingState.DELETED
    )
    for effect in effects:
        if isinstance(effect, Persist):
            done.append(SaveHolding(effect.holding))
            if deleted:
                done.append(Deleted(effect.holding))
            elif before is None:
                done.append(Held(effect.holding))
            elif effect.holding.version != before.version:
                done.append(Replaced(effect.holding))
        elif isinstance(effect, DeleteData):
            done.append(DeleteValues(effect.grant_id))
        elif isinstance(effect, SendMessage):
            done.append(Send(effect.to, effect.type, effect.body))
        elif isinstance(effect, SetTimer):
            done.append(ArmTimer(gid, effect.token, effect.at_ms))
        elif isinstance(effect, CancelTimer):
            done.append(DisarmTimer(gid, effect.token))
    if deleted:
        reason = after.deletion_reason.value if after.deletion_reason else "deleted"
        detail = f"{reason}: {_names(grant)} erased; deletion receipt sent"
        done.append(Audit("grant.deleted", grant.grantor, gid, detail))
    return done
