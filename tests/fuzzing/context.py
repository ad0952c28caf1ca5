"""Fixed keys, times and valid encodings that the decoder registry feeds its decoders with.

Everything comes from spec/vectors (so a corpus is what the spec says is valid, or nearly so) or
is built once here from fixed seeds. Helpers that wrap a fuzz input into a larger valid structure
(sign it, seal it, send it through a Noise session) live here too, so that a fuzz input can reach
the checks that come after a signature or a decryption.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import nacl.bindings

from amity.protocol.encoding import Value, decode, encode
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.noise import CipherState, HandshakeState
from amity.protocol.session import PROLOGUE, Session
from tests.vectors import load_vector_file

__all__ = [
    "VECTORS",
    "NOW_MS",
    "hexes",
    "vectors",
    "peer",
    "seeds_of",
    "identity",
    "inner",
    "resign",
    "box_to",
    "HANDSHAKE_PAYLOADS",
    "PROVEN_STATIC",
    "ALICE_PEER",
    "HandshakeStage",
    "answerer_after",
    "established_receiver",
    "list_of_bytes",
    "typed_body",
    "typed_body_seeds",
]

_FILES = (
    "audit",
    "backup",
    "beacons",
    "card",
    "delegation",
    "encoding",
    "envelope",
    "grants",
    "identity",
    "intents",
    "loyalty",
    "receipts",
    "relationship",
    "relay",
    "reputation",
    "reputation_messages",
    "sealed",
    "session",
    "signals",
    "succession",
    "terms",
    "things",
    "webhooks",
)
VECTORS = {name: load_vector_file(name)["vectors"] for name in _FILES}
#: The time most vectors are valid at (2026-01-01 .. 2026-01-31 for grants and link certs).
NOW_MS = 1_767_225_600_000


def vectors(file: str, **match: Any) -> list[dict[str, Any]]:
    """The vectors of ``file`` whose fields equal ``match`` (``error=None``: positive only)."""
    found = []
    for vector in VECTORS[file]:
        if all(vector.get(key) == value for key, value in match.items()):
            found.append(vector)
    assert found, f"no vector in {file}.json matches {match}"
    return found


def hexes(file: str, key: str, **match: Any) -> tuple[bytes, ...]:
    """Every ``key`` (a hex string, or a list of them) of the matching vectors, as bytes."""
    out: list[bytes] = []
    for vector in vectors(file, **match):
        value = vector.get(key)
        if isinstance(value, str):
            out.append(bytes.fromhex(value))
        elif isinstance(value, list):
            out.extend(bytes.fromhex(item) for item in value if isinstance(item, str))
    assert out, f"no {key} in {file}.json for {match}"
    return tuple(dict.fromkeys(out))


def seeds_of(file: str) -> dict[str, str]:
    """The named identities a vector file declares: name -> seed hex."""
    return {name: v["seed_hex"] for name, v in load_vector_file(file)["identities"].items()}


def peer(hex_key: str) -> PeerId:
    return PeerId(bytes.fromhex(hex_key))


def identity(hex_seed: str) -> SigningIdentity:
    return SigningIdentity(bytes.fromhex(hex_seed))


def inner(signed: bytes) -> bytes:
    """The signed part of ``[signed_bytes, sig]`` (or of ``[signed_bytes, sig, sig]``)."""
    outer = decode(signed)
    assert isinstance(outer, list) and isinstance(outer[0], bytes)
    return outer[0]


def resign(signed_bytes: bytes, domain: bytes, signer: SigningIdentity) -> bytes:
    """``[signed_bytes, sig]`` with a good signature over whatever ``signed_bytes`` now hold."""
    return bytes(encode([signed_bytes, signer.sign(domain, signed_bytes)]))


def box_to(plaintext: bytes, link_public: bytes) -> bytes:
    """A sealed box of any plaintext to ``link_public`` (grant.deliver's box)."""
    return bytes(nacl.bindings.crypto_box_seal(plaintext, link_public))


def typed_body(data: bytes, types: Collection[str] | None = None) -> tuple[str, bytes] | None:
    """A fuzz input that packs a message type and its body, ``enc([type, body])``, so that both
    can change; None if it is not one (or names a type outside ``types``)."""
    value = decode(data)
    if not (isinstance(value, list) and len(value) == 2):
        return None
    kind, body = value
    if not (isinstance(kind, str) and isinstance(body, bytes)):
        return None
    if types is not None and kind not in types:
        return None
    return kind, body


def typed_body_seeds(file: str) -> tuple[bytes, ...]:
    """The seeds of a typed_body target: each ``operation: body`` vector of ``file``."""
    return tuple(
        encode([v["type"], bytes.fromhex(v["body_hex"])]) for v in vectors(file, operation="body")
    )


def list_of_bytes(data: bytes) -> list[bytes] | None:
    """A fuzz input that packs several byte strings: ``enc([b1, b2, …])``; None if it is not."""
    value: Value = decode(data)
    if isinstance(value, list) and all(isinstance(item, bytes) for item in value):
        return [item for item in value if isinstance(item, bytes)]
    return None


# -- sessions ---------------------------------------------------------------------------------------

_ALICE = SigningIdentity(bytes([0x61]) * 32)
_SHOP = SigningIdentity(bytes([0x62]) * 32)
_ALICE_LINK = LinkKey(bytes([0x71]) * 32)
_SHOP_LINK = LinkKey(bytes([0x72]) * 32)
_ALICE_CERT = LinkCert.issue(_ALICE, _ALICE_LINK.public, NOW_MS - 86_400_000, NOW_MS + 86_400_000)
_SHOP_CERT = LinkCert.issue(_SHOP, _SHOP_LINK.public, NOW_MS - 86_400_000, NOW_MS + 86_400_000)
_ALICE_EPHEMERAL = bytes([0x81]) * 32
_SHOP_EPHEMERAL = bytes([0x82]) * 32
#: Valid handshake payloads ``[1, link_cert, extra]``, to mutate.
HANDSHAKE_PAYLOADS = (
    encode([1, _ALICE_CERT.encoded, b""]),
    encode([1, _SHOP_CERT.encoded, b"\x92\x01\xc4\x00"]),
)
PROVEN_STATIC = _ALICE_LINK.public
ALICE_PEER = _ALICE.peer_id


def _dialer() -> Session:
    return Session(
        initiator=True,
        link_key=_ALICE_LINK,
        link_cert=_ALICE_CERT,
        ephemeral_private=_ALICE_EPHEMERAL,
        expected_peer=_SHOP.peer_id,
    )


def _answerer() -> Session:
    return Session(
        initiator=False,
        link_key=_SHOP_LINK,
        link_cert=_SHOP_CERT,
        ephemeral_private=_SHOP_EPHEMERAL,
    )


class HandshakeStage:
    """A session about to read handshake message ``stage`` (0, 1 or 2) and that message."""

    @staticmethod
    def at(stage: int) -> tuple[Session, bytes]:
        dialer, answerer = _dialer(), _answerer()
        m1 = dialer.start()
        if stage == 0:
            return answerer, m1
        m2 = answerer.receive_handshake(m1, NOW_MS)
        assert m2 is not None
        if stage == 1:
            return dialer, m2
        m3 = dialer.receive_handshake(m2, NOW_MS)
        assert m3 is not None
        return answerer, m3

    @staticmethod
    def messages() -> tuple[bytes, bytes, bytes]:
        return HandshakeStage.at(0)[1], HandshakeStage.at(1)[1], HandshakeStage.at(2)[1]


def answerer_after(payload: bytes) -> Session:
    """An answering session that reads message 3 carrying ``payload`` (Noise valid, payload not)."""
    answerer, noise = _answerer_at_message_3()
    answerer.receive_handshake(noise.write_message(payload), NOW_MS)
    return answerer


def _answerer_at_message_3() -> tuple[Session, HandshakeState]:
    """An answering session and a raw Noise dialer that has read its message 2."""
    answerer = _answerer()
    noise = HandshakeState(
        initiator=True,
        prologue=PROLOGUE,
        static_private=_ALICE_LINK.private,
        ephemeral_private=_ALICE_EPHEMERAL,
    )
    m2 = answerer.receive_handshake(noise.write_message(b""), NOW_MS)
    assert m2 is not None
    noise.read_message(m2)
    return answerer, noise


def established_receiver() -> tuple[CipherState, Session]:
    """A raw sending cipher and the established session that reads what it sends."""
    answerer, noise = _answerer_at_message_3()
    answerer.receive_handshake(noise.write_message(HANDSHAKE_PAYLOADS[0]), NOW_MS)
    send, _ = noise.split()
    return send, answerer
