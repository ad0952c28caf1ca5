"""Link messages of every legal size over real daemons: split into frames, delivered, ACKed.

A session message longer than one frame travels as several Noise messages, every one but the
last exactly 65535 bytes (spec/session.md §5.1); each must cross the WebSocket whole. The test
plays a connected peer (tests/node/test_hostile.py) that sends ``reputation.share`` envelopes
cut to exact sizes, from small through every frame boundary up to the largest legal body, and
leaves a full-size deposit at a relay for a node that is offline: all are stored and
acknowledged, and the link stays up.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from typing import Final

import aiohttp
import pytest

from amity.protocol.agreement import Agreement
from amity.protocol.attestation import Attestation, Rebuttal, Verdict
from amity.protocol.encoding import encode
from amity.protocol.envelope import MAX_BODY_BYTES, sign_envelope
from amity.protocol.frames import (
    FrameKind,
    decode_deposited,
    encode_deposit,
    encode_envelope_frame,
    split_frame,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.reputationmessages import MSG_SHARE, RawItem, encode_share
from amity.protocol.sealed import seal
from amity.protocol.session import FRAME_PAYLOAD_BYTES, MAX_FRAME_BYTES
from amity.protocol.terms import ROSTER
from tests.node.conftest import WAIT_S, Node, NodeFactory, async_wait_for, invite, wait_for
from tests.node.test_hostile import WireLink, WirePeer, _seq_of, now_ms

_DAY_MS: Final = 86_400_000
_NOTE_CHARS: Final = 280
_REBUTTAL_CHARS: Final = 1000


def _message_sizes() -> Iterator[int]:
    """Link message sizes around every frame boundary a legal envelope can reach."""
    for frames in range(1, 5):
        edge = frames * FRAME_PAYLOAD_BYTES
        yield from (edge - 1, edge, edge + 1)


#: Envelope body sizes: small, the region the issue names, the bodies whose link message sits
#: on a frame boundary (filled in below, per message size), and the largest legal body.
BODY_SIZES: Final = (2_000, 65_400, 65_517, 65_535, 65_536, 131_072, MAX_BODY_BYTES)


class ShareMaker:
    """``reputation.share`` bodies of an exact size, made of genuine attestations and rebuttals.

    Every attestation is new (its note carries a counter), so the node stores each one.
    """

    def __init__(self, attester: SigningIdentity) -> None:
        self.attester = attester
        self.subject = SigningIdentity(os.urandom(32))
        self.agreement = Agreement.create(
            ROSTER["P2B1"].document, attester, self.subject, os.urandom(16), now_ms()
        )
        self._count = itertools.count()
        self.items_made = 0

    def item(self, note_chars: int, rebuttal_chars: tuple[int, ...]) -> RawItem:
        tag = f"{next(self._count):06d}-"
        attestation = Attestation.issue(
            self.attester,
            self.agreement,
            clause_id=self.agreement.terms.clauses[0].clause_id,
            verdict=Verdict.HONOURED,
            issued_ms=now_ms(),
            expires_ms=now_ms() + _DAY_MS,
            note=(tag + "n" * note_chars)[: max(note_chars, len(tag))],
        )
        rebuttals = tuple(
            Rebuttal.issue(self.subject, attestation, text="r" * n, issued_ms=now_ms()).encoded
            for n in rebuttal_chars
        )
        return RawItem(attestation.encoded, 0, rebuttals)

    def body(self, size: int) -> tuple[bytes, int]:
        """A share body of exactly ``size`` bytes, and how many attestations it carries."""
        items: list[RawItem] = []
        full = (_REBUTTAL_CHARS,) * 4
        # Whole items while the gap left stays above what one adjustable item covers.
        while True:
            whole = self.item(_NOTE_CHARS, full)
            whole_bytes = len(whole.attestation) + sum(len(r) + 3 for r in whole.rebuttals) + 8
            if len(_unchecked_share(items)) + whole_bytes + 4_000 > size:
                break
            items.append(whole)
        if size - len(_unchecked_share(items)) > 4_500:
            items.append(self.item(_NOTE_CHARS, full[:2]))
        for rebuttals, note in itertools.product(range(5), (100, 101, 102)):
            done = self._fit(items, size, note, rebuttals)
            if done is not None:
                self.items_made += len(items) + 1
                return done, len(items) + 1
        raise AssertionError(f"cannot make a share of exactly {size} bytes")

    def _fit(self, items: list[RawItem], size: int, note: int, rebuttals: int) -> bytes | None:
        """Tune the last item's rebuttal lengths (its note, with none) until the body is exact."""
        lengths = [0] * rebuttals
        for _ in range(5):
            last = self.item(note, tuple(lengths))
            missing = size - len(_unchecked_share([*items, last]))
            if missing == 0:
                return encode_share([*items, last])
            if not lengths:
                note += missing
                if not 8 <= note <= _NOTE_CHARS:
                    return None
                continue
            for i in reversed(range(rebuttals)):  # the last rebuttal first, then the one before
                moved = max(-lengths[i], min(_REBUTTAL_CHARS - lengths[i], missing))
                lengths[i] += moved
                missing -= moved
            if missing:
                return None
        return None


