"""The simulator tells the truth: real daemons and simulated nodes send the same messages.

One scripted two-party story: the vendor invites, the person connects, offers #NoStalking terms
(P2B1), the vendor's owner accepts, the person grants her email for 2 s, it expires, the vendor
deletes it and sends a deletion receipt; her node attests the vendor honoured (automatically,
shared at once) and shares that with the vendor (share policy ``mine``). It runs twice: with two
real ``amity run`` daemons (their SQLite outboxes keep every envelope they signed), and with two
simulated nodes on the virtual clock (their outboxes keep a transcript). Each envelope is reduced
to its type and the shape of its signed body (nested signed structures opened; keys, signatures,
nonces, times and endpoints reduced to their kind and size, and times and grant ids in a note's
text too) and the two sequences must be equal, message for message, in both directions. This is
what "same code, no drift" means (issue 8).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from typing import Any

import pytest

from amity.protocol.card import NodeKind
from amity.protocol.encoding import Value, decode
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Accept, Negotiation, NegotiationState
from amity.protocol.relationship import RelationshipState
from amity.protocol.sharing import ShareMode, SharePolicy
from amity.protocol.signed import split_signed
from amity.protocol.terms import ROSTER
from amity.protocol.vault import Field, FieldType
from amity.simulations.context import SimEnv
from amity.simulations.crypto import CryptoMode, crypto_mode
from amity.simulations.node import SimNode
from amity.simulations.world.distributions import Constant
from amity.simulations.world.engine import Engine
from amity.simulations.world.network import LinkProfile, Network
from amity.simulations.world.streams import RandomStreams
from tests.node.conftest import Node, NodeFactory, meet, wait_for
from tests.node.test_grants import cli

EMAIL = "alice@example.org"
GRANT_S = 2
START_MS = 1_767_225_600_000
#: Bins shorter than this are never opened as nested structures (ids, keys, nonces, tags).
_NESTED_MIN_BYTES = 65

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_HEX16 = re.compile(r"\b[0-9a-f]{16}\b")

Shape = Any


def shape(value: Value) -> Shape:
    """A value with everything that differs between runs reduced to its kind (and size)."""
    if isinstance(value, bytes):
        if len(value) >= _NESTED_MIN_BYTES:
            with contextlib.suppress(AmityError):
                inner = decode(value)
                if isinstance(inner, list):
                    return ["enc", shape(inner)]
        return f"bin{len(value)}"
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return "int"
    if isinstance(value, str) and "://" in value:
        return "<endpoint>"
    if isinstance(value, str):  # an attestation's note names a grant and times
        return _HEX16.sub("<hex16>", _TIME.sub("<time>", value))
    return value


def transcript(envelopes: list[bytes]) -> list[tuple[str, Shape]]:
    """(type, shape of the body) of each envelope, in the order they were signed."""
    out = []
    for envelope in envelopes:
        fields = split_signed(envelope, "envelope", arity=8).fields
        type_, body = fields[1], fields[7]
        assert isinstance(type_, str) and isinstance(body, bytes)
        out.append((type_, shape(decode(body))))
    return out


# -- the daemons ---------------------------------------------------------------------------------


def signed_by(node: Node) -> list[bytes]:
    """Every envelope ``node`` signed, in the order it signed them (its outbox keeps them)."""
    with contextlib.closing(sqlite3.connect(node.home / "amity.db")) as db:
        rows = db.execute("SELECT envelope FROM outbox ORDER BY rowid").fetchall()
    return [bytes(envelope) for (envelope,) in rows]


@pytest.fixture(scope="module")
def daemons(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[bytes], list[bytes]]:
    """The story told once by two real daemons: what each signed."""
    factory = NodeFactory(tmp_path_factory.mktemp("crosscheck"))
    try:
        return daemon_story(factory)
    finally:
        factory.close()


def daemon_story(nodes: NodeFactory) -> tuple[list[bytes], list[bytes]]:
    alice, shop = nodes.create_many([("person", "person"), ("vendor", "vendor")])
    meet(alice, shop)
    offered = cli("terms", "offer", "--home", alice.home, "vendor", "--roster", "P2B1")
    wait_for(
        lambda: shop.api.request("GET", f"/api/terms/{offered['id']}").status == 200,
        what="the offer reaches the vendor",
    )
    accepted = cli("terms", "accept", "--home", shop.home, offered["id"][:8])
    wait_for(
        lambda: (
            alice.api.request("GET", f"/api/agreements/{accepted['agreement_id']}").status == 200
        ),
        what="the person holds the agreement",
    )
    cli("reputation", "--home", alice.home, "--auto-share", "on")
    cli("share-policy", "--home", alice.home, "vendor", "mine")
    cli("vault", "set", "--home", alice.home, "email", "email", EMAIL)
    made = cli(
        "grant", "--home", alice.home, "vendor", "--fields", "email",
        "--purpose", "service-provision", "--context", "order 42", "--expires", f"{GRANT_S}s",
    )  # fmt: skip
    wait_for(
        lambda: alice.api.get(f"/api/grants/{made['grant_id']}")["state"] == "deleted",
        what="the deletion receipt",
    )
    wait_for(
        lambda: shop.api.get("/api/attestations")["attestations"],
        what="the vendor holds her attestation",
    )
    return signed_by(alice), signed_by(shop)


# -- the simulator ---------------------------------------------------------------------------------


class _Quiet:
    def record(self, node: SimNode, event: str, peer: PeerId | None, detail: str) -> None:
        return None

    def negotiation_changed(self, node: SimNode, negotiation: Negotiation) -> None:
        return None


def sim_story(crypto: CryptoMode) -> tuple[list[bytes], list[bytes]]:
    with crypto_mode(crypto):
        return _sim_story(crypto)


def _sim_story(crypto: CryptoMode) -> tuple[list[bytes], list[bytes]]:
    streams = RandomStreams(7)
    engine = Engine()
    network = Network(
        engine,
        streams.stream("network"),
        default=LinkProfile(Constant(5), 0.0),
        detect_ms=1_000,
        dial_fail_ms=500,
    )
    env = SimEnv(engine, network, _Quiet(), crypto, START_MS, 1)

    def make(name: str, kind: NodeKind) -> SimNode:
        node = SimNode(
            env,
            name=name,
            kind=kind,
            seed=streams.key(name),
            random=streams.bytes_source(name),
            reachable=True,
        )
        node.outbox.keep_transcript()
        return node

    person, vendor = make("person", NodeKind.PERSON), make("vendor", NodeKind.VENDOR)

    def until(check: Any, what: str) -> None:
        for _ in range(600):  # at most a minute of virtual time, looked at every 100 ms
            if check():
                return
            engine.run(until_ms=engine.now_ms + 100)
        raise AssertionError(f"the simulated story did not reach: {what}")

    person.connect(vendor.invite(3_600_000), lambda ok, why: None)
    until(
        lambda: (
            (r := person.relationship(vendor.peer_id)) is not None
            and r.state is RelationshipState.CONNECTED
            and (v := vendor.relationship(person.peer_id)) is not None
            and v.state is RelationshipState.CONNECTED
        ),
        "connected",
    )
    offer = person.terms.offer(vendor.peer_id, ROSTER["P2B1"].document)
    nid = offer.negotiation_id
    until(lambda: nid in vendor.terms.negotiations, "the offer at the vendor")
    vendor.terms.move(nid, Accept())
    until(lambda: person.terms.negotiations[nid].state is NegotiationState.AGREED, "the agreement")
    person.reputation.attest_grants(auto_share=True)
    person.reputation.set_policy(vendor.peer_id, SharePolicy(ShareMode.MINE))
    grant = person.grants.grant(
        vendor.peer_id,
        [Field("email", FieldType.EMAIL, EMAIL)],
        purpose="service-provision",
        duration_ms=GRANT_S * 1000,
        context="order 42",
    )
    until(
        lambda: person.grants.issued[grant.grant_id].deleted_ms is not None,
        "the deletion receipt",
    )
    until(lambda: vendor.reputation.held, "the vendor holds her attestation")
    engine.run(until_ms=engine.now_ms + 5_000)  # let the last ACKs settle, as the daemons do
    return person.outbox.transcript, vendor.outbox.transcript


@pytest.mark.parametrize("crypto", [CryptoMode.REAL, CryptoMode.STANDIN])
def test_the_simulator_sends_what_the_daemons_send(
    daemons: tuple[list[bytes], list[bytes]], crypto: CryptoMode
) -> None:
    daemon_person, daemon_vendor = daemons
    sim_person, sim_vendor = sim_story(crypto)
    assert [t for t, _ in transcript(daemon_person)] == [
        "rel.hello",
        "terms.offer",
        "grant.deliver",
        "reputation.share",
    ], "the daemon story changed: update the script"
    assert transcript(sim_person) == transcript(daemon_person)
    assert transcript(sim_vendor) == transcript(daemon_vendor)
