"""Grant requests: a vendor asks for fields for a purpose; the person approves, declines, or
lets her rule decide.

A request carries no data and creates no obligation (spec/grants.md §4.4). The person's node
keeps each one as pending until its owner approves all or some of the fields (a grant for at
most the duration asked) or declines (nothing is sent). With auto-approve on, a request the
vault and the agreement can satisfy is granted at once, for at most 30 days.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, replace
from typing import Any, Final

from amity.node.auditlog import AuditLog
from amity.node.daemon import Node
from amity.node.grants.grantor import Grantor, connected, split_names, write
from amity.node.logs import log_event
from amity.node.services import Outgoing, Staged
from amity.node.store import GrantRequestRow
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    AmityError,
    NodeError,
    NotFoundError,
    UsageError,
    format_time_ms,
)
from amity.protocol.grants import (
    MSG_REQUEST,
    Grant,
    GrantRequest,
    Onward,
    check_names,
    decode_request,
    encode_request,
)
from amity.protocol.identity import PeerId

__all__ = ["GrantRequests", "SharingRule", "AUTO_APPROVE_KEY", "RULE_KEY", "MAX_AUTO_MS"]

_log = logging.getLogger("amity.grants")
AUTO_APPROVE_KEY: Final = "grants.auto_approve"
#: An automatically approved grant lasts at most this long, whatever the vendor asked.
_DAY_MS: Final = 24 * 3600 * 1000
MAX_AUTO_MS: Final = 30 * _DAY_MS
RULE_KEY: Final = "grants.rule"
PENDING: Final = "pending"


@dataclass(frozen=True, slots=True)
class SharingRule:
    """The person's rule for requests: answer for her, within these fields, purposes and time.

    ``fields``/``purposes`` None means any. A request asking for more gets the subset the rule
    allows (a partial grant); one the rule allows nothing of waits for her.
    """

    auto_approve: bool = False
    fields: tuple[str, ...] | None = None
    purposes: tuple[str, ...] | None = None
    max_ms: int = MAX_AUTO_MS

    def allows(self, fields: tuple[str, ...] | list[str], purpose: str) -> list[str]:
        """The requested fields this rule grants at once (empty: ask the owner)."""
        if not self.auto_approve or (self.purposes is not None and purpose not in self.purposes):
            return []
        return [f for f in fields if self.fields is None or f in self.fields]

    def to_json(self) -> dict[str, Any]:
        return {
            "auto_approve": self.auto_approve,
            "fields": None if self.fields is None else list(self.fields),
            "purposes": None if self.purposes is None else list(self.purposes),
            "max_days": self.max_ms / _DAY_MS,
        }

    @classmethod
    def from_json(cls, data: Any) -> SharingRule:
        """From the API's JSON; raises UsageError with what is wrong."""
        if not isinstance(data, dict) or not isinstance(data.get("auto_approve"), bool):
            raise UsageError("the rule needs auto_approve: true or false")

        def names(key: str) -> tuple[str, ...] | None:
            value = data.get(key)
            if value is None:
                return None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{key} is a list of names, or null for any")
            return tuple(value)

        days = data.get("max_days", MAX_AUTO_MS / _DAY_MS)
        if isinstance(days, bool) or not isinstance(days, int | float) or not 0 < days <= 365:
            raise UsageError("max_days is more than 0 and at most 365")
        return cls(data["auto_approve"], names("fields"), names("purposes"), int(days * _DAY_MS))


