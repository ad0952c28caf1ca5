"""The person's vault: typed fields, each with one canonical encoding, sealed at rest. Sans-IO.

A field is a name, one type from a closed set and a value that the type's rules accept; its
encoding ``[name, type, value]`` is what a grant delivery carries. The node keeps fields sealed
with a key derived from its identity seed; nonces come in from the caller. See spec/grants.md §2.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import re
from dataclasses import dataclass, field
from typing import Final, TypeAlias

import nacl.bindings
import nacl.exceptions

from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_bytes,
    expect_str,
    expect_version,
)
from amity.protocol.errors import (
    AmityError,
    FieldValueError,
    UsageError,
    VaultDecryptError,
)
from amity.protocol.identity import SEED_BYTES

__all__ = [
    "FIELD_NAME_PATTERN",
    "ONE_LINE_PATTERN",
    "MAX_FIELD_NAME_BYTES",
    "MAX_FIELD_BYTES",
    "RESERVED_FIELD_NAMES",
    "COUNTRY_CODES",
    "VAULT_KEY_BYTES",
    "VAULT_NONCE_BYTES",
    "VAULT_KEY_DOMAIN",
    "VAULT_AD_DOMAIN",
    "FieldType",
    "PostalAddress",
    "Preferences",
    "FieldValue",
    "Field",
    "check_field_name",
    "check_line",
    "birth_date",
    "field_to_value",
    "field_from_value",
    "encode_field",
    "decode_field",
    "vault_key",
    "seal_field",
    "open_field",
]

FIELD_NAME_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]*")
MAX_FIELD_NAME_BYTES: Final = 32
#: The largest encoded field: a 4096-byte text, or 32 preferences, with their headers.
MAX_FIELD_BYTES: Final = 4200
#: Names of derived disclosures (spec/grants.md §6): no vault field may take them.
RESERVED_FIELD_NAMES: Final = frozenset({"age-over", "country-of"})
VAULT_KEY_BYTES: Final = 32
VAULT_NONCE_BYTES: Final = 24
VAULT_KEY_DOMAIN: Final = b"amity/vault-key/v1\x00"
VAULT_AD_DOMAIN: Final = b"amity/vault/v1\x00"
_SEALED_VERSION: Final = 1
_TAG_BYTES: Final = 16

#: ISO 3166-1 alpha-2: the 249 officially assigned codes (no user-assigned ones such as XK).
_COUNTRY_TEXT: Final = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES: Final = frozenset(_COUNTRY_TEXT.split())

#: One line of text: no control characters (C0, DEL, C1), so nothing moves a terminal's cursor.
ONE_LINE_PATTERN: Final = re.compile(r"[^\x00-\x1f\x7f-\x9f]*")
#: Free-form text may also hold tabs and line feeds.
_TEXT: Final = re.compile(r"[^\x00-\x08\x0b-\x1f\x7f-\x9f]*")
_ATOM: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: dot-atom local part of at most 64 characters, then a host name with at least two labels.
_EMAIL: Final = re.compile(rf"(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
_PHONE: Final = re.compile(r"\+[1-9][0-9]{1,14}")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_POSTCODE: Final = re.compile(r"(?:[0-9A-Za-z][0-9A-Za-z -]*)?")
_MAX_PREFERENCES: Final = 32


class FieldType(enum.Enum):
    """The closed set of field types; the value is the type's name on the wire. See §2.1."""

    NAME = "name"
    EMAIL = "email"
    POSTAL_ADDRESS = "postal-address"
    PHONE = "phone"
    BIRTH_DATE = "birth-date"
    PREFERENCES = "preferences"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """A structured postal address; ``country`` is an ISO 3166-1 alpha-2 code. See §2.1."""

    street: str
    city: str
    postcode: str
    country: str


#: Sizes and preferences: (key, value) pairs, keys strictly ascending.
Preferences: TypeAlias = tuple[tuple[str, str], ...]
FieldValue: TypeAlias = str | PostalAddress | Preferences


@dataclass(frozen=True, slots=True)
class Field:
    """One vault field: its name, its type and a value the type accepts. See spec/grants.md §2."""

    name: str
    type: FieldType
    value: FieldValue = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.type, FieldType):
            raise UsageError(f"a field type is a FieldType, not {type(self.type).__name__}")
        check_field_name(self.name, error=UsageError)
        _check_value(self.type, self.value, UsageError)


