"""The offer: a vendor's answer to an intent, countersigning her terms, sealed to the intent.

Signed by the vendor's real identity, it names the intent and the id of the terms the intent
requires (the countersign), a price, terms of sale, availability and validity, and carries the
vendor's link certificate so that her accept can be sealed to the vendor alone. It travels as
an ``intent.offer`` envelope to the intent key, sealed to the intent's link key, so a hub relays
it without reading it. See spec/intents.md §5.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.encoding import Value, expect_bytes, expect_int, expect_str
from amity.protocol.envelope import Envelope, sign_envelope
from amity.protocol.errors import (
    IntentConstraintError,
    IntentExpiredError,
    IntentSignatureError,
    SchemaError,
    TermsNotCountersignedError,
    UnknownIntentError,
    UsageError,
    format_time_ms,
)
from amity.protocol.grants import expect_peer, read_signed
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.intent import INTENT_ID_BYTES, MAX_QUANTITY, MAX_TIME_MS, Intent
from amity.protocol.linkcert import MAX_LINKCERT_BYTES, LinkCert, LinkKey
from amity.protocol.money import Money, read_money
from amity.protocol.sealed import open_sealed, seal
from amity.protocol.signed import sign_structure
from amity.protocol.terms import TERMS_ID_BYTES, TEXT_PATTERN

__all__ = [
    "MSG_OFFER",
    "OFFER_DOMAIN",
    "OFFER_ID_DOMAIN",
    "MAX_OFFER_BYTES",
    "MAX_SALE_TERMS_BYTES",
    "Offer",
    "OpenedOffer",
    "seal_offer",
    "open_offer",
    "check_opened_offer",
]

MSG_OFFER: Final = "intent.offer"
OFFER_DOMAIN: Final = b"amity/intent-offer/v1\x00"
OFFER_ID_DOMAIN: Final = b"amity/intent-offer-id/v1\x00"
MAX_SALE_TERMS_BYTES: Final = 2000
MAX_OFFER_BYTES: Final = 3072
_ARITY: Final = 11


@dataclass(frozen=True, slots=True)
class Offer:
    """A verified offer by ``vendor`` for intent ``intent_id``, countersigning ``terms_id``."""

    vendor: PeerId
    intent_id: bytes
    terms_id: bytes
    price: Money
    quantity: int
    terms_of_sale: str
    available_ms: int
    valid_until_ms: int
    offered_ms: int
    link_cert: LinkCert
    offer_id: bytes
    encoded: bytes = field(repr=False)

    @classmethod
    def create(
        cls,
        vendor: SigningIdentity,
        intent: Intent,
        *,
        price: Money,
        terms_of_sale: str,
        available_ms: int,
        valid_until_ms: int,
        offered_ms: int,
        link_cert: LinkCert,
        quantity: int | None = None,
    ) -> Offer:
        """Sign an offer for ``intent`` that countersigns the terms it requires."""
        if not isinstance(intent, Intent) or not isinstance(price, Money):
            raise UsageError("an offer answers an Intent with a Money price")
        if not isinstance(link_cert, LinkCert) or link_cert.issuer != vendor.peer_id:
            raise UsageError("an offer carries the vendor's own link certificate")
        fields: list[Value] = [
            1,
            vendor.peer_id.key,
            intent.intent_id,
            intent.terms_id,
            price.to_wire(),
            intent.constraints.quantity if quantity is None else quantity,
            terms_of_sale,
            available_ms,
            valid_until_ms,
            offered_ms,
            link_cert.encoded,
        ]
        data = sign_structure(fields, OFFER_DOMAIN, vendor)
        try:
            return cls.decode(data)
        except (SchemaError, IntentConstraintError) as exc:
            raise UsageError(f"that offer would be refused ({exc.code}): {exc.message}") from None

    @classmethod
    def decode(cls, data: bytes) -> Offer:
        """Read and verify an offer (signature and link certificate's signature); spec §5."""
        parts = read_signed(data, "offer", arity=_ARITY, max_bytes=MAX_OFFER_BYTES)
        f = parts.fields
        vendor = expect_peer(f[1], "offer vendor")
        intent_id = expect_bytes(f[2], "offer intent id", size=INTENT_ID_BYTES)
        terms_id = expect_bytes(f[3], "offer terms id", size=TERMS_ID_BYTES)
        price = read_money(f[4], "offer price")
        quantity = expect_int(f[5], "offer quantity", lo=1, hi=MAX_QUANTITY)
        sale = expect_str(
            f[6], "offer terms of sale", max_bytes=MAX_SALE_TERMS_BYTES, pattern=TEXT_PATTERN
        )
        available_ms = expect_int(f[7], "offer available_ms", hi=MAX_TIME_MS)
        valid_until_ms = expect_int(f[8], "offer valid_until_ms", hi=MAX_TIME_MS)
        offered_ms = expect_int(f[9], "offer offered_ms", hi=MAX_TIME_MS)
        if offered_ms >= valid_until_ms:
            raise SchemaError("an offer is valid until a time after it was made")
        cert_bytes = expect_bytes(f[10], "offer link certificate", max_size=MAX_LINKCERT_BYTES)
        parts.verify(vendor, OFFER_DOMAIN, error=IntentSignatureError, what="offer")
        cert = LinkCert.decode(cert_bytes)
        if cert.issuer != vendor:
            raise IntentSignatureError(
                f"offer by {vendor.short} carries the link certificate of {cert.issuer.short}"
            )
        offer_id = hashlib.sha256(OFFER_ID_DOMAIN + parts.signed_bytes).digest()
        return cls(
            vendor,
            intent_id,
            terms_id,
            price,
            quantity,
            sale,
            available_ms,
            valid_until_ms,
            offered_ms,
            cert,
            offer_id,
            bytes(data),
        )

    def check_for(self, intent: Intent, now_ms: int) -> None:
        """The checks of spec/intents.md §5 that need the intent and the time, in order."""
        if self.intent_id != intent.intent_id:
            raise UnknownIntentError(
                f"offer by {self.vendor.short} answers intent {self.intent_id.hex()[:8]}, "
                f"not {intent.intent_id.hex()[:8]}"
            )
        if self.terms_id != intent.terms_id:
            raise TermsNotCountersignedError(
                f"offer by {self.vendor.short} countersigns terms {self.terms_id.hex()[:8]}, not "
                f"the intent's {intent.terms_id.hex()[:8]}: it does not accept her terms",
                hint=TermsNotCountersignedError.code,
            )
        self.link_cert.check_valid(now_ms)
        if now_ms >= self.valid_until_ms:
            raise IntentExpiredError(
                f"offer by {self.vendor.short} was valid until "
                f"{format_time_ms(self.valid_until_ms)}"
            )
        intent.check_live(now_ms)


@dataclass(frozen=True, slots=True)
class OpenedOffer:
    """An offer opened from sealed mail, with the envelope nonce (for the replay check)."""

    offer: Offer
    envelope: Envelope


def seal_offer(
    vendor: SigningIdentity,
    offer: Offer,
    intent: Intent,
    *,
    seq: int,
    ts_ms: int,
    nonce: bytes,
    ephemeral_private: bytes,
) -> bytes:
    """Sign ``offer`` into an ``intent.offer`` envelope to the intent key and seal it."""
    envelope = sign_envelope(
        vendor,
        type=MSG_OFFER,
        recipient=intent.intent_key,
        seq=seq,
        ts_ms=ts_ms,
        nonce=nonce,
        body=offer.encoded,
    )
    return seal(
        envelope,
        recipient=intent.intent_key,
        link_public=intent.link_public,
        ephemeral_private=ephemeral_private,
    )


def open_offer(sealed: bytes, intent: Intent, link_key: LinkKey, now_ms: int) -> OpenedOffer:
    """Open a sealed offer for ``intent`` and run every stateless check of spec/intents.md §5."""
    envelope = open_sealed(
        sealed, recipient=intent.intent_key, link_key=link_key, types=frozenset({MSG_OFFER})
    )
    return check_opened_offer(envelope, intent, now_ms)


def check_opened_offer(envelope: Envelope, intent: Intent, now_ms: int) -> OpenedOffer:
    """The checks of §5 on an ``intent.offer`` envelope already opened from sealed mail."""
    offer = Offer.decode(envelope.body)
    if offer.vendor != envelope.sender:
        raise IntentSignatureError(
            f"offer signed by {offer.vendor.short} came in an envelope of {envelope.sender.short}"
        )
    offer.check_for(intent, now_ms)
    return OpenedOffer(offer, envelope)
