"""Sessions: the spec vectors, the handshake checks, fragmentation and reassembly, fuzzing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.encoding import encode
from amity.protocol.envelope import MAX_ENVELOPE_BYTES, MAX_SEQ
from amity.protocol.errors import (
    AmityError,
    NoiseDecryptError,
    SessionIdentityError,
    SessionPayloadError,
    StateError,
    TooLargeError,
    UsageError,
)
from amity.protocol.frames import encode_deposit, encode_envelope_frame, encode_mail
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.noise import MAX_MESSAGE_BYTES, CipherState, HandshakeState
from amity.protocol.sealed import MAX_SEALED_BYTES
from amity.protocol.session import (
    FRAME_PAYLOAD_BYTES,
    MAX_EXTRA_BYTES,
    MAX_FRAME_BYTES,
    MAX_SESSION_MESSAGE_BYTES,
    PROLOGUE,
    Session,
    SessionState,
)
from tests.strategies import arbitrary_bytes, each_byte_tampered, encoded_values, mutated
from tests.vectors import unhex, vector_cases

T0 = 1_700_000_000_000
DAY_MS = 86_400_000
NOW = T0 + DAY_MS
ALICE = SigningIdentity(bytes([0x61]) * 32)
SHOP = SigningIdentity(bytes([0x62]) * 32)
ALICE_LINK = LinkKey(bytes([0x71]) * 32)
SHOP_LINK = LinkKey(bytes([0x72]) * 32)
ALICE_CERT = LinkCert.issue(ALICE, ALICE_LINK.public, T0, T0 + 30 * DAY_MS)
SHOP_CERT = LinkCert.issue(SHOP, SHOP_LINK.public, T0, T0 + 30 * DAY_MS)
ALICE_EPHEMERAL = bytes([0x81]) * 32
SHOP_EPHEMERAL = bytes([0x82]) * 32


def _dialer(**overrides: Any) -> Session:
    args: dict[str, Any] = {
        "initiator": True,
        "link_key": ALICE_LINK,
        "link_cert": ALICE_CERT,
        "ephemeral_private": ALICE_EPHEMERAL,
        "expected_peer": SHOP.peer_id,
    }
    args.update(overrides)
    return Session(**args)


def _answerer(**overrides: Any) -> Session:
    args: dict[str, Any] = {
        "initiator": False,
        "link_key": SHOP_LINK,
        "link_cert": SHOP_CERT,
        "ephemeral_private": SHOP_EPHEMERAL,
    }
    args.update(overrides)
    return Session(**args)


def _handshake(dialer: Session, answerer: Session) -> list[bytes]:
    m1 = dialer.start()
    m2 = answerer.receive_handshake(m1, NOW)
    assert m2 is not None
    m3 = dialer.receive_handshake(m2, NOW)
    assert m3 is not None
    assert answerer.receive_handshake(m3, NOW) is None
    return [m1, m2, m3]


def _established() -> tuple[Session, Session]:
    dialer, answerer = _dialer(), _answerer()
    _handshake(dialer, answerer)
    return dialer, answerer


def _raw_dialer_to(answerer: Session) -> tuple[CipherState, CipherState]:
    """Complete a handshake with ``answerer`` from the bare Noise layer; return (send, receive).

    The bare ciphers let a test send frames an honest Session would never write.
    """
    noise = HandshakeState(
        initiator=True,
        prologue=PROLOGUE,
        static_private=ALICE_LINK.private,
        ephemeral_private=ALICE_EPHEMERAL,
    )
    m2 = answerer.receive_handshake(noise.write_message(b""), NOW)
    assert m2 is not None
    noise.read_message(m2)
    answerer.receive_handshake(noise.write_message(encode([1, ALICE_CERT.encoded, b""])), NOW)
    assert answerer.state is SessionState.ESTABLISHED
    return noise.split()


# -- the spec vectors ------------------------------------------------------------------------------


def _session(side: dict[str, Any], *, initiator: bool) -> Session:
    expected = side["expected_peer_hex"]
    link_key = LinkKey(bytes.fromhex(side["link_seed_hex"]))
    assert link_key.public.hex() == side["link_public_hex"]
    return Session(
        initiator=initiator,
        link_key=link_key,
        link_cert=LinkCert.decode(bytes.fromhex(side["link_cert_hex"])),
        ephemeral_private=bytes.fromhex(side["ephemeral_seed_hex"]),
        expected_peer=None if expected is None else PeerId(bytes.fromhex(expected)),
        extra=bytes.fromhex(side["extra_hex"]),
    )


def _check_positive(vector: dict[str, Any]) -> None:
    init_side, resp_side = vector["initiator"], vector["responder"]
    for side in (init_side, resp_side):
        identity = SigningIdentity(bytes.fromhex(side["identity_seed_hex"]))
        assert identity.peer_id.key.hex() == side["peer_id_hex"]
        cert = LinkCert.issue(
            identity,
            bytes.fromhex(side["link_public_hex"]),
            side["cert_not_before_ms"],
            side["cert_not_after_ms"],
        )
        assert cert.encoded.hex() == side["link_cert_hex"]
    dialer = _session(init_side, initiator=True)
    answerer = _session(resp_side, initiator=False)
    now = vector["now_ms"]
    expected = [bytes.fromhex(m) for m in vector["messages_hex"]]
    assert dialer.start() == expected[0]
    assert answerer.receive_handshake(expected[0], now) == expected[1]
    assert dialer.receive_handshake(expected[1], now) == expected[2]
    assert answerer.receive_handshake(expected[2], now) is None
    assert dialer.state is answerer.state is SessionState.ESTABLISHED
    assert dialer.handshake_hash.hex() == answerer.handshake_hash.hex()
    assert dialer.handshake_hash == unhex(vector, "handshake_hash_hex")
    assert dialer.peer is not None and answerer.peer is not None
    assert dialer.peer.key.hex() == resp_side["peer_id_hex"]
    assert answerer.peer.key.hex() == init_side["peer_id_hex"]
    assert dialer.peer_extra.hex() == resp_side["extra_hex"]
    assert answerer.peer_extra.hex() == init_side["extra_hex"]
    assert vector["payloads_hex"][0] == ""
    for index, side in ((1, resp_side), (2, init_side)):
        payload = encode(
            [1, bytes.fromhex(side["link_cert_hex"]), bytes.fromhex(side["extra_hex"])]
        )
        assert payload.hex() == vector["payloads_hex"][index]
    transport = vector["transport"]
    plaintext = bytes.fromhex(transport["plaintext_hex"])
    to_responder = bytes.fromhex(transport["initiator_to_responder_hex"])
    to_initiator = bytes.fromhex(transport["responder_to_initiator_hex"])
    assert dialer.encrypt(plaintext) == [to_responder]
    assert answerer.encrypt(plaintext) == [to_initiator]
    assert answerer.decrypt(to_responder) == plaintext
    assert dialer.decrypt(to_initiator) == plaintext


def _check_negative(vector: dict[str, Any]) -> None:
    receiver = vector["receiver"]
    initiator = receiver == "initiator"
    session = _session(vector[receiver], initiator=initiator)
    messages = [bytes.fromhex(m) for m in vector["messages_hex"]]
    now = vector["now_ms"]
    if initiator:
        assert session.start() == messages[0]
        incoming = messages[1::2]
        ours = messages[2::2]
    else:
        incoming = messages[0::2]
        ours = messages[1::2]
    with pytest.raises(AmityError) as excinfo:
        for index, message in enumerate(incoming):
            reply = session.receive_handshake(message, now)
            assert index < len(ours), "the last message was accepted"
            assert reply == ours[index]
    assert excinfo.value.code == vector["error"]
    assert session.state is SessionState.FAILED
    assert session.peer is None


@pytest.mark.parametrize("vector", **vector_cases("session"))
def test_session_vector(vector: dict[str, Any]) -> None:
    if "error" in vector:
        _check_negative(vector)
    else:
        _check_positive(vector)


# -- handshake rules -------------------------------------------------------------------------------


def test_handshake_proves_both_identities() -> None:
    dialer, answerer = _established()
    assert dialer.peer == SHOP.peer_id and answerer.peer == ALICE.peer_id
    assert dialer.peer_cert == SHOP_CERT and answerer.peer_cert == ALICE_CERT
    assert dialer.handshake_hash == answerer.handshake_hash != b""


def test_initiator_checks_the_responder_before_revealing_itself() -> None:
    # An unexpected responder gets no message 3, so it never sees Alice's identity.
    dialer = _dialer(expected_peer=ALICE.peer_id)
    m2 = _answerer().receive_handshake(dialer.start(), NOW)
    assert m2 is not None
    with pytest.raises(SessionIdentityError):
        dialer.receive_handshake(m2, NOW)
    with pytest.raises(StateError):
        dialer.receive_handshake(m2, NOW)


def test_certificate_is_checked_at_the_time_passed_in() -> None:
    dialer, answerer = _dialer(), _answerer()
    m2 = answerer.receive_handshake(dialer.start(), NOW)
    assert m2 is not None
    with pytest.raises(AmityError) as excinfo:
        dialer.receive_handshake(m2, SHOP_CERT.not_after_ms)
    assert excinfo.value.code == "cert.expired"


def test_peer_is_not_set_when_the_payload_fails_late() -> None:
    # Regression: the extra was checked after peer and peer_cert were set.
    answerer = _answerer()
    noise = HandshakeState(
        initiator=True,
        prologue=PROLOGUE,
        static_private=ALICE_LINK.private,
        ephemeral_private=ALICE_EPHEMERAL,
    )
    m2 = answerer.receive_handshake(noise.write_message(b""), NOW)
    assert m2 is not None
    noise.read_message(m2)
    m3 = noise.write_message(encode([1, ALICE_CERT.encoded, "not bin"]))
    with pytest.raises(AmityError):
        answerer.receive_handshake(m3, NOW)
    assert answerer.peer is None and answerer.peer_cert is None


def test_constructor_refuses_misuse() -> None:
    with pytest.raises(UsageError):
        _dialer(link_cert=SHOP_CERT)
    with pytest.raises(UsageError):
        _dialer(extra=bytes(MAX_EXTRA_BYTES + 1))
    _dialer(extra=bytes(MAX_EXTRA_BYTES))


def test_calls_out_of_turn_are_state_errors() -> None:
    dialer, answerer = _dialer(), _answerer()
    with pytest.raises(StateError):
        answerer.start()
    with pytest.raises(StateError):
        dialer.receive_handshake(bytes(32), NOW)
    with pytest.raises(StateError):
        dialer.encrypt(b"too early")
    with pytest.raises(StateError):
        answerer.decrypt(bytes(17))
    _handshake(dialer, answerer)
    with pytest.raises(StateError):
        dialer.start()
    for session in (dialer, answerer):
        with pytest.raises(StateError):
            session.receive_handshake(bytes(64), NOW)


# -- transport -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [
        0,
        1,
        FRAME_PAYLOAD_BYTES - 1,
        FRAME_PAYLOAD_BYTES,
        FRAME_PAYLOAD_BYTES + 1,
        2 * FRAME_PAYLOAD_BYTES,
        2 * FRAME_PAYLOAD_BYTES + 1,
        MAX_SESSION_MESSAGE_BYTES,
    ],
)
def test_fragmentation_at_the_boundaries(size: int) -> None:
    dialer, answerer = _established()
    message = bytes(i % 251 for i in range(size))
    frames = dialer.encrypt(message)
    assert len(frames) == max(1, -(-size // FRAME_PAYLOAD_BYTES))
    assert all(len(frame) <= MAX_MESSAGE_BYTES for frame in frames)
    assert all(len(frame) == MAX_MESSAGE_BYTES for frame in frames[:-1])
    results = [answerer.decrypt(frame) for frame in frames]
    assert results[:-1] == [None] * (len(frames) - 1)
    assert results[-1] == message
    # The reassembly buffer is empty again: the next message stands alone.
    (frame,) = dialer.encrypt(b"next")
    assert answerer.decrypt(frame) == b"next"


def test_the_largest_legal_link_messages_fit_one_session_message() -> None:
    """An envelope, a DEPOSIT and a MAIL of the largest legal size each fit (spec/session.md §1).

    If sealed mail grows (padding, a new header field), this fails before a node refuses to send.
    """
    largest = [
        encode_envelope_frame(bytes(MAX_ENVELOPE_BYTES)),
        encode_deposit(MAX_SEQ, bytes(MAX_SEALED_BYTES)),
        encode_mail(MAX_SEQ, bytes(MAX_SEALED_BYTES)),
    ]
    assert max(len(m) for m in largest) <= MAX_SESSION_MESSAGE_BYTES
    assert MAX_FRAME_BYTES == MAX_MESSAGE_BYTES == FRAME_PAYLOAD_BYTES + 17


def test_message_over_the_limit_is_a_local_error() -> None:
    dialer, answerer = _established()
    with pytest.raises(UsageError):
        dialer.encrypt(bytes(MAX_SESSION_MESSAGE_BYTES + 1))
    # A local error leaves the session usable.
    (frame,) = dialer.encrypt(b"still here")
    assert answerer.decrypt(frame) == b"still here"


def _full_more_frame(send: CipherState) -> bytes:
    return send.encrypt_with_ad(b"", b"\x01" + bytes(FRAME_PAYLOAD_BYTES))


def test_reassembly_is_bounded() -> None:
    answerer = _answerer()
    send, _ = _raw_dialer_to(answerer)
    full_frames = MAX_SESSION_MESSAGE_BYTES // FRAME_PAYLOAD_BYTES
    for _ in range(full_frames):
        assert answerer.decrypt(_full_more_frame(send)) is None
    with pytest.raises(TooLargeError):
        answerer.decrypt(_full_more_frame(send))
    assert answerer.state is SessionState.FAILED


def test_final_fragment_over_the_limit_is_refused() -> None:
    answerer = _answerer()
    send, _ = _raw_dialer_to(answerer)
    full_frames = MAX_SESSION_MESSAGE_BYTES // FRAME_PAYLOAD_BYTES
    for _ in range(full_frames):
        answerer.decrypt(_full_more_frame(send))
    rest = MAX_SESSION_MESSAGE_BYTES - full_frames * FRAME_PAYLOAD_BYTES
    with pytest.raises(TooLargeError):
        answerer.decrypt(send.encrypt_with_ad(b"", b"\x00" + bytes(rest + 1)))


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"\x02hello", b"\xffx", b"\x01", b"\x01short", b"\x01" + bytes(FRAME_PAYLOAD_BYTES - 1)],
    ids=["empty", "flag-2", "flag-255", "empty-more", "short-more", "one-short-more"],
)
def test_bad_fragments_are_refused(plaintext: bytes) -> None:
    # Non-final fragments must be full: otherwise empty "more" frames would grow the buffer
    # without bound while adding no bytes.
    answerer = _answerer()
    send, _ = _raw_dialer_to(answerer)
    with pytest.raises(SessionPayloadError):
        answerer.decrypt(send.encrypt_with_ad(b"", plaintext))
    assert answerer.state is SessionState.FAILED


def test_failed_decrypt_ends_the_session() -> None:
    dialer, answerer = _established()
    first, second = dialer.encrypt(b"one")[0], dialer.encrypt(b"two")[0]
    with pytest.raises(NoiseDecryptError):
        answerer.decrypt(second)  # out of order
    assert answerer.state is SessionState.FAILED
    with pytest.raises(StateError):
        answerer.decrypt(first)
    with pytest.raises(StateError):
        answerer.encrypt(b"reply")


def test_failed_handshake_ends_the_session() -> None:
    dialer, answerer = _dialer(), _answerer()
    m1 = dialer.start()
    with pytest.raises(AmityError):
        answerer.receive_handshake(m1[:-1], NOW)
    assert answerer.state is SessionState.FAILED
    for call in (
        lambda: answerer.receive_handshake(m1, NOW),
        lambda: answerer.encrypt(b"x"),
        lambda: answerer.decrypt(bytes(17)),
    ):
        with pytest.raises(StateError):
            call()


# -- arbitrary input -------------------------------------------------------------------------------


def _at_stage(stage: int) -> tuple[Session, bytes]:
    """A session about to read handshake message ``stage`` (0-based) and that message."""
    dialer, answerer = _dialer(), _answerer()
    m1 = dialer.start()
    if stage == 0:
        return answerer, m1
    m2 = answerer.receive_handshake(m1, NOW)
    assert m2 is not None
    if stage == 1:
        return dialer, m2
    m3 = dialer.receive_handshake(m2, NOW)
    assert m3 is not None
    return answerer, m3


@pytest.mark.parametrize("stage", range(3))
@settings(max_examples=40, deadline=None)
@given(data=arbitrary_bytes(300))
def test_receive_handshake_arbitrary_bytes(stage: int, data: bytes) -> None:
    session, _ = _at_stage(stage)
    try:
        session.receive_handshake(data, NOW)
    except AmityError:
        assert session.state is SessionState.FAILED


@pytest.mark.parametrize("stage", range(3))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_receive_handshake_mutated_message(stage: int, data: st.DataObject) -> None:
    session, message = _at_stage(stage)
    changed = data.draw(mutated(st.just(message)))
    try:
        session.receive_handshake(changed, NOW)
    except AmityError:
        assert session.state is SessionState.FAILED


@settings(max_examples=60, deadline=None)
@given(
    payload=arbitrary_bytes(400)
    | encoded_values()
    | st.builds(
        lambda cert, extra: encode([1, cert, extra]),
        st.sampled_from([ALICE_CERT.encoded, SHOP_CERT.encoded]) | st.binary(max_size=200),
        st.binary(max_size=64),
    )
)
def test_authenticated_arbitrary_payload_raises_only_amity_errors(payload: bytes) -> None:
    # The Noise layer is valid; only the payload inside is arbitrary.
    answerer = _answerer()
    noise = HandshakeState(
        initiator=True,
        prologue=PROLOGUE,
        static_private=ALICE_LINK.private,
        ephemeral_private=ALICE_EPHEMERAL,
    )
    m2 = answerer.receive_handshake(noise.write_message(b""), NOW)
    assert m2 is not None
    noise.read_message(m2)
    try:
        answerer.receive_handshake(noise.write_message(payload), NOW)
    except AmityError:
        assert answerer.state is SessionState.FAILED
        assert answerer.peer is None
    else:
        assert answerer.peer == ALICE.peer_id


@settings(max_examples=100, deadline=None)
@given(frame=arbitrary_bytes(200))
def test_decrypt_arbitrary_bytes(frame: bytes) -> None:
    _, answerer = _established()
    with pytest.raises(AmityError):
        answerer.decrypt(frame)
    assert answerer.state is SessionState.FAILED


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=200))
def test_authenticated_arbitrary_frames_raise_only_amity_errors(plaintext: bytes) -> None:
    answerer = _answerer()
    send, _ = _raw_dialer_to(answerer)
    try:
        result = answerer.decrypt(send.encrypt_with_ad(b"", plaintext))
    except AmityError:
        assert answerer.state is SessionState.FAILED
    else:
        assert result == plaintext[1:]


def test_decrypt_refuses_every_changed_byte() -> None:
    dialer, _ = _established()
    (frame,) = dialer.encrypt(b"a message worth tampering with")
    for _index, _mask, tampered in each_byte_tampered(frame):
        _, answerer = _established()
        with pytest.raises(NoiseDecryptError):
            answerer.decrypt(tampered)
        assert answerer.state is SessionState.FAILED


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_decrypt_mutated_frame_raises_only_amity_errors(data: st.DataObject) -> None:
    dialer, answerer = _established()
    (frame,) = dialer.encrypt(b"a message worth tampering with")
    changed = data.draw(mutated(st.just(frame)))
    try:
        assert answerer.decrypt(changed) == b"a message worth tampering with"
    except AmityError:
        assert answerer.state is SessionState.FAILED