def check_field_name(name: str, *, error: type[AmityError] = UsageError) -> str:
    """Return ``name`` if it may name a vault field (``[a-z][a-z0-9-]*``, <= 32 bytes, not reserved)."""
    if not isinstance(name, str) or len(name) > MAX_FIELD_NAME_BYTES:
        raise error(f"a field name is a str of at most {MAX_FIELD_NAME_BYTES} bytes")
    if not FIELD_NAME_PATTERN.fullmatch(name):
        raise error(f"field name {name!r} must match {FIELD_NAME_PATTERN.pattern}")
    if name in RESERVED_FIELD_NAMES:
        raise error(f"{name!r} names a derived disclosure; choose another field name")
    return name


def check_line(
    value: object,
    what: str,
    max_bytes: int,
    error: type[AmityError],
    *,
    empty: bool = False,
    pattern: re.Pattern[str] = ONE_LINE_PATTERN,
) -> str:
    """``value`` if it is a str of (1 or 0)..max_bytes UTF-8 bytes matching ``pattern``; else ``error``."""
    if not isinstance(value, str):
        raise error(f"{what} is a str")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise error(f"{what} holds a lone surrogate") from None
    if size > max_bytes or (size == 0 and not empty):
        raise error(f"{what} takes {'0' if empty else '1'}..{max_bytes} UTF-8 bytes, not {size}")
    if not pattern.fullmatch(value):
        allowed = "one line" if pattern is ONE_LINE_PATTERN else "tab and line feed only"
        raise error(f"{what} holds a control character ({allowed})")
    return value


def _check_value(kind: FieldType, value: FieldValue, error: type[AmityError]) -> None:
    if kind is FieldType.POSTAL_ADDRESS:
        if not isinstance(value, PostalAddress):
            raise error("a postal-address value is a PostalAddress")
        check_line(value.street, "street", 200, error)
        check_line(value.city, "city", 100, error)
        postcode = check_line(value.postcode, "postcode", 16, error, empty=True)
        if not _POSTCODE.fullmatch(postcode):
            raise error(f"postcode {postcode!r}: letters, digits, spaces and '-' only")
        if value.country not in COUNTRY_CODES:
            raise error(f"country {value.country!r} is not an ISO 3166-1 alpha-2 code such as DE")
        return
    if kind is FieldType.PREFERENCES:
        _check_preferences(value, error)
        return
    if not isinstance(value, str):
        raise error(f"a {kind.value} value is a str")
    if kind is FieldType.TEXT:
        check_line(value, "free-form text", 4096, error, empty=True, pattern=_TEXT)
    elif kind is FieldType.NAME:
        check_line(value, "name", 200, error)
    elif kind is FieldType.EMAIL:
        if len(value) > 254 or not _EMAIL.fullmatch(value):
            raise error(f"{value[:60]!r} is not an e-mail address (ASCII, local@domain.tld)")
    elif kind is FieldType.PHONE:
        if not _PHONE.fullmatch(value):
            raise error(f"{value[:40]!r} is not an E.164 number: '+', country code, 2..15 digits")
    elif kind is FieldType.BIRTH_DATE:
        birth_date(value, error=error)


def _check_preferences(value: FieldValue, error: type[AmityError]) -> None:
    if not isinstance(value, tuple) or len(value) > _MAX_PREFERENCES:
        raise error(f"preferences are a tuple of at most {_MAX_PREFERENCES} (key, value) pairs")
    previous = ""
    for pair in value:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise error("each preference is a (key, value) pair")
        key, text = pair
        if not isinstance(key, str) or len(key) > 32 or not FIELD_NAME_PATTERN.fullmatch(key):
            raise error(f"preference key {key!r} must match {FIELD_NAME_PATTERN.pattern}, <= 32")
        if key <= previous:
            raise error(f"preference keys are unique and ascending: {key!r} after {previous!r}")
        check_line(text, f"preference {key!r}", 64, error)
        previous = key


