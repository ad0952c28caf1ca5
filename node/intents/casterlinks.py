"""Her node's pseudonymous links: one per intent and hub, under the intent's own key.

For each open intent her node holds a link to each hub it was cast at (spec/intents.md §7.5):
dialled on the hub's intents path with the intent key's own link key, no card, redialled with
backoff while the intent lives. Over it go the envelopes she signed as the intent key (kept
until the hub ACKs them, resent on every new link) and come the hub's (offers, receipts),
each taken once and stored before it is ACKed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import TYPE_CHECKING, Final

from amity.node.daemon.base import BACKOFF_MAX_S, BACKOFF_START_S, when_written
from amity.node.logs import log_event
from amity.node.net.link import Link, open_link
from amity.node.net.peerserver import INTENTS_PATH
from amity.node.net.transport import TransportClosed, TransportError
from amity.node.net.websocket import WS_PATH
from amity.protocol.core.intents import link as rules
from amity.protocol.errors import AmityError, NodeError
from amity.protocol.frames import encode_ack, encode_envelope_frame, encode_refuse
from amity.protocol.identity import PeerId
from amity.protocol.intentmessages import (
    MSG_DIRECT,
    MSG_RULES,
    DirectRules,
    HubRules,
    decode_intent_body,
)
from amity.protocol.keyring import Keyring

if TYPE_CHECKING:
    from amity.node.intents.service import IntentsService

__all__ = ["CasterLinks", "intents_endpoints"]

_log = logging.getLogger("amity.intents")
#: After its intent expired, a link stays this long for late receipts.
_LINGER_MS: Final = 60_000


def intents_endpoints(endpoints: list[str] | tuple[str, ...]) -> list[str]:
    """A node's intents path at each of its WebSocket endpoints."""
    return [e.replace(WS_PATH, INTENTS_PATH) if WS_PATH in e else e for e in endpoints]


