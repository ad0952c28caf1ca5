"""The owner's own attestations: automatic ones from her grants, manual ones, review, rebuttals.

Part of the reputation service (:mod:`amity.node.reputation.service`): for every grant the node
issued it signs the verdict its receipts give (:mod:`amity.protocol.verdicts`, spec/reputation.md
§6.2), held for the owner's review unless her policy shares them at once; she can attest by hand,
approve or withhold her own, and rebut one about her. Each is an audit entry.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from amity.node.grants.grantor import hex_prefix, write
from amity.node.logs import log_event
from amity.node.services import Staged
from amity.node.store import AttestationRow
from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Rebuttal, Verdict
from amity.protocol.core.reputation import commands
from amity.protocol.core.reputation.attesting import attest, judge
from amity.protocol.core.reputation.policy import DAY_MS
from amity.protocol.errors import NodeError, NotFoundError, UsageError
from amity.protocol.identity import PeerId
from amity.protocol.sharing import APPROVED, WITHHELD
from amity.protocol.verdicts import ReceiptRecord

if TYPE_CHECKING:
    from amity.node.reputation.service import ReputationService

__all__ = ["OwnAttestations", "attestation_row"]

_log = logging.getLogger("amity.reputation")


def attestation_row(
    a: Attestation, origin: bytes | None, hops: int, review: str, cause: bytes | None, now: int
) -> AttestationRow:
    """The store's row for an attestation held from ``now`` on (``origin`` None: ours)."""
    return AttestationRow(
        a.attestation_id,
        a.attester.key,
        a.subject.key,
        a.verdict.value,
        a.encoded,
        a.issued_ms,
        a.expires_ms,
        origin,
        hops,
        review,
        cause,
        now,
    )


