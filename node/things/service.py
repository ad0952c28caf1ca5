"""The things service on a daemon: her things in memory, mirrored to SQLite in each commit.

What a transfer or an acceptance means is amity.protocol.core.things; here its effects become
one staged commit (the record, the thing's key sealed with the vault key or forgotten, the
message in the outbox, an audit entry) and, once on disk, an event. See spec/things.md §3-4.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)

from amity.node.auditlog import AuditLog
from amity.node.services import SmallService, Staged
from amity.node.store import ThingRow
from amity.protocol.card import NodeKind
from amity.protocol.core import things as core
from amity.protocol.core.things import OWNED, SaveThing, ThingRecord, ThingsEffect
from amity.protocol.encoding import decode, encode, expect_array, expect_bytes
from amity.protocol.envelope import Envelope
from amity.protocol.errors import NotFoundError, ThingPartyError
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.relationship import Relationship, SendMessage
from amity.protocol.things import ThingCard
from amity.protocol.thingtransfer import Sale, Transfer

if TYPE_CHECKING:
    from amity.node.daemon import Node

__all__ = ["ThingsService", "seal_seed", "open_seed"]

#: Associated data of a thing's sealed seed: this prefix and the thing's key.
_SEED_AD: Final = b"amity/thing-seed/v1\x00"
_NONCE_BYTES: Final = 24


def seal_seed(vault_key: bytes, thing: bytes, seed: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(
        seed, _SEED_AD + thing, nonce, vault_key
    )


def open_seed(vault_key: bytes, thing: bytes, sealed: bytes) -> bytes:
    nonce, box = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    return crypto_aead_xchacha20poly1305_ietf_decrypt(box, _SEED_AD + thing, nonce, vault_key)


def _record(row: ThingRow) -> ThingRecord:
    _, at_ms, card, state, transfer, history = row
    sales = expect_array(decode(history), "thing history")
    return ThingRecord(
        ThingCard.decode(card),
        state,
        at_ms,
        None if transfer is None else Transfer.decode(transfer),
        tuple(Sale.decode(expect_bytes(s, "thing sale")) for s in sales),
    )


class ThingsService(SmallService):
    """See the module docstring; the host of amity.protocol.core.things too."""

    types: frozenset[str] = core.TYPES

    def __init__(self, node: Node, vault_key: bytes) -> None:
        super().__init__(node)
        self._vault_key = vault_key
        self.audit = AuditLog(node.store)
        self.records: dict[bytes, ThingRecord] = {
            row[0]: _record(row) for row, _ in node.store.thing_rows()
        }

    # -- the host (with SmallService's keyring and relationship) ----------------------------------

    def thing(self, key: bytes) -> ThingRecord | None:
        return self.records.get(key)

    def thing_key(self, key: bytes) -> SigningIdentity:
        for row, sealed in self.node.store.thing_rows():
            if row[0] == key and sealed:
                return SigningIdentity(open_seed(self._vault_key, key, sealed))
        raise NotFoundError(f"this node holds no key for thing {key.hex()[:8]}")

    # -- peers' messages (the Service protocol) ---------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        if self.node.identity.kind is not NodeKind.PERSON:
            raise ThingPartyError("things are sold to a person's node; this node is not one")
        return self._stage(core.receive(self, envelope, now_ms), now_ms, envelope.sender)

    # -- what the owner asks ----------------------------------------------------------------------

    async def add(
        self,
        *,
        maker: str,
        model: str,
        serial: str = "",
        purchase: bytes | None = None,
        warranty_until_ms: int | None = None,
        manuals: tuple[str, ...] = (),
        contacts: tuple[str, ...] = (),
    ) -> ThingRecord:
        """Make a key for a new thing and sign its card; UsageError if a field breaks a rule."""
        now = self.node.clock_ms()
        seed = os.urandom(32)
        card = ThingCard.issue(
            SigningIdentity(seed), maker=maker, model=model, serial=serial, purchase=purchase,
            warranty_until_ms=warranty_until_ms, manuals=manuals, contacts=contacts,
            issued_ms=now,
        )  # fmt: skip
        record = ThingRecord(card, OWNED, now)
        await self.node.commit(self._stage([SaveThing(record, "added", seed=seed)], now, None))
        return record

    async def offer(self, key: bytes, buyer: PeerId) -> ThingRecord:
        now = self.node.clock_ms()
        record, effects = core.offer(self, key, buyer, now, ephemeral_private=os.urandom(32))
        await self.node.commit(self._stage(effects, now, buyer))
        return record

    async def accept(self, key: bytes) -> ThingRecord:
        now = self.node.clock_ms()
        record, effects = core.accept(self, key, now)
        assert record.history
        await self.node.commit(self._stage(effects, now, record.history[-1].transfer.seller))
        return record

    def _stage(self, effects: list[ThingsEffect], now_ms: int, peer: PeerId | None) -> Staged:
        saved = []
        for effect in effects:
            if isinstance(effect, SaveThing):
                saved.append(self._saved(effect, now_ms, peer))
        sends = [e for e in effects if isinstance(e, SendMessage)]
        return self.stage_saved(sends, saved)

    def _saved(
        self, effect: SaveThing, now_ms: int, peer: PeerId | None
    ) -> tuple[Callable[[], None], str, dict[str, object]]:
        """The write of one record (and its audit entry), its event and the event's detail."""
        record = effect.record
        self.records[record.key] = record
        sealed = (
            None if effect.seed is None else seal_seed(self._vault_key, record.key, effect.seed)
        )
        if effect.forget:
            sealed = b""
        transfer = None if record.transfer is None else record.transfer.encoded
        history = encode([s.encoded for s in record.history])
        row: ThingRow = (
            record.key, record.at_ms, record.card.encoded, record.state, transfer, history,
        )  # fmt: skip
        card = record.card
        detail = f"{card.maker} {card.model} (thing {record.key.hex()[:8]}) {effect.what}"

        def write() -> None:
            self.node.store.put_thing(row, sealed)
            self.audit.append(now_ms, f"thing.{record.state}", peer, record.key, detail)

        event: dict[str, object] = {
            "thing": record.key.hex(),
            "state": record.state,
            "maker": card.maker,
        }
        return write, f"thing.{effect.what.replace(' ', '_')}", event
