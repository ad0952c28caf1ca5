"""A vault field as its owner types it (``amity vault set``, the API's ``value``) and as JSON.

What people type is normalised here (trimmed, country upper-cased) before the core's rules check
it (spec/grants.md §2). No store here: the command line's help reads :data:`TYPE_HELP` without
loading the daemon.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.errors import UsageError
from amity.protocol.vault import Field, FieldType, PostalAddress, check_field_name

__all__ = ["field_from_text", "value_to_json", "TYPE_HELP"]

#: How each type is written on the command line (and in the API's ``value`` when a string).
TYPE_HELP = {
    "name": "one line: Alice Example",
    "email": "alice@example.org",
    "phone": "E.164: +4930123456",
    "birth-date": "YYYY-MM-DD: 1990-04-01",
    "postal-address": "street; city; postcode; country: 'Hauptstr. 5; Berlin; 10115; DE'",
    "preferences": "key=value; key=value: 'shoe-size=42; shirt=M'",
    "text": "free-form text",
}


def _parts(text: str, separator: str) -> list[str]:
    return [part.strip() for part in text.split(separator)]


def field_from_text(name: str, type_name: str, value: Any) -> Field:
    """A field from what its owner typed (a string as in :data:`TYPE_HELP`, or JSON-like data)."""
    check_field_name(name)
    try:
        kind = FieldType(type_name)
    except ValueError:
        raise UsageError(
            f"unknown field type {type_name!r}; one of {', '.join(t.value for t in FieldType)}"
        ) from None
    if kind is FieldType.POSTAL_ADDRESS:
        if isinstance(value, dict):
            keys = ("street", "city", "postcode", "country")
            parts = [str(value.get(key, "")).strip() for key in keys]
        elif isinstance(value, str):
            parts = _parts(value, ";")
        else:
            raise UsageError("a postal address is 'street; city; postcode; country'")
        if len(parts) != 4:
            raise UsageError(f"a postal address has 4 parts: {TYPE_HELP['postal-address']}")
        street, city, postcode, country = parts
        return Field(name, kind, PostalAddress(street, city, postcode, country.upper()))
    if kind is FieldType.PREFERENCES:
        if isinstance(value, dict):
            pairs = [(str(k).strip(), str(v).strip()) for k, v in value.items()]
        elif isinstance(value, str):
            pairs = []
            for item in (p for p in _parts(value, ";") if p):
                key, sep, text = item.partition("=")
                if not sep:
                    raise UsageError(f"preference {item!r} is not key=value")
                pairs.append((key.strip(), text.strip()))
        else:
            raise UsageError("preferences are 'key=value; key=value'")
        return Field(name, kind, tuple(sorted(pairs)))
    if not isinstance(value, str):
        raise UsageError(f"a {kind.value} value is a string: {TYPE_HELP[kind.value]}")
    return Field(name, kind, value if kind is FieldType.TEXT else value.strip())


def value_to_json(item: Field) -> Any:
    """A field's value for the API and the CLI's ``--json``."""
    value = item.value
    if isinstance(value, PostalAddress):
        return {
            "street": value.street,
            "city": value.city,
            "postcode": value.postcode,
            "country": value.country,
        }
    if isinstance(value, tuple):
        return dict(value)
    return value
