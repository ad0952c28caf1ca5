"""The daemon carries out the grants core's effects: rows and audit entries in the commit,
sends with it, and timers, events and waiters once it is on disk.

The rules (what a message means, which effects follow) are amity.protocol.core.grants; this
module only maps each effect to the store, the audit log, the event bus and asyncio.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from amity.node.auditlog import AuditLog
from amity.node.daemon import Node
from amity.node.grants.holdings import HoldingBook
from amity.node.logs import log_event
from amity.node.services import Outgoing, Staged
from amity.node.store import GrantReceiptRow, GrantRequestRow, HoldingsQueryRow, IssuedGrantRow
from amity.node.webhooks.events import deletion_due, grant_deleted, grant_given, grant_updated
from amity.protocol.core.grants.effects import (
    ArmTimer,
    Audit,
    DecideRequest,
    Deleted,
    DeleteValues,
    DisarmTimer,
    Effect,
    EndAgreement,
    Held,
    Issued,
    KeepReceipt,
    KeepRequest,
    KeepStatement,
    KeptData,
    ReceiptCame,
    Replaced,
    RequestCame,
    RequestWaits,
    SaveHolding,
    SaveIssued,
    SaveQuery,
    SaveRevocation,
    SaveUpdate,
    Send,
    StatementCame,
)
from amity.protocol.holder import Holding, HoldingState
from amity.protocol.receipts import DeletionReceipt, UpdateReceipt

__all__ = ["Carrier", "write"]

_log = logging.getLogger("amity.grants")


def write(fn: Callable[..., object], *args: object) -> Callable[[], None]:
    """``fn(*args)`` as a staged write (whatever it returns is not needed in the commit)."""

    def run() -> None:
        fn(*args)

    return run


def _nothing(*_: object) -> None:
    return None


class Carrier:
    """Turns the grants core's effects into one :class:`~amity.node.services.Staged` commit."""

    def __init__(self, node: Node, audit: AuditLog, book: HoldingBook) -> None:
        self.node = node
        self.audit = audit
        self.book = book
        #: Set by the grantee: arm and disarm a deletion timer (grant id, token[, at_ms]).
        self.arm: Callable[[bytes, str, int], None] = _nothing
        self.disarm: Callable[[bytes, str], None] = _nothing
        #: Set by the grantor: wake whoever waits for the answer to a holdings query.
        self.answered: Callable[[bytes], None] = _nothing

    def stage(
        self, effects: Sequence[Effect], now_ms: int, request_ids: list[int] | None = None
    ) -> Staged:
        """The effects as one commit; ``request_ids`` gets the local id of each request stored."""
        staged = Staged()
        store = self.node.store
        writes, after = staged.writes, staged.after
        ids: list[int] = [] if request_ids is None else request_ids
        for effect in effects:
            if isinstance(effect, Send):
                staged.sends.append(Outgoing(effect.to, effect.type, effect.body))
            elif isinstance(effect, Audit):
                writes.append(
                    functools.partial(
                        self.audit.append,
                        now_ms,
                        effect.kind,
                        effect.peer,
                        effect.subject,
                        effect.detail,
                    )
                )
            elif isinstance(effect, SaveHolding):
                if self._deletion_set(effect.holding):
                    writes.append(deletion_due(self.node.webhooks, effect.holding, now_ms))
                self.book.remember(effect.holding)
                writes.append(functools.partial(self.book.save, effect.holding, now_ms))
                after.append(functools.partial(self.book.committed, effect.holding))
            elif isinstance(effect, DeleteValues):
                writes.append(functools.partial(self.book.delete_values, effect.grant_id))
            elif isinstance(effect, ArmTimer):
                after.append(
                    functools.partial(self.arm, effect.grant_id, effect.token, effect.at_ms)
                )
            elif isinstance(effect, DisarmTimer):
                after.append(functools.partial(self.disarm, effect.grant_id, effect.token))
            elif isinstance(effect, Held):
                grant = effect.holding.grant
                log_event(
                    _log, "grant.received", grant=grant.grant_id.hex()[:8], peer=grant.grantor.short
                )
                event = {
                    "grant": grant.grant_id.hex(),
                    "peer": grant.grantor.did,
                    "fields": grant.fields,
                }
                after.append(functools.partial(self.node.events.publish, "grant.received", event))
                writes.append(grant_given(self.node.webhooks, effect.holding, now_ms))
            elif isinstance(effect, Deleted):
                after.append(functools.partial(self._deleted, effect.holding))
                writes.extend(grant_deleted(self.node.webhooks, effect.holding, now_ms))
            elif isinstance(effect, Replaced):
                after.append(functools.partial(self._replaced, effect.holding))
                writes.append(grant_updated(self.node.webhooks, effect.holding, now_ms))
            elif isinstance(effect, SaveUpdate):
                writes.append(write(store.set_update_version, effect.grant_id, effect.version))
            elif isinstance(effect, KeptData):
                log_event(
                    _log, "misbehave.kept_data", logging.WARNING, grant=effect.grant_id.hex()[:8]
                )
            elif isinstance(effect, SaveIssued):
                g = effect.grant
                row = IssuedGrantRow(
                    g.grant_id,
                    g.grantee.key,
                    g.agreement_id,
                    g.encoded,
                    g.issued_ms,
                    g.not_after_ms,
                )
                writes.append(functools.partial(store.save_issued_grant, row))
            elif isinstance(effect, Issued):
                g = effect.grant
                event = {"grant": g.grant_id.hex(), "peer": g.grantee.did, "fields": list(g.fields)}
                after.append(functools.partial(self.node.events.publish, "grant.issued", event))
                log_event(
                    _log,
                    "grant.issued",
                    grant=g.grant_id.hex()[:8],
                    peer=g.grantee.short,
                    fields=len(g.fields),
                )
            elif isinstance(effect, EndAgreement):
                writes.append(
                    functools.partial(store.end_agreement, effect.agreement_id, effect.ended_ms)
                )
            elif isinstance(effect, SaveRevocation):
                rev = effect.revocation
                (issued,) = store.issued_grants(id_prefix=rev.grant_id.hex(), limit=1)
                revoked = replace(issued, revocation=rev.encoded, revoked_ms=rev.revoked_ms)
                writes.append(functools.partial(store.save_issued_grant, revoked))
            elif isinstance(effect, KeepReceipt):
                receipt = effect.receipt
                kind = (
                    "deletion"
                    if isinstance(receipt, DeletionReceipt)
                    else "update"
                    if isinstance(receipt, UpdateReceipt)
                    else "delivery"
                )
                receipt_row = GrantReceiptRow(
                    effect.peer.key, receipt.grant_id, kind, receipt.encoded, now_ms
                )
                writes.append(write(store.add_grant_receipt, receipt_row))
            elif isinstance(effect, ReceiptCame):
                came: dict[str, object] = {
                    "grant": effect.grant_id.hex(),
                    "peer": effect.peer.did,
                    "receipt": effect.kind,
                    "reason": effect.reason,
                }
                if effect.kind == "update":
                    came["version"] = effect.version
                after.append(functools.partial(self.node.events.publish, "grant.receipt", came))
            elif isinstance(effect, SaveQuery):
                query = HoldingsQueryRow(effect.query_id, effect.peer.key, now_ms)
                writes.append(functools.partial(store.save_holdings_query, query))
            elif isinstance(effect, KeepStatement):
                statement = effect.statement
                asked = store.holdings_query(statement.query_id)
                assert asked is not None  # the core matched the statement to it
                answered = replace(asked, statement=statement.encoded, answered_ms=now_ms)
                writes.append(functools.partial(store.save_holdings_query, answered))
            elif isinstance(effect, StatementCame):
                after.append(functools.partial(self.answered, effect.query_id))
            elif isinstance(effect, KeepRequest):
                decided = now_ms if effect.state == "approved" else None
                request_row = GrantRequestRow(
                    0,
                    effect.peer.key,
                    effect.outgoing,
                    effect.body,
                    now_ms,
                    effect.state,
                    effect.grant_id,
                    decided,
                )
                writes.append(functools.partial(self._add_request, ids, request_row))
            elif isinstance(effect, DecideRequest):
                decide = store.decide_grant_request
                writes.append(
                    write(decide, effect.request_id, effect.state, effect.grant_id, now_ms)
                )
            elif isinstance(effect, RequestCame):
                peer, state = effect.peer, effect.state
                after.append(functools.partial(self._requested, ids, peer.did, state))
            elif isinstance(effect, RequestWaits):
                log_event(_log, "grant.request_waits", peer=effect.peer.short, why=effect.why)
        return staged

    def _deletion_set(self, holding: Holding) -> bool:
        """True when ``holding`` newly has a delete-on-end deadline (its data still held)."""
        if holding.state is not HoldingState.HELD or holding.end_deadline_ms is None:
            return False
        before = self.book.get(holding.grant.grant_id, values=False)
        return before is None or before.end_deadline_ms != holding.end_deadline_ms

    def _add_request(self, ids: list[int], row: GrantRequestRow) -> None:
        ids.append(self.node.store.add_grant_request(row))

    def _requested(self, ids: list[int], peer: str, state: str) -> None:
        event = {"request": ids[0] if ids else None, "peer": peer, "state": state}
        self.node.events.publish("grant.requested", event)

    def _replaced(self, holding: Holding) -> None:
        grant = holding.grant
        log_event(
            _log,
            "grant.updated",
            grant=grant.grant_id.hex()[:8],
            peer=grant.grantor.short,
            version=holding.version,
        )
        data = {
            "grant": grant.grant_id.hex(),
            "peer": grant.grantor.did,
            "fields": list(grant.fields),
            "version": holding.version,
        }
        self.node.events.publish("grant.updated", data)

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
