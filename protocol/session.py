"""Live sessions: a Noise XX handshake that proves both identities, then encrypted frames.

The Noise static keys are the nodes' X25519 link keys; each side's handshake payload carries the
link certificate that binds its link key to its Ed25519 identity (and, optionally, its peer card).
After the handshake, messages travel as Noise transport frames; a message larger than one frame
is split into fragments, each with a one-byte "more" flag, and reassembled. Sans-IO: bytes in,
bytes out, time passed in. See spec/session.md.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final, TypeAlias

from amity.protocol.card import MAX_CARD_BYTES
from amity.protocol.encoding import decode_array, encode, expect_bytes
from amity.protocol.envelope import MAX_ENVELOPE_BYTES
from amity.protocol.errors import (
    AmityError,
    SessionIdentityError,
    SessionPayloadError,
    StateError,
    TooLargeError,
    UnsupportedVersionError,
    UsageError,
)
from amity.protocol.identity import PeerId
from amity.protocol.linkcert import MAX_LINKCERT_BYTES, LinkCert, LinkKey
from amity.protocol.noise import MAX_MESSAGE_BYTES, CipherState, HandshakeState

__all__ = [
    "PROLOGUE",
    "SESSION_VERSION",
    "MAX_EXTRA_BYTES",
    "MAX_SESSION_MESSAGE_BYTES",
    "FRAME_PAYLOAD_BYTES",
    "MAX_FRAME_BYTES",
    "CertReader",
    "SessionState",
    "Session",
    "handshake_payload",
    "check_handshake_payload",
    "check_session_args",
]

PROLOGUE: Final = b"amity/1"
SESSION_VERSION: Final = 1
#: Room for a peer card in the handshake payload.
MAX_EXTRA_BYTES: Final = MAX_CARD_BYTES
#: The largest message a session carries (reassembled from fragments).
MAX_SESSION_MESSAGE_BYTES: Final = MAX_ENVELOPE_BYTES + 1024
_TAG_BYTES: Final = 16
_FLAG_FINAL: Final = 0x00
_FLAG_MORE: Final = 0x01
_FINAL_PREFIX: Final = bytes([_FLAG_FINAL])
#: Plaintext bytes of one transport frame: Noise limit, minus the tag and the fragment flag.
FRAME_PAYLOAD_BYTES: Final = MAX_MESSAGE_BYTES - _TAG_BYTES - 1
#: The largest message a carrier must deliver whole: one Noise message, handshake or transport
#: frame (a full frame is exactly this long). See spec/session.md §5.1.
MAX_FRAME_BYTES: Final = MAX_MESSAGE_BYTES

#: Reads and verifies a peer's link certificate from its bytes: :meth:`LinkCert.decode`.
CertReader: TypeAlias = Callable[[bytes], LinkCert]


class SessionState(enum.Enum):
    """Where the handshake stands; only ESTABLISHED carries messages."""

    START = "start"
    AWAIT_RESPONSE = "await-response"  # initiator sent message 1
    AWAIT_FINISH = "await-finish"  # responder sent message 2
    ESTABLISHED = "established"
    FAILED = "failed"


class Session:
    """One side of an amity session. ``initiator`` dials; the other side answers.

    Initiator: ``start()`` gives message 1; feed message 2 to ``receive_handshake()``, which
    returns message 3. Responder: feed message 1 (returns message 2), then message 3 (returns
    None). Once ``state`` is ESTABLISHED, ``peer`` is the proven identity and ``encrypt`` /
    ``decrypt`` carry messages. Any error from a peer's bytes moves the session to FAILED.
    """

    __slots__ = (
        "_extra",
        "_fragments",
        "_fragments_size",
        "_hs",
        "_link_cert",
        "_read_cert",
        "_receiver",
        "_sender",
        "expected_peer",
        "handshake_hash",
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
        self._link_cert = link_cert
        self._extra = extra
        self._read_cert = read_cert
        self._hs: HandshakeState | None = HandshakeState(
            initiator=initiator,
            prologue=PROLOGUE,
            static_private=link_key.private,
            ephemeral_private=ephemeral_private,
        )
        self._sender: CipherState | None = None
        self._receiver: CipherState | None = None
        self._fragments: list[bytes] = []
        self._fragments_size = 0
        self.state = SessionState.START
        self.peer: PeerId | None = None
        self.peer_cert: LinkCert | None = None
        self.peer_extra: bytes = b""
        self.handshake_hash: bytes = b""

    # -- handshake ---------------------------------------------------------------------------------

    def start(self) -> bytes:
        """Initiator only: the first handshake message (it carries no payload)."""
        if not self.initiator or self.state is not SessionState.START:
            raise StateError("start() is the initiator's first call, made once")
        self.state = SessionState.AWAIT_RESPONSE
        return self._handshake().write_message(b"")

    def receive_handshake(self, data: bytes, now_ms: int) -> bytes | None:
        """Take the peer's handshake message; return our next one (or None when done)."""
        expected = {
            (True, SessionState.AWAIT_RESPONSE),
            (False, SessionState.START),
            (False, SessionState.AWAIT_FINISH),
        }
        if (self.initiator, self.state) not in expected:
            raise StateError(f"no handshake message is expected in state {self.state.value}")
        try:
            return self._receive_handshake(data, now_ms)
        except AmityError:
            self.state = SessionState.FAILED
            raise

    def _handshake(self) -> HandshakeState:
        if self._hs is None:  # the state checks above make this unreachable
            raise StateError("the handshake is over")
        return self._hs

    def _receive_handshake(self, data: bytes, now_ms: int) -> bytes | None:
        hs = self._handshake()
        payload = hs.read_message(data)
        if not self.initiator and self.state is SessionState.START:
            if payload:
                raise SessionPayloadError("the first handshake message must carry no payload")
            self.state = SessionState.AWAIT_FINISH
            return hs.write_message(self._own_payload())
        self._check_peer_payload(payload, now_ms)
        reply = hs.write_message(self._own_payload()) if self.initiator else None
        self._finish()
        return reply

    def _own_payload(self) -> bytes:
        return handshake_payload(self._link_cert, self._extra)

    def _check_peer_payload(self, payload: bytes, now_ms: int) -> None:
        cert, extra = check_handshake_payload(
            payload,
            proven_static=self._handshake().remote_static,
            now_ms=now_ms,
            expected_peer=self.expected_peer,
            read_cert=self._read_cert,
        )
        self.peer = cert.issuer
        self.peer_cert = cert
        self.peer_extra = extra

    def _finish(self) -> None:
        hs = self._handshake()
        self.handshake_hash = hs.handshake_hash
        self._sender, self._receiver = hs.split()
        # Forget the handshake: its ephemeral keys (Noise §14: delete them once split) and the
        # handshake-only state, which also saves ~20 KiB per live link in a large simulation.
        self._hs = None
        self._extra = b""
        self._read_cert = LinkCert.decode
        self.state = SessionState.ESTABLISHED

    # -- transport ---------------------------------------------------------------------------------

    def encrypt(self, message: bytes) -> list[bytes]:
        """Encrypt one message as one or more transport frames, to be sent in order."""
        if self._sender is None:
            raise StateError("the session is not established")
        if len(message) > MAX_SESSION_MESSAGE_BYTES:
            raise UsageError(f"message of {len(message)} bytes; limit {MAX_SESSION_MESSAGE_BYTES}")
        if len(message) <= FRAME_PAYLOAD_BYTES:  # nearly every message: one final fragment
            return [self._sender.encrypt_with_ad(b"", _FINAL_PREFIX + message)]
        frames = []
        for start in range(0, max(len(message), 1), FRAME_PAYLOAD_BYTES):
            chunk = message[start : start + FRAME_PAYLOAD_BYTES]
            last = start + FRAME_PAYLOAD_BYTES >= len(message)
            flag = _FLAG_FINAL if last else _FLAG_MORE
            frames.append(self._sender.encrypt_with_ad(b"", bytes([flag]) + chunk))
        return frames

    def decrypt(self, frame: bytes) -> bytes | None:
        """Decrypt one frame; return the whole message once its final fragment arrived."""
        if self._receiver is None:
            raise StateError("the session is not established")
        try:
            plain = self._receiver.decrypt_with_ad(b"", frame)
            if not plain or plain[0] not in (_FLAG_FINAL, _FLAG_MORE):
                raise SessionPayloadError("transport frame without a valid fragment flag")
            # Only full non-final fragments: otherwise a peer could grow the fragment list without
            # bound by sending empty "more" frames. See spec/session.md §5.2.
            if plain[0] == _FLAG_MORE and len(plain) - 1 != FRAME_PAYLOAD_BYTES:
                raise SessionPayloadError(
                    f"non-final fragment of {len(plain) - 1} bytes; it must carry exactly "
                    f"{FRAME_PAYLOAD_BYTES}"
                )
            self._fragments_size += len(plain) - 1
            if self._fragments_size > MAX_SESSION_MESSAGE_BYTES:
                raise TooLargeError(
                    f"reassembled message exceeds {MAX_SESSION_MESSAGE_BYTES} bytes"
                )
        except AmityError:
            self.state = SessionState.FAILED
            self._receiver = self._sender = None
            raise
        self._fragments.append(plain[1:])
        if plain[0] == _FLAG_MORE:
            return None
        message = b"".join(self._fragments)
        self._fragments.clear()
        self._fragments_size = 0
        return message


