"""Peer cards and invitations: who a node is and how to reach it, signed by its identity key.

A card carries the identity key, a link-key certificate, the node's kind and name, endpoints,
the relays that hold its mail, an expiry, for an invitation a one-time secret and, for a vendor,
the summary of the policy it answers offers with. Rendered as an ``amity:`` URI (base32, so a QR
code can use its compact alphanumeric mode) and parsed back with full validation. See
spec/card.md.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from amity.protocol.encoding import (
    Value,
    expect_array,
    expect_bytes,
    expect_int,
    expect_optional_bytes,
    expect_str,
)
from amity.protocol.errors import (
    CardExpiredError,
    CardSignatureError,
    CardUriError,
    EncodingError,
    SchemaError,
    SessionIdentityError,
    TermsError,
    UnknownVocabularyError,
    UnsupportedVersionError,
    UsageError,
    format_time_ms,
)
from amity.protocol.identity import PEER_ID_BYTES, PeerId, SigningIdentity
from amity.protocol.linkcert import MAX_LINKCERT_BYTES, LinkCert
from amity.protocol.signed import sign_structure, split_signed_any_arity

if TYPE_CHECKING:
    from amity.protocol.policy import Policy

__all__ = [
    "CARD_DOMAIN",
    "CARD_VERSION",
    "INVITE_SECRET_BYTES",
    "MAX_CARD_BYTES",
    "MAX_ENDPOINTS",
    "MAX_RELAYS",
    "MAX_NAME_BYTES",
    "MAX_POLICY_BYTES",
    "URI_SCHEME",
    "NodeKind",
    "Relay",
    "Card",
]

CARD_DOMAIN: Final = b"amity/card/v1\x00"
CARD_VERSION: Final = 1
INVITE_SECRET_BYTES: Final = 16
#: Room for every field at its limit, a full policy summary included (spec/card.md §1).
MAX_CARD_BYTES: Final = 6144
MAX_ENDPOINTS: Final = 8
MAX_RELAYS: Final = 4
MAX_NAME_BYTES: Final = 64
MAX_ENDPOINT_BYTES: Final = 256
#: The largest policy summary a card carries (a summary alone may be larger: spec/terms.md §5.3).
MAX_POLICY_BYTES: Final = 2048
#: Longer than the URI of the largest card (6 + 9831 characters) with its padding.
MAX_URI_CHARS: Final = 10240
URI_SCHEME: Final = "amity:"
_ARITY: Final = 11
#: A URL with a scheme; no spaces or control characters. The transport decides which it can dial.
_ENDPOINT: Final = re.compile(r"[a-z][a-z0-9+.-]*://[\x21-\x7e]+")
#: Text without C0/C1 control characters (a name is shown to people, often in a terminal);
#: empty means "no name".
_NAME: Final = re.compile(r"[^\x00-\x1f\x7f-\x9f]*")


class NodeKind(enum.Enum):
    """What a node is for; a vendor's node answers differently from a person's."""

    PERSON = "person"
    VENDOR = "vendor"
    RELAY = "relay"


@dataclass(frozen=True, slots=True)
class Relay:
    """A relay that holds sealed mail for the card's owner: its identity and where to reach it."""

    peer_id: PeerId
    endpoint: str


