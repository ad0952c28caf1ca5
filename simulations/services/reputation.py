"""A simulated node's reputation service: attestations held, shared and received, local trust.

It drives the node core's reputation rules (:mod:`amity.protocol.core.reputation`: what the
messages mean, automatic verdicts, selection, the cut-off gate, the owner's policy) on the
engine's clock and memory instead of SQLite: the owner's own attestations and those her peers
sent, each with where it came from, its hops and its rebuttals; per-peer share policies (each
attestation to each connected peer once, at most ``per_hour`` an hour); and local trust kept by
:class:`~amity.protocol.trustindex.TrustState` over the owner's pre-trusted candidates (her
agreement counterparties and the friends she vouches for).

Where it differs from the daemon, and why:

- A share pass runs ``settle_ms`` after something changed (an attestation made or received, a
  policy set, a peer connected), and an hour on if the rate held items back. The daemon also
  wakes once a minute with nothing to do; a hundred thousand simulated nodes cannot.
- Automatic attestations (spec/reputation.md §6.2, :mod:`amity.protocol.core.reputation.
  attesting`) are made only once the owner turns them on (:meth:`SimReputation.attest_grants`):
  the daemon always makes them, but most scenarios do not read them and should not pay for them.
- Who is cut off (:mod:`amity.protocol.core.reputation.cutoff`) is worked out when a gate asks
  (a grant, a peer's terms), from trust as it is then; the daemon works it out in its loop, after
  what changed trust, and tells the owner (``reputation.cut_off``). Live grants to a peer cut off
  are neither warned of nor revoked. A node that holds no attestation cuts nobody off, at no cost.
- No owner here asks (``reputation.query``) yet, though a node answers as the daemon does; a
  rebuttal (:meth:`SimReputation.rebut`) is the daemon's, but no scenario makes one. Nor is a
  pending attestation approved later, or a peer's share policy changed once it shared.
- Attestations are held as decoded objects, the run's one copy of each
  (:meth:`~amity.simulations.context.SharedValues.attestation`), and each is verified once per
  run (:meth:`~amity.simulations.context.SharedValues.read_item`, as cards are): the verdict is a
  function of the bytes, and an attestation reaches many nodes. Expiry is checked on every read,
  and bytes never seen before (a forgery among them) are verified in full.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from amity.protocol.attestation import Attestation
from amity.protocol.core.reputation import commands, cutoff, messages
from amity.protocol.core.reputation.attesting import attest, judge
from amity.protocol.core.reputation.effects import (
    Answer,
    KeepOwn,
    KeepRebuttal,
    KeepReceived,
    MarkShared,
    ReputationEffect,
)
from amity.protocol.core.reputation.policy import ReputationPolicy
from amity.protocol.core.reputation.selection import choose, room, share, takes_shares
from amity.protocol.envelope import Envelope
from amity.protocol.errors import UsageError
from amity.protocol.identity import PeerId
from amity.protocol.relationship import Relationship, RelationshipState, SendMessage
from amity.protocol.reputationmessages import (
    REPUTATION_MESSAGE_TYPES,
    RawItem,
    SharedItem,
)
from amity.protocol.sharing import (
    APPROVED,
    HOUR_MS,
    PENDING,
    RECEIVED,
    ShareMode,
    SharePolicy,
)
from amity.protocol.trust import TrustResult
from amity.protocol.trustindex import TrustState
from amity.simulations.context import Staged
from amity.simulations.services.held import HeldAttestation, PeerSharing
from amity.simulations.world.engine import Timer

if TYPE_CHECKING:
    from amity.simulations.node import SimNode
    from amity.simulations.services.grants import IssuedGrant

__all__ = ["REPUTATION_TYPES", "SimReputation"]

#: The reputation messages a simulated node handles: all of them, as the daemon.
REPUTATION_TYPES: Final = REPUTATION_MESSAGE_TYPES
#: As the daemon's loop: a burst of changes is coalesced into one pass.
SETTLE_MS: Final = 50


class SimReputation:
    """Attestations, trust and sharing of one simulated node: the service for ``reputation.*``."""

    types: frozenset[str] = REPUTATION_TYPES
    #: Of those, the types still taken once the relationship ended (the core's after-end rule).
    after_end: frozenset[str] = frozenset()

    __slots__ = (
        "_cut_off",
        "_direct",
        "_from",
        "_judged",
        "_order",
        "_pass",
        "_peers",
        "_relays_received",
        "_trust_dirty",
        "_used_direct",
        "_vouched",
        "held",
        "node",
        "policy",
        "received",
        "shared",
        "trust",
    )

    def __init__(self, node: SimNode) -> None:
        self.node = node
        #: The owner's reputation policy (the daemon's defaults until a scenario changes it).
        self.policy = ReputationPolicy()
        #: Her local trust; the scenario may set its parameters (configure_trust).
        self.trust = TrustState(node.peer_id)
        self.held: dict[bytes, HeldAttestation] = {}
        self._order: list[HeldAttestation] = []
        self._peers: dict[PeerId, PeerSharing] = {}
        #: Some peer's policy is ``all``: what she receives may go on to it (a pass is due).
        self._relays_received = False
        self._from: dict[PeerId, int] = {}
        self._direct: set[PeerId] = set()
        #: The peers she vouches for: her pre-trusted recommenders (spec/reputation.md §4.8).
        self._vouched: set[PeerId] = set()
        #: The pre-trusted candidates trust was last computed over.
        self._used_direct: frozenset[PeerId] = frozenset()
        self._trust_dirty = True
        self._pass: Timer | None = None
        #: (the trust result, the peers it cuts off with the reason), as last worked out.
        self._cut_off: tuple[TrustResult, dict[PeerId, str]] | None = None
        #: Grants judged already (None: automatic attestations are off).
        self._judged: set[bytes] | None = None
        #: Items shared by this node, and received (new to it), over the run.
        self.shared = 0
        self.received = 0

    def configure_trust(self, *, damping: float, max_iterations: int, epsilon: float) -> None:
        """Set the trust iteration's parameters (spec/reputation.md §4.3) before anything is held."""
        if self.held:
            raise UsageError("configure the trust parameters before holding attestations")
        self.trust = TrustState(
            self.node.peer_id, damping=damping, max_iterations=max_iterations, epsilon=epsilon
        )
        self._trust_dirty = True

    # -- the owner's side --------------------------------------------------------------------------

    def attest(self, attestation: Attestation, *, approved: bool = True) -> bool:
        """Hold an attestation this node signed (``approved``: shareable); False if held already."""
        if attestation.attester != self.node.peer_id:
            raise UsageError("attest() takes this node's own attestations")
        return self._hold(attestation, None, 0, APPROVED if approved else PENDING)

    def rebut(self, attestation_id: bytes, text: str) -> list[PeerId]:
        """Answer an attestation about her (``amity rebut``): kept, and sent to its attester and
        to the peer it came from, those connected now. Returns who it went to."""
        held = self.held.get(attestation_id)
        if held is None:
            raise UsageError(f"no attestation {attestation_id.hex()[:16]} held here")
        origin = None if held.origin is None else self.node.shared.peer(PeerId(held.origin))
        now = self.node.now_ms()
        _, reachable, effects = commands.rebut(
            self.node.keyring.identity,
            held.attestation,
            origin,
            text,
            connected=self._connected,
            now_ms=now,
        )
        self.node.commit(self._perform(effects, now))
        return reachable

    def set_policy(self, peer: PeerId, policy: SharePolicy) -> None:
        """What ``peer`` may be sent from now on (``amity share-policy``).

        Once something was shared under a policy the simulator keeps it: the sending cursor does
        not remember which earlier items were sent and which were not allowed, so a new policy
        could send an item twice, which the daemon never does.
        """
        peer = self.node.shared.peer(peer)
        known = self._peers.get(peer)
        if known is not None and known.policy == policy:
            return
        if known is not None and known.cursor > 0:
            raise UsageError(f"the share policy for {peer.short} is set once in a simulation")
        self._peers[peer] = PeerSharing(policy)
        self._relays_received = any(p.policy.mode is ShareMode.ALL for p in self._peers.values())
        self.poke()

    def vouch(self, peer: PeerId) -> None:
        """Take ``peer``'s word as a direct counterparty's (``amity vouch``)."""
        rel = self.node.relationship(peer)
        if rel is None or rel.state is RelationshipState.ENDED:
            raise UsageError(f"no relationship with {peer.short}; connect first")
        peer = self.node.shared.peer(peer)
        if peer not in self._vouched:
            self._vouched.add(peer)
            self.trust.set_vouched(sorted(self._vouched, key=lambda p: p.key))
        self.add_direct(peer)

    def add_direct(self, peer: PeerId) -> None:
        """A pre-trusted candidate: a peer she holds an agreement with, or vouches for."""
        peer = self.node.shared.peer(peer)
        if peer not in self._direct:
            self._direct.add(peer)
            self._trust_dirty = True

    @property
    def direct(self) -> frozenset[PeerId]:
        """Her pre-trusted candidates: those added, and every peer she reached an agreement with
        through her terms service (as the daemon reads its agreements)."""
        agreed = self.node.terms.negotiations.agreed_peers()
        return frozenset(self._direct.union(agreed))

    def result(self) -> TrustResult:
        """Her local trust now (spec/reputation.md §6.5), recomputed only if something changed."""
        direct = self.direct
        if self._trust_dirty or direct != self._used_direct:
            self.trust.set_direct(direct)
            self._used_direct = direct
            self._trust_dirty = False
        return self.trust.result(now_ms=self.node.now_ms())

    # -- the cut-off gate (spec/reputation.md §6.5) ------------------------------------------------

    def cut_off(self) -> dict[PeerId, str]:
        """The peers her policy cuts off now, with the reason (none while she holds nothing)."""
        if not self.held:
            return {}
        result = self.result()
        if self._cut_off is None or self._cut_off[0] is not result:
            self._cut_off = (result, cutoff.cut_offs(self.policy, result, self.node.peer_id))
        return self._cut_off[1]

    def check_grant(self, peer: PeerId) -> None:
        """The grantor's gate: a new grant to a cut-off peer raises ``local.cut_off``."""
        cutoff.check_grant(self.cut_off(), peer)

    def declines(self, peer: PeerId) -> str | None:
        """The terms gate: the reason a cut-off peer's new terms are rejected with, else None."""
        return cutoff.declines(self.cut_off(), peer)

    # -- automatic attestations (spec/reputation.md §6.2) ------------------------------------------

    def attest_grants(self, *, auto_share: bool = False) -> None:
        """Judge each grant this node issues by its receipts, as the daemon always does."""
        self.policy = replace(self.policy, auto_share=auto_share)
        if self._judged is None:
            self._judged = set()
            self.node.grants.on_receipt = self.judge

    def judge(self, issued: IssuedGrant) -> None:
        """Sign the verdict ``issued``'s receipts give now, if any, once per grant."""
        judged = self._judged
        grant = issued.grant
        if judged is None or grant.grant_id in judged:
            return
        now = self.node.now_ms()
        judgement = judge(
            grant_encoded=grant.encoded,
            not_after_ms=grant.not_after_ms,
            revoked_ms=issued.revoked_ms,
            receipts=issued.receipts,
            policy=self.policy,
            now_ms=now,
        )
        if judgement.finding is None:
            if judgement.look_again_ms is not None:  # just after the deadline
                at = judgement.look_again_ms + 1 - self.node.env.start_ms
                self.node.engine.call_at(max(at, self.node.engine.now_ms), self.judge, issued)
            return
        judged.add(grant.grant_id)
        # The agreement the grant cites: a simulated grantor grants under its newest.
        agreement = self.node.grants.agreement_with(grant.grantee)
        own = attest(
            self.node.keyring.identity,
            agreement,
            grant.grant_id,
            judgement.finding,
            policy=self.policy,
            now_ms=now,
        )
        self._hold(own.attestation, None, 0, own.review)

    # -- holding -----------------------------------------------------------------------------------

    def _hold(self, attestation: Attestation, origin: bytes | None, hops: int, review: str) -> bool:
        aid = attestation.attestation_id
        if aid in self.held:
            return False
        item = HeldAttestation(self.node.shared.attestation(attestation), origin, hops, review)
        self.held[aid] = item
        self._order.append(item)
        self.trust.add(item.attestation)
        if origin is None or self._relays_received:
            self.poke()
        return True

    def _keep_rebuttal(self, attestation_id: bytes, rebuttal: bytes) -> None:
        held = self.held.get(attestation_id)
        if held is None:
            return
        if held.kept_rebuttals is None:
            held.kept_rebuttals = []
        if rebuttal not in held.kept_rebuttals:
            held.kept_rebuttals.append(rebuttal)

    # -- sharing -----------------------------------------------------------------------------------

    def poke(self) -> None:
        """Ask for a share pass soon (coalesced)."""
        if self._pass is None and self._peers:
            self._pass = self.node.engine.call_later(SETTLE_MS, self._share_pass)

    def _connected(self, peer: PeerId) -> bool:
        rel = self.node.relationship(peer)
        return rel is not None and rel.state is RelationshipState.CONNECTED

    def _share_pass(self) -> None:
        self._pass = None
        now = self.node.now_ms()
        staged = Staged()
        held_back = False
        for peer, state in self._peers.items():
            if not takes_shares(state.policy, self._connected(peer)):
                continue
            chosen = self._select(peer, state, now)
            passed = self._perform(share(peer, chosen), now)
            staged.sends += passed.sends
            held_back = held_back or state.cursor < len(self._order)
        if staged.sends:
            self.node.commit(staged)
        if held_back:  # the hourly rate: try again once an hour's sending has aged
            self._pass = self.node.engine.call_later(HOUR_MS, self._share_pass)

    def _select(self, peer: PeerId, state: PeerSharing, now: int) -> list[tuple[bytes, RawItem]]:
        """What ``peer`` may have now, from its cursor on (each item looked at once)."""
        space = room(state.policy, self.shared_since(peer, now - HOUR_MS + 1))

        def unseen() -> Iterator[HeldAttestation]:
            order = self._order
            while state.cursor < len(order):
                state.cursor += 1
                yield order[state.cursor - 1]

        return choose(unseen(), state.policy, peer.key, now, space=space, rebuttals=self.rebuttals)

    def _mark_shared(self, peer: PeerId, count: int, now: int) -> None:
        """``count`` items went to ``peer`` now: the hourly rate and the run's count."""
        state = self._peers.get(peer)
        if state is None:
            return
        recent = [(t, n) for t, n in state.recent or () if t > now - HOUR_MS]
        if count:
            recent.append((now, count))
            self.shared += count
        state.recent = recent or None

    # -- what the rules read (the ReputationHost protocol) -----------------------------------------

    @property
    def peer_id(self) -> PeerId:
        return self.node.peer_id

    def held_from(self, sender: PeerId) -> int:
        return self._from.get(sender, 0)

    def holds(self, attestation_id: bytes) -> bool:
        return attestation_id in self.held

    def about(self, subject: PeerId) -> list[HeldAttestation]:
        return [h for h in self._order if h.attestation.subject == subject]

    def share_policy(self, peer: PeerId) -> SharePolicy:
        state = self._peers.get(peer)
        return SharePolicy() if state is None else state.policy

    def shared_since(self, peer: PeerId, since_ms: int) -> int:
        state = self._peers.get(peer)
        recent = () if state is None or state.recent is None else state.recent
        return sum(n for t, n in recent if t >= since_ms)

    def rebuttals(self, attestation_id: bytes) -> list[bytes]:
        held = self.held.get(attestation_id)
        return [] if held is None or held.kept_rebuttals is None else held.kept_rebuttals

    def read_item(self, item: RawItem, now_ms: int) -> SharedItem:
        return self.node.shared.read_item(item, now_ms)

    # -- peers' messages ---------------------------------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        """What a ``reputation.*`` message means (the core's rules), as one staged commit."""
        return self._perform(messages.receive(self, envelope, now_ms), now_ms)

    def _perform(self, effects: list[ReputationEffect], now: int) -> Staged:
        staged = Staged()
        for effect in effects:
            if isinstance(effect, Answer):
                staged.sends.append(SendMessage(effect.to, effect.type, effect.body))
            elif isinstance(effect, MarkShared):
                self._mark_shared(effect.peer, len(effect.attestation_ids), now)
            else:  # kept once the commit is done
                staged.after.append(functools.partial(self._keep, effect))
        return staged

    def _keep(self, effect: ReputationEffect) -> None:
        if isinstance(effect, KeepReceived):
            self._received(effect)
        elif isinstance(effect, KeepRebuttal):
            self._keep_rebuttal(effect.attestation_id, effect.rebuttal.encoded)
        elif isinstance(effect, KeepOwn):
            self._hold(effect.attestation, None, 0, effect.review)

    def _received(self, effect: KeepReceived) -> None:
        """What a share brought, held once its commit is done."""
        sender = effect.sender
        fresh = 0
        for item in effect.items:
            fresh += self._hold(item.attestation, sender.key, item.hops, RECEIVED)
            for rebuttal in item.rebuttals:
                self._keep_rebuttal(item.attestation.attestation_id, rebuttal.encoded)
        self._from[sender] = self._from.get(sender, 0) + fresh
        self.received += fresh

    def held_items(self) -> Iterable[HeldAttestation]:
        """What this node holds, in the order it came to hold it."""
        return iter(self._order)
