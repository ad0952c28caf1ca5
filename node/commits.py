"""Group commit: many writes, one durable transaction, then every waiter learns it is on disk.

Writes staged during one pass of the event loop (messages from all links, outbox entries, ACK
marks) go into a single ``BEGIN IMMEDIATE … COMMIT``: one fsync for the lot instead of one each.
Nothing is acknowledged to a peer until the commit that holds it has returned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from amity.node.logs import log_event
from amity.node.store import Store

__all__ = ["GroupCommit"]

_log = logging.getLogger("amity.store")


class GroupCommit:
    """Collects write callbacks and runs them in one transaction on the next loop turn."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._writes: list[Callable[[], None]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._scheduled = False
        self.commits = 0
        self.writes = 0

    def write(self, fn: Callable[[], None] | None = None) -> asyncio.Future[None]:
        """Stage ``fn`` (or nothing: just wait for the next commit); the future resolves after it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if fn is not None:
            self._writes.append(fn)
        self._waiters.append(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._commit)
        return future

    def _commit(self) -> None:
        self._scheduled = False
        writes, waiters = self._writes, self._waiters
        self._writes, self._waiters = [], []
        try:
            if writes:
                with self._store.transaction():
                    for fn in writes:
                        fn()
                self.commits += 1
                self.writes += len(writes)
        except Exception as exc:  # noqa: BLE001 - every waiter must learn of the failure
            log_event(
                _log, "store.commit_failed", logging.ERROR, error=repr(exc), writes=len(writes)
            )
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