def _unchecked_share(items: list[RawItem]) -> bytes:
    """What :func:`encode_share` makes, without its size check (to measure a draft)."""
    return encode([1, b"", [[i.attestation, i.hops, list(i.rebuttals)] for i in items]])


def _body_for_message(size: int, to: PeerId) -> int:
    """The body size whose ENVELOPE link message (kind byte + envelope) is ``size`` bytes."""
    me = SigningIdentity(bytes(32))
    body = size
    for _ in range(3):
        envelope = sign_envelope(
            me, type=MSG_SHARE, recipient=to, seq=1, ts_ms=now_ms(), nonce=bytes(16),
            body=bytes(body),
        )  # fmt: skip
        body -= len(encode_envelope_frame(envelope)) - size
    return body


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _held(node: Node) -> int:
    held: int = node.api.get("/api/reputation")["held"]
    return held


async def test_link_messages_of_every_legal_size_are_delivered_and_acked(
    nodes: NodeFactory, http: aiohttp.ClientSession
) -> None:
    target = nodes.create("target", "person")
    peer = WirePeer("bulky")
    link = await peer.become_peer_of(http, target)
    target_id = PeerId.from_did(target.did)
    maker = ShareMaker(peer.identity)
    sizes = sorted({*BODY_SIZES, *(_body_for_message(m, target_id) for m in _message_sizes())})
    assert max(sizes) == MAX_BODY_BYTES
    sent = []
    for size in sizes:
        body, _ = maker.body(size)
        assert len(body) == size
        envelope = peer.envelope(target_id, MSG_SHARE, body)
        frames = link.session.encrypt(encode_envelope_frame(envelope))
        assert max(len(f) for f in frames) <= MAX_FRAME_BYTES
        for frame in frames:
            await link.send_raw(frame)
        sent.append((size, len(frames), _seq_of(envelope)))
    for _, _, seq in sent:
        await link.ack_for(seq, timeout=60)
    assert not link.refusals
    # Every frame boundary was crossed: full frames of exactly 65535 bytes, up to five a message.
    assert {frames for _, frames, _ in sent} == {1, 2, 3, 4, 5}
    wait_for(lambda: _held(target) == maker.items_made, what="every attestation stored")
    assert not target.log_lines("link.broken"), target.log()
    await link.close()


async def _deposited(link: WireLink, timeout: float = WAIT_S) -> str:
    """Read until the relay's DEPOSITED answer; returns its code."""
    while True:
        message = await link.ws.receive(timeout)
        assert message.type is aiohttp.WSMsgType.BINARY, (message, link.ws.close_code)
        plain = link.session.decrypt(message.data)
        if plain is None:
            continue
        kind, payload = split_frame(plain)
        if kind is FrameKind.DEPOSITED:
            return decode_deposited(payload).code


def _mail_held(relay: Node) -> int:
    with sqlite3.connect(f"file:{relay.home}/amity.db?mode=ro", uri=True) as db:
        (count,) = db.execute("SELECT count(*) FROM mailbox").fetchone()
    return int(count)


async def test_a_full_size_deposit_is_held_handed_over_and_stored(
    nodes: NodeFactory, http: aiohttp.ClientSession
) -> None:
    relay = nodes.create("relay", "relay", run_args=["--relay"])
    alice = nodes.create("alice", "person")
    alice.api.post("/api/relays", {"uri": invite(relay)})
    peer = WirePeer("bulky")
    to_alice = await peer.become_peer_of(http, alice)
    alice_id = PeerId.from_did(alice.did)
    assert to_alice.session.peer_cert is not None
    link_public = to_alice.session.peer_cert.link_public
    await to_alice.close()
    alice.stop()

    maker = ShareMaker(peer.identity)
    at_relay = await peer.dial(http, relay)
    sizes = (_body_for_message(FRAME_PAYLOAD_BYTES + 1, alice_id), MAX_BODY_BYTES)
    for deposit_id, size in enumerate(sizes, start=1):
        body, _ = maker.body(size)
        envelope = peer.envelope(alice_id, MSG_SHARE, body)
        sealed = seal(
            envelope, recipient=alice_id, link_public=link_public, ephemeral_private=os.urandom(32)
        )
        await at_relay.send(encode_deposit(deposit_id, sealed))
        assert await _deposited(at_relay) == "ok"
    assert _mail_held(relay) == len(sizes)
    await at_relay.close()

    alice.start()
    await async_wait_for(lambda: _mail_held(relay) == 0, timeout=60, what="alice to take it all")
    wait_for(lambda: _held(alice) == maker.items_made, what="every attestation stored")
    assert not alice.log_lines("link.broken") and not relay.log_lines("link.broken")