def handshake_payload(link_cert: LinkCert, extra: bytes) -> bytes:
    """Messages 2 and 3 carry ``[version, link_cert, extra]``. See spec/session.md §4."""
    return encode([SESSION_VERSION, link_cert.encoded, extra])


def check_session_args(link_key: LinkKey, link_cert: LinkCert, extra: bytes) -> None:
    """What a session (or a stand-in for one) is given: a cert for its key, extra within limits."""
    if link_cert.link_public != link_key.public:
        raise UsageError("the link certificate is for another link key")
    if len(extra) > MAX_EXTRA_BYTES:
        raise UsageError(f"handshake extra of {len(extra)} bytes; limit {MAX_EXTRA_BYTES}")


def check_handshake_payload(
    payload: bytes,
    *,
    proven_static: bytes | None,
    now_ms: int,
    expected_peer: PeerId | None,
    read_cert: CertReader = LinkCert.decode,
) -> tuple[LinkCert, bytes]:
    """The peer's certificate and extra, after every check of spec/session.md §4.1.

    ``read_cert`` is :meth:`LinkCert.decode` or a memo of it (a simulator reads the same few
    thousand certificates again and again); its validity at ``now_ms`` is checked here.
    """
    try:
        version, cert_bytes, extra = decode_array(payload, 3, "handshake payload")
    except AmityError as exc:
        raise SessionPayloadError(f"handshake payload is not valid: {exc}") from None
    # As for every amity structure, anything but the int 1 is an unsupported version (a bool
    # too: ``true == 1`` in Python).
    if isinstance(version, bool) or version != SESSION_VERSION:
        raise UnsupportedVersionError(
            f"session version {version!r}; this node speaks {SESSION_VERSION}",
            hint="version.unsupported",
        )
    cert = read_cert(
        expect_bytes(cert_bytes, "handshake link certificate", max_size=MAX_LINKCERT_BYTES)
    )
    if cert.link_public != proven_static:
        raise SessionIdentityError(
            f"{cert.issuer.short} presented a certificate for a link key it did not prove"
        )
    cert.check_valid(now_ms)
    if expected_peer is not None and cert.issuer != expected_peer:
        raise SessionIdentityError(
            f"expected to reach {expected_peer.short} but the peer proved to be "
            f"{cert.issuer.short}; the address may now belong to someone else"
        )
    return cert, expect_bytes(extra, "handshake extra", max_size=MAX_EXTRA_BYTES)
