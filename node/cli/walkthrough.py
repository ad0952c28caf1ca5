"""The protocol walkthrough of ``amity demo``: a person and a vendor in one process, no daemon.

Every step runs the same amity.protocol code the daemon runs: invitation card and URI, Noise XX
handshake over link keys, signed envelopes inside the session, the replay guard refusing a
replay and a forgery, and sealed mail that a relay can route but not read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from amity.protocol.card import INVITE_SECRET_BYTES, Card, NodeKind
from amity.protocol.envelope import Envelope, open_envelope, sign_envelope
from amity.protocol.errors import AmityError
from amity.protocol.identity import SEED_BYTES, SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.replay import MAIL_POLICY, ReplayGuard
from amity.protocol.sealed import open_sealed, peek_sealed, seal
from amity.protocol.session import Session

__all__ = ["walk"]

_DAY_MS = 24 * 3600 * 1000


class _Party:
    """One side of the demo: identity, link key, certificate and card."""

    def __init__(self, name: str, kind: NodeKind, now_ms: int, invite: bool = False) -> None:
        self.identity = SigningIdentity(os.urandom(SEED_BYTES))
        self.link_key = LinkKey(os.urandom(32))
        self.cert = LinkCert.issue(
            self.identity, self.link_key.public, now_ms, now_ms + 30 * _DAY_MS
        )
        self.card = Card.issue(
            self.identity,
            link_cert=self.cert,
            kind=kind,
            name=name,
            endpoints=["ws://127.0.0.1:7700/amity/v1"],
            issued_ms=now_ms,
            not_after_ms=now_ms + 7 * _DAY_MS,
            invite_secret=os.urandom(INVITE_SECRET_BYTES) if invite else None,
        )
        # One guard per node, whatever road a message takes (spec/replay.md).
        self.guard = ReplayGuard(MAIL_POLICY)
        self.seq: dict[bytes, int] = {}

    def envelope(self, to: SigningIdentity, type_: str, body: bytes, now_ms: int) -> bytes:
        seq = self.seq[to.peer_id.key] = self.seq.get(to.peer_id.key, 0) + 1
        return sign_envelope(
            self.identity,
            type=type_,
            recipient=to.peer_id,
            seq=seq,
            ts_ms=now_ms,
            nonce=os.urandom(16),
            body=body,
        )


def walk(step: Callable[..., None], now_ms: int) -> None:
    """Tell each step to ``step(what, **detail)`` as it happens."""
    alice = _Party("Alice", NodeKind.PERSON, now_ms)
    shop = _Party("Corner Bookshop", NodeKind.VENDOR, now_ms, invite=True)
    step("identities made", alice=alice.identity.peer_id.did, vendor=shop.identity.peer_id.did)

    uri = shop.card.to_uri()
    card = Card.from_uri(uri)
    card.check_valid(now_ms)
    step(
        "Alice reads the shop's invitation URI and verifies it",
        uri_chars=len(uri),
        name=card.name,
        fingerprint=card.peer_id.fingerprint,
    )

    started = time.perf_counter()
    dialer = Session(
        initiator=True,
        link_key=alice.link_key,
        link_cert=alice.cert,
        ephemeral_private=os.urandom(32),
        expected_peer=card.peer_id,
        extra=alice.card.encoded,
    )
    answerer = Session(
        initiator=False,
        link_key=shop.link_key,
        link_cert=shop.cert,
        ephemeral_private=os.urandom(32),
        extra=shop.card.encoded,
    )
    message2 = answerer.receive_handshake(dialer.start(), now_ms)
    assert message2 is not None
    message3 = dialer.receive_handshake(message2, now_ms)
    assert message3 is not None
    answerer.receive_handshake(message3, now_ms)
    assert answerer.peer is not None
    step(
        "Noise XX handshake: both identities proven",
        milliseconds=round((time.perf_counter() - started) * 1000, 2),
        vendor_sees=Card.decode(answerer.peer_extra).name,
        same_handshake_hash=dialer.handshake_hash == answerer.handshake_hash,
    )

    hello = alice.envelope(shop.identity, "rel.hello", b"hello from Alice", now_ms)
    (frame,) = dialer.encrypt(hello)
    received = answerer.decrypt(frame)
    assert received is not None
    opened = open_envelope(received, recipient=shop.identity.peer_id)
    shop.guard.accept(opened, now_ms)
    step("signed envelope sent inside the session", type=opened.type, body=opened.body.decode())

    step("the same envelope replayed", refused=_refusal(shop.guard, opened, now_ms))
    forged = bytearray(hello)
    forged[-70] ^= 0x01  # a byte of the body, under the signature
    try:
        open_envelope(bytes(forged), recipient=shop.identity.peer_id)
        refused = "accepted (this is a bug)"
    except AmityError as exc:
        refused = exc.code
    step("a tampered copy", refused=refused)

    mail = shop.envelope(alice.identity, "rel.note", b"your order shipped", now_ms)
    sealed = seal(
        mail,
        recipient=alice.identity.peer_id,
        link_public=alice.cert.link_public,
        ephemeral_private=os.urandom(32),
    )
    header = peek_sealed(sealed)
    step(
        "sealed mail while Alice is offline: what a relay sees",
        recipient=header.recipient.fingerprint,
        size_bytes=len(sealed),
    )
    letter = open_sealed(sealed, recipient=alice.identity.peer_id, link_key=alice.link_key)
    alice.guard.accept(letter, now_ms)
    step(
        "Alice opens it later",
        sender=Card.decode(dialer.peer_extra).name,
        body=letter.body.decode(),
    )


def _refusal(guard: ReplayGuard, envelope: Envelope, now_ms: int) -> str:
    try:
        guard.accept(envelope, now_ms)
    except AmityError as exc:
        return exc.code
    return "accepted (this is a bug)"
