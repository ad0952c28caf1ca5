"""The daemon's relationship effects, and the services' staged answers, in the group commit.

``Persist`` and ``SendMessage`` join the next transaction (the book sees the change at once);
timers, notifications and sends wait until it is on disk. A commit that fails stops the node from
acknowledging anything more (memory would be ahead of the disk): the group commit calls
:meth:`Steps.fail_stop`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from amity.node.daemon.base import (
    log,
    when_written,
)
from amity.node.logs import log_event
from amity.node.services import Staged
from amity.protocol.core.effects import Effect as CoreEffect
from amity.protocol.core.effects import (
    Transition,
)
from amity.protocol.relationship import (
    CancelTimer,
    Effect,
    Event,
    Notify,
    Persist,
    Relationship,
    SendMessage,
    SetTimer,
    TimerFired,
    step,
)

if TYPE_CHECKING:
    from amity.node.daemon.node import Node

__all__ = ["Steps"]


class Steps:
    """See the module docstring."""

    def __init__(self, node: Node) -> None:
        self.node = node
        #: Relationship timers by (invitation secret, token): tokens repeat across relationships.
        self.timers: dict[tuple[bytes, str], asyncio.TimerHandle] = {}

    async def transitions(self, effects: list[CoreEffect]) -> list[Relationship]:
        """Carry out relationship steps one after another, each on disk before the next."""
        done = []
        for effect in effects:
            assert isinstance(effect, Transition)
            done.append(await self.apply(effect.relationship, effect.effects))
        return done

    async def step(self, rel: Relationship, event: Event) -> Relationship:
        return await self.apply(*step(rel, event, self.node.clock_ms()))

    async def apply(self, rel: Relationship, effects: list[Effect]) -> Relationship:
        """Carry out effects and wait until their writes are on disk."""
        await self.stage(rel, effects)
        return rel

    def commit(self, staged: Staged) -> asyncio.Future[None]:
        """Stage a service's writes and sends (one transaction); ``after`` runs once on disk."""
        now = self.node.clock_ms()

        def write() -> None:
            for fn in staged.writes:
                fn()
            for out in staged.sends:
                self.node.sender.queue(out.to, out.type, out.body, now)

        def committed(future: asyncio.Future[None]) -> None:
            if future.cancelled() or future.exception() is not None:
                return  # the group commit fail-stops the node
            for fn in staged.after:
                fn()
            for peer in {out.to for out in staged.sends}:
                self.node.net.ensure(peer)
                self.node.sender.kick(peer)

        future = self.node.commits.write(write)
        future.add_done_callback(committed)
        return future

    def stage(
        self,
        rel: Relationship,
        effects: list[Effect],
        also_write: Callable[[], None] | None = None,
    ) -> asyncio.Future[None]:
        """Stage effects: persist and queue sends in the next group commit, the rest after it.

        ``also_write`` joins the same transaction, so a received message and the relationship
        change it causes are stored together or not at all. Lookups see the new relationship
        at once (the book remembers it); timers, notifications and sends wait for the commit.
        """
        write, after = self.prepare(rel, effects, also_write)
        future = self.node.commits.write(write)
        if after is not None:
            future.add_done_callback(functools.partial(when_written, after))
        return future

    def prepare(
        self,
        rel: Relationship,
        effects: list[Effect],
        also_write: Callable[[], None] | None = None,
    ) -> tuple[Callable[[], None], Callable[[], None] | None]:
        """As :meth:`stage`, but hand back the write for the commit and what to do once it is on
        disk (None: nothing), for a caller that stages them itself (the receiver's hot path)."""
        if not effects and also_write is not None:  # a message seen: nothing else to do
            return also_write, None
        now = self.node.clock_ms()
        for effect in effects:
            if isinstance(effect, Persist):
                self.node.book.remember(effect.relationship)
        hooks = self._webhooks(rel, effects, now)

        def write() -> None:
            if also_write is not None:
                also_write()
            for hook in hooks:
                hook()
            for effect in effects:
                if isinstance(effect, Persist):
                    self.node.book.save(effect.relationship, now)
                elif isinstance(effect, SendMessage):
                    self.node.sender.queue(effect.to, effect.type, effect.body, now)

        def committed() -> None:
            for effect in effects:
                if isinstance(effect, SetTimer):
                    self.arm(rel.invite_secret, effect.token, effect.at_ms)
                elif isinstance(effect, CancelTimer):
                    handle = self.timers.pop((rel.invite_secret, effect.token), None)
                    if handle is not None:
                        handle.cancel()
                elif isinstance(effect, Notify):
                    self._notify(rel, effect)
            for peer in {e.to for e in effects if isinstance(e, SendMessage)}:
                self.node.net.ensure(peer)
                self.node.sender.kick(peer)

        if all(isinstance(effect, Persist) for effect in effects):
            return write, None
        return write, committed

    def _webhooks(
        self, rel: Relationship, effects: list[Effect], now_ms: int
    ) -> list[Callable[[], None]]:
        """The webhook deliveries a step queues in its own commit (spec/webhooks.md §3): a
        relationship opened, or one that had a peer ended."""
        hooks = []
        for effect in effects:
            if not isinstance(effect, Notify) or rel.peer is None:
                continue
            if effect.kind == "connected":
                hooks.append(
                    self.node.webhooks.queue_about("relationship.opened", rel.peer, now_ms)
                )
            elif effect.kind == "ended" and rel.handshake_done:
                hooks.append(
                    self.node.webhooks.queue_about(
                        "relationship.ended",
                        rel.peer,
                        now_ms,
                        reason=effect.detail,
                        by=rel.ended_by,
                    )
                )
        return hooks

    def fail_stop(self) -> None:
        """A commit failed: memory is ahead of the disk, so stop acknowledging anything."""
        if not self.node._closing:
            log_event(log, "node.failed", logging.ERROR, why="a database commit failed")
            self.node.failed = True
            self.node._spawn(self.node.close_links(settle=False), "fail-stop")
            for hook in self.node.on_failed:
                hook()

    def _notify(self, rel: Relationship, effect: Notify) -> None:
        waiting = self.node._connected.get(rel.invite_secret)
        if effect.kind == "connected" and waiting is not None:
            waiting.set()
        log_event(log, f"relationship.{effect.kind}", peer=rel.peer.short if rel.peer else "-")
        self.node.events.publish(
            effect.kind,
            {
                "peer": rel.peer.did if rel.peer else None,
                "detail": effect.detail,
                "state": rel.state.value,
            },
        )

    def arm(self, secret: bytes, token: str, at_ms: int) -> None:
        delay_s = max(0.0, (at_ms - self.node.clock_ms()) / 1000)
        loop = asyncio.get_running_loop()
        key = (secret, token)
        old = self.timers.pop(key, None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            self.timers.pop(key, None)
            self.node._spawn(self._timer_fired(secret, token), f"timer-{token}")

        self.timers[key] = loop.call_later(delay_s, fire)

    async def _timer_fired(self, secret: bytes, token: str) -> None:
        rel = self.node.book.by_secret(secret)
        if rel is not None:
            await self.step(rel, TimerFired(token))