def birth_date(text: str, *, error: type[AmityError] = UsageError) -> datetime.date:
    """Parse a birth-date value ``YYYY-MM-DD`` (a real Gregorian date). See §2.1."""
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise error(f"{str(text)[:40]!r} is not a date written YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise error(f"{text} is not a date that exists") from None


# -- the wire form: [name, type, value] -----------------------------------------------------------


def field_to_value(item: Field) -> Value:
    """The canonical value of a field: ``[name, type, value]``. See spec/grants.md §2.2."""
    value = item.value
    wire: Value
    if isinstance(value, PostalAddress):
        wire = [value.street, value.city, value.postcode, value.country]
    elif isinstance(value, tuple):
        wire = [[key, text] for key, text in value]
    else:
        wire = value
    return [item.name, item.type.value, wire]


def field_from_value(value: Value, what: str = "field") -> Field:
    """Read ``[name, type, value]``; raises encoding.* for a bad shape, vault.bad_value for rules."""
    name, kind_name, wire = expect_array(value, what, arity=3)
    name = check_field_name(expect_str(name, f"{what} name", max_bytes=64), error=FieldValueError)
    kind_text = expect_str(kind_name, f"{what} type", max_bytes=32)
    try:
        kind = FieldType(kind_text)
    except ValueError:
        raise FieldValueError(f"{what} {name!r}: unknown field type {kind_text!r}") from None
    parsed: FieldValue
    if kind is FieldType.POSTAL_ADDRESS:
        parts = expect_array(wire, f"{what} {name!r}", arity=4)
        street, city, postcode, country = (
            expect_str(part, f"{what} {name!r}", max_bytes=256) for part in parts
        )
        parsed = PostalAddress(street, city, postcode, country)
    elif kind is FieldType.PREFERENCES:
        pairs = expect_array(wire, f"{what} {name!r}", max_len=_MAX_PREFERENCES)
        items = [expect_array(pair, f"{what} {name!r} pair", arity=2) for pair in pairs]
        parsed = tuple(
            (expect_str(k, "key", max_bytes=64), expect_str(v, "value", max_bytes=128))
            for k, v in items
        )
    else:
        parsed = expect_str(wire, f"{what} {name!r}", max_bytes=4096)
    try:
        _check_value(kind, parsed, FieldValueError)
    except FieldValueError as exc:
        raise FieldValueError(f"{what} {name!r} ({kind.value}): {exc.message}") from None
    return Field(name, kind, parsed)


def encode_field(item: Field) -> bytes:
    """``enc([name, type, value])``. See spec/grants.md §2.2."""
    return encode(field_to_value(item))


def decode_field(data: bytes) -> Field:
    """Decode one field; the inverse of :func:`encode_field`. See spec/grants.md §2.2."""
    return field_from_value(decode(data, max_bytes=MAX_FIELD_BYTES))


# -- sealed at rest (spec/grants.md §3) ------------------------------------------------------------


def vault_key(seed: bytes) -> bytes:
    """The vault key: keyed BLAKE2b-256 of the identity seed over ``amity/vault-key/v1\\0``."""
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise UsageError(f"an identity seed is {SEED_BYTES} bytes")
    return hashlib.blake2b(VAULT_KEY_DOMAIN, key=seed, digest_size=VAULT_KEY_BYTES).digest()


def _ad(name: str) -> bytes:
    return VAULT_AD_DOMAIN + name.encode("utf-8")


def seal_field(key: bytes, item: Field, nonce: bytes) -> bytes:
    """XChaCha20-Poly1305 of the field under ``key``, bound to its name. See spec/grants.md §3."""
    if len(key) != VAULT_KEY_BYTES or len(nonce) != VAULT_NONCE_BYTES:
        raise UsageError(f"seal_field takes a {VAULT_KEY_BYTES}-byte key and a fresh 24-byte nonce")
    box = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        encode_field(item), _ad(item.name), nonce, key
    )
    return encode([_SEALED_VERSION, nonce, box])


def open_field(key: bytes, sealed: bytes, *, name: str) -> Field:
    """Open a sealed field stored under ``name``; vault.decrypt_failed if anything was changed."""
    if len(key) != VAULT_KEY_BYTES:
        raise UsageError(f"a vault key is {VAULT_KEY_BYTES} bytes")
    check_field_name(name)
    fields = expect_array(decode(sealed, max_bytes=MAX_FIELD_BYTES + 64), "sealed field")
    expect_version(fields, _SEALED_VERSION, "sealed field")
    _, nonce, box = expect_array(fields, "sealed field", arity=3)
    nonce = expect_bytes(nonce, "sealed field nonce", size=VAULT_NONCE_BYTES)
    box = expect_bytes(box, "sealed field box", max_size=MAX_FIELD_BYTES + _TAG_BYTES)
    # Shorter than the tag cannot authenticate (and libsodium's binding raises ValueError on it).
    if len(box) < _TAG_BYTES:
        raise VaultDecryptError(
            f"vault field {name!r} has a box of {len(box)} bytes, shorter than its "
            f"{_TAG_BYTES}-byte tag: it was cut or changed at rest"
        )
    try:
        plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(box, _ad(name), nonce, key)
    except nacl.exceptions.CryptoError:
        raise VaultDecryptError(
            f"vault field {name!r} does not open with this key: it was changed at rest, moved "
            "from another row, or belongs to another identity's vault"
        ) from None
    opened = decode_field(plain)
    if opened.name != name:  # cannot happen without the key: the name is bound as associated data
        raise VaultDecryptError(f"vault row {name!r} holds field {opened.name!r}")
    return opened
