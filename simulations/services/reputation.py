"""A simulated node's reputation service: attestations held, shared and received, local trust.

It keeps the rules of node/reputation/ with the engine's clock and memory instead of SQLite: the
owner's own attestations and those her peers sent, each with where it came from and its hops;
per-peer share policies applied by :func:`amity.protocol.sharing.allowed` (each attestation to
each connected peer once, at most ``per_hour`` an hour); ``reputation.share`` bodies made by
:func:`~amity.protocol.reputationmessages.pack_items` and read by
:func:`~amity.protocol.sharing.accept_share` (every item verified, the quota per sender); and
local trust kept by :class:`~amity.protocol.trustindex.TrustState` over the owner's
pre-trusted candidates (her agreement counterparties and the friends she vouches for).

Where it differs from the daemon, and why:

- A share pass runs ``settle_ms`` after something changed (an attestation made or received, a
  policy set, a peer connected), and an hour on if the rate held items back. The daemon also
  wakes once a minute with nothing to do; a hundred thousand simulated nodes cannot.
- Automatic attestations (spec/reputation.md §6.2, :mod:`amity.protocol.verdicts`) are made
  only once the owner turns them on (:meth:`SimReputation.attest_grants`): the daemon always
  makes them, but most scenarios do not read them and should not pay for them.
- Nothing is rebutted or asked (``reputation.rebut``, ``reputation.query``): no scenario needs
  them yet, and a node refuses them as the daemon refuses a type it does not handle. Nor is a
  pending attestation approved later, or a peer's share policy changed once it shared.
- Attestations are held as decoded objects, the run's one copy of each
  (:meth:`~amity.simulations.context.SharedValues.attestation`), and each is verified once per
  run (:meth:`~amity.simulations.context.SharedValues.read_item`, as cards are): the verdict is a
  function of the bytes, and an attestation reaches many nodes. Expiry is checked on every read,
  and bytes never seen before (a forgery among them) are verified in full.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from amity.protocol.attestation import Attestation
from amity.protocol.envelope import Envelope
from amity.protocol.errors import UsageError
from amity.protocol.identity import PeerId
from amity.protocol.relationship import Relationship, RelationshipState, SendMessage
from amity.protocol.reputationmessages import (
    MSG_SHARE,
    RawItem,
    decode_share,
    encode_share,
    pack_items,
)
from amity.protocol.sharing import (
    APPROVED,
    HOUR_MS,
    RECEIVED,
    ShareMode,
    SharePolicy,
    accept_share,
    allowed,
    hops_out,
)
from amity.protocol.trust import TrustResult
from amity.protocol.trustindex import TrustState
from amity.protocol.verdicts import (
    automatic_attestation,
    grant_verdict,
    verdict_deadline_ms,
)
from amity.simulations.context import Staged
from amity.simulations.world.engine import Timer

if TYPE_CHECKING:
    from amity.simulations.node import SimNode
    from amity.simulations.services.grants import IssuedGrant

__all__ = ["REPUTATION_TYPES", "HeldAttestation", "SimReputation"]

#: The reputation messages a simulated node handles.
REPUTATION_TYPES: Final = frozenset({MSG_SHARE})
#: As the daemon's reputation policy default.
MAX_FROM_SENDER: Final = 20_000
#: As the daemon's loop: a burst of changes is coalesced into one pass.
SETTLE_MS: Final = 50
#: The daemon's reputation policy defaults: receipt_grace_s, attestation_days.
RECEIPT_GRACE_MS: Final = 3_600_000
ATTESTATION_TTL_MS: Final = 365 * 86_400_000


@dataclass(slots=True)
class HeldAttestation:
    """One attestation a node holds (the fields :func:`amity.protocol.sharing.allowed` reads)."""

    attestation: Attestation
    #: The peer it came from (its key); None for the owner's own.
    origin: bytes | None
    hops: int
    review: str

    @property
    def attester(self) -> bytes:
        return self.attestation.attester.key

    @property
    def expires_ms(self) -> int:
        return self.attestation.expires_ms


@dataclass(slots=True)
class _Peer:
    """What one peer may be sent, and how far through the held list its sending has got."""

    policy: SharePolicy
    #: Held items before this index were shared, or not allowed when last looked at.
    cursor: int = 0
    #: (sent at, how many) in the last hour, oldest first: the hourly rate.
    recent: list[tuple[int, int]] | None = None


class SimReputation:
    """Attestations, trust and sharing of one simulated node: the service for ``reputation.*``."""

    types: frozenset[str] = REPUTATION_TYPES
    #: Of those, the types still taken once the relationship ended (the core's after-end rule).
    after_end: frozenset[str] = frozenset()

    __slots__ = (
        "_direct",
        "_from",
        "_judged",
        "_order",
        "_pass",
        "_peers",
        "_relays_received",
        "_trust_dirty",
        "auto_share",
        "grace_ms",
        "held",
        "max_from_sender",
        "node",
        "received",
        "shared",
        "trust",
        "ttl_ms",
    )

    def __init__(self, node: SimNode) -> None:
        self.node = node
        self.max_from_sender = MAX_FROM_SENDER
        #: Her local trust; the scenario may set its parameters (configure_trust).
        self.trust = TrustState(node.peer_id)
        self.held: dict[bytes, HeldAttestation] = {}
        self._order: list[HeldAttestation] = []
        self._peers: dict[PeerId, _Peer] = {}
        #: Some peer's policy is ``all``: what she receives may go on to it (a pass is due).
        self._relays_received = False
        self._from: dict[PeerId, int] = {}
        self._direct: set[PeerId] = set()
        self._trust_dirty = True
        self._pass: Timer | None = None
        #: The owner's reputation policy as far as it is simulated (the daemon's defaults):
        #: share automatic attestations at once or hold them for review, the receipt grace, and
        #: how long what she signs stays valid.
        self.auto_share = False
        self.grace_ms = RECEIPT_GRACE_MS
        self.ttl_ms = ATTESTATION_TTL_MS
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
        review = APPROVED if approved else "pending"
        return self._hold(attestation, None, 0, review)

    def hold_received(self, attestation: Attestation, origin: PeerId, hops: int = 0) -> bool:
        """Hold an attestation as if ``origin`` had sent it (a run's set-up, not a message)."""
        return self._hold(attestation, origin.key, hops, RECEIVED)

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
        self._peers[peer] = _Peer(policy)
        self._relays_received = any(p.policy.mode is ShareMode.ALL for p in self._peers.values())
        self.poke()

    def vouch(self, peer: PeerId) -> None:
        """Take ``peer``'s word as a direct counterparty's (``amity vouch``)."""
        rel = self.node.relationship(peer)
        if rel is None or rel.state is RelationshipState.ENDED:
            raise UsageError(f"no relationship with {peer.short}; connect first")
        self.add_direct(peer)

    def add_direct(self, peer: PeerId) -> None:
        """A pre-trusted candidate: a peer she holds an agreement with, or vouches for."""
        peer = self.node.shared.peer(peer)
        if peer not in self._direct:
            self._direct.add(peer)
            self._trust_dirty = True

    @property
    def direct(self) -> frozenset[PeerId]:
        return frozenset(self._direct)

    def result(self) -> TrustResult:
        """Her local trust now (spec/reputation.md §6.5), recomputed only if something changed."""
        if self._trust_dirty:
            self.trust.set_direct(self._direct)
            self._trust_dirty = False
        return self.trust.result(now_ms=self.node.now_ms())

    # -- automatic attestations (spec/reputation.md §6.2) ------------------------------------------

    def attest_grants(self, *, auto_share: bool = False) -> None:
        """Judge each grant this node issues by its receipts, as the daemon always does."""
        self.auto_share = auto_share
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
        finding = grant_verdict(
            grant_encoded=grant.encoded,
            not_after_ms=grant.not_after_ms,
            revoked_ms=issued.revoked_ms,
            receipts=issued.receipts,
            grace_ms=self.grace_ms,
            now_ms=now,
        )
        if finding is None:
            if issued.delivered_ms is not None:  # look again just after the deadline
                deadline = verdict_deadline_ms(grant.not_after_ms, issued.revoked_ms, self.grace_ms)
                at = deadline + 1 - self.node.env.start_ms
                self.node.engine.call_at(max(at, self.node.engine.now_ms), self.judge, issued)
            return
        judged.add(grant.grant_id)
        # The agreement the grant cites: a simulated grantor grants under its newest.
        agreement = self.node.grants.agreement_with(grant.grantee)
        attestation = automatic_attestation(
            self.node.keyring.identity,
            agreement,
            grant.grant_id,
            finding,
            now_ms=now,
            ttl_ms=self.ttl_ms,
        )
        self.attest(attestation, approved=self.auto_share)

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
            if state.policy.mode is ShareMode.NONE or not self._connected(peer):
                continue
            items = self._select(peer, state, now)
            for batch in pack_items(items):
                staged.sends.append(SendMessage(peer, MSG_SHARE, encode_share(batch)))
            held_back = held_back or state.cursor < len(self._order)
        if staged.sends:
            self.node.commit(staged)
        if held_back:  # the hourly rate: try again once an hour's sending has aged
            self._pass = self.node.engine.call_later(HOUR_MS, self._share_pass)

    def _select(self, peer: PeerId, state: _Peer, now: int) -> list[RawItem]:
        recent = [(t, n) for t, n in state.recent or () if t > now - HOUR_MS]
        room = state.policy.per_hour - sum(n for _, n in recent)
        items: list[RawItem] = []
        order, key = self._order, peer.key
        while state.cursor < len(order) and len(items) < room:
            held = order[state.cursor]
            state.cursor += 1
            if allowed(held, state.policy, key, now):
                items.append(RawItem(held.attestation.encoded, hops_out(held), ()))
        if items:
            recent.append((now, len(items)))
            self.shared += len(items)
        state.recent = recent or None
        return items

    # -- peers' messages ---------------------------------------------------------------------------

    def receive(self, envelope: Envelope, relationship: Relationship, now_ms: int) -> Staged:
        """A ``reputation.share``: every item verified (§6.4); held once the commit is done."""
        sender = envelope.sender
        accepted = accept_share(
            decode_share(envelope.body),
            owner=self.node.peer_id,
            now_ms=now_ms,
            held_from_sender=self._from.get(sender, 0),
            max_from_sender=self.max_from_sender,
            read=self.node.shared.read_item,
        )
        items = accepted.items

        def received() -> None:
            fresh = 0
            for item in items:
                fresh += self._hold(item.attestation, sender.key, item.hops, RECEIVED)
            self._from[sender] = self._from.get(sender, 0) + fresh
            self.received += fresh

        return Staged(after=[received])

    def held_items(self) -> Iterable[HeldAttestation]:
        """What this node holds, in the order it came to hold it."""
        return iter(self._order)
