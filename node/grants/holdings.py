"""The grantee's book of holdings: holder records in the store, their values sealed beside them.

A :class:`~amity.protocol.holder.Holding` is stored as a JSON record without values (the signed
grant as hex, the state, the timers) and, while it is HELD, one ``held_values`` row per field or
derived claim, sealed with the node's own vault key, so that ``DeleteData`` is a real DELETE of
exactly those rows. Changes are visible to lookups at once and reach the disk with the next group
commit, as in node/terms/negotiations.py. See spec/grants.md §8.1 and §8.4.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Final

import nacl.bindings
import nacl.exceptions

from amity.node.store import HoldingRow, Store
from amity.protocol.claims import DERIVATIONS, DerivedClaim
from amity.protocol.errors import VaultDecryptError
from amity.protocol.grants import Grant
from amity.protocol.holder import Holding, HoldingState
from amity.protocol.identity import PeerId
from amity.protocol.receipts import DeletionReason
from amity.protocol.vault import VAULT_NONCE_BYTES, open_field, seal_field

__all__ = ["HoldingBook", "holding_to_json", "holding_from_json"]

#: Associated data of a sealed derived claim at rest (node-local; fields use spec §3 as it is).
_HELD_CLAIM_DOMAIN: Final = b"amity/held-claim/v1\x00"


def holding_to_json(holding: Holding) -> str:
    """The stored record of a holding: every field but the values."""
    reason = holding.deletion_reason
    record: dict[str, Any] = {
        "grant": holding.grant.encoded.hex(),
        "state": holding.state.value,
        "received_ms": holding.received_ms,
        "end_deadline_ms": holding.end_deadline_ms,
        "timer_token": holding.timer_token,
        "timer_at_ms": holding.timer_at_ms,
        "timers_armed": holding.timers_armed,
        "deleted_ms": holding.deleted_ms,
        "deletion_reason": None if reason is None else reason.value,
        "version": holding.version,
    }
    return json.dumps(record, sort_keys=True)


def holding_from_json(
    text: str, fields: tuple[Any, ...] = (), claims: tuple[DerivedClaim, ...] = ()
) -> Holding:
    """Inverse of :func:`holding_to_json`; the grant's signature is checked again."""
    r = json.loads(text)
    reason = r["deletion_reason"]
    return Holding(
        grant=Grant.decode(bytes.fromhex(r["grant"])),
        state=HoldingState(r["state"]),
        received_ms=r["received_ms"],
        fields=fields,
        claims=claims,
        end_deadline_ms=r["end_deadline_ms"],
        timer_token=r["timer_token"],
        timer_at_ms=r["timer_at_ms"],
        timers_armed=r["timers_armed"],
        deleted_ms=r["deleted_ms"],
        deletion_reason=None if reason is None else DeletionReason(reason),
        version=r.get("version", 0),
    )


