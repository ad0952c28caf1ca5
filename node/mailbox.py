"""The relay's mailbox: sealed mail held for this node's peers while they are offline.

A node started with ``--relay`` accepts DEPOSIT frames from any authenticated node, for any of
its CONNECTED peers, within quotas (mail without the recipient's deposit ticket shares a small
budget per recipient); it hands the mail over (MAIL frames) whenever that peer has
a link, and deletes each piece once the peer's MAIL_ACK says it is stored. It can read nothing
but the routing header (spec/sealed.md): recipient and link key. See spec/relay.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from amity.node.logs import log_event
from amity.node.net.link import Link
from amity.node.net.transport import TransportClosed
from amity.node.store import Store
from amity.protocol.frames import Deposit, encode_deposited, encode_mail
from amity.protocol.handover import HandOverWindow
from amity.protocol.identity import PeerId
from amity.protocol.mailbox import MailboxPolicy, admit_deposit

__all__ = ["MailboxPolicy", "Mailbox"]

_log = logging.getLogger("amity.relay")


class _HandOver:
    """A link's hand-over: its window, whether it runs, and what wakes it when the window is full."""

    __slots__ = ("running", "wake", "window")

    def __init__(self) -> None:
        self.window = HandOverWindow()
        self.wake = asyncio.Event()
        self.running = False


class Mailbox:
    """Holds and hands over sealed mail; all state lives in the node's store."""

    def __init__(
        self,
        store: Store,
        *,
        serves: Callable[[PeerId], bool],
        clock_ms: Callable[[], int],
        policy: MailboxPolicy = MailboxPolicy(),
    ) -> None:
        self._store = store
        self._serves = serves
        self._clock_ms = clock_ms
        self.policy = policy
        #: The hand-over of each link that has had one, until that link goes down.
        self._hand_overs: dict[Link, _HandOver] = {}

    def deposit(self, sender: PeerId, deposit: Deposit) -> tuple[str, PeerId | None]:
        """Store one deposit; returns ("ok", recipient) or (error code, None)."""
        store = self._store
        now = self._clock_ms()
        with store.transaction():
            admission = admit_deposit(
                deposit,
                self.policy,
                sender=sender,
                now_ms=now,
                serves=self._serves,
                bytes_from_sender=lambda: store.mail_bytes_from(sender.key),
                items_for=lambda peer: store.count_mail(peer.key),
                stranger_mail_for=lambda peer: store.stranger_mail_for(peer.key),
            )
            recipient = admission.recipient
            if recipient is None:
                return admission.code, None
            store.add_mail(
                recipient.key,
                sender.key,
                deposit.sealed,
                now,
                now + self.policy.ttl_ms,
                ticketed=admission.ticketed,
            )
        size = len(deposit.sealed)
        log_event(
            _log,
            "relay.held",
            sender=sender.short,
            to=recipient.short,
            bytes=size,
            ticket=admission.ticketed,
        )
        return "ok", recipient

    async def answer(self, link: Link, deposit: Deposit) -> PeerId | None:
        """Handle a DEPOSIT frame from ``link`` and answer it; returns whom it is for."""
        code, recipient = self.deposit(link.peer, deposit)
        if code != "ok":
            log_event(_log, "relay.refused", logging.WARNING, sender=link.peer.short, code=code)
        await link.send(encode_deposited(deposit.deposit_id, code))
        return recipient

    async def hand_over(self, link: Link) -> int:
        """Send everything held for ``link.peer``, oldest first, in pages; returns how many.

        At most HAND_OVER_WINDOW items are unacknowledged on the link at a time; each MAIL_ACK
        makes room for more (spec/relay.md §3). One hand-over runs per link: a call while one
        runs (new mail was deposited) returns at once, as that one reads the store again before
        it stops.
        """
        state = self._hand_overs.get(link)
        if state is None:
            state = self._hand_overs[link] = _HandOver()
        elif state.running:
            return 0  # it reads the store again before it stops, and finds the new mail
        state.running = True
        window = state.window
        sent = 0
        try:
            while not link.closed.is_set():
                if not window.room:
                    state.wake.clear()
                    await state.wake.wait()  # a MAIL_ACK, or the link went down
                    continue
                items = self._store.mail_for(
                    link.peer.key, self._clock_ms(), after_id=window.after_id, limit=window.page()
                )
                if not items:
                    break
                for item in items:
                    # In flight before the send: its MAIL_ACK may be read before the send returns.
                    window.sent(item.id)
                    await link.send(encode_mail(item.id, item.sealed))
                    sent += 1
        except TransportClosed:
            pass  # the next link hands over again from the oldest unacknowledged item
        finally:
            # The window stays while the link lives: a later call goes on after what was sent.
            state.running = False
            if link.closed.is_set():
                self._hand_overs.pop(link, None)
        if sent:
            log_event(_log, "relay.handed_over", to=link.peer.short, items=sent)
        return sent

    def acked(self, recipient: PeerId, mail_ids: tuple[int, ...]) -> int:
        """The recipient stored these: delete them (only its own mail), make room to send more."""
        with self._store.transaction():
            gone = self._store.delete_mail(recipient.key, list(mail_ids))
        for link, state in self._hand_overs.items():
            if link.peer == recipient and state.window.acked(mail_ids):
                state.wake.set()
        return gone

    def link_down(self, link: Link) -> None:
        """``link`` is gone: a hand-over waiting on it ends."""
        state = self._hand_overs.pop(link, None)
        if state is not None:
            state.wake.set()

    def expire(self) -> int:
        with self._store.transaction():
            gone = self._store.expire_mail(self._clock_ms())
        if gone:
            log_event(_log, "relay.expired", items=gone)
        return gone
