"""A simulated relay's mailbox: sealed mail held for the relay's peers, as node/mailbox.py.

The same rules as the daemon's, in memory (``admit_deposit``): a deposit is refused unless its
routing header reads (``peek_sealed``) and names a CONNECTED peer of the relay, and a ticket shown
with it holds; one sender holds at most 16 MiB, one recipient at most 10 000 items, of which mail
without a ticket (strangers') at most 100 items and 2 MiB; mail expires 14 days after it was
deposited and is swept hourly; the hand-over sends every unexpired item, oldest first, in pages
with at most ``HAND_OVER_WINDOW`` unacknowledged on a link (protocol/handover.py); a MAIL_ACK
deletes only the acknowledging node's own items. The relay reads nothing but the header. See
spec/relay.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from amity.protocol.frames import Deposit
from amity.protocol.handover import HAND_OVER_PAGE, HandOverWindow
from amity.protocol.identity import PeerId
from amity.protocol.mailbox import MailboxPolicy, admit_deposit
from amity.simulations.world.engine import Engine, Timer

__all__ = ["SWEEP_MS", "HeldMail", "SimMailbox"]
#: As the daemon's mailbox sweep: expired mail is deleted hourly.
SWEEP_MS: Final = 3_600_000


@dataclass(frozen=True, slots=True)
class HeldMail:
    """One sealed mail as the relay stores it: the bytes, and what the header and link said."""

    mail_id: int
    recipient: PeerId
    sender: PeerId
    sealed: bytes
    deposited_ms: int
    expires_ms: int
    ticketed: bool = True


class SimMailbox:
    """Holds and hands over one relay's sealed mail; ``serves`` says whom it holds mail for."""

    __slots__ = (
        "_bytes_from",
        "_clock_ms",
        "_engine",
        "_held",
        "_next_id",
        "_serves",
        "_strangers",
        "_sweep",
        "_windows",
        "acked",
        "expired",
        "held_total",
        "policy",
        "refused",
    )

    def __init__(
        self,
        engine: Engine,
        *,
        serves: Callable[[PeerId], bool],
        clock_ms: Callable[[], int],
        policy: MailboxPolicy = MailboxPolicy(),
    ) -> None:
        self._engine = engine
        self._serves = serves
        self._clock_ms = clock_ms
        self.policy = policy
        #: recipient -> mail id -> item, in deposit order (ids only grow).
        self._held: dict[PeerId, dict[int, HeldMail]] = {}
        self._bytes_from: dict[PeerId, int] = {}
        #: recipient -> (items, bytes) held for it without a ticket: the strangers' budget used.
        self._strangers: dict[PeerId, tuple[int, int]] = {}
        self._next_id = 1
        self._sweep: Timer | None = None
        #: The hand-over window of each live link that has had a hand-over (keyed by the link).
        self._windows: dict[object, HandOverWindow] = {}
        #: Items stored, deleted on a MAIL_ACK, and deleted unread at expiry, over the run.
        self.held_total = 0
        self.acked = 0
        self.expired = 0
        #: Deposits refused, by the code the DEPOSITED frame carried.
        self.refused: dict[str, int] = {}

    def deposit(self, sender: PeerId, deposit: Deposit) -> tuple[str, PeerId | None]:
        """Store one deposit; returns ("ok", recipient) or (error code, None)."""
        code, recipient = self._store(sender, deposit)
        if recipient is None:
            self.refused[code] = self.refused.get(code, 0) + 1
        return code, recipient

    def _store(self, sender: PeerId, deposit: Deposit) -> tuple[str, PeerId | None]:
        now = self._clock_ms()
        admission = admit_deposit(
            deposit,
            self.policy,
            sender=sender,
            now_ms=now,
            serves=self._serves,
            bytes_from_sender=lambda: self._bytes_from.get(sender, 0),
            items_for=lambda peer: len(self._held.get(peer, ())),
            stranger_mail_for=self._stranger_mail_for,
        )
        recipient = admission.recipient
        if recipient is None:
            return admission.code, None
        size = len(deposit.sealed)
        items = self._held.setdefault(recipient, {})
        mail_id, self._next_id = self._next_id, self._next_id + 1
        items[mail_id] = HeldMail(
            mail_id,
            recipient,
            sender,
            deposit.sealed,
            now,
            now + self.policy.ttl_ms,
            admission.ticketed,
        )
        self._bytes_from[sender] = self._bytes_from.get(sender, 0) + size
        if not admission.ticketed:
            count, total = self._strangers.get(recipient, (0, 0))
            self._strangers[recipient] = (count + 1, total + size)
        self.held_total += 1
        if self._sweep is None:
            self._sweep = self._engine.call_later(SWEEP_MS, self._swept)
        return "ok", recipient

    def _stranger_mail_for(self, recipient: PeerId) -> tuple[int, int]:
        return self._strangers.get(recipient, (0, 0))

    def mail_for(
        self, recipient: PeerId, *, after_id: int = 0, limit: int = HAND_OVER_PAGE
    ) -> list[HeldMail]:
        """One page of a hand-over: unexpired items after ``after_id``, oldest first."""
        items = self._held.get(recipient)
        if not items:
            return []
        now = self._clock_ms()
        live = (i for i in items.values() if i.mail_id > after_id and i.expires_ms > now)
        return [item for _, item in zip(range(limit), live, strict=False)]

    def window(self, link: object) -> HandOverWindow:
        """The hand-over window of ``link`` (made on its first hand-over)."""
        window = self._windows.get(link)
        if window is None:
            window = self._windows[link] = HandOverWindow()
        return window

    def link_down(self, link: object) -> None:
        self._windows.pop(link, None)

    def ack(self, recipient: PeerId, mail_ids: Iterable[int], link: object = None) -> int:
        """The recipient stored these: delete them (only its own mail); returns how many.

        ``link``, the link the MAIL_ACK came on, gets room in its hand-over window.
        """
        mail_ids = tuple(mail_ids)
        window = self._windows.get(link) if link is not None else None
        if window is not None:
            window.acked(mail_ids)
        items = self._held.get(recipient)
        if items is None:
            return 0
        gone = 0
        for mail_id in mail_ids:
            item = items.pop(mail_id, None)
            if item is not None:
                self._forget(item)
                gone += 1
        if not items:
            del self._held[recipient]
        self.acked += gone
        return gone

    def held(self, recipient: PeerId | None = None) -> list[HeldMail]:
        """Every item held (for ``recipient``), oldest first: what an operator could inspect."""
        groups = self._held.values() if recipient is None else [self._held.get(recipient, {})]
        return sorted((item for items in groups for item in items.values()), key=_mail_id)

    def expire(self) -> int:
        """Delete every expired item; returns how many."""
        now = self._clock_ms()
        gone = 0
        for recipient in list(self._held):
            items = self._held[recipient]
            for mail_id in [i for i, item in items.items() if item.expires_ms <= now]:
                self._forget(items.pop(mail_id))
                gone += 1
            if not items:
                del self._held[recipient]
        self.expired += gone
        return gone

    def _forget(self, item: HeldMail) -> None:
        if not item.ticketed:
            count, total = self._strangers[item.recipient]
            if count > 1:
                self._strangers[item.recipient] = (count - 1, total - len(item.sealed))
            else:
                del self._strangers[item.recipient]
        left = self._bytes_from[item.sender] - len(item.sealed)
        if left:
            self._bytes_from[item.sender] = left
        else:
            del self._bytes_from[item.sender]

    def _swept(self) -> None:
        # Hourly while anything is held; no timer stays behind in an empty mailbox.
        self.expire()
        self._sweep = self._engine.call_later(SWEEP_MS, self._swept) if self._held else None


def _mail_id(item: HeldMail) -> int:
    return item.mail_id
