"""The stand-in session frames and reassembles messages as the real one does (session.md §5)."""

from __future__ import annotations

import os

import pytest

from amity.protocol.errors import SessionPayloadError
from amity.protocol.keyring import Keyring
from amity.protocol.session import FRAME_PAYLOAD_BYTES, MAX_FRAME_BYTES, MAX_SESSION_MESSAGE_BYTES
from amity.simulations.crypto import CryptoMode, SessionLike, make_session

NOW_MS = 1_800_000_000_000


def _established(mode: CryptoMode) -> tuple[SessionLike, SessionLike]:
    def side(initiator: bool) -> SessionLike:
        link_key, link_cert = Keyring(os.urandom(32)).current(NOW_MS)
        return make_session(
            mode,
            initiator=initiator,
            link_key=link_key,
            link_cert=link_cert,
            ephemeral_private=os.urandom(32),
            expected_peer=None,
            extra=b"",
            read_cert=link_cert.decode,
        )

    dialer, answerer = side(True), side(False)
    message2 = answerer.receive_handshake(dialer.start(), NOW_MS)
    assert message2 is not None
    message3 = dialer.receive_handshake(message2, NOW_MS)
    assert message3 is not None
    assert answerer.receive_handshake(message3, NOW_MS) is None
    return dialer, answerer


@pytest.mark.parametrize("mode", list(CryptoMode))
@pytest.mark.parametrize(
    "size", [0, FRAME_PAYLOAD_BYTES, FRAME_PAYLOAD_BYTES + 1, MAX_SESSION_MESSAGE_BYTES]
)
def test_long_messages_cross_in_full_frames(mode: CryptoMode, size: int) -> None:
    dialer, answerer = _established(mode)
    message = os.urandom(size)
    frames = dialer.encrypt(message)
    assert [len(f) for f in frames[:-1]] == [MAX_FRAME_BYTES] * (len(frames) - 1)
    assert len(frames[-1]) <= MAX_FRAME_BYTES
    results = [answerer.decrypt(frame) for frame in frames]
    assert results == [None] * (len(frames) - 1) + [message]
    (frame,) = dialer.encrypt(b"next")
    assert answerer.decrypt(frame) == b"next"


def test_a_short_more_frame_is_refused_by_the_stand_in() -> None:
    _, answerer = _established(CryptoMode.STANDIN)
    with pytest.raises(SessionPayloadError):
        answerer.decrypt(b"\x01" + b"short" + bytes(16))
