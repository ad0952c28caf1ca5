"""Simulated nodes run the real core: invitations, hellos, negotiation, outbox, ACK and REFUSE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from amity.protocol.agreement import Agreement
from amity.protocol.card import NodeKind
from amity.protocol.errors import (
    AmityError,
    CertificateExpiredError,
    SessionPayloadError,
    SimulationStuckError,
)
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Negotiation, NegotiationState
from amity.protocol.notes import MSG_NOTE, encode_note
from amity.protocol.policy import parse_policy
from amity.protocol.relationship import RelationshipState
from amity.protocol.session import (
    FRAME_PAYLOAD_BYTES,
    check_handshake_payload,
    handshake_payload,
)
from amity.protocol.terms import ROSTER
from amity.simulations.behaviours.owners import HonestPerson, HonestVendor
from amity.simulations.context import SimEnv
from amity.simulations.crypto import CryptoMode, PlainSession, crypto_mode
from amity.simulations.node import SimNode
from amity.simulations.outbox import STUCK_AFTER_LINKS
from amity.simulations.world.distributions import Constant
from amity.simulations.world.engine import Engine
from amity.simulations.world.network import Connection, LinkProfile, Network
from amity.simulations.world.streams import RandomStreams

ACCEPT_ALL = """
version = 1
vocabulary = 1
default = "ask-human"
[clause."amity.no-tracking"]
action = "accept"
[clause."amity.purpose-limitation"]
action = "accept"
[clause."amity.no-third-party-sharing"]
action = "accept"
"""
START_MS = 1_767_225_600_000


@dataclass
class Log:
    """The observer: what nodes notified, and hooks a test can hang on an event."""

    events: list[tuple[int, str, str]] = field(default_factory=list)
    hooks: dict[str, Callable[[SimNode], None]] = field(default_factory=dict)
    engine: Engine | None = None

    def record(self, node: SimNode, event: str, peer: PeerId | None, detail: str) -> None:
        assert self.engine is not None
        self.events.append((self.engine.now_ms, node.name, event))
        hook = self.hooks.pop(f"{node.name}:{event}", None)
        if hook is not None:
            hook(node)

    def negotiation_changed(self, node: SimNode, negotiation: Negotiation) -> None:
        return None


@dataclass
class Pair:
    engine: Engine
    network: Network
    log: Log
    person: SimNode
    vendor: SimNode


def pair(
    crypto: CryptoMode = CryptoMode.REAL,
    *,
    loss: float = 0.0,
    commit_ms: int = 1,
    seed: int = 1,
    think_ms: int = 100,
) -> Pair:
    streams = RandomStreams(seed)
    engine = Engine()
    network = Network(
        engine,
        streams.stream("network"),
        default=LinkProfile(Constant(20), loss),
        detect_ms=1_000,
        dial_fail_ms=500,
    )
    log = Log(engine=engine)
    env = SimEnv(engine, network, log, crypto, START_MS, commit_ms)
    vendor = SimNode(
        env,
        name="vendor",
        kind=NodeKind.VENDOR,
        seed=streams.key("vendor"),
        random=streams.bytes_source("vendor"),
        reachable=True,
        behaviour=HonestVendor(
            "v",
            policy=parse_policy(ACCEPT_ALL),
            human_delay=Constant(1_000),
            human_accepts=1.0,
            rng=streams.stream("v"),
        ),
    )
    person = SimNode(
        env,
        name="person",
        kind=NodeKind.PERSON,
        seed=streams.key("person"),
        random=streams.bytes_source("person"),
        reachable=False,
        behaviour=HonestPerson(
            "p",
            terms=ROSTER["P2B1"].document,
            limits=parse_policy(ACCEPT_ALL),
            ttl_ms=600_000,
            think=Constant(think_ms),
            rng=streams.stream("p"),
        ),
    )
    return Pair(engine, network, log, person, vendor)


def meet(p: Pair, *, retry_ms: int | None = None) -> list[tuple[bool, str]]:
    """The person uses a fresh invitation of the vendor (and tries again after a failure)."""
    results: list[tuple[bool, str]] = []
    invitation = p.vendor.invite(3_600_000)

    def done(ok: bool, why: str) -> None:
        results.append((ok, why))
        if not ok and retry_ms is not None:
            p.engine.call_later(retry_ms, p.person.connect, invitation, done)

    p.person.connect(invitation, done)
    return results


def only_negotiation(node: SimNode) -> Negotiation:
    (neg,) = node.terms.negotiations.values()
    return neg


def test_an_invitation_connects_both_sides() -> None:
    p = pair()
    with crypto_mode(CryptoMode.REAL):
        results = meet(p)
        p.engine.run(until_ms=5_000)
    assert results == [(True, "connected")]
    for node, other in ((p.person, p.vendor), (p.vendor, p.person)):
        rel = node.relationship(other.peer_id)
        assert rel is not None and rel.state is RelationshipState.CONNECTED
        assert rel.peer_card is not None and rel.peer_card.kind is other.kind


def test_certificates_and_cards_are_verified_once_per_run_and_checked_on_every_use() -> None:
    p = pair()
    with crypto_mode(CryptoMode.REAL):
        meet(p)
        p.engine.run(until_ms=5_000)
        _, cert = p.vendor.keyring.current(p.engine.now_ms)
        card = p.vendor.card()
        shared = p.person.shared
        # The session and rel.hello read these through the run's memo: the copies they keep.
        assert shared.decode_link_cert(cert.encoded) is shared.decode_link_cert(cert.encoded)
        rel = p.person.relationship(p.vendor.peer_id)
        assert rel is not None and rel.peer_card is shared.decode_card(card.encoded)
        for data, read in (
            (cert.encoded, shared.decode_link_cert),
            (card.encoded, shared.decode_card),
        ):
            forged = bytearray(data)
            forged[-1] ^= 0x01  # bytes never read before are verified in full
            with pytest.raises(AmityError):
                read(bytes(forged))
        payload = handshake_payload(cert, b"")
        with pytest.raises(CertificateExpiredError):  # a memo does not keep a cert valid
            check_handshake_payload(
                payload,
                proven_static=cert.link_public,
                now_ms=cert.not_after_ms,
                expected_peer=None,
                read_cert=shared.decode_link_cert,
            )


def test_a_negotiation_ends_in_one_verifiable_agreement_held_by_both() -> None:
    p = pair()
    meet(p)
    p.engine.run(until_ms=10_000)
    mine, theirs = only_negotiation(p.person), only_negotiation(p.vendor)
    assert mine.state is theirs.state is NegotiationState.AGREED
    assert mine.agreement is not None and theirs.agreement is not None
    assert mine.agreement.encoded == theirs.agreement.encoded
    agreement = Agreement.decode(mine.agreement.encoded)
    assert (agreement.person, agreement.vendor) == (p.person.peer_id, p.vendor.peer_id)
    assert agreement.terms.terms_id == ROSTER["P2B1"].document.terms_id
    assert p.person.outbox.pending(p.vendor.peer_id) == 0
    assert p.vendor.outbox.pending(p.person.peer_id) == 0


def test_an_unacknowledged_message_is_resent_on_the_next_link_and_acked_as_a_duplicate() -> None:
    p = pair(commit_ms=200)
    dials: list[int] = []
    connect = p.network.connect

    def record_dial(
        src: int,
        dst: int,
        on_open: Callable[[Connection], None],
        on_fail: Callable[[str], None],
    ) -> None:
        dials.append(src)
        connect(src, dst, on_open, on_fail)

    p.network.connect = record_dial  # type: ignore[method-assign]

    def cut(vendor: SimNode) -> None:  # the vendor stored the offer; its ACK will not get through
        for connection in p.network.connections_of(vendor.address):
            p.network.break_connection(connection, "loss")

    p.log.hooks["vendor:terms.offered"] = cut
    meet(p)
    p.engine.run(until_ms=60_000)
    assert p.vendor.duplicates >= 1  # the resent offer was answered with a second ACK
    assert only_negotiation(p.person).state is NegotiationState.AGREED
    assert only_negotiation(p.vendor).state is NegotiationState.AGREED
    assert p.person.outbox.pending(p.vendor.peer_id) == 0
    assert p.vendor.outbox.pending(p.person.peer_id) == 0
    # The person is behind NAT: the vendor owed her the accept but never dialled her.
    assert set(dials) == {p.person.address} and len(dials) >= 2


def test_a_message_type_the_peer_does_not_handle_is_refused_and_not_resent() -> None:
    p = pair()
    meet(p)
    p.engine.run(until_ms=10_000)
    p.person.outbox.add(p.vendor.peer_id, "grant.offer", b"\x91\x01")
    p.person.outbox.flush(p.vendor.peer_id, p.person.links[p.vendor.peer_id][-1])
    p.engine.run(until_ms=20_000)
    assert p.person.refused_by_peers == 1
    assert p.vendor.rejected == 1
    assert p.person.outbox.pending(p.vendor.peer_id) == 0
    assert ("person", "message.refused_by_peer") in [(n, e) for _, n, e in p.log.events]


def test_relationship_timers_are_kept_apart_although_their_tokens_repeat() -> None:
    p = pair()
    used = p.vendor.invite(600_000)
    p.vendor.invite(300_000)  # its timer token is "invitation-1" too
    p.person.connect(used, lambda ok, why: None)
    p.engine.run(until_ms=301_000)
    states = [rel.state for rel in p.vendor.relationships()]
    assert states == [RelationshipState.CONNECTED, RelationshipState.ENDED]


def test_a_lossy_network_still_reaches_agreement() -> None:
    p = pair(loss=0.05, seed=4)
    meet(p, retry_ms=1_000)
    p.engine.run(until_ms=600_000)
    assert only_negotiation(p.person).state is NegotiationState.AGREED
    assert only_negotiation(p.vendor).state is NegotiationState.AGREED
    assert p.network.stats.broken.get("loss", 0) >= 1


def test_the_stand_in_keeps_message_flow_and_sizes_but_not_the_signatures() -> None:
    def run(mode: CryptoMode) -> tuple[list[tuple[int, str, str]], int, bytes]:
        p = pair(mode)
        with crypto_mode(mode):
            meet(p)
            p.engine.run(until_ms=10_000)
        agreement = only_negotiation(p.person).agreement
        assert agreement is not None
        return p.log.events, p.network.stats.bytes_sent, agreement.encoded

    real, standin = run(CryptoMode.REAL), run(CryptoMode.STANDIN)
    assert standin[:2] == real[:2]
    assert len(standin[2]) == len(real[2]) and standin[2] != real[2]
    Agreement.decode(real[2])
    with pytest.raises(AmityError):
        Agreement.decode(standin[2])  # a stand-in signature is no Ed25519 signature
    with crypto_mode(CryptoMode.STANDIN):
        Agreement.decode(standin[2])


def test_an_offer_that_waited_offline_past_its_deadline_is_refused_not_resent() -> None:
    p = pair(think_ms=60_000)
    meet(p)
    p.engine.run(until_ms=5_000)
    p.network.set_online(p.vendor.address, False)
    p.engine.run(until_ms=700_000)  # she offered at ~60 s for 600 s; the vendor was away
    assert only_negotiation(p.person).state is NegotiationState.EXPIRED
    assert p.person.outbox.pending(p.vendor.peer_id) >= 1
    p.network.set_online(p.vendor.address, True)
    p.engine.run(until_ms=800_000)  # her node redials and resends the offer
    assert p.vendor.terms.negotiations == {}
    assert p.person.refused_by_peers == 1
    assert p.person.outbox.pending(p.vendor.peer_id) == 0
    refused = [e for e in p.log.events if e[2] == "message.refused_by_peer"]
    assert len(refused) == 1


def test_when_the_newer_of_two_links_dies_what_it_carried_goes_again_on_the_other() -> None:
    p = pair()
    meet(p)
    p.engine.run(until_ms=10_000)
    vendor = p.vendor.peer_id
    failures: list[str] = []
    p.person.dialer.dial(vendor, p.vendor.card().endpoints, failures.append)
    p.engine.run(until_ms=12_000)
    older, newer = p.person.links[vendor]
    assert not failures
    p.person.outbox.add(vendor, MSG_NOTE, encode_note("on the newer link only"))
    p.person.outbox.flush(vendor, newer)
    p.network.break_connection(newer.connection, "loss")  # the frame is lost with the link
    p.engine.run(until_ms=14_000)
    # The older link is up, so nobody dials: the core's link-down rule resends on it at once.
    assert p.person.links[vendor] == (older,)
    assert p.person.outbox.pending(vendor) == 0


def _refusing_fragments(session: PlainSession, frame: bytes) -> bytes | None:
    """The stand-in's decrypt as it was before it reassembled fragments (issue 20): a fault."""
    if frame[0] != 0:
        raise SessionPayloadError("transport frame without a valid fragment flag")
    return frame[1:-16]


