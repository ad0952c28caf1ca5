"""A simulated node carries out the core's answer to each frame a link brings, as the daemon does.

What a frame means is decided in :func:`amity.protocol.core.receive.on_frame`; here its effects
are carried out on the engine's clock: an accepted message's relationship step and service
answer are staged, an ACK waits for the commit of what the message changed and goes out with the
other ACKs of that commit on the link, a REFUSE goes at once, and relay frames go to the relay
parts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from amity.protocol.core.effects import (
    Accepted,
    Confirm,
    DepositAnswered,
    DepositAsked,
    DialOnce,
    Duplicate,
    KeepTicket,
    MailAcked,
    Refuse,
    RefusedByPeer,
    Rejected,
    Settled,
)
from amity.protocol.core.effects import Effect as CoreEffect
from amity.protocol.core.receive import ack_frames, on_frame
from amity.protocol.frames import encode_mail_ack, encode_refuse
from amity.simulations.commits import Commits
from amity.simulations.context import Staged
from amity.simulations.link import SimLink
from amity.simulations.relay import Deposits, on_relay_frame, settled

if TYPE_CHECKING:
    from amity.protocol.identity import PeerId
    from amity.simulations.node import SimNode

__all__ = ["Receiver"]


class Receiver(Commits):
    """The receiving side of :class:`~amity.simulations.node.SimNode` (its base)."""

    __slots__ = ("core_trace", "deposits", "duplicates", "refused_by_peers", "rejected")

    def __init__(self) -> None:
        super().__init__()
        #: When a list: every answer of the core this node carried out, as the daemon's.
        self.core_trace: list[tuple[PeerId | None, list[CoreEffect]]] | None = None
        #: Messages rejected, refused by the peer, and seen twice.
        self.rejected = 0
        self.refused_by_peers = 0
        self.duplicates = 0
        #: A sender's deposits at relays, made on its first deposit.
        self.deposits: Deposits | None = None

    def link_message(self, link: SimLink, message: bytes) -> None:
        self.carry_out(
            on_frame(cast("SimNode", self), link.proven_peer, message, self.now_ms()), link
        )

    def carry_out(self, effects: list[CoreEffect], link: SimLink) -> None:
        """Carry out the core's answer to one input on ``link``, as the daemon's _carry_out."""
        node = cast("SimNode", self)
        if self.core_trace is not None:
            self.core_trace.append((link.proven_peer, effects))
        for effect in effects:
            if isinstance(effect, Accepted):
                if not effect.direct:
                    envelope = effect.envelope
                    self.env.observer.record(
                        cast("SimNode", self), "mail.accepted", envelope.sender, envelope.type
                    )
                self._stage(effect.relationship, effect.effects)
                if isinstance(effect.answer, Staged):
                    self.commit(effect.answer)
            elif isinstance(effect, Confirm):
                self._after_commit(self._confirmer(link, effect.seq, effect.mail_id))
            elif isinstance(effect, Settled):
                self.outbox.settled(effect.peer, effect.seqs)
                settled(node, effect.peer, effect.seqs)
            elif isinstance(effect, Duplicate):
                self.duplicates += 1
            elif isinstance(effect, Refuse):
                if effect.mail_id is None:
                    error = effect.error
                    link.send(encode_refuse(effect.seq, error.code, error.message))
                else:
                    link.send(encode_mail_ack([effect.mail_id]))
            elif isinstance(effect, Rejected):
                self.rejected += 1
                self.env.observer.record(
                    cast("SimNode", self), "message.rejected", effect.peer, effect.error.code
                )
            elif isinstance(effect, RefusedByPeer):
                self.refused_by_peers += 1
                self.env.observer.record(
                    cast("SimNode", self), "message.refused_by_peer", effect.peer, effect.code
                )
            elif isinstance(effect, KeepTicket):
                if self.deposits is None:
                    self.deposits = Deposits()
                self.deposits.tickets[effect.peer] = (effect.not_after_ms, effect.ticket)
            elif isinstance(effect, DialOnce):
                self.dialer.ensure(effect.peer, once=True)
            elif isinstance(effect, DepositAsked | DepositAnswered | MailAcked):
                on_relay_frame(node, link, effect)

    def _confirmer(self, link: SimLink, seq: int, mail_id: int | None) -> Callable[[], None]:
        if mail_id is None:
            return functools.partial(self._ack_later, link, seq)
        return functools.partial(link.send, encode_mail_ack([mail_id]))

    def _ack_later(self, link: SimLink, seq: int) -> None:
        """Queue an ACK; the ACKs of one commit for one link go out as one frame."""
        if link.acks_due is None:
            link.acks_due = []
            self.engine.call_later(0, self._send_acks, link)
        link.acks_due.append(seq)

    def _send_acks(self, link: SimLink) -> None:
        seqs, link.acks_due = link.acks_due or [], None
        for frame in ack_frames(seqs):
            link.send(frame)
