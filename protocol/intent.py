"""The intent: what a person wants to buy, signed by a fresh key of its own. Sans-IO.

An intent carries a category, free text, constraints, self-stated claims, the terms every offer
must countersign, how many offers she wants and an expiry. It is signed by an Ed25519 key drawn
for this intent alone, and names an X25519 key (also fresh) that offers are sealed to, so that
nothing in it links it to her or to her other intents. See spec/intents.md §3-§4.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.claims import AGE_OVER, COUNTRY_OF, MAX_AGE
from amity.protocol.encoding import (
    Value,
    expect_array,
    expect_bytes,
    expect_int,
    expect_str,
)
from amity.protocol.errors import (
    AmityError,
    IntentConstraintError,
    IntentExpiredError,
    IntentSignatureError,
    SchemaError,
    UsageError,
    format_time_ms,
)
from amity.protocol.grants import expect_peer, read_signed
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.intentcategory import (
    CATEGORY_PATTERN,
    MAX_CATEGORY_BYTES,
    TAXONOMY_VERSION,
    check_category,
)
from amity.protocol.linkcert import LINK_KEY_BYTES, is_usable_link_key
from amity.protocol.money import Money, read_money
from amity.protocol.signed import sign_structure
from amity.protocol.terms import (
    MAX_TERMS_BYTES,
    ROSTER,
    TEXT_PATTERN,
    TermsDocument,
)
from amity.protocol.vault import COUNTRY_CODES

__all__ = [
    "INTENT_VERSION",
    "INTENT_DOMAIN",
    "INTENT_ID_DOMAIN",
    "INTENT_ID_BYTES",
    "MAX_INTENT_BYTES",
    "MAX_INTENT_TEXT_BYTES",
    "MAX_INTENT_TTL_MS",
    "MAX_OFFERS_WANTED",
    "MAX_QUANTITY",
    "MAX_TIME_MS",
    "Constraints",
    "StatedClaim",
    "TermsRef",
    "Intent",
    "intent_id_of",
]

INTENT_VERSION: Final = 1
INTENT_DOMAIN: Final = b"amity/intent/v1\x00"
INTENT_ID_DOMAIN: Final = b"amity/intent-id/v1\x00"
INTENT_ID_BYTES: Final = 32
MAX_INTENT_TEXT_BYTES: Final = 1000
MAX_INTENT_TTL_MS: Final = 30 * 24 * 3600 * 1000
MAX_OFFERS_WANTED: Final = 32
MAX_QUANTITY: Final = 1_000_000
MAX_TIME_MS: Final = (1 << 63) - 1
#: The largest terms document, plus the fixed fields and the longest text, rounded up.
MAX_INTENT_BYTES: Final = MAX_TERMS_BYTES + 1024
_MAX_CLAIMS: Final = 4
_ROSTER_TERMS: Final = 1
_DOCUMENT_TERMS: Final = 2
_REGION: Final = re.compile(r"([A-Z]{2})(-[A-Z0-9]{1,3})?")
_ARITY: Final = 12


def intent_id_of(signed_bytes: bytes) -> bytes:
    """The id of an intent: SHA-256 of its signed bytes under a domain (spec/intents.md §4)."""
    return hashlib.sha256(INTENT_ID_DOMAIN + signed_bytes).digest()


def _check_ms(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME_MS:
        raise UsageError(f"{what} is an int of milliseconds since the epoch")
    return value


@dataclass(frozen=True, slots=True)
class Constraints:
    """Budget, region (ISO 3166), deadline and quantity (spec/intents.md §3)."""

    budget: Money | None = None
    region: str | None = None
    deadline_ms: int | None = None
    quantity: int = 1

    def __post_init__(self) -> None:
        if self.budget is not None and not isinstance(self.budget, Money):
            raise UsageError("a budget is Money")
        if self.region is not None:
            _check_region(self.region, UsageError)
        if self.deadline_ms is not None:
            _check_ms(self.deadline_ms, "deadline_ms")
        q = self.quantity
        if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= MAX_QUANTITY:
            raise UsageError(f"quantity is 1..{MAX_QUANTITY}")

    def to_wire(self) -> Value:
        budget = None if self.budget is None else self.budget.to_wire()
        return [budget, self.region, self.deadline_ms, self.quantity]

    @classmethod
    def read(cls, value: Value) -> Constraints:
        budget, region, deadline, quantity = expect_array(value, "intent constraints", arity=4)
        text = None
        if region is not None:
            text = expect_str(region, "intent region", max_bytes=6)
            _check_region(text, IntentConstraintError)
        return cls(
            budget=None if budget is None else read_money(budget, "intent budget"),
            region=text,
            deadline_ms=(
                None if deadline is None else expect_int(deadline, "deadline", hi=MAX_TIME_MS)
            ),
            quantity=_quantity(quantity, "intent quantity"),
        )


def _quantity(value: Value, what: str) -> int:
    found = expect_int(value, what, hi=1 << 32)
    if not 1 <= found <= MAX_QUANTITY:
        raise IntentConstraintError(f"{what} {found} is outside 1..{MAX_QUANTITY}")
    return found


def _check_region(region: str, error: type[UsageError] | type[IntentConstraintError]) -> None:
    found = _REGION.fullmatch(region) if isinstance(region, str) else None
    if found is None or found.group(1) not in COUNTRY_CODES:
        raise error(f"region {region!r:.12} is not ISO 3166-1 alpha-2 (+ ISO 3166-2 subdivision)")


@dataclass(frozen=True, slots=True, order=True)
class StatedClaim:
    """A fact stated by the intent key (``age-over`` N, ``country-of`` CC); spec/intents.md §4."""

    kind: str
    value: int | str

    def __post_init__(self) -> None:
        if self.kind == AGE_OVER:
            ok = isinstance(self.value, int) and not isinstance(self.value, bool)
            if not ok or not 0 <= int(self.value) <= MAX_AGE:
                raise UsageError(f"an age-over claim states an age of 0..{MAX_AGE}")
        elif self.kind == COUNTRY_OF:
            if self.value not in COUNTRY_CODES:
                raise UsageError("a country-of claim states an ISO 3166-1 alpha-2 code")
        else:
            raise UsageError(f"claim kind {self.kind!r:.20} is not {AGE_OVER} or {COUNTRY_OF}")

    @classmethod
    def read(cls, value: Value) -> StatedClaim:
        kind, stated = expect_array(value, "intent claim", arity=2)
        text = expect_str(kind, "intent claim kind", max_bytes=16)
        if text == AGE_OVER:
            return cls(text, expect_int(stated, "age-over age", hi=MAX_AGE))
        if text == COUNTRY_OF:
            code = expect_str(stated, "country-of country", max_bytes=2)
            if code not in COUNTRY_CODES:
                raise IntentConstraintError(f"country-of claim: {code!r} is no ISO 3166-1 code")
            return cls(text, code)
        raise IntentConstraintError(f"claim kind {text!r:.20} is not one of v1's")


@dataclass(frozen=True, slots=True)
class TermsRef:
    """The terms an intent requires: a roster name, or her whole terms document."""

    document: TermsDocument
    roster_name: str | None = None

    @classmethod
    def roster(cls, name: str) -> TermsRef:
        entry = ROSTER.get(name)
        if entry is None:
            raise UsageError(
                f"no roster agreement {name!r:.40}; the roster has {', '.join(ROSTER)}"
            )
        return cls(entry.document, name)

    @property
    def terms_id(self) -> bytes:
        return self.document.terms_id

    def to_wire(self) -> Value:
        if self.roster_name is not None:
            return [_ROSTER_TERMS, self.roster_name]
        return [_DOCUMENT_TERMS, self.document.encoded]

    @classmethod
    def read(cls, value: Value) -> TermsRef:
        kind, body = expect_array(value, "intent terms", arity=2)
        which = expect_int(kind, "intent terms kind", lo=_ROSTER_TERMS, hi=_DOCUMENT_TERMS)
        if which == _ROSTER_TERMS:
            name = expect_str(body, "intent roster name", max_bytes=32)
            entry = ROSTER.get(name)
            if entry is None:
                raise IntentConstraintError(f"intent names roster terms {name!r:.40}, unknown here")
            return cls(entry.document, name)
        return cls(
            TermsDocument.decode(expect_bytes(body, "intent terms", max_size=MAX_TERMS_BYTES))
        )


@dataclass(frozen=True, slots=True)
class Intent:
    """A verified intent; ``intent_id`` names it, ``intent_key`` signed it (spec/intents.md §4)."""

    intent_key: PeerId
    link_public: bytes
    category: str
    text: str
    constraints: Constraints
    claims: tuple[StatedClaim, ...]
    terms: TermsRef
    offers_wanted: int
    cast_ms: int
    expires_ms: int
    intent_id: bytes
    taxonomy_version: int = TAXONOMY_VERSION
    encoded: bytes = field(default=b"", repr=False)

    @classmethod
    def create(
        cls,
        intent_key: SigningIdentity,
        *,
        link_public: bytes,
        category: str,
        text: str,
        constraints: Constraints,
        terms: TermsRef,
        offers_wanted: int,
        cast_ms: int,
        expires_ms: int,
        claims: tuple[StatedClaim, ...] = (),
        taxonomy_version: int = TAXONOMY_VERSION,
    ) -> Intent:
        """Sign an intent with its own fresh key; UsageError for anything a reader would refuse."""
        if not isinstance(intent_key, SigningIdentity):
            raise UsageError("an intent is signed by a fresh SigningIdentity of its own")
        if not isinstance(link_public, bytes) or not is_usable_link_key(link_public):
            raise UsageError(f"the intent link key is {LINK_KEY_BYTES} bytes of usable X25519 key")
        if not isinstance(constraints, Constraints) or not isinstance(terms, TermsRef):
            raise UsageError("create() takes Constraints and a TermsRef")
        if not isinstance(claims, tuple) or not all(isinstance(c, StatedClaim) for c in claims):
            raise UsageError("claims is a tuple of StatedClaim")
        claims_wire: list[Value] = [[c.kind, c.value] for c in sorted(claims)]
        fields: list[Value] = [
            INTENT_VERSION,
            intent_key.peer_id.key,
            link_public,
            taxonomy_version,
            category,
            text,
            constraints.to_wire(),
            claims_wire,
            terms.to_wire(),
            offers_wanted,
            _check_ms(cast_ms, "cast_ms"),
            _check_ms(expires_ms, "expires_ms"),
        ]
        data = sign_structure(fields, INTENT_DOMAIN, intent_key)
        try:
            return cls.decode(data)
        except AmityError as exc:  # our own intent must read back: the refusal is our caller's
            raise UsageError(f"that intent would be refused ({exc.code}): {exc.message}") from None

    @classmethod
    def decode(cls, data: bytes) -> Intent:
        """Read and verify an intent; nothing but AmityError on any input (spec/intents.md §4)."""
        parts = read_signed(data, "intent", arity=_ARITY, max_bytes=MAX_INTENT_BYTES)
        f = parts.fields
        key = expect_peer(f[1], "intent key")
        link = expect_bytes(f[2], "intent link key", size=LINK_KEY_BYTES)
        if not is_usable_link_key(link):
            raise SchemaError("intent link key is not a usable X25519 key")
        version = expect_int(f[3], "intent taxonomy version", hi=255)
        category = expect_str(
            f[4], "intent category", max_bytes=MAX_CATEGORY_BYTES, pattern=CATEGORY_PATTERN
        )
        check_category(version, category)
        text = expect_str(
            f[5], "intent text", max_bytes=MAX_INTENT_TEXT_BYTES, pattern=TEXT_PATTERN
        )
        constraints = Constraints.read(f[6])
        claims = tuple(
            StatedClaim.read(c) for c in expect_array(f[7], "intent claims", max_len=_MAX_CLAIMS)
        )
        kinds = [c.kind for c in claims]
        if kinds != sorted(set(kinds)):
            raise SchemaError("intent claims: each kind at most once, in ascending order")
        terms = TermsRef.read(f[8])
        wanted = expect_int(f[9], "intent offers wanted", lo=1, hi=1 << 32)
        if wanted > MAX_OFFERS_WANTED:
            raise IntentConstraintError(f"intent asks for {wanted} offers; at most 32")
        cast_ms = expect_int(f[10], "intent cast_ms", hi=MAX_TIME_MS)
        expires_ms = expect_int(f[11], "intent expires_ms", hi=MAX_TIME_MS)
        if not cast_ms < expires_ms <= cast_ms + MAX_INTENT_TTL_MS:
            raise IntentConstraintError(
                "an intent expires after it is cast, and within 30 days of it"
            )
        parts.verify(key, INTENT_DOMAIN, error=IntentSignatureError, what="intent")
        return cls(
            key,
            link,
            category,
            text,
            constraints,
            claims,
            terms,
            wanted,
            cast_ms,
            expires_ms,
            intent_id_of(parts.signed_bytes),
            version,
            bytes(data),
        )

    def check_live(self, now_ms: int) -> None:
        """Raise ``intent.expired`` at or after ``expires_ms``."""
        if now_ms >= self.expires_ms:
            raise IntentExpiredError(
                f"intent {self.intent_id.hex()[:8]} expired at {format_time_ms(self.expires_ms)}",
                hint=IntentExpiredError.code,
            )

    @property
    def terms_id(self) -> bytes:
        """The id of the terms every offer must countersign."""
        return self.terms.terms_id
