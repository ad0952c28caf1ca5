"""What ``reputation.*`` messages mean: a share kept, a query answered, a rebuttal attached.

Each function takes a verified envelope from a connected peer and returns the effects to stage
in the commit that stores it, or raises the :class:`~amity.protocol.errors.AmityError` that
refuses it (the sender is told). See spec/reputation.md §6.3-§6.4 and §7.
"""

from __future__ import annotations

from amity.protocol.core.reputation.effects import (
    Answer,
    KeepRebuttal,
    KeepReceived,
    MarkShared,
    ReputationEffect,
)
from amity.protocol.core.reputation.host import ReputationHost
from amity.protocol.core.reputation.selection import choose, room
from amity.protocol.envelope import Envelope
from amity.protocol.errors import RebuttalMismatchError, UnknownAttestationError
from amity.protocol.identity import PeerId
from amity.protocol.reputationmessages import (
    MSG_QUERY,
    MSG_SHARE,
    decode_query,
    decode_rebut,
    decode_share,
    encode_share,
    pack_items,
)
from amity.protocol.sharing import HOUR_MS, accept_share

__all__ = ["receive", "on_share", "on_query", "on_rebut", "answer_query"]


def receive(host: ReputationHost, envelope: Envelope, now_ms: int) -> list[ReputationEffect]:
    """What one ``reputation.*`` envelope means (the service's ``receive``)."""
    if envelope.type == MSG_SHARE:
        return on_share(host, envelope, now_ms)
    if envelope.type == MSG_QUERY:
        return on_query(host, envelope, now_ms)
    return on_rebut(host, envelope, now_ms)


def on_share(host: ReputationHost, envelope: Envelope, now_ms: int) -> list[ReputationEffect]:
    """Every item verified (§6.4), the quota per sender; kept with the message."""
    share = decode_share(envelope.body)
    sender = envelope.sender
    accepted = accept_share(
        share,
        owner=host.peer_id,
        now_ms=now_ms,
        held_from_sender=host.held_from(sender),
        max_from_sender=host.policy.max_received_per_peer,
        read=host.read_item,
    )
    return [KeepReceived(sender, accepted.items, accepted.expired, share.query_id)]


def on_query(host: ReputationHost, envelope: Envelope, now_ms: int) -> list[ReputationEffect]:
    """A query is answered at once with one share (§6.3)."""
    query_id, subject = decode_query(envelope.body)
    return answer_query(host, envelope.sender, query_id, subject, now_ms)


def answer_query(
    host: ReputationHost, asker: PeerId, query_id: bytes, subject: PeerId, now_ms: int
) -> list[ReputationEffect]:
    """One ``reputation.share`` with ``query_id``: what ``asker``'s share policy allows about
    ``subject`` (sent before or not), counted against its hourly rate; empty for ``none``."""
    policy = host.share_policy(asker)
    space = room(policy, host.shared_since(asker, now_ms - HOUR_MS))
    chosen = choose(
        host.about(subject), policy, asker.key, now_ms, space=space, rebuttals=host.rebuttals
    )
    batches = pack_items(item for _, item in chosen)
    first = batches[0] if batches else []
    ids = tuple(aid for aid, _ in chosen[: len(first)])
    marked: list[ReputationEffect] = [MarkShared(asker, ids)] if ids else []
    return [*marked, Answer(asker, MSG_SHARE, encode_share(first, query_id))]


def on_rebut(host: ReputationHost, envelope: Envelope, now_ms: int) -> list[ReputationEffect]:
    """A rebuttal from the attestation's subject, about one we hold (§7.3)."""
    attestation, rebuttal = decode_rebut(envelope.body)
    if rebuttal.rebutter != envelope.sender:
        raise RebuttalMismatchError(
            "a rebuttal travels from the attestation's subject itself; this one was sent by "
            "someone else",
            hint=RebuttalMismatchError.code,
        )
    aid = attestation.attestation_id
    if not host.holds(aid):
        raise UnknownAttestationError(
            f"this node holds no attestation {aid.hex()[:16]}…; nothing to attach it to",
            hint=UnknownAttestationError.code,
        )
    return [KeepRebuttal(aid, rebuttal, envelope.sender)]
