"""The person's vault in the store: typed fields, each sealed at rest with the vault key.

Values are sealed with ``vault_key(seed)`` (XChaCha20-Poly1305, the field's name bound as
associated data) before they reach SQLite; the type stays in clear so that ``amity vault list``
shows names and types without opening anything. What people type is normalised here (trimmed,
country upper-cased) before the core's rules check it. See spec/grants.md §2 and §3.
"""

from __future__ import annotations

import os
from typing import Any

from amity.node.store import Store, VaultRow
from amity.protocol.errors import UsageError
from amity.protocol.vault import (
    VAULT_NONCE_BYTES,
    Field,
    FieldType,
    PostalAddress,
    check_field_name,
    open_field,
    seal_field,
    vault_key,
)

__all__ = ["Vault", "field_from_text", "value_to_json", "TYPE_HELP"]

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


class Vault:
    """The vault of one node: fields sealed with the key derived from its identity seed."""

    def __init__(self, store: Store, seed: bytes) -> None:
        self._store = store
        self._key = vault_key(seed)

    @property
    def key(self) -> bytes:
        """The vault key: also what the node seals values it holds for others with (§8.4)."""
        return self._key

    def seal(self, item: Field) -> bytes:
        return seal_field(self._key, item, os.urandom(VAULT_NONCE_BYTES))

    def put(self, item: Field, now_ms: int) -> None:
        """Store (or replace) a field; call inside a store transaction."""
        self._store.put_vault(VaultRow(item.name, item.type.value, self.seal(item), now_ms))

    def delete(self, name: str) -> bool:
        """Remove a field (call inside a store transaction); False if there was none."""
        return self._store.delete_vault(name)

    def get(self, name: str) -> Field | None:
        """The field called ``name``, opened (vault.decrypt_failed if it was tampered with)."""
        rows = self._store.vault(name)
        return open_field(self._key, rows[0].sealed, name=name) if rows else None

    def listing(self) -> list[VaultRow]:
        """Every field's row: name, type and when it changed (values stay sealed)."""
        return self._store.vault()

    def of_type(self, kind: FieldType) -> Field | None:
        """The field to derive a claim from: the one named after ``kind``, else the only one."""
        rows = [row for row in self._store.vault() if row.type == kind.value]
        preferred = [row for row in rows if row.name == kind.value] or rows
        if len(preferred) != 1:
            return None
        return open_field(self._key, preferred[0].sealed, name=preferred[0].name)
