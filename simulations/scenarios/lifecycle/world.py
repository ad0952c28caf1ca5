"""Scenario 2, the grants lifecycle under churn with relays: from agreement to deletion receipt.

Each person first meets a relay (if she uses one: its invitation, then it is on her card), then
meets a few vendors at their arrival times (an invitation, as in the market), proffers a roster
document that the vendors' accept-all policy signs, and, ``grants.delay`` after her node holds
the agreement, grants her email for ``grants.duration``. The vendor's node holds it, returns a
delivery receipt, deletes it at the end and returns a deletion receipt, unless it is one of the
breaching vendors (``keep_data``). Independently, the owners of a share of vendors pass the values
their node opened on to other vendors (:class:`~amity.simulations.behaviours.owners.OnwardSharer`): no
amity message carries that, so her node sees nothing of it, and the copies, held under no grant,
are never deleted. Persons, vendors and relays churn, so messages wait in outboxes and, when a peer
cannot be reached, at the peer's relay. Every figure comes from what the nodes hold: receipts at
the grantor, holdings at the grantee; and, for what went onward, the ledger of copies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from amity.protocol.card import NodeKind
from amity.protocol.delivery import MSG_DELIVER
from amity.protocol.errors import AmityError
from amity.protocol.holder import HoldingState
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Negotiation, NegotiationState
from amity.protocol.receipts import MSG_RECEIPT
from amity.protocol.vault import Field, FieldType
from amity.simulations.behaviours.owners import (
    HonestPerson,
    HonestVendor,
    OnwardCopy,
    OnwardSharer,
    accept_all,
)
from amity.simulations.context import make_env
from amity.simulations.crypto import CryptoMode, crypto_mode
from amity.simulations.node import SimNode
from amity.simulations.relay import make_relay, use_relay
from amity.simulations.runs.results import nearest_rank
from amity.simulations.scenarios.lifecycle.changes import AddressChanges
from amity.simulations.scenarios.lifecycle.scenario import LifecycleScenario
from amity.simulations.world.churn import Churn
from amity.simulations.world.distributions import Constant
from amity.simulations.world.engine import Engine
from amity.simulations.world.streams import RandomStreams

__all__ = ["GrantRow", "LifecycleWorld", "accept_all", "metrics", "headline"]

_AGREED: Final = NegotiationState.AGREED


@dataclass(slots=True)
class GrantRow:
    """One grant, from issue to receipts, in virtual ms (``None``: it never happened)."""

    index: int
    person: SimNode
    vendor: SimNode
    #: The vendor breaches either way: it keeps data, or its owner shares data onward.
    vendor_breaches: bool
    grant_id: bytes
    issued_ms: int
    ends_ms: int
    #: When the vendor's node took the delivery, and whether a relay's MAIL brought it.
    received_ms: int | None = None
    received_via: str = ""
    #: When her node holds the delivery receipt, and the deletion receipt.
    delivered_ms: int | None = None
    deleted_ms: int | None = None
    deletion_reason: str = ""
    #: Set at the end: the vendor still holds the values after ``ends_ms + grace_ms``.
    left_behind: bool = False
    #: Set at the end: deleted (with its receipt), delivered (no deletion receipt yet), kept
    #: (left behind), expired-undelivered (it ended before any delivery receipt), or pending.
    outcome: str = "pending"
    vendor_keeps_data: bool = False
    vendor_shares_onward: bool = False
    #: Set at the end: copies of this grant's values the vendor's owner gave third parties, and
    #: how many of them sit at a party that holds no grant of hers in force for those fields.
    copies_onward: int = 0
    copies_outside_grants: int = 0


class LifecycleWorld:
    """Persons, vendors and relays of one scenario and seed; also the run's observer."""

    def __init__(self, scenario: LifecycleScenario, *, seed: int, crypto: CryptoMode) -> None:
        self.scenario = scenario
        self.seed = seed
        self.crypto = crypto
        self.streams = RandomStreams(seed)
        self.engine = Engine()
        sc = scenario
        self.env = make_env(
            self.engine,
            self.streams.stream("network"),
            self,
            crypto,
            latency=sc.latency,
            loss=sc.loss,
            detect_ms=sc.detect_ms,
            dial_fail_ms=sc.dial_fail_ms,
            start_ms=sc.start_ms,
            commit_ms=sc.commit_ms,
        )
        self.network = self.env.network
        self.churn = Churn(self.engine, self.network, self.streams.stream("churn"))
        self.persons: list[SimNode] = []
        self.vendors: list[SimNode] = []
        self.relays: list[SimNode] = []
        #: Vendors that breach: they keep data, their owners share it onward, or both.
        self.breaching: set[PeerId] = set()
        self.keeping_data: set[PeerId] = set()
        self.sharing_onward: set[PeerId] = set()
        #: What sharing owners passed on, in the order they did (never deleted: no grant).
        self.copies: list[OnwardCopy] = []
        self.grants: list[GrantRow] = []
        self.visits = 0
        self.connected = 0
        self.agreements = 0
        self.relay_meetings = 0
        self.interrupted = False
        #: Envelopes first taken from a relay's MAIL, by message type.
        self.by_mail: dict[str, int] = {}
        #: Events the nodes notified, by name (the run's event log is not kept: it is large).
        self.counts: dict[str, int] = {}
        #: Grants by the first 16 hex digits of their id, as nodes notify them.
        self._by_prefix: dict[str, GrantRow] = {}
        self._vendor_of: dict[PeerId, SimNode] = {}
        self._granted: set[bytes] = set()
        self._last_received: GrantRow | None = None
        self._retry = self.streams.stream("retry")
        self._grant = self.streams.stream("grants")
        #: Each person's email as she last set it (a new grant gives the newest).
        self.current_email: dict[PeerId, Field] = {}
        with crypto_mode(crypto):
            self._build()
        self.changes = AddressChanges(self)

    # -- building the world ------------------------------------------------------------------------

    def _node(
        self,
        name: str,
        kind: NodeKind,
        behaviour: HonestPerson | HonestVendor | None,
        *,
        reachable: bool,
    ) -> SimNode:
        return SimNode(
            self.env,
            name=name,
            kind=kind,
            seed=self.streams.key(f"identity/{name}"),
            random=self.streams.bytes_source(f"random/{name}"),
            reachable=reachable,
            behaviour=behaviour,
        )

    def _build(self) -> None:
        sc = self.scenario
        policy = accept_all(sc.offer)
        vendor_behaviour = HonestVendor(
            "accept-all",
            policy=policy,
            human_delay=Constant(60_000),
            human_accepts=1.0,
            rng=self.streams.stream("behaviour/vendor"),
        )
        person_behaviour = HonestPerson(
            sc.offer_label,
            terms=sc.offer,
            limits=policy,
            ttl_ms=900_000,
            think=sc.think,
            rng=self.streams.stream("behaviour/person"),
        )
        width = len(str(max(sc.persons, sc.vendors, sc.relays)))
        for r in range(sc.relays):
            relay = self._node(f"relay-{r:0{width}d}", NodeKind.RELAY, None, reachable=True)
            make_relay(relay)
            self.relays.append(relay)
        for i in range(sc.vendors):
            name = f"vendor-{i:0{width}d}"
            self.vendors.append(self._node(name, NodeKind.VENDOR, vendor_behaviour, reachable=True))
        self._vendor_of = {v.peer_id: v for v in self.vendors}
        breach = self.streams.stream("breach")
        for vendor in breach.sample(self.vendors, round(sc.keep_data_fraction * sc.vendors)):
            vendor.grants.keep_data = True
            self.keeping_data.add(vendor.peer_id)
        # Its own streams, so that sharing moves none of the draws above or below.
        onward = self.streams.stream("breach/share_onward")
        for vendor in onward.sample(self.vendors, round(sc.share_onward_fraction * sc.vendors)):
            vendor.grants.on_held = OnwardSharer(
                vendor,
                rate=sc.share_onward_rate,
                parties=sc.onward_parties,
                others=[v for v in self.vendors if v is not vendor],
                rng=self.streams.stream(f"share_onward/{vendor.name}"),
                ledger=self.copies,
            ).on_held
            self.sharing_onward.add(vendor.peer_id)
        self.breaching = self.keeping_data | self.sharing_onward
        assign = self.streams.stream("assign")
        for j in range(sc.persons):
            person = self._node(
                f"person-{j:0{width}d}", NodeKind.PERSON, person_behaviour, reachable=False
            )
            self.persons.append(person)
            for v in assign.sample(range(sc.vendors), sc.vendors_per_person):
                self.visits += 1
                self.engine.call_at(sc.arrival.sample(assign), self._visit, person, self.vendors[v])
        users = [*(self.persons if sc.persons_use_relays else [])]
        users += self.vendors if sc.vendors_use_relays else []
        for k, user in enumerate(users if self.relays else []):
            relay = self.relays[k % len(self.relays)]
            self.engine.call_at(0, self._meet_relay, user, relay)
        groups = {NodeKind.PERSON: "person", NodeKind.VENDOR: "vendor", NodeKind.RELAY: "relay"}
        for node in [*self.relays, *self.vendors, *self.persons]:
            model = sc.churn.get(groups[node.kind])
            if model is not None:
                self.churn.add(node.address, model)

    # -- meetings ----------------------------------------------------------------------------------

    def _meet_relay(self, user: SimNode, relay: SimNode) -> None:
        invitation = relay.invite(self.scenario.invitation_ttl_ms)
        self._retrying(functools.partial(use_relay, user, invitation), self._relay_met)

    def _relay_met(self) -> None:
        self.relay_meetings += 1

    def _visit(self, person: SimNode, vendor: SimNode) -> None:
        invitation = vendor.invite(self.scenario.invitation_ttl_ms)
        self._retrying(functools.partial(person.connect, invitation), self._connected)

    def _connected(self) -> None:
        self.connected += 1

    def _retrying(
        self, connect: Callable[[Callable[[bool, str], None]], None], on_ok: Callable[[], None]
    ) -> None:
        """``connect(done)``, tried again after a failure up to ``connect_attempts`` times."""

        def attempt(tries: int) -> None:
            def done(ok: bool, why: str) -> None:
                if ok:
                    on_ok()
                elif tries < self.scenario.connect_attempts:
                    delay = self.scenario.connect_retry.sample(self._retry)
                    self.engine.call_later(delay, attempt, tries + 1)

            try:
                connect(done)
            except AmityError as exc:  # e.g. the invitation expired while she was offline
                done(False, exc.code)

        attempt(1)

    def _grant_now(self, person: SimNode, vendor: SimNode) -> None:
        sc = self.scenario
        duration = max(1, sc.grant_duration.sample(self._grant))
        email = self.current_email.get(person.peer_id) or Field(
            "email", FieldType.EMAIL, f"{person.name}@example.org"
        )
        try:
            grant = person.grants.grant(
                vendor.peer_id, [email], purpose=sc.purpose, duration_ms=duration
            )
        except AmityError as exc:
            self._count(f"grant.failed.{exc.code}")
            return
        now = self.engine.now_ms
        row = GrantRow(
            index=len(self.grants),
            person=person,
            vendor=vendor,
            vendor_breaches=vendor.peer_id in self.breaching,
            grant_id=grant.grant_id,
            issued_ms=now,
            ends_ms=now + duration,
            vendor_keeps_data=vendor.peer_id in self.keeping_data,
            vendor_shares_onward=vendor.peer_id in self.sharing_onward,
        )
        self.grants.append(row)
        self._by_prefix[grant.grant_id.hex()[:16]] = row

    # -- the observer ------------------------------------------------------------------------------

    def _count(self, event: str) -> None:
        self.counts[event] = self.counts.get(event, 0) + 1

    def record(self, node: SimNode, event: str, peer: PeerId | None, detail: str) -> None:
        self._count(event)
        if event == "grant.received":
            # Synchronously followed by "mail.accepted" if a relay's MAIL carried it.
            self._last_received = row = self._row(detail)
            if row is not None and row.received_ms is None:
                row.received_ms, row.received_via = self.engine.now_ms, "direct"
        elif event == "mail.accepted":
            self.by_mail[detail] = self.by_mail.get(detail, 0) + 1
            row = self._last_received
            if detail == MSG_DELIVER and row is not None and row.vendor is node:
                row.received_via = "relay"
            self._last_received = None
        elif event == "grant.updated" and node.kind is NodeKind.VENDOR:
            self.changes.applied_at(node, peer, detail)
        elif event in ("grant.receipt.delivery", "grant.receipt.deletion"):
            row = self._row(detail)
            if row is not None:
                self._receipt(row)
        if event != "grant.received":
            self._last_received = None

    def grant_row(self, gid_prefix: str) -> GrantRow | None:
        return self._row(gid_prefix)

    def _row(self, gid_prefix: str) -> GrantRow | None:
        # Nodes notify the first 16 hex digits of a grant id (8 random bytes: unique in a run).
        return self._by_prefix.get(gid_prefix)

    def _receipt(self, row: GrantRow) -> None:
        issued = row.person.grants.issued[row.grant_id]
        start = self.scenario.start_ms
        if issued.delivered_ms is not None and row.delivered_ms is None:
            row.delivered_ms = issued.delivered_ms - start
        if issued.deleted_ms is not None and row.deleted_ms is None:
            row.deleted_ms = issued.deleted_ms - start
            row.deletion_reason = issued.deletion_reason

    def negotiation_changed(self, node: SimNode, negotiation: Negotiation) -> None:
        if node.kind is not NodeKind.PERSON or negotiation.state is not _AGREED:
            return
        if negotiation.negotiation_id in self._granted:
            return
        self._granted.add(negotiation.negotiation_id)
        self.agreements += 1
        vendor = self._vendor_of[negotiation.vendor]
        delay = self.scenario.grant_delay.sample(self._grant)
        self.engine.call_later(delay, self._grant_now, node, vendor)

    # -- running -----------------------------------------------------------------------------------

    def run(
        self,
        on_progress: Callable[[LifecycleWorld], None] | None = None,
        *,
        chunk_events: int = 20_000,
    ) -> None:
        """Run for the scenario's duration; then find the data left behind, and sent onward."""
        until = self.scenario.duration_ms
        with crypto_mode(self.crypto):
            try:
                while True:
                    ran = self.engine.run(until, max_events=chunk_events)
                    if on_progress is not None:
                        on_progress(self)
                    if ran < chunk_events:
                        break
            except KeyboardInterrupt:
                self.interrupted = True
                raise
            finally:
                self._look_for_data_left_behind()
                self._count_copies_onward()

    def _look_for_data_left_behind(self) -> None:
        now, grace = self.engine.now_ms, self.scenario.grace_ms
        for row in self.grants:
            past = row.ends_ms + grace <= now
            row.left_behind = past and row.vendor.grants.holds_values(row.grant_id)
            if row.deleted_ms is not None:
                row.outcome = "deleted"
            elif row.left_behind:
                row.outcome = "kept"
            elif row.delivered_ms is not None:
                row.outcome = "delivered"
            elif row.ends_ms <= now:
                row.outcome = "expired-undelivered"

    def _count_copies_onward(self) -> None:
        now = self.engine.now_ms
        for row in self.grants:
            row.copies_onward = row.copies_outside_grants = 0
        for copy in self.copies:
            found = self._row(copy.grant_id.hex()[:16])
            if found is None:
                continue
            found.copies_onward += 1
            found.copies_outside_grants += not _under_a_grant(copy, now)


