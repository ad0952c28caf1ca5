"""Hostile peers against a real node: the test itself dials the node's WebSocket endpoint.

The test plays a peer with the protocol core (Session, Keyring, sign_envelope, frames): it can
say anything a real peer could, and things no honest one would. The node must refuse each bad
input, log it with its error code, count it, and go on serving everyone else; inputs from a
connected peer's key must not break that relationship for later valid messages.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import pytest

from amity.protocol.card import Card, NodeKind
from amity.protocol.encoding import encode
from amity.protocol.envelope import ENVELOPE_DOMAIN, ENVELOPE_VERSION, sign_envelope
from amity.protocol.frames import (
    FrameKind,
    decode_ack,
    decode_refuse,
    encode_ack,
    encode_envelope_frame,
    split_frame,
)
from amity.protocol.identity import PeerId
from amity.protocol.keyring import Keyring
from amity.protocol.notes import MSG_NOTE, encode_note
from amity.protocol.relmessages import (
    MSG_END,
    MSG_HELLO,
    EndBody,
    HelloBody,
    encode_end,
    encode_hello,
)
from amity.protocol.session import Session
from amity.protocol.signed import sign_structure, split_signed
from tests.node.conftest import (
    WAIT_S,
    Node,
    NodeFactory,
    async_wait_for,
    connect,
    invite,
    is_connected,
    texts,
)

_DAY_MS: Final = 24 * 3600 * 1000
#: One WebSocket message more than the node accepts (one Noise message is at most 65535 bytes).
_OVERSIZED: Final = 65535 + 1000
#: A well-formed message type that no node handles (terms.* and grants.* have services now).
UNHANDLED_TYPE: Final = "test.never_handled"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Closed(Exception):
    """The node closed the connection."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"closed with WebSocket code {code}")
        self.code = code


@dataclass
class WireLink:
    """One session with the node, driven by hand: send anything, read what comes back."""

    ws: aiohttp.ClientWebSocketResponse
    session: Session
    acks: list[int] = field(default_factory=list)
    refusals: list[tuple[int, str]] = field(default_factory=list)
    envelopes: list[bytes] = field(default_factory=list)

    async def send(self, message: bytes) -> None:
        """One link message, encrypted (split into frames as the session requires)."""
        for frame in self.session.encrypt(message):
            await self.ws.send_bytes(frame)

    async def send_raw(self, data: bytes) -> None:
        """Bytes straight onto the WebSocket, past the session."""
        await self.ws.send_bytes(data)

    async def receive(self, timeout: float = WAIT_S) -> tuple[FrameKind, bytes]:
        """The next whole link message; ENVELOPEs from the node are ACKed like a real peer."""
        while True:
            message = await self.ws.receive(timeout)
            if message.type is not aiohttp.WSMsgType.BINARY:
                raise Closed(self.ws.close_code)
            plain = self.session.decrypt(message.data)
            if plain is None:
                continue
            kind, payload = split_frame(plain)
            if kind is FrameKind.ACK:
                self.acks.extend(decode_ack(payload).seqs)
            elif kind is FrameKind.REFUSE:
                refusal = decode_refuse(payload)
                self.refusals.append((refusal.seq, refusal.code))
            else:
                self.envelopes.append(payload)
                await self.send(encode_ack([_seq_of(payload)]))
            return kind, payload

    async def ack_for(self, seq: int, timeout: float = WAIT_S) -> None:
        """Until the node ACKs ``seq``."""
        while seq not in self.acks:
            await self.receive(timeout)

    async def refusal_for(self, seq: int) -> str:
        """Until the node REFUSEs ``seq``; returns the code it gave."""
        while True:
            for refused, code in self.refusals:
                if refused == seq:
                    return code
            await self.receive()

    async def closed_by_node(self, timeout: float = WAIT_S) -> int | None:
        """Until the node closes the connection; returns the WebSocket close code."""
        try:
            while True:
                await self.receive(timeout)
        except Closed as closed:
            return closed.code

    async def close(self) -> None:
        await self.ws.close()


