"""A hub's intents path: pseudonymous links from casters (spec/intents.md §7.5); on a vendor
that is no hub, its direct endpoint (§7.8): the same link, its own rules.

A caster dials the hub's ``/amity/v1/intents`` WebSocket as a stranger and runs the Noise
handshake under an intent key; the hub's handshake payload is its rules (§7.1), not its card.
While the link lives it is one of the node's links to that pseudonym, so the node's outbox sends
it, in seq order, what the hub queued for the intent (offers, receipts) and resends on every new
link until ACKed. What comes in is decided by amity.protocol.core.intents.link and stored, with
the replay window, in one commit before it is ACKed: nothing accepted is lost to a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import TYPE_CHECKING, Final

from amity.node.daemon.base import bitmap_bytes, when_written
from amity.node.logs import log_event
from amity.node.net.link import HANDSHAKE_TIMEOUT_S, Link, open_link
from amity.node.net.transport import Connection, TransportClosed, TransportError
from amity.protocol.core.intents import link as rules
from amity.protocol.errors import AmityError
from amity.protocol.frames import encode_ack, encode_refuse
from amity.protocol.identity import PeerId
from amity.protocol.intentmessages import DirectRules, HubRules, encode_intent_body

if TYPE_CHECKING:
    from amity.node.intents.service import IntentsService

__all__ = ["HubLinks"]

_log = logging.getLogger("amity.intents")
#: A pseudonymous link with no message either way for this long is closed.
_IDLE_S: Final = 30 * 60.0


class HubLinks:
    """Serves pseudonymous links at a hub."""

    def __init__(self, service: IntentsService) -> None:
        self.service = service
        self.node = service.node

    async def serve(self, connection: Connection, timeout_s: float = HANDSHAKE_TIMEOUT_S) -> None:
        hub, vendor = self.service.hub, self.service.vendor
        node = self.node
        rules: HubRules | DirectRules | None = hub.rules if hub is not None else vendor.direct_rules
        if rules is None:
            await connection.close()
            return
        try:
            link = await open_link(
                connection,
                node.keyring,
                node.clock_ms,
                initiator=False,
                card=None,
                extra=encode_intent_body(rules),
                timeout_s=timeout_s,
            )
        except (AmityError, TransportError, TimeoutError) as exc:
            node.rejected += 1
            code = getattr(exc, "code", type(exc).__name__)
            log_event(_log, "intents.handshake_refused", remote=connection.remote, code=code)
            await connection.close()
            return
        peer = link.peer
        if node.book.current(peer) is not None or peer == node.peer_id:
            # A pseudonym is nobody's peer: a node's own identity never casts here.
            log_event(_log, "intents.not_a_pseudonym", logging.WARNING, peer=peer.short)
            await link.close()
            return
        node.links[peer].append(link)
        node.sender.kick(peer)
        log_event(_log, "intents.link_up", pseudonym=peer.short)
        try:
            await self._read(link)
        finally:
            links = node.links.get(peer, [])
            if link in links:
                links.remove(link)
            if not links:
                node.links.pop(peer, None)
            node.sender.sent_upto.pop(link, None)
            link.closed.set()
            await link.close()
            log_event(_log, "intents.link_down", pseudonym=peer.short)

    async def _read(self, link: Link) -> None:
        node, hub, vendor, peer = self.node, self.service.hub, self.service.vendor, link.peer
        while True:
            try:
                async with asyncio.timeout(_IDLE_S):
                    frame = await link.receive()
            except (TimeoutError, TransportClosed):
                return
            except (TransportError, AmityError) as exc:
                node.rejected += 1
                log_event(_log, "intents.link_broken", logging.WARNING, code=exc.code)
                return
            now = node.clock_ms()
            if hub is not None:
                answer = rules.at_hub(hub, node.guard, peer, frame, now)
            else:  # a vendor's direct endpoint: a hub that serves only itself (§7.8)
                answer = rules.at_direct(vendor, node.guard, peer, frame, now)
            if isinstance(answer, rules.Took):
                role, host = ("hub", hub) if hub is not None else ("vendor", vendor)
                staged = self.service.carrier.stage(role, host, answer.effects)
                window = node.guard.sequence_window(peer)
                if window is not None:
                    staged.writes.append(
                        functools.partial(
                            node.store.save_replay, peer.key, window[0], bitmap_bytes(window[1])
                        )
                    )
                future = node.commit(staged)
                ack = functools.partial(self._send, link, encode_ack([answer.envelope.seq]))
                future.add_done_callback(functools.partial(when_written, ack))
            elif isinstance(answer, rules.Duplicate):
                ack = functools.partial(self._send, link, encode_ack([answer.seq]))
                node.commits.write().add_done_callback(functools.partial(when_written, ack))
            elif isinstance(answer, rules.Refused):
                node.rejected += 1
                error = answer.error
                log_event(_log, "intents.refused", pseudonym=peer.short, code=error.code)
                self._send(link, encode_refuse(answer.seq, error.code, error.message))
            elif isinstance(answer, rules.Settled):
                seqs = list(answer.seqs)
                node.commits.write(functools.partial(self._acked, peer, seqs, now))
            else:
                node.rejected += 1
                log_event(_log, "intents.link_broken", logging.WARNING, code=answer.error.code)
                return

    def _acked(self, peer: PeerId, seqs: list[int], now: int) -> None:
        self.node.store.ack_outbox(peer.key, seqs, now)

    def _send(self, link: Link, frame: bytes) -> None:
        self.node._spawn(self._send_quietly(link, frame), "intents-answer")

    @staticmethod
    async def _send_quietly(link: Link, frame: bytes) -> None:
        with contextlib.suppress(TransportError):  # the other end resends; ACKed again
            await link.send(frame)