class GrantRequests:
    """Requests this node sent (as a vendor) or received (as a person), and their outcome."""

    def __init__(self, node: Node, audit: AuditLog, grantor: Grantor) -> None:
        self.node = node
        self.audit = audit
        self.grantor = grantor

    # -- her rule: which requests her node answers for her -----------------------------------------

    @property
    def rule(self) -> SharingRule:
        raw = self.node.store.get_meta(RULE_KEY)
        if raw is None:  # before the rule had fields: the bare on/off switch
            return SharingRule(auto_approve=self.node.store.get_meta(AUTO_APPROVE_KEY) == b"1")
        return SharingRule.from_json(json.loads(raw))

    @property
    def auto_approve(self) -> bool:
        return self.rule.auto_approve

    async def set_rule(self, rule: SharingRule) -> None:
        value = json.dumps(rule.to_json(), sort_keys=True).encode()
        await self.node.commit(
            Staged(writes=[functools.partial(self.node.store.set_meta, RULE_KEY, value)])
        )

    async def set_auto_approve(self, on: bool) -> None:
        await self.set_rule(replace(self.rule, auto_approve=on))

    # -- the vendor asks ---------------------------------------------------------------------------

    async def send(
        self, peer: PeerId, names: list[str], *, purpose: str, context: str, duration_ms: int
    ) -> int:
        """Ask ``peer`` for ``names`` for ``purpose``; returns the request's local id."""
        connected(self.node, peer, "ask")
        body = encode_request(GrantRequest(check_names(names), purpose, context, duration_ms))
        now = self.node.clock_ms()
        row = GrantRequestRow(0, peer.key, True, body, now, "sent")
        ids: list[int] = []
        detail = f"we asked for {', '.join(sorted(names))} for {purpose}"
        await self.node.commit(
            Staged(
                writes=[
                    lambda: ids.append(self.node.store.add_grant_request(row)),
                    functools.partial(self.audit.append, now, "grant.requested", peer, b"", detail),
                ],
                sends=[Outgoing(peer, MSG_REQUEST, body)],
            )
        )
        return ids[0]

    # -- the person answers ------------------------------------------------------------------------

    def on_request(self, envelope: Envelope, now_ms: int) -> Staged:
        """``grant.request``: keep it as pending, or grant it at once under the auto rule."""
        request = decode_request(envelope.body)
        sender = envelope.sender
        grant: Grant | None = None
        issued = Staged()
        rule = self.rule
        allowed = rule.allows(request.fields, request.purpose)
        if allowed:
            try:
                grant, issued = self.grantor.issue(
                    sender,
                    allowed,
                    purpose=request.purpose,
                    context=request.context,
                    duration_ms=min(request.duration_ms, rule.max_ms),
                )
            except AmityError as exc:  # the vault or the agreement cannot satisfy it: ask her
                log_event(_log, "grant.request_waits", peer=sender.short, why=exc.message)
        state = PENDING if grant is None else "approved"
        gid = None if grant is None else grant.grant_id
        decided = None if grant is None else now_ms
        row = GrantRequestRow(0, sender.key, False, envelope.body, now_ms, state, gid, decided)
        ids: list[int] = []
        detail = f"asked for {', '.join(request.fields)} for {request.purpose}: " + (
            f"approved {', '.join(grant.fields)} by her rule" if grant else "waits for the owner"
        )
        staged = Staged(
            writes=[
                lambda: ids.append(self.node.store.add_grant_request(row)),
                functools.partial(
                    self.audit.append, now_ms, "grant.requested", sender, b"", detail
                ),
            ]
        )
        staged.extend(issued)

        def published() -> None:
            event = {"request": ids[0] if ids else None, "peer": sender.did, "state": state}
            self.node.events.publish("grant.requested", event)

        staged.after.append(published)
        return staged

    def listing(self, *, pending_only: bool = False) -> list[GrantRequestRow]:
        return self.node.store.grant_requests(state=PENDING if pending_only else None)

    def one(self, request_id: int) -> GrantRequestRow:
        rows = self.node.store.grant_requests(request_id=request_id)
        if not rows:
            raise NotFoundError(f"no request #{request_id}; `amity requests` lists them")
        return rows[0]

    def _pending(self, request_id: int) -> tuple[GrantRequestRow, GrantRequest]:
        row = self.one(request_id)
        if row.outgoing or row.state != PENDING:
            what = "one you sent" if row.outgoing else f"already {row.state}"
            raise NodeError(f"request #{request_id} is {what}; only pending ones are answered")
        return row, decode_request(row.body)

    async def approve(
        self,
        request_id: int,
        specs: list[str] | None = None,
        *,
        duration_ms: int | None = None,
        agreement: str | None = None,
        onward: Onward = Onward.NONE,
    ) -> Grant:
        """Grant all the fields asked (or ``specs``, a subset), for at most the time asked."""
        row, request = self._pending(request_id)
        chosen = specs or list(request.fields)
        names, _ = split_names(chosen)
        extra = sorted(set(names) - set(request.fields))
        if extra:
            raise NodeError(
                f"request #{request_id} asked for {', '.join(request.fields)}, not "
                f"{', '.join(extra)}; approve those or fewer"
            )
        grant, staged = self.grantor.issue(
            PeerId(row.peer_id),
            chosen,
            purpose=request.purpose,
            context=request.context,
            duration_ms=min(duration_ms or request.duration_ms, request.duration_ms),
            agreement=agreement,
            onward=onward,
            request_id=request_id,
        )
        await self.node.commit(staged)
        return grant

    async def decline(self, request_id: int) -> GrantRequestRow:
        """Decline: nothing is sent (a request creates no obligation), the decision is kept."""
        row, request = self._pending(request_id)
        now = self.node.clock_ms()
        peer = PeerId(row.peer_id)
        detail = f"declined: {', '.join(request.fields)} for {request.purpose}"
        await self.node.commit(
            Staged(
                writes=[
                    write(self.node.store.decide_grant_request, request_id, "declined", None, now),
                    functools.partial(self.audit.append, now, "grant.declined", peer, b"", detail),
                ]
            )
        )
        log_event(_log, "grant.declined", request=request_id, at=format_time_ms(now))
        return self.one(request_id)
