"""Derived disclosure: a signed claim about a vault field, shared instead of the field. Sans-IO.

"age >= 18" instead of the birth date, "country DE" instead of the address: the person's node
signs the claim, which names the *type* of the field it was derived from and never its value,
and is bound to one grantee and one grant. See spec/grants.md §6.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.encoding import Value, expect_bytes, expect_int, expect_str
from amity.protocol.errors import (
    FieldValueError,
    GrantPartyError,
    GrantSignatureError,
    SchemaError,
    UsageError,
    format_time_ms,
)
from amity.protocol.grants import (
    GRANT_ID_BYTES,
    GRANTS_VERSION,
    check_time,
    expect_peer,
    read_signed,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.signed import sign_structure
from amity.protocol.vault import COUNTRY_CODES, Field, FieldType, PostalAddress, birth_date

__all__ = [
    "CLAIM_DOMAIN",
    "MAX_CLAIM_BYTES",
    "AGE_OVER",
    "COUNTRY_OF",
    "DERIVATIONS",
    "MAX_AGE",
    "DerivedClaim",
    "age_on",
]

CLAIM_DOMAIN: Final = b"amity/claim/v1\x00"
MAX_CLAIM_BYTES: Final = 320
AGE_OVER: Final = "age-over"
COUNTRY_OF: Final = "country-of"
#: Each kind of claim, and the one field type it is derived from.
DERIVATIONS: Final[Mapping[str, FieldType]] = {
    AGE_OVER: FieldType.BIRTH_DATE,
    COUNTRY_OF: FieldType.POSTAL_ADDRESS,
}
MAX_AGE: Final = 150
_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def age_on(born: datetime.date, at_ms: int) -> int:
    """Completed years from ``born`` to the UTC date of ``at_ms`` (29 Feb counts from 1 Mar)."""
    try:
        today = (_EPOCH + datetime.timedelta(milliseconds=at_ms)).date()
    except OverflowError:
        raise UsageError(f"{at_ms} ms is past the year 9999") from None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass(frozen=True, slots=True)
class DerivedClaim:
    """``issuer`` states, to ``audience`` under ``grant_id``, a fact derived from one field."""

    issuer: PeerId
    audience: PeerId
    grant_id: bytes
    kind: str
    source_type: FieldType
    #: age-over: the age N (0..150); country-of: the ISO 3166-1 alpha-2 code.
    value: int | str
    at_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def derive(
        cls,
        identity: SigningIdentity,
        source: Field,
        kind: str,
        *,
        audience: PeerId,
        grant_id: bytes,
        at_ms: int,
        age: int | None = None,
    ) -> DerivedClaim:
        """Derive and sign a claim from ``source``; refuses (local.usage) to state a falsehood."""
        if not isinstance(source, Field) or not isinstance(audience, PeerId):
            raise UsageError("derive() takes a vault Field and the audience's PeerId")
        if DERIVATIONS.get(kind) is not source.type:
            raise UsageError(f"a {kind!r} claim cannot be derived from a {source.type.value} field")
        if not isinstance(grant_id, bytes) or len(grant_id) != GRANT_ID_BYTES:
            raise UsageError(f"a grant id is {GRANT_ID_BYTES} bytes")
        check_time(at_ms, "at_ms")
        value: int | str
        if kind == AGE_OVER:
            if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= MAX_AGE:
                raise UsageError(f"an age-over claim needs an age of 0..{MAX_AGE}")
            assert isinstance(source.value, str)  # Field checked it is a birth date
            if age_on(birth_date(source.value), at_ms) < age:
                raise UsageError(f"the birth date does not show age >= {age} at that time")
            value = age
        else:
            assert isinstance(source.value, PostalAddress)
            value = source.value.country
        signed: list[Value] = [
            GRANTS_VERSION,
            identity.peer_id.key,
            audience.key,
            grant_id,
            kind,
            source.type.value,
            value,
            at_ms,
        ]
        data = sign_structure(signed, CLAIM_DOMAIN, identity)
        return cls(identity.peer_id, audience, grant_id, kind, source.type, value, at_ms, data)

    @classmethod
    def decode(cls, data: bytes) -> DerivedClaim:
        """Parse a derived claim and verify the issuer's signature. See spec/grants.md §6.2."""
        parts = read_signed(data, "derived claim", arity=8, max_bytes=MAX_CLAIM_BYTES)
        _, issuer, audience, grant_id, kind, source_type, value, at_ms = parts.fields
        signer = expect_peer(issuer, "derived claim issuer")
        recipient = expect_peer(audience, "derived claim audience")
        grant = expect_bytes(grant_id, "derived claim grant id", size=GRANT_ID_BYTES)
        kind_text = expect_str(kind, "derived claim kind", max_bytes=32)
        expected = DERIVATIONS.get(kind_text)
        if expected is None:
            raise SchemaError(f"derived claim kind {kind_text!r} is not one of v1's")
        source = expect_str(source_type, "derived claim source type", max_bytes=32)
        if source != expected.value:
            raise SchemaError(f"a {kind_text} claim derives from {expected.value}, not {source!r}")
        stated: int | str
        if kind_text == AGE_OVER:
            stated = expect_int(value, "age-over age", hi=MAX_AGE)
        else:
            stated = expect_str(value, "country-of country", max_bytes=2)
            if stated not in COUNTRY_CODES:
                raise FieldValueError(f"country-of claim: {stated!r} is no ISO 3166-1 code")
        stated_ms = expect_int(at_ms, "derived claim at_ms")
        claim = cls(signer, recipient, grant, kind_text, expected, stated, stated_ms, bytes(data))
        parts.verify(signer, CLAIM_DOMAIN, error=GrantSignatureError, what="derived claim")
        return claim

    def check_parties(self, *, issuer: PeerId, audience: PeerId) -> None:
        """Raise grants.wrong_party unless ``issuer`` made this claim for ``audience``."""
        if (self.issuer, self.audience) != (issuer, audience):
            raise GrantPartyError(
                f"{self.kind} claim is by {self.issuer.short} for {self.audience.short}, not by "
                f"{issuer.short} for {audience.short}"
            )

    @property
    def statement(self) -> str:
        """The claim in words, for people: ``age >= 18 on 2026-01-01 (from birth-date)``."""
        day = format_time_ms(self.at_ms)[:10]
        fact = f"age >= {self.value}" if self.kind == AGE_OVER else f"country {self.value}"
        return f"{fact} on {day} (from {self.source_type.value})"
