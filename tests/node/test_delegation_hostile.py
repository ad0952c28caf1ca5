"""Bad delegations against her real node (spec/delegation.md §6-§7): the test plays the agents
with the protocol core and sends what no honest agent would: a forged capability, a widened
chain, an act by someone else, an act after expiry and after revocation. Each is refused with
its own code, and her node goes on serving."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from amity.protocol.delegation import DELEGATION_DOMAIN, Capability
from amity.protocol.delegationchain import DAY_MS, Act
from amity.protocol.delegationmessages import (
    MSG_ACT,
    MSG_ANSWER,
    MSG_OFFER,
    decode_answer,
    decode_offer,
    encode_act,
)
from amity.protocol.delegationscope import GRANT, Scope, encode_scope
from amity.protocol.encoding import Value, encode
from amity.protocol.frames import encode_envelope_frame
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.signed import sign_structure, split_signed
from tests.node.conftest import Node, NodeFactory
from tests.node.test_daemon import read_events
from tests.node.test_grants import cli
from tests.node.test_hostile import WireLink, WirePeer, _seq_of


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _now() -> int:
    return time.time_ns() // 1_000_000


def _parts(envelope: bytes) -> tuple[str, bytes]:
    fields = split_signed(envelope, "envelope", arity=8).fields
    kind, body = fields[1], fields[7]
    assert isinstance(kind, str) and isinstance(body, bytes)
    return kind, body


async def _offered(link: WireLink, count: int) -> Capability:
    """The ``count``-th capability her node offered on this link."""
    while True:
        offers = [b for k, b in map(_parts, link.envelopes) if k == MSG_OFFER]
        if len(offers) >= count:
            return decode_offer(offers[count - 1])[-1]
        await link.receive()


async def _answer(link: WireLink, peer: WirePeer, to: PeerId, body: bytes, act_id: bytes) -> str:
    """Send an act; the code her node answers (``""``: done) or refuses the envelope with."""
    envelope = peer.envelope(to, MSG_ACT, body)
    seq = _seq_of(envelope)
    await link.send(encode_envelope_frame(envelope))
    while True:
        for refused, code in link.refusals:
            if refused == seq:
                return code
        for kind, raw in map(_parts, link.envelopes):
            if kind == MSG_ANSWER and (answer := decode_answer(raw)).act_id == act_id:
                return answer.code
        await link.receive()


def _act(peer: WirePeer, cap: Capability, person: PeerId) -> Act:
    return Act.grant_for(
        peer.identity, cap, person=person, act_id=os.urandom(16),
        vendor=SigningIdentity(os.urandom(32)).peer_id,
        fields=["email"], purpose="order-fulfilment", context="", duration_ms=DAY_MS,
        issued_ms=_now(),
    )  # fmt: skip


def _give(alice: Node, agent: WirePeer, lasts_ms: int) -> None:
    alice.api.post("/api/delegations", {
        "agent": agent.peer_id.did, "not_after_ms": _now() + lasts_ms,
        "scopes": {"grant": {"fields": ["email"], "max_days": 7}},
    })  # fmt: skip


async def test_bad_delegations_are_refused_with_their_codes(
    nodes: NodeFactory, http: aiohttp.ClientSession
) -> None:
    alice = nodes.create("alice", "person")
    her = PeerId.from_did(alice.did)
    mallory, sub = WirePeer("mallory"), WirePeer("sub")
    headers = {"Authorization": f"Bearer {alice.api.token}"}
    stream = await http.get(alice.api.base + "/api/events", headers=headers)
    link = await mallory.become_peer_of(http, alice)
    sub_link = await sub.become_peer_of(http, alice)
    _give(alice, mallory, 30 * DAY_MS)
    root = await _offered(link, 1)
    codes: dict[str, str] = {}

    # Forged: a capability naming her as issuer, signed by mallory.
    act = _act(mallory, root, her)
    fields: list[Value] = [1, her.key, mallory.peer_id.key, b"", [encode_scope(
        Scope(GRANT, fields=("email", "phone"), max_days=30))], False, _now(),
        _now() + DAY_MS, _now(), ""]  # fmt: skip
    forged = sign_structure(fields, DELEGATION_DOMAIN, mallory.identity)
    codes["forged"] = await _answer(
        link, mallory, her, encode([1, [forged], act.encoded]), act.act_id
    )
    # Widened: mallory passes on more than it holds (a field, and re-delegation at all).
    wide = Capability.decode(sign_structure(
        [1, mallory.peer_id.key, sub.peer_id.key, root.capability_id, [encode_scope(
            Scope(GRANT, fields=("email", "phone"), max_days=7))], False, root.not_before_ms,
         root.not_after_ms, _now(), ""], DELEGATION_DOMAIN, mallory.identity))  # fmt: skip
    act = _act(sub, wide, her)
    codes["widened"] = await _answer(sub_link, sub, her, encode_act([root, wide], act), act.act_id)
    # Someone else's act: mallory's act, sent by sub.
    act = _act(mallory, root, her)
    codes["wrong party"] = await _answer(sub_link, sub, her, encode_act([root], act), act.act_id)
    # Within scope: her node checks it and only then fails to grant (no such vendor).
    act = _act(mallory, root, her)
    codes["no vendor"] = await _answer(link, mallory, her, encode_act([root], act), act.act_id)
    # Expired: a capability of 1.5 s, used after it ended.
    _give(alice, mallory, 1500)
    short = await _offered(link, 2)
    await asyncio.sleep(max(0.0, (short.not_after_ms - _now()) / 1000) + 0.1)
    act = _act(mallory, short, her)
    codes["expired"] = await _answer(link, mallory, her, encode_act([short], act), act.act_id)
    # Revoked: she revokes, and the very next act is refused.
    cli("delegate", "revoke", "--home", alice.home, root.capability_id.hex()[:8])
    act = _act(mallory, root, her)
    codes["revoked"] = await _answer(link, mallory, her, encode_act([root], act), act.act_id)

    assert codes == {
        "forged": "delegate.bad_signature",
        "widened": "delegate.widened",
        "wrong party": "delegate.wrong_party",
        "no vendor": "local.node",
        "expired": "delegate.expired",
        "revoked": "delegate.revoked",
    }
    refused = [e for e in cli("log", "--home", alice.home)["entries"]
               if e["kind"] == "delegate.refused"]  # fmt: skip
    assert len(refused) == 4 and all("by agent" in e["detail"] for e in refused)
    handled = cli("delegate", "list", "--home", alice.home)["acts"]
    assert sorted(a["code"] for a in handled) == sorted(
        ["delegate.widened", "local.node", "delegate.expired", "delegate.revoked"]
    )
    assert alice.status()["rejected"] == 2  # the forged body and the act sent by another
    events = await read_events(stream, until=lambda e: e["kind"] == "delegate.revoked")
    said = [(e["kind"], e.get("code")) for e in events if e["kind"].startswith("delegate.")]
    assert said == [
        ("delegate.granted", None), ("delegate.refused", "delegate.widened"),
        ("delegate.refused", "local.node"), ("delegate.granted", None),
        ("delegate.refused", "delegate.expired"), ("delegate.revoked", None),
    ]  # fmt: skip
    stream.close()
    await link.close()
    await sub_link.close()
