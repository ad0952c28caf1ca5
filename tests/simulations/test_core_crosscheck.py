"""One story, two drivers of the node core: real daemons and the simulator answer alike.

Five parties: a person who uses a relay, an honest vendor, a vendor that keeps data it should
delete (``--misbehave keep-data``; ``keep_data`` in the simulator), a friend of hers, and the relay.
The story, one step at a time (each settles, every outbox empty, before the next):

1. the person meets the relay and uses it (her card names it);
2. meet: the vendor invites, she connects; agree: she offers #NoStalking terms (P2B1), the
   vendor's owner accepts;
3. grant: she grants her email for 5 s; the vendor reads it; it expires: the vendor deletes it
   and sends a deletion receipt; her node attests "honoured" by itself;
4. breach: the same with the breacher, who keeps the data and sends no receipt: once the grace
   (1 s) is over her node attests "breached";
5. the friend meets the breacher and they agree (she is its customer too);
6. she signs 70 more attestations, then shares her own with the friend: 72 attestations, more
   than one ``reputation.share`` holds (64), so two envelopes; the friend vouches for her;
7. cut-off: the friend's trust now cuts the breacher off, and a grant to it is refused with the
   reason (``local.cut_off``: a local decision, no message; compared as text); she ends the
   relationship (a signed rel.end);
8. relay: she goes offline, the vendor sends her a note; it cannot reach her, so it deposits the
   note at her relay; the vendor goes offline, she comes back: the relay hands the note over,
   she takes it (and dials the vendor once, in vain); the vendor comes back, dials her, its
   outbox resends, she answers the duplicate with an ACK.

Both drivers keep a ``core_trace``: each answer of the core (amity.protocol.core) they carried
out. Each answer is described (tests/simulations/coretrace.py: types, seqs, states, codes, ids
kept; keys, nonces, times, signatures reduced to their kind) and each peer replaced by its role.
The two worlds run on different clocks (the daemon's group commit, asyncio's interleaving, the
engine's virtual time), so answers are compared per node and per peer of the input, in order:
what a peer sends on a link arrives in the order it sent it, in both. ACK, REFUSE, DEPOSITED and
MAIL_ACK frames, though, answer the node's own frames as soon as the peer's commit is done, which
the daemon batches by time (one ACK frame may settle 1 or 3 envelopes) and interleaves with the
peer's own envelopes, and with each other, by timing: those answers are compared as their own
stream per peer and kind of frame answered, in order, each ACK split into one entry per seq.

The cut-off gate (protocol/core/reputation/cutoff.py) is one rule in both worlds: the refusal
each grants service gives, its reason (standing, evidence, threshold) included, must be the same
text once the breacher's did is replaced by its role.

Two differences between the worlds are by design and handled in the open: a daemon that goes
offline is stopped and started again, so it issues a fresh peer card and its peers note
"card-updated" at its next hello; the simulated node's cached card is dropped at the same point
(:func:`restarted`). And an accepted envelope's ``keep_body`` is not compared: it says whether
the host's inbox keeps the body, and the simulator keeps no inbox (coretrace.py).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Verdict
from amity.protocol.card import NodeKind
from amity.protocol.errors import CutOffError
from amity.protocol.identity import PeerId
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
from tests.node.conftest import (
    Node,
    NodeFactory,
    invite,
    meet,
    run_amity,
    send,
    start_all,
    texts,
    wait_for,
)
from tests.node.test_grants import cli
from tests.simulations.coretrace import describe
from tests.simulations.test_crosscheck import _Quiet
from tests.simulations.traced_amity import TRACE_ENV

EMAIL = "alice@example.org"
GRANT_S = 5  # long enough for the vendor to read it on a loaded machine
GRACE_S = 1
#: Attestations she signs by hand before sharing: with her 2 automatic ones, 72 > 64 per share.
BUNDLE = 70
NOTE = "while you were away"
START_MS = 1_767_225_600_000
DAY_MS = 86_400_000
#: The daemon's default attestation lifetime (reputation policy ``attestation_days``).
ATTESTATION_DAYS = 365
ROLES = ("person", "vendor", "breacher", "friend", "relay")
_REPO = Path(__file__).resolve().parents[2]

#: One node's answers to one peer's inputs: the envelopes, links and mail stream, and the
#: answers to our own frames (ACK and REFUSE, DEPOSITED, MAIL_ACK), each kind in order.
Streams = dict[tuple[str, str], tuple[list[Any], list[Any]]]
#: Answers to our frames, by the kind of frame they answer: envelopes (ACK, REFUSE), deposits
#: (DEPOSITED), mail (MAIL_ACK). Each kind keeps its order; between kinds, timing decides.
_ANSWERS = {"Settled": 0, "RefusedByPeer": 0, "DepositAnswered": 1, "MailAcked": 2}


def streams(traces: dict[str, list[Any]], dids: dict[str, str]) -> Streams:
    """Each node's described trace, split per (node, peer of the input) and by kind of input."""
    out: Streams = defaultdict(lambda: ([], []))
    for node, entries in traces.items():
        for entry in entries:
            peer, effects = _roles(entry, dids)
            main, answers = out[(node, str(peer))]
            if effects and all(effect[0] in _ANSWERS for effect in effects):
                for effect in effects:
                    if effect[0] in ("Settled", "MailAcked"):  # one per seq, however batched
                        answers.extend([effect[0], effect[1], seq] for seq in effect[2])
                    else:
                        answers.append(effect)
            else:
                main.append(effects)
    for _, answers in out.values():
        answers.sort(key=lambda effect: _ANSWERS[effect[0]])  # stable: each kind keeps its order
    return dict(out)


