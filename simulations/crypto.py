"""The crypto mode of a run: real, or the declared stand-in for very large runs.

``real`` runs libsodium and the Noise handshake exactly as the daemon does. ``standin`` keeps the
same message flow and the same sizes but replaces the expensive parts, and every report says so:

- an Ed25519 signature becomes BLAKE2b-512 over the signer's public key and the signed bytes
  (64 bytes, checked on receipt; it proves integrity, *not* who signed: anyone could forge it);
  a key the core makes itself (an intent's own key) still signs for real, and a signature that
  is not the stand-in's is checked as Ed25519;
- the Noise XX session becomes :class:`PlainSession`: the same three handshake messages and the
  same frame sizes (tags are zero bytes), carrying the same link certificate and card, unencrypted.

The core has no seam for a signature scheme, so the stand-in swaps libsodium's
``crypto_sign_open`` for the duration of a run (:func:`crypto_mode`), and nodes sign through
:class:`StandInIdentity`. Identities stay real Ed25519 keys, so peer ids stay valid.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, Protocol

import nacl.bindings
import nacl.exceptions

from amity.protocol.errors import (
    AmityError,
    SessionPayloadError,
    StateError,
    TooLargeError,
    UsageError,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.keyring import Keyring
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.session import (
    FRAME_PAYLOAD_BYTES,
    MAX_SESSION_MESSAGE_BYTES,
    CertReader,
    Session,
    SessionState,
    check_handshake_payload,
    check_session_args,
    handshake_payload,
)

__all__ = [
    "CryptoMode",
    "STANDIN_DOMAIN",
    "SessionLike",
    "StandInIdentity",
    "PlainSession",
    "crypto_mode",
    "make_keyring",
    "make_session",
]

STANDIN_DOMAIN: Final = b"amity-sim/standin-signature/v1\x00"
_TAG: Final = bytes(16)
_KEY_BYTES: Final = 32


class CryptoMode(enum.Enum):
    REAL = "real"
    STANDIN = "standin"


class SessionLike(Protocol):
    """What a simulated link needs of a session: the real one or the stand-in."""

    state: SessionState
    peer: PeerId | None
    peer_cert: LinkCert | None
    peer_extra: bytes

    def start(self) -> bytes: ...

    def receive_handshake(self, data: bytes, now_ms: int) -> bytes | None: ...

    def encrypt(self, message: bytes) -> list[bytes]: ...

    def decrypt(self, frame: bytes) -> bytes | None: ...


def _standin_signature(public_key: bytes, signed: bytes) -> bytes:
    return hashlib.blake2b(STANDIN_DOMAIN + public_key + signed, digest_size=64).digest()


class StandInIdentity(SigningIdentity):
    """A real Ed25519 identity whose signatures are the stand-in's (see the module docstring).

    It keeps its seed and peer id only: libsodium's key objects, which it never signs with, would
    be some 400 bytes a node.
    """

    __slots__ = ("_seed",)

    def __init__(self, seed: bytes) -> None:
        super().__init__(seed)  # the real public key: peer ids stay valid Ed25519 keys
        self._seed = seed
        del self._signing_key

    @property
    def seed(self) -> bytes:
        return self._seed

    def sign(self, domain: bytes, message: bytes) -> bytes:
        if not domain.endswith(b"\x00"):
            raise UsageError("signature domains end with a NUL byte")
        return _standin_signature(self.peer_id.key, domain + message)


#: libsodium's own check, for the signatures the stand-in did not make.
_REAL_SIGN_OPEN: Final[Callable[[bytes, bytes], bytes]] = nacl.bindings.crypto_sign_open


def _standin_sign_open(signed_message: bytes, public_key: bytes) -> bytes:
    signature, message = signed_message[:64], signed_message[64:]
    if hmac.compare_digest(signature, _standin_signature(public_key, message)):
        return message
    # A key the core makes itself signs for real even here (an intent's own key,
    # spec/intents.md §4: no node identity, so no stand-in); check what is not a stand-in
    # signature as Ed25519, which refuses a forged one all the same.
    try:
        return _REAL_SIGN_OPEN(signed_message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError):
        raise nacl.exceptions.BadSignatureError("stand-in signature does not match") from None


@contextmanager
def crypto_mode(mode: CryptoMode) -> Iterator[None]:
    """Run the body with ``mode``'s signature check in place (restored afterwards)."""
    if mode is CryptoMode.REAL:
        yield
        return
    real: Callable[[bytes, bytes], bytes] = nacl.bindings.crypto_sign_open
    setattr(nacl.bindings, "crypto_sign_open", _standin_sign_open)  # noqa: B010
    try:
        yield
    finally:
        setattr(nacl.bindings, "crypto_sign_open", real)  # noqa: B010


def make_keyring(seed: bytes, mode: CryptoMode) -> Keyring:
    """A node's keyring; in stand-in mode its identity signs with the stand-in."""
    keyring = Keyring(seed)
    if mode is CryptoMode.STANDIN:
        keyring.identity = StandInIdentity(seed)
    return keyring