def _seq_of(envelope: bytes) -> int:
    seq = split_signed(envelope, "envelope", arity=8).fields[4]
    assert isinstance(seq, int)
    return seq


class WirePeer:
    """A peer played by the test: its own key, card, sequence numbers and envelopes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.keyring = Keyring(os.urandom(32))
        self.identity = self.keyring.identity
        self.peer_id = self.identity.peer_id
        self._seqs: dict[PeerId, int] = {}

    def card(self) -> Card:
        now = now_ms()
        _, cert = self.keyring.current(now)
        return Card.issue(
            self.identity,
            link_cert=cert,
            kind=NodeKind.PERSON,
            name=self.name,
            issued_ms=now,
            not_after_ms=min(now + _DAY_MS, cert.not_after_ms),
        )

    def next_seq(self, to: PeerId) -> int:
        self._seqs[to] = self._seqs.get(to, 0) + 1
        return self._seqs[to]

    def envelope(
        self, to: PeerId, type_: str, body: bytes, *, seq: int | None = None, ts_ms: int = 0
    ) -> bytes:
        return sign_envelope(
            self.identity,
            type=type_,
            recipient=to,
            seq=self.next_seq(to) if seq is None else seq,
            ts_ms=ts_ms or now_ms(),
            nonce=os.urandom(16),
            body=body,
        )

    def note(self, to: PeerId, text: str, **kwargs: Any) -> bytes:
        return self.envelope(to, MSG_NOTE, encode_note(text), **kwargs)

    def hello(self, to: PeerId, invite_secret: bytes | None) -> bytes:
        return self.envelope(to, MSG_HELLO, encode_hello(HelloBody(self.card(), invite_secret)))

    def forged(self, claimed: PeerId, to: PeerId, type_: str, body: bytes) -> bytes:
        """An envelope that says it is from ``claimed`` but carries this peer's signature."""
        fields = [ENVELOPE_VERSION, type_, claimed.key, to.key, 1, now_ms(), os.urandom(16), body]
        return sign_structure(fields, ENVELOPE_DOMAIN, self.identity)

    async def dial(self, http: aiohttp.ClientSession, node: Node) -> WireLink:
        """Open a WebSocket to ``node``'s peer endpoint and complete the Noise XX handshake."""
        ws = await http.ws_connect(endpoint(node))
        link_key, cert = self.keyring.current(now_ms())
        session = Session(
            initiator=True,
            link_key=link_key,
            link_cert=cert,
            ephemeral_private=os.urandom(32),
            expected_peer=PeerId.from_did(node.did),
            extra=self.card().encoded,
        )
        await ws.send_bytes(session.start())
        answer = await ws.receive(WAIT_S)
        assert answer.type is aiohttp.WSMsgType.BINARY, answer
        finish = session.receive_handshake(answer.data, now_ms())
        assert finish is not None
        await ws.send_bytes(finish)
        return WireLink(ws, session)

    async def become_peer_of(self, http: aiohttp.ClientSession, node: Node) -> WireLink:
        """Redeem an invitation from ``node`` as a real invitee would: handshake, rel.hello."""
        secret = Card.from_uri(invite(node)).invite_secret
        node_id = PeerId.from_did(node.did)
        link = await self.dial(http, node)
        hello = self.hello(node_id, secret)
        await link.send(encode_envelope_frame(hello))
        await link.ack_for(_seq_of(hello))
        while not any(_type_of(e) == MSG_HELLO for e in link.envelopes):
            await link.receive()  # the node's own rel.hello
        await async_wait_for(lambda: _state(node, self.peer_id) == "connected")
        return link


def _type_of(envelope: bytes) -> str:
    type_ = split_signed(envelope, "envelope", arity=8).fields[1]
    assert isinstance(type_, str)
    return type_


def _state(node: Node, peer: PeerId) -> str | None:
    found = node.peer(peer.did)
    return None if found is None else str(found["state"])


