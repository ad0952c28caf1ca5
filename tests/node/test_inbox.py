"""One-shot sealed delivery over HTTP POST /amity/v1/inbox, against real daemons."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

from amity.node.home import Home
from amity.protocol.card import Card
from amity.protocol.envelope import sign_envelope
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.notes import MSG_NOTE, encode_note
from amity.protocol.sealed import seal
from tests.node.conftest import Node, NodeFactory, meet, texts


def _endpoint(node: Node, path: str) -> str:
    ws = node.status()["endpoints"][0]
    return "http://" + ws.removeprefix("ws://").split("/", 1)[0] + path


def _card(node: Node) -> Card:
    with urllib.request.urlopen(_endpoint(node, "/amity/v1/card"), timeout=10) as reply:
        return Card.decode(reply.read())


def _post(node: Node, body: bytes) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(_endpoint(node, "/amity/v1/inbox"), data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _sealed_note(sender: SigningIdentity, to: Card, text: str, seq: int) -> bytes:
    envelope = sign_envelope(
        sender,
        type=MSG_NOTE,
        recipient=to.peer_id,
        seq=seq,
        ts_ms=time.time_ns() // 1_000_000,
        nonce=os.urandom(16),
        body=encode_note(text),
    )
    return seal(
        envelope,
        recipient=to.peer_id,
        link_public=to.link_cert.link_public,
        ephemeral_private=os.urandom(32),
    )


def test_a_peer_posts_one_sealed_note(nodes: NodeFactory) -> None:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    # The test speaks as alice with her own key (read from her home), far above her live seqs.
    alice_key = SigningIdentity(Home(alice.home).load_seed())
    assert alice_key.peer_id == PeerId.from_did(alice.did)
    shop_card = _card(shop)
    sealed = _sealed_note(alice_key, shop_card, "posted once", seq=1_000_000)

    status, body = _post(shop, sealed)
    assert (status, body) == (200, {"stored": True, "seq": 1_000_000})
    status, _ = _post(shop, sealed)  # a retry of the same POST: accepted, not stored twice
    assert status == 200
    assert texts(shop, alice.did).count("posted once") == 1

    tampered = bytearray(sealed)
    tampered[-5] ^= 1
    status, body = _post(shop, bytes(tampered))
    assert status == 422 and body["error"]["code"] == "seal.decrypt_failed"

    stranger = SigningIdentity(os.urandom(32))
    status, body = _post(shop, _sealed_note(stranger, shop_card, "hi", seq=1))
    assert status == 422 and body["error"]["code"] == "relationship.unknown_peer"
    status, body = _post(shop, b"\x00not sealed mail")
    assert status == 422 and body["error"]["code"].startswith("encoding.")
    assert shop.status()["rejected"] >= 3
