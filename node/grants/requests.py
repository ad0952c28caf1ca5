"""Grant requests on the daemon: the vendor's asks, and the person's answers to them.

What a request means and when her rule answers it are amity.protocol.core.grants.requests; this
module keeps her rule in the store, lists the requests, and carries out her approvals and
declines (a grant for at most the duration asked; nothing is sent on a decline).
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import replace

from amity.node.daemon import Node
from amity.node.grants.carry import Carrier
from amity.node.grants.grantor import Grantor
from amity.node.grants.host import AUTO_APPROVE_KEY, RULE_KEY, NodeGrantsHost
from amity.node.logs import log_event
from amity.node.services import Staged
from amity.node.store import GrantRequestRow
from amity.protocol.core.grants import requests as core
from amity.protocol.core.grants.requests import PENDING
from amity.protocol.core.grants.rule import MAX_AUTO_MS, SharingRule
from amity.protocol.errors import NotFoundError, format_time_ms
from amity.protocol.grants import Grant, GrantRequest, Onward
from amity.protocol.identity import PeerId

__all__ = ["GrantRequests", "SharingRule", "AUTO_APPROVE_KEY", "RULE_KEY", "MAX_AUTO_MS"]

_log = logging.getLogger("amity.grants")


class GrantRequests:
    """Requests this node sent (as a vendor) or received (as a person), and their outcome."""

    def __init__(
        self, node: Node, grantor: Grantor, host: NodeGrantsHost, carrier: Carrier
    ) -> None:
        self.node = node
        self.grantor = grantor
        self.host = host
        self.carrier = carrier

    # -- her rule: which requests her node answers for her -----------------------------------------

    @property
    def rule(self) -> SharingRule:
        return self.host.rule

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
        effects = core.ask(
            self.host, peer, names, purpose=purpose, context=context, duration_ms=duration_ms
        )
        ids: list[int] = []
        await self.node.commit(self.carrier.stage(effects, self.node.clock_ms(), ids))
        return ids[0]

    # -- the person answers ------------------------------------------------------------------------

    def listing(self, *, pending_only: bool = False) -> list[GrantRequestRow]:
        return self.node.store.grant_requests(state=PENDING if pending_only else None)

    def one(self, request_id: int) -> GrantRequestRow:
        rows = self.node.store.grant_requests(request_id=request_id)
        if not rows:
            raise NotFoundError(f"no request #{request_id}; `amity requests` lists them")
        return rows[0]

    def _pending(self, request_id: int) -> tuple[GrantRequestRow, GrantRequest]:
        row = self.one(request_id)
        answerable = core.answerable(
            request_id, outgoing=row.outgoing, state=row.state, body=row.body
        )
        return row, answerable

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
        chosen = core.approval(request_id, request, specs)
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
        effects = core.decline(request_id, PeerId(row.peer_id), request)
        await self.node.commit(self.carrier.stage(effects, now))
        log_event(_log, "grant.declined", request=request_id, at=format_time_ms(now))
        return self.one(request_id)
