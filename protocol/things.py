"""Things she owns: a thing's card, signed by the thing's own key. Sans-IO. See spec/things.md.

A thing (a bike, a boiler, a phone) gets an Ed25519 key of its own, held by its owner's node.
Its card says what the thing is (maker, model, serial), under which purchase and warranty, and
where its manuals and service contacts are; it is signed by the thing's key, names no owner,
and travels as an ``amity:thing:`` URI (a QR on the thing). Whoever scans it learns what the
thing is, and can check that the card is the thing's own, not who owns it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.encoding import Value, expect_array, expect_bytes, expect_int, expect_str
from amity.protocol.errors import (
    EncodingError,
    SchemaError,
    ThingSignatureError,
    ThingUriError,
    UnsupportedVersionError,
    UsageError,
)
from amity.protocol.grants import expect_peer, read_signed
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.signed import sign_structure

__all__ = [
    "THING_CARD_DOMAIN",
    "THING_URI_PREFIX",
    "MAX_THING_CARD_BYTES",
    "MAX_TEXT_BYTES",
    "MAX_LINK_BYTES",
    "MAX_LINKS",
    "ThingCard",
]

THING_CARD_DOMAIN: Final = b"amity/thing-card/v1\x00"
#: The URI of a thing's card: this prefix, then unpadded base32 of the card's bytes.
THING_URI_PREFIX: Final = "amity:thing:"
#: So that its URI (base32: 8 characters per 5 bytes) fits one QR code (4 296 alphanumerics).
MAX_THING_CARD_BYTES: Final = 2560
#: Maker, model and serial: one line each.
MAX_TEXT_BYTES: Final = 100
#: A manual or a service contact: one line (a URL, a phone number, an address).
MAX_LINK_BYTES: Final = 200
MAX_LINKS: Final = 4
#: A purchase reference: an agreement id (16 bytes) or another id of at most 64 bytes.
MAX_PURCHASE_BYTES: Final = 64
_MAX_MS: Final = 2**63 - 1
_LINE: Final = re.compile(r"[^\x00-\x1f\x7f]*")


def _line(value: Value, what: str, max_bytes: int, *, empty: bool = False) -> str:
    text = expect_str(value, what, max_bytes=max_bytes, pattern=_LINE)
    if not empty and not text.strip():
        raise SchemaError(f"{what} is empty")
    return text


def _links(value: Value, what: str) -> tuple[str, ...]:
    items = expect_array(value, what, max_len=MAX_LINKS)
    return tuple(_line(item, f"{what} entry", MAX_LINK_BYTES) for item in items)


@dataclass(frozen=True, slots=True)
class ThingCard:
    """What a thing is, signed by its own key (spec/things.md §2)."""

    thing: PeerId
    maker: str
    model: str
    serial: str
    #: The purchase it came with (an agreement id), if she says.
    purchase: bytes | None
    #: When its warranty ends (ms UTC), if it has one.
    warranty_until_ms: int | None
    manuals: tuple[str, ...]
    contacts: tuple[str, ...]
    issued_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def issue(
        cls,
        thing: SigningIdentity,
        *,
        maker: str,
        model: str,
        serial: str = "",
        purchase: bytes | None = None,
        warranty_until_ms: int | None = None,
        manuals: tuple[str, ...] = (),
        contacts: tuple[str, ...] = (),
        issued_ms: int,
    ) -> ThingCard:
        """Sign a card with the thing's key; UsageError if a field breaks a rule of §2."""
        fields: list[Value] = [
            1,
            thing.peer_id.key,
            maker,
            model,
            serial,
            purchase,
            warranty_until_ms,
            list(manuals),
            list(contacts),
            issued_ms,
        ]
        try:
            return cls.decode(sign_structure(fields, THING_CARD_DOMAIN, thing))
        except (EncodingError, ValueError) as exc:
            raise UsageError(f"this thing's card breaks a rule: {exc}") from None

    @classmethod
    def decode(cls, data: bytes) -> ThingCard:
        """Read a card and verify it under the thing key it names (spec/things.md §2.2)."""
        what = "thing card"
        parts = read_signed(data, what, arity=10, max_bytes=MAX_THING_CARD_BYTES)
        _, key, maker, model, serial, purchase, warranty, manuals, contacts, issued = parts.fields
        card = cls(
            expect_peer(key, f"{what} key"),
            _line(maker, f"{what} maker", MAX_TEXT_BYTES),
            _line(model, f"{what} model", MAX_TEXT_BYTES),
            _line(serial, f"{what} serial", MAX_TEXT_BYTES, empty=True),
            None
            if purchase is None
            else expect_bytes(purchase, f"{what} purchase", max_size=MAX_PURCHASE_BYTES),
            None if warranty is None else expect_int(warranty, f"{what} warranty", hi=_MAX_MS),
            _links(manuals, f"{what} manuals"),
            _links(contacts, f"{what} contacts"),
            expect_int(issued, f"{what} issued_ms", hi=_MAX_MS),
            bytes(data),
        )
        if card.purchase is not None and not card.purchase:
            raise SchemaError(f"{what} purchase is empty (nil when there is none)")
        parts.verify(card.thing, THING_CARD_DOMAIN, error=ThingSignatureError, what=what)
        return card

    def to_uri(self) -> str:
        """``amity:thing:`` + unpadded upper-case base32 of the card (QR alphanumeric)."""
        return THING_URI_PREFIX + base64.b32encode(self.encoded).decode("ascii").rstrip("=")

    @classmethod
    def from_uri(cls, uri: str) -> ThingCard:
        """Read a thing's URI (prefix and base32 case-insensitive, whitespace ignored)."""
        if not isinstance(uri, str):
            raise ThingUriError("a thing's link is text")
        text = "".join(uri.split())
        if len(text) > len(THING_URI_PREFIX) + (MAX_THING_CARD_BYTES * 8 + 4) // 5:
            raise ThingUriError("this link is longer than any thing's card")
        if text[: len(THING_URI_PREFIX)].lower() != THING_URI_PREFIX:
            raise ThingUriError(f"a thing's link starts with {THING_URI_PREFIX}")
        body = text[len(THING_URI_PREFIX) :].upper()
        try:
            return cls.decode(base64.b32decode(body + "=" * (-len(body) % 8)))
        except (binascii.Error, ValueError, EncodingError, UnsupportedVersionError):
            # The person needs what to do, not which byte failed (base32 or msgpack).
            raise ThingUriError(_DAMAGED) from None


#: What a damaged or truncated thing's link is called, whatever part of its decoding failed.
_DAMAGED: Final = (
    "this thing's link is damaged or incomplete: copy all of it again, or scan its QR code"
)