def _roles(value: Any, dids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return dids.get(value, value)
    if isinstance(value, list):
        return [_roles(item, dids) for item in value]
    if isinstance(value, dict):
        return {key: _roles(item, dids) for key, item in value.items()}
    return value


# -- the daemons ---------------------------------------------------------------------------------


class TracedDaemon(Node):
    """A real ``amity run`` daemon whose node writes its core trace to a file."""

    @property
    def trace_path(self) -> Path:
        return self.home.parent / f"{self.name}.trace.jsonl"

    def spawn(self) -> None:
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        env = {**os.environ, TRACE_ENV: str(self.trace_path)}
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts} (traced) ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.simulations.traced_amity",
                    "run",
                    "--home",
                    str(self.home),
                    "--no-mdns",
                    *self.run_args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                cwd=_REPO,
            )

    def trace(self) -> list[Any]:
        try:
            lines = self.trace_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines]


def _held_at_relay(relay: Node) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{relay.home}/amity.db?mode=ro", uri=True)) as db:
        (count,) = db.execute("SELECT count(*) FROM mailbox").fetchone()
    return int(count)


def _drained(node: Node) -> bool:
    return node.pending() == 0


def _in_roles(text: str, roles: dict[str, str]) -> str:
    """``text`` with each peer's did, and its short form, replaced by its role."""
    for did, role in roles.items():
        text = text.replace(did, f"<{role}>").replace(PeerId.from_did(did).short, f"<{role}>")
    return text


def _attestations(node: Node, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cli("attestations", "--home", node.home, *args)["attestations"]
    return found


@pytest.fixture(scope="module")
def daemons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Streams, str]]:
    """The story told once by five real daemons: their traces, and what the cut-off said."""
    factory = NodeFactory(tmp_path_factory.mktemp("core-crosscheck"))
    try:
        yield daemon_story(factory)
    except BaseException:
        print(factory.logs())
        raise
    finally:
        factory.close()


