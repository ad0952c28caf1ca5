"""Which held attestations go to one peer now: allowed by its share policy, unsent, in the rate.

The per-item rule is :func:`amity.protocol.sharing.allowed`; this adds what was sent already,
the hourly rate and the rebuttals that travel with each item. See spec/reputation.md §6.3.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence

from amity.protocol.core.reputation.effects import Answer, MarkShared, ReputationEffect
from amity.protocol.core.reputation.host import Holding
from amity.protocol.identity import PeerId
from amity.protocol.reputationmessages import (
    MAX_REBUTTALS,
    MSG_SHARE,
    RawItem,
    encode_share,
    pack_items,
)
from amity.protocol.sharing import ShareMode, SharePolicy, allowed, hops_out

__all__ = ["takes_shares", "room", "choose", "share"]


def takes_shares(policy: SharePolicy, connected: bool) -> bool:
    """Whether a share pass looks at this peer at all: a policy other than ``none``, connected."""
    return connected and policy.mode is not ShareMode.NONE


def room(policy: SharePolicy, sent_last_hour: int) -> int:
    """How many more attestations ``policy`` lets go to its peer now (0 for ``none``)."""
    if policy.mode is ShareMode.NONE:
        return 0
    return max(0, policy.per_hour - sent_last_hour)


def choose(
    held: Iterable[Holding],
    policy: SharePolicy,
    peer: bytes,
    now_ms: int,
    *,
    space: int,
    sent: Container[bytes] = (),
    rebuttals: Callable[[bytes], Sequence[bytes]] = lambda _: (),
) -> list[tuple[bytes, RawItem]]:
    """(attestation id, item) that ``peer`` may have now, in the order held: allowed by
    ``policy``, not in ``sent``, at most ``space`` of them, each with its first rebuttals."""
    items: list[tuple[bytes, RawItem]] = []
    if space <= 0:
        return items
    for row in held:
        aid = row.attestation_id
        if aid in sent or not allowed(row, policy, peer, now_ms):
            continue
        kept = tuple(rebuttals(aid)[:MAX_REBUTTALS])
        items.append((aid, RawItem(row.encoded, hops_out(row), kept)))
        if len(items) >= space:
            break
    return items


def share(peer: PeerId, chosen: Sequence[tuple[bytes, RawItem]]) -> list[ReputationEffect]:
    """A pass's effects for ``peer``: the chosen items in as few ``reputation.share`` messages
    as hold them (§7.1), and the note that they went."""
    out: list[ReputationEffect] = [
        Answer(peer, MSG_SHARE, encode_share(batch)) for batch in pack_items(i for _, i in chosen)
    ]
    if chosen:
        out.append(MarkShared(peer, tuple(aid for aid, _ in chosen)))
    return out
