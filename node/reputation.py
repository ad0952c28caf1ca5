"""The reputation service: attestations made and received, local trust, sharing and cutting off.

It handles ``reputation.share``, ``reputation.query`` and ``reputation.rebut`` (the Service
protocol), keeps every attestation it holds in memory, decoded, and recomputes the owner's local
trust (:func:`amity.protocol.trust.compute_trust`) when they change. One background loop does the
slow work in order: automatic attestations from the grants this node issued
(:mod:`amity.protocol.verdicts`), re-evaluation and cut-off (the owner's
:class:`~amity.node.reputationpolicy.ReputationPolicy`), and sharing by per-peer policy
(:mod:`amity.node.sharing`). See spec/reputation.md §6.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Iterable
from typing import Any, Final

from amity.node.daemon import Node
from amity.node.grantor import connected, hex_prefix, write
from amity.node.grants import GrantsService
from amity.node.logs import log_event
from amity.node.reputationpolicy import POLICY_KEY, ReputationPolicy
from amity.node.services import Outgoing, Staged
from amity.node.sharing import (
    APPROVED,
    PENDING,
    RECEIVED,
    WITHHELD,
    ShareMode,
    SharePolicy,
    select,
)
from amity.node.store import AttestationRow, IssuedGrantRow, SharePolicyRow
from amity.node.terms import TermsService
from amity.protocol.agreement import Agreement
from amity.protocol.attestation import MAX_NOTE_BYTES, Attestation, Rebuttal, Verdict
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    AmityError,
    AttestationExpiredError,
    CutOffError,
    NodeError,
    NotFoundError,
    RebuttalMismatchError,
    ReputationQuotaError,
    UnknownAttestationError,
    UsageError,
)
from amity.protocol.identity import PeerId
from amity.protocol.relationship import Relationship, RelationshipState
from amity.protocol.reputationmessages import (
    MSG_QUERY,
    MSG_REBUT,
    MSG_SHARE,
    QUERY_ID_BYTES,
    REPUTATION_MESSAGE_TYPES,
    SharedItem,
    decode_query,
    decode_rebut,
    decode_share,
    encode_query,
    encode_rebut,
    encode_share,
    pack_items,
    read_item,
)
from amity.protocol.trust import TrustResult
from amity.protocol.trustindex import TrustState
from amity.protocol.verdicts import ReceiptRecord, clause_for, grant_verdict

__all__ = ["ReputationService"]

_log = logging.getLogger("amity.reputation")
_DAY_MS: Final = 86_400_000
#: The loop's longest sleep: it also re-shares what the hourly rate held back.
_IDLE_S: Final = 60.0
#: Coalesce bursts (many shares arriving) into one pass.
_SETTLE_S: Final = 0.05


class ReputationService:
    """Attestations, trust, sharing and cut-off of one node: the Service for ``reputation.*``."""

    types: frozenset[str] = REPUTATION_MESSAGE_TYPES
    after_end: frozenset[str] = frozenset()

    def __init__(
        self,
        node: Node,
        grants: GrantsService | None = None,
        terms: TermsService | None = None,
    ) -> None:
        self.node = node
        self.grants = grants
        self.policy = ReputationPolicy.decode(node.store.get_meta(POLICY_KEY))
        #: Every attestation held, decoded once, by id.
        self.held: dict[bytes, Attestation] = {}
        #: The same attestations as a trust graph, updated in place (spec/reputation.md §4.7).
        self.trust = TrustState(node.peer_id)
        self._direct: set[PeerId] | None = None
        self.result: TrustResult | None = None
        #: Peers the policy cuts off now, with the reason.
        self.cut_off: dict[PeerId, str] = {}
        self._wake = asyncio.Event()
        self._dirty = True
        self._loop_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._revoking: set[asyncio.Task[None]] = set()
        self._waiting: dict[bytes, asyncio.Future[int]] = {}
        if grants is not None:
            grants.grantor.gates.append(self.check_grant)
        if terms is not None:
            terms.gates.append(self.declines)

    # -- lifetime (the Service protocol) -----------------------------------------------------------

    async def start(self) -> None:
        """Load what is held, evaluate once, then run the loop and watch the node's events."""
        now = self.node.clock_ms()
        dropped = self.node.store.delete_expired_attestations(now)
        for row in self.node.store.attestations():
            try:
                self._hold(Attestation.decode(row.encoded))
            except AmityError as exc:  # our own disk: only a newer format could do this
                log_event(_log, "reputation.unreadable", logging.WARNING, code=exc.code)
        self.evaluate()
        loop = asyncio.get_running_loop()
        self._loop_task = loop.create_task(self._run(), name="reputation-loop")
        self._watch_task = loop.create_task(self._watch(), name="reputation-watch")
        log_event(_log, "reputation.resumed", held=len(self.held), expired=dropped)

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, self._watch_task) if t is not None]
        tasks += list(self._revoking)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop_task = self._watch_task = None

    def poke(self, *, dirty: bool = False) -> None:
        """Ask the loop for a pass soon (``dirty``: trust must be recomputed)."""
        self._dirty = self._dirty or dirty
        self._wake.set()

    async def _watch(self) -> None:
        async for event in self.node.events.subscribe():
            kind = event["kind"]
            if kind in ("grant.receipt", "grant.issued", "grant.revoked", "connected"):
                self.poke(dirty=kind == "connected")

    async def _run(self) -> None:
        while True:
            timeout = self._pass()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(_SETTLE_S)

    def _pass(self) -> float:
        """Attest what is due, re-evaluate if needed, share; seconds until the next deadline."""
        now = self.node.clock_ms()
        next_due = _IDLE_S
        try:
            due_ms = self._attest_due(now)
            if due_ms is not None:
                next_due = min(next_due, max(0.0, (due_ms - now) / 1000) + 0.01)
            if self._dirty:
                self._dirty = False
                self.evaluate()
            self._share_pass(now)
        except AmityError as exc:
            log_event(_log, "reputation.pass_failed", logging.ERROR, code=exc.code, why=exc.message)
        return next_due

    # -- trust and cut-off -------------------------------------------------------------------------

    def direct(self) -> set[PeerId]:
        """The owner's pre-trusted candidates: peers she holds an agreement with, and vouches."""
        store = self.node.store
        peers = {PeerId(row.peer_id) for row in store.agreements(limit=1_000_000)}
        return peers | {PeerId(key) for key in store.vouches()}

    def _hold(self, attestation: Attestation) -> bool:
        """Count ``attestation`` from now on; False if it was held already."""
        aid = attestation.attestation_id
        if aid in self.held:
            return False
        self.held[aid] = attestation
        self.trust.add(attestation)
        return True

    def evaluate(self) -> TrustResult:
        """Recompute local trust; publish who is newly cut off (or restored), act on the policy."""
        now = self.node.clock_ms()
        for aid in [aid for aid, a in self.held.items() if a.expires_ms <= now]:
            del self.held[aid]
        direct = self.direct()
        if direct != self._direct:
            self.trust.set_direct(direct)
            self._direct = direct
        result = self.trust.result(now_ms=now)
        self.result = result
        cut = {
            peer: self.policy.reason(standing)
            for peer, standing in result.standings.items()
            if peer != self.node.peer_id and self.policy.cuts_off(standing)
        }
        newly = sorted(set(cut) - set(self.cut_off), key=lambda p: p.key)
        restored = sorted(set(self.cut_off) - set(cut), key=lambda p: p.key)
        self.cut_off = cut
        for peer in newly:
            self._cut(peer, cut[peer], now)
        for peer in restored:
            log_event(_log, "reputation.restored", peer=peer.short)
            self.node.events.publish("reputation.restored", {"peer": peer.did})
        return result

    def _live_grants(self, peer: PeerId, now: int) -> list[IssuedGrantRow]:
        rows = self.node.store.issued_grants(peer_id=peer.key)
        return [r for r in rows if r.revocation is None and r.not_after_ms > now]

    def _cut(self, peer: PeerId, reason: str, now: int) -> None:
        live = self._live_grants(peer, now)
        action = self.policy.on_existing if live else "none"
        log_event(_log, "reputation.cut_off", logging.WARNING, peer=peer.short, live=len(live))
        self.node.events.publish(
            "reputation.cut_off",
            {
                "peer": peer.did,
                "reason": reason,
                "live_grants": [r.grant_id.hex() for r in live],
                "action": action,
            },
        )
        if action == "revoke" and self.grants is not None:
            task = asyncio.get_running_loop().create_task(
                self._revoke_all(peer, live), name=f"reputation-revoke-{peer.short}"
            )
            self._revoking.add(task)
            task.add_done_callback(self._revoking.discard)

    async def _revoke_all(self, peer: PeerId, rows: list[IssuedGrantRow]) -> None:
        assert self.grants is not None
        for row in rows:
            try:
                await self.grants.grantor.revoke(row.grant_id.hex())
            except AmityError as exc:
                log_event(
                    _log,
                    "reputation.revoke_failed",
                    logging.WARNING,
                    peer=peer.short,
                    grant=row.grant_id.hex()[:8],
                    why=exc.message,
                )

    def check_grant(self, peer: PeerId) -> None:
        """The grantor's gate: refuse a new grant to a peer the policy cuts off, saying why."""
        reason = self.cut_off.get(peer)
        if reason is not None:
            raise CutOffError(
                f"{peer.short} is cut off by your reputation policy: {reason}. "
                f"`amity reputation {peer.did}` shows why; a vouch, new attestations or "
                "`amity reputation --threshold` change it"
            )

    def declines(self, peer: PeerId) -> str | None:
        """The terms service's gate: a cut-off peer's terms are rejected, with this reason."""
        if peer in self.cut_off:
            return "declined: this node's reputation policy cuts you off"
        return None

    # -- automatic attestations --------------------------------------------------------------------

    def _attest_due(self, now: int) -> int | None:
        """Sign what the grants issued say (§6.2); the earliest deadline still ahead, if any."""
        store = self.node.store
        caused = store.caused()
        grace_ms = self.policy.receipt_grace_s * 1000
        next_ms: int | None = None
        staged = Staged()
        for row in store.issued_grants(limit=1_000_000):
            if row.grant_id in caused:
                continue
            receipts = [
                ReceiptRecord(r.kind, r.received_ms, r.encoded)
                for r in store.grant_receipts(row.grant_id)
            ]
            finding = grant_verdict(
                grant_encoded=row.encoded,
                not_after_ms=row.not_after_ms,
                revoked_ms=row.revoked_ms,
                receipts=receipts,
                grace_ms=grace_ms,
                now_ms=now,
            )
            if finding is None:
                ended = row.not_after_ms if row.revoked_ms is None else row.revoked_ms
                if any(r.kind == "delivery" for r in receipts):
                    deadline = min(ended, row.not_after_ms) + grace_ms
                    next_ms = deadline if next_ms is None else min(next_ms, deadline)
                continue
            agreement = self._agreement(row.agreement_id)
            if agreement is None:
                continue
            note = f"grant {row.grant_id.hex()[:16]}: {finding.note}"
            attestation = Attestation.issue(
                self.node.keyring.identity,
                agreement,
                clause_id=clause_for(agreement),
                verdict=finding.verdict,
                evidence=finding.evidence,
                issued_ms=now,
                expires_ms=now + self.policy.attestation_days * _DAY_MS,
                note=note.encode()[:MAX_NOTE_BYTES].decode(errors="ignore"),
            )
            review = APPROVED if self.policy.auto_share else PENDING
            staged.extend(self._keep_mine(attestation, review, now, cause=row.grant_id))
        if staged.writes:
            self.node.commit(staged)
        return next_ms

    def _agreement(self, agreement_id: bytes) -> Agreement | None:
        rows = self.node.store.agreements(id_prefix=agreement_id.hex(), limit=1)
        return Agreement.decode(rows[0].encoded) if rows else None

    def _keep_mine(
        self, attestation: Attestation, review: str, now: int, *, cause: bytes | None = None
    ) -> Staged:
        """Store one of our own attestations, with an audit entry; then count and share it."""
        aid = attestation.attestation_id
        row = AttestationRow(
            aid,
            attestation.attester.key,
            attestation.subject.key,
            attestation.verdict.value,
            attestation.encoded,
            attestation.issued_ms,
            attestation.expires_ms,
            None,
            0,
            review,
            cause,
            now,
        )
        writes = [write(self.node.store.add_attestation, row)]
        if self.grants is not None:
            detail = (
                f"{attestation.verdict.value} {attestation.clause_id}"
                f"{' (automatic)' if cause else ''}; {review}: {attestation.note}"
            )
            writes.append(
                functools.partial(
                    self.grants.audit.append,
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
            self._hold(attestation)
            log_event(
                _log,
                "reputation.attested",
                subject=attestation.subject.short,
                verdict=attestation.verdict.value,
                review=review,
            )
            self.node.events.publish("reputation.attested", event)
            self.poke(dirty=True)

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
                f"{peer.short}: an attestation needs an agreement you both signed"
            )
        if agreement is not None and len(rows) > 1:
            raise NodeError(f"{agreement!r:.40} names more than one agreement; give more of it")
        now = self.node.clock_ms()
        life_days = self.policy.attestation_days if days is None else days
        if isinstance(life_days, bool) or not isinstance(life_days, int) or life_days < 1:
            raise UsageError("days is a whole number >= 1")
        attestation = Attestation.issue(
            self.node.keyring.identity,
            Agreement.decode(rows[0].encoded),
            clause_id=clause_id,
            verdict=verdict,
            evidence=evidence,
            issued_ms=now,
            expires_ms=now + life_days * _DAY_MS,
            note=note,
        )
        await self.node.commit(self._keep_mine(attestation, APPROVED, now))
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
                after=[self.poke],
            )
        )
        return self.one(row.attestation_id.hex())

    # -- rebuttals ---------------------------------------------------------------------------------

    async def rebut(self, id_prefix: str, text: str) -> tuple[Rebuttal, list[PeerId]]:
        """Answer an attestation about us: keep the rebuttal, send it to whoever is reachable."""
        row = self.one(id_prefix)
        attestation = Attestation.decode(row.encoded)
        if attestation.subject != self.node.peer_id:
            raise NodeError("only the attestation's subject can rebut it, and that is not you")
        now = self.node.clock_ms()
        rebuttal = Rebuttal.issue(self.node.keyring.identity, attestation, text=text, issued_ms=now)
        targets = {attestation.attester}
        if row.origin is not None:
            targets.add(PeerId(row.origin))
        reachable = sorted((p for p in targets if self._is_connected(p)), key=lambda p: p.key)
        body = encode_rebut(attestation.encoded, rebuttal.encoded)
        await self.node.commit(
            Staged(
                writes=[
                    write(self.node.store.add_rebuttal, row.attestation_id, rebuttal.encoded, now)
                ],
                sends=[Outgoing(peer, MSG_REBUT, body) for peer in reachable],
            )
        )
        return rebuttal, reachable

    # -- sharing -----------------------------------------------------------------------------------

    def _is_connected(self, peer: PeerId) -> bool:
        rel = self.node.book.current(peer)
        return rel is not None and rel.state is RelationshipState.CONNECTED

    def share_policy(self, peer: PeerId) -> SharePolicy:
        for row in self.node.store.share_policies():
            if row.peer_id == peer.key:
                return SharePolicy.from_row(row)
        return SharePolicy()

    async def set_share_policy(self, peer: PeerId, policy: SharePolicy) -> None:
        if self.node.book.current(peer) is None:
            raise NotFoundError(f"no relationship with {peer.short}; connect first")
        row = SharePolicyRow(
            peer.key, policy.mode.value, policy.max_hops, policy.per_hour, self.node.clock_ms()
        )
        await self.node.commit(
            Staged(writes=[functools.partial(self.node.store.save_share_policy, row)])
        )
        self.poke()

    def _share_pass(self, now: int) -> int:
        """Send each peer what its policy allows and it has not had; how many items went."""
        sent = 0
        staged = Staged()
        for row in self.node.store.share_policies():
            peer = PeerId(row.peer_id)
            policy = SharePolicy.from_row(row)
            if policy.mode is ShareMode.NONE or not self._is_connected(peer):
                continue
            chosen = select(self.node.store, row.peer_id, policy, now)
            for batch in pack_items(item for _, item in chosen):
                staged.sends.append(Outgoing(peer, MSG_SHARE, encode_share(batch)))
            ids = [aid for aid, _ in chosen]
            if ids:
                staged.writes.append(write(self.node.store.mark_shared, row.peer_id, ids, now))
                log_event(_log, "reputation.shared", peer=peer.short, items=len(ids))
                sent += len(ids)
        if staged.writes:
            self.node.commit(staged)
        return sent

    async def ask(self, peer: PeerId, subject: PeerId, wait_s: float) -> int | None:
        """Ask ``peer`` what it knows about ``subject``; how many attestations came (None: none)."""
        connected(self.node, peer, "ask")
        query_id = os.urandom(QUERY_ID_BYTES)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting[query_id] = future
        try:
            await self.node.commit(
                Staged(sends=[Outgoing(peer, MSG_QUERY, encode_query(query_id, subject))])
            )
            try:
                async with asyncio.timeout(wait_s):
                    return await future
            except TimeoutError:
                return None
        finally:
            self._waiting.pop(query_id, None)

    # -- peers' messages (the Service protocol) ----------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        if envelope.type == MSG_SHARE:
            return self._on_share(envelope, now_ms)
        if envelope.type == MSG_QUERY:
            return self._on_query(envelope, now_ms)
        return self._on_rebut(envelope, now_ms)

    def _on_share(self, envelope: Envelope, now: int) -> Staged:
        share = decode_share(envelope.body)
        sender = envelope.sender
        kept: list[SharedItem] = []
        for raw in share.items:
            try:
                item = read_item(raw, now)
            except AttestationExpiredError:
                log_event(_log, "reputation.expired_item", peer=sender.short)
                continue
            if item.attestation.attester != self.node.peer_id:  # ours, back again: nothing new
                kept.append(item)
        store = self.node.store
        if store.count_from(sender.key) + len(kept) > self.policy.max_received_per_peer:
            raise ReputationQuotaError(
                f"this node keeps at most {self.policy.max_received_per_peer} attestations from "
                "one peer; it holds that many from you",
                hint=ReputationQuotaError.code,
            )
        writes = []
        for item in kept:
            a = item.attestation
            aid = a.attestation_id
            row = AttestationRow(
                aid,
                a.attester.key,
                a.subject.key,
                a.verdict.value,
                a.encoded,
                a.issued_ms,
                a.expires_ms,
                sender.key,
                item.hops,
                RECEIVED,
                None,
                now,
            )
            writes.append(write(store.add_attestation, row))
            writes += [write(store.add_rebuttal, aid, r.encoded, now) for r in item.rebuttals]

        def received() -> None:
            fresh = 0
            for item in kept:
                fresh += self._hold(item.attestation)
            waiting = None if share.query_id is None else self._waiting.get(share.query_id)
            if waiting is not None and not waiting.done():
                waiting.set_result(len(kept))
            log_event(_log, "reputation.received", peer=sender.short, items=len(kept), new=fresh)
            self.node.events.publish(
                "reputation.received", {"peer": sender.did, "items": len(kept), "new": fresh}
            )
            if fresh:
                self.poke(dirty=True)

        return Staged(writes=writes, after=[received])

    def _on_query(self, envelope: Envelope, now: int) -> Staged:
        query_id, subject = decode_query(envelope.body)
        asker = envelope.sender
        rows = self.node.store.attestations(subject=subject.key)
        chosen = select(
            self.node.store, asker.key, self.share_policy(asker), now, rows=rows, unsent_only=False
        )
        batches = pack_items(item for _, item in chosen)
        first = batches[0] if batches else []
        ids = [aid for aid, _ in chosen[: len(first)]]
        log_event(
            _log, "reputation.answered", peer=asker.short, subject=subject.short, items=len(ids)
        )
        return Staged(
            writes=[write(self.node.store.mark_shared, asker.key, ids, now)] if ids else [],
            sends=[Outgoing(asker, MSG_SHARE, encode_share(first, query_id))],
        )

    def _on_rebut(self, envelope: Envelope, now: int) -> Staged:
        attestation, rebuttal = decode_rebut(envelope.body)
        if rebuttal.rebutter != envelope.sender:
            raise RebuttalMismatchError(
                "a rebuttal travels from the attestation's subject itself; this one was sent by "
                "someone else",
                hint=RebuttalMismatchError.code,
            )
        aid = attestation.attestation_id
        if aid not in self.held:
            raise UnknownAttestationError(
                f"this node holds no attestation {aid.hex()[:16]}…; nothing to attach it to",
                hint=UnknownAttestationError.code,
            )
        event: dict[str, Any] = {
            "attestation": aid.hex(),
            "peer": envelope.sender.did,
            "text": rebuttal.text,
        }
        return Staged(
            writes=[write(self.node.store.add_rebuttal, aid, rebuttal.encoded, now)],
            after=[functools.partial(self.node.events.publish, "reputation.rebutted", event)],
        )

    # -- vouches and the policy --------------------------------------------------------------------

    async def vouch(self, peer: PeerId, on: bool) -> None:
        """Trust ``peer``'s attestations as if it were a direct counterparty (or stop)."""
        if on and self.node.book.current(peer) is None:
            raise NotFoundError(f"no relationship with {peer.short}; connect first")
        at = self.node.clock_ms() if on else None
        await self.node.commit(Staged(writes=[write(self.node.store.set_vouch, peer.key, at)]))
        self.poke(dirty=True)

    async def set_policy(self, policy: ReputationPolicy) -> None:
        policy.check()
        await self.node.commit(
            Staged(writes=[write(self.node.store.set_meta, POLICY_KEY, policy.encode())])
        )
        self.policy = policy
        self.poke(dirty=True)
