"""The reputation service: attestations made and received, local trust, sharing and cutting off.

It handles ``reputation.share``, ``reputation.query`` and ``reputation.rebut`` (the Service
protocol), keeps every attestation it holds in memory, decoded, and updates the owner's local
trust (a :class:`~amity.protocol.trustindex.TrustState`) when they change. One background loop
does the slow work in order: automatic attestations from the grants this node issued
(:mod:`amity.node.reputation.attesting`), re-evaluation and cut-off (the owner's
:class:`~amity.node.reputation.policy.ReputationPolicy`), and sharing by per-peer policy
(:mod:`amity.node.reputation.sharing`). See spec/reputation.md §6.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from typing import Any, Final

from amity.node.daemon import Node
from amity.node.grants.grantor import connected, write
from amity.node.grants.service import GrantsService
from amity.node.logs import log_event
from amity.node.reputation.attesting import OwnAttestations, attestation_row
from amity.node.reputation.sharing import policy_of, select
from amity.node.services import Outgoing, Staged
from amity.node.store import AttestationRow, IssuedGrantRow, SharePolicyRow
from amity.node.terms.service import TermsService
from amity.protocol.attestation import Attestation
from amity.protocol.core.reputation import cutoff, messages
from amity.protocol.core.reputation.effects import (
    Answer,
    KeepOwn,
    KeepRebuttal,
    KeepReceived,
    MarkShared,
    ReputationEffect,
)
from amity.protocol.core.reputation.policy import ReputationPolicy
from amity.protocol.core.reputation.selection import share, takes_shares
from amity.protocol.envelope import Envelope
from amity.protocol.errors import AmityError, NotFoundError
from amity.protocol.grants import GRANT_ID_BYTES
from amity.protocol.identity import PeerId
from amity.protocol.relationship import Relationship, RelationshipState
from amity.protocol.reputationmessages import (
    MSG_QUERY,
    QUERY_ID_BYTES,
    REPUTATION_MESSAGE_TYPES,
    RawItem,
    SharedItem,
    encode_query,
    read_item,
)
from amity.protocol.sharing import RECEIVED, SharePolicy
from amity.protocol.trust import TrustResult
from amity.protocol.trustindex import TrustState

__all__ = ["ReputationService", "POLICY_KEY"]

#: Where the owner's reputation policy is kept (the store's meta table, as JSON).
POLICY_KEY: Final = "reputation.policy"

_log = logging.getLogger("amity.reputation")
#: The loop's longest sleep: it also re-shares what the hourly rate held back.
_IDLE_S: Final = 60.0
#: Coalesce bursts (many shares arriving) into one pass.
_SETTLE_S: Final = 0.05
#: Grants revoked because the policy cut their grantee off, their ids end to end.
_POLICY_REVOKED_KEY: Final = "reputation.policy_revoked"


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
        #: Every attestation held, decoded once, as a trust graph updated in place (§4.7).
        self.trust = TrustState(node.peer_id)
        self._direct: set[PeerId] | None = None
        #: The peers she vouches for, as trust last read them: her recommenders (§4.8).
        self._vouched: set[PeerId] = set()
        self.result: TrustResult | None = None
        #: Peers the policy cuts off now, with the reason.
        self.cut_off: dict[PeerId, str] = {}
        self._wake = asyncio.Event()
        self._dirty = True
        self._loop_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._revoking: set[asyncio.Task[None]] = set()
        self._waiting: dict[bytes, asyncio.Future[int]] = {}
        #: Her own attestations: automatic, manual, reviewed, rebutted.
        self.mine = OwnAttestations(self)
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
                self.hold(Attestation.decode(row.encoded))
            except AmityError as exc:  # our own disk: only a newer format could do this
                log_event(_log, "reputation.unreadable", logging.WARNING, code=exc.code)
        self.evaluate()
        loop = asyncio.get_running_loop()
        self._loop_task = loop.create_task(self._run(), name="reputation-loop")
        self._watch_task = loop.create_task(self._watch(), name="reputation-watch")
        log_event(_log, "reputation.resumed", held=len(self.trust), expired=dropped)

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
        kinds = ("grant.receipt", "grant.issued", "grant.revoked", "connected")
        async for event in self.node.events.subscribe(kinds=kinds):
            kind = event["kind"]
            if kind in kinds:
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
            due_ms = self.mine.due(now)
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

    def hold(self, attestation: Attestation) -> bool:
        """Count ``attestation`` from now on; False if it was held already."""
        return self.trust.add(attestation)

    def evaluate(self) -> TrustResult:
        """Recompute local trust; publish who is newly cut off (or restored), act on the policy."""
        now = self.node.clock_ms()
        direct = self.direct()
        vouched = {PeerId(key) for key in self.node.store.vouches()}
        if direct != self._direct or vouched != self._vouched:
            self.trust.set_direct(direct)
            self.trust.set_vouched(vouched)
            self._direct, self._vouched = direct, vouched
        result = self.trust.result(now_ms=now)
        self.result = result
        cut = cutoff.cut_offs(self.policy, result, self.node.peer_id)
        newly, restored = cutoff.changes(self.cut_off, cut)
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
        action = cutoff.on_existing(self.policy, len(live))
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

    def revoked_by_policy(self) -> set[bytes]:
        """Grants this node revoked because its policy cut the grantee off (§6.2: no verdict)."""
        data = self.node.store.get_meta(_POLICY_REVOKED_KEY) or b""
        return {data[i : i + GRANT_ID_BYTES] for i in range(0, len(data), GRANT_ID_BYTES)}

    def _note_revoked_by_policy(self, grant_id: bytes) -> None:
        """A write: add ``grant_id`` to the grants revoked by the policy (read in the commit)."""
        ids = self.revoked_by_policy() | {grant_id}
        self.node.store.set_meta(_POLICY_REVOKED_KEY, b"".join(sorted(ids)))

    async def _revoke_all(self, peer: PeerId, rows: list[IssuedGrantRow]) -> None:
        assert self.grants is not None
        for row in rows:
            # Noted in the revocation's own commit: the deletion that answers a revocation the
            # cut-off made must not count as honoured, or the cut-off would undo itself once the
            # vendor obeys it. A revocation that fails (the vendor offline) notes nothing.
            note = functools.partial(self._note_revoked_by_policy, row.grant_id)
            try:
                await self.grants.grantor.revoke(row.grant_id.hex(), also=[note])
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
        cutoff.check_grant(self.cut_off, peer)

    def declines(self, peer: PeerId) -> str | None:
        """The terms service's gate: a cut-off peer's terms are rejected, with this reason."""
        return cutoff.declines(self.cut_off, peer)

    # -- sharing -----------------------------------------------------------------------------------

    def is_connected(self, peer: PeerId) -> bool:
        rel = self.node.book.current(peer)
        return rel is not None and rel.state is RelationshipState.CONNECTED

    def share_policy(self, peer: PeerId) -> SharePolicy:
        for row in self.node.store.share_policies():
            if row.peer_id == peer.key:
                return policy_of(row)
        return SharePolicy()

    async def set_share_policy(self, peer: PeerId, policy: SharePolicy) -> None:
        if self.node.book.current(peer) is None:
            raise NotFoundError(
                f"no relationship with {self.node.book.name_of(peer)}; connect first"
            )
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
            policy = policy_of(row)
            if not takes_shares(policy, self.is_connected(peer)):
                continue
            chosen = select(self.node.store, row.peer_id, policy, now)
            staged.extend(self.perform(share(peer, chosen), now))
            if chosen:
                log_event(_log, "reputation.shared", peer=peer.short, items=len(chosen))
                sent += len(chosen)
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
        staged = self.perform(messages.receive(self, envelope, now_ms), now_ms)
        if envelope.type == MSG_QUERY:
            log_event(_log, "reputation.answered", peer=envelope.sender.short)
        return staged

    def perform(self, effects: list[ReputationEffect], now: int) -> Staged:
        """What the rules asked for, as one staged commit (rows, sends, what follows it)."""
        staged = Staged()
        store = self.node.store
        for effect in effects:
            if isinstance(effect, KeepReceived):
                staged.extend(self._keep_received(effect, now))
            elif isinstance(effect, MarkShared):
                ids = list(effect.attestation_ids)
                staged.writes.append(write(store.mark_shared, effect.peer.key, ids, now))
            elif isinstance(effect, Answer):
                staged.sends.append(Outgoing(effect.to, effect.type, effect.body))
            elif isinstance(effect, KeepRebuttal):
                aid = effect.attestation_id
                event: dict[str, Any] = {
                    "attestation": aid.hex(),
                    "peer": effect.sender.did,
                    "text": effect.rebuttal.text,
                }
                staged.writes.append(write(store.add_rebuttal, aid, effect.rebuttal.encoded, now))
                if effect.sender != self.node.peer_id:  # the owner knows her own
                    staged.after.append(
                        functools.partial(self.node.events.publish, "reputation.rebutted", event)
                    )
            elif isinstance(effect, KeepOwn):
                staged.extend(
                    self.mine.keep(effect.attestation, effect.review, now, cause=effect.cause)
                )
        return staged

    def _keep_received(self, effect: KeepReceived, now: int) -> Staged:
        sender, kept = effect.sender, effect.items
        store = self.node.store
        if effect.expired:
            log_event(_log, "reputation.expired_item", peer=sender.short, items=effect.expired)
        writes = []
        for item in kept:
            aid = item.attestation.attestation_id
            row = attestation_row(item.attestation, sender.key, item.hops, RECEIVED, None, now)
            writes.append(write(store.add_attestation, row))
            writes += [write(store.add_rebuttal, aid, r.encoded, now) for r in item.rebuttals]

        def received() -> None:
            fresh = 0
            for item in kept:
                fresh += self.hold(item.attestation)
            query_id = effect.query_id
            waiting = None if query_id is None else self._waiting.get(query_id)
            if waiting is not None and not waiting.done():
                waiting.set_result(len(kept))
            log_event(_log, "reputation.received", peer=sender.short, items=len(kept), new=fresh)
            self.node.events.publish(
                "reputation.received", {"peer": sender.did, "items": len(kept), "new": fresh}
            )
            if fresh:
                self.poke(dirty=True)

        return Staged(writes=writes, after=[received])

    # -- what the rules read (the ReputationHost protocol) -----------------------------------------

    @property
    def peer_id(self) -> PeerId:
        return self.node.peer_id

    def held_from(self, sender: PeerId) -> int:
        return self.node.store.count_from(sender.key)

    def holds(self, attestation_id: bytes) -> bool:
        return attestation_id in self.trust

    def about(self, subject: PeerId) -> list[AttestationRow]:
        return self.node.store.attestations(subject=subject.key)

    def shared_since(self, peer: PeerId, since_ms: int) -> int:
        return self.node.store.shared_since(peer.key, since_ms)

    def rebuttals(self, attestation_id: bytes) -> list[bytes]:
        return self.node.store.rebuttals(attestation_id)

    def read_item(self, item: RawItem, now_ms: int) -> SharedItem:
        return read_item(item, now_ms)

    # -- vouches and the policy --------------------------------------------------------------------

    async def vouch(self, peer: PeerId, on: bool) -> None:
        """Trust ``peer``'s attestations as if it were a direct counterparty (or stop)."""
        if on and self.node.book.current(peer) is None:
            raise NotFoundError(
                f"no relationship with {self.node.book.name_of(peer)}; connect first"
            )
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
