"""The grantee's side of grants: open deliveries, hold the values, delete them on time.

Drives :mod:`amity.protocol.holder` for every grant this node holds and performs its effects:
``Persist`` and ``DeleteData`` are writes in the same transaction as the message (or timer) that
caused them, with the audit entries; ``SendMessage`` joins the outbox there too; timers are
armed once the commit is on disk and re-armed from ``timer_at_ms`` at start. The relationship's
end starts the agreement's delete-on-end. See spec/grants.md §5, §7.3 and §8.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Final

from amity.node.auditlog import AuditLog
from amity.node.daemon import Node
from amity.node.grants.holdings import HoldingBook
from amity.node.logs import log_event
from amity.node.services import Outgoing, Staged
from amity.node.store import Store
from amity.protocol.agreement import Agreement
from amity.protocol.claims import DerivedClaim
from amity.protocol.delivery import delivery_link_key, open_delivery
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    AmityError,
    GrantPartyError,
    NoGrantError,
    format_time_ms,
)
from amity.protocol.grants import Grant, Revocation
from amity.protocol.holder import (
    CancelTimer,
    DeleteData,
    DeliveryReceived,
    Effect,
    Holding,
    HoldingState,
    Persist,
    RelationshipEnded,
    RevocationReceived,
    SendMessage,
    SetTimer,
    TimerFired,
    holdings_statement,
    open_holding,
    read,
    step,
)
from amity.protocol.identity import PeerId
from amity.protocol.receipts import MSG_RECEIPT, decode_holdings_query
from amity.protocol.relationship import RelationshipState
from amity.protocol.vault import Field

__all__ = ["Grantee", "delete_within_ms", "DELETE_ON_END"]

_log = logging.getLogger("amity.grants")
_DAY_MS: Final = 24 * 3600 * 1000
DELETE_ON_END: Final = "amity.delete-on-end"
#: How far an amendment chain is followed to the agreement in force.
_MAX_AMENDMENTS: Final = 64


def delete_within_ms(store: Store, agreement_id: bytes) -> int:
    """The delete-on-end delay of the agreement in force (amendments followed); 0 without one.

    A grant without a delete-on-end clause is deleted at once when the relationship ends: the
    person could revoke every grant at that moment anyway (spec/grants.md §14).
    """
    row = store.agreement(agreement_id)
    for _ in range(_MAX_AMENDMENTS):
        newer = (
            None if row is None or row.superseded_by is None else store.agreement(row.superseded_by)
        )
        if newer is None:
            break
        row = newer
    if row is None:
        return 0
    terms = Agreement.decode(row.encoded).terms
    clause = terms.clause(DELETE_ON_END)
    if clause is None:
        return 0
    days = clause.param("days", terms.vocab_version)
    return int(days) * _DAY_MS if isinstance(days, int) else 0


def _names(grant: Grant) -> str:
    return ", ".join(grant.fields)


class Grantee:
    """Every grant this node holds for others: holder machines, their timers and their reads."""

    def __init__(self, node: Node, audit: AuditLog, book: HoldingBook) -> None:
        self.node = node
        self.audit = audit
        self.book = book
        self._timers: dict[bytes, tuple[str, asyncio.TimerHandle]] = {}
        self._running = False

    # -- lifetime ----------------------------------------------------------------------------------

    def start(self) -> int:
        """Re-arm every pending deletion timer (one already due fires at once); how many."""
        self._running = True
        waiting = [h for h in self.book.with_timers() if h.state is HoldingState.HELD]
        for holding in waiting:
            if holding.timer_token is not None and holding.timer_at_ms is not None:
                self._arm(holding.grant.grant_id, holding.timer_token, holding.timer_at_ms)
        return len(waiting)

    def stop(self) -> None:
        self._running = False
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def armed(self) -> dict[bytes, str]:
        """Grant id -> token of its deletion timer, for every timer running now."""
        return {gid: token for gid, (token, _) in self._timers.items()}

    # -- peers' messages ---------------------------------------------------------------------------

    def on_deliver(self, envelope: Envelope, now_ms: int) -> Staged:
        """``grant.deliver``: open it with the link key it names, then hold (or re-receipt) it."""
        me = self.node.keyring.identity
        link = delivery_link_key(envelope.body)
        key = self.node.keyring.find_link_key(link, now_ms) or self.node.keyring.current(now_ms)[0]
        delivery = open_delivery(
            envelope.body, grantor=envelope.sender, grantee=me.peer_id, link_key=key, now_ms=now_ms
        )
        grant = delivery.grant
        self._check_agreement(grant, envelope.sender)
        held = self.book.get(grant.grant_id)
        if held is not None:
            new, effects = step(held, DeliveryReceived(delivery), now_ms, signer=me)
            return self._perform(held, new, effects, now_ms)
        holding, effects = open_holding(delivery, now_ms, signer=me)
        detail = (
            f"{_names(grant)} for {grant.purpose}"
            + (f" ({grant.context})" if grant.context else "")
            + f" until {format_time_ms(grant.not_after_ms)}"
        )
        staged = self._perform(None, holding, effects, now_ms, first=("grant.received", detail))
        log_event(_log, "grant.received", grant=grant.grant_id.hex()[:8], peer=grant.grantor.short)
        event = {"grant": grant.grant_id.hex(), "peer": grant.grantor.did, "fields": grant.fields}
        staged.after.append(functools.partial(self.node.events.publish, "grant.received", event))
        return staged

    def on_revoke(self, envelope: Envelope, now_ms: int) -> Staged:
        """``grant.revoke``: a signed revocation of a grant we hold deletes it now."""
        me = self.node.keyring.identity
        revocation = Revocation.decode(envelope.body)
        held = self.book.get(revocation.grant_id)
        if held is None or not envelope.sender == revocation.grantor == held.grant.grantor:
            raise GrantPartyError(
                f"{envelope.sender.short} revoked grant {revocation.grant_id.hex()[:16]}, which "
                "this node does not hold from it",
                hint=GrantPartyError.code,
            )
        new, effects = step(held, RevocationReceived(revocation), now_ms, signer=me)
        first = None
        if held.state is HoldingState.HELD:
            first = ("grant.revoked", f"revoked at {format_time_ms(revocation.revoked_ms)}")
        return self._perform(held, new, effects, now_ms, first=first)

    def on_holdings_query(self, envelope: Envelope, now_ms: int) -> Staged:
        """``grant.holdings``: answer with a signed statement of every grant held from the asker."""
        query_id = decode_holdings_query(envelope.body)
        held = self.book.find(grantor=envelope.sender, held_only=True)
        statement = holdings_statement(
            held,
            grantor=envelope.sender,
            query_id=query_id,
            now_ms=now_ms,
            signer=self.node.keyring.identity,
        )
        detail = f"answered: {len(statement.items)} grant(s) held"
        write = functools.partial(
            self.audit.append, now_ms, "holdings.answered", envelope.sender, query_id, detail
        )
        return Staged(
            writes=[write], sends=[Outgoing(envelope.sender, MSG_RECEIPT, statement.encoded)]
        )

    def _check_agreement(self, grant: Grant, sender: PeerId) -> None:
        """Data travels only under an agreement both hold (spec/grants.md §11)."""
        row = self.node.store.agreement(grant.agreement_id)
        if row is None or row.peer_id != sender.key:
            raise GrantPartyError(
                f"grant {grant.grant_id.hex()[:16]} cites agreement "
                f"{grant.agreement_id.hex()[:16]}, which this node does not hold with "
                f"{sender.short}; agree on terms first",
                hint=GrantPartyError.code,
            )

    # -- the end of a relationship -----------------------------------------------------------------

    def relationships_ended(self) -> int:
        """Start delete-on-end for every grant held from a peer whose relationship ENDED.

        Called at start and whenever a relationship ends: the scan is what makes an end that
        arrived just before a crash still delete. Returns how many holdings it moved.
        """
        if not self._running:
            return 0
        now = self.node.clock_ms()
        me = self.node.keyring.identity
        staged = Staged()
        moved = 0
        for record in self.book.find(held_only=True):
            if record.end_deadline_ms is not None:
                continue
            rel = self.node.book.current(record.grant.grantor)
            held = self.book.get(record.grant.grant_id)  # with its values, as it stays HELD
            if rel is None or rel.state is not RelationshipState.ENDED or held is None:
                continue
            within = delete_within_ms(self.node.store, held.grant.agreement_id)
            new, effects = step(held, RelationshipEnded(within), now, signer=me)
            first = None
            if new.state is HoldingState.HELD:
                first = ("grant.ending", f"relationship ended: deleted by {_at(new.deadline_ms)}")
            staged.extend(self._perform(held, new, effects, now, first=first))
            moved += 1
        if moved:
            self.node.commit(staged)
            log_event(_log, "grant.relationship_ended", holdings=moved)
        return moved

    # -- what the owner's software asks ------------------------------------------------------------

    async def read(
        self, grantor: PeerId, name: str, purpose: str | None
    ) -> tuple[Field | DerivedClaim, Holding]:
        """A held value under a live grant (for ``purpose``, or the newest grant's); audited.

        Raises grants.no_grant for anything no live grant covers, and logs the refusal.
        """
        now = self.node.clock_ms()
        held = self.book.find(grantor=grantor, held_only=True, values=True)
        live = [
            h
            for h in held
            if name in h.grant.fields
            and now < h.deadline_ms
            and (purpose is None or h.grant.purpose == purpose)
        ]
        try:
            if not live and purpose is None:
                raise NoGrantError(
                    f"no live grant from {grantor.short} covers {name!r} at "
                    f"{format_time_ms(now)}; ask for it: amity request PEER --fields {name}",
                    hint=NoGrantError.code,
                )
            newest = max(live, key=lambda h: (h.grant.issued_ms, h.grant.grant_id), default=None)
            chosen = purpose if purpose is not None else newest.grant.purpose if newest else ""
            value = read(held, grantor=grantor, name=name, purpose=chosen, now_ms=now)
        except NoGrantError:
            why = f"{name} for {purpose or 'any purpose'}: no live grant"
            await self.node.commit(Staged(writes=[self._audit(now, "grant.refused", grantor, why)]))
            raise
        assert newest is not None  # read() found a live holding
        detail = f"{name} for {chosen}"
        write = self._audit(now, "grant.read", grantor, detail, newest.grant.grant_id)
        await self.node.commit(Staged(writes=[write]))
        return value, newest

    def _audit(
        self, now: int, kind: str, peer: PeerId, detail: str, subject: bytes = b""
    ) -> functools.partial[None]:
        return functools.partial(self.audit.append, now, kind, peer, subject, detail)

    # -- effects -----------------------------------------------------------------------------------

    def _perform(
        self,
        before: Holding | None,
        after: Holding,
        effects: list[Effect],
        now_ms: int,
        *,
        first: tuple[str, str] | None = None,
    ) -> Staged:
        """The holder's effects as one commit: writes and sends in it, timers after it."""
        staged = Staged()
        grant = after.grant
        gid = grant.grant_id
        if first is not None:
            staged.writes.append(self._audit(now_ms, first[0], grant.grantor, first[1], gid))
        for effect in effects:
            if isinstance(effect, Persist):
                self.book.remember(effect.holding)
                staged.writes.append(functools.partial(self.book.save, effect.holding, now_ms))
                staged.after.append(functools.partial(self.book.committed, effect.holding))
            elif isinstance(effect, DeleteData):
                staged.writes.append(functools.partial(self.book.delete_values, effect.grant_id))
            elif isinstance(effect, SendMessage):
                staged.sends.append(Outgoing(effect.to, effect.type, effect.body))
            elif isinstance(effect, SetTimer):
                staged.after.append(functools.partial(self._arm, gid, effect.token, effect.at_ms))
            elif isinstance(effect, CancelTimer):
                staged.after.append(functools.partial(self._disarm, gid, effect.token))
        was_held = before is not None and before.state is HoldingState.HELD
        if was_held and after.state is HoldingState.DELETED:
            reason = after.deletion_reason.value if after.deletion_reason else "deleted"
            detail = f"{reason}: {_names(grant)} erased; deletion receipt sent"
            staged.writes.append(self._audit(now_ms, "grant.deleted", grant.grantor, detail, gid))
            staged.after.append(functools.partial(self._deleted, after))
        return staged

    def _deleted(self, holding: Holding) -> None:
        grant = holding.grant
        reason = holding.deletion_reason.value if holding.deletion_reason else ""
        log_event(
            _log,
            "grant.deleted",
            grant=grant.grant_id.hex()[:8],
            peer=grant.grantor.short,
            reason=reason,
        )
        data = {"grant": grant.grant_id.hex(), "peer": grant.grantor.did, "reason": reason}
        self.node.events.publish("grant.deleted", data)

    def _arm(self, gid: bytes, token: str, at_ms: int) -> None:
        self._disarm(gid)
        if not self._running:
            return
        delay_s = max(0.0, (at_ms - self.node.clock_ms()) / 1000)
        handle = asyncio.get_running_loop().call_later(delay_s, self._fire, gid, token)
        self._timers[gid] = (token, handle)

    def _disarm(self, gid: bytes, token: str | None = None) -> None:
        armed = self._timers.get(gid)
        if armed is not None and token in (None, armed[0]):
            armed[1].cancel()
            del self._timers[gid]

    def _fire(self, gid: bytes, token: str) -> None:
        self._timers.pop(gid, None)
        held = self.book.get(gid)
        if held is None or not self._running:
            return
        if "keep-data" in self.node.misbehave:  # a test mode: a vendor that breaches its terms
            log_event(_log, "misbehave.kept_data", logging.WARNING, grant=gid.hex()[:8])
            return
        now = self.node.clock_ms()
        try:
            new, effects = step(held, TimerFired(token), now, signer=self.node.keyring.identity)
        except AmityError as exc:  # the table absorbs stale timers; anything else is a bug
            log_event(_log, "grant.timer_failed", logging.ERROR, grant=gid.hex()[:8], code=exc.code)
            return
        if effects:
            self.node.commit(self._perform(held, new, effects, now))


def _at(ms: int) -> str:
    return format_time_ms(ms)
