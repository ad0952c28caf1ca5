"""CRM webhooks in the daemon: events queued in the commit that causes them, delivered by one
task with aiohttp, at least once, with backoff and a dead letter (spec/webhooks.md §5-§6).

Queueing is a write like any other: :meth:`Webhooks.queue` gives the group commit a function
that inserts one delivery per subscription to the event, in the same transaction as the change
that causes it, so a crash can lose neither without the other. Delivering never holds up the
node: each attempt runs in its own task with a timeout, at most ``concurrency`` at once, and
records its outcome through the group commit like any other write; a receiver that is down
costs the node nothing but those attempts.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from amity.node.logs import log_event
from amity.node.store import DeliveryRow, StoreError
from amity.node.webhooks.policy import DeliveryPolicy
from amity.protocol import __version__
from amity.protocol.errors import UsageError, WebhookSecretError
from amity.protocol.identity import PeerId
from amity.protocol.webhooks import (
    event_body,
    message_id,
    parse_secret,
    retry_delay_ms,
    signature_headers,
)

if TYPE_CHECKING:
    from amity.node.daemon.node import Node

__all__ = ["Webhooks"]

_log = logging.getLogger("amity.webhooks")
#: How many due deliveries one look at the queue reads.
_BATCH: Final = 64
#: The longest an error's words are kept in the queue.
_ERROR_CHARS: Final = 200
#: How long the deliverer waits before it reads a queue it could not read again.
_STORE_AWAY_S: Final = 5.0
#: What an attempt reads of the receiver's answer (its status is what counts).
_ANSWER_BYTES: Final = 64 * 1024


def _nothing() -> None:
    return None


class Webhooks:
    """The node's webhooks: queue events in commits, deliver them from a task."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.policy = DeliveryPolicy()
        self._wake = asyncio.Event()
        #: Deliveries an attempt is under way for (never taken twice at once).
        self._in_flight: set[int] = set()
        self._queued_in_transaction = False
        self._draw = random.SystemRandom()
        self.delivered = 0
        node.commits.after_transaction.append(self._transaction_ended)

    # -- queueing, inside the commit that causes the event

    def queue(self, event: str, data: Mapping[str, Any], at_ms: int) -> Callable[[], None]:
        """A write for the commit that causes ``event``: one pending delivery per subscription
        to it (none without one). The body and its ``webhook-id`` are fixed here."""
        try:
            body = event_body(event, at_ms, data)
        except UsageError as exc:  # a webhook never stops the change that causes it
            log_event(_log, "webhook.unsendable", logging.ERROR, about=event, why=exc.message)
            return _nothing
        msg_id = message_id(os.urandom(16))

        def write() -> None:
            if self.node.store.queue_event(msg_id, event, body, at_ms):
                self._queued_in_transaction = True

        return write

    def queue_about(self, event: str, peer: PeerId, at_ms: int, **data: Any) -> Callable[[], None]:
        """:meth:`queue` with the peer's did:key and, if its card names one, its name."""
        rel = self.node.book.current(peer)
        card = None if rel is None else rel.peer_card
        named = {"peer": peer.did, "peer_name": card.name if card is not None else None}
        return self.queue(event, {**named, **data}, at_ms)

    def _transaction_ended(self, committed: bool) -> None:
        if self._queued_in_transaction and committed:
            self._wake.set()
        self._queued_in_transaction = False

    # -- the owner's moves (the local API)

    async def add(self, url: str, secret: str, events: Iterable[str]) -> int:
        parse_secret(secret)  # a WebhookSecretError says what is wrong with it
        ids: list[int] = []
        now = self.node.clock_ms()
        store = self.node.store
        await self.node.commits.write(
            lambda: ids.append(store.add_webhook(url, secret, events, now))
        )
        parts = urllib.parse.urlsplit(url)  # the log never shows a user or password in it
        log_event(_log, "webhook.added", id=ids[0], to=f"{parts.scheme}://{parts.hostname}")
        return ids[0]

    async def remove(self, webhook: int) -> bool:
        done: list[bool] = []
        store = self.node.store
        await self.node.commits.write(lambda: done.append(store.remove_webhook(webhook)))
        return done[0]

    async def replay(self, ids: Iterable[int] = (), *, dead: bool = False) -> int:
        """Queue deliveries again (these ids, and every dead one with ``dead``); how many."""
        count: list[int] = []
        now = self.node.clock_ms()
        wanted = list(ids)
        store = self.node.store
        await self.node.commits.write(
            lambda: count.append(store.replay_deliveries(now, wanted, dead=dead))
        )
        self._wake.set()
        return count[0]

    # -- delivering

    async def run(self) -> None:
        """Deliver what is due, then wait until something is queued, an attempt ends or the
        next retry is due; until the node stops."""
        connector = aiohttp.TCPConnector(limit=self.policy.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            attempts: set[asyncio.Task[None]] = set()
            try:
                while self.node.commits.failure is None:
                    self._wake.clear()
                    try:
                        if not self.node.commits.durable():
                            await self.node.commits.write()  # deliver only what is on disk
                        wait_s = self._start_due(session, attempts)
                    except StoreError as exc:  # the database is away: look again later
                        log_event(_log, "webhook.store_away", logging.WARNING, why=str(exc))
                        wait_s = _STORE_AWAY_S
                    try:
                        async with asyncio.timeout(wait_s):
                            await self._wake.wait()
                    except TimeoutError:
                        pass
            finally:
                for task in attempts:
                    task.cancel()
                await asyncio.gather(*attempts, return_exceptions=True)

    def _start_due(
        self, session: aiohttp.ClientSession, attempts: set[asyncio.Task[None]]
    ) -> float | None:
        """Start an attempt for each due delivery there is room for; how long to wait then."""
        now = self.node.clock_ms()
        room = self.policy.concurrency - len(self._in_flight)
        if room > 0:
            for delivery, url, secret in self.node.store.due_deliveries(now, _BATCH):
                if delivery.id in self._in_flight:
                    continue
                self._in_flight.add(delivery.id)
                task = asyncio.get_running_loop().create_task(
                    self._attempt(session, delivery, url, secret), name="webhook"
                )
                attempts.add(task)
                task.add_done_callback(attempts.discard)
                room -= 1
                if room == 0:
                    break
        soonest = self.node.store.next_due_ms()
        if soonest is None:
            return None
        if soonest <= now:  # under way, or waiting for room: an attempt's end wakes us
            return self.policy.timeout_s
        return min((soonest - now) / 1000, self.policy.retry_cap_s)

    async def _attempt(
        self, session: aiohttp.ClientSession, delivery: DeliveryRow, url: str, secret: str
    ) -> None:
        try:
            error = await self._post(session, delivery, url, secret)
            await self._record(delivery, error)
        except StoreError as exc:
            log_event(_log, "webhook.unrecorded", logging.ERROR, id=delivery.id, why=str(exc))
        finally:
            self._in_flight.discard(delivery.id)
            self._wake.set()

    async def _post(
        self, session: aiohttp.ClientSession, delivery: DeliveryRow, url: str, secret: str
    ) -> str | None:
        """One POST; None if the receiver took it (2xx), else what went wrong, in words."""
        try:
            key = parse_secret(secret)
        except WebhookSecretError as exc:
            return f"the subscription's secret is unusable: {exc.message}"
        headers = signature_headers(
            key, delivery.message_id, self.node.clock_ms() // 1000, delivery.body
        )
        headers["content-type"] = "application/json"
        headers["user-agent"] = f"amity/{__version__}"
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                async with session.post(
                    url, data=delivery.body, headers=headers, allow_redirects=False
                ) as response:
                    await response.content.read(_ANSWER_BYTES)
                    if 200 <= response.status < 300:
                        return None
                    return f"the receiver answered HTTP {response.status}"
        except TimeoutError:
            return f"no answer within {self.policy.timeout_s:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return f"cannot reach the receiver: {exc or type(exc).__name__}"[:_ERROR_CHARS]

    async def _record(self, delivery: DeliveryRow, error: str | None) -> None:
        now = self.node.clock_ms()
        attempts = delivery.attempts + 1
        next_ms: int | None = None
        if error is not None:
            too_old = now - delivery.queued_ms >= self.policy.max_age_ms
            if attempts < self.policy.max_attempts and not too_old:
                draw = self._draw.random()
                next_ms = now + retry_delay_ms(
                    attempts, draw, self.policy.base_ms, self.policy.cap_ms
                )
        record = functools.partial(
            self.node.store.delivery_attempted, delivery.id, attempts, now, error, next_ms
        )
        await self.node.commits.write(record)
        state = "delivered" if error is None else "retry" if next_ms is not None else "dead"
        if error is None:
            self.delivered += 1
        level = logging.WARNING if state == "dead" else logging.INFO
        fields: dict[str, Any] = {"delivery": delivery.id, "about": delivery.event}
        fields["attempts"] = attempts
        if error is not None:
            fields["why"] = error
        log_event(_log, f"webhook.{state}", level, **fields)
        if self.node.events.wants(f"webhook.{state}"):
            self.node.events.publish(f"webhook.{state}", fields)
