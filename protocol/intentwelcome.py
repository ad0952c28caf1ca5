"""The welcome: after she accepts an offer and reveals herself, the vendor invites her in.

The offer carries no address (a vendor answers many intents it never hears of again), so after
an accept *with reveal* the vendor issues a one-time invitation (relationship.md, a card with an
invite secret) and sends it back to the intent key in an ``intent.welcome`` envelope, signed by
its identity and sealed to the intent's link key like an offer: the hubs relay it unread. Her
node dials with it; the relationship, the agreement on the terms the offer countersigned, and
the grants follow as usual. See spec/intents.md §6.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from amity.protocol.card import Card
from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_bytes,
    expect_version,
)
from amity.protocol.envelope import Envelope, sign_envelope
from amity.protocol.errors import IntentSignatureError, SchemaError, UsageError
from amity.protocol.identity import SigningIdentity
from amity.protocol.intent import INTENT_ID_BYTES, Intent
from amity.protocol.intentacts import OFFER_ID_BYTES
from amity.protocol.intentoffer import MSG_OFFER, OpenedOffer, check_opened_offer
from amity.protocol.linkcert import LinkKey
from amity.protocol.sealed import open_sealed, seal

__all__ = [
    "MSG_WELCOME",
    "MAX_WELCOME_BYTES",
    "WELCOME_TTL_MS",
    "Welcome",
    "OpenedWelcome",
    "seal_welcome",
    "open_vendor_mail",
]

MSG_WELCOME: Final = "intent.welcome"
#: The whole body; the invitation inside carries no policy summary, so it fits well within.
MAX_WELCOME_BYTES: Final = 3072
#: How long the vendor's invitation in a welcome holds (she is online: she just accepted).
WELCOME_TTL_MS: Final = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Welcome:
    """``[1, intent_id bin32, offer_id bin32, invitation bin]``: the vendor's one-time
    invitation (a card with an invite secret, no policy) for the offer she accepted."""

    intent_id: bytes
    offer_id: bytes
    invitation: Card

    def __post_init__(self) -> None:
        if len(self.intent_id) != INTENT_ID_BYTES or len(self.offer_id) != OFFER_ID_BYTES:
            raise UsageError("a welcome names a 32-byte intent id and a 32-byte offer id")
        if not self.invitation.is_invitation:
            raise UsageError("a welcome carries an invitation: a card with an invite secret")
        if self.invitation.policy is not None:
            raise UsageError("the invitation in a welcome carries no policy summary")

    def encode(self) -> bytes:
        data = encode([1, self.intent_id, self.offer_id, self.invitation.encoded])
        if len(data) > MAX_WELCOME_BYTES:
            raise UsageError(f"a welcome is at most {MAX_WELCOME_BYTES} bytes, not {len(data)}")
        return data

    @classmethod
    def decode(cls, data: bytes) -> Welcome:
        """Read a welcome body; the card inside is checked as card.md says (its signature and
        link certificate), not yet against the clock or the offer (see open_vendor_mail)."""
        what = "intent.welcome body"
        fields = expect_array(decode(data, max_bytes=MAX_WELCOME_BYTES), what)
        expect_version(fields, 1, what)
        f: list[Value] = expect_array(fields, what, arity=4)
        card = Card.decode(expect_bytes(f[3], f"{what} invitation"))
        if not card.is_invitation:
            raise SchemaError("the card in a welcome is not an invitation (no invite secret)")
        if card.policy is not None:
            raise SchemaError("the invitation in a welcome carries a policy summary")
        return cls(
            expect_bytes(f[1], f"{what} intent id", size=INTENT_ID_BYTES),
            expect_bytes(f[2], f"{what} offer id", size=OFFER_ID_BYTES),
            card,
        )


@dataclass(frozen=True, slots=True)
class OpenedWelcome:
    welcome: Welcome
    envelope: Envelope


def seal_welcome(
    vendor: SigningIdentity,
    welcome: Welcome,
    intent: Intent,
    *,
    seq: int,
    ts_ms: int,
    nonce: bytes,
    ephemeral_private: bytes,
) -> bytes:
    """Sign ``welcome`` into an ``intent.welcome`` envelope to the intent key and seal it to the
    intent's link key."""
    if welcome.invitation.peer_id != vendor.peer_id or welcome.intent_id != intent.intent_id:
        raise UsageError("a welcome carries the vendor's own invitation, for this intent")
    envelope = sign_envelope(
        vendor,
        type=MSG_WELCOME,
        recipient=intent.intent_key,
        seq=seq,
        ts_ms=ts_ms,
        nonce=nonce,
        body=welcome.encode(),
    )
    return seal(
        envelope,
        recipient=intent.intent_key,
        link_public=intent.link_public,
        ephemeral_private=ephemeral_private,
    )


def open_vendor_mail(
    sealed: bytes, intent: Intent, link_key: LinkKey, now_ms: int
) -> OpenedOffer | OpenedWelcome:
    """Open sealed mail from a vendor to ``intent``: an offer (every stateless check of §5) or a
    welcome (its card is the sender's, an invitation, valid now, for this intent)."""
    envelope = open_sealed(
        sealed,
        recipient=intent.intent_key,
        link_key=link_key,
        types=frozenset({MSG_OFFER, MSG_WELCOME}),
    )
    if envelope.type == MSG_OFFER:
        return check_opened_offer(envelope, intent, now_ms)
    welcome = Welcome.decode(envelope.body)
    if welcome.invitation.peer_id != envelope.sender:
        raise IntentSignatureError(
            f"a welcome from {envelope.sender.short} carries "
            f"{welcome.invitation.peer_id.short}'s card"
        )
    if welcome.intent_id != intent.intent_id:
        raise SchemaError("the welcome names another intent than the one it was sealed to")
    welcome.invitation.check_valid(now_ms)
    return OpenedWelcome(welcome, envelope)
