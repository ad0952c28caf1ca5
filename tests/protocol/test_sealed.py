"""Sealed mail against spec/vectors/sealed.json, plain libsodium, tampering and arbitrary input."""

from __future__ import annotations

import contextlib
from typing import Any

import nacl.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.encoding import Value, encode
from amity.protocol.envelope import MAX_BODY_BYTES, MAX_ENVELOPE_BYTES, MAX_SEQ, sign_envelope
from amity.protocol.errors import AmityError, SealDecryptError, SealPaddingError, UsageError
from amity.protocol.frames import (
    decode_deposit,
    decode_mail,
    encode_deposit,
    encode_mail,
    split_frame,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkKey
from amity.protocol.sealed import (
    MAX_BOX_BYTES,
    MAX_SEALED_BYTES,
    PADDING_BUCKETS,
    SEAL_OVERHEAD_BYTES,
    SEALED_VERSION,
    open_sealed,
    pad,
    peek_sealed,
    seal,
    unpad,
)
from amity.protocol.session import MAX_SESSION_MESSAGE_BYTES
from amity.protocol.ticket import issue_ticket
from tests.vectors import unhex, vector_cases

ALICE = SigningIdentity(bytes.fromhex("a1" * 32))
BOB = SigningIdentity(bytes.fromhex("b0" * 32))
BOB_LINK = LinkKey(bytes.fromhex("b1" * 32))
EPHEMERAL = bytes.fromhex("e9" * 32)
TS_MS = 1_767_225_600_000
#: X25519 points of small order (and non-canonical encodings of them): a box "from" one of these
#: has an all-zero shared secret, which libsodium refuses.
LOW_ORDER_POINTS = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]


def _envelope(body: bytes = b"hello") -> bytes:
    return sign_envelope(
        ALICE,
        type="mail.note",
        recipient=BOB.peer_id,
        seq=1,
        ts_ms=TS_MS,
        nonce=bytes(16),
        body=body,
    )


ENVELOPE = _envelope()
VALID = seal(
    ENVELOPE, recipient=BOB.peer_id, link_public=BOB_LINK.public, ephemeral_private=EPHEMERAL
)


def _open(data: bytes) -> bytes:
    return open_sealed(data, recipient=BOB.peer_id, link_key=BOB_LINK).encoded


# -- vectors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", **vector_cases("sealed", error=False))
def test_sealing_vector(vector: dict[str, Any]) -> None:
    recipient = SigningIdentity(unhex(vector, "recipient_seed_hex")).peer_id
    link = LinkKey(unhex(vector, "link_seed_hex"))
    envelope = unhex(vector, "envelope_hex")
    assert recipient.key == unhex(vector, "recipient_peer_id_hex")
    assert link.public == unhex(vector, "link_public_hex")
    ephemeral = unhex(vector, "ephemeral_seed_hex")
    assert nacl.bindings.crypto_scalarmult_base(ephemeral) == unhex(vector, "ephemeral_public_hex")
    sealed = seal(
        envelope, recipient=recipient, link_public=link.public, ephemeral_private=ephemeral
    )
    assert sealed.hex() == vector["sealed_hex"]
    header = peek_sealed(sealed)
    assert (header.recipient, header.link_public) == (recipient, link.public)
    assert header.box.hex() == vector["box_hex"]
    assert header.box[:32].hex() == vector["ephemeral_public_hex"]
    # Interop: plain libsodium opens the box, with nothing from amity, to the padded envelope.
    padded = nacl.bindings.crypto_box_seal_open(header.box, link.public, link.private)
    assert padded == unhex(vector, "padded_hex") == pad(envelope)
    assert int.from_bytes(padded[:4], "big") == len(envelope) and padded[4:].startswith(envelope)
    opened = open_sealed(sealed, recipient=recipient, link_key=link)
    sender = SigningIdentity(unhex(vector, "sender_seed_hex")).peer_id
    assert (opened.sender, opened.type, opened.seq, opened.ts_ms, opened.body) == (
        sender,
        vector["type"],
        vector["seq"],
        vector["ts_ms"],
        unhex(vector, "body_hex"),
    )
    assert opened.encoded == envelope


