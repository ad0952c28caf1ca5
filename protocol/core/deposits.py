"""How a sender leaves mail for an unreachable peer at the peer's relays (spec/relay.md §2, §6).

While a peer cannot be dialled, its sender seals each pending envelope that no relay holds yet to
the link key on the peer's card and deposits it at the first of the card's relays that takes it,
``DEPOSIT_PAGE`` envelopes at a time, in seq order, waiting for a page's DEPOSITED answers before
the next. A relay that takes a whole page gets the next one; one that takes part of it (or does
not answer in time) leaves the rest to the next relay. Each deposit shows the deposit ticket the
peer's latest hello gave us, while it is valid; a relay that refuses it (``ticket.*``) makes us
deposit as a stranger until a fresh hello brings a new one. The envelopes stay in the outbox until
the peer ACKs them directly (then the sender forgets they were deposited).

The driver does the waiting (an asyncio future, an engine timer); these functions decide.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from amity.protocol.card import Card, Relay
from amity.protocol.handover import DEPOSIT_PAGE
from amity.protocol.identity import PeerId

__all__ = ["PageOutcome", "relays_to_try", "ticket_to_show", "undeposited", "page_outcome"]

#: The answer code of a deposit a relay holds.
HELD = "ok"


@dataclass(frozen=True, slots=True)
class PageOutcome:
    """What one page's DEPOSITED answers mean."""

    #: Outbox seqs of the envelopes this relay now holds.
    held: tuple[int, ...]
    #: It took the whole page: the next page goes to the same relay; else to the next relay.
    whole: bool
    #: It refused the ticket: forget it, and deposit as a stranger until the next hello.
    ticket_refused: bool


def relays_to_try(card: Card, now_ms: int) -> tuple[Relay, ...]:
    """The peer's relays, in its card's order; none once the card's link key has expired (mail
    sealed to it could not be opened)."""
    if now_ms >= card.link_cert.not_after_ms:
        return ()
    return card.relays


def ticket_to_show(held: tuple[int, bytes] | None, now_ms: int) -> bytes | None:
    """The peer's ticket ``(not_after_ms, ticket)`` to show at its relays, while it is valid."""
    if held is None or now_ms >= held[0]:
        return None
    return held[1]


def undeposited(
    pending: Iterable[tuple[int, bytes]],
    deposited: Collection[tuple[PeerId, int]],
    peer: PeerId,
    limit: int = DEPOSIT_PAGE,
) -> list[tuple[int, bytes]]:
    """The next page of ``peer``'s pending ``(seq, envelope)``, in seq order, no relay holds."""
    fresh = ((seq, env) for seq, env in pending if (peer, seq) not in deposited)
    return list(itertools.islice(fresh, limit))


def page_outcome(codes: Mapping[int, str] | None, page_size: int) -> PageOutcome:
    """The outcome of a page of ``page_size`` deposits from its answers by outbox seq (``None``:
    not every answer came in time, and then nothing counts as held)."""
    if codes is None:
        return PageOutcome((), False, False)
    held = tuple(seq for seq, code in codes.items() if code == HELD)
    refused = any(code.startswith("ticket.") for code in codes.values())
    return PageOutcome(held, len(held) == page_size, refused)
