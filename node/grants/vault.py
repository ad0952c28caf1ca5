"""The person's vault in the store: typed fields, each sealed at rest with the vault key.

Values are sealed with ``vault_key(seed)`` (XChaCha20-Poly1305, the field's name bound as
associated data) before they reach SQLite; the type stays in clear so that ``amity vault list``
shows names and types without opening anything. How people type a field: fields.py. See
spec/grants.md §2 and §3.
"""

from __future__ import annotations

import os

from amity.node.store import Store, VaultRow
from amity.protocol.vault import (
    VAULT_NONCE_BYTES,
    Field,
    FieldType,
    open_field,
    seal_field,
    vault_key,
)

__all__ = ["Vault"]


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
