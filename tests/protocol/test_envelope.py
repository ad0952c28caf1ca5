"""Envelopes against spec/vectors/envelope.json, byte-by-byte tampering and arbitrary input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amity.protocol.encoding import Value, encode
from amity.protocol.envelope import (
    ENVELOPE_DOMAIN,
    MAX_BODY_BYTES,
    MAX_ENVELOPE_BYTES,
    MAX_SEQ,
    MAX_TYPE_BYTES,
    NONCE_BYTES,
    Envelope,
    _decode,
    _split_canonical,
    open_envelope,
    sign_envelope,
)
from amity.protocol.errors import AmityError, BadKeyError, UnsupportedVersionError, UsageError
from amity.protocol.identity import PeerId, SigningIdentity
from tests.strategies import mutated
from tests.vectors import unhex, vector_bytes, vector_cases

ALICE = SigningIdentity(bytes.fromhex("a1" * 32))
BOB = SigningIdentity(bytes.fromhex("b0" * 32))
CAROL = SigningIdentity(bytes.fromhex("ca" * 32))
TS_MS = 1_767_225_600_000


def _valid(body: bytes = b"a small body", recipient: PeerId = BOB.peer_id) -> bytes:
    return sign_envelope(
        ALICE,
        type="terms.offer",
        recipient=recipient,
        seq=7,
        ts_ms=TS_MS,
        nonce=bytes(range(NONCE_BYTES)),
        body=body,
    )


VALID = _valid()


# -- vectors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", **vector_cases("envelope", error=False))
def test_signing_vector(vector: dict[str, Any]) -> None:
    sender = SigningIdentity(unhex(vector, "sender_seed_hex"))
    recipient = PeerId(unhex(vector, "recipient_peer_id_hex"))
    assert sender.peer_id.key == unhex(vector, "sender_peer_id_hex")
    data = sign_envelope(
        sender,
        type=vector["type"],
        recipient=recipient,
        seq=vector["seq"],
        ts_ms=vector["ts_ms"],
        nonce=unhex(vector, "nonce_hex"),
        body=unhex(vector, "body_hex"),
    )
    assert data.hex() == vector["envelope_hex"]
    assert data == encode([unhex(vector, "signed_bytes_hex"), unhex(vector, "signature_hex")])
    envelope = open_envelope(data, recipient=recipient, types=vector.get("types"))
    assert envelope == Envelope(
        type=vector["type"],
        sender=sender.peer_id,
        recipient=recipient,
        seq=vector["seq"],
        ts_ms=vector["ts_ms"],
        nonce=unhex(vector, "nonce_hex"),
        body=unhex(vector, "body_hex"),
        encoded=data,
    )


@pytest.mark.parametrize("vector", **vector_cases("envelope", error=True))
def test_refusal_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as excinfo:
        open_envelope(
            vector_bytes(vector, "envelope"),
            recipient=PeerId(unhex(vector, "recipient_peer_id_hex")),
            types=vector.get("types"),
        )
    assert excinfo.value.code == vector["error"]


def test_limit_vectors_sit_at_the_limits() -> None:
    vectors = {v["name"]: v for v in vector_cases("envelope")["argvalues"]}
    big_body = vector_bytes(vectors["body-over-limit"], "envelope")
    assert MAX_BODY_BYTES < len(big_body) <= MAX_ENVELOPE_BYTES
    assert len(vector_bytes(vectors["envelope-over-limit"], "envelope")) > MAX_ENVELOPE_BYTES


def test_largest_envelope_fits_the_envelope_limit() -> None:
    # Every field at its maximum must still be inside MAX_ENVELOPE_BYTES.
    data = sign_envelope(
        ALICE,
        type="a" * MAX_TYPE_BYTES,
        recipient=BOB.peer_id,
        seq=MAX_SEQ,
        ts_ms=MAX_SEQ,
        nonce=bytes(NONCE_BYTES),
        body=bytes(MAX_BODY_BYTES),
    )
    assert len(data) <= MAX_ENVELOPE_BYTES
    assert open_envelope(data, recipient=BOB.peer_id).body == bytes(MAX_BODY_BYTES)


def test_unsupported_version_carries_its_hint() -> None:
    signed_bytes = encode([2])
    data = encode([signed_bytes, ALICE.sign(ENVELOPE_DOMAIN, signed_bytes)])
    with pytest.raises(UnsupportedVersionError) as excinfo:
        open_envelope(data, recipient=BOB.peer_id)
    assert excinfo.value.hint == "version.unsupported"


@pytest.mark.parametrize(
    "changes",
    [
        {"type": "Terms.Offer"},
        {"type": "a" * (MAX_TYPE_BYTES + 1)},
        {"type": ""},
        {"nonce": bytes(15)},
        {"body": bytes(MAX_BODY_BYTES + 1)},
        {"seq": 0},
        {"ts_ms": -1},
        {"seq": 1 << 64},
        {"seq": MAX_SEQ + 1},
        {"ts_ms": MAX_SEQ + 1},
    ],
    ids=repr,
)
def test_sign_envelope_refuses_what_open_envelope_would(changes: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "type": "terms.offer",
        "recipient": BOB.peer_id,
        "seq": 1,
        "ts_ms": TS_MS,
        "nonce": bytes(NONCE_BYTES),
        "body": b"",
    }
    with pytest.raises(UsageError):
        sign_envelope(ALICE, **(fields | changes))


# -- tampering -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_every_byte_tampered_is_refused(mask: int) -> None:
    for index in range(len(VALID)):
        tampered = bytearray(VALID)
        tampered[index] ^= mask
        with pytest.raises(AmityError):
            open_envelope(bytes(tampered), recipient=BOB.peer_id)


def test_every_truncation_and_extension_is_refused() -> None:
    for end in range(len(VALID)):
        with pytest.raises(AmityError):
            open_envelope(VALID[:end], recipient=BOB.peer_id)
    for extra in (b"\x00", b"\xc0", VALID):
        with pytest.raises(AmityError):
            open_envelope(VALID + extra, recipient=BOB.peer_id)


def test_a_known_sender_is_reused_only_when_it_signed_and_never_skips_a_check() -> None:
    known = PeerId(ALICE.peer_id.key)
    opened = open_envelope(VALID, recipient=BOB.peer_id, known_sender=known)
    assert opened.sender is known and opened == open_envelope(VALID, recipient=BOB.peer_id)
    stranger = PeerId(CAROL.peer_id.key)
    other = open_envelope(VALID, recipient=BOB.peer_id, known_sender=stranger)
    assert other.sender is not stranger and other.sender == ALICE.peer_id
    for index in range(len(VALID)):
        tampered = bytearray(VALID)
        tampered[index] ^= 0x01
        with pytest.raises(AmityError):
            open_envelope(bytes(tampered), recipient=BOB.peer_id, known_sender=known)


def test_signed_to_someone_else_is_refused_even_with_their_type() -> None:
    with pytest.raises(AmityError) as excinfo:
        open_envelope(_valid(recipient=CAROL.peer_id), recipient=BOB.peer_id, types={"terms.offer"})
    assert excinfo.value.code == "envelope.wrong_recipient"


# -- properties ----------------------------------------------------------------------------------

_type_names = st.from_regex(r"[a-z][a-z0-9_]{0,9}(\.[a-z][a-z0-9_]{0,9}){0,3}", fullmatch=True)
_values: st.SearchStrategy[Value] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=9),
    max_leaves=20,
)
_peer_keys = st.sampled_from([ALICE.peer_id.key, BOB.peer_id.key, CAROL.peer_id.key])
_valid_fields = st.tuples(
    st.just(1),
    _type_names | st.just("terms.offer"),
    st.just(ALICE.peer_id.key) | _peer_keys,
    st.just(BOB.peer_id.key) | _peer_keys,
    st.integers(min_value=1, max_value=(1 << 64) - 1),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
    st.binary(min_size=NONCE_BYTES, max_size=NONCE_BYTES),
    st.binary(max_size=64),
).map(list)


@st.composite
def _plausible_fields(draw: st.DrawFn) -> list[Value]:
    """Mostly valid envelope fields with none, one or two of them replaced by anything."""
    fields: list[Value] = draw(_valid_fields)
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        index = draw(st.integers(min_value=0, max_value=len(fields)))
        odd = draw(st.sampled_from([0, 2, True, -1, "", b"", bytes(15), bytes(32)]) | _values)
        if index == len(fields):
            fields.append(odd)  # one field too many
        else:
            fields[index] = odd
    return fields[: draw(st.sampled_from([8, 8, 8, 9, 7, 0]))]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_amity_errors(data: bytes) -> None:
    with pytest.raises(AmityError):
        open_envelope(data, recipient=BOB.peer_id)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_envelope_is_refused_or_unchanged(data: st.DataObject) -> None:
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
    try:
        envelope = open_envelope(bytes(mutated), recipient=BOB.peer_id)
    except AmityError:
        return
    assert bytes(mutated) == VALID and envelope.encoded == VALID


@settings(max_examples=300, deadline=None)
@given(_plausible_fields(), st.booleans(), st.sampled_from([None, ["terms.offer"], []]))
def test_structured_input_raises_only_amity_errors(
    fields: list[Value], sign: bool, types: list[str] | None
) -> None:
    # Validly signed (or not) envelopes of every plausible and implausible shape: whatever the
    # fields, open_envelope either returns an Envelope that matches them or raises AmityError.
    signed_bytes = encode(fields)
    signature = ALICE.sign(ENVELOPE_DOMAIN, signed_bytes) if sign else bytes(64)
    try:
        envelope = open_envelope(
            encode([signed_bytes, signature]), recipient=BOB.peer_id, types=types
        )
    except AmityError:
        return
    assert sign and fields[0] == 1 and fields[0] is not True
    assert [envelope.type, envelope.sender.key, envelope.recipient.key] == fields[1:4]
    assert [envelope.seq, envelope.ts_ms, envelope.nonce, envelope.body] == fields[4:]


@settings(max_examples=100, deadline=None)
@given(
    type_=_type_names,
    seq=st.integers(min_value=1, max_value=MAX_SEQ),
    ts_ms=st.integers(min_value=0, max_value=MAX_SEQ),
    nonce=st.binary(min_size=NONCE_BYTES, max_size=NONCE_BYTES),
    body=st.binary(max_size=600),
)
def test_sign_then_open_round_trip(
    type_: str, seq: int, ts_ms: int, nonce: bytes, body: bytes
) -> None:
    data = sign_envelope(
        ALICE, type=type_, recipient=BOB.peer_id, seq=seq, ts_ms=ts_ms, nonce=nonce, body=body
    )
    envelope = open_envelope(data, recipient=BOB.peer_id, types=[type_])
    assert (envelope.type, envelope.seq, envelope.ts_ms, envelope.nonce, envelope.body) == (
        type_,
        seq,
        ts_ms,
        nonce,
        body,
    )
    assert envelope.sender == ALICE.peer_id and envelope.encoded == data


# -- the canonical fast path against the generic decoder -----------------------------------------


def _agrees_with_the_generic_decoder(data: bytes) -> bool:
    """Whether the fast path read ``data``; it must read nothing the generic decoder refuses,
    and give the very fields it gives (a bad key is refused by PeerId on either path)."""
    fast = _split_canonical(data)
    try:
        signed_bytes, signature, envelope = _decode(data, BOB.peer_id, None)
    except BadKeyError:
        assert fast is None or not all(_is_key(key) for key in fast[3:5])
        return fast is not None
    except AmityError:
        assert fast is None
        return False
    if fast is None:
        return False
    assert fast == (
        signed_bytes,
        signature,
        envelope.type,
        envelope.sender.key,
        envelope.recipient.key,
        envelope.seq,
        envelope.ts_ms,
        envelope.nonce,
        envelope.body,
    )
    return True


def _is_key(key: bytes) -> bool:
    try:
        PeerId(key)
    except BadKeyError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    type_=_type_names | st.text("abc.", min_size=30, max_size=MAX_TYPE_BYTES),
    seq=st.sampled_from([1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, MAX_SEQ])
    | st.integers(min_value=1, max_value=MAX_SEQ),
    ts_ms=st.sampled_from([0, 127, 128, 2**32]) | st.integers(min_value=0, max_value=MAX_SEQ),
    body=st.binary(max_size=300) | st.binary(min_size=65530, max_size=65600),
)
def test_the_fast_path_reads_every_valid_envelope(
    type_: str, seq: int, ts_ms: int, body: bytes
) -> None:
    try:
        data = sign_envelope(
            ALICE,
            type=type_,
            recipient=BOB.peer_id,
            seq=seq,
            ts_ms=ts_ms,
            nonce=bytes(16),
            body=body,
        )
    except UsageError:  # a type name the pattern refuses
        return
    assert _agrees_with_the_generic_decoder(data)


@settings(max_examples=300, deadline=None)
@given(_plausible_fields(), st.booleans())
def test_the_fast_path_agrees_on_every_shape(fields: list[Value], sign: bool) -> None:
    signed_bytes = encode(fields)
    signature = ALICE.sign(ENVELOPE_DOMAIN, signed_bytes) if sign else bytes(64)
    _agrees_with_the_generic_decoder(encode([signed_bytes, signature]))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(st.just(VALID)) | st.binary(max_size=300))
def test_the_fast_path_agrees_on_mutated_bytes(data: bytes) -> None:
    _agrees_with_the_generic_decoder(data)


def _rewrap(signed_bytes: bytes) -> bytes:
    return encode([signed_bytes, ALICE.sign(ENVELOPE_DOMAIN, signed_bytes)])


_SIGNED = bytes(_split_canonical(VALID)[0])  # type: ignore[index]
_SEQ_AT = _SIGNED.index(bytes([0x07, 0xCF]))  # seq 7, then ts_ms as uint64


@pytest.mark.parametrize(
    "data",
    [
        _rewrap(_SIGNED[:_SEQ_AT] + b"\xcc\x07" + _SIGNED[_SEQ_AT + 1 :]),  # seq in 2 bytes
        _rewrap(_SIGNED[:_SEQ_AT] + b"\xcd\x00\x07" + _SIGNED[_SEQ_AT + 1 :]),
        _rewrap(_SIGNED.replace(b"\xabterms.offer", b"\xd9\x0bterms.offer")),  # str8 for 11
        _rewrap(_SIGNED[:-14] + b"\xc5\x00\x0c" + _SIGNED[-12:]),  # body's bin16 for 12 bytes
        b"\x92\xc5\x00" + bytes([len(_SIGNED)]) + _SIGNED + VALID[-66:],  # outer bin16
    ],
    ids=["seq-uint8", "seq-uint16", "type-str8", "body-bin16", "outer-bin16"],
)
def test_the_fast_path_leaves_longer_forms_to_the_generic_decoder(data: bytes) -> None:
    assert _split_canonical(data) is None
    with pytest.raises(AmityError) as excinfo:
        open_envelope(data, recipient=BOB.peer_id)
    assert excinfo.value.code == "encoding.non_canonical"
