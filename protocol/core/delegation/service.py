"""Which ``delegate.*`` message goes to which role (spec/delegation.md §7)."""

from __future__ import annotations

from typing import Final

from amity.protocol.core.delegation import agent, her, vendor
from amity.protocol.core.delegation.records import DelegationEffect, DelegationHost, Random
from amity.protocol.delegationmessages import (
    MSG_ACT,
    MSG_ANSWER,
    MSG_DELIVER,
    MSG_OFFER,
    MSG_REVOKE,
    TYPES,
)
from amity.protocol.envelope import Envelope
from amity.protocol.errors import WrongTypeError

__all__ = ["TYPES", "NOT_IN_INBOX", "receive"]

#: A delegated delivery carries her sealed values: like a grant.deliver, never kept in the inbox.
NOT_IN_INBOX: Final = frozenset({MSG_DELIVER})


def receive(
    host: DelegationHost, envelope: Envelope, now_ms: int, random: Random
) -> list[DelegationEffect]:
    """What a ``delegate.*`` message means, as effects for one commit; AmityError refuses it."""
    kind = envelope.type
    if kind == MSG_OFFER:
        return agent.on_offer(host, envelope, now_ms)
    if kind == MSG_ACT:
        return her.on_act(host, envelope, now_ms, random)
    if kind == MSG_ANSWER:
        return agent.on_answer(host, envelope, now_ms)
    if kind == MSG_DELIVER:
        return vendor.on_deliver(host, envelope, now_ms)
    if kind == MSG_REVOKE:
        return vendor.on_revoke(host, envelope, now_ms)
    raise WrongTypeError(f"{kind!r:.40} is not a delegation message")