def endpoint(node: Node) -> str:
    endpoints: list[str] = node.status()["endpoints"]
    assert endpoints, f"{node.name} has no peer endpoint"
    return endpoints[0]


def rejected(node: Node) -> int:
    return int(node.status()["rejected"])


async def rejected_becomes(node: Node, expected: int, timeout: float = WAIT_S) -> None:
    """The node's ``rejected`` counter reaches ``expected`` (it counts just after answering)."""
    await async_wait_for(
        lambda: rejected(node) >= expected, timeout, what=f"rejected >= {expected}"
    )
    assert rejected(node) == expected


class LogWatch:
    """Counts log lines of one event with one code, to wait for the next one."""

    def __init__(self, node: Node, event: str, code: str) -> None:
        self.node, self.event, self.code = node, event, code
        self.before = self.count()

    def count(self) -> int:
        return len(self.node.log_lines(self.event, code=self.code))

    async def next(self, lines: int = 1) -> None:
        """Until ``lines`` more such lines were logged (the node logs after it answers)."""
        await async_wait_for(
            lambda: self.count() >= self.before + lines,
            what=f"{lines} x {self.event} code={self.code} in the log",
        )
        self.before = self.count()


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def target(module_nodes: NodeFactory) -> Node:
    """The node under attack, shared by the module (each test checks its own deltas)."""
    return module_nodes.create("target", "vendor")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# -- (a) garbage instead of a handshake ------------------------------------------------------------


#: What a confused or hostile client might send first, and the code the node must log for it.
GARBAGE: Final = {
    # 32 bytes read as an ephemeral key, then a payload that message 1 may not carry.
    "bytes": (bytes(range(100)), "session.bad_payload"),
    "too-short": (b"\x16\x03\x01\x00\xa5\x01\x00", "noise.bad_message"),
    "low-order-key": (bytes(32), "noise.bad_message"),
    "text-frame": ("GET / HTTP/1.1", "transport.error"),
}


@pytest.mark.parametrize(("garbage", "code"), GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_handshake_is_refused_and_the_node_serves_on(
    target: Node,
    module_nodes: NodeFactory,
    http: aiohttp.ClientSession,
    garbage: bytes | str,
    code: str,
) -> None:
    watch = LogWatch(target, "handshake.refused", code)
    count = rejected(target)
    ws = await http.ws_connect(endpoint(target))

    if isinstance(garbage, str):
        await ws.send_str(garbage)
    else:
        await ws.send_bytes(garbage)

    message = await ws.receive(WAIT_S)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), message
    await watch.next()
    await rejected_becomes(target, count + 1)
    assert target.status()["did"] == target.did
    if garbage == GARBAGE["bytes"][0]:  # once is enough: a real node can still meet it
        friend = module_nodes.create("friend", "person")
        connect(friend, invite(target))
        await async_wait_for(lambda: is_connected(target, friend))