def test_a_peer_that_can_never_take_a_message_stops_the_run_saying_what_is_stuck(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = pair(CryptoMode.STANDIN)
    with crypto_mode(CryptoMode.STANDIN):
        meet(p)
        p.engine.run(until_ms=10_000)
        monkeypatch.setattr(PlainSession, "decrypt", _refusing_fragments)
        seq = p.person.outbox.add(p.vendor.peer_id, MSG_NOTE, bytes(FRAME_PAYLOAD_BYTES + 1))
        p.person.outbox.flush(p.vendor.peer_id, p.person.links[p.vendor.peer_id][-1])
        with pytest.raises(SimulationStuckError) as stuck:
            p.engine.run(until_ms=3_600_000)
    message = stuck.value.message
    assert f"person has sent envelope {seq} ({MSG_NOTE}) to vendor" in message
    assert f"on {STUCK_AFTER_LINKS} links in a row" in message
    # One hello went out on the first new link; the 99 after it resent it rather than pile up
    # one more each (spec/node.md §5).
    assert f"pending to that peer: 1 {MSG_NOTE}, 1 rel.hello." in message
    assert p.engine.now_ms < 3_600_000


def test_a_new_card_still_goes_out_in_a_new_hello_while_an_older_one_is_unsettled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = pair(CryptoMode.STANDIN)
    with crypto_mode(CryptoMode.STANDIN):
        meet(p)
        p.engine.run(until_ms=10_000)
        monkeypatch.setattr(PlainSession, "decrypt", _refusing_fragments)
        p.person.outbox.add(p.vendor.peer_id, MSG_NOTE, bytes(FRAME_PAYLOAD_BYTES + 1))
        p.person.outbox.flush(p.vendor.peer_id, p.person.links[p.vendor.peer_id][-1])
        p.engine.run(until_ms=15_000)  # a few failed links: one hello pending, not more
        assert p.person.outbox.pending(p.vendor.peer_id) == 2
        p.person.name = "person, renamed"  # her card changes: the next link introduces it
        p.person._card = None
        with pytest.raises(SimulationStuckError) as stuck:
            p.engine.run(until_ms=3_600_000)
    assert f"pending to that peer: 1 {MSG_NOTE}, 2 rel.hello." in stuck.value.message