def _under_a_grant(copy: OnwardCopy, now_ms: int) -> bool:
    """Whether the party holds, by chance, a grant of hers in force that covers the copied fields."""
    names = {f.name for f in copy.fields}
    return any(
        h.state is HoldingState.HELD
        and h.grant.grantor == copy.person
        and now_ms < h.deadline_ms
        and names <= set(h.grant.fields)
        for h in copy.party.grants.held.values()
    )


# -- the figures a sweep averages --------------------------------------------------------------


def _quantile(values: list[int], percent: int) -> float:
    return float(nearest_rank(sorted(values), percent))


def metrics(world: LifecycleWorld) -> dict[str, float]:
    """The run's figures, unrounded; a figure without data is left out."""
    rows = world.grants
    figures: dict[str, float] = {}
    if not rows:
        return figures
    delivered = [r for r in rows if r.delivered_ms is not None]
    deleted = [r for r in rows if r.deleted_ms is not None]
    figures["delivery_rate"] = len(delivered) / len(rows)
    figures["deletion_receipt_rate"] = len(deleted) / len(rows)
    honest = [r for r in rows if not r.vendor_breaches]
    if honest:
        figures["deletion_receipt_rate_honest"] = sum(r.deleted_ms is not None for r in honest) / (
            len(honest)
        )
    if delivered:
        times = [r.delivered_ms - r.issued_ms for r in delivered if r.delivered_ms is not None]
        figures["p50_issue_to_delivery_receipt_ms"] = _quantile(times, 50)
        figures["p90_issue_to_delivery_receipt_ms"] = _quantile(times, 90)
    after_end = [r.deleted_ms - r.ends_ms for r in deleted if r.deleted_ms is not None]
    if after_end:
        figures["p50_end_to_deletion_receipt_ms"] = _quantile(after_end, 50)
        figures["p90_end_to_deletion_receipt_ms"] = _quantile(after_end, 90)
    figures["data_left_behind"] = float(sum(r.left_behind for r in rows))
    figures["data_left_behind_honest"] = float(sum(r.left_behind for r in honest))
    received = [r for r in rows if r.received_ms is not None]
    if received:
        figures["deliveries_via_relay_rate"] = sum(r.received_via == "relay" for r in received) / (
            len(received)
        )
    receipts = world.counts.get("grant.receipt.delivery", 0)
    receipts += world.counts.get("grant.receipt.deletion", 0)
    receipts += world.counts.get("grant.receipt.update", 0)  # all three come by relay alike
    if receipts:
        figures["receipts_via_relay_rate"] = world.by_mail.get(MSG_RECEIPT, 0) / receipts
    # Breaches of amity.no-third-party-sharing (0 when no owner shares onward).
    figures["grants_shared_onward"] = float(sum(r.copies_onward > 0 for r in rows))
    figures["copies_onward"] = float(sum(r.copies_onward for r in rows))
    figures["copies_onward_honest"] = float(sum(r.copies_onward for r in honest))
    figures["copies_outside_grants_at_end"] = float(sum(r.copies_outside_grants for r in rows))
    figures.update(world.changes.figures())  # change once, everywhere (changes.py)
    return figures


def headline(world: LifecycleWorld) -> str:
    rows = world.grants
    delivered = sum(r.delivered_ms is not None for r in rows)
    deleted = sum(r.deleted_ms is not None for r in rows)
    minutes = world.engine.now_ms / 60_000
    return (
        f"{minutes:.0f} min: {len(rows)} grants, {delivered} delivery receipts, "
        f"{deleted} deletion receipts, {sum(world.by_mail.values())} messages by relay"
    )