class PlainSession:
    """Stand-in for :class:`~amity.protocol.session.Session`: same sizes and checks, no secrecy.

    Message 1 is 32 bytes (an ephemeral key), message 2 is ``e, s + tag, payload + tag`` and
    message 3 ``s + tag, payload + tag``, as in Noise XX; ``s`` is the link key in clear, and the
    payload is the real session payload (link certificate and card), checked as the real one is.
    """

    __slots__ = (
        "_ephemeral",
        "_extra",
        "_fragments",
        "_link_cert",
        "_read_cert",
        "expected_peer",
        "initiator",
        "peer",
        "peer_cert",
        "peer_extra",
        "state",
    )

    def __init__(
        self,
        *,
        initiator: bool,
        link_key: LinkKey,
        link_cert: LinkCert,
        ephemeral_private: bytes,
        expected_peer: PeerId | None = None,
        extra: bytes = b"",
        read_cert: CertReader = LinkCert.decode,
    ) -> None:
        check_session_args(link_key, link_cert, extra)
        self.initiator = initiator
        self.expected_peer = expected_peer
        self._read_cert = read_cert
        self._link_cert: LinkCert | None = link_cert
        self._extra = extra
        self._ephemeral = ephemeral_private
        #: Chunks of a message whose final frame has not come yet (None between messages).
        self._fragments: list[bytes] | None = None
        self.state = SessionState.START
        self.peer: PeerId | None = None
        self.peer_cert: LinkCert | None = None
        self.peer_extra = b""

    def start(self) -> bytes:
        if not self.initiator or self.state is not SessionState.START:
            raise StateError("start() is the initiator's first call, made once")
        self.state = SessionState.AWAIT_RESPONSE
        return self._ephemeral

    def _own(self) -> bytes:
        cert = self._link_cert
        if cert is None:
            raise StateError("the handshake is over")
        payload = handshake_payload(cert, self._extra)
        return cert.link_public + _TAG + payload + _TAG

    def receive_handshake(self, data: bytes, now_ms: int) -> bytes | None:
        if self.state is SessionState.START and not self.initiator:
            if len(data) != _KEY_BYTES:
                self.state = SessionState.FAILED
                raise SessionPayloadError("the first handshake message is one 32-byte key")
            self.state = SessionState.AWAIT_FINISH
            return self._ephemeral + self._own()
        if self.state is SessionState.AWAIT_RESPONSE:
            self._check_peer(data[_KEY_BYTES:], now_ms)
            own = self._own()
            self._established()
            return own
        if self.state is SessionState.AWAIT_FINISH:
            self._check_peer(data, now_ms)
            self._established()
            return None
        raise StateError(f"no handshake message is expected in state {self.state.value}")

    def _established(self) -> None:
        """As the real session: forget what only the handshake needed (a link lives for hours)."""
        self.state = SessionState.ESTABLISHED
        self._link_cert = self.expected_peer = None
        self._extra = self._ephemeral = b""
        self._read_cert = LinkCert.decode

    def _check_peer(self, data: bytes, now_ms: int) -> None:
        static, payload = data[:_KEY_BYTES], data[_KEY_BYTES + 16 : -16]
        try:
            # The real session's checks, on the static key the stand-in sends in clear.
            cert, extra = check_handshake_payload(
                payload,
                proven_static=static,
                now_ms=now_ms,
                expected_peer=self.expected_peer,
                read_cert=self._read_cert,
            )
        except AmityError:
            self.state = SessionState.FAILED
            raise
        self.peer = cert.issuer
        self.peer_cert = cert
        self.peer_extra = extra

    def encrypt(self, message: bytes) -> list[bytes]:
        if self.state is not SessionState.ESTABLISHED:
            raise StateError("the session is not established")
        frames = []
        for start in range(0, max(len(message), 1), FRAME_PAYLOAD_BYTES):
            last = start + FRAME_PAYLOAD_BYTES >= len(message)
            chunk = message[start : start + FRAME_PAYLOAD_BYTES]
            frames.append(bytes([0 if last else 1]) + chunk + _TAG)
        return frames

    def decrypt(self, frame: bytes) -> bytes | None:
        if self.state is not SessionState.ESTABLISHED:
            raise StateError("the session is not established")
        if len(frame) < 17 or frame[0] not in (0, 1):
            raise SessionPayloadError("transport frame without a valid fragment flag")
        chunk = frame[1:-16]
        if frame[0] == 0 and self._fragments is None:  # nearly every message: one frame
            return chunk
        # Reassembly with the real session's rules (spec/session.md §5.2).
        if frame[0] == 1 and len(chunk) != FRAME_PAYLOAD_BYTES:
            raise SessionPayloadError(f"non-final fragment of {len(chunk)} bytes")
        parts = self._fragments = [*(self._fragments or ()), chunk]
        if sum(map(len, parts)) > MAX_SESSION_MESSAGE_BYTES:
            raise TooLargeError(f"reassembled message exceeds {MAX_SESSION_MESSAGE_BYTES} bytes")
        if frame[0] == 1:
            return None
        self._fragments = None
        return b"".join(parts)


def make_session(
    mode: CryptoMode,
    *,
    initiator: bool,
    link_key: LinkKey,
    link_cert: LinkCert,
    ephemeral_private: bytes,
    expected_peer: PeerId | None,
    extra: bytes,
    read_cert: CertReader,
) -> SessionLike:
    """The real Noise session, or the stand-in, with the same arguments."""
    kind: type[Session] | type[PlainSession] = Session if mode is CryptoMode.REAL else PlainSession
    return kind(
        initiator=initiator,
        link_key=link_key,
        link_cert=link_cert,
        ephemeral_private=ephemeral_private,
        expected_peer=expected_peer,
        extra=extra,
        read_cert=read_cert,
    )
