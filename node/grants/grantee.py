"""The grantee's side of grants on the daemon: deletion timers, the ends it watches, reads.

What a delivery, a revocation, a timer or an end means is amity.protocol.core.grants.holder;
this class arms its timers on the event loop (and re-arms them from ``timer_at_ms`` at start),
asks the core at start and after each relationship's end, commits what it returns, and answers
the owner's software's reads with an audit entry. See spec/grants.md §5, §7.3 and §8.
"""

from __future__ import annotations

import asyncio
import logging

from amity.node.daemon import Node
from amity.node.grants.carry import Carrier
from amity.node.grants.host import NodeGrantsHost
from amity.node.logs import log_event
from amity.protocol.claims import DerivedClaim
from amity.protocol.core.grants import holder as core
from amity.protocol.core.grants.effects import Audit, EndAgreement, SaveHolding
from amity.protocol.errors import AmityError, NoGrantError, format_time_ms
from amity.protocol.holder import Holding, HoldingState
from amity.protocol.holdings import read
from amity.protocol.identity import PeerId
from amity.protocol.vault import Field

__all__ = ["Grantee"]

_log = logging.getLogger("amity.grants")


class Grantee:
    """Every grant this node holds for others: their deletion timers, ends and reads."""

    def __init__(self, node: Node, host: NodeGrantsHost, carrier: Carrier) -> None:
        self.node = node
        self.host = host
        self.book = host.book
        self.carrier = carrier
        carrier.arm, carrier.disarm = self._arm, self._disarm
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

    # -- the end of a relationship -----------------------------------------------------------------

    def relationships_ended(self) -> int:
        """Start delete-on-end for every grant held from a peer whose relationship ENDED.

        Called at start and whenever a relationship ends (the scan is the core's). Returns how
        many holdings it moved.
        """
        if not self._running:
            return 0
        now = self.node.clock_ms()
        effects = core.relationships_ended(self.host, now)
        moved = sum(isinstance(effect, SaveHolding) for effect in effects)
        ended = sum(isinstance(effect, EndAgreement) for effect in effects)
        if effects:
            self.node.commit(self.carrier.stage(effects, now))
        if moved or ended:
            log_event(_log, "grant.relationship_ended", holdings=moved, agreements=ended)
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
                    f"no live grant from {self.node.book.name_of(grantor)} covers {name!r} at "
                    f"{format_time_ms(now)}; ask for it: amity request PEER --fields {name}",
                    hint=NoGrantError.code,
                )
            newest = max(live, key=lambda h: (h.grant.issued_ms, h.grant.grant_id), default=None)
            chosen = purpose if purpose is not None else newest.grant.purpose if newest else ""
            value = read(held, grantor=grantor, name=name, purpose=chosen, now_ms=now)
        except NoGrantError:
            why = f"{name} for {purpose or 'any purpose'}: no live grant"
            refused = Audit("grant.refused", grantor, b"", why)
            await self.node.commit(self.carrier.stage([refused], now))
            raise
        assert newest is not None  # read() found a live holding
        audit = Audit("grant.read", grantor, newest.grant.grant_id, f"{name} for {chosen}")
        await self.node.commit(self.carrier.stage([audit], now))
        return value, newest

    # -- timers ------------------------------------------------------------------------------------

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
        if not self._running:
            return
        now = self.node.clock_ms()
        try:
            effects = core.timer_fired(self.host, gid, token, now)
        except AmityError as exc:  # the table absorbs stale timers; anything else is a bug
            log_event(_log, "grant.timer_failed", logging.ERROR, grant=gid.hex()[:8], code=exc.code)
            return
        staged = self.carrier.stage(effects, now)
        if staged.writes or staged.sends or staged.after:
            self.node.commit(staged)
