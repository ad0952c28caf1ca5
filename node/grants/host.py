"""The daemon's records as the grants core reads them (amity.protocol.core.grants.host).

Agreements from the terms service's table, holdings from the holding book (changes staged for
the next commit visible at once), issued grants, queries and the person's rule from the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Final

from amity.node.daemon import Node
from amity.node.grants.holdings import HoldingBook
from amity.node.grants.vault import Vault
from amity.node.store import AgreementRow
from amity.protocol.agreement import Agreement
from amity.protocol.core.grants.host import AgreementRecord, AskedQuery
from amity.protocol.core.grants.rule import SharingRule
from amity.protocol.core.grants.updates import IssuedRecord
from amity.protocol.grants import Grant
from amity.protocol.holder import Holding
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import Relationship

__all__ = ["NodeGrantsHost", "AUTO_APPROVE_KEY", "RULE_KEY"]

AUTO_APPROVE_KEY: Final = "grants.auto_approve"
RULE_KEY: Final = "grants.rule"


class NodeGrantsHost:
    """The grants core's host on the daemon: plain reads of the store and the books."""

    def __init__(self, node: Node, vault: Vault, book: HoldingBook) -> None:
        self.node = node
        self._vault = vault
        self.book = book
        #: Checks a new grant must pass (the reputation service's cut-off); each raises to refuse.
        self.gates: list[Callable[[PeerId], None]] = []
        #: Agreements are immutable: each is decoded (and its signatures checked) once.
        self._agreements: dict[bytes, Agreement] = {}

    @property
    def keyring(self) -> Keyring:
        return self.node.keyring

    @property
    def keeps_data(self) -> bool:
        return "keep-data" in self.node.misbehave

    @property
    def vault(self) -> Vault:
        return self._vault

    @property
    def rule(self) -> SharingRule:
        raw = self.node.store.get_meta(RULE_KEY)
        if raw is None:  # before the rule had fields: the bare on/off switch
            return SharingRule(auto_approve=self.node.store.get_meta(AUTO_APPROVE_KEY) == b"1")
        return SharingRule.from_json(json.loads(raw))

    def relationship(self, peer: PeerId) -> Relationship | None:
        return self.node.book.current(peer)

    def check_grantee(self, peer: PeerId) -> None:
        for gate in self.gates:
            gate(peer)

    def agreement(self, agreement_id: bytes) -> AgreementRecord | None:
        row = self.node.store.agreement(agreement_id)
        return None if row is None else self._record(row)

    def agreed_peers(self) -> list[PeerId]:
        return [PeerId(key) for key in self.node.store.agreed_peers()]

    def agreements_with(self, peer: PeerId) -> Sequence[AgreementRecord]:
        return [self._record(row) for row in self.node.store.agreements(peer_id=peer.key)]

    def _record(self, row: AgreementRow) -> AgreementRecord:
        found = self._agreements.get(row.agreement_id)
        if found is None:
            found = self._agreements[row.agreement_id] = Agreement.decode(row.encoded)
        return AgreementRecord(found, PeerId(row.peer_id), row.superseded_by, row.ended_ms)

    def holding(self, grant_id: bytes) -> Holding | None:
        return self.book.get(grant_id)

    def held_from(self, grantor: PeerId | None = None) -> Sequence[Holding]:
        return self.book.find(grantor=grantor, held_only=True)

    def issued_to(self, grant_id: bytes) -> PeerId | None:
        rows = self.node.store.issued_grants(id_prefix=grant_id.hex(), limit=1)
        return PeerId(rows[0].peer_id) if rows else None

    def issued_records(self) -> list[IssuedRecord]:
        """Every grant we issued, with what the update rule asks of it (spec/signals.md §2)."""
        store = self.node.store
        deleted = {row.grant_id for row in store.grant_receipts() if row.kind == "deletion"}
        return [
            IssuedRecord(
                Grant.decode(row.encoded),
                revoked=row.revocation is not None,
                deleted=row.grant_id in deleted,
                version=row.update_version,
            )
            for row in store.issued_grants(limit=1_000_000)
        ]

    def asked(self, query_id: bytes) -> AskedQuery | None:
        query = self.node.store.holdings_query(query_id)
        if query is None:
            return None
        return AskedQuery(PeerId(query.peer_id), query.statement is not None)
