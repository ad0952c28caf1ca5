"""The node's audit log: every grant step, hash-chained, appended in the step's own transaction.

The chain itself is :mod:`amity.protocol.audit`; here it meets the store. The head (length and
hash of the last entry) is kept in the meta table beside the entries, so a log cut at the end
fails verification too. :meth:`AuditLog.append` reads the head inside the caller's transaction,
which makes entries staged in one group commit follow each other in order. See spec/grants.md §9.
"""

from __future__ import annotations

from typing import Final

from amity.node.store import AuditRow, Store
from amity.protocol.audit import (
    GENESIS,
    HASH_BYTES,
    MAX_DETAIL_BYTES,
    AuditEntry,
    AuditHead,
    decode_entry,
    entry_hash,
    verify_chain,
)
from amity.protocol.audit import append as append_entry
from amity.protocol.errors import AuditChainError
from amity.protocol.identity import PeerId

__all__ = ["AuditLog", "HEAD_KEY"]

#: The meta key of the head: 8-byte big-endian length, then the 32-byte hash of the last entry.
HEAD_KEY: Final = "audit.head"


def _clip(text: str) -> str:
    """``text`` cut to the detail limit on a character boundary (details are for people)."""
    data = text.encode("utf-8")
    if len(data) <= MAX_DETAIL_BYTES:
        return text
    return data[: MAX_DETAIL_BYTES - 3].decode("utf-8", errors="ignore") + "..."


class AuditLog:
    """Append-only, hash-chained record of offers, grants, deliveries, reads and deletions."""

    def __init__(self, store: Store) -> None:
        self._store = store
        #: How far this process has verified the chain (see :meth:`recent`).
        self._checked = GENESIS

    def head(self) -> AuditHead:
        raw = self._store.get_meta(HEAD_KEY)
        if raw is None:
            return GENESIS
        if len(raw) != 8 + HASH_BYTES:
            raise AuditChainError(f"the stored audit head is {len(raw)} bytes, not 40")
        return AuditHead(int.from_bytes(raw[:8], "big"), raw[8:])

    def append(
        self, ts_ms: int, kind: str, peer: PeerId | None, subject: bytes = b"", detail: str = ""
    ) -> None:
        """Add one entry and move the head (call inside a store transaction)."""
        head = self.head()
        entry, new_head = append_entry(
            head, ts_ms=ts_ms, kind=kind, peer=peer, subject=subject, detail=_clip(detail)
        )
        peer_key = None if peer is None else peer.key
        self._store.add_audit(AuditRow(head.length, peer_key, kind, ts_ms, entry))
        self._store.set_meta(HEAD_KEY, new_head.length.to_bytes(8, "big") + new_head.hash)

    def recent(self, count: int) -> tuple[AuditHead, list[AuditEntry]]:
        """The newest ``count`` entries, once the chain checks out up to the head.

        The first call verifies the whole chain; later ones only what was appended since the
        last check, after checking that the entry it ended at is still the same bytes. So a page
        that shows what changed lately costs the same at ten entries as at a million, and still
        notices an appended, cut or reordered log and an edit of the newest entries. An edit
        deep in the log made while the node runs is found by :meth:`verified` (the audit page,
        ``amity log``), and by this method's first call after a restart. Raises
        audit.broken_chain as :meth:`verified` does.
        """
        head = self.head()
        checked = self._checked if self._checked.length <= head.length else GENESIS
        rows = self._store.audit_entries(max(0, checked.length - 1))
        if checked.length:  # the entry the last check ended at must be the same bytes
            if rows and entry_hash(rows[0].entry) == checked.hash:
                rows = rows[1:]
            else:  # changed under us: verify it all, to say what
                checked, rows = GENESIS, self._store.audit_entries()
        self._checked = verify_chain([row.entry for row in rows], start=checked, head=head)
        if len(rows) < count:
            rows = self._store.audit_entries(max(0, head.length - count))
        newest = rows[-count:]
        return head, [decode_entry(row.entry) for row in newest]

    def verified(self, peer: PeerId | None = None) -> tuple[AuditHead, list[AuditEntry]]:
        """Verify the whole chain against the head; then its entries (about ``peer`` if given).

        Raises audit.broken_chain if any entry was edited, removed, inserted or reordered, or
        the log does not end where its head says.
        """
        rows = self._store.audit_entries()
        head = verify_chain([row.entry for row in rows], head=self.head())
        wanted = None if peer is None else peer.key
        entries = [
            decode_entry(row.entry) for row in rows if wanted is None or row.peer_id == wanted
        ]
        return head, entries
