"""The grantor's side of grants on the daemon: the owner's commands, and waiting for answers.

The rules (which agreement, which purpose, what a receipt or statement means) live in
:mod:`amity.protocol.core.grants.grantor`; this class finds what the owner named (a grant or an
agreement by hex prefix), runs the reputation service's gates, commits the core's effects and
waits for answers. See spec/grants.md §4, §5, §7 and §8.6.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Final

from amity.node.daemon import Node
from amity.node.grants.carry import Carrier, write
from amity.node.grants.host import NodeGrantsHost
from amity.node.logs import log_event
from amity.node.services import Staged
from amity.node.store import HoldingsQueryRow, IssuedGrantRow
from amity.protocol.agreement import Agreement
from amity.protocol.core.grants import grantor as core
from amity.protocol.core.grants.agreements import newest
from amity.protocol.core.grants.grantor import connected, split_names
from amity.protocol.errors import NodeError, NotFoundError
from amity.protocol.grants import Grant, Onward
from amity.protocol.identity import PeerId
from amity.protocol.receipts import QUERY_ID_BYTES

__all__ = ["Grantor", "connected", "hex_prefix", "split_names", "write"]

_log = logging.getLogger("amity.grants")
_MIN_PREFIX: Final = 4


def hex_prefix(text: str, what: str) -> str:
    """``text`` as a lower-case hex prefix of at least 4 digits, else a NodeError that teaches."""
    digits = text.strip().lower()
    if len(digits) < _MIN_PREFIX or any(c not in "0123456789abcdef" for c in digits):
        raise NodeError(
            f"{text!r:.80} is not a {what} id: give its hex id, or at least its first "
            f"{_MIN_PREFIX} hex digits"
        )
    return digits


class Grantor:
    """Grants this node issued: issuing, revoking, and asking what peers hold."""

    def __init__(self, node: Node, host: NodeGrantsHost, carrier: Carrier) -> None:
        self.node = node
        self.host = host
        self.carrier = carrier
        carrier.answered = self._answered
        self._waiting: dict[bytes, asyncio.Future[None]] = {}
        #: Checks a new grant must pass (the reputation service's cut-off); each raises to refuse.
        self.gates = host.gates

    # -- issuing -----------------------------------------------------------------------------------

    def agreement_with(self, peer: PeerId, id_prefix: str | None = None) -> Agreement:
        """The agreement a grant to ``peer`` lives under: the one named, else the newest in force."""
        if id_prefix is None:
            return newest(self.host, peer)
        rows = self.node.store.agreements(
            peer_id=peer.key, id_prefix=hex_prefix(id_prefix, "agreement"), limit=2
        )
        if len(rows) != 1:
            what = "no agreement" if not rows else "more than one agreement"
            raise NotFoundError(f"{what} {id_prefix!r:.40} with {self.node.book.name_of(peer)}")
        if rows[0].superseded_by is not None:
            newer = rows[0].superseded_by.hex()[:16]
            raise NodeError(f"that agreement was amended by {newer}; grant under that one")
        return Agreement.decode(rows[0].encoded)

    def issue(
        self,
        peer: PeerId,
        specs: Iterable[str],
        *,
        purpose: str,
        context: str,
        duration_ms: int,
        agreement: str | None = None,
        onward: Onward = Onward.NONE,
        request_id: int | None = None,
    ) -> tuple[Grant, Staged]:
        """Sign a grant and seal its values to ``peer``: the grant and the staged commit."""
        now = self.node.clock_ms()
        names, ages = split_names(specs)
        grant, effects = core.issue(
            self.host,
            peer,
            names,
            purpose=purpose,
            context=context,
            duration_ms=duration_ms,
            now_ms=now,
            random=os.urandom,
            ages=ages,
            agreement=None if agreement is None else self.agreement_with(peer, agreement),
            onward=onward,
            request_id=request_id,
        )
        return grant, self.carrier.stage(effects, now)

    async def grant(
        self,
        peer: PeerId,
        specs: Iterable[str],
        *,
        purpose: str,
        context: str,
        duration_ms: int,
        agreement: str | None = None,
        onward: Onward = Onward.NONE,
    ) -> Grant:
        """Issue a grant (see :meth:`issue`) and wait until it is stored and queued."""
        grant, staged = self.issue(
            peer,
            specs,
            purpose=purpose,
            context=context,
            duration_ms=duration_ms,
            agreement=agreement,
            onward=onward,
        )
        await self.node.commit(staged)
        return grant

    # -- revoking ----------------------------------------------------------------------------------

    def issued(self, id_prefix: str) -> IssuedGrantRow:
        """The one grant we issued whose hex id starts with ``id_prefix``."""
        rows = self.node.store.issued_grants(id_prefix=hex_prefix(id_prefix, "grant"), limit=2)
        if len(rows) != 1:
            if rows:
                raise NodeError(f"{id_prefix!r:.40} names more than one grant; give more of it")
            raise NotFoundError(f"you issued no grant {id_prefix!r:.40}; `amity grants` lists them")
        return rows[0]

    async def revoke(
        self, id_prefix: str, *, also: Sequence[Callable[[], None]] = ()
    ) -> IssuedGrantRow:
        """Sign a revocation and send it; the grantee deletes and returns a deletion receipt.

        ``also``: further writes that must land in the same commit as the revocation.
        """
        row = self.issued(id_prefix)
        now = self.node.clock_ms()
        revocation, effects = core.revoke(
            self.host, Grant.decode(row.encoded), revoked=row.revocation is not None, now_ms=now
        )
        staged = self.carrier.stage(effects, now)
        staged.writes += also
        await self.node.commit(staged)
        log_event(
            _log, "grant.revoked", grant=row.grant_id.hex()[:8], peer=PeerId(row.peer_id).short
        )
        return replace(row, revocation=revocation.encoded, revoked_ms=now)

    # -- asking what peers hold --------------------------------------------------------------------

    def _answered(self, query_id: bytes) -> None:
        future = self._waiting.get(query_id)
        if future is not None and not future.done():
            future.set_result(None)

    async def ask_holdings(self, peer: PeerId, wait_s: float) -> HoldingsQueryRow:
        """Ask ``peer`` what it holds about us; wait up to ``wait_s`` for the signed answer."""
        query_id = os.urandom(QUERY_ID_BYTES)
        effects = core.ask_holdings(self.host, peer, query_id)
        now = self.node.clock_ms()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[query_id] = future
        try:
            await self.node.commit(self.carrier.stage(effects, now))
            try:
                async with asyncio.timeout(wait_s):
                    await future
            except TimeoutError:
                pass
        finally:
            self._waiting.pop(query_id, None)
        found = self.node.store.holdings_query(query_id)
        assert found is not None
        return found
