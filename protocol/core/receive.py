"""What a node does with what it receives: frames on a live link, relayed mail, posted mail.

Every envelope goes the same way (spec/link.md §2): opened and verified, checked against the
replay guard, dispatched to the relationship machine and, for a service's type, to that service;
then stored with everything it changed in one commit, and only then confirmed. One that the
relationship or a service refuses is refused at once, with the error's code, so its sender stops
resending it; a duplicate changes nothing and is confirmed again once the commit that holds it
is on disk. The replay guard changes in memory at once, so the next message (maybe in the same
batch) sees it.
"""

from __future__ import annotations

from dataclasses import replace

from amity.protocol.core.commands import REASON_WITHDRAWN
from amity.protocol.core.effects import (
    Accepted,
    Confirm,
    DepositAnswered,
    DepositAsked,
    DialOnce,
    Duplicate,
    Effect,
    MailAcked,
    Publish,
    Refuse,
    RefusedByPeer,
    Rejected,
    Settled,
)
from amity.protocol.core.host import Host
from amity.protocol.core.tickets import keep_ticket, ticket_for
from amity.protocol.envelope import Envelope, open_envelope
from amity.protocol.errors import (
    AmityError,
    DuplicateError,
    InvitationSpentError,
    SealKeyError,
    UnknownPeerError,
    WrongSenderError,
    WrongTypeError,
)
from amity.protocol.frames import (
    MAX_ACK_SEQS,
    FrameKind,
    Mail,
    decode_ack,
    decode_deposit,
    decode_deposited,
    decode_mail,
    decode_mail_ack,
    decode_refuse,
    encode_ack,
    split_frame,
)
from amity.protocol.identity import PeerId
from amity.protocol.notes import MSG_NOTE, decode_note
from amity.protocol.relationship import (
    Effect as RelationshipEffect,
)
from amity.protocol.relationship import (
    HandshakeCompleted,
    HelloReceived,
    MessageSeen,
    PeerEnded,
    Relationship,
    RelationshipState,
    step,
)
from amity.protocol.relmessages import MSG_END, MSG_HELLO, decode_end, decode_hello
from amity.protocol.sealed import open_sealed, peek_sealed

__all__ = [
    "on_frame",
    "on_mail",
    "open_posted",
    "receive",
    "dispatch",
    "ack_frames",
]


def on_frame(host: Host, peer: PeerId, frame: bytes, now_ms: int) -> list[Effect]:
    """A frame from ``peer`` (proven by the link's handshake) on a live link."""
    try:
        kind, payload = split_frame(frame)
        if kind is FrameKind.ENVELOPE:
            return _on_envelope(host, peer, payload, now_ms)
        if kind is FrameKind.ACK:
            return [Settled(peer, decode_ack(payload).seqs)]
        if kind is FrameKind.REFUSE:
            refusal = decode_refuse(payload)
            return [Settled(peer, (refusal.seq,)), RefusedByPeer(peer, refusal.seq, refusal.code)]
        if kind is FrameKind.MAIL:
            return on_mail(host, peer, decode_mail(payload), now_ms)
        if kind is FrameKind.DEPOSIT:
            return [DepositAsked(peer, decode_deposit(payload))]
        if kind is FrameKind.DEPOSITED:
            answer = decode_deposited(payload)
            return [DepositAnswered(peer, answer.deposit_id, answer.code)]
        return [MailAcked(peer, decode_mail_ack(payload))]  # the last kind split_frame knows
    except AmityError as exc:
        return [Rejected(peer, exc)]


def _on_envelope(host: Host, peer: PeerId, data: bytes, now_ms: int) -> list[Effect]:
    envelope = open_envelope(data, recipient=host.peer_id, known_sender=peer)
    if envelope.sender != peer:
        raise WrongSenderError(f"{peer.short} forwarded a message signed by someone else")
    if envelope.type not in host.accepted_types:
        # Signed by the peer, so tell it: it stops resending (spec/link.md §3).
        unknown = WrongTypeError(f"this node does not handle {envelope.type!r} messages")
        return [Refuse(envelope.seq, unknown), Rejected(peer, unknown)]
    return receive(host, envelope, now_ms, direct=True, via=peer)


def on_mail(host: Host, relay: PeerId, mail: Mail, now_ms: int) -> list[Effect]:
    """Sealed mail ``relay`` held for us: taken as if its signer had sent it, but no stranger's
    hello; answered (MAIL_ACK) once stored, duplicate or refused, and unreadable mail at once
    (or it would hold a slot of the relay's window). Then one short dial to the signer lets its
    outbox resend, and our ACKs clear it. See spec/relay.md §3."""
    try:
        header = peek_sealed(mail.sealed)
        key = host.keyring.find_link_key(header.link_public, now_ms)
        if header.recipient != host.peer_id or key is None:
            raise SealKeyError(f"mail from relay {relay.short} is not for any key we hold")
        envelope = open_sealed(
            mail.sealed, recipient=host.peer_id, link_key=key, types=host.accepted_types
        )
    except AmityError as exc:
        return [Refuse(0, exc, mail.mail_id), Rejected(relay, exc)]
    sender = host.known_peer(envelope.sender)
    if sender is not envelope.sender:
        envelope = replace(envelope, sender=sender)
    effects = [
        replace(effect, mail_id=mail.mail_id) if isinstance(effect, Confirm | Refuse) else effect
        for effect in receive(host, envelope, now_ms, direct=False, via=relay)
    ]
    if not isinstance(effects[0], Refuse):
        effects.append(DialOnce(envelope.sender))
    return effects


