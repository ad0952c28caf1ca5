"""The grants service: the node's vault, the grants it issued and holds, and its audit log.

It handles ``grant.request``, ``grant.deliver``, ``grant.revoke``, ``grant.receipt`` and
``grant.holdings`` from peers (through :class:`~amity.node.services.Service`): what each means
is :mod:`amity.protocol.core.grants`, whose effects :mod:`amity.node.grants.carry` stages in the
same transaction as the message itself. The owner's commands live in
:mod:`amity.node.grants.grantor` and :mod:`amity.node.grants.requests`, the grantee's timers and
reads in :mod:`amity.node.grants.grantee`. It watches the node's events for relationships that
end, to carry out delete-on-end. See spec/grants.md §11 and §14.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from typing import Final

from amity.node.auditlog import AuditLog
from amity.node.daemon import Node
from amity.node.grants.carry import Carrier
from amity.node.grants.data import outcome_json
from amity.node.grants.grantee import Grantee
from amity.node.grants.grantor import Grantor, write
from amity.node.grants.holdings import HoldingBook
from amity.node.grants.host import NodeGrantsHost
from amity.node.grants.requests import GrantRequests
from amity.node.grants.vault import Vault
from amity.node.logs import log_event
from amity.node.services import Staged
from amity.protocol.core.grants import service as core
from amity.protocol.core.grants import updates
from amity.protocol.core.grants.updates import UpdateOutcome
from amity.protocol.envelope import Envelope
from amity.protocol.relationship import Relationship
from amity.protocol.vault import Field, FieldType

__all__ = ["GrantsService", "GRANT_MESSAGE_TYPES"]

_log = logging.getLogger("amity.grants")
GRANT_MESSAGE_TYPES: Final = core.TYPES


class _Changed:
    """The vault as it is once the staged change is committed: the new field over the rest."""

    def __init__(self, vault: Vault, item: Field) -> None:
        self._vault = vault
        self._item = item

    def get(self, name: str) -> Field | None:
        return self._item if name == self._item.name else self._vault.get(name)

    def of_type(self, kind: FieldType) -> Field | None:
        """As :meth:`Vault.of_type`: the field named after ``kind``, else the only one."""
        item = self._item
        names = [r.name for r in self._vault.listing() if r.type == kind.value]
        names = [n for n in names if n != item.name] + ([item.name] if item.type is kind else [])
        preferred = [n for n in names if n == kind.value] or names
        return self.get(preferred[0]) if len(preferred) == 1 else None


class GrantsService:
    """Vault, grants and audit log of one node: the Service for ``grant.*`` messages."""

    types: frozenset[str] = core.TYPES
    after_end: frozenset[str] = core.AFTER_END
    not_in_inbox: frozenset[str] = core.NOT_IN_INBOX

    def __init__(self, node: Node) -> None:
        self.node = node
        seed = node.keyring.identity.seed
        self.audit = AuditLog(node.store)
        self.vault = Vault(node.store, seed)
        self.holdings = HoldingBook(node.store, self.vault.key)
        self.host = NodeGrantsHost(node, self.vault, self.holdings)
        self.carrier = Carrier(node, self.audit, self.holdings)
        self.grantor = Grantor(node, self.host, self.carrier)
        self.grantee = Grantee(node, self.host, self.carrier)
        self.requests = GrantRequests(node, self.grantor, self.host, self.carrier)
        self._watcher: asyncio.Task[None] | None = None
        #: One vault change at a time: each reads the versions the one before it committed.
        self._vault_lock = asyncio.Lock()

    # -- lifetime (the Service protocol) -----------------------------------------------------------

    async def start(self) -> None:
        """Re-arm deletion timers, catch up on relationships that ended, watch for new ends."""
        timers = self.grantee.start()
        ended = self.grantee.relationships_ended()
        self._watcher = asyncio.get_running_loop().create_task(
            self._watch_ends(), name="grants-watch-ends"
        )
        log_event(_log, "grants.resumed", timers=timers, ended=ended)

    async def stop(self) -> None:
        self.grantee.stop()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    async def _watch_ends(self) -> None:
        """The node publishes ``ended`` once a relationship's end is on disk: delete-on-end."""
        async for event in self.node.events.subscribe(kinds=("ended",)):
            if event["kind"] == "ended":
                self.grantee.relationships_ended()

    # -- the vault (the owner's own edits) ---------------------------------------------------------

    async def vault_set(self, item: Field) -> list[UpdateOutcome]:
        """Store or replace a field, sealed, and send its new value to every grantee that holds
        it under a live grant, in one commit (spec/signals.md §2); wait until it is on disk.

        Returns what became of each grant that names the field (updated, or not and why).
        """
        async with self._vault_lock:
            return await self._vault_set(item)

    async def _vault_set(self, item: Field) -> list[UpdateOutcome]:
        now = self.node.clock_ms()
        old = self.vault.get(item.name)
        outcomes: list[UpdateOutcome] = []
        staged = Staged(writes=[functools.partial(self.vault.put, item, now)])
        if old != item:  # setting the same value again is no change to signal
            outcomes, effects = updates.update_field(
                self.host,
                self.host.issued_records(),
                item,
                now_ms=now,
                random=os.urandom,
                vault=_Changed(self.vault, item),
            )
            staged.extend(self.carrier.stage(effects, now))
        await self.node.commit(staged)
        sent = [o for o in outcomes if o.version is not None]
        log_event(_log, "vault.changed", field=item.name, updated=len(sent))
        self.node.events.publish(
            "vault.changed",
            {"field": item.name, "updates": [outcome_json(self.node, o) for o in outcomes]},
        )
        return outcomes

    async def vault_remove(self, name: str) -> bool:
        """Remove a field; False if the vault has none by that name."""
        if all(row.name != name for row in self.vault.listing()):
            return False
        await self.node.commit(Staged(writes=[write(self.vault.delete, name)]))
        return True

    # -- peers' messages (the Service protocol) ----------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        """What a ``grant.*`` message means, as one staged commit; AmityError refuses it."""
        effects = core.receive(self.host, envelope, now_ms, os.urandom)
        return self.carrier.stage(effects, now_ms)
