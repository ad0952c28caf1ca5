"""The things her node keeps: a key per thing (its seed sealed at rest with the vault key, the
thing's id bound as associated data) and the card that key signed (spec/things.md §3)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)

from amity.node.auditlog import AuditLog
from amity.node.store import Store
from amity.protocol.errors import NotFoundError
from amity.protocol.identity import SigningIdentity
from amity.protocol.things import ThingCard

__all__ = ["Thing", "ThingBook"]

#: Associated data of a thing's sealed seed: this prefix and the thing's key.
_SEED_AD: Final = b"amity/thing-seed/v1\x00"
_NONCE_BYTES: Final = 24


@dataclass(frozen=True, slots=True)
class Thing:
    """One thing she owns: its card, and when her node made it."""

    card: ThingCard
    added_ms: int

    @property
    def thing_id(self) -> str:
        return self.card.thing.key.hex()


class ThingBook:
    """Her things, in the store (read whole: a person owns tens, not millions)."""

    def __init__(self, store: Store, vault_key: bytes) -> None:
        self._store = store
        self._key = vault_key
        self.audit = AuditLog(store)

    def add(
        self,
        now_ms: int,
        *,
        maker: str,
        model: str,
        serial: str = "",
        purchase: bytes | None = None,
        warranty_until_ms: int | None = None,
        manuals: tuple[str, ...] = (),
        contacts: tuple[str, ...] = (),
    ) -> Thing:
        """Make a key for a new thing, sign its card, keep both and note it in the audit log,
        in one transaction; UsageError if a field breaks a rule of spec/things.md §2."""
        seed = os.urandom(32)
        identity = SigningIdentity(seed)
        issued = ThingCard.issue(
            identity,
            maker=maker,
            model=model,
            serial=serial,
            purchase=purchase,
            warranty_until_ms=warranty_until_ms,
            manuals=manuals,
            contacts=contacts,
            issued_ms=now_ms,
        )
        key = identity.peer_id.key
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(
            seed, _SEED_AD + key, nonce, self._key
        )
        with self._store.transaction():
            self._store.add_thing(key, now_ms, issued.encoded, sealed)
            detail = f"{issued.maker} {issued.model} (thing {key.hex()[:8]})"
            self.audit.append(now_ms, "thing.added", None, key, detail)
        return Thing(issued, now_ms)

    def all(self) -> list[Thing]:
        return [Thing(ThingCard.decode(card), at) for _, at, card, _ in self._store.thing_rows()]

    def get(self, key: bytes) -> Thing:
        for thing in self.all():
            if thing.card.thing.key == key:
                return thing
        raise NotFoundError(f"no thing {key.hex()[:8]}")

    def identity(self, thing: Thing) -> SigningIdentity:
        """The thing's key, unsealed (for what it signs later: its transfer)."""
        for key, _, _, sealed in self._store.thing_rows():
            if key == thing.card.thing.key:
                nonce, box = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
                seed = crypto_aead_xchacha20poly1305_ietf_decrypt(
                    box, _SEED_AD + key, nonce, self._key
                )
                return SigningIdentity(seed)
        raise NotFoundError(f"no thing {thing.thing_id[:8]}")
