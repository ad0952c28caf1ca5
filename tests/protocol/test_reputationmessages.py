"""The reputation.* bodies against spec/vectors/reputation_messages.json, their limits and fuzzing."""

from __future__ import annotations

import contextlib
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.attestation import (
    MAX_ATTESTATION_BYTES,
    MAX_REBUTTAL_BYTES,
    Attestation,
    Rebuttal,
)
from amity.protocol.envelope import MAX_BODY_BYTES
from amity.protocol.errors import (
    AmityError,
    AttestationExpiredError,
    AttestationSignatureError,
    RebuttalMismatchError,
    SchemaError,
    TooLargeError,
    UnsupportedVersionError,
    UsageError,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.reputationmessages import (
    MAX_HOPS,
    MAX_ITEMS,
    MAX_REBUTTALS,
    QUERY_ID_BYTES,
    RawItem,
    Share,
    decode_query,
    decode_rebut,
    decode_share,
    encode_query,
    encode_rebut,
    encode_share,
    pack_items,
    read_item,
)
from tests.strategies import arbitrary_bytes, mutated, peer_ids
from tests.vectors import load_vector_file, unhex, vector_cases

FILE = load_vector_file("reputation_messages")
IDS = {n: SigningIdentity(bytes.fromhex(i["seed_hex"])) for n, i in FILE["identities"].items()}
NAME_OF = {i.peer_id: n for n, i in IDS.items()}
BY_NAME = {v["name"]: v for v in FILE["vectors"]}
SHARE = BY_NAME["share-unasked-with-rebuttal"]
ATTESTATION = unhex(SHARE["items"][0], "attestation_hex")
REBUTTAL = bytes.fromhex(SHARE["items"][0]["rebuttals_hex"][0])
BOB_ATTESTATION = unhex(BY_NAME["share-answer"]["items"][1], "attestation_hex")
NOW = SHARE["now_ms"]
QUERY_ID = bytes(range(0x30, 0x40))


def _cases(operation: str) -> dict[str, Any]:
    cases = vector_cases("reputation_messages")
    keep = [i for i, v in enumerate(cases["argvalues"]) if v["operation"] == operation]
    return {
        "argvalues": [cases["argvalues"][i] for i in keep],
        "ids": [cases["ids"][i] for i in keep],
    }


def _pack(value: Any) -> bytes:
    return bytes(msgpack.packb(value, use_bin_type=True))


def _read_all(body: bytes, now_ms: int) -> None:
    for item in decode_share(body).items:
        read_item(item, now_ms)


def _code(call: Any) -> str:
    with pytest.raises(AmityError) as info:
        call()
    return info.value.code


# -- vectors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", **_cases("share"))
def test_share_vector(vector: dict[str, Any]) -> None:
    body = unhex(vector, "body_hex")
    if "error" in vector:
        assert _code(lambda: _read_all(body, vector["now_ms"])) == vector["error"]
        return
    share = decode_share(body)
    query_id = vector["query_id_hex"]
    assert share.query_id == (None if query_id is None else bytes.fromhex(query_id))
    expected = [
        RawItem(
            unhex(item, "attestation_hex"),
            item["hops"],
            tuple(bytes.fromhex(r) for r in item["rebuttals_hex"]),
        )
        for item in vector["items"]
    ]
    assert list(share.items) == expected
    assert encode_share(expected, share.query_id) == body
    for raw, item in zip(share.items, vector["items"], strict=True):
        read = read_item(raw, vector["now_ms"])
        assert read.attestation.attestation_id.hex() == item["attestation_id_hex"]
        assert NAME_OF[read.attestation.attester] == item["attester"]
        assert NAME_OF[read.attestation.subject] == item["subject"]
        assert read.hops == item["hops"]
        assert [NAME_OF[r.rebutter] for r in read.rebuttals] == item["rebutters"]
        assert all(r.attestation_id == read.attestation.attestation_id for r in read.rebuttals)


@pytest.mark.parametrize("vector", **_cases("query"))
def test_query_vector(vector: dict[str, Any]) -> None:
    body = unhex(vector, "body_hex")
    if "error" in vector:
        assert _code(lambda: decode_query(body)) == vector["error"]
        return
    query_id, subject = decode_query(body)
    assert query_id.hex() == vector["query_id_hex"]
    assert NAME_OF[subject] == vector["subject"]
    assert encode_query(query_id, subject) == body


@pytest.mark.parametrize("vector", **_cases("rebut"))
def test_rebut_vector(vector: dict[str, Any]) -> None:
    body = unhex(vector, "body_hex")
    if "error" in vector:
        assert _code(lambda: decode_rebut(body, vector["now_ms"])) == vector["error"]
        return
    attestation, rebuttal = decode_rebut(body, vector["now_ms"])
    assert attestation.encoded.hex() == vector["attestation_hex"]
    assert rebuttal.encoded.hex() == vector["rebuttal_hex"]
    assert attestation.attestation_id.hex() == vector["attestation_id_hex"]
    assert rebuttal.attestation_id == attestation.attestation_id
    assert NAME_OF[rebuttal.rebutter] == vector["rebutter"]
    assert rebuttal.text == vector["text"]
    assert encode_rebut(attestation.encoded, rebuttal.encoded) == body


# -- round trips -----------------------------------------------------------------------------------

_raw_items = st.builds(
    RawItem,
    st.binary(max_size=300),
    st.integers(0, MAX_HOPS),
    st.lists(st.binary(max_size=120), max_size=MAX_REBUTTALS).map(tuple),
)
_query_ids = st.binary(min_size=QUERY_ID_BYTES, max_size=QUERY_ID_BYTES)


@settings(max_examples=100)
@given(st.lists(_raw_items, max_size=MAX_ITEMS), st.none() | _query_ids)
def test_share_round_trip(items: list[RawItem], query_id: bytes | None) -> None:
    assert decode_share(encode_share(items, query_id)) == Share(query_id, tuple(items))


@given(_query_ids, peer_ids())
def test_query_round_trip(query_id: bytes, subject: PeerId) -> None:
    assert decode_query(encode_query(query_id, subject)) == (query_id, subject)


def test_rebut_round_trip() -> None:
    attestation, rebuttal = decode_rebut(encode_rebut(ATTESTATION, REBUTTAL))
    assert attestation == Attestation.decode(ATTESTATION)
    assert rebuttal == Rebuttal.decode(REBUTTAL, attestation)
    assert rebuttal.rebutter == attestation.subject


# -- read_item and decode_rebut verify -------------------------------------------------------------


def test_read_item_verifies_the_attestation_and_its_rebuttals() -> None:
    item = read_item(RawItem(ATTESTATION, 3, (REBUTTAL, REBUTTAL)), NOW)
    assert item.attestation == Attestation.decode(ATTESTATION)
    assert item.hops == 3
    assert item.rebuttals == (Rebuttal.decode(REBUTTAL),) * 2


def _rebuttal_of_bobs_attestation() -> bytes:
    bobs = Attestation.decode(BOB_ATTESTATION)
    return Rebuttal.issue(IDS["vendor"], bobs, text="Deleted in time.", issued_ms=NOW).encoded


def test_read_item_refuses_a_rebuttal_of_another_attestation() -> None:
    # Signed by the same subject (the vendor), but it answers Bob's attestation, not the person's.
    other = _rebuttal_of_bobs_attestation()
    assert read_item(RawItem(BOB_ATTESTATION, 0, (other,)), NOW).rebuttals
    with pytest.raises(RebuttalMismatchError):
        read_item(RawItem(ATTESTATION, 0, (REBUTTAL, other)), NOW)


def test_read_item_refuses_an_expired_attestation() -> None:
    expires_ms = Attestation.decode(ATTESTATION).expires_ms
    assert read_item(RawItem(ATTESTATION, 0, ()), expires_ms - 1).hops == 0
    with pytest.raises(AttestationExpiredError):
        read_item(RawItem(ATTESTATION, 0, ()), expires_ms)


def test_read_item_refuses_a_forged_attestation() -> None:
    forged = bytearray(ATTESTATION)
    forged[-1] ^= 0x01  # the last byte of the attester's signature
    with pytest.raises(AttestationSignatureError):
        read_item(RawItem(bytes(forged), 0, ()), NOW)


def test_decode_rebut_checks_the_attestation_and_the_rebuttal() -> None:
    other = _rebuttal_of_bobs_attestation()
    assert decode_rebut(encode_rebut(BOB_ATTESTATION, other))[1].text == "Deleted in time."
    with pytest.raises(RebuttalMismatchError):
        decode_rebut(encode_rebut(ATTESTATION, other))
    expires_ms = Attestation.decode(ATTESTATION).expires_ms
    body = encode_rebut(ATTESTATION, REBUTTAL)
    assert decode_rebut(body, expires_ms - 1)[0].expires_ms == expires_ms
    with pytest.raises(AttestationExpiredError):
        decode_rebut(body, expires_ms)
    forged = bytearray(ATTESTATION)
    forged[-1] ^= 0x01
    with pytest.raises(AttestationSignatureError):
        decode_rebut(encode_rebut(bytes(forged), REBUTTAL))
    for bad, error in [
        (_pack([2, ATTESTATION, REBUTTAL]), UnsupportedVersionError),
        (_pack([1, ATTESTATION]), SchemaError),
        (_pack([1, ATTESTATION, REBUTTAL, b""]), SchemaError),
        (_pack([1, "attestation", REBUTTAL]), SchemaError),
        (_pack([1, bytes(MAX_ATTESTATION_BYTES + 1), REBUTTAL]), TooLargeError),
        (_pack([1, ATTESTATION, bytes(MAX_REBUTTAL_BYTES + 1)]), TooLargeError),
    ]:
        with pytest.raises(error):
            decode_rebut(bad)


def test_encode_rebut_takes_bytes() -> None:
    with pytest.raises(UsageError):
        encode_rebut(Attestation.decode(ATTESTATION), REBUTTAL)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        encode_rebut(ATTESTATION, None)  # type: ignore[arg-type]


# -- pack_items ------------------------------------------------------------------------------------


def _item_bytes(item: RawItem) -> int:
    return len(_pack([item.attestation, item.hops, list(item.rebuttals)]))


def _check_batches(items: list[RawItem], batches: list[list[RawItem]]) -> None:
    assert [item for batch in batches for item in batch] == items
    assert all(batches)
    for k, batch in enumerate(batches):
        assert len(batch) <= MAX_ITEMS
        body = encode_share(batch, QUERY_ID)  # raises if the batch does not fit one body
        assert len(body) <= MAX_BODY_BYTES
        if k + 1 < len(batches):
            # Not closed early: the next item would not have fitted with room to spare.
            following = batches[k + 1][0]
            assert len(batch) == MAX_ITEMS or (
                len(body) + _item_bytes(following) > MAX_BODY_BYTES - 64
            )


_sized_items = st.builds(
    lambda size, hops, rebuttals: RawItem(bytes(size), hops, tuple(bytes(n) for n in rebuttals)),
    st.integers(0, MAX_ATTESTATION_BYTES),
    st.integers(0, MAX_HOPS),
    st.lists(st.integers(0, MAX_REBUTTAL_BYTES), max_size=MAX_REBUTTALS),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_sized_items, max_size=150))
