"""The bodies of ``reputation.*`` messages: sharing attestations, asking about a peer, rebutting.

Attestations travel only between connected peers, only as their owners' share policies allow
(spec/reputation.md §6): ``reputation.share`` carries attestations (each with the hops it has
travelled and the rebuttals that go with it), unasked or as the answer to a
``reputation.query``; ``reputation.rebut`` carries a subject's rebuttal to the attester. Sans-IO:
these functions only encode and read bodies; verification against ``now_ms`` happens in
:func:`read_item`. See spec/reputation.md §7.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from amity.protocol.attestation import (
    ATTESTATION_VERSION,
    MAX_ATTESTATION_BYTES,
    MAX_REBUTTAL_BYTES,
    Attestation,
    Rebuttal,
)
from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_bytes,
    expect_int,
)
from amity.protocol.envelope import MAX_BODY_BYTES
from amity.protocol.errors import SchemaError, UnsupportedVersionError, UsageError
from amity.protocol.identity import PEER_ID_BYTES, PeerId

__all__ = [
    "MSG_SHARE",
    "MSG_QUERY",
    "MSG_REBUT",
    "REPUTATION_MESSAGE_TYPES",
    "QUERY_ID_BYTES",
    "MAX_HOPS",
    "MAX_ITEMS",
    "MAX_REBUTTALS",
    "RawItem",
    "SharedItem",
    "Share",
    "encode_share",
    "decode_share",
    "read_item",
    "encode_query",
    "decode_query",
    "encode_rebut",
    "decode_rebut",
    "pack_items",
]

MSG_SHARE: Final = "reputation.share"
MSG_QUERY: Final = "reputation.query"
MSG_REBUT: Final = "reputation.rebut"
REPUTATION_MESSAGE_TYPES: Final = frozenset({MSG_SHARE, MSG_QUERY, MSG_REBUT})
QUERY_ID_BYTES: Final = 16
#: An attestation is relayed at most this many times beyond its attester.
MAX_HOPS: Final = 8
MAX_ITEMS: Final = 64
MAX_REBUTTALS: Final = 4
#: Room for what surrounds the items: the body's array header, version, query id and the items'
#: array header (23 bytes at most), rounded up generously.
_OVERHEAD_BYTES: Final = 64
_MAX_QUERY_BYTES: Final = 64
_MAX_REBUT_BYTES: Final = MAX_ATTESTATION_BYTES + MAX_REBUTTAL_BYTES + 32


@dataclass(frozen=True, slots=True)
class RawItem:
    """One shared item as it arrived: bytes not yet verified (see :func:`read_item`)."""

    attestation: bytes
    hops: int
    rebuttals: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class SharedItem:
    """A verified shared item: the attestation, its hops so far, the rebuttals that answer it."""

    attestation: Attestation
    hops: int
    rebuttals: tuple[Rebuttal, ...]


@dataclass(frozen=True, slots=True)
class Share:
    """A ``reputation.share`` body: the query it answers (``None`` if unasked) and its items."""

    query_id: bytes | None
    items: tuple[RawItem, ...]


def _read_fields(data: bytes, what: str, arity: int, max_bytes: int) -> list[Value]:
    fields = expect_array(decode(data, max_bytes=max_bytes), what)
    version = fields[0] if fields else None
    if isinstance(version, bool) or version != ATTESTATION_VERSION:
        raise UnsupportedVersionError(
            f"{what} version {version!r:.20}; this node reads {ATTESTATION_VERSION}",
            hint=UnsupportedVersionError.code,
        )
    return expect_array(fields, what, arity=arity)


def _check_item(item: RawItem) -> None:
    if not isinstance(item, RawItem):
        raise UsageError("a share holds RawItem values")
    if not isinstance(item.attestation, bytes) or len(item.attestation) > MAX_ATTESTATION_BYTES:
        raise UsageError(f"an attestation is at most {MAX_ATTESTATION_BYTES} bytes")
    if isinstance(item.hops, bool) or not isinstance(item.hops, int):
        raise UsageError("hops is an int")
    if not 0 <= item.hops <= MAX_HOPS:
        raise UsageError(f"hops is 0 .. {MAX_HOPS}")
    if len(item.rebuttals) > MAX_REBUTTALS or not all(
        isinstance(r, bytes) and len(r) <= MAX_REBUTTAL_BYTES for r in item.rebuttals
    ):
        raise UsageError(f"an item carries at most {MAX_REBUTTALS} rebuttals")


def _item_size(item: RawItem) -> int:
    # Exact: a bin's header grows with its length (2, 3 or 5 bytes), so a fixed allowance per
    # item undercounts items of several large parts.
    return len(encode([item.attestation, item.hops, list(item.rebuttals)]))


def encode_share(items: Sequence[RawItem], query_id: bytes | None = None) -> bytes:
    """``enc([1, query_id or b"", [[attestation, hops, [rebuttal…]]…]])``; see §7.1."""
    if query_id is not None and (
        not isinstance(query_id, bytes) or len(query_id) != QUERY_ID_BYTES
    ):
        raise UsageError(f"a query id is {QUERY_ID_BYTES} bytes")
    if len(items) > MAX_ITEMS:
        raise UsageError(f"a share carries at most {MAX_ITEMS} items; use pack_items")
    for item in items:
        _check_item(item)
    body = encode(
        [
            ATTESTATION_VERSION,
            query_id or b"",
            [[i.attestation, i.hops, list(i.rebuttals)] for i in items],
        ]
    )
    if len(body) > MAX_BODY_BYTES:
        raise UsageError(f"the share is {len(body)} bytes, over {MAX_BODY_BYTES}; use pack_items")
    return body


def pack_items(items: Iterable[RawItem]) -> list[list[RawItem]]:
    """Split items into batches that each fit one ``reputation.share`` body."""
    batches: list[list[RawItem]] = []
    current: list[RawItem] = []
    size = _OVERHEAD_BYTES
    for item in items:
        _check_item(item)
        need = _item_size(item)
        if current and (len(current) == MAX_ITEMS or size + need > MAX_BODY_BYTES):
            batches.append(current)
            current, size = [], _OVERHEAD_BYTES
        current.append(item)
        size += need
    if current:
        batches.append(current)
    return batches


def decode_share(data: bytes) -> Share:
    """Read a ``reputation.share`` body's structure (items are verified by :func:`read_item`)."""
    what = "reputation.share body"
    _, raw_query, raw_items = _read_fields(data, what, 3, MAX_BODY_BYTES)
    query = expect_bytes(raw_query, "reputation.share query id", max_size=QUERY_ID_BYTES)
    if len(query) not in (0, QUERY_ID_BYTES):
        raise SchemaError(
            f"reputation.share query id is {len(query)} bytes; expected 0 (unasked) or "
            f"{QUERY_ID_BYTES}"
        )
    items = []
    for raw in expect_array(raw_items, "reputation.share items", max_len=MAX_ITEMS):
        attestation, hops, rebuttals = expect_array(raw, "reputation.share item", arity=3)
        items.append(
            RawItem(
                attestation=expect_bytes(
                    attestation, "shared attestation", max_size=MAX_ATTESTATION_BYTES
                ),
                hops=expect_int(hops, "shared attestation hops", hi=MAX_HOPS),
                rebuttals=tuple(
                    expect_bytes(r, "shared rebuttal", max_size=MAX_REBUTTAL_BYTES)
                    for r in expect_array(rebuttals, "shared rebuttals", max_len=MAX_REBUTTALS)
                ),
            )
        )
    return Share(query_id=query or None, items=tuple(items))


