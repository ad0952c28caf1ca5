"""Our card says something new: every connected peer hears of it now, once.

A card changes in what it says when the published policy (a vendor's policy file), the relays
or the endpoints it names change. The hello of the next session would carry the new card anyway,
but a peer on a long-lived link, or one that only reaches us through a relay, might not see it
for weeks; and a customer must learn of a vendor's changed policy when it changes (spec/signals.md §4). So the
node compares what its card says with what it last told its peers (kept in the store, so a stop
between the change and the telling is caught at the next start) and, when they differ, feeds
``CardChanged`` to every relationship (spec/relationship.md §3): a ``rel.hello`` with the new
card to each connected peer, through the outbox like any message.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from amity.node.daemon.base import log
from amity.node.logs import log_event
from amity.protocol.core import commands
from amity.protocol.core.effects import Transition
from amity.protocol.encoding import Value, encode

if TYPE_CHECKING:
    from amity.node.daemon.node import Node

__all__ = ["PAGE", "CardWatch"]

#: How often the node looks whether its card says something new (a hand-edited policy file).
WATCH_S: Final = 2.0
_SAID: Final = "card.said"
#: Relationships told of a change per commit.
PAGE: Final = 500
_POLICY: Final = "card.policy"


class CardWatch:
    """See the module docstring. ``watchers`` hear of a changed published policy:
    ``(before, after, told)``, the two summaries (None: none) and how many peers were told."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.watchers: list[Callable[[bytes | None, bytes | None, int], object]] = []
        self._lock = asyncio.Lock()

    def _said(self) -> tuple[bytes, bytes | None]:
        policy = self.node.card_policy()
        relays: list[Value] = [relay.peer_id.key for relay in self.node.relays]
        endpoints: list[Value] = list(self.node.endpoints)
        said = encode([policy, relays, endpoints])
        return hashlib.blake2b(said, digest_size=16).digest(), policy

    async def run(self) -> None:
        while not self.node._closing:
            await self.check()
            await asyncio.sleep(WATCH_S)

    async def check(self) -> int:
        """Tell every connected peer if our card says something new; how many were told.

        The first look (a new node, or one upgraded from before this watch) only remembers
        what the card says: each peer got the card in its hello when it met us. A change is
        told a page of ``PAGE`` relationships at a time, each page in one commit, with the
        event loop free between pages, so a vendor with a million customers keeps serving
        while it tells them.
        """
        async with self._lock:
            said, policy = self._said()
            store = self.node.store
            last = store.get_meta(_SAID)
            if last == said:
                return 0
            before = store.get_meta(_POLICY)

            def remember() -> None:
                store.set_meta(_SAID, said)
                store.set_meta(_POLICY, b"" if policy is None else b"\x01" + policy)

            told = 0
            if last is not None:
                for page in self.node.book.connected_pages(PAGE):
                    effects = commands.announce_card(self.node, page, self.node.clock_ms())
                    written = [
                        self.node.steps.stage(effect.relationship, effect.effects)
                        for effect in effects
                        if isinstance(effect, Transition)
                    ]
                    await asyncio.gather(*written)
                    told += len(written)
            await self.node.commits.write(remember)
            if last is not None:
                log_event(log, "card.announced", peers=told)
            old_policy = None if not before else before[1:]
            if last is not None and old_policy != policy:
                for watcher in self.watchers:
                    watcher(old_policy, policy, told)
            return told
