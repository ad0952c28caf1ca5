"""The daemon's hourly upkeep: held mail expires, settled outbox and old inbox rows go, link keys
whose mail window is over are forgotten (spec/link.md §2.1, spec/identity.md §6.2)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from amity.node.daemon.base import (
    OUTBOX_KEEP_MS,
    SWEEP_S,
    log,
)
from amity.node.logs import log_event
from amity.node.net.linkkeys import store_link_chain
from amity.node.services import Staged

if TYPE_CHECKING:
    from amity.node.daemon.node import Node

__all__ = ["Upkeep"]


class Upkeep:
    """See the module docstring."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def run(self) -> None:
        """At start and hourly: expire held mail (a relay), drop outbox envelopes settled over a
        week ago so the outbox does not grow forever, and apply the inbox retention."""
        while not self.node._closing:
            if self.node.mailbox is not None:
                self.node.mailbox.expire()
            writes = [self._prune_outbox, self._prune_inbox, self._advance_link_chain]
            await self.node.commit(Staged(writes=writes))
            await asyncio.sleep(SWEEP_S)

    def _advance_link_chain(self) -> None:
        """Forget link keys whose mail window is over (spec/identity.md §6.2)."""
        moved = self.node.keyring.advance(self.node.clock_ms())
        if moved is not None:
            store_link_chain(self.node.store, moved)
            log_event(log, "link.keys_forgotten", before_epoch=moved.epoch)

    def _prune_inbox(self) -> None:
        before = self.node.clock_ms() - self.node.inbox_keep_ms
        pruned = self.node.store.prune_inbox(before, self.node.inbox_keep_messages)
        if pruned:
            log_event(log, "inbox.pruned", items=pruned)

    def _prune_outbox(self) -> None:
        pruned = self.node.store.prune_outbox(self.node.clock_ms() - OUTBOX_KEEP_MS)
        if pruned:
            log_event(log, "outbox.pruned", items=pruned)