class _Held:
    """One link's sending state: the highest seq sent on it, and a wake-up for new mail."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.sent_upto = 0
        self.wake = asyncio.Event()


class CasterLinks:
    """See the module docstring."""

    def __init__(self, service: IntentsService) -> None:
        self.service = service
        self.node = service.node
        self._held: dict[tuple[bytes, PeerId], _Held] = {}
        self._holding: set[tuple[bytes, PeerId]] = set()
        #: The highest seq taken or refused from each hub per intent (the store's, plus staged).
        self._last_in: dict[tuple[bytes, PeerId], int] = {}

    def endpoints(self, hub: PeerId) -> list[str]:
        """Where ``hub`` (or a vendor) is: the card of our relationship, else where LAN
        discovery sees it (a vendor nearby, spec/intents.md §7.9; the handshake proves it)."""
        rel = self.node.book.current(hub)
        card = rel.peer_card if rel is not None else None
        if card is not None and card.endpoints:
            return intents_endpoints(card.endpoints)
        for nearby in self.service.nearby():
            if nearby.did == hub.did and nearby.endpoints:
                return intents_endpoints(nearby.endpoints)
        raise NodeError(f"no endpoint known for {self.node.book.name_of(hub)}")

    async def dial(
        self, key_seed: bytes, hub: PeerId, *, direct: bool = False
    ) -> tuple[Link, HubRules | DirectRules]:
        """Open a link to ``hub`` under the intent key; the hub's rules come in its handshake
        (with ``direct``: a vendor's direct endpoint, and its rules, spec/intents.md §7.8)."""
        problems = []
        for endpoint in self.endpoints(hub):
            try:
                connection = await self.node.dialer.dial(endpoint)
            except TransportError as exc:
                problems.append(str(exc))
                continue
            try:
                link = await open_link(
                    connection,
                    Keyring(key_seed),
                    self.node.clock_ms,
                    initiator=True,
                    card=None,
                    expected_peer=hub,
                )
                kind = MSG_DIRECT if direct else MSG_RULES
                body = decode_intent_body(kind, link.session.peer_extra)
                assert isinstance(body, HubRules | DirectRules)
                return link, body
            except (AmityError, TransportError, TimeoutError) as exc:
                await connection.close()
                problems.append(f"{endpoint}: {exc}")
        where = f"{'vendor' if direct else 'hub'} {self.node.book.name_of(hub)}"
        raise NodeError(f"cannot reach {where} for an intent: {'; '.join(problems)}")

    def hold(self, intent_id: bytes, hub: PeerId, link: Link | None = None) -> None:
        """Keep a link for this intent to ``hub`` (starting with ``link``, if one is open)."""
        key = (intent_id, hub)
        if key in self._holding or self.node._closing:
            if link is not None:
                self.node._spawn(link.close(), "intents-spare")
            return
        self._holding.add(key)
        self.node._spawn(self._hold(intent_id, hub, link), f"intent-{intent_id.hex()[:8]}")

    def kick(self, intent_id: bytes) -> None:
        for (held_id, _hub), held in self._held.items():
            if held_id == intent_id:
                held.wake.set()

    def _wanted(self, intent_id: bytes) -> bool:
        casting = self.service.caster.casting(intent_id)
        if casting is None:
            return False
        return self.node.clock_ms() < casting.intent.expires_ms + _LINGER_MS

    async def _hold(self, intent_id: bytes, hub: PeerId, link: Link | None) -> None:
        key = (intent_id, hub)
        delay = BACKOFF_START_S
        try:
            while not self.node._closing and self._wanted(intent_id):
                if link is None:
                    casting = self.service.caster.casting(intent_id)
                    assert casting is not None
                    try:
                        direct = hub in casting.direct
                        link, _ = await self.dial(casting.key_seed, hub, direct=direct)
                    except NodeError as exc:
                        log_event(_log, "intents.dial_failed", retry_s=delay, why=str(exc))
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, BACKOFF_MAX_S)
                        continue
                delay = BACKOFF_START_S
                await self._serve(intent_id, hub, link)
                link = None
        finally:
            self._holding.discard(key)
            if link is not None:
                await link.close()

    async def _serve(self, intent_id: bytes, hub: PeerId, link: Link) -> None:
        key = (intent_id, hub)
        held = self._held[key] = _Held(link)
        sender = asyncio.get_running_loop().create_task(self._send_loop(intent_id, hub, held))
        try:
            await self._read(intent_id, hub, link)
        finally:
            self._held.pop(key, None)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            link.closed.set()
            await link.close()

    async def _send_loop(self, intent_id: bytes, hub: PeerId, held: _Held) -> None:
        while True:
            held.wake.clear()
            if not self.node.commits.durable():
                await self.node.commits.write()
            pending = self.node.store.pending_intent_outbox(intent_id, hub.key)
            for seq, envelope in pending:
                if seq <= held.sent_upto:
                    continue
                try:
                    await held.link.send(encode_envelope_frame(envelope))
                except TransportError:
                    return
                held.sent_upto = seq
            wait = (self.service.caster_expiry(intent_id) - self.node.clock_ms()) / 1000
            try:
                async with asyncio.timeout(max(wait, 0) + _LINGER_MS / 1000):
                    await held.wake.wait()
            except TimeoutError:
                await held.link.close()
                return

    async def _read(self, intent_id: bytes, hub: PeerId, link: Link) -> None:
        node, caster = self.node, self.service.caster
        while True:
            try:
                frame = await link.receive()
            except TransportClosed:
                return
            except (TransportError, AmityError) as exc:
                log_event(_log, "intents.link_broken", logging.WARNING, code=exc.code)
                return
            casting = caster.casting(intent_id)
            if casting is None:
                return
            now = node.clock_ms()
            key = (intent_id, hub)
            if key not in self._last_in:  # what the store says, then kept here (ahead of it)
                self._last_in[key] = node.store.intent_link_seqs(intent_id, hub.key)[1]
            answer = rules.at_caster(
                caster, casting.intent.intent_key, hub, self._last_in[key], frame, now
            )
            if isinstance(answer, rules.Took | rules.Refused):
                seq = answer.envelope.seq if isinstance(answer, rules.Took) else answer.seq
                self._last_in[key] = max(self._last_in[key], seq)
            took = functools.partial(node.store.took_intent_seq, intent_id, hub.key)
            if isinstance(answer, rules.Took):
                staged = self.service.carrier.stage("caster", caster, answer.effects)
                seq = answer.envelope.seq
                staged.writes.append(functools.partial(took, seq))
                ack = functools.partial(self._send, link, encode_ack([seq]))
                node.commit(staged).add_done_callback(functools.partial(when_written, ack))
            elif isinstance(answer, rules.Duplicate):
                ack = functools.partial(self._send, link, encode_ack([answer.seq]))
                node.commits.write().add_done_callback(functools.partial(when_written, ack))
            elif isinstance(answer, rules.Refused):
                error = answer.error
                log_event(_log, "intents.refused", code=error.code)
                refuse = functools.partial(
                    self._send, link, encode_refuse(answer.seq, error.code, error.message)
                )
                node.commits.write(functools.partial(took, answer.seq)).add_done_callback(
                    functools.partial(when_written, refuse)
                )
            elif isinstance(answer, rules.Settled):
                if answer.code is not None:
                    self.service.hub_refused(intent_id, hub, answer.seqs, answer.code)
                done = functools.partial(
                    node.store.ack_intent_outbox, intent_id, hub.key, answer.seqs
                )
                node.commits.write(done).add_done_callback(
                    functools.partial(
                        when_written,
                        functools.partial(
                            self.service.settled, intent_id, hub, answer.seqs, answer.code
                        ),
                    )
                )
            else:
                log_event(_log, "intents.link_broken", logging.WARNING, code=answer.error.code)
                return

    def _send(self, link: Link, frame: bytes) -> None:
        self.node._spawn(self._send_quietly(link, frame), "intents-answer")

    @staticmethod
    async def _send_quietly(link: Link, frame: bytes) -> None:
        with contextlib.suppress(TransportError):  # the other end resends; ACKed again
            await link.send(frame)

    async def close(self) -> None:
        for held in list(self._held.values()):
            await held.link.close()