class HoldingBook:
    """Holdings by grant id, with changes staged for the next commit visible at once."""

    def __init__(self, store: Store, key: bytes) -> None:
        self._store = store
        self._key = key
        self._pending: dict[bytes, Holding] = {}

    # -- writes (inside the caller's transaction) --------------------------------------------------

    def save(self, holding: Holding, now_ms: int) -> None:
        """Write the record and, while HELD, its sealed values (values already stored stay: an
        update replaces them by deleting them first, spec/signals.md §2.3)."""
        grant = holding.grant
        self._store.save_holding(
            HoldingRow(
                grant_id=grant.grant_id,
                grantor=grant.grantor.key,
                state=holding.state.value,
                record=holding_to_json(holding),
                timer_at_ms=holding.timer_at_ms,
                updated_ms=now_ms,
            )
        )
        if holding.state is not HoldingState.HELD:
            return
        for item in holding.fields:
            sealed = seal_field(self._key, item, os.urandom(VAULT_NONCE_BYTES))
            self._store.add_held_value(grant.grant_id, item.name, sealed)
        for claim in holding.claims:
            self._store.add_held_value(grant.grant_id, claim.kind, self._seal_claim(claim))

    def delete_values(self, grant_id: bytes) -> None:
        """Erase every value of the grant from the store (a DELETE of its rows)."""
        self._store.delete_held_values(grant_id)

    # -- staging -----------------------------------------------------------------------------------

    def remember(self, holding: Holding) -> None:
        """Make ``holding`` what lookups return now, before its row is committed."""
        self._pending[holding.grant.grant_id] = holding

    def committed(self, holding: Holding) -> None:
        """``holding`` is on disk: forget the staged copy unless a newer change replaced it."""
        if self._pending.get(holding.grant.grant_id) is holding:
            del self._pending[holding.grant.grant_id]

    # -- lookups -----------------------------------------------------------------------------------

    def get(self, grant_id: bytes, *, values: bool = True) -> Holding | None:
        found = self._pending.get(grant_id)
        if found is not None:
            return found
        rows = self._store.holdings(grant_id=grant_id)
        return self._load(rows[0], values) if rows else None

    def find(
        self,
        *,
        grantor: PeerId | None = None,
        held_only: bool = False,
        id_prefix: str | None = None,
        values: bool = False,
    ) -> list[Holding]:
        """Holdings, newest first: all, from ``grantor``, HELD only, or by hex id prefix."""
        rows = self._store.holdings(
            grantor=None if grantor is None else grantor.key,
            state=HoldingState.HELD.value if held_only else None,
            id_prefix=id_prefix,
        )
        found = {row.grant_id: row for row in rows}
        result = {
            gid: h for gid, h in self._pending.items() if self._matches(h, grantor, id_prefix)
        }
        for gid, row in found.items():
            if gid not in result:
                result[gid] = self._load(row, values)
        held = [h for h in result.values() if not held_only or h.state is HoldingState.HELD]
        return sorted(held, key=lambda h: h.received_ms, reverse=True)

    def pages(self, size: int) -> Iterator[list[Holding]]:
        """Every committed holding, ``size`` at a time in grant-id order (values left sealed):
        what an export streams without holding them all in memory."""
        after: bytes | None = None
        while rows := self._store.holdings_after(after, size):
            yield [holding_from_json(row.record) for row in rows]
            after = rows[-1].grant_id

    def with_timers(self) -> list[Holding]:
        """Holdings waiting on a deletion timer (to re-arm after a restart)."""
        return [self._load(row, False) for row in self._store.holdings(with_timer=True)]

    @staticmethod
    def _matches(holding: Holding, grantor: PeerId | None, id_prefix: str | None) -> bool:
        return (grantor is None or holding.grant.grantor == grantor) and (
            id_prefix is None or holding.grant.grant_id.hex().startswith(id_prefix.lower())
        )

    def _load(self, row: HoldingRow, values: bool) -> Holding:
        if not values or row.state != HoldingState.HELD.value:
            return holding_from_json(row.record)
        fields = []
        claims = []
        for name, sealed in self._store.held_values(row.grant_id):
            if name in DERIVATIONS:
                claims.append(self._open_claim(row.grant_id, name, sealed))
            else:
                fields.append(open_field(self._key, sealed, name=name))
        holding = holding_from_json(row.record)
        order = {name: i for i, name in enumerate(holding.grant.fields)}
        fields.sort(key=lambda f: order.get(f.name, 0))
        claims.sort(key=lambda c: order.get(c.kind, 0))
        return replace(holding, fields=tuple(fields), claims=tuple(claims))

    # -- derived claims at rest --------------------------------------------------------------------

    def _seal_claim(self, claim: DerivedClaim) -> bytes:
        nonce = os.urandom(VAULT_NONCE_BYTES)
        ad = _HELD_CLAIM_DOMAIN + claim.grant_id + claim.kind.encode()
        box = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
            claim.encoded, ad, nonce, self._key
        )
        return nonce + box

    def _open_claim(self, grant_id: bytes, kind: str, sealed: bytes) -> DerivedClaim:
        nonce, box = sealed[:VAULT_NONCE_BYTES], sealed[VAULT_NONCE_BYTES:]
        ad = _HELD_CLAIM_DOMAIN + grant_id + kind.encode()
        try:
            plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                box, ad, nonce, self._key
            )
        except (nacl.exceptions.CryptoError, ValueError):
            raise VaultDecryptError(
                f"the held {kind} claim of grant {grant_id.hex()[:8]} does not open: it was "
                "changed at rest or moved from another row"
            ) from None
        return DerivedClaim.decode(plain)
