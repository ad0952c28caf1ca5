"""Noise_XX_25519_ChaChaPoly_BLAKE2b against the official vectors, tampering and arbitrary input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.errors import (
    AmityError,
    NoiseDecryptError,
    NoiseMessageError,
    NoiseNonceExhaustedError,
    StateError,
    UsageError,
)
from amity.protocol.noise import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_NAME,
    CipherState,
    HandshakeState,
)

VECTOR_DIR = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "external" / "noise"
VECTOR_FILES = ("cacophony.txt", "snow.txt")
HANDSHAKE_MESSAGES = 3  # XX: -> e, <- e ee s es, -> s se


def _load_vectors() -> list[Any]:
    """Every vector for exactly our protocol (no PSK), with an id naming its file and index."""
    selected = []
    for filename in VECTOR_FILES:
        document = json.loads((VECTOR_DIR / filename).read_text(encoding="utf-8"))
        for index, vector in enumerate(document["vectors"]):
            if vector["protocol_name"] == PROTOCOL_NAME.decode():
                name = f"{Path(filename).stem}-{index}-{vector['protocol_name']}"
                selected.append(pytest.param(vector, id=name))
    return selected


VECTORS = _load_vectors()


def _public(private: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def test_vectors_were_selected() -> None:
    # An empty parameter list would only skip the replay test, so insist on every file here.
    ids = [param.id or "" for param in VECTORS]
    for filename in VECTOR_FILES:
        assert any(i.startswith(Path(filename).stem + "-") for i in ids), filename


@pytest.fixture(params=VECTORS)
def vector(request: pytest.FixtureRequest) -> dict[str, Any]:
    result: dict[str, Any] = request.param
    return result


def test_official_vector(vector: dict[str, Any]) -> None:
    assert not vector.get("init_psks") and not vector.get("resp_psks")
    assert "init_remote_static" not in vector and "resp_remote_static" not in vector
    init = HandshakeState(
        initiator=True,
        prologue=bytes.fromhex(vector["init_prologue"]),
        static_private=bytes.fromhex(vector["init_static"]),
        ephemeral_private=bytes.fromhex(vector["init_ephemeral"]),
    )
    resp = HandshakeState(
        initiator=False,
        prologue=bytes.fromhex(vector["resp_prologue"]),
        static_private=bytes.fromhex(vector["resp_static"]),
        ephemeral_private=bytes.fromhex(vector["resp_ephemeral"]),
    )
    messages = vector["messages"]
    assert len(messages) > HANDSHAKE_MESSAGES, "vector has no transport messages"

    for i, message in enumerate(messages[:HANDSHAKE_MESSAGES]):
        sender, receiver = (init, resp) if i % 2 == 0 else (resp, init)
        payload = bytes.fromhex(message["payload"])
        ciphertext = sender.write_message(payload)
        assert ciphertext.hex() == message["ciphertext"], f"handshake message {i}"
        assert receiver.read_message(ciphertext) == payload
    assert init.handshake_complete and resp.handshake_complete
    assert init.handshake_hash == resp.handshake_hash
    if "handshake_hash" in vector:
        assert init.handshake_hash.hex() == vector["handshake_hash"]
    assert init.remote_static == _public(bytes.fromhex(vector["resp_static"]))
    assert resp.remote_static == _public(bytes.fromhex(vector["init_static"]))

    init_send, init_receive = init.split()
    resp_send, resp_receive = resp.split()
    for i, message in enumerate(messages[HANDSHAKE_MESSAGES:], start=HANDSHAKE_MESSAGES):
        send, receive = (init_send, resp_receive) if i % 2 == 0 else (resp_send, init_receive)
        payload = bytes.fromhex(message["payload"])
        ciphertext = send.encrypt_with_ad(b"", payload)
        assert ciphertext.hex() == message["ciphertext"], f"transport message {i}"
        assert receive.decrypt_with_ad(b"", ciphertext) == payload


# -- handshakes between our own states -------------------------------------------------------------

KEYS = {name: bytes([n]) * 32 for n, name in enumerate(("is", "ie", "rs", "re"), start=1)}


def _pair(
    keys: dict[str, bytes] = KEYS, prologue: bytes = b"amity", resp_prologue: bytes | None = None
) -> tuple[HandshakeState, HandshakeState]:
    init = HandshakeState(
        initiator=True, prologue=prologue, static_private=keys["is"], ephemeral_private=keys["ie"]
    )
    resp = HandshakeState(
        initiator=False,
        prologue=prologue if resp_prologue is None else resp_prologue,
        static_private=keys["rs"],
        ephemeral_private=keys["re"],
    )
    return init, resp


def _advance(init: HandshakeState, resp: HandshakeState, count: int) -> None:
    for i in range(count):
        sender, receiver = (init, resp) if i % 2 == 0 else (resp, init)
        receiver.read_message(sender.write_message(b"payload %d" % i))


def _reader_at(stage: int) -> HandshakeState:
    """The state whose turn it is to read handshake message ``stage`` (0-based)."""
    init, resp = _pair()
    _advance(init, resp, stage)
    writer, reader = (init, resp) if stage % 2 == 0 else (resp, init)
    writer.write_message(b"")
    return reader


@given(
    keys=st.fixed_dictionaries({k: st.binary(min_size=32, max_size=32) for k in KEYS}),
    prologue=st.binary(max_size=64),
    payloads=st.lists(st.binary(max_size=64), min_size=5, max_size=5),
)
def test_fresh_handshake_agrees_and_carries_traffic(
    keys: dict[str, bytes], prologue: bytes, payloads: list[bytes]
) -> None:
    init, resp = _pair(keys, prologue)
    for i in range(HANDSHAKE_MESSAGES):
        sender, receiver = (init, resp) if i % 2 == 0 else (resp, init)
        assert receiver.read_message(sender.write_message(payloads[i])) == payloads[i]
    assert init.handshake_complete and resp.handshake_complete
    assert init.handshake_hash == resp.handshake_hash
    assert init.remote_static == _public(keys["rs"])
    assert resp.remote_static == _public(keys["is"])
    init_send, init_receive = init.split()
    resp_send, resp_receive = resp.split()
    assert (
        resp_receive.decrypt_with_ad(b"ad", init_send.encrypt_with_ad(b"ad", payloads[3]))
        == (payloads[3])
    )
    assert (
        init_receive.decrypt_with_ad(b"", resp_send.encrypt_with_ad(b"", payloads[4]))
        == (payloads[4])
    )
    assert init_send.n == resp_receive.n == 1


def _tamper_and_run(message_index: int, position: int) -> int:
    """Flip one bit of one handshake message; return the index of the message that was refused."""
    init, resp = _pair()
    for i in range(HANDSHAKE_MESSAGES):
        sender, receiver = (init, resp) if i % 2 == 0 else (resp, init)
        message = sender.write_message(b"payload %d" % i)
        if i == message_index:
            tampered = bytearray(message)
            tampered[position] ^= 1 << (position % 8)
            message = bytes(tampered)
        try:
            receiver.read_message(message)
        except (NoiseDecryptError, NoiseMessageError):
            with pytest.raises(StateError):
                receiver.read_message(message)
            assert receiver.remote_static is None
            return i
    pytest.fail(f"bit {position} of message {message_index} was flipped and nobody noticed")


@pytest.mark.parametrize("message_index", range(HANDSHAKE_MESSAGES))
def test_any_flipped_bit_is_refused(message_index: int) -> None:
    init, resp = _pair()
    _advance(init, resp, message_index)
    writer = init if message_index % 2 == 0 else resp
    length = len(writer.write_message(b"payload %d" % message_index))
    for position in range(length):
        refused_at = _tamper_and_run(message_index, position)
        # Message 1 has no key yet: its tampering shows when the peer's reply fails to decrypt.
        assert refused_at == max(message_index, 1)


def test_flipping_the_masked_top_bit_of_e_is_still_refused() -> None:
    # X25519 ignores bit 255, so the DH is unchanged: only the handshake hash catches this.
    init, resp = _pair()
    message = bytearray(init.write_message(b""))
    message[31] ^= 0x80
    resp.read_message(bytes(message))
    with pytest.raises(NoiseDecryptError):
        init.read_message(resp.write_message(b""))


@pytest.mark.parametrize(
    "low_order_point",
    [
        "00" * 32,
        "01" + "00" * 31,
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "ec" + "ff" * 30 + "7f",
    ],
)
def test_low_order_ephemeral_is_refused(low_order_point: str) -> None:
    _init, resp = _pair()
    with pytest.raises(NoiseMessageError, match="low-order"):
        resp.read_message(bytes.fromhex(low_order_point))


@pytest.mark.parametrize("stage", range(HANDSHAKE_MESSAGES))
def test_truncated_handshake_message_is_refused(stage: int) -> None:
    init, resp = _pair()
    _advance(init, resp, stage)
    writer, _ = (init, resp) if stage % 2 == 0 else (resp, init)
    minimum = len(writer.write_message(b""))
    for length in range(minimum):
        with pytest.raises(NoiseMessageError):
            _reader_at(stage).read_message(bytes(length))


def test_mismatched_prologue_is_refused() -> None:
    init, resp = _pair(prologue=b"one", resp_prologue=b"other")
    resp.read_message(init.write_message(b""))
    with pytest.raises(NoiseDecryptError):
        init.read_message(resp.write_message(b""))


def test_size_limits() -> None:
    init, resp = _pair()
    with pytest.raises(UsageError):
        init.write_message(bytes(MAX_MESSAGE_BYTES - 32 + 1))
    largest = init.write_message(bytes(MAX_MESSAGE_BYTES - 32))
    assert len(largest) == MAX_MESSAGE_BYTES
    with pytest.raises(NoiseMessageError):
        resp.read_message(largest + b"\x00")
    with pytest.raises(NoiseMessageError):
        CipherState(bytes(32)).decrypt_with_ad(b"", bytes(MAX_MESSAGE_BYTES + 1))
    with pytest.raises(UsageError):
        CipherState(bytes(32)).encrypt_with_ad(b"", bytes(MAX_MESSAGE_BYTES - 15))


def test_out_of_turn_is_a_state_error() -> None:
    init, resp = _pair()
    with pytest.raises(StateError):
        init.read_message(bytes(32))
    with pytest.raises(StateError):
        resp.write_message(b"")
    with pytest.raises(StateError):
        init.split()
    _advance(init, resp, HANDSHAKE_MESSAGES)
    for state in (init, resp):
        with pytest.raises(StateError):
            state.write_message(b"")
        with pytest.raises(StateError):
            state.read_message(bytes(64))
        state.split()
        with pytest.raises(StateError):
            state.split()


def test_bad_key_sizes_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        HandshakeState(
            initiator=True, prologue=b"", static_private=bytes(31), ephemeral_private=bytes(32)
        )
    with pytest.raises(UsageError):
        CipherState(bytes(16))


def test_cipher_state_without_key_passes_through() -> None:
    cipher = CipherState()
    assert not cipher.has_key()
    assert cipher.encrypt_with_ad(b"ad", b"clear") == b"clear"
    assert cipher.decrypt_with_ad(b"ad", b"clear") == b"clear"
    assert cipher.n == 0


def test_failed_decrypt_keeps_the_nonce() -> None:
    send, receive = CipherState(bytes(32)), CipherState(bytes(32))
    ciphertext = send.encrypt_with_ad(b"", b"hello")
    with pytest.raises(NoiseDecryptError):
        receive.decrypt_with_ad(b"other ad", ciphertext)
    assert receive.n == 0
    assert receive.decrypt_with_ad(b"", ciphertext) == b"hello"
    assert receive.n == 1


def test_last_nonce_is_reserved() -> None:
    send, receive = CipherState(bytes(32)), CipherState(bytes(32))
    # No public setter exists (none is needed outside tests), so reach 2**64-2 directly.
    send._n = receive._n = 2**64 - 2
    assert receive.decrypt_with_ad(b"", send.encrypt_with_ad(b"", b"last")) == b"last"
    assert send.n == 2**64 - 1
    with pytest.raises(NoiseNonceExhaustedError):
        send.encrypt_with_ad(b"", b"one too many")
    with pytest.raises(NoiseNonceExhaustedError):
        receive.decrypt_with_ad(b"", bytes(32))


# -- arbitrary input -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", range(HANDSHAKE_MESSAGES))
@given(data=st.binary(max_size=256))
def test_read_message_raises_only_amity_errors(stage: int, data: bytes) -> None:
    reader = _reader_at(stage)
    try:
        reader.read_message(data)
    except AmityError as error:
        assert isinstance(error, NoiseDecryptError | NoiseMessageError)


@given(ad=st.binary(max_size=32), data=st.binary(max_size=256))
def test_decrypt_raises_only_amity_errors(ad: bytes, data: bytes) -> None:
    try:
        CipherState(bytes(32)).decrypt_with_ad(ad, data)
    except AmityError as error:
        assert isinstance(error, NoiseDecryptError)
