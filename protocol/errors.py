"""The amity error tree: every failure the protocol core reports. See spec/errors.md.

Each class carries a stable string ``code`` that spec/errors.md lists and that negative test vectors
name. As in h11, a :class:`LocalError` means *our caller* broke the rules (a bug or misuse on this
side); a :class:`RemoteError` means *the peer* sent something we refuse, and may carry a hint of
what to answer. Decoders and verifiers raise nothing but :class:`AmityError` subclasses, whatever
the input.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

__all__ = [
    "AmityError",
    "LocalError",
    "RemoteError",
    "UsageError",
    "StateError",
    "EncodingError",
    "MalformedError",
    "NonCanonicalError",
    "TooLargeError",
    "SchemaError",
    "IdentityError",
    "BadKeyError",
    "BadDidError",
    "CertificateError",
    "CertificateSignatureError",
    "CertificateExpiredError",
    "CertificateNotYetValidError",
    "SuccessionError",
    "SuccessionSignatureError",
    "SuccessionChainError",
    "ForkError",
    "KeyRevokedError",
    "EnvelopeError",
    "UnsupportedVersionError",
    "BadSignatureError",
    "WrongRecipientError",
    "WrongSenderError",
    "WrongTypeError",
    "ReplayError",
    "DuplicateError",
    "SequenceTooOldError",
    "TimestampSkewError",
    "SealError",
    "SealDecryptError",
    "SealKeyError",
    "NoiseError",
    "NoiseDecryptError",
    "NoiseMessageError",
    "NoiseNonceExhaustedError",
    "SessionError",
    "SessionPayloadError",
    "SessionIdentityError",
    "CardError",
    "CardSignatureError",
    "CardExpiredError",
    "CardUriError",
    "RelationshipError",
    "UnknownPeerError",
    "IllegalTransitionError",
    "all_error_classes",
    "format_time_ms",
]


class AmityError(Exception):
    """Root of every error amity raises on purpose."""

    code: ClassVar[str] = "amity.error"
    #: What a peer should be told when this error is raised on its input (None: say nothing).
    hint: str | None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class LocalError(AmityError):
    """Our own caller broke a rule (wrong argument, wrong state): a bug on this side."""

    code = "local.error"


class RemoteError(AmityError):
    """Input from a peer was refused: malformed, forged, replayed, expired or out of place."""

    code = "remote.error"


class UsageError(LocalError):
    """An argument given to the core is out of range or of the wrong kind."""

    code = "local.usage"


class StateError(LocalError):
    """An operation was asked of an object in a state that does not allow it."""

    code = "local.state"


# -- encoding (spec/encoding.md) -------------------------------------------------------------------


class EncodingError(RemoteError):
    code = "encoding.error"


class MalformedError(EncodingError):
    """The bytes are not msgpack at all, or are truncated, or carry trailing bytes."""

    code = "encoding.malformed"


class NonCanonicalError(EncodingError):
    """Valid msgpack, but not the one canonical encoding of its value (or a forbidden type)."""

    code = "encoding.non_canonical"


class TooLargeError(EncodingError):
    """A message, field, array or nesting depth exceeds its limit."""

    code = "encoding.too_large"


class SchemaError(EncodingError):
    """Well-formed values of the wrong shape: wrong arity, wrong field type, bad length."""

    code = "encoding.schema"


# -- identity (spec/identity.md) -------------------------------------------------------------------


class IdentityError(RemoteError):
    code = "identity.error"


class BadKeyError(IdentityError):
    """A public key is not a usable Ed25519 / X25519 key (wrong length, low order point)."""

    code = "identity.bad_key"


class BadDidError(IdentityError):
    """A did:key string does not parse or is not an Ed25519 key."""

    code = "identity.bad_did"


class CertificateError(IdentityError):
    code = "cert.error"


class CertificateSignatureError(CertificateError):
    code = "cert.bad_signature"


class CertificateExpiredError(CertificateError):
    code = "cert.expired"


class CertificateNotYetValidError(CertificateError):
    code = "cert.not_yet_valid"


class SuccessionError(IdentityError):
    code = "succession.error"


class SuccessionSignatureError(SuccessionError):
    code = "succession.bad_signature"


class SuccessionChainError(SuccessionError):
    """A rotation statement does not continue from the key it claims to succeed."""

    code = "succession.broken_chain"


class ForkError(SuccessionError):
    """One key signed two different rotations: it is compromised; trust neither branch."""

    code = "succession.fork"


class KeyRevokedError(SuccessionError):
    """The key was declared revoked by a valid revocation statement."""

    code = "succession.revoked"


# -- envelope and replay (spec/envelope.md, spec/replay.md) ----------------------------------------


class EnvelopeError(RemoteError):
    code = "envelope.error"


class UnsupportedVersionError(RemoteError):
    """A structure names a protocol version this implementation does not speak."""

    code = "version.unsupported"


class BadSignatureError(EnvelopeError):
    code = "envelope.bad_signature"


class WrongRecipientError(EnvelopeError):
    code = "envelope.wrong_recipient"


class WrongSenderError(EnvelopeError):
    """A validly signed envelope arrived over a session with someone other than its signer."""

    code = "envelope.wrong_sender"


class WrongTypeError(EnvelopeError):
    code = "envelope.wrong_type"


class ReplayError(RemoteError):
    code = "replay.error"


class DuplicateError(ReplayError):
    code = "replay.duplicate"


class SequenceTooOldError(ReplayError):
    code = "replay.too_old"


class TimestampSkewError(ReplayError):
    """The envelope's timestamp is outside the accepted window (expired, or from the future)."""

    code = "replay.expired"


