"""The core cross-check story told by five simulated nodes on the engine's clock, in the same
steps as the daemons' telling (crosscheck_daemons.py). The story: test_core_crosscheck.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.card import NodeKind
from amity.protocol.errors import CutOffError
from amity.protocol.negotiation import Accept, NegotiationState
from amity.protocol.notes import MSG_NOTE, encode_note
from amity.protocol.relationship import RelationshipState, SendMessage
from amity.protocol.sharing import ShareMode, SharePolicy
from amity.protocol.terms import ROSTER
from amity.protocol.vault import Field, FieldType
from amity.simulations.context import SimEnv, Staged
from amity.simulations.crypto import CryptoMode, crypto_mode
from amity.simulations.node import SimNode
from amity.simulations.relay import make_relay, use_relay
from amity.simulations.world.distributions import Constant
from amity.simulations.world.engine import Engine
from amity.simulations.world.network import LinkProfile, Network
from amity.simulations.world.streams import RandomStreams
from tests.simulations.coretrace import describe
from tests.simulations.crosscheck_story import (
    ATTESTATION_DAYS,
    BUNDLE,
    DAY_MS,
    EMAIL,
    GRACE_S,
    GRANT_S,
    NOTE,
    ROLES,
    START_MS,
    Streams,
    in_roles,
    streams,
)
from tests.simulations.test_crosscheck import _Quiet


def sim_story(crypto: CryptoMode) -> tuple[Streams, str]:
    """The story told by five simulated nodes: their traces, and what the cut-off said."""
    with crypto_mode(crypto):
        return _sim_story(crypto)


def restarted(node: SimNode) -> None:
    """What a daemon's restart forgets that the story can tell: its peer card, issued afresh at
    start (so its peers' relationships note card-updated at its next hello). A simulated node
    that goes offline keeps its memory, and its outbox, replay guard and relationships are what
    the daemon's SQLite keeps too."""
    node._card = None


def _sim_story(crypto: CryptoMode) -> tuple[Streams, str]:
    streams_ = RandomStreams(7)
    engine = Engine()
    network = Network(
        engine,
        streams_.stream("network"),
        default=LinkProfile(Constant(5), 0.0),
        detect_ms=1_000,
        dial_fail_ms=500,
    )
    env = SimEnv(engine, network, _Quiet(), crypto, START_MS, 1)
    kinds = {
        "person": NodeKind.PERSON,
        "vendor": NodeKind.VENDOR,
        "breacher": NodeKind.VENDOR,
        "friend": NodeKind.PERSON,
        "relay": NodeKind.RELAY,
    }
    nodes: dict[str, SimNode] = {}
    for name in ROLES:
        node = SimNode(
            env,
            name=name,
            kind=kinds[name],
            seed=streams_.key(name),
            random=streams_.bytes_source(name),
            reachable=True,
        )
        node.core_trace = []
        nodes[name] = node
    person, vendor, breacher, friend, relay = (nodes[name] for name in ROLES)
    breacher.grants.keep_data = True
    make_relay(relay)

    def until(check: Callable[[], Any], what: str) -> None:
        for _ in range(1_200):  # at most two minutes of virtual time, looked at every 100 ms
            if check():
                return
            engine.run(until_ms=engine.now_ms + 100)
        raise AssertionError(f"the simulated story did not reach: {what}")

    def settled() -> None:
        def empty() -> bool:
            return all(
                a.outbox.pending(b.peer_id) == 0
                for a in nodes.values()
                if network.is_online(a.address)
                for b in nodes.values()
                if b is not a
            )

        until(empty, "every outbox drained")

    def connected(a: SimNode, b: SimNode) -> bool:
        ra, rb = a.relationship(b.peer_id), b.relationship(a.peer_id)
        return (
            ra is not None
            and ra.state is RelationshipState.CONNECTED
            and rb is not None
            and rb.state is RelationshipState.CONNECTED
        )

    def meet(a: SimNode, b: SimNode) -> None:
        a.connect(b.invite(3_600_000), lambda ok, why: None)
        until(lambda: connected(a, b), f"{a.name} <-> {b.name}")

    # 1. the relay
    used: list[bool] = []
    use_relay(person, relay.invite(3_600_000), lambda ok, why: used.append(ok))
    until(lambda: used == [True] and person.links.get(relay.peer_id), "the relay in use")
    settled()
    # 2. meet and agree
    meet(person, vendor)
    settled()

    def agree(customer: SimNode, shop: SimNode) -> Agreement:
        nid = customer.terms.offer(shop.peer_id, ROSTER["P2B1"].document).negotiation_id
        until(lambda: nid in shop.terms.negotiations, "the offer at the vendor")
        settled()
        shop.terms.move(nid, Accept())
        until(
            lambda: customer.terms.negotiations[nid].state is NegotiationState.AGREED,
            "the agreement",
        )
        settled()
        agreement = customer.terms.negotiations[nid].agreement
        assert agreement is not None
        return agreement

    agreed = agree(person, vendor)
    # 3. grant, read, expire with receipt; her node attests by itself
    person.reputation.attest_grants(auto_share=True)
    person.reputation.policy = replace(person.reputation.policy, receipt_grace_s=GRACE_S)

    def grant(shop: SimNode) -> bytes:
        gid = person.grants.grant(
            shop.peer_id,
            [Field("email", FieldType.EMAIL, EMAIL)],
            purpose="service-provision",
            duration_ms=GRANT_S * 1000,
            context="order 42",
        ).grant_id
        until(lambda: person.grants.issued[gid].delivered_ms is not None, "the delivery receipt")
        settled()
        return gid

    honest = grant(vendor)
    assert vendor.grants.holds_values(honest), "the vendor reads what it was given"
    until(lambda: person.grants.issued[honest].deleted_ms is not None, "the deletion receipt")
    until(lambda: person.reputation.held, "her automatic attestation")
    settled()
    # 4. breach
    meet(person, breacher)
    settled()
    agree(person, breacher)
    grant(breacher)
    until(lambda: len(person.reputation.held) == 2, "the breach attested")
    settled()
    # 5. the friend deals with the breacher too
    meet(friend, breacher)
    settled()
    agree(friend, breacher)
    # 6. a share bundle larger than one message
    clause = ROSTER["P2B1"].document.clause_ids[0]
    for i in range(BUNDLE):
        now = person.now_ms()
        person.reputation.attest(
            Attestation.issue(
                person.keyring.identity,
                agreed,
                clause_id=clause,
                verdict=Verdict.HONOURED,
                issued_ms=now,
                expires_ms=now + ATTESTATION_DAYS * DAY_MS,
                note=f"bundle {i}",
            )
        )
    meet(person, friend)
    settled()
    friend.reputation.vouch(person.peer_id)
    person.reputation.set_policy(friend.peer_id, SharePolicy(ShareMode.MINE))
    until(lambda: len(friend.reputation.held) == BUNDLE + 2, "the friend holds them all")
    settled()
    # 7. cut-off: the friend's trust cuts the breacher off; a grant to it is refused
    until(lambda: breacher.peer_id in friend.reputation.cut_off(), "the breacher cut off")
    try:
        friend.grants.grant(
            breacher.peer_id,
            [Field("email", FieldType.EMAIL, "friend@example.org")],
            purpose="delivery",
            duration_ms=3_600_000,
        )
    except CutOffError as exc:
        cut_off = in_roles(f"{exc.message} [{exc.code}]", {breacher.peer_id.did: "breacher"})
    else:
        raise AssertionError("the simulated grants gate let a grant to a cut-off peer through")
    friend.end(breacher.peer_id, "cut off")
    until(
        lambda: (
            (r := breacher.relationship(friend.peer_id)) is not None
            and r.state is RelationshipState.ENDED
        ),
        "the breacher hears of the end",
    )
    settled()
    # 8. relay delivery while she is offline
    network.set_online(person.address, False)
    vendor.commit(Staged(sends=[SendMessage(person.peer_id, MSG_NOTE, encode_note(NOTE))]))
    mailbox = relay.mailbox
    assert mailbox is not None
    until(lambda: len(mailbox.held()) == 1, "the relay holds the note")
    network.set_online(vendor.address, False)
    restarted(person)
    network.set_online(person.address, True)
    until(lambda: mailbox.acked == 1 and not mailbox.held(), "the note through the relay")
    restarted(vendor)
    network.set_online(vendor.address, True)
    settled()

    assert person.core_trace is not None
    dids = {node.peer_id.did: name for name, node in nodes.items()}
    traces = {
        name: [describe(peer, effects) for peer, effects in node.core_trace or ()]
        for name, node in nodes.items()
    }
    return streams(traces, dids), cut_off
