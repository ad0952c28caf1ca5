"""A relay's admission rule for sealed mail (sans-IO): whom it holds mail for, and how much.

A relay holds a DEPOSIT only for a recipient it serves (one of its CONNECTED peers), and only
within its quotas. The recipient has the say over who gets most of the room: mail that comes with
a deposit ticket the recipient signed for the depositor (spec/relay.md §6) may fill the
recipient's whole mailbox, while mail from everyone else — strangers, with fresh keys as often as
they like — shares a small budget per recipient. The daemon (node/mailbox.py, over its store) and
the simulator (simulations/mailbox.py, over memory) both apply it. See spec/relay.md §2, §6.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from amity.protocol.errors import AmityError
from amity.protocol.frames import Deposit
from amity.protocol.identity import PeerId
from amity.protocol.sealed import peek_sealed
from amity.protocol.ticket import check_ticket

__all__ = ["MailboxPolicy", "Admission", "admit_deposit"]

_DAY_MS: Final = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class MailboxPolicy:
    """Limits that keep one sender, or all strangers together, from filling the relay.

    ``max_items_per_recipient`` counts everything held for one recipient; strangers (deposits
    without a valid ticket) share ``stranger_items_per_recipient`` and
    ``stranger_bytes_per_recipient`` of it, so the rest is kept for the recipient's peers.
    """

    ttl_ms: int = 14 * _DAY_MS
    max_bytes_per_sender: int = 16 * 1024 * 1024
    max_items_per_recipient: int = 10_000
    stranger_items_per_recipient: int = 100
    stranger_bytes_per_recipient: int = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Admission:
    """What the relay answers a deposit: ``code`` is "ok" (then ``recipient`` is set) or why not.

    ``ticketed`` says which budget the held item counts against (False: the strangers').
    """

    code: str
    recipient: PeerId | None = None
    ticketed: bool = False


def admit_deposit(
    deposit: Deposit,
    policy: MailboxPolicy,
    *,
    sender: PeerId,
    now_ms: int,
    serves: Callable[[PeerId], bool],
    bytes_from_sender: Callable[[], int],
    items_for: Callable[[PeerId], int],
    stranger_mail_for: Callable[[PeerId], tuple[int, int]],
) -> Admission:
    """Whether the relay may hold ``deposit`` from ``sender`` (the peer its session proved).

    ``bytes_from_sender()`` is what the relay holds from the depositor now; ``items_for`` counts
    what it holds for a recipient, ``stranger_mail_for`` the items and bytes it holds for it
    without a ticket. Each is asked only once the checks before it passed (spec/relay.md §6.3).
    """
    try:
        header = peek_sealed(deposit.sealed)
    except AmityError as exc:
        return Admission(exc.code)
    recipient = header.recipient
    if not serves(recipient):
        return Admission("relay.unknown_recipient")
    ticketed = deposit.ticket is not None
    if deposit.ticket is not None:
        try:
            check_ticket(deposit.ticket, recipient=recipient, sender=sender, now_ms=now_ms)
        except AmityError as exc:
            return Admission(exc.code)
    size = len(deposit.sealed)
    if bytes_from_sender() + size > policy.max_bytes_per_sender:
        return Admission("relay.quota")
    if items_for(recipient) >= policy.max_items_per_recipient:
        return Admission("relay.full")
    if not ticketed:
        items, held_bytes = stranger_mail_for(recipient)
        if (
            items >= policy.stranger_items_per_recipient
            or held_bytes + size > policy.stranger_bytes_per_recipient
        ):
            return Admission("relay.strangers_full")
    return Admission("ok", recipient, ticketed)