def test_pack_items_fills_bodies_that_fit_and_keeps_order(items: list[RawItem]) -> None:
    _check_batches(items, pack_items(items))


@pytest.mark.parametrize(
    ("attestation_bytes", "rebuttal_bytes", "count"),
    [
        (0, 0, 130),  # tiny: only the item count limits a batch
        (3055, 256, 64),  # each bin over 255 bytes takes a 3-byte header: 18 bytes per item
        (MAX_ATTESTATION_BYTES, MAX_REBUTTAL_BYTES, 40),  # the largest items there are
    ],
)
def test_pack_items_at_the_size_limits(
    attestation_bytes: int, rebuttal_bytes: int, count: int
) -> None:
    items = [
        RawItem(bytes([k]) * attestation_bytes, k % (MAX_HOPS + 1), (bytes(rebuttal_bytes),) * 4)
        for k in range(count)
    ]
    batches = pack_items(items)
    _check_batches(items, batches)
    if attestation_bytes == 0:
        assert [len(b) for b in batches] == [MAX_ITEMS, MAX_ITEMS, 2]


def test_pack_items_of_nothing_is_no_batch() -> None:
    assert pack_items([]) == []
    assert pack_items(iter([RawItem(b"a", 0, ())])) == [[RawItem(b"a", 0, ())]]


