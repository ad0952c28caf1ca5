"""CRM webhooks (migration 16, spec/webhooks.md): subscriptions, the events each wants, and the
persistent delivery queue: pending, delivered, or dead after its attempts ran out.

:meth:`WebhooksTables.queue_event` runs inside the transaction that makes the event happen, so
a delivery exists exactly when its cause is committed (spec/webhooks.md §5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from amity.node.store.engine import Connection

__all__ = ["WebhookRow", "DeliveryRow", "WebhooksTables", "DELIVERY_STATES"]

#: What a delivery can be: waiting for its next attempt, taken by the receiver, given up.
DELIVERY_STATES: Final = ("pending", "delivered", "dead")

_DELIVERY_COLUMNS: Final = (
    "d.id, d.webhook, d.message_id, d.event, d.body, d.created_ms, d.state, d.attempts, "
    "d.next_ms, d.last_ms, d.last_error, d.delivered_ms, d.queued_ms"
)


@dataclass(frozen=True, slots=True)
class WebhookRow:
    """One subscription: where to POST, its ``whsec_`` secret, the events it wants."""

    id: int
    url: str
    secret: str
    events: tuple[str, ...]
    created_ms: int


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One event for one subscription, and how its delivery stands."""

    id: int
    webhook: int
    message_id: str
    event: str
    body: bytes
    created_ms: int
    state: str
    attempts: int
    next_ms: int | None
    last_ms: int | None
    last_error: str | None
    delivered_ms: int | None
    #: When it last entered the queue (created, or replayed): its age for the dead letter.
    queued_ms: int


def _delivery(row: Any) -> DeliveryRow:
    (id_, webhook, message_id, event, body, created, state, attempts, next_ms, last_ms,
     error, delivered, queued) = row  # fmt: skip
    return DeliveryRow(
        int(id_), int(webhook), str(message_id), str(event), bytes(body), int(created),
        str(state), int(attempts), None if next_ms is None else int(next_ms),
        None if last_ms is None else int(last_ms), error,
        None if delivered is None else int(delivered), int(queued),
    )  # fmt: skip


class WebhooksTables:
    _db: Connection

    # -- subscriptions

    def add_webhook(self, url: str, secret: str, events: Iterable[str], created_ms: int) -> int:
        """Subscribe ``url`` to ``events``; returns its id."""
        wanted = tuple(events)
        cursor = self._db.execute(
            "INSERT INTO webhooks (url, secret, events, created_ms) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            (url, secret, ",".join(wanted), created_ms),
        )
        webhook = int(cursor.fetchone()[0])
        self._db.executemany(
            "INSERT INTO webhook_events (event, webhook) VALUES (?, ?)",
            [(event, webhook) for event in wanted],
        )
        return webhook

    def webhooks(self) -> list[WebhookRow]:
        rows = self._db.execute(
            "SELECT id, url, secret, events, created_ms FROM webhooks ORDER BY id"
        )
        return [
            WebhookRow(int(i), str(u), str(s), tuple(str(e).split(",")), int(c))
            for i, u, s, e, c in rows
        ]

    def remove_webhook(self, webhook: int) -> bool:
        """Unsubscribe, and drop its queue (pending, delivered and dead); False if unknown."""
        self._db.execute("DELETE FROM webhook_events WHERE webhook = ?", (webhook,))
        self._db.execute("DELETE FROM webhook_deliveries WHERE webhook = ?", (webhook,))
        return self._db.execute("DELETE FROM webhooks WHERE id = ?", (webhook,)).rowcount > 0

    # -- the queue

    def queue_event(self, message_id: str, event: str, body: bytes, at_ms: int) -> int:
        """One pending delivery of ``body`` for each subscription to ``event``, due at once;
        how many (call inside the transaction that causes the event)."""
        return self._db.execute(
            "INSERT INTO webhook_deliveries (webhook, message_id, event, body, created_ms, "
            "state, attempts, next_ms, queued_ms) "
            "SELECT webhook, ?, ?, ?, ?, 'pending', 0, ?, ? FROM webhook_events WHERE event = ?",
            (message_id, event, body, at_ms, at_ms, at_ms, event),
        ).rowcount

    def due_deliveries(self, now_ms: int, limit: int) -> list[tuple[DeliveryRow, str, str]]:
        """Pending deliveries due by ``now_ms``, soonest first, with their URL and secret."""
        rows = self._db.execute(
            f"SELECT {_DELIVERY_COLUMNS}, w.url, w.secret FROM webhook_deliveries d "
            "JOIN webhooks w ON w.id = d.webhook "
            "WHERE d.state = 'pending' AND d.next_ms <= ? ORDER BY d.next_ms, d.id LIMIT ?",
            (now_ms, limit),
        )
        return [(_delivery(row[:13]), str(row[13]), str(row[14])) for row in rows]

    def next_due_ms(self) -> int | None:
        """When the soonest pending delivery is due (None: nothing pending)."""
        (soonest,) = self._db.execute(
            "SELECT min(next_ms) FROM webhook_deliveries WHERE state = 'pending'"
        ).fetchone()
        return None if soonest is None else int(soonest)

    def delivery_attempted(
        self, delivery: int, attempts: int, at_ms: int, error: str | None, next_ms: int | None
    ) -> None:
        """Record an attempt: ``error`` None is delivered; else pending until ``next_ms``, or
        dead when ``next_ms`` is None."""
        if error is None:
            state, delivered = "delivered", at_ms
        else:
            state, delivered = ("pending" if next_ms is not None else "dead"), None
        self._db.execute(
            "UPDATE webhook_deliveries SET state = ?, attempts = ?, last_ms = ?, last_error = ?, "
            "next_ms = ?, delivered_ms = ? WHERE id = ? AND state = 'pending'",
            (state, attempts, at_ms, error, next_ms if error else None, delivered, delivery),
        )

    def replay_deliveries(self, now_ms: int, ids: Iterable[int] = (), *, dead: bool = False) -> int:
        """Queue again the deliveries ``ids`` (any state) and, with ``dead``, every dead one:
        pending, due now, attempts counted afresh; how many."""
        replayed = 0
        reset = (
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_ms = ?, "
            "queued_ms = ?, delivered_ms = NULL"
        )
        for delivery in ids:
            replayed += self._db.execute(
                reset + " WHERE id = ?", (now_ms, now_ms, delivery)
            ).rowcount
        if dead:
            replayed += self._db.execute(reset + " WHERE state = 'dead'", (now_ms, now_ms)).rowcount
        return replayed

    def deliveries(self, state: str | None = None, limit: int = 50) -> list[DeliveryRow]:
        """The newest deliveries first (only those in ``state``, if given)."""
        where = "" if state is None else " WHERE d.state = ?"
        params: list[object] = [] if state is None else [state]
        rows = self._db.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries d{where} ORDER BY d.id DESC "
            "LIMIT ?",
            (*params, limit),
        )
        return [_delivery(row) for row in rows]

    def count_deliveries(self) -> dict[str, int]:
        """How many deliveries are in each state."""
        rows = self._db.execute("SELECT state, count(*) FROM webhook_deliveries GROUP BY state")
        counts = dict.fromkeys(DELIVERY_STATES, 0)
        counts.update({str(state): int(n) for state, n in rows})
        return counts
