"""Scenario 1, the market: persons meet vendors, connect, and negotiate terms with the real core.

Each *visit* is one person meeting one vendor: at its arrival time the vendor issues a one-time
invitation, the person's node uses it (dial, handshake, ``rel.hello`` both ways), and once the
relationship is CONNECTED she proffers her terms. The vendor's node answers from its policy, hers
from her limits, until an agreement, a reject or a deadline. A visit is *settled* when both nodes
hold the same end state; the run stops when every visit is settled or the time is up.
"""

from __future__ import annotations

import functools
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from amity.protocol.card import Card, NodeKind
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import OPEN_STATES, Negotiation, NegotiationState
from amity.simulations.behaviours.owners import HonestPerson, HonestVendor
from amity.simulations.context import make_env
from amity.simulations.crypto import CryptoMode, crypto_mode
from amity.simulations.node import SimNode
from amity.simulations.scenarios.market.scenario import MarketScenario
from amity.simulations.world.churn import Churn
from amity.simulations.world.engine import Engine
from amity.simulations.world.network import Partition
from amity.simulations.world.streams import RandomStreams

__all__ = ["Visit", "EventRow", "EventLog", "MarketWorld"]

_AGREED = NegotiationState.AGREED.value


@dataclass(slots=True)
class Visit:
    """One person meeting one vendor, and what came of it."""

    index: int
    person: SimNode
    vendor: SimNode
    profile: str
    policy: str
    offer: str
    arrive_ms: int
    invitation: Card | None = None
    attempts: int = 0
    gave_up: bool = False
    connected_ms: int | None = None
    negotiation_id: bytes | None = None
    offered_ms: int | None = None
    person_state: str = ""
    vendor_state: str = ""
    rounds: int = 0
    settled_ms: int | None = None
    outcome: str = "pending"
    messages: int = 0
    frames: int = 0
    size_bytes: int = 0
    agreement_id: str = ""
    #: The vendor refused the offer (never opened a negotiation), e.g. past its deadline.
    offer_refused: bool = False

    @property
    def agreement(self) -> bytes | None:
        """The agreement as the person's node holds it (the vendor's bytes, when all is well)."""
        return _held_agreement(self.person, self.negotiation_id)

    @property
    def vendor_agreement(self) -> bytes | None:
        return _held_agreement(self.vendor, self.negotiation_id)


def _held_agreement(node: SimNode, negotiation_id: bytes | None) -> bytes | None:
    # Read from the node's book rather than copied into the visit: a large run would keep a
    # second copy of every agreement.
    neg = None if negotiation_id is None else node.terms.negotiations.get(negotiation_id)
    return None if neg is None or neg.agreement is None else neg.agreement.encoded


@dataclass(frozen=True, slots=True)
class EventRow:
    time_ms: int
    node: str
    peer: str
    event: str
    detail: str


class EventLog(Sequence[EventRow]):
    """The run's event rows, stored as columns: a large run records millions of them.

    A row costs 24 bytes: its time, and four indices into one table of the texts (node names,
    event names, peer ids), which recur row after row.
    """

    __slots__ = ("_index", "_texts", "_times", "_words")

    def __init__(self) -> None:
        self._times = array("q")
        #: node, peer, event and detail of each row, as indices into _texts.
        self._words = array("I")
        self._texts: list[str] = []
        self._index: dict[str, int] = {}

    def append(self, row: EventRow) -> None:
        self._times.append(row.time_ms)
        self._words.extend(map(self._word, (row.node, row.peer, row.event, row.detail)))

    def text(self, text: str) -> str:
        """The log's own copy of ``text``, for a record that keeps what its events name."""
        return self._texts[self._word(text)]

    def _word(self, text: str) -> int:
        found = self._index.get(text)
        if found is None:
            found = self._index[text] = len(self._texts)
            self._texts.append(text)
        return found

    def __len__(self) -> int:
        return len(self._times)

    @overload
    def __getitem__(self, index: int) -> EventRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[EventRow]: ...

    def __getitem__(self, index: int | slice) -> EventRow | list[EventRow]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        time_ms = self._times[index]  # raises IndexError as a list would
        at = 4 * (index % len(self))
        node, peer, event, detail = (self._texts[w] for w in self._words[at : at + 4])
        return EventRow(time_ms, node, peer, event, detail)

    def __iter__(self) -> Iterator[EventRow]:
        texts, words = self._texts, self._words
        for i, time_ms in enumerate(self._times):
            at = 4 * i
            yield EventRow(
                time_ms,
                texts[words[at]],
                texts[words[at + 1]],
                texts[words[at + 2]],
                texts[words[at + 3]],
            )


