"""What closes an intent: her accept (with an optional reveal of who she is), her withdraw, and
the deletion receipts hubs and vendors sign. Sans-IO. See spec/intents.md §6.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.encoding import Value, expect_bytes, expect_int, expect_str
from amity.protocol.envelope import sign_envelope
from amity.protocol.errors import IntentSignatureError, SchemaError, UsageError
from amity.protocol.grants import expect_peer, read_signed
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.intent import INTENT_ID_BYTES, MAX_TIME_MS, Intent
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.sealed import open_sealed, seal
from amity.protocol.signed import sign_structure

__all__ = [
    "MSG_ACCEPT",
    "ACCEPT_DOMAIN",
    "REVEAL_DOMAIN",
    "WITHDRAW_DOMAIN",
    "RECEIPT_DOMAIN",
    "OFFER_ID_BYTES",
    "MAX_ACCEPT_BYTES",
    "MAX_WITHDRAW_BYTES",
    "MAX_RECEIPT_BYTES",
    "Reveal",
    "Accept",
    "Withdraw",
    "DeletedBecause",
    "IntentReceipt",
    "seal_accept",
    "open_accept",
]

MSG_ACCEPT: Final = "intent.accept"
ACCEPT_DOMAIN: Final = b"amity/intent-accept/v1\x00"
REVEAL_DOMAIN: Final = b"amity/intent-reveal/v1\x00"
WITHDRAW_DOMAIN: Final = b"amity/intent-withdraw/v1\x00"
RECEIPT_DOMAIN: Final = b"amity/intent-receipt/v1\x00"
OFFER_ID_BYTES: Final = 32
_MAX_REVEAL_BYTES: Final = 224
MAX_ACCEPT_BYTES: Final = 256 + _MAX_REVEAL_BYTES
MAX_WITHDRAW_BYTES: Final = 160
MAX_RECEIPT_BYTES: Final = 192


def _ms(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME_MS:
        raise UsageError(f"{what} is an int of milliseconds since the epoch")
    return value


def _id(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != INTENT_ID_BYTES:
        raise UsageError(f"{what} is {INTENT_ID_BYTES} bytes")
    return value


@dataclass(frozen=True, slots=True)
class Reveal:
    """Her identity states that intent ``intent_id`` is hers, for ``vendor`` only."""

    intent_id: bytes
    person: PeerId
    vendor: PeerId
    accepted_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def create(
        cls, identity: SigningIdentity, intent_id: bytes, vendor: PeerId, accepted_ms: int
    ) -> Reveal:
        fields: list[Value] = [
            1,
            _id(intent_id, "intent_id"),
            identity.peer_id.key,
            vendor.key,
            _ms(accepted_ms, "accepted_ms"),
        ]
        data = sign_structure(fields, REVEAL_DOMAIN, identity)
        return cls(intent_id, identity.peer_id, vendor, accepted_ms, data)

    @classmethod
    def decode(cls, data: bytes) -> Reveal:
        parts = read_signed(data, "reveal", arity=5, max_bytes=_MAX_REVEAL_BYTES)
        _, intent_id, person, vendor, at = parts.fields
        reveal = cls(
            expect_bytes(intent_id, "reveal intent id", size=INTENT_ID_BYTES),
            expect_peer(person, "reveal person"),
            expect_peer(vendor, "reveal vendor"),
            expect_int(at, "reveal accepted_ms", hi=MAX_TIME_MS),
            bytes(data),
        )
        parts.verify(reveal.person, REVEAL_DOMAIN, error=IntentSignatureError, what="reveal")
        return reveal


@dataclass(frozen=True, slots=True)
class Accept:
    """The intent key accepts offer ``offer_id`` of ``vendor``; ``reveal`` says who she is."""

    intent_id: bytes
    offer_id: bytes
    vendor: PeerId
    accepted_ms: int
    reveal: Reveal | None
    encoded: bytes = field(repr=False)

    @classmethod
    def create(
        cls,
        intent_key: SigningIdentity,
        intent_id: bytes,
        offer_id: bytes,
        vendor: PeerId,
        accepted_ms: int,
        reveal: Reveal | None = None,
    ) -> Accept:
        if reveal is not None and (reveal.intent_id, reveal.vendor) != (intent_id, vendor):
            raise UsageError("a reveal names the intent and the vendor it accepts")
        fields: list[Value] = [
            1,
            _id(intent_id, "intent_id"),
            _id(offer_id, "offer_id"),
            vendor.key,
            _ms(accepted_ms, "accepted_ms"),
            None if reveal is None else reveal.encoded,
        ]
        data = sign_structure(fields, ACCEPT_DOMAIN, intent_key)
        return cls(intent_id, offer_id, vendor, accepted_ms, reveal, data)

    @classmethod
    def decode(cls, data: bytes, intent_key: PeerId) -> Accept:
        """Read an accept and verify it against the key of the intent it answers."""
        parts = read_signed(data, "accept", arity=6, max_bytes=MAX_ACCEPT_BYTES)
        _, intent_id, offer_id, vendor, at, reveal_bytes = parts.fields
        accept = cls(
            expect_bytes(intent_id, "accept intent id", size=INTENT_ID_BYTES),
            expect_bytes(offer_id, "accept offer id", size=OFFER_ID_BYTES),
            expect_peer(vendor, "accept vendor"),
            expect_int(at, "accept accepted_ms", hi=MAX_TIME_MS),
            None,
            bytes(data),
        )
        parts.verify(intent_key, ACCEPT_DOMAIN, error=IntentSignatureError, what="accept")
        if reveal_bytes is None:
            return accept
        reveal = Reveal.decode(expect_bytes(reveal_bytes, "accept reveal", max_size=224))
        if (reveal.intent_id, reveal.vendor) != (accept.intent_id, accept.vendor):
            raise SchemaError("an accept's reveal names another intent or another vendor")
        return cls(
            accept.intent_id,
            accept.offer_id,
            accept.vendor,
            accept.accepted_ms,
            reveal,
            accept.encoded,
        )


@dataclass(frozen=True, slots=True)
class Withdraw:
    """The intent key takes its intent back: every holder deletes it (spec/intents.md §6)."""

    intent_id: bytes
    intent_key: PeerId
    withdrawn_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def create(cls, intent_key: SigningIdentity, intent: Intent, withdrawn_ms: int) -> Withdraw:
        if intent.intent_key != intent_key.peer_id:
            raise UsageError("only the intent's own key withdraws it")
        fields: list[Value] = [1, intent.intent_id, intent_key.peer_id.key, _ms(withdrawn_ms, "ms")]
        data = sign_structure(fields, WITHDRAW_DOMAIN, intent_key)
        return cls(intent.intent_id, intent_key.peer_id, withdrawn_ms, data)

    @classmethod
    def decode(cls, data: bytes) -> Withdraw:
        """Read a withdraw and verify it under the key it names (check that key is the intent's)."""
        parts = read_signed(data, "withdraw", arity=4, max_bytes=MAX_WITHDRAW_BYTES)
        _, intent_id, key, at = parts.fields
        withdraw = cls(
            expect_bytes(intent_id, "withdraw intent id", size=INTENT_ID_BYTES),
            expect_peer(key, "withdraw intent key"),
            expect_int(at, "withdraw withdrawn_ms", hi=MAX_TIME_MS),
            bytes(data),
        )
        parts.verify(
            withdraw.intent_key, WITHDRAW_DOMAIN, error=IntentSignatureError, what="withdraw"
        )
        return withdraw


class DeletedBecause(enum.Enum):
    """Why a hub or vendor deleted an intent."""

    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class IntentReceipt:
    """``deleter`` (a hub or vendor) signs that it deleted intent ``intent_id``."""

    deleter: PeerId
    intent_id: bytes
    reason: DeletedBecause
    deleted_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def issue(
        cls, deleter: SigningIdentity, intent_id: bytes, reason: DeletedBecause, deleted_ms: int
    ) -> IntentReceipt:
        fields: list[Value] = [
            1,
            deleter.peer_id.key,
            _id(intent_id, "intent_id"),
            reason.value,
            _ms(deleted_ms, "deleted_ms"),
        ]
        data = sign_structure(fields, RECEIPT_DOMAIN, deleter)
        return cls(deleter.peer_id, intent_id, reason, deleted_ms, data)

    @classmethod
    def decode(cls, data: bytes) -> IntentReceipt:
        parts = read_signed(data, "intent receipt", arity=5, max_bytes=MAX_RECEIPT_BYTES)
        _, deleter, intent_id, reason, at = parts.fields
        text = expect_str(reason, "intent receipt reason", max_bytes=16)
        try:
            because = DeletedBecause(text)
        except ValueError:
            raise SchemaError(
                f"intent receipt reason {text!r} is not withdrawn or expired"
            ) from None
        receipt = cls(
            expect_peer(deleter, "intent receipt deleter"),
            expect_bytes(intent_id, "intent receipt intent id", size=INTENT_ID_BYTES),
            because,
            expect_int(at, "intent receipt deleted_ms", hi=MAX_TIME_MS),
            bytes(data),
        )
        parts.verify(
            receipt.deleter, RECEIPT_DOMAIN, error=IntentSignatureError, what="intent receipt"
        )
        return receipt


def seal_accept(
    intent_key: SigningIdentity,
    accept: Accept,
    vendor_cert: LinkCert,
    *,
    seq: int,
    ts_ms: int,
    nonce: bytes,
    ephemeral_private: bytes,
) -> bytes:
    """Sign ``accept`` into an ``intent.accept`` envelope to the vendor and seal it to the link
    key of the vendor's certificate (the one its offer carried): only that vendor opens it."""
    if vendor_cert.issuer != accept.vendor:
        raise UsageError("an accept is sealed to the link key of the vendor it accepts")
    envelope = sign_envelope(
        intent_key,
        type=MSG_ACCEPT,
        recipient=accept.vendor,
        seq=seq,
        ts_ms=ts_ms,
        nonce=nonce,
        body=accept.encoded,
    )
    return seal(
        envelope,
        recipient=accept.vendor,
        link_public=vendor_cert.link_public,
        ephemeral_private=ephemeral_private,
    )


def open_accept(sealed: bytes, vendor: PeerId, link_key: LinkKey, intent: Intent) -> Accept:
    """Open a sealed accept for ``intent`` with the vendor's link key; it must come from, and
    be signed by, the intent's key, and be for this vendor."""
    envelope = open_sealed(
        sealed, recipient=vendor, link_key=link_key, types=frozenset({MSG_ACCEPT})
    )
    if envelope.sender != intent.intent_key:
        raise IntentSignatureError(
            f"accept for intent {intent.intent_id.hex()[:8]} came from {envelope.sender.short}, "
            "not from the intent's key"
        )
    accept = Accept.decode(envelope.body, intent.intent_key)
    if accept.intent_id != intent.intent_id or accept.vendor != vendor:
        raise SchemaError("the accept names another intent or another vendor than its envelope")
    return accept
