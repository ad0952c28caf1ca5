"""Group commit: many writes, one durable transaction, then every waiter learns it is on disk.

Writes staged while no fsync is under way (messages from all links, outbox entries, ACK marks)
go into a single ``BEGIN IMMEDIATE … COMMIT`` on the next loop turn; the fsync that makes it
durable runs in a worker thread while the loop goes on reading and staging the next batch.
Writes staged meanwhile wait, and are committed together as soon as that fsync returns: they
could not be durable any sooner (at most one fsync per store is under way), and one transaction
costs less than many. Nothing is acknowledged to a peer (no waiter resolves) until the fsync
covering its commit has returned.

The hot path (a received message and its ACK) stages with :meth:`GroupCommit.stage`: no future
per message, only actions kept in a list and called in order once the fsync has returned.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from amity.node.logs import log_event
from amity.node.store import Store, StoreError

__all__ = ["GroupCommit"]

_log = logging.getLogger("amity.store")
#: fsyncs of different stores run side by side (the disk merges them); one store has at most
#: one under way, so a daemon uses one thread. Many stores in one process (tests, benchmarks)
#: would otherwise queue behind the loop's small default executor.
_FSYNC_THREADS: Final = 32


@functools.cache
def _fsyncs() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_FSYNC_THREADS, thread_name_prefix="amity-fsync")


class GroupCommit:
    """Collects write callbacks, commits them on the next loop turn, fsyncs off the loop."""

    def __init__(self, store: Store, on_failure: Callable[[], None] = lambda: None) -> None:
        self._store = store
        #: Called once per failed commit or fsync (the node stops acknowledging anything).
        self._on_failure = on_failure
        self._writes: list[Callable[[], None]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._afters: list[Callable[[], None]] = []
        #: Committed, waiting for an fsync to cover them.
        self._unsynced: list[asyncio.Future[None]] = []
        self._unsynced_afters: list[Callable[[], None]] = []
        self._scheduled = False
        self._syncing = False
        #: Called after each transaction, with True if it committed (not yet durable).
        self.after_transaction: list[Callable[[bool], None]] = []
        self.commits = 0
        self.writes = 0
        self.syncs = 0
        #: The first commit or fsync that failed: memory is ahead of the disk from then on,
        #: so nothing more is committed (a later commit could persist state that depends on
        #: what was lost, e.g. a replay window past a message never stored).
        self.failure: BaseException | None = None

    def write(self, fn: Callable[[], None] | None = None) -> asyncio.Future[None]:
        """Stage ``fn`` (or nothing: wait until all committed so far is durable).

        The future resolves once the commit holding ``fn`` is on disk.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if fn is not None:
            self._writes.append(fn)
        self._waiters.append(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._commit)
        return future

    def stage(self, fn: Callable[[], None] | None, after: Callable[[], None]) -> None:
        """Stage ``fn`` (or nothing); call ``after`` once the commit holding it is on disk.

        As :meth:`write` without a future: ``after`` runs in staging order with the others of its
        commit, straight from the fsync's completion, and never if the commit or fsync fails.
        """
        if fn is not None:
            self._writes.append(fn)
        self._afters.append(after)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._commit)

    def durable(self) -> bool:
        """True when every commit made so far is on disk (no fsync owed)."""
        return not self._unsynced and not self._unsynced_afters and not self._syncing

    def _commit(self) -> None:
        self._scheduled = False
        if self._syncing:
            return  # the fsync under way commits all staged so far once it returns (_synced)
        writes, waiters, afters = self._writes, self._waiters, self._afters
        self._writes, self._waiters, self._afters = [], [], []
        if self.failure is not None:
            refused = StoreError(
                f"nothing more is committed after a failed commit ({self.failure})"
            )
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(refused)
            return
        try:
            if writes:
                try:
                    with self._store.transaction(durable=False):
                        for fn in writes:
                            fn()
                except BaseException:
                    self._transaction_ended(committed=False)
                    raise
                self._transaction_ended(committed=True)
                self.commits += 1
                self.writes += len(writes)
        except Exception as exc:  # noqa: BLE001 - every waiter must learn of the failure
            self._fail(waiters, exc, len(writes))  # and no ``after`` runs
            return
        self._unsynced += waiters
        self._unsynced_afters += afters
        self._sync()

    def _transaction_ended(self, *, committed: bool) -> None:
        for hook in self.after_transaction:
            hook(committed)

    def _sync(self) -> None:
        """Start an fsync for every commit made so far, unless one is already under way."""
        if self._syncing or not (self._unsynced or self._unsynced_afters):
            return
        waiters, self._unsynced = self._unsynced, []
        afters, self._unsynced_afters = self._unsynced_afters, []
        self._syncing = True
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(_fsyncs(), self._store.sync)
        done.add_done_callback(functools.partial(self._synced, waiters, afters))

    def _synced(
        self,
        waiters: list[asyncio.Future[None]],
        afters: list[Callable[[], None]],
        done: asyncio.Future[None],
    ) -> None:
        self._syncing = False
        exc = done.exception() if not done.cancelled() else asyncio.CancelledError()
        if exc is not None:
            self._fail(waiters, exc, 0)
        else:
            self.syncs += 1
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
            for after in afters:
                try:
                    after()
                except Exception as exc:  # noqa: BLE001 - one failing action must not stop the rest
                    log_event(_log, "store.after_commit_failed", logging.ERROR, error=repr(exc))
        if self._writes or self._waiters or self._afters:
            self._commit()  # what was staged during the fsync: commit it, then sync again
        else:
            self._sync()

    def _fail(self, waiters: list[asyncio.Future[None]], exc: BaseException, writes: int) -> None:
        log_event(_log, "store.commit_failed", logging.ERROR, error=repr(exc), writes=writes)
        if self.failure is None:
            self.failure = exc
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(exc)
        self._on_failure()
