"""A relay's admission rule for sealed mail (sans-IO): whom it holds mail for, and how much.

A relay holds a DEPOSIT only for a recipient it serves (one of its CONNECTED peers), and only
within its quotas: ``max_bytes_per_sender`` held from any one sender, ``max_items_per_recipient``
held for any one recipient. The daemon (node/mailbox.py, over its store) and the simulator
(simulations/mailbox.py, over memory) both apply it. See spec/relay.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from amity.protocol.errors import AmityError
from amity.protocol.frames import Deposit
from amity.protocol.identity import PeerId
from amity.protocol.sealed import peek_sealed

__all__ = ["MailboxPolicy", "admit_deposit"]

_DAY_MS: Final = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class MailboxPolicy:
    """Limits that keep one sender (or one recipient's backlog) from filling the relay."""

    ttl_ms: int = 14 * _DAY_MS
    max_bytes_per_sender: int = 16 * 1024 * 1024
    max_items_per_recipient: int = 10_000


def admit_deposit(
    deposit: Deposit,
    policy: MailboxPolicy,
    *,
    serves: Callable[[PeerId], bool],
    bytes_from_sender: Callable[[], int],
    items_for: Callable[[PeerId], int],
) -> tuple[str, PeerId | None]:
    """``("ok", recipient)`` if the relay may hold ``deposit``, else ``(error code, None)``.

    ``bytes_from_sender()`` is what the relay holds from the depositor now; ``items_for``
    counts what it holds for a recipient. Each is asked only once the checks before it passed.
    """
    try:
        header = peek_sealed(deposit.sealed)
    except AmityError as exc:
        return exc.code, None
    if not serves(header.recipient):
        return "relay.unknown_recipient", None
    if bytes_from_sender() + len(deposit.sealed) > policy.max_bytes_per_sender:
        return "relay.quota", None
    if items_for(header.recipient) >= policy.max_items_per_recipient:
        return "relay.full", None
    return "ok", header.recipient