def open_posted(host: Host, sealed: bytes, now_ms: int) -> Envelope:
    """Open sealed mail posted to our inbox (raises the AmityError that refuses it)."""
    header = peek_sealed(sealed)
    key = host.keyring.find_link_key(header.link_public, now_ms)
    if header.recipient != host.peer_id or key is None:
        raise SealKeyError("sealed mail is not for any link key this node holds")
    return open_sealed(sealed, recipient=host.peer_id, link_key=key, types=host.accepted_types)


def receive(
    host: Host, envelope: Envelope, now_ms: int, *, direct: bool, via: PeerId
) -> list[Effect]:
    """A verified envelope: the replay guard, then what it means; ``direct`` if it came over a
    live session from its signer (only then may a stranger's hello redeem an invitation), and
    ``via`` the peer that brought it (the signer, or the relay)."""
    try:
        host.guard.check(envelope, now_ms)
    except DuplicateError:
        # Stored before (or staged in the batch now being committed): confirm after it.
        return [Duplicate(envelope), Confirm(envelope.seq)]
    try:
        before = host.relationship(envelope.sender) if envelope.type == MSG_HELLO else None
        rel, effects, tickets = dispatch(host, envelope, now_ms, direct=direct)
        answer = _service_answer(host, envelope, rel, now_ms)
        if before is not None and _policy_moved(before, rel):
            assert before.peer_card is not None
            answer = host.peer_policy_changed(before.peer_card, rel, now_ms)
    except AmityError as exc:
        return [Refuse(envelope.seq, exc), Rejected(via, exc)]
    host.guard.record(envelope, now_ms)
    keep = host.keeps_body(envelope.type)
    out: list[Effect] = [*tickets, Accepted(envelope, rel, effects, answer, keep, direct)]
    out.append(Confirm(envelope.seq))
    if envelope.type == MSG_NOTE:
        out.append(Publish("message", envelope.sender, envelope.seq, envelope.type))
    return out


def _policy_moved(before: Relationship, after: Relationship) -> bool:
    """A hello on a connected relationship changed the policy the peer publishes."""
    return (
        before.state is RelationshipState.CONNECTED
        and before.peer_card is not None
        and after.peer_card is not None
        and before.peer_card.policy != after.peer_card.policy
    )


def dispatch(
    host: Host, envelope: Envelope, now_ms: int, *, direct: bool
) -> tuple[Relationship, list[RelationshipEffect], list[Effect]]:
    """The relationship event ``envelope`` means; raises if the relationship refuses it.

    Returns the relationship after it, its effects, and what to do with a hello's ticket.
    """
    sender = envelope.sender
    rel = host.relationship(sender)
    if envelope.type == MSG_HELLO:
        hello = decode_hello(envelope.body, host.read_card)
        if rel is None or rel.state is RelationshipState.ENDED:
            # A stranger: only an invitation we issued, redeemed by its secret over a live
            # session, lets it in.
            secret = hello.invite_secret
            rel = host.by_secret(secret) if secret is not None else None
            spent = _spent(rel, sender) if rel is not None and direct else None
            if spent is not None:
                raise InvitationSpentError(
                    f"{sender.short} holds an invitation that {spent}; it must ask for a new one"
                )
            if rel is None or not direct:
                raise UnknownPeerError(
                    f"{sender.short} is not a peer of ours and has no valid invitation"
                )
            ticket = ticket_for(host, sender, now_ms)
            rel, first = step(rel, HandshakeCompleted(sender, host.card(), ticket), now_ms)
            rel, second = step(rel, HelloReceived(hello.card, secret), now_ms)
            kept = keep_ticket(host, sender, hello.deposit_ticket, now_ms)
            return rel, [*first, *second], kept
        rel, effects = step(rel, HelloReceived(hello.card, hello.invite_secret), now_ms)
        return rel, effects, keep_ticket(host, sender, hello.deposit_ticket, now_ms)
    if rel is None:
        raise UnknownPeerError(f"{sender.short} is not a peer of ours")
    service = host.service(envelope.type)
    if (
        rel.state is RelationshipState.ENDED
        and service is not None
        and envelope.type in service.after_end
    ):
        return rel, [], []  # e.g. a deletion receipt that the end itself caused
    if envelope.type == MSG_END:
        rel, effects = step(rel, PeerEnded(decode_end(envelope.body).reason), now_ms)
        return rel, effects, []
    if envelope.type == MSG_NOTE:
        decode_note(envelope.body)
    rel, effects = step(rel, MessageSeen(envelope.type), now_ms)
    return rel, effects, []


def _spent(rel: Relationship, sender: PeerId) -> str | None:
    """Why the invitation ``rel`` stands for can no longer be redeemed by ``sender`` (or None)."""
    if rel.state is RelationshipState.INVITED or rel.peer == sender:
        return None
    if rel.peer is not None:
        return "someone already used"
    return "was withdrawn" if rel.ended_reason == REASON_WITHDRAWN else "has expired"


def _service_answer(host: Host, envelope: Envelope, rel: Relationship, now_ms: int) -> object:
    """A service's answer to ``envelope`` (None for the relationship's own types)."""
    service = host.service(envelope.type)
    if service is None:
        return None
    ended = rel.state is RelationshipState.ENDED
    if rel.state is not RelationshipState.CONNECTED and not (
        ended and envelope.type in service.after_end
    ):
        raise UnknownPeerError(
            f"{envelope.type} needs a connected relationship; it is {rel.state.value}"
        )
    return service.receive(envelope, rel, now_ms)


def ack_frames(seqs: list[int]) -> list[bytes]:
    """The ACK frames for the envelopes one commit stored from one link: as few as fit."""
    return [encode_ack(seqs[i : i + MAX_ACK_SEQS]) for i in range(0, len(seqs), MAX_ACK_SEQS)]