def daemon_story(factory: NodeFactory) -> tuple[Streams, str]:
    specs = [
        ("person", "person", []),
        ("vendor", "vendor", []),
        ("breacher", "vendor", ["--misbehave", "keep-data"]),
        ("friend", "person", []),
        ("relay", "relay", ["--relay"]),
    ]
    made = [TracedDaemon(factory.root, name, kind, args) for name, kind, args in specs]
    factory.nodes.extend(made)
    for node in made:
        node.init()
    start_all(made)
    person, vendor, breacher, friend, relay = made

    def settled() -> None:
        for node in made:
            if node.running:
                wait_for(functools.partial(_drained, node), what=f"{node.name}'s outbox to drain")

    # 1. the relay
    assert person.api.post("/api/relays", {"uri": invite(relay)})["state"] == "connected"
    settled()
    # 2. meet and agree
    meet(person, vendor)
    settled()

    def agree(customer: Node, shop: Node) -> None:
        offered = cli("terms", "offer", "--home", customer.home, shop.name, "--roster", "P2B1")
        wait_for(
            lambda: shop.api.request("GET", f"/api/terms/{offered['id']}").status == 200,
            what="the offer reaches the vendor",
        )
        settled()
        accepted = cli("terms", "accept", "--home", shop.home, offered["id"][:8])
        wait_for(
            lambda: (
                customer.api.request("GET", f"/api/agreements/{accepted['agreement_id']}").status
                == 200
            ),
            what="the customer holds the agreement",
        )
        settled()

    agree(person, vendor)
    # 3. grant, read, expire with receipt; her node attests by itself
    cli("reputation", "--home", person.home, "--auto-share", "on", "--grace", f"{GRACE_S}s")
    cli("vault", "set", "--home", person.home, "email", "email", EMAIL)

    def grant(shop: Node) -> str:
        made = cli(
            "grant", "--home", person.home, shop.name, "--fields", "email",
            "--purpose", "service-provision", "--context", "order 42",
            "--expires", f"{GRANT_S}s",
        )  # fmt: skip
        gid: str = made["grant_id"]
        wait_for(
            lambda: person.api.get(f"/api/grants/{gid}")["delivered"], what="the delivery receipt"
        )
        settled()
        return gid

    honest = grant(vendor)
    read = vendor.api.get(f"/api/holdings/{person.did}/email")
    assert read["grant_id"] == honest and EMAIL in json.dumps(read)
    wait_for(
        lambda: person.api.get(f"/api/grants/{honest}")["state"] == "deleted",
        what="the deletion receipt",
    )
    wait_for(lambda: _attestations(person), what="her automatic attestation")
    settled()
    # 4. breach
    meet(person, breacher)
    settled()
    agree(person, breacher)
    grant(breacher)
    wait_for(lambda: len(_attestations(person)) == 2, what="the breach attested")
    settled()
    verdicts = sorted(a["verdict"] for a in _attestations(person))
    assert verdicts == ["breached", "honoured"], verdicts
    # 5. the friend deals with the breacher too
    meet(friend, breacher)
    settled()
    agree(friend, breacher)
    # 6. a share bundle larger than one message
    clause = ROSTER["P2B1"].document.clause_ids[0]
    for i in range(BUNDLE):
        person.api.post(
            "/api/attestations",
            {"peer": vendor.did, "clause": clause, "verdict": "honoured", "note": f"bundle {i}"},
        )
    meet(person, friend)
    settled()
    cli("vouch", "--home", friend.home, person.name)
    cli("share-policy", "--home", person.home, friend.name, "mine")
    wait_for(lambda: len(_attestations(friend)) == BUNDLE + 2, what="the friend holds them all")
    settled()
    # 7. cut-off: the friend's trust cuts the breacher off; a grant to it is refused
    cli("vault", "set", "--home", friend.home, "email", "email", "friend@example.org")
    wait_for(
        lambda: cli("reputation", "--home", friend.home, breacher.name)["cut_off"],
        what="the friend's trust cuts the breacher off",
    )
    refused = run_amity(
        "grant", "--home", friend.home, breacher.name, "--fields", "email",
        "--purpose", "delivery", "--expires", "1h",
    )  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    said = refused.stderr.strip().removeprefix("amity: error: ")
    cut_off = _in_roles(said, {breacher.did: "breacher"})
    cli("end", "--home", friend.home, breacher.did, "--reason", "cut off")
    wait_for(
        lambda: (breacher.peer(friend.did) or {}).get("state") == "ended",
        what="the breacher hears of the end",
    )
    settled()
    # 8. relay delivery while she is offline
    person.stop()
    send(vendor, person.did, NOTE)
    wait_for(lambda: _held_at_relay(relay) == 1, what="the relay holds the note")
    vendor.stop()
    person.start()
    wait_for(lambda: NOTE in texts(person, vendor.did), what="the note through the relay")
    wait_for(lambda: _held_at_relay(relay) == 0, what="the relay deletes the note")
    vendor.start()
    settled()

    dids = {node.did: node.name for node in made}
    return streams({node.name: node.trace() for node in made}, dids), cut_off


