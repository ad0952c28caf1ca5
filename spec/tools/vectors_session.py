"""Test vectors for spec/session.md: amity's Noise XX handshake and its transport frames.

Every key (identity seeds, link keys, ephemeral keys) and every time is fixed, so the handshake
messages, the handshake hash and the transport frames are identical on every run. Negative vectors
whose faulty message an honest :class:`Session` would never write (a certificate for another key,
a payload of the wrong version) are written here with the bare Noise layer, so the Noise part is
valid and only the named defect remains.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.card import Card, NodeKind
from amity.protocol.encoding import Value, encode
from amity.protocol.errors import (
    CertificateExpiredError,
    CertificateNotYetValidError,
    NoiseDecryptError,
    SessionIdentityError,
    SessionPayloadError,
    TooLargeError,
    UnsupportedVersionError,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.noise import HandshakeState
from amity.protocol.session import MAX_EXTRA_BYTES, PROLOGUE, Session

#: Base time: 2023-11-14T22:13:20Z.
T0 = 1_700_000_000_000
DAY_MS = 86_400_000
#: The moment every handshake below runs at.
NOW = T0 + DAY_MS
CERT_NOT_AFTER = T0 + 30 * DAY_MS
PLAINTEXT = b"hello from the other side"


class Side:
    """One party's fixed inputs: identity, link key, ephemeral key, certificate and extra.

    A plain class, not a dataclass: make_vectors.py loads this file without registering it as a
    module, and dataclasses look their module up.
    """

    def __init__(
        self,
        identity_seed: bytes,
        link_private: bytes,
        ephemeral_private: bytes,
        *,
        not_before_ms: int = T0,
        not_after_ms: int = CERT_NOT_AFTER,
        extra: bytes = b"",
        expected_peer: PeerId | None = None,
        cert_link_public: bytes | None = None,
    ) -> None:
        self.identity_seed = identity_seed
        self.link_private = link_private
        self.ephemeral_private = ephemeral_private
        self.not_before_ms = not_before_ms
        self.not_after_ms = not_after_ms
        self.extra = extra
        self.expected_peer = expected_peer
        #: Certify this X25519 public key instead of our own (only for forged messages).
        self.cert_link_public = cert_link_public

    def but(self, **changes: Any) -> Side:
        """A copy with some inputs changed."""
        return Side(**{**vars(self), **changes})

    @property
    def identity(self) -> SigningIdentity:
        return SigningIdentity(self.identity_seed)

    @property
    def link_key(self) -> LinkKey:
        return LinkKey(self.link_private)

    @property
    def cert(self) -> LinkCert:
        link_public = self.cert_link_public or self.link_key.public
        return LinkCert.issue(self.identity, link_public, self.not_before_ms, self.not_after_ms)

    def session(self, *, initiator: bool) -> Session:
        return Session(
            initiator=initiator,
            link_key=self.link_key,
            link_cert=self.cert,
            ephemeral_private=self.ephemeral_private,
            expected_peer=self.expected_peer,
            extra=self.extra,
        )

    def noise(self, *, initiator: bool) -> HandshakeState:
        return HandshakeState(
            initiator=initiator,
            prologue=PROLOGUE,
            static_private=self.link_private,
            ephemeral_private=self.ephemeral_private,
        )

    def payload(self, version: Value = 1) -> bytes:
        return encode([version, self.cert.encoded, self.extra])

    def describe(self) -> dict[str, Any]:
        return {
            "identity_seed_hex": self.identity_seed.hex(),
            "peer_id_hex": self.identity.peer_id.key.hex(),
            "link_seed_hex": self.link_private.hex(),
            "link_public_hex": self.link_key.public.hex(),
            "ephemeral_seed_hex": self.ephemeral_private.hex(),
            "cert_not_before_ms": self.not_before_ms,
            "cert_not_after_ms": self.not_after_ms,
            "link_cert_hex": self.cert.encoded.hex(),
            "extra_hex": self.extra.hex(),
            "expected_peer_hex": None
            if self.expected_peer is None
            else self.expected_peer.key.hex(),
        }


ALICE = Side(bytes([0xE0]) * 32, bytes([0xE8]) * 32, bytes([0xF0]) * 32)
SHOP = Side(bytes([0xE1]) * 32, bytes([0xE9]) * 32, bytes([0xF1]) * 32)
MALLORY = Side(bytes([0xE2]) * 32, bytes([0xEA]) * 32, bytes([0xF2]) * 32)


def _card(side: Side, kind: NodeKind, name: str) -> bytes:
    return Card.issue(
        side.identity,
        link_cert=side.cert,
        kind=kind,
        name=name,
        endpoints=["wss://shop.example/amity/v1"] if kind is NodeKind.VENDOR else [],
        issued_ms=T0,
        not_after_ms=T0 + 7 * DAY_MS,
    ).encoded


def _base(name: str, description: str, initiator: Side, responder: Side) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "now_ms": NOW,
        "initiator": initiator.describe(),
        "responder": responder.describe(),
    }


def _handshake(name: str, description: str, initiator: Side, responder: Side) -> dict[str, Any]:
    """A successful handshake between two honest sessions, then one frame each way."""
    dialer = initiator.session(initiator=True)
    answerer = responder.session(initiator=False)
    m1 = dialer.start()
    m2 = answerer.receive_handshake(m1, NOW)
    assert m2 is not None
    m3 = dialer.receive_handshake(m2, NOW)
    assert m3 is not None
    assert answerer.receive_handshake(m3, NOW) is None
    assert dialer.handshake_hash == answerer.handshake_hash
    (to_responder,) = dialer.encrypt(PLAINTEXT)
    (to_initiator,) = answerer.encrypt(PLAINTEXT)
    return {
        **_base(name, description, initiator, responder),
        "messages_hex": [m1.hex(), m2.hex(), m3.hex()],
        "payloads_hex": ["", responder.payload().hex(), initiator.payload().hex()],
        "handshake_hash_hex": dialer.handshake_hash.hex(),
        "transport": {
            "plaintext_hex": PLAINTEXT.hex(),
            "initiator_to_responder_hex": to_responder.hex(),
            "responder_to_initiator_hex": to_initiator.hex(),
        },
    }


def _fails_at_initiator(
    name: str,
    description: str,
    initiator: Side,
    responder: Side,
    error: str,
    *,
    message2_payload: bytes | None = None,
) -> dict[str, Any]:
    """The initiator refuses message 2 (written by an honest session unless a payload is given)."""
    m1 = initiator.session(initiator=True).start()
    if message2_payload is None:
        m2 = responder.session(initiator=False).receive_handshake(m1, NOW)
        assert m2 is not None
    else:
        noise = responder.noise(initiator=False)
        noise.read_message(m1)
        m2 = noise.write_message(message2_payload)
    return {
        **_base(name, description, initiator, responder),
        "receiver": "initiator",
        "messages_hex": [m1.hex(), m2.hex()],
        "error": error,
    }


def _fails_at_responder(
    name: str,
    description: str,
    initiator: Side,
    responder: Side,
    error: str,
    *,
    message3_payload: bytes | None = None,
    tamper: bool = False,
) -> dict[str, Any]:
    """The responder refuses message 3 (from an honest session unless a payload is given)."""
    answerer = responder.session(initiator=False)
    if message3_payload is None:
        dialer = initiator.session(initiator=True)
        m1 = dialer.start()
        m2 = answerer.receive_handshake(m1, NOW)
        assert m2 is not None
        m3 = dialer.receive_handshake(m2, NOW)
        assert m3 is not None
    else:
        noise = initiator.noise(initiator=True)
        m1 = noise.write_message(b"")
        m2 = answerer.receive_handshake(m1, NOW)
        assert m2 is not None
        noise.read_message(m2)
        m3 = noise.write_message(message3_payload)
    if tamper:
        m3 = m3[:-1] + bytes([m3[-1] ^ 0x01])
    return {
        **_base(name, description, initiator, responder),
        "receiver": "responder",
        "messages_hex": [m1.hex(), m2.hex(), m3.hex()],
        "error": error,
    }


def _vectors() -> list[dict[str, Any]]:
    alice_card = ALICE.but(extra=_card(ALICE, NodeKind.PERSON, "Alice"))
    shop_card = SHOP.but(extra=_card(SHOP, NodeKind.VENDOR, "Corner Bookshop"))
    expecting_shop = ALICE.but(expected_peer=SHOP.identity.peer_id)
    expecting_mallory = ALICE.but(expected_peer=MALLORY.identity.peer_id)
    other_link = LinkKey(bytes([0xEF]) * 32).public
    noise_m1 = ALICE.noise(initiator=True)
    message1_with_payload = noise_m1.write_message(b"hello")
    return [
        _handshake(
            "handshake-plain",
            "Alice dials the shop, expecting its identity; both extras are empty.",
            expecting_shop,
            SHOP,
        ),
        _handshake(
            "handshake-with-cards",
            "Both sides carry their peer card as the extra; nobody is expected.",
            alice_card,
            shop_card,
        ),
        {
            **_base(
                "message-1-with-payload",
                "Message 1 carries the clear payload 'hello'; it must be empty.",
                ALICE,
                SHOP,
            ),
            "receiver": "responder",
            "messages_hex": [message1_with_payload.hex()],
            "error": SessionPayloadError.code,
        },
        _fails_at_responder(
            "message-3-cert-for-another-link-key",
            "Alice's message 3 carries a certificate, validly signed by Alice, for an X25519 key "
            "other than the static key her message proved.",
            ALICE.but(cert_link_public=other_link),
            SHOP,
            SessionIdentityError.code,
            message3_payload=ALICE.but(cert_link_public=other_link).payload(),
        ),
        _fails_at_responder(
            "message-3-replays-another-identity-cert",
            "Mallory, with her own link key, presents Alice's genuine certificate to pass as Alice.",
            MALLORY,
            SHOP,
            SessionIdentityError.code,
            message3_payload=ALICE.payload(),
        ),
        _fails_at_initiator(
            "message-2-cert-for-another-link-key",
            "The responder's certificate names an X25519 key other than its Noise static key.",
            ALICE,
            SHOP.but(cert_link_public=other_link),
            SessionIdentityError.code,
            message2_payload=SHOP.but(cert_link_public=other_link).payload(),
        ),
        _fails_at_initiator(
            "message-2-expired-cert",
            "The shop's link certificate expired at now_ms (the end is exclusive).",
            ALICE,
            SHOP.but(not_after_ms=NOW),
            CertificateExpiredError.code,
        ),
        _fails_at_initiator(
            "message-2-cert-not-yet-valid",
            "The shop's link certificate is valid only from one millisecond after now_ms.",
            ALICE,
            SHOP.but(not_before_ms=NOW + 1),
            CertificateNotYetValidError.code,
        ),
        _fails_at_responder(
            "message-3-expired-cert",
            "Alice's link certificate expired one millisecond before now_ms.",
            ALICE.but(not_after_ms=NOW - 1),
            SHOP,
            CertificateExpiredError.code,
        ),
        _fails_at_initiator(
            "unexpected-peer",
            "Alice dials expecting Mallory; the shop answers with a valid certificate of its own.",
            expecting_mallory,
            SHOP,
            SessionIdentityError.code,
        ),
        _fails_at_responder(
            "unexpected-peer-at-responder",
            "The shop expects Mallory; Alice completes the handshake as herself.",
            ALICE,
            SHOP.but(expected_peer=MALLORY.identity.peer_id),
            SessionIdentityError.code,
        ),
        _fails_at_initiator(
            "message-2-version-2",
            "The shop's payload has version 2.",
            ALICE,
            SHOP,
            UnsupportedVersionError.code,
            message2_payload=SHOP.payload(version=2),
        ),
        _fails_at_responder(
            "message-3-version-true",
            "Alice's payload has version msgpack true, not the integer 1.",
            ALICE,
            SHOP,
            UnsupportedVersionError.code,
            message3_payload=ALICE.payload(version=True),
        ),
        _fails_at_responder(
            "message-3-payload-not-an-array",
            "Alice's message 3 payload is the msgpack nil, not [version, link_cert, extra].",
            ALICE,
            SHOP,
            SessionPayloadError.code,
            message3_payload=b"\xc0",
        ),
        _fails_at_initiator(
            "message-2-extra-too-large",
            f"The shop's extra is {MAX_EXTRA_BYTES + 1} bytes (limit {MAX_EXTRA_BYTES}).",
            ALICE,
            SHOP,
            TooLargeError.code,
            message2_payload=encode([1, SHOP.cert.encoded, bytes(MAX_EXTRA_BYTES + 1)]),
        ),
        _fails_at_responder(
            "message-3-tampered",
            "The last byte of an honest message 3 (in the payload's tag) is flipped.",
            ALICE,
            SHOP,
            NoiseDecryptError.code,
            tamper=True,
        ),
    ]


def build() -> dict[str, Any]:
    return {
        "title": "amity sessions: Noise XX handshake with link certificates, transport frames",
        "spec": "spec/session.md",
        "notes": (
            "Each side: an Ed25519 identity from identity_seed_hex, an X25519 link key from "
            "link_seed_hex (the Noise static key), an X25519 ephemeral key from "
            "ephemeral_seed_hex, the link certificate link_cert_hex it presents (issued by the "
            "identity for cert_not_before_ms..cert_not_after_ms), its handshake extra, and the "
            "peer it expects (or null). Every handshake runs at now_ms. Positive vectors: the "
            "initiator writes messages_hex[0] and [2], the responder [1]; payloads_hex are the "
            "plaintext payloads; after the handshake both sides have handshake_hash_hex, and "
            "each side's first transport frame for plaintext_hex is given (flag byte 0x00, then "
            "the plaintext, sealed with nonce 0). Negative vectors: the side named by receiver "
            "is built from its inputs; it must write exactly its own messages in messages_hex "
            "and refuse the last message with error. The other side's last message may be "
            "forged with the bare Noise layer (see description); its inputs are informative."
        ),
        "vectors": _vectors(),
    }
