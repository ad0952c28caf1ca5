"""A hub's housekeeping: what it may forget, and when. Sans-IO: the time is passed in.

A hub keeps, besides its live intents, a *tombstone* per deleted intent (the way back, for late
receipts and late forwards) and, in its driver, state per pseudonym that reached it on the
intents path: that pseudonym's replay window and the envelopes queued to it (offers, receipts).
A pseudonym lives as long as one intent (two, at most, when she cast the same at two hubs),
so without a rule this state would grow by one entry per intent forever. The rule of
spec/intents.md §7.7: a tombstone goes once its time is over; a pseudonym is forgotten once the
hub holds no live intent and no tombstone that names it as the way back.
"""

from __future__ import annotations

from collections.abc import Iterable

from amity.protocol.core.intents.effects import DropTombstone, ForgetPseudonym, IntentEffect
from amity.protocol.core.intents.host import HubHost
from amity.protocol.identity import PeerId

__all__ = ["sweep"]


def sweep(host: HubHost, pseudonyms: Iterable[PeerId], now_ms: int) -> list[IntentEffect]:
    """What the hub forgets at ``now_ms``.

    ``pseudonyms`` are the senders the driver keeps state for that are nobody's peer (no
    relationship): the keys of intents. Returns :class:`DropTombstone` for every tombstone
    whose time is over, then :class:`ForgetPseudonym` for every pseudonym that no live intent
    and no remaining tombstone names, in a stable order.
    """
    out: list[IntentEffect] = []
    needed: set[PeerId] = {record.origin for record in host.live_intents()}
    for intent_id, origin, until_ms in host.kept_tombstones():
        if now_ms >= until_ms:
            out.append(DropTombstone(intent_id))
        else:
            needed.add(origin)
    listed = {PeerId(key) for key in host.rules.peers}
    done = sorted(set(pseudonyms) - needed - listed)
    out += [ForgetPseudonym(p) for p in done]
    return out