@pytest.mark.parametrize("vector", **vector_cases("sealed", error=True))
def test_refusal_vector(vector: dict[str, Any]) -> None:
    types = vector.get("types")
    with pytest.raises(AmityError) as excinfo:
        open_sealed(
            unhex(vector, "sealed_hex"),
            recipient=PeerId(unhex(vector, "recipient_peer_id_hex")),
            link_key=LinkKey(unhex(vector, "link_seed_hex")),
            types=None if types is None else frozenset(types),
        )
    assert excinfo.value.code == vector["error"]


# -- interop and usage ---------------------------------------------------------------------------


def test_libsodium_box_opens_with_open_sealed() -> None:
    # The other direction: a box sealed by libsodium itself (its own random ephemeral key).
    box = nacl.bindings.crypto_box_seal(pad(ENVELOPE), BOB_LINK.public)
    sealed = encode([SEALED_VERSION, BOB.peer_id.key, BOB_LINK.public, box])
    assert _open(sealed) == ENVELOPE


def test_fresh_ephemeral_keys_give_unlinkable_boxes() -> None:
    other = seal(
        ENVELOPE, recipient=BOB.peer_id, link_public=BOB_LINK.public, ephemeral_private=bytes(32)
    )
    assert peek_sealed(other).box[:32] != peek_sealed(VALID).box[:32]
    assert _open(other) == _open(VALID) == ENVELOPE


def test_largest_envelope_fits_the_sealed_limits() -> None:
    envelope = sign_envelope(
        ALICE,
        type="a" * 64,
        recipient=BOB.peer_id,
        seq=MAX_SEQ,
        ts_ms=MAX_SEQ,
        nonce=bytes(16),
        body=bytes(MAX_BODY_BYTES),
    )
    sealed = seal(
        envelope, recipient=BOB.peer_id, link_public=BOB_LINK.public, ephemeral_private=EPHEMERAL
    )
    assert len(peek_sealed(sealed).box) == MAX_BOX_BYTES and len(sealed) <= MAX_SEALED_BYTES
    assert _open(sealed) == envelope
    # Padded to the top bucket, it still travels as one DEPOSIT (with the largest ticket) and
    # one MAIL within a session message (spec/link.md §1, spec/session.md).
    ticket = issue_ticket(BOB, sender=ALICE.peer_id, not_after_ms=2**64 - 1)
    deposit = encode_deposit(MAX_SEQ, sealed, ticket)
    assert decode_deposit(split_frame(deposit)[1]).sealed == sealed
    assert len(deposit) <= MAX_SESSION_MESSAGE_BYTES
    mail = encode_mail(MAX_SEQ, sealed)
    assert decode_mail(split_frame(mail)[1]).sealed == sealed
    assert len(mail) <= MAX_SESSION_MESSAGE_BYTES


def test_notes_of_different_lengths_in_one_bucket_seal_to_the_same_size() -> None:
    """A relay learns the bucket, not the length (spec/sealed.md §2.1)."""
    short, long = _envelope(b"ok"), _envelope(b"see you on Tuesday at the old mill, bring cake")
    assert len(short) < len(long)
    sealed = [
        seal(e, recipient=BOB.peer_id, link_public=BOB_LINK.public, ephemeral_private=EPHEMERAL)
        for e in (short, long)
    ]
    assert len(sealed[0]) == len(sealed[1])
    assert [_open(s) for s in sealed] == [short, long]
    # Every size a valid sealed mail can have is one of the buckets'.
    assert {len(peek_sealed(s).box) - SEAL_OVERHEAD_BYTES for s in sealed} <= set(PADDING_BUCKETS)