class OwnAttestations:
    """What the owner says of her peers: signed, kept, reviewed, and answered."""

    def __init__(self, service: ReputationService) -> None:
        self.service = service
        self.node = service.node

    # -- automatic attestations --------------------------------------------------------------------

    def due(self, now: int) -> int | None:
        """Sign what the grants issued say (§6.2); the earliest deadline still ahead, if any."""
        store = self.node.store
        caused = store.caused() | self.service.revoked_by_policy()
        policy = self.service.policy
        next_ms: int | None = None
        staged = Staged()
        for row in store.issued_grants(limit=1_000_000):
            if row.grant_id in caused:
                continue
            receipts = [
                ReceiptRecord(r.kind, r.received_ms, r.encoded)
                for r in store.grant_receipts(row.grant_id)
            ]
            judgement = judge(
                grant_encoded=row.encoded,
                not_after_ms=row.not_after_ms,
                revoked_ms=row.revoked_ms,
                receipts=receipts,
                policy=policy,
                now_ms=now,
            )
            if judgement.finding is None:
                deadline = judgement.look_again_ms
                if deadline is not None:
                    next_ms = deadline if next_ms is None else min(next_ms, deadline)
                continue
            agreement = self._agreement(row.agreement_id)
            if agreement is None:
                continue
            own = attest(
                self.node.keyring.identity,
                agreement,
                row.grant_id,
                judgement.finding,
                policy=policy,
                now_ms=now,
            )
            staged.extend(self.keep(own.attestation, own.review, now, cause=own.cause))
        if staged.writes:
            self.node.commit(staged)
        return next_ms

    def _agreement(self, agreement_id: bytes) -> Agreement | None:
        rows = self.node.store.agreements(id_prefix=agreement_id.hex(), limit=1)
        return Agreement.decode(rows[0].encoded) if rows else None

    def keep(
        self, attestation: Attestation, review: str, now: int, *, cause: bytes | None = None
    ) -> Staged:
        """Store one of our own attestations, with an audit entry; then count and share it."""
        aid = attestation.attestation_id
        row = attestation_row(attestation, None, 0, review, cause, now)
        writes = [write(self.node.store.add_attestation, row)]
        if self.service.grants is not None:
            detail = (
                f"{attestation.verdict.value} {attestation.clause_id}"
                f"{' (automatic)' if cause else ''}; {review}: {attestation.note}"
            )
            writes.append(
                functools.partial(
                    self.service.grants.audit.append,
                    now,
                    "attestation.made",
                    attestation.subject,
                    aid,
                    detail,
                )
            )
        event = {
            "attestation": aid.hex(),
            "subject": attestation.subject.did,
            "verdict": attestation.verdict.value,
            "clause": attestation.clause_id,
            "review": review,
            "automatic": cause is not None,
        }

        def kept() -> None:
            self.service.hold(attestation)
            log_event(
                _log,
                "reputation.attested",
                subject=attestation.subject.short,
                verdict=attestation.verdict.value,
                review=review,
            )
            self.node.events.publish("reputation.attested", event)
            self.service.poke(dirty=True)

        return Staged(writes=writes, after=[kept])

    async def attest(
        self,
        peer: PeerId,
        *,
        clause_id: str,
        verdict: Verdict,
        agreement: str | None = None,
        evidence: Iterable[bytes] = (),
        note: str = "",
        days: int | None = None,
    ) -> Attestation:
        """Sign an attestation about ``peer`` under an agreement with it; approved for sharing."""
        rows = self.node.store.agreements(
            peer_id=peer.key,
            id_prefix=None if agreement is None else hex_prefix(agreement, "agreement"),
            limit=2,
        )
        if not rows:
            raise NotFoundError(
                f"no agreement {'' if agreement is None else repr(agreement) + ' '}with "
                f"{self.node.book.name_of(peer)}: an attestation needs an agreement you both signed"
            )
        if agreement is not None and len(rows) > 1:
            raise NodeError(f"{agreement!r:.40} names more than one agreement; give more of it")
        now = self.node.clock_ms()
        life_days = self.service.policy.attestation_days if days is None else days
        if isinstance(life_days, bool) or not isinstance(life_days, int) or life_days < 1:
            raise UsageError("days is a whole number >= 1")
        attestation = Attestation.issue(
            self.node.keyring.identity,
            Agreement.decode(rows[0].encoded),
            clause_id=clause_id,
            verdict=verdict,
            evidence=evidence,
            issued_ms=now,
            expires_ms=now + life_days * DAY_MS,
            note=note,
        )
        await self.node.commit(self.keep(attestation, APPROVED, now))
        return attestation

    def one(self, id_prefix: str) -> AttestationRow:
        """The one attestation held whose hex id starts with ``id_prefix``."""
        rows = self.node.store.attestations(id_prefix=hex_prefix(id_prefix, "attestation"), limit=2)
        if len(rows) != 1:
            if rows:
                raise NodeError(f"{id_prefix!r:.40} names more than one attestation; give more")
            raise NotFoundError(
                f"no attestation {id_prefix!r:.40} here; `amity attestations` lists them"
            )
        return rows[0]

    async def review(self, id_prefix: str, decision: str) -> AttestationRow:
        """Approve one of our own attestations for sharing, or withhold it."""
        if decision not in (APPROVED, WITHHELD):
            raise UsageError("the review decision is approved or withheld")
        row = self.one(id_prefix)
        if row.origin is not None:
            raise NodeError("that attestation came from a peer; only your own are reviewed")
        await self.node.commit(
            Staged(
                writes=[write(self.node.store.set_review, row.attestation_id, decision)],
                after=[self.service.poke],
            )
        )
        return self.one(row.attestation_id.hex())

    # -- rebuttals ---------------------------------------------------------------------------------

    async def rebut(self, id_prefix: str, text: str) -> tuple[Rebuttal, list[PeerId]]:
        """Answer an attestation about us: keep the rebuttal, send it to whoever is reachable."""
        row = self.one(id_prefix)
        attestation = Attestation.decode(row.encoded)
        origin = None if row.origin is None else PeerId(row.origin)
        now = self.node.clock_ms()
        rebuttal, reachable, effects = commands.rebut(
            self.node.keyring.identity,
            attestation,
            origin,
            text,
            connected=self.service.is_connected,
            now_ms=now,
        )
        await self.node.commit(self.service.perform(effects, now))
        return rebuttal, reachable
