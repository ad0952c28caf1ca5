"""The loyalty service on a daemon: records in memory, mirrored to SQLite in each commit.

What a declaration or revocation means is amity.protocol.core.loyalty; here its effects become
one staged commit (the record, the message in the outbox) and, once on disk, an event.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from amity.node.services import SmallService, Staged
from amity.protocol.core import loyalty as core
from amity.protocol.core.loyalty import LoyaltyEffect, LoyaltyRecord, SaveLoyalty
from amity.protocol.envelope import Envelope
from amity.protocol.identity import PeerId
from amity.protocol.loyalty import Declaration, LoyaltyRevocation
from amity.protocol.relationship import Relationship, SendMessage

if TYPE_CHECKING:
    from amity.node.daemon import Node

__all__ = ["LoyaltyService"]


class LoyaltyService(SmallService):
    """See the module docstring; the host of amity.protocol.core.loyalty too."""

    types: frozenset[str] = core.TYPES

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        self.records: dict[bytes, LoyaltyRecord] = {}
        for mine, at_ms, declaration, revocation in node.store.loyalty_rows():
            d = Declaration.decode(declaration)
            r = None if revocation is None else LoyaltyRevocation.decode(revocation)
            self.records[d.declaration_id] = LoyaltyRecord(d, mine, at_ms, r)

    # -- the host (with SmallService's keyring and relationship) ------------------------------------

    def loyalty(self, declaration_id: bytes) -> LoyaltyRecord | None:
        return self.records.get(declaration_id)

    # -- peers' messages (the Service protocol) --------------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        return self._stage(core.receive(self, envelope, now_ms))

    # -- what the owner asks ----------------------------------------------------------------------------

    async def declare(
        self,
        vendor: PeerId,
        *,
        since_ms: int,
        until_ms: int,
        categories: tuple[str, ...],
        note: str,
    ) -> LoyaltyRecord:
        record, effects = core.declare(
            self, vendor, self.node.clock_ms(), since_ms=since_ms, until_ms=until_ms,
            categories=categories, note=note,
        )  # fmt: skip
        await self.node.commit(self._stage(effects))
        return record

    async def revoke(self, declaration_id: bytes) -> LoyaltyRecord:
        record, effects = core.revoke(self, declaration_id, self.node.clock_ms())
        await self.node.commit(self._stage(effects))
        return record

    def _stage(self, effects: list[LoyaltyEffect]) -> Staged:
        saved = []
        for effect in effects:
            if not isinstance(effect, SaveLoyalty):
                continue
            record = effect.record
            self.records[record.declaration_id] = record
            revocation = None if record.revocation is None else record.revocation.encoded
            row = (record.declaration_id, record.mine, record.at_ms, record.declaration.encoded)
            write = functools.partial(self.node.store.put_loyalty, *row, revocation)
            detail: dict[str, object] = {
                "declaration": record.declaration_id.hex(),
                "person": record.declaration.person.did,
                "vendor": record.declaration.vendor.did,
            }
            saved.append((write, f"loyalty.{effect.what}", detail))
        return self.stage_saved([e for e in effects if isinstance(e, SendMessage)], saved)