# -- the simulator ---------------------------------------------------------------------------------


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
        cut_off = _in_roles(f"{exc.message} [{exc.code}]", {breacher.peer_id.did: "breacher"})
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


# -- the comparison --------------------------------------------------------------------------------


def _diff(daemon: list[Any], sim: list[Any]) -> str:
    """Where two streams part, with a little context."""
    for i, (d, s) in enumerate(zip(daemon, sim, strict=False)):
        if d != s:
            return f"first difference at #{i}:\n  daemon: {d}\n  sim:    {s}"
    tail = daemon[len(sim) :] or sim[len(daemon) :]
    return f"one is longer: daemon {len(daemon)}, sim {len(sim)}; tail: {tail}"


def _accepted(streams_: Streams, node: str, peer: str, *, direct: bool = False) -> list[Any]:
    """The types of the envelopes ``node`` accepted from ``peer`` (or relayed by it), in order."""
    return [
        [e[1][0], e[5]] if direct else e[1][0]
        for effects in streams_[(node, peer)][0]
        for e in effects
        if e[0] == "Accepted"
    ]


def _kinds(streams_: Streams, node: str, peer: str) -> list[str]:
    return [e[0] for effects in streams_[(node, peer)][0] for e in effects]


def test_the_daemons_refuse_a_cut_off_vendor_with_the_reason(
    daemons: tuple[Streams, str],
) -> None:
    said = daemons[1]
    assert said.startswith("<breacher> is cut off by your reputation policy: ")
    assert said.endswith("[local.cut_off]")
    assert "standing -1.00" in said and "below your threshold" in said


@pytest.mark.parametrize("crypto", [CryptoMode.REAL, CryptoMode.STANDIN])
def test_the_simulator_answers_as_the_daemons_do(
    daemons: tuple[Streams, str], crypto: CryptoMode
) -> None:
    daemon = daemons[0]
    sim, sim_cut_off = sim_story(crypto)
    # The cut-off gate: the same refusal, reason and numbers included.
    assert sim_cut_off == daemons[1], f"daemon: {daemons[1]}\nsim:    {sim_cut_off}"
    # The story reached every part of the core it is about, on the daemons.
    assert _accepted(daemon, "friend", "person") == ["rel.hello"] + ["reputation.share"] * 2, (
        "the share bundle did not span two envelopes"
    )
    assert _accepted(daemon, "person", "vendor").count("grant.receipt") == 2  # delivery, deletion
    assert _accepted(daemon, "person", "breacher").count("grant.receipt") == 1  # delivery only
    assert _accepted(daemon, "breacher", "friend")[-1] == "rel.end"
    assert ["msg.note", False] in _accepted(daemon, "person", "relay", direct=True), "no relay mail"
    assert _kinds(daemon, "relay", "vendor") == ["Flush", "DepositAsked"]
    assert "Duplicate" in _kinds(daemon, "person", "vendor"), "no resend after the relay"
    problems = []
    for key in sorted(set(daemon) | set(sim)):
        d_main, d_answers = daemon.get(key, ([], []))
        s_main, s_answers = sim.get(key, ([], []))
        if d_main != s_main:
            problems.append(f"{key[0]} <- {key[1]}: {_diff(d_main, s_main)}")
        if d_answers != s_answers:
            problems.append(f"{key[0]} <- {key[1]} (answers): {_diff(d_answers, s_answers)}")
    assert not problems, "\n\n".join(problems)
