"""The pseudonymous link: what each end makes of a frame on a session run under an intent key.

Her node reaches a hub as a stranger, under the intent's own key (spec/intents.md §7.5): a fresh
Noise session per intent, on the hub's intents path, never a relationship. These are the rules
of that link, sans-IO, for both ends: which envelopes each end takes (the hub: ``intent.cast``,
``intent.withdraw`` and ``intent.sealed`` signed by the pseudonym the session proved; her node:
``intent.sealed`` and ``intent.receipt`` from the hub, to the intent key), what refuses one, and
when a frame is a duplicate to confirm again. The meaning of each envelope is the role's
(:mod:`.hub`, :mod:`.caster`); the driver carries out the answer and confirms once it is on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from amity.protocol.core.intents import caster, direct, hub
from amity.protocol.core.intents.effects import IntentEffect
from amity.protocol.core.intents.host import CasterHost, DirectHost, HubHost
from amity.protocol.envelope import Envelope, open_envelope
from amity.protocol.errors import AmityError, DuplicateError, WrongSenderError, WrongTypeError
from amity.protocol.frames import FrameKind, decode_ack, decode_refuse, split_frame
from amity.protocol.identity import PeerId
from amity.protocol.intentmessages import MSG_CAST, MSG_SEALED, MSG_WITHDRAW
from amity.protocol.replay import ReplayGuard

__all__ = [
    "FROM_PSEUDONYM",
    "Took",
    "Duplicate",
    "Refused",
    "Settled",
    "Broken",
    "LinkInput",
    "at_hub",
    "at_direct",
    "at_caster",
]

#: What a hub, or a vendor's direct endpoint, takes from a pseudonym on its intents path.
FROM_PSEUDONYM: Final = frozenset({MSG_CAST, MSG_WITHDRAW, MSG_SEALED})


@dataclass(frozen=True, slots=True)
class Took:
    """The envelope was taken: carry out ``effects`` with it in one commit, then ACK ``seq``."""

    envelope: Envelope
    effects: list[IntentEffect]


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Seen and stored before: ACK ``seq`` once what holds it is on disk."""

    seq: int


@dataclass(frozen=True, slots=True)
class Refused:
    """Signed by the other end but refused: REFUSE ``seq`` with the error's code at once."""

    seq: int
    error: AmityError


@dataclass(frozen=True, slots=True)
class Settled:
    """The other end ACKed or REFUSEd these of ours (``code``: why, for a REFUSE)."""

    seqs: tuple[int, ...]
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Broken:
    """A frame that is not an envelope we can attribute, or of a kind this link never carries:
    close the link."""

    error: AmityError


LinkInput = Took | Duplicate | Refused | Settled | Broken


def _control(kind: FrameKind, payload: bytes) -> LinkInput | None:
    if kind is FrameKind.ACK:
        return Settled(decode_ack(payload).seqs)
    if kind is FrameKind.REFUSE:
        refusal = decode_refuse(payload)
        return Settled((refusal.seq,), refusal.code)
    return None


def at_hub(
    host: HubHost, guard: ReplayGuard, pseudonym: PeerId, frame: bytes, now_ms: int
) -> LinkInput:
    """A frame on a pseudonymous link at a hub, from ``pseudonym`` (the key the session
    proved). The replay guard is the hub's own: a pseudonym's seqs are checked like a peer's."""
    return _at_endpoint(
        lambda envelope: hub.receive(host, envelope, now_ms),
        host.keyring.identity.peer_id,
        guard,
        pseudonym,
        frame,
        now_ms,
    )


def at_direct(
    host: DirectHost, guard: ReplayGuard, pseudonym: PeerId, frame: bytes, now_ms: int
) -> LinkInput:
    """A frame on a pseudonymous link at a vendor's direct endpoint (spec/intents.md §7.8):
    the same link rules as at a hub, the meaning :func:`.direct.receive`'s."""
    return _at_endpoint(
        lambda envelope: direct.receive(host, envelope, now_ms),
        host.keyring.identity.peer_id,
        guard,
        pseudonym,
        frame,
        now_ms,
    )


def _at_endpoint(
    receive: Callable[[Envelope], list[IntentEffect]],
    own: PeerId,
    guard: ReplayGuard,
    pseudonym: PeerId,
    frame: bytes,
    now_ms: int,
) -> LinkInput:
    try:
        kind, payload = split_frame(frame)
        control = _control(kind, payload)
        if control is not None:
            return control
        if kind is not FrameKind.ENVELOPE:
            raise WrongTypeError(f"a pseudonymous link carries no {kind.name} frames")
        envelope = open_envelope(payload, recipient=own, known_sender=pseudonym)
    except AmityError as exc:
        return Broken(exc)
    try:
        if envelope.sender != pseudonym:
            raise WrongSenderError("an envelope signed by another key than the session's")
        if envelope.type not in FROM_PSEUDONYM:
            raise WrongTypeError(f"no {envelope.type!r} is taken from a pseudonym")
        try:
            guard.check(envelope, now_ms)
        except DuplicateError:
            return Duplicate(envelope.seq)
        effects = receive(envelope)
    except AmityError as exc:
        return Refused(envelope.seq, exc)
    guard.record(envelope, now_ms)
    return Took(envelope, effects)


def at_caster(
    host: CasterHost,
    intent_key: PeerId,
    hub_peer: PeerId,
    last_seq: int,
    frame: bytes,
    now_ms: int,
) -> LinkInput:
    """A frame from ``hub_peer`` on her link for the intent whose key is ``intent_key``.

    The hub sends in seq order and resends from its first unacknowledged envelope on every new
    link, so a seq at or below ``last_seq`` (the highest she took or refused) is a duplicate."""
    try:
        kind, payload = split_frame(frame)
        control = _control(kind, payload)
        if control is not None:
            return control
        if kind is not FrameKind.ENVELOPE:
            raise WrongTypeError(f"a pseudonymous link carries no {kind.name} frames")
        envelope = open_envelope(payload, recipient=intent_key, known_sender=hub_peer)
    except AmityError as exc:
        return Broken(exc)
    try:
        if envelope.sender != hub_peer:
            raise WrongSenderError("an envelope signed by another key than the hub's")
        if envelope.seq <= last_seq:
            return Duplicate(envelope.seq)
        if envelope.type not in caster.TYPES:
            raise WrongTypeError(f"an intent key takes no {envelope.type!r}")
        effects = caster.receive(host, envelope, now_ms)
    except AmityError as exc:
        return Refused(envelope.seq, exc)
    return Took(envelope, effects)