# -- sealed mail (spec/sealed.md) ------------------------------------------------------------------


class SealError(RemoteError):
    code = "seal.error"


class SealDecryptError(SealError):
    code = "seal.decrypt_failed"


class SealKeyError(SealError):
    """Sealed mail addressed to another node, or to a link key this node does not hold."""

    code = "seal.wrong_key"


# -- Noise and sessions (spec/session.md) ----------------------------------------------------------


class NoiseError(RemoteError):
    code = "noise.error"


class NoiseDecryptError(NoiseError):
    code = "noise.decrypt_failed"


class NoiseMessageError(NoiseError):
    """A handshake message has the wrong length or arrives out of turn."""

    code = "noise.bad_message"


class NoiseNonceExhaustedError(NoiseError):
    code = "noise.nonce_exhausted"


class SessionError(RemoteError):
    code = "session.error"


class SessionPayloadError(SessionError):
    code = "session.bad_payload"


class SessionIdentityError(SessionError):
    """The handshake proved a key other than the one expected, or the link key is not certified."""

    code = "session.identity_mismatch"


# -- cards and invitations (spec/card.md) ----------------------------------------------------------


class CardError(RemoteError):
    code = "card.error"


class CardSignatureError(CardError):
    code = "card.bad_signature"


class CardExpiredError(CardError):
    code = "card.expired"


class CardUriError(CardError):
    code = "card.bad_uri"


# -- relationships (spec/relationship.md) ----------------------------------------------------------


class RelationshipError(RemoteError):
    code = "relationship.error"


class UnknownPeerError(RelationshipError):
    """A message from a node we have no relationship with (and no invitation it redeems)."""

    code = "relationship.unknown_peer"


class IllegalTransitionError(RelationshipError):
    """An event that the relationship's current state does not accept."""

    code = "relationship.illegal_transition"


def all_error_classes() -> list[type[AmityError]]:
    """Every error class in the tree, root first: spec/errors.md must list each ``code``."""
    seen: list[type[AmityError]] = []
    stack: list[type[AmityError]] = [AmityError]
    while stack:
        cls = stack.pop(0)
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen


def format_time_ms(ms: int) -> str:
    """Render a protocol timestamp (ms since the Unix epoch, UTC) for error messages."""
    try:
        moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