@dataclass(frozen=True, slots=True)
class Card:
    """A verified peer card. ``encoded`` holds the exact signed bytes it was read from."""

    peer_id: PeerId
    link_cert: LinkCert
    kind: NodeKind
    name: str
    endpoints: tuple[str, ...]
    relays: tuple[Relay, ...]
    issued_ms: int
    not_after_ms: int
    invite_secret: bytes | None
    #: A vendor's canonical policy summary, as signed; :meth:`policy_summary` reads it.
    policy: bytes | None
    encoded: bytes

    @classmethod
    def issue(
        cls,
        identity: SigningIdentity,
        *,
        link_cert: LinkCert,
        kind: NodeKind,
        name: str,
        endpoints: tuple[str, ...] | list[str] = (),
        relays: tuple[Relay, ...] | list[Relay] = (),
        issued_ms: int,
        not_after_ms: int,
        invite_secret: bytes | None = None,
        policy: bytes | None = None,
    ) -> Card:
        """Sign a card for ``identity``; ``invite_secret`` makes it a one-time invitation.

        ``policy`` publishes what the owner welcomes: the bytes of
        :func:`~amity.protocol.policy.policy_summary`, at most ``MAX_POLICY_BYTES``.
        """
        if link_cert.issuer != identity.peer_id:
            raise UsageError("the link certificate must be issued by the card's own identity")
        if invite_secret is not None and len(invite_secret) != INVITE_SECRET_BYTES:
            raise UsageError(f"an invitation secret is {INVITE_SECRET_BYTES} random bytes")
        if not 0 <= issued_ms < not_after_ms:
            raise UsageError("a card needs 0 <= issued_ms < not_after_ms")
        if policy is not None and len(policy) > MAX_POLICY_BYTES:
            raise UsageError(
                f"a policy summary of {len(policy)} bytes does not fit a card (at most "
                f"{MAX_POLICY_BYTES}); shorten the rules' reasons or name fewer clauses"
            )
        fields: list[Value] = [
            CARD_VERSION,
            identity.peer_id.key,
            link_cert.encoded,
            kind.value,
            name,
            list(endpoints),
            [[relay.peer_id.key, relay.endpoint] for relay in relays],
            issued_ms,
            not_after_ms,
            invite_secret,
            policy,
        ]
        encoded = sign_structure(fields, CARD_DOMAIN, identity)
        try:
            card = cls._read(encoded, issued_with=link_cert)
            card.policy_summary()  # a reader may accept a newer summary; we never publish one
            return card
        except EncodingError as exc:  # a name or endpoint that our own decoder refuses
            raise UsageError(f"cannot issue this card: {exc}") from None
        except (TermsError, UnsupportedVersionError) as exc:  # from the policy summary only
            raise UsageError(
                f"cannot issue this card: its policy is not a valid summary ({exc}); make it "
                "with policy_summary()"
            ) from None

    @classmethod
    def decode(cls, data: bytes) -> Card:
        """Parse and verify a card's signatures (expiry is separate: :meth:`check_valid`)."""
        return cls._read(data, issued_with=None)

    @classmethod
    def _read(cls, data: bytes, *, issued_with: LinkCert | None) -> Card:
        """:meth:`decode`; from :meth:`issue`, ``issued_with`` is the verified certificate it put
        in the card, and neither the card's signature, made a moment ago, nor the certificate's
        is checked again. Every other check runs: it is what :meth:`issue` relies on."""
        # The version is read before the arity (a later version may have other fields), and
        # ``true == 1`` in Python, so bool is refused by type. See spec/card.md §4.
        parts = split_signed_any_arity(data, "card", max_bytes=MAX_CARD_BYTES)
        version = parts.fields[0] if parts.fields else None
        if isinstance(version, bool) or version != CARD_VERSION:
            raise UnsupportedVersionError(
                f"card version {version!r}; this node speaks {CARD_VERSION}",
                hint="version.unsupported",
            )
        f = expect_array(parts.fields, "card", arity=_ARITY)
        peer_id = PeerId(expect_bytes(f[1], "card id", size=PEER_ID_BYTES))
        cert_bytes = expect_bytes(f[2], "card link certificate", max_size=MAX_LINKCERT_BYTES)
        kind_text = expect_str(f[3], "card kind", max_bytes=16)
        try:
            kind = NodeKind(kind_text)
        except ValueError:
            raise SchemaError(f"card kind {kind_text!r} is not person, vendor or relay") from None
        name = expect_str(f[4], "card name", max_bytes=MAX_NAME_BYTES, pattern=_NAME)
        endpoints = tuple(
            expect_str(e, "card endpoint", max_bytes=MAX_ENDPOINT_BYTES, pattern=_ENDPOINT)
            for e in expect_array(f[5], "card endpoints", max_len=MAX_ENDPOINTS)
        )
        relays = tuple(
            _decode_relay(r) for r in expect_array(f[6], "card relays", max_len=MAX_RELAYS)
        )
        issued_ms = expect_int(f[7], "card issued_ms")
        not_after_ms = expect_int(f[8], "card not_after_ms")
        secret = expect_optional_bytes(f[9], "card invite secret", size=INVITE_SECRET_BYTES)
        policy = (
            None if f[10] is None else expect_bytes(f[10], "card policy", max_size=MAX_POLICY_BYTES)
        )
        if issued_ms >= not_after_ms:
            raise SchemaError(
                f"card is never valid: issued_ms {issued_ms} is not before not_after_ms "
                f"{not_after_ms}"
            )
        if issued_with is None:
            parts.verify(peer_id, CARD_DOMAIN, error=CardSignatureError, what="card signature")
            link_cert = LinkCert.decode(cert_bytes)
        else:
            link_cert = issued_with
        if link_cert.issuer != peer_id:
            raise SessionIdentityError("the card's link certificate was issued by another key")
        if policy is not None:
            # A summary newer than this node leaves the card standing; only reading it fails (§4).
            with contextlib.suppress(UnknownVocabularyError, UnsupportedVersionError):
                _read_policy(policy)
        return cls(
            peer_id=peer_id,
            link_cert=link_cert,
            kind=kind,
            name=name,
            endpoints=endpoints,
            relays=relays,
            issued_ms=issued_ms,
            not_after_ms=not_after_ms,
            invite_secret=secret,
            policy=policy,
            encoded=bytes(data),
        )

    def check_valid(self, now_ms: int) -> None:
        """Raise unless the card and its link certificate are valid at ``now_ms``."""
        if now_ms >= self.not_after_ms:
            raise CardExpiredError(
                f"peer card of {self.name!r} ({self.peer_id.short}) expired at "
                f"{format_time_ms(self.not_after_ms)}; ask for a new invitation"
            )
        self.link_cert.check_valid(now_ms)

    @property
    def is_invitation(self) -> bool:
        return self.invite_secret is not None

    def policy_summary(self) -> Policy | None:
        """The policy the owner published (decoded again from :attr:`policy`), or None.

        A summary in a vocabulary or format this node does not know yet raises that error
        (``terms.unknown_vocabulary``, ``version.unsupported``): the card itself is valid, but
        nothing may be shown or decided from a policy read only in part (spec/card.md §4).
        """
        return None if self.policy is None else _read_policy(self.policy)

    def to_uri(self) -> str:
        """``amity:`` + unpadded upper-case base32 of the card bytes (QR alphanumeric friendly)."""
        return URI_SCHEME + base64.b32encode(self.encoded).decode("ascii").rstrip("=")

    @classmethod
    def from_uri(cls, uri: str) -> Card:
        """Parse an ``amity:`` URI (scheme and base32 case-insensitive, whitespace ignored)."""
        if not isinstance(uri, str):
            raise CardUriError("an amity URI is text")
        text = "".join(uri.split())
        if len(text) > MAX_URI_CHARS:
            raise CardUriError(f"URI of {len(text)} characters is longer than any card")
        if text[: len(URI_SCHEME)].lower() != URI_SCHEME:
            raise CardUriError(f"expected a URI starting with {URI_SCHEME!r}, got {text[:12]!r}…")
        body = text[len(URI_SCHEME) :].upper()
        try:
            data = base64.b32decode(body + "=" * (-len(body) % 8))
            return cls.decode(data)
        except (binascii.Error, ValueError, EncodingError):
            # The person needs what to do, not which byte failed (base32 or msgpack).
            raise CardUriError(_DAMAGED) from None


#: What a damaged or truncated ``amity:`` link is called, whatever part of its decoding failed.
_DAMAGED: Final = (
    "this invitation link is damaged or incomplete: copy all of it again, or scan its QR code"
)


def _read_policy(data: bytes) -> Policy:
    # Imported here, not at the top: policy.py takes its reason limits from relmessages.py,
    # which imports this module.
    from amity.protocol.policy import decode_policy_summary

    return decode_policy_summary(data)


def _decode_relay(value: Value) -> Relay:
    key, endpoint = expect_array(value, "card relay", arity=2)
    return Relay(
        PeerId(expect_bytes(key, "card relay id", size=PEER_ID_BYTES)),
        expect_str(
            endpoint, "card relay endpoint", max_bytes=MAX_ENDPOINT_BYTES, pattern=_ENDPOINT
        ),
    )
