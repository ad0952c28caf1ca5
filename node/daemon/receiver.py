"""The daemon's receiving side: it carries out what amity.protocol.core answers to each input.

The core decides (open, replay guard, dispatch, ACK or REFUSE); this part stages what it says in
the group commit and answers the peer once the commit is on disk: ACK frames batched per link
and commit, REFUSE frames at once, MAIL_ACKs for relayed mail, the HTTP answer for posted mail.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from amity.node.daemon.base import (
    bitmap_bytes,
    log,
)
from amity.node.logs import log_event
from amity.node.net.link import Link
from amity.node.net.transport import TransportClosed
from amity.node.services import Staged
from amity.protocol.core.effects import (
    Accepted,
    Confirm,
    DepositAnswered,
    DepositAsked,
    DialOnce,
    KeepTicket,
    MailAcked,
    Publish,
    Refuse,
    RefusedByPeer,
    Rejected,
    Settled,
    TicketIgnored,
    Transition,
)
from amity.protocol.core.effects import Effect as CoreEffect
from amity.protocol.core.receive import ack_frames, on_frame, open_posted, receive
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    AmityError,
    InvitationSpentError,
)
from amity.protocol.frames import (
    encode_deposited,
    encode_mail_ack,
    encode_refuse,
)
from amity.protocol.identity import PeerId

if TYPE_CHECKING:
    from amity.node.daemon.node import Node

__all__ = ["Receiver"]


def _run_all(actions: list[Callable[[], None]]) -> None:
    for action in actions:
        action()


def _nothing() -> None:
    pass


class Receiver:
    """See the module docstring."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._acks: dict[Link, list[int]] = {}
        #: Senders whose replay window changed since the last commit began.
        self._replay_dirty: set[PeerId] = set()

    async def on_message(self, link: Link, message: bytes) -> None:
        now = self.node.clock_ms()
        effects = on_frame(self.node, link.peer, message, now)
        if effects and isinstance(effects[0], DepositAsked):
            if self.node.core_trace is not None:  # carried out here, not by carry_out
                self.node.core_trace.append((link.peer, effects))
            await self._on_deposit(link, effects[0])
        else:
            self.carry_out(effects, now, link=link)

    async def _on_deposit(self, link: Link, asked: DepositAsked) -> None:
        if self.node.mailbox is None:
            await link.send(encode_deposited(asked.deposit.deposit_id, "relay.not_a_relay"))
            return
        recipient = await self.node.mailbox.answer(link, asked.deposit)
        target = self.node.net.link_to(recipient) if recipient is not None else None
        if target is not None:  # it may wait for the recipient's MAIL_ACKs: not on this link
            self.node._spawn(self.node.mailbox.hand_over(target), f"mail-{target.peer.short}")

    def carry_out(
        self,
        effects: list[CoreEffect],
        now: int,
        *,
        link: Link | None = None,
        posted: asyncio.Future[None] | None = None,
    ) -> AmityError | None:
        """Carry out the core's answer to one input (a frame on ``link``, or ``posted`` mail).

        Returns the error that rejected the input, if one did.
        """
        if self.node.core_trace is not None:
            self.node.core_trace.append((link.peer if link is not None else None, effects))
        write: Callable[[], None] | None = None  # what the commit stores for this input
        confirm: list[Callable[[], None]] = []  # what to do once it is on disk, in order
        rejected = None
        for effect in effects:
            if isinstance(effect, Accepted):
                write, after = self._store(effect, now)
                confirm.extend(after)
            elif isinstance(effect, Confirm):
                confirm.append(self._confirmer(effect, link, posted))
            elif isinstance(effect, Publish):
                confirm.append(functools.partial(self._publish, effect))
            elif isinstance(effect, Refuse):
                if link is not None:
                    frame = (
                        encode_refuse(effect.seq, effect.error.code, effect.error.message)
                        if effect.mail_id is None
                        else encode_mail_ack([effect.mail_id])
                    )
                    self.node._spawn(link.send(frame), "refuse")
            elif isinstance(effect, Rejected):
                rejected = effect.error
                self.node.rejected += 1
                peer = effect.peer.short if effect.peer is not None else "-"
                log_event(
                    log, "message.rejected", logging.WARNING, peer=peer, code=effect.error.code
                )
            elif isinstance(effect, Settled):
                self._mark_acked(effect.peer, list(effect.seqs))
            elif isinstance(effect, RefusedByPeer):
                log_event(log, "message.refused_by_peer", peer=effect.peer.short, code=effect.code)
                if effect.code == InvitationSpentError.code:
                    self.node.invitation_refused(effect.peer, effect.code)
            elif isinstance(effect, KeepTicket):
                self.node.commits.write(
                    functools.partial(
                        self.node.store.set_deposit_ticket,
                        effect.peer.key,
                        effect.ticket,
                        effect.not_after_ms,
                    )
                )
            elif isinstance(effect, TicketIgnored):
                log_event(
                    log,
                    "ticket.ignored",
                    logging.WARNING,
                    peer=effect.peer.short,
                    code=effect.error.code,
                )
            elif isinstance(effect, DialOnce):
                self.node.net.ensure(effect.peer, once=True)
            elif isinstance(effect, DepositAnswered):
                future = self.node.depositor.answers.pop((effect.peer, effect.deposit_id), None)
                if future is not None and not future.done():
                    future.set_result(effect.code)
            elif isinstance(effect, MailAcked):
                if self.node.mailbox is not None and link is not None:
                    self.node.mailbox.acked(link.peer, effect.mail_ids)
            elif isinstance(effect, Transition):
                self.node.steps.stage(effect.relationship, effect.effects)
        if confirm:
            # One write and one action list per input: no future per message (the hot path).
            self.node.commits.stage(
                write, confirm[0] if len(confirm) == 1 else functools.partial(_run_all, confirm)
            )
        elif write is not None:
            self.node.commits.stage(write, _nothing)
        return rejected

    def _confirmer(
        self, effect: Confirm, link: Link | None, posted: asyncio.Future[None] | None
    ) -> Callable[[], None]:
        """What confirms an input once its commit is on disk."""
        if link is None:
            return lambda: None if posted is None or posted.done() else posted.set_result(None)
        if effect.mail_id is not None:
            frame = encode_mail_ack([effect.mail_id])
            return lambda: self.node._spawn(link.send(frame), "mail-ack")
        return functools.partial(self._ack_later, link, effect.seq)

    def _publish(self, effect: Publish) -> None:
        """Tell the event bus, once on disk; the event is built only if someone listens."""
        if self.node.events.wants(effect.event):
            detail = {"peer": effect.peer.did, "seq": effect.seq, "type": effect.type}
            self.node.events.publish(effect.event, detail)
        else:
            self.node.events.skipped()

    async def deliver_sealed(self, sealed: bytes) -> Envelope:
        """One-shot sealed mail posted to our inbox: stored (and its effects) once this returns.

        Raises the AmityError that refused it. A duplicate is accepted again without a second
        copy, so a sender may safely retry the POST.
        """
        now = self.node.clock_ms()
        envelope = open_posted(self.node, sealed, now)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        effects = receive(self.node, envelope, now, direct=False, via=envelope.sender)
        for effect in effects:  # the POST's answer says why; nothing to count or log here
            if isinstance(effect, Rejected):
                raise effect.error
        self.carry_out(effects, now, posted=done)
        await done
        return envelope

    def _store(
        self, effect: Accepted, now: int
    ) -> tuple[Callable[[], None], list[Callable[[], None]]]:
        """A received envelope with what it changed, for the next commit (one transaction), and
        what to do once that is on disk.

        The relationship book changes in memory at once (the core's next input sees it); the
        disk catches up at the commit, and only then is the sender told the message is safe.
        """
        envelope = effect.envelope
        sender = envelope.sender
        store = self.node.store
        if effect.keep_body:
            row = (sender.key, envelope.seq, envelope.type, envelope.body, envelope.encoded, now)
        else:
            row = (sender.key, envelope.seq, envelope.type, b"", b"", now)
        if not self._replay_dirty:
            self.node.commits.stage(self._save_replay_windows, _nothing)
        self._replay_dirty.add(sender)

        def store_message() -> None:
            store.stage_inbox(*row)

        staged = effect.answer
        if not isinstance(staged, Staged):
            write, after = self.node.steps.prepare(
                effect.relationship, effect.effects, also_write=store_message
            )
            return write, [] if after is None else [after]
        service_writes = staged.writes + [
            functools.partial(self.node.sender.queue, out.to, out.type, out.body, now)
            for out in staged.sends
        ]

        def store_with_service() -> None:
            store_message()
            for fn in service_writes:
                fn()

        def service_after() -> None:
            for fn in staged.after:
                fn()
            for peer in {out.to for out in staged.sends}:
                self.node.net.ensure(peer)
                self.node.sender.kick(peer)

        write, after = self.node.steps.prepare(
            effect.relationship, effect.effects, also_write=store_with_service
        )
        return write, [service_after] if after is None else [after, service_after]

    def _save_replay_windows(self) -> None:
        """In the commit: each sender's replay window as it stands, once per sender and commit.

        Every envelope the guard has recorded is staged in this commit or an earlier one, so
        the window saved here covers all of them (spec/link.md §2: the guard survives a restart).
        """
        dirty, self._replay_dirty = self._replay_dirty, set()
        for sender in dirty:
            window = self.node.guard.sequence_window(sender)
            if window is not None:
                self.node.store.save_replay(sender.key, window[0], bitmap_bytes(window[1]))

    def _ack_later(self, link: Link, seq: int) -> None:
        """Queue an ACK; all ACKs for one link from one commit go out as one frame."""
        pending = self._acks.setdefault(link, [])
        pending.append(seq)
        if len(pending) == 1:
            self.node._spawn(self._send_acks(link), "acks")

    async def _send_acks(self, link: Link) -> None:
        await asyncio.sleep(0)  # let every ACK of this commit join the frame
        for frame in ack_frames(self._acks.pop(link, [])):
            try:
                await link.send(frame)
            except TransportClosed:
                return  # the sender resends; we answer the duplicates with ACKs then

    async def send_pending_acks(self) -> None:
        """Send every ACK still waiting for its frame now (the node is about to close links)."""
        pending, self._acks = self._acks, {}
        for link, seqs in pending.items():
            for frame in ack_frames(seqs):
                try:
                    await link.send(frame)
                except TransportClosed:
                    break

    def _mark_acked(self, peer: PeerId, seqs: list[int]) -> None:
        """The peer stored these: mark them in the next commit (no need to wait for it).

        Losing the mark in a crash is harmless: the envelope is resent and the peer ACKs it again.
        """
        now = self.node.clock_ms()
        self.node.sender.settled(peer, seqs)
        self.node.depositor.deposited.difference_update(
            (peer, seq) for seq in seqs
        )  # done with: forget

        def mark() -> None:
            self.node.store.ack_outbox(peer.key, seqs, now)

        self.node.commits.write(mark)