async def test_a_bad_third_handshake_message_is_refused(
    target: Node, http: aiohttp.ClientSession
) -> None:
    mallory = WirePeer("mallory")
    watch = LogWatch(target, "handshake.refused", "noise.decrypt_failed")
    count = rejected(target)
    ws = await http.ws_connect(endpoint(target))
    link_key, cert = mallory.keyring.current(now_ms())
    session = Session(
        initiator=True, link_key=link_key, link_cert=cert, ephemeral_private=os.urandom(32)
    )
    await ws.send_bytes(session.start())
    answer = await ws.receive(WAIT_S)
    finish = session.receive_handshake(answer.data, now_ms())
    assert finish is not None

    await ws.send_bytes(finish[:-1] + bytes([finish[-1] ^ 1]))  # one bit of the tag flipped

    assert (await ws.receive(WAIT_S)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await watch.next()
    await rejected_becomes(target, count + 1)
    good = await WirePeer("good").dial(http, target)  # and the next one gets in
    await good.close()


# -- (b) a stranger with a valid session -----------------------------------------------------------


async def test_stranger_inputs_are_refused_and_logged(
    target: Node, http: aiohttp.ClientSession
) -> None:
    mallory, someone = WirePeer("mallory"), WirePeer("someone")
    node_id = PeerId.from_did(target.did)
    link = await mallory.dial(http, target)
    count = rejected(target)

    async def probe() -> None:
        """A stranger's note is answered with a REFUSE: everything sent before was handled."""
        note = mallory.note(node_id, "let me in")
        await link.send(encode_envelope_frame(note))
        await link.refusal_for(_seq_of(note))

    # A note without a relationship, then the very same envelope again (a replay); a rel.hello
    # without an invitation; one with a guessed secret: each refused, and the stranger told.
    note = mallory.note(node_id, "hello, I am not your peer")
    refusals = [
        note,
        note,
        mallory.hello(node_id, None),
        mallory.hello(node_id, os.urandom(16)),
    ]
    watch = LogWatch(target, "message.rejected", "relationship.unknown_peer")
    for envelope in refusals:
        link.refusals.clear()
        await link.send(encode_envelope_frame(envelope))
        assert await link.refusal_for(_seq_of(envelope)) == "relationship.unknown_peer"
    await watch.next(len(refusals))

    cases: list[tuple[str, bytes]] = [
        (
            "envelope.bad_signature",
            encode_envelope_frame(
                someone.forged(mallory.peer_id, node_id, MSG_NOTE, encode_note("forged"))
            ),
        ),
        (
            "envelope.wrong_recipient",
            encode_envelope_frame(mallory.note(someone.peer_id, "not for you")),
        ),
        ("encoding.schema", bytes([0x09]) + mallory.note(node_id, "unknown kind")),
        ("encoding.schema", b""),
        ("encoding.malformed", encode_envelope_frame(mallory.note(node_id, "cut")[:-7])),
        ("encoding.malformed", bytes([FrameKind.ACK]) + encode([1, [1, 2, 3]])[:-1]),
    ]
    for code, message in cases:
        watch = LogWatch(target, "message.rejected", code)
        await link.send(message)
        await probe()
        await watch.next()
    await rejected_becomes(target, count + len(refusals) + 2 * len(cases))
    assert texts(target, mallory.peer_id.did) == []
    assert _state(target, mallory.peer_id) is None

    # A tampered Noise frame ends the session (and only it).
    watch = LogWatch(target, "link.broken", "noise.decrypt_failed")
    frame = link.session.encrypt(encode_envelope_frame(mallory.note(node_id, "x")))[0]
    await link.send_raw(frame[:-1] + bytes([frame[-1] ^ 1]))
    await link.closed_by_node()
    await watch.next()
    await rejected_becomes(target, count + len(refusals) + 2 * len(cases) + 1)
    again = await mallory.dial(http, target)
    note = mallory.note(node_id, "still here")
    await again.send(encode_envelope_frame(note))
    await again.refusal_for(_seq_of(note))
    await again.close()


async def test_stranger_cannot_reuse_a_redeemed_invitation(
    target: Node, http: aiohttp.ClientSession
) -> None:
    alice, mallory = WirePeer("alice"), WirePeer("mallory")
    node_id = PeerId.from_did(target.did)
    uri = invite(target)
    secret = Card.from_uri(uri).invite_secret
    honest = await alice.dial(http, target)
    hello = alice.hello(node_id, secret)
    await honest.send(encode_envelope_frame(hello))
    await honest.ack_for(_seq_of(hello))
    await async_wait_for(lambda: _state(target, alice.peer_id) == "connected")
    count = rejected(target)

    link = await mallory.dial(http, target)
    replay = mallory.hello(node_id, secret)
    await link.send(encode_envelope_frame(replay))
    code = await link.refusal_for(_seq_of(replay))

    assert code and not code.startswith("local."), code
    await async_wait_for(lambda: target.log_lines("message.rejected", code=code))
    await rejected_becomes(target, count + 1)
    assert _state(target, mallory.peer_id) is None
    assert _state(target, alice.peer_id) == "connected"
    note = alice.note(node_id, "still mine")
    await honest.send(encode_envelope_frame(note))
    await honest.ack_for(_seq_of(note))
    assert texts(target, alice.peer_id.did) == ["still mine"]
    await link.close()
    await honest.close()


async def test_stranger_cannot_forward_a_peers_envelopes(
    target: Node, http: aiohttp.ClientSession
) -> None:
    alice, mallory = WirePeer("alice"), WirePeer("mallory")
    node_id = PeerId.from_did(target.did)
    honest = await alice.become_peer_of(http, target)
    note = alice.note(node_id, "my address is ...")
    await honest.send(encode_envelope_frame(note))
    await honest.ack_for(_seq_of(note))
    end = alice.envelope(node_id, MSG_END, encode_end(EndBody("bye", now_ms())))
    count = rejected(target)

    link = await mallory.dial(http, target)
    watch = LogWatch(target, "message.rejected", "envelope.wrong_sender")
    for envelope in (note, end):  # one replayed, one never sent by alice herself
        await link.send(encode_envelope_frame(envelope))
        await watch.next()
    probe = mallory.note(node_id, "probe")
    await link.send(encode_envelope_frame(probe))
    assert await link.refusal_for(_seq_of(probe)) == "relationship.unknown_peer"

    await rejected_becomes(target, count + 3)
    assert _state(target, alice.peer_id) == "connected"
    assert texts(target, alice.peer_id.did) == ["my address is ..."]
    await link.close()
    await honest.close()


async def test_oversized_websocket_message_closes_the_link(
    target: Node, http: aiohttp.ClientSession
) -> None:
    mallory = WirePeer("mallory")
    link = await mallory.dial(http, target)

    await link.send_raw(os.urandom(_OVERSIZED))

    assert await link.closed_by_node() == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    again = await mallory.dial(http, target)  # the node serves on
    note = mallory.note(PeerId.from_did(target.did), "small")
    await again.send(encode_envelope_frame(note))
    await again.refusal_for(_seq_of(note))
    await again.close()


async def test_oversized_websocket_message_is_logged_and_counted(
    target: Node, http: aiohttp.ClientSession
) -> None:
    mallory = WirePeer("mallory")
    link = await mallory.dial(http, target)
    count = rejected(target)
    await link.send_raw(os.urandom(_OVERSIZED))
    await link.closed_by_node()
    short = mallory.peer_id.short
    await async_wait_for(lambda: target.log_lines("link.down", peer=short))  # it is done with it
    assert rejected(target) == count + 1
    (broken,) = target.log_lines("link.broken", peer=short)
    assert "code=" in broken


# -- (c) the same inputs from a connected peer -----------------------------------------------------


async def test_connected_peer_hostile_inputs_do_not_break_the_relationship(
    target: Node, http: aiohttp.ClientSession
) -> None:
    alice, someone = WirePeer("alice"), WirePeer("someone")
    node_id = PeerId.from_did(target.did)
    link = await alice.become_peer_of(http, target)
    count = rejected(target)
    accepted: list[str] = []

    async def valid(text: str, on: WireLink) -> bytes:
        note = alice.note(node_id, text)
        await on.send(encode_envelope_frame(note))
        await on.ack_for(_seq_of(note))
        accepted.append(text)
        return note

    first = await valid("first", link)
    # The same envelope again: ACKed again (its first ACK may have been lost), stored once.
    link.acks.clear()
    await link.send(encode_envelope_frame(first))
    await link.ack_for(_seq_of(first))

    cases: list[tuple[str, bytes]] = [
        (
            "envelope.bad_signature",
            encode_envelope_frame(
                someone.forged(alice.peer_id, node_id, MSG_NOTE, encode_note("forged"))
            ),
        ),
        (
            "envelope.bad_signature",
            encode_envelope_frame(
                someone.forged(alice.peer_id, node_id, MSG_END, encode_end(EndBody("x", 1)))
            ),
        ),
        ("envelope.wrong_sender", encode_envelope_frame(someone.note(node_id, "relayed"))),
        (
            "envelope.wrong_recipient",
            encode_envelope_frame(alice.note(someone.peer_id, "misaddressed")),
        ),
        (
            "envelope.wrong_type",
            encode_envelope_frame(alice.envelope(node_id, UNHANDLED_TYPE, b"")),
        ),
        ("encoding.schema", bytes([0xFF]) + alice.note(node_id, "unknown kind")),
        ("encoding.malformed", encode_envelope_frame(alice.note(node_id, "cut")[:-9])),
        ("encoding.malformed", bytes([FrameKind.REFUSE]) + encode([1, 1, "x", "y"])[:-2]),
    ]
    for code, message in cases:
        watch = LogWatch(target, "message.rejected", code)
        await link.send(message)
        await valid(f"after {code}", link)
        await watch.next()
    await rejected_becomes(target, count + len(cases))
    assert _state(target, alice.peer_id) == "connected"

    # A tampered frame ends this session; a new session carries on where the old one stopped.
    watch = LogWatch(target, "link.broken", "noise.decrypt_failed")
    frame = link.session.encrypt(encode_envelope_frame(alice.note(node_id, "x")))[0]
    await link.send_raw(frame[:-1] + bytes([frame[-1] ^ 1]))
    await link.closed_by_node()
    await watch.next()
    await rejected_becomes(target, count + len(cases) + 1)

    again = await alice.dial(http, target)
    await valid("over a new session", again)
    # An oversized message ends that one too; the next session still works.
    await again.send_raw(os.urandom(_OVERSIZED))
    await again.closed_by_node()
    third = await alice.dial(http, target)
    await valid("and another", third)

    assert texts(target, alice.peer_id.did) == accepted
    assert _state(target, alice.peer_id) == "connected"
    await third.close()


async def test_connected_peer_is_told_about_an_unhandled_type(
    target: Node, http: aiohttp.ClientSession
) -> None:
    alice = WirePeer("alice")
    node_id = PeerId.from_did(target.did)
    link = await alice.become_peer_of(http, target)
    unknown = alice.envelope(node_id, UNHANDLED_TYPE, b"")
    await link.send(encode_envelope_frame(unknown))
    probe = alice.note(node_id, "probe")
    await link.send(encode_envelope_frame(probe))
    await link.ack_for(_seq_of(probe))
    await link.close()
    assert (_seq_of(unknown), "envelope.wrong_type") in link.refusals


@pytest.mark.parametrize("where", ["envelope", "ack"])
async def test_sequence_numbers_beyond_sqlite_integers_are_refused(
    target: Node, http: aiohttp.ClientSession, where: str
) -> None:
    """Found by this suite: 2**64-1 once reached SQLite and raised OverflowError in the node."""
    alice = WirePeer("alice")
    node_id = PeerId.from_did(target.did)
    link = await alice.become_peer_of(http, target)
    count = rejected(target)
    log_before = len(target.log())
    watch = LogWatch(target, "message.rejected", "encoding.schema")
    huge = 2**64 - 1  # canonical msgpack, but beyond SQLite's signed 64-bit INTEGER
    if where == "envelope":
        fields = [ENVELOPE_VERSION, MSG_NOTE, alice.peer_id.key, node_id.key, huge, now_ms()]
        signed = sign_structure(
            [*fields, os.urandom(16), encode_note("huge")], ENVELOPE_DOMAIN, alice.identity
        )
        await link.send(encode_envelope_frame(signed))
    else:
        await link.send(bytes([FrameKind.ACK]) + encode([1, [huge]]))

    probe = alice.note(node_id, "probe")
    await link.send(encode_envelope_frame(probe))
    await link.ack_for(_seq_of(probe))  # the link survives
    await link.close()
    await watch.next()
    await rejected_becomes(target, count + 1)
    assert "Traceback" not in target.log()[log_before:]