@pytest.mark.parametrize("size", [0, 1, 251, 252, 253, 1020, 131068, 131069, MAX_ENVELOPE_BYTES])
def test_padding_round_trips_at_the_bucket_edges(size: int) -> None:
    padded = pad(bytes(range(256)) * (size // 256) + bytes(size % 256))
    assert len(padded) == min(b for b in PADDING_BUCKETS if b >= size + 4)
    assert len(unpad(padded)) == size
    with pytest.raises(SealPaddingError):
        unpad(padded + bytes(1))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_unpad_takes_only_what_pad_makes(data: bytes) -> None:
    try:
        envelope = unpad(data)
    except SealPaddingError:
        return
    assert pad(envelope) == data


def test_box_longer_than_any_envelope_is_refused_unopened() -> None:
    sealed = encode([SEALED_VERSION, BOB.peer_id.key, BOB_LINK.public, bytes(MAX_BOX_BYTES + 1)])
    with pytest.raises(AmityError) as excinfo:
        peek_sealed(sealed)
    assert excinfo.value.code == "encoding.too_large"


@pytest.mark.parametrize(
    "changes",
    [
        {"link_public": bytes(31)},
        {"link_public": bytes(32)},  # low order: libsodium refuses the shared secret
        {"ephemeral_private": bytes(16)},
        {"envelope": bytes(MAX_ENVELOPE_BYTES + 1)},
    ],
    ids=["short-link-key", "zero-link-key", "short-ephemeral", "oversized-envelope"],
)
def test_seal_refuses_bad_arguments(changes: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "envelope": ENVELOPE,
        "recipient": BOB.peer_id,
        "link_public": BOB_LINK.public,
        "ephemeral_private": EPHEMERAL,
    }
    arguments |= changes
    envelope = arguments.pop("envelope")
    with pytest.raises(UsageError):
        seal(envelope, **arguments)


@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=lambda p: p.hex()[:8])
def test_low_order_ephemeral_key_is_refused(point: bytes) -> None:
    box = point + bytes(SEAL_OVERHEAD_BYTES - 32 + PADDING_BUCKETS[0])
    with pytest.raises(SealDecryptError):
        _open(encode([SEALED_VERSION, BOB.peer_id.key, BOB_LINK.public, box]))


# -- tampering -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_every_byte_tampered_is_refused(mask: int) -> None:
    for index in range(len(VALID)):
        tampered = bytearray(VALID)
        tampered[index] ^= mask
        with pytest.raises(AmityError):
            _open(bytes(tampered))


def test_every_truncation_is_refused() -> None:
    for end in range(len(VALID)):
        with pytest.raises(AmityError):
            _open(VALID[:end])


# -- properties ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_amity_errors(data: bytes) -> None:
    with pytest.raises(AmityError):
        peek_sealed(data)
    with pytest.raises(AmityError):
        _open(data)


@settings(max_examples=300, deadline=None)
@given(
    version=st.sampled_from([1, 1, 1, 2, True, b"\x01"]),
    recipient=st.sampled_from([BOB.peer_id.key, ALICE.peer_id.key, bytes(32), bytes(31)]),
    link=st.sampled_from([BOB_LINK.public, bytes(32), bytes(33)]),
    box=st.sampled_from([*LOW_ORDER_POINTS, bytes(range(32))]).flatmap(
        lambda epk: st.binary(max_size=200).map(lambda rest: epk + rest)
    )
    | st.binary(max_size=100),
)
def test_structured_input_raises_only_amity_errors(
    version: Value, recipient: bytes, link: bytes, box: bytes
) -> None:
    # Well-formed sealed mail around arbitrary boxes: header checks, then decryption failures.
    sealed = encode([version, recipient, link, box])
    with pytest.raises(AmityError):
        _open(sealed)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_sealed_mail_is_refused_or_unchanged(data: st.DataObject) -> None:
    mutated = bytearray(VALID)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="edits")):
        kind = data.draw(st.sampled_from(["set", "insert", "delete"]), label="kind")
        index = data.draw(st.integers(min_value=0, max_value=max(len(mutated) - 1, 0)))
        if kind == "set" and mutated:
            mutated[index] = data.draw(st.integers(min_value=0, max_value=255))
        elif kind == "insert":
            mutated[index:index] = data.draw(st.binary(min_size=1, max_size=3))
        elif mutated:
            del mutated[index]
    with contextlib.suppress(AmityError):
        peek_sealed(bytes(mutated))
    try:
        opened = _open(bytes(mutated))
    except AmityError:
        return
    assert bytes(mutated) == VALID and opened == ENVELOPE


@settings(max_examples=50, deadline=None)
@given(
    body=st.binary(max_size=2000),
    ephemeral=st.binary(min_size=32, max_size=32),
    link_seed=st.binary(min_size=32, max_size=32),
)
def test_seal_then_open_round_trip(body: bytes, ephemeral: bytes, link_seed: bytes) -> None:
    link = LinkKey(link_seed)
    envelope = _envelope(body)
    sealed = seal(
        envelope, recipient=BOB.peer_id, link_public=link.public, ephemeral_private=ephemeral
    )
    box = peek_sealed(sealed).box
    assert len(box) == len(pad(envelope)) + SEAL_OVERHEAD_BYTES
    assert nacl.bindings.crypto_box_seal_open(box, link.public, link.private) == pad(envelope)
    assert open_sealed(sealed, recipient=BOB.peer_id, link_key=link).body == body
