"""Loyalty on her terms: a declaration she signs, and its revocation. Sans-IO. See spec/loyalty.md.

Loyalty is something she *declares*, not something a vendor tracks: "a loyal customer of V since
2024, until 2027, for these categories", signed by her identity, sent to V, revocable at any time.
V can verify it (it names V, it is signed by her) and offer benefits against it; it cannot forge
one, and the protocol gives it no way to ask for one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.encoding import Value, expect_array, expect_bytes, expect_int, expect_str
from amity.protocol.errors import LoyaltySignatureError, SchemaError, UsageError
from amity.protocol.grants import expect_peer, read_signed
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.intentcategory import CATEGORY_PATTERN, MAX_CATEGORY_BYTES
from amity.protocol.signed import sign_structure

__all__ = [
    "MSG_DECLARE",
    "MSG_REVOKE",
    "LOYALTY_DOMAIN",
    "LOYALTY_ID_DOMAIN",
    "LOYALTY_REVOKE_DOMAIN",
    "MAX_CATEGORIES",
    "MAX_NOTE_BYTES",
    "MAX_DECLARATION_BYTES",
    "MAX_REVOCATION_BYTES",
    "Declaration",
    "LoyaltyRevocation",
]

MSG_DECLARE: Final = "loyalty.declare"
MSG_REVOKE: Final = "loyalty.revoke"
LOYALTY_DOMAIN: Final = b"amity/loyalty/v1\x00"
LOYALTY_ID_DOMAIN: Final = b"amity/loyalty-id/v1\x00"
LOYALTY_REVOKE_DOMAIN: Final = b"amity/loyalty-revoke/v1\x00"
MAX_CATEGORIES: Final = 16
MAX_NOTE_BYTES: Final = 200
MAX_DECLARATION_BYTES: Final = 2048
MAX_REVOCATION_BYTES: Final = 192
_MAX_MS: Final = 2**63 - 1


def _categories(value: Value, what: str) -> tuple[str, ...]:
    items = expect_array(value, what, max_len=MAX_CATEGORIES)
    found = tuple(
        expect_str(c, f"{what} entry", max_bytes=MAX_CATEGORY_BYTES, pattern=CATEGORY_PATTERN)
        for c in items
    )
    if list(found) != sorted(set(found)):
        raise SchemaError(f"{what} must be sorted and without repeats")
    return found


@dataclass(frozen=True, slots=True)
class Declaration:
    """Her signed declaration of loyalty to ``vendor`` (spec/loyalty.md §2)."""

    person: PeerId
    vendor: PeerId
    since_ms: int
    until_ms: int
    #: Intent categories (or prefixes, intents.md §3.1) it covers; empty: everything.
    categories: tuple[str, ...]
    note: str
    issued_ms: int
    encoded: bytes = field(repr=False)
    #: SHA-256("amity/loyalty-id/v1\0" || signed_bytes): what a revocation names.
    declaration_id: bytes = field(default=b"", repr=False)

    def live_at(self, now_ms: int) -> bool:
        return self.since_ms <= now_ms < self.until_ms

    @classmethod
    def create(
        cls,
        person: SigningIdentity,
        vendor: PeerId,
        *,
        since_ms: int,
        until_ms: int,
        categories: tuple[str, ...] = (),
        note: str = "",
        issued_ms: int,
    ) -> Declaration:
        cats = tuple(sorted(set(categories)))
        fields: list[Value] = [
            1, person.peer_id.key, vendor.key, since_ms, until_ms, list(cats), note, issued_ms,
        ]  # fmt: skip
        if person.peer_id == vendor:
            raise UsageError("a declaration of loyalty names another node than her own")
        data = sign_structure(fields, LOYALTY_DOMAIN, person)
        try:
            return cls.decode(data)  # the reader's rules, once, for what we sign
        except SchemaError as exc:
            raise UsageError(f"this declaration breaks a rule: {exc.message}") from None

    @classmethod
    def decode(cls, data: bytes) -> Declaration:
        """Read and verify a declaration under the person it names (spec/loyalty.md §2)."""
        parts = read_signed(data, "loyalty declaration", arity=8, max_bytes=MAX_DECLARATION_BYTES)
        _, person, vendor, since, until, cats, note, issued = parts.fields
        what = "loyalty declaration"
        declaration = cls(
            expect_peer(person, f"{what} person"),
            expect_peer(vendor, f"{what} vendor"),
            expect_int(since, f"{what} since_ms", hi=_MAX_MS),
            expect_int(until, f"{what} until_ms", hi=_MAX_MS),
            _categories(cats, f"{what} categories"),
            expect_str(note, f"{what} note", max_bytes=MAX_NOTE_BYTES),
            expect_int(issued, f"{what} issued_ms", hi=_MAX_MS),
            bytes(data),
            hashlib.sha256(LOYALTY_ID_DOMAIN + parts.signed_bytes).digest(),
        )
        if declaration.until_ms <= declaration.since_ms:
            raise SchemaError(f"{what}: until_ms must be after since_ms")
        if declaration.person == declaration.vendor:
            raise SchemaError(f"{what}: the person and the vendor are one key")
        parts.verify(declaration.person, LOYALTY_DOMAIN, error=LoyaltySignatureError, what=what)
        return declaration


@dataclass(frozen=True, slots=True)
class LoyaltyRevocation:
    """She takes a declaration back (spec/loyalty.md §3)."""

    declaration_id: bytes
    person: PeerId
    revoked_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def create(
        cls, person: SigningIdentity, declaration: Declaration, revoked_ms: int
    ) -> LoyaltyRevocation:
        if declaration.person != person.peer_id:
            raise UsageError("only the person who declared loyalty revokes it")
        fields: list[Value] = [1, declaration.declaration_id, person.peer_id.key, revoked_ms]
        return cls.decode(sign_structure(fields, LOYALTY_REVOKE_DOMAIN, person))

    @classmethod
    def decode(cls, data: bytes) -> LoyaltyRevocation:
        what = "loyalty revocation"
        parts = read_signed(data, what, arity=4, max_bytes=MAX_REVOCATION_BYTES)
        _, declaration_id, person, at = parts.fields
        revocation = cls(
            expect_bytes(declaration_id, f"{what} declaration id", size=32),
            expect_peer(person, f"{what} person"),
            expect_int(at, f"{what} revoked_ms", hi=_MAX_MS),
            bytes(data),
        )
        parts.verify(
            revocation.person, LOYALTY_REVOKE_DOMAIN, error=LoyaltySignatureError, what=what
        )
        return revocation