def read_item(item: RawItem, now_ms: int) -> SharedItem:
    """Verify one shared item: the attestation (§2.2, with ``now_ms``) and each rebuttal (§3)."""
    attestation = Attestation.decode(item.attestation, now_ms)
    rebuttals = tuple(Rebuttal.decode(r, attestation) for r in item.rebuttals)
    return SharedItem(attestation, item.hops, rebuttals)


def encode_query(query_id: bytes, subject: PeerId) -> bytes:
    """``enc([1, query_id bin16, subject bin32])``: what do you know about ``subject``? §7.2."""
    if not isinstance(query_id, bytes) or len(query_id) != QUERY_ID_BYTES:
        raise UsageError(f"a query id is {QUERY_ID_BYTES} bytes")
    if not isinstance(subject, PeerId):
        raise UsageError("the subject is a PeerId")
    return encode([ATTESTATION_VERSION, query_id, subject.key])


def decode_query(data: bytes) -> tuple[bytes, PeerId]:
    """Read a ``reputation.query`` body: the query id to echo and the subject asked about."""
    what = "reputation.query body"
    _, query_id, subject = _read_fields(data, what, 3, _MAX_QUERY_BYTES)
    return (
        expect_bytes(query_id, "reputation.query id", size=QUERY_ID_BYTES),
        PeerId(expect_bytes(subject, "reputation.query subject", size=PEER_ID_BYTES)),
    )


def encode_rebut(attestation: bytes, rebuttal: bytes) -> bytes:
    """``enc([1, attestation, rebuttal])``: the subject's answer, sent to the attester. §7.3."""
    if not isinstance(attestation, bytes) or not isinstance(rebuttal, bytes):
        raise UsageError("a rebut body carries the attestation's and the rebuttal's bytes")
    return encode([ATTESTATION_VERSION, attestation, rebuttal])


def decode_rebut(data: bytes, now_ms: int | None = None) -> tuple[Attestation, Rebuttal]:
    """Read and verify a ``reputation.rebut`` body: the attestation and the rebuttal answering it."""
    what = "reputation.rebut body"
    _, attestation, rebuttal = _read_fields(data, what, 3, _MAX_REBUT_BYTES)
    found = Attestation.decode(
        expect_bytes(attestation, "rebutted attestation", max_size=MAX_ATTESTATION_BYTES), now_ms
    )
    answer = Rebuttal.decode(expect_bytes(rebuttal, "rebuttal", max_size=MAX_REBUTTAL_BYTES), found)
    return found, answer
