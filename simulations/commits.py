"""What a simulated node stages at once and does when its group commit is on "disk".

As the daemon's steps: a relationship step's records and sends are staged in the current commit
(the outbox signs and keeps each envelope before it is first sent), and its timers, notices and
the flush of what it queued for a peer run once the commit is done, ``commit_ms`` later; a
service's :class:`~amity.simulations.context.Staged` answer goes the same way. The node's
timers (keyed by relationship and token) fire as inputs to the relationship machine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from amity.protocol.identity import PeerId
from amity.protocol.relationship import (
    CancelTimer,
    Effect,
    Event,
    Notify,
    Persist,
    Relationship,
    RelationshipState,
    SendMessage,
    SetTimer,
    TimerFired,
    step,
)
from amity.simulations.context import Staged
from amity.simulations.world.engine import Timer

if TYPE_CHECKING:
    from amity.simulations.context import NodeBehaviour, SharedValues, SimEnv
    from amity.simulations.dialer import Dialer
    from amity.simulations.node import SimNode
    from amity.simulations.outbox import Outbox
    from amity.simulations.services.grants import SimGrants
    from amity.simulations.services.reputation import SimReputation
    from amity.simulations.world.engine import Engine

__all__ = ["Commits"]


class Commits:
    """The staging and group commit of :class:`~amity.simulations.node.SimNode` (its base)."""

    __slots__ = ("_batch", "_connect_waits", "_current", "_rels", "_timers")

    env: SimEnv
    engine: Engine
    shared: SharedValues
    outbox: Outbox
    dialer: Dialer
    behaviour: NodeBehaviour | None
    _grants: SimGrants | None
    _reputation: SimReputation | None

    def __init__(self) -> None:
        #: Relationships by invite secret, and each peer's current one (its secret).
        self._rels: dict[bytes, Relationship] = {}
        self._current: dict[PeerId, bytes] = {}
        #: Armed relationship timers, by (invite secret, token); who waits on a connect().
        self._timers: dict[tuple[bytes, str], Timer] = {}
        self._connect_waits: dict[bytes, tuple[Timer, Callable[[bool, str], None]]] = {}
        #: What runs once the current group commit is done (None: no commit under way).
        self._batch: list[Callable[[], None]] | None = None

    if TYPE_CHECKING:  # what the node provides

        def now_ms(self) -> int: ...

        def _flush(self, peer: PeerId) -> None: ...

    def commit(self, staged: Staged) -> None:
        """Queue a service's sends now; run its after-actions when the commit is done."""
        for out in staged.sends:
            self.outbox.add(out.to, out.type, out.body)
        peers = list(dict.fromkeys(out.to for out in staged.sends))
        self._after_commit(functools.partial(self._committed, staged.after, peers))

    def _step(self, rel: Relationship, event: Event) -> Relationship:
        return self._stage(*step(rel, event, self.now_ms()))

    def _stage(self, rel: Relationship, effects: list[Effect]) -> Relationship:
        """Persist and queue sends now (our "transaction"); timers and notices after the commit."""
        if not effects:  # a message seen: most steps
            return rel
        later: list[Callable[[], None]] = []
        for effect in effects:
            if isinstance(effect, Persist):
                self._remember(effect.relationship)
            elif isinstance(effect, SendMessage):
                self.outbox.add(effect.to, effect.type, effect.body)
            elif isinstance(effect, SetTimer):
                later.append(functools.partial(self._arm, rel, effect.token, effect.at_ms))
            elif isinstance(effect, CancelTimer):
                later.append(functools.partial(self._disarm, rel.invite_secret, effect.token))
            elif isinstance(effect, Notify):
                later.append(functools.partial(self._notify, rel, effect))
        peers = list(dict.fromkeys(e.to for e in effects if isinstance(e, SendMessage)))
        if later or peers:
            self._after_commit(functools.partial(self._committed, later, peers))
        return rel

    def _committed(self, actions: list[Callable[[], None]], peers: list[PeerId]) -> None:
        for action in actions:
            action()
        for peer in peers:
            self.dialer.ensure(peer)
            self._flush(peer)

    def _after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` when the current group commit is on "disk" (``commit_ms`` from now)."""
        if self._batch is None:
            self._batch = []
            self.engine.call_later(self.env.commit_ms, self._flush_batch)
        self._batch.append(action)

    def _flush_batch(self) -> None:
        batch, self._batch = self._batch or [], None
        for action in batch:
            action()

    def _remember(self, rel: Relationship) -> None:
        rel = self.shared.relationship(rel)
        self._rels[rel.invite_secret] = rel
        if rel.peer is not None:
            known = self._current.get(rel.peer)
            if known in (None, rel.invite_secret) or rel.state is not RelationshipState.ENDED:
                self._current[rel.peer] = rel.invite_secret

    def _notify(self, rel: Relationship, effect: Notify) -> None:
        self.env.observer.record(
            cast("SimNode", self), f"rel.{effect.kind}", rel.peer, effect.detail
        )
        if effect.kind == "ended" and self._grants is not None:
            self._grants.relationships_ended()  # as the daemon: delete-on-end, once on disk
        if effect.kind == "connected":
            self._connect_done(rel.invite_secret, True, "")
            if self._reputation is not None:  # as the daemon: a pass once a peer connects
                self._reputation.poke()
            if self.behaviour is not None and rel.peer is not None:
                self.behaviour.on_connected(cast("SimNode", self), rel.peer)

    def _connect_done(self, secret: bytes, ok: bool, why: str) -> None:
        waiting = self._connect_waits.pop(secret, None)
        if not self._connect_waits:
            self._connect_waits.clear()  # an emptied dict keeps its table until cleared
        if waiting is not None:
            self.engine.cancel(waiting[0])
            waiting[1](ok, why or ("connected" if ok else "not connected in time"))

    def _arm(self, rel: Relationship, token: str, at_ms: int) -> None:
        # Keyed by relationship AND token: tokens ("invitation-1") repeat across relationships.
        key = (rel.invite_secret, token)
        self.engine.cancel(self._timers.pop(key, None))
        delay = max(0, at_ms - self.now_ms())
        self._timers[key] = self.engine.call_later(delay, self._timer_fired, key)

    def _disarm(self, secret: bytes, token: str) -> None:
        self.engine.cancel(self._forget_timer((secret, token)))

    def _forget_timer(self, key: tuple[bytes, str]) -> Timer | None:
        timer = self._timers.pop(key, None)
        if not self._timers:
            self._timers.clear()  # an emptied dict keeps its table until cleared
        return timer

    def _timer_fired(self, key: tuple[bytes, str]) -> None:
        self._forget_timer(key)
        rel = self._rels.get(key[0])
        if rel is not None:
            self._step(rel, TimerFired(key[1]))