# -- limits: refused by the encoder (UsageError) and the decoder (a stable code) -------------------

_OK = RawItem(ATTESTATION, 0, ())


@pytest.mark.parametrize(
    ("items", "query_id"),
    [
        ([_OK] * (MAX_ITEMS + 1), None),
        ([RawItem(ATTESTATION, MAX_HOPS + 1, ())], None),
        ([RawItem(ATTESTATION, -1, ())], None),
        ([RawItem(ATTESTATION, True, ())], None),
        ([RawItem(ATTESTATION, 0, (REBUTTAL,) * (MAX_REBUTTALS + 1))], None),
        ([RawItem(ATTESTATION, 0, ("rebuttal",))], None),  # type: ignore[arg-type]
        ([RawItem(ATTESTATION, 0, (bytes(MAX_REBUTTAL_BYTES + 1),))], None),
        ([RawItem(bytes(MAX_ATTESTATION_BYTES + 1), 0, ())], None),
        ([(ATTESTATION, 0, ())], None),
        ([_OK], QUERY_ID[:3]),
        ([_OK], b""),
        ([_OK], QUERY_ID + b"\x00"),
        # 14 of the largest attestations: each item is allowed, together they overflow one body.
        ([RawItem(bytes(MAX_ATTESTATION_BYTES), 0, ())] * 14, None),
    ],
)
def test_encode_share_refuses_what_breaks_the_limits(items: list[Any], query_id: Any) -> None:
    with pytest.raises(UsageError):
        encode_share(items, query_id)


def test_pack_items_refuses_an_item_it_could_never_send() -> None:
    with pytest.raises(UsageError):
        pack_items([_OK, RawItem(ATTESTATION, MAX_HOPS + 1, ())])


