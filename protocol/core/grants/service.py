"""The grants service's messages: which types it takes, when, and what each one means.

``receive`` routes a verified ``grant.*`` envelope to the side it concerns: a request or a
receipt to the grantor's rules (:mod:`~amity.protocol.core.grants.grantor`,
:mod:`~amity.protocol.core.grants.requests`), a delivery, an update, a revocation or a holdings
query to the holder's (:mod:`~amity.protocol.core.grants.holder`). An AmityError refuses the message.
See spec/grants.md §11 and §14.
"""

from __future__ import annotations

from typing import Final

from amity.protocol.core.grants import grantor, holder, requests
from amity.protocol.core.grants.effects import Effect
from amity.protocol.core.grants.grantor import Random
from amity.protocol.core.grants.host import GrantsHost
from amity.protocol.delivery import MSG_DELIVER
from amity.protocol.envelope import Envelope
from amity.protocol.grants import MSG_REQUEST, MSG_REVOKE
from amity.protocol.receipts import MSG_HOLDINGS, MSG_RECEIPT
from amity.protocol.update import MSG_UPDATE

__all__ = ["TYPES", "AFTER_END", "NOT_IN_INBOX", "receive"]

#: Every message type of the grants service.
TYPES: Final = frozenset(
    {MSG_REQUEST, MSG_DELIVER, MSG_UPDATE, MSG_REVOKE, MSG_RECEIPT, MSG_HOLDINGS}
)
#: Taken after the relationship ended: ending makes the holder delete and send a receipt.
AFTER_END: Final = frozenset({MSG_RECEIPT})
#: A delivery's values live in the holdings only, where deletion reaches them (§8.7): the inbox
#: keeps no copy of the body; nor of an update's.
NOT_IN_INBOX: Final = frozenset({MSG_DELIVER, MSG_UPDATE})


def receive(host: GrantsHost, envelope: Envelope, now_ms: int, random: Random) -> list[Effect]:
    """What a ``grant.*`` message means, as effects for one commit; AmityError refuses it."""
    kind = envelope.type
    if kind == MSG_DELIVER:
        return holder.on_deliver(host, envelope, now_ms)
    if kind == MSG_UPDATE:
        return holder.on_update(host, envelope, now_ms)
    if kind == MSG_REVOKE:
        return holder.on_revoke(host, envelope, now_ms)
    if kind == MSG_HOLDINGS:
        return holder.on_holdings_query(host, envelope, now_ms)
    if kind == MSG_RECEIPT:
        return grantor.on_receipt(host, envelope, now_ms)
    return requests.on_request(host, envelope, now_ms, random)