class MarketWorld:
    """The market of one scenario and seed: nodes, network, visits; also the run's observer."""

    def __init__(self, scenario: MarketScenario, *, seed: int, crypto: CryptoMode) -> None:
        self.scenario = scenario
        self.seed = seed
        self.crypto = crypto
        self.streams = RandomStreams(seed)
        self.engine = Engine()
        net = scenario.network
        self.env = make_env(
            self.engine,
            self.streams.stream("network"),
            self,
            crypto,
            latency=net.latency,
            loss=net.loss,
            detect_ms=net.detect_ms,
            dial_fail_ms=net.dial_fail_ms,
            start_ms=scenario.start_ms,
            commit_ms=scenario.commit_ms,
        )
        self.network = self.env.network
        self.events = EventLog()
        self.visits: list[Visit] = []
        self.vendors: list[SimNode] = []
        self.persons: list[SimNode] = []
        self.churn = Churn(self.engine, self.network, self.streams.stream("churn"))
        self.interrupted = False
        self._names: dict[PeerId, str] = {}
        #: Each person's visits, a handful: a visit is found by its person, then its vendor.
        self._visits_of: dict[PeerId, tuple[Visit, ...]] = {}
        self._unsettled = 0
        with crypto_mode(crypto):
            self._build()

    # -- building the world ------------------------------------------------------------------------

    def _node(self, name: str, kind: NodeKind, behaviour: HonestPerson | HonestVendor) -> SimNode:
        node = SimNode(
            self.env,
            name=name,
            kind=kind,
            seed=self.streams.key(f"identity/{name}"),
            random=self.streams.bytes_source(f"random/{name}"),
            reachable=kind is NodeKind.VENDOR,  # persons sit behind NAT and dial out
            behaviour=behaviour,
        )
        self._names[node.peer_id] = name
        return node

    def _build(self) -> None:
        sc = self.scenario
        assign = self.streams.stream("assign")
        vendor_behaviours = [
            HonestVendor(
                v.name,
                policy=v.policy,
                human_delay=v.human_delay,
                human_accepts=v.human_accepts,
                rng=self.streams.stream(f"behaviour/vendor/{v.name}"),
            )
            for v in sc.vendor_policies
        ]
        person_behaviours = [
            HonestPerson(
                p.name,
                terms=p.terms,
                limits=p.limits,
                ttl_ms=p.ttl_ms,
                think=p.think,
                rng=self.streams.stream(f"behaviour/person/{p.name}"),
            )
            for p in sc.person_profiles
        ]
        vendor_weights = [v.weight for v in sc.vendor_policies]
        person_weights = [p.weight for p in sc.person_profiles]
        width = len(str(max(sc.vendors, sc.persons)))
        for i in range(sc.vendors):
            behaviour = assign.choices(vendor_behaviours, vendor_weights)[0]
            self.vendors.append(self._node(f"vendor-{i:0{width}d}", NodeKind.VENDOR, behaviour))
        offers = {p.name: p.offer_label for p in sc.person_profiles}
        for j in range(sc.persons):
            pb = assign.choices(person_behaviours, person_weights)[0]
            person = self._node(f"person-{j:0{width}d}", NodeKind.PERSON, pb)
            self.persons.append(person)
            theirs: list[Visit] = []
            for v in assign.sample(range(sc.vendors), sc.vendors_per_person):
                vendor = self.vendors[v]
                vb = vendor.behaviour
                assert isinstance(vb, HonestVendor)
                visit = Visit(
                    index=len(self.visits),
                    person=person,
                    vendor=vendor,
                    profile=pb.name,
                    policy=vb.name,
                    offer=offers[pb.name],
                    arrive_ms=sc.arrival.sample(assign),
                )
                self.visits.append(visit)
                theirs.append(visit)
                self.engine.call_at(visit.arrive_ms, self._visit, visit)
            self._visits_of[person.peer_id] = tuple(theirs)
        self._unsettled = len(self.visits)
        churn_of = {NodeKind.VENDOR: "vendor", NodeKind.PERSON: "person"}
        for node in [*self.vendors, *self.persons]:
            model = sc.churn.get(churn_of[node.kind])
            if model is not None:
                self.churn.add(node.address, model)
        cut = self.streams.stream("partition")
        everyone = len(self.vendors) + len(self.persons)
        for part in sc.network.partitions:
            side = cut.sample(range(everyone), round(part.fraction * everyone))
            self.network.schedule_partition(Partition(part.start_ms, part.end_ms, tuple(side)))

    # -- visits ------------------------------------------------------------------------------------

    def _visit(self, visit: Visit) -> None:
        visit.invitation = visit.vendor.invite(self.scenario.invitation_ttl_ms)
        self._connect(visit)

    def _connect(self, visit: Visit) -> None:
        assert visit.invitation is not None
        visit.attempts += 1
        done = functools.partial(self._connected, visit)
        try:
            visit.person.connect(visit.invitation, done)
        except AmityError as exc:  # e.g. the invitation expired while she was offline
            done(False, exc.code)

    def _connected(self, visit: Visit, ok: bool, why: str) -> None:
        if ok:
            if visit.connected_ms is None:
                visit.connected_ms = self.engine.now_ms
            visit.invitation = None  # used: no attempt follows a success
            return
        self.record(visit.person, "visit.connect_failed", visit.vendor.peer_id, why)
        if visit.attempts < self.scenario.connect_attempts:
            delay = self.scenario.connect_retry.sample(self.streams.stream("retry"))
            self.engine.call_later(delay, self._connect, visit)
        elif visit.connected_ms is None and not visit.gave_up:
            visit.gave_up = True
            visit.invitation = None
            self._count_settled()

    def _count_settled(self) -> None:
        self._unsettled -= 1
        if self._unsettled == 0:
            self.engine.stop()

    # -- the observer ------------------------------------------------------------------------------

    def record(self, node: SimNode, event: str, peer: PeerId | None, detail: str) -> None:
        peer_name = "" if peer is None else self._names.get(peer, peer.short)
        self.events.append(EventRow(self.engine.now_ms, node.name, peer_name, event, detail))
        if event == "message.refused_by_peer" and peer is not None:
            visit = self._visit_between(node.peer_id, peer)
            if visit is not None:  # e.g. an offer that waited offline past its deadline
                visit.offer_refused = True
                self._settle(visit)

    def negotiation_changed(self, node: SimNode, negotiation: Negotiation) -> None:
        visit = self._visit_between(negotiation.person, negotiation.vendor)
        if visit is None:
            return
        if visit.negotiation_id is None:
            visit.negotiation_id = negotiation.negotiation_id
        if negotiation.negotiation_id != visit.negotiation_id:
            return
        if negotiation.agreement is not None:
            # The same text as the "agreed" events' detail: one copy of it in a large run.
            visit.agreement_id = self.events.text(negotiation.agreement.agreement_id.hex())
        if node is visit.person:
            visit.person_state = negotiation.state.value
            if visit.offered_ms is None:
                visit.offered_ms = self.engine.now_ms
        else:
            visit.vendor_state = negotiation.state.value
        visit.rounds = max(visit.rounds, negotiation.rounds)
        self._settle(visit)

    def _visit_between(self, person: PeerId, vendor: PeerId) -> Visit | None:
        for visit in self._visits_of.get(person, ()):
            if visit.vendor.peer_id == vendor:
                return visit
        return None

    def _settle(self, visit: Visit) -> None:
        open_states = {s.value for s in OPEN_STATES}
        states = (visit.person_state, visit.vendor_state)
        if visit.settled_ms is not None or states[0] in ("", *open_states):
            return
        if states[1] == "":
            if not visit.offer_refused:
                return  # the vendor has not seen the offer yet
        elif states[1] in open_states or (states[0] == _AGREED) != (states[1] == _AGREED):
            return  # still open, or an accept on its way (agreed-late follows)
        visit.settled_ms = self.engine.now_ms
        visit.outcome = "agreed" if states[0] == _AGREED else visit.person_state
        person, vendor = visit.person, visit.vendor
        visit.messages = person.outbox.signed(vendor.peer_id) + vendor.outbox.signed(person.peer_id)
        for a, b in ((person, vendor), (vendor, person)):
            frames, size = a.traffic_to(b.address)
            visit.frames += frames
            visit.size_bytes += size
        if not visit.gave_up:
            self._count_settled()

    # -- running -----------------------------------------------------------------------------------

    def run(
        self,
        on_progress: Callable[[MarketWorld], None] | None = None,
        *,
        chunk_events: int = 20_000,
    ) -> None:
        """Run to the end (every visit settled, or the scenario's duration).

        ``on_progress`` is called between chunks of events; a KeyboardInterrupt stops the run
        where it is, marks it interrupted and propagates (the results so far stay readable).
        """
        until = self.scenario.duration_ms
        with crypto_mode(self.crypto):
            try:
                while self._unsettled > 0:
                    ran = self.engine.run(until, max_events=chunk_events)
                    if on_progress is not None:
                        on_progress(self)
                    if ran < chunk_events:
                        break
            except KeyboardInterrupt:
                self.interrupted = True
                raise
        for visit in self.visits:
            if visit.settled_ms is None and visit.gave_up and visit.connected_ms is None:
                visit.outcome = "unreached"

    @property
    def settled(self) -> int:
        return len(self.visits) - self._unsettled

    def name_of(self, peer: PeerId) -> str:
        return self._names.get(peer, peer.short)