def test_encode_query_refuses_bad_arguments() -> None:
    subject = IDS["vendor"].peer_id
    for query_id in (QUERY_ID[:3], QUERY_ID + b"\x00", b"", "0" * QUERY_ID_BYTES):
        with pytest.raises(UsageError):
            encode_query(query_id, subject)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        encode_query(QUERY_ID, subject.key)  # type: ignore[arg-type]


def _share(query_id: bytes, items: list[list[Any]], version: int = 1) -> bytes:
    return _pack([version, query_id, items])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_share(b"", [[b"", 0, []]] * (MAX_ITEMS + 1)), TooLargeError.code),
        (_share(b"", [[ATTESTATION, MAX_HOPS + 1, []]]), SchemaError.code),
        (_share(b"", [[ATTESTATION, -1, []]]), SchemaError.code),
        (_share(b"", [[ATTESTATION, True, []]]), SchemaError.code),
        (_share(b"", [[ATTESTATION, 0, [REBUTTAL] * (MAX_REBUTTALS + 1)]]), TooLargeError.code),
        (_share(b"", [[ATTESTATION, 0, ["a rebuttal"]]]), SchemaError.code),
        (_share(b"", [[ATTESTATION, 0]]), SchemaError.code),
        (_share(b"", [[bytes(MAX_ATTESTATION_BYTES + 1), 0, []]]), TooLargeError.code),
        (_share(b"", [ATTESTATION]), SchemaError.code),
        (_share(QUERY_ID[:3], []), SchemaError.code),
        (_share(QUERY_ID + b"\x00", []), TooLargeError.code),
        (_share(b"", [], version=2), UnsupportedVersionError.code),
        (_pack([True, b"", []]), UnsupportedVersionError.code),
        (_pack([1, b""]), SchemaError.code),
        (_pack([1, None, []]), SchemaError.code),
        (_pack(b"not an array"), SchemaError.code),
        (_share(b"", [[bytes(MAX_BODY_BYTES), 0, []]]), TooLargeError.code),
    ],
)
def test_decode_share_refuses_what_breaks_the_limits(body: bytes, code: str) -> None:
    assert _code(lambda: decode_share(body)) == code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_pack([1, QUERY_ID[:3], bytes(32)]), SchemaError.code),
        (_pack([1, QUERY_ID + b"\x00", bytes(32)]), SchemaError.code),
        (_pack([1, QUERY_ID, bytes(31)]), SchemaError.code),
        (_pack([1, QUERY_ID]), SchemaError.code),
        (_pack([2, QUERY_ID, bytes(32)]), UnsupportedVersionError.code),
        (_pack([1, QUERY_ID, bytes(32), b"x" * 64]), TooLargeError.code),
    ],
)
def test_decode_query_refuses_what_breaks_the_limits(body: bytes, code: str) -> None:
    assert _code(lambda: decode_query(body)) == code


# -- fuzzing: nothing but AmityError, whatever the bytes -------------------------------------------

_VALID_SHARES = st.sampled_from(
    [unhex(v, "body_hex") for v in FILE["vectors"] if v["operation"] == "share"]
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(arbitrary_bytes(200), mutated(_VALID_SHARES)))
def test_decode_share_and_read_item_raise_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        share = decode_share(data)
        assert share.query_id is None or len(share.query_id) == QUERY_ID_BYTES
        for item in share.items:
            assert 0 <= item.hops <= MAX_HOPS
            read_item(item, NOW)


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(arbitrary_bytes(), mutated(st.just(ATTESTATION))),
    st.lists(st.one_of(arbitrary_bytes(), mutated(st.just(REBUTTAL))), max_size=2),
    st.integers(0, 2**48),
)
def test_read_item_raises_only_amity_errors(
    attestation: bytes, rebuttals: list[bytes], now_ms: int
) -> None:
    with contextlib.suppress(AmityError):
        read_item(RawItem(attestation, 0, tuple(rebuttals)), now_ms)


@settings(max_examples=150)
@given(st.one_of(arbitrary_bytes(), mutated(st.just(unhex(BY_NAME["query"], "body_hex")))))
def test_decode_query_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        query_id, subject = decode_query(data)
        assert len(query_id) == QUERY_ID_BYTES and isinstance(subject, PeerId)


@settings(max_examples=150, deadline=None)
@given(st.one_of(arbitrary_bytes(200), mutated(st.just(unhex(BY_NAME["rebut"], "body_hex")))))
def test_decode_rebut_raises_only_amity_errors(data: bytes) -> None:
    with contextlib.suppress(AmityError):
        attestation, rebuttal = decode_rebut(data, NOW)
        assert rebuttal.attestation_id == attestation.attestation_id
