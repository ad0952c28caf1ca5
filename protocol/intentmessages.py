"""Bodies of the hub messages ``intent.subscribe`` … ``intent.receipt``. See spec/intents.md §7.

Each body is a canonical fixed-position array, version first, carried as the ``body`` of a signed
envelope. The intent, withdraw, receipt and sealed mail inside keep their own signatures; a
decoder here checks shape and sizes, and the services verify what is inside. Decoders read the
version before the arity and raise nothing but AmityError subclasses, whatever the input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_bytes,
    expect_int,
    expect_str,
    expect_version,
)
from amity.protocol.errors import SchemaError, UsageError
from amity.protocol.identity import PEER_ID_BYTES
from amity.protocol.intent import INTENT_ID_BYTES, MAX_INTENT_BYTES, MAX_INTENT_TTL_MS
from amity.protocol.intentacts import MAX_RECEIPT_BYTES, MAX_WITHDRAW_BYTES
from amity.protocol.intentcategory import CATEGORY_PATTERN, MAX_CATEGORY_BYTES
from amity.protocol.intentwork import MAX_WORK_BITS, WORK_NONCE_BYTES
from amity.protocol.sealed import SEAL_OVERHEAD_BYTES

__all__ = [
    "MSG_SUBSCRIBE",
    "MSG_RULES",
    "MSG_CAST",
    "MSG_FORWARD",
    "MSG_SEALED",
    "MSG_WITHDRAW",
    "MSG_RECEIPT",
    "MSG_DIRECT",
    "INTENT_MESSAGE_TYPES",
    "MAX_HOPS",
    "MAX_SUBSCRIPTION",
    "MAX_PEER_HUBS",
    "MAX_SEALED_RELAY_BYTES",
    "Subscribe",
    "HubRules",
    "DirectRules",
    "Cast",
    "Forward",
    "SealedRelay",
    "WithdrawNotice",
    "ReceiptNotice",
    "IntentBody",
    "encode_intent_body",
    "decode_intent_body",
]

MSG_SUBSCRIBE: Final = "intent.subscribe"
MSG_RULES: Final = "intent.rules"
MSG_CAST: Final = "intent.cast"
MSG_FORWARD: Final = "intent.forward"
MSG_SEALED: Final = "intent.sealed"
MSG_WITHDRAW: Final = "intent.withdraw"
MSG_RECEIPT: Final = "intent.receipt"
#: Not an envelope type: the handshake payload of a vendor's direct endpoint (§7.8).
MSG_DIRECT: Final = "intent.direct"
INTENT_MESSAGE_TYPES: Final = (
    MSG_SUBSCRIBE,
    MSG_RULES,
    MSG_CAST,
    MSG_FORWARD,
    MSG_SEALED,
    MSG_WITHDRAW,
    MSG_RECEIPT,
    MSG_DIRECT,
)
MAX_HOPS: Final = 8
MAX_SUBSCRIPTION: Final = 32
MAX_PEER_HUBS: Final = 32
#: Sealed mail about an intent: an offer (at most 3072 bytes) in its envelope fills the 4 KiB
#: padding bucket at most; the box's overhead and the sealed header come on top.
MAX_SEALED_RELAY_BYTES: Final = 4096 + SEAL_OVERHEAD_BYTES + 128
_MAX_OFFER_CAP: Final = 256
_MAX_RATE: Final = 100_000


def _usage(ok: bool, what: str) -> None:
    if not ok:
        raise UsageError(what)


def _is_int(value: object, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _is_bin(value: object, size: int) -> bool:
    return isinstance(value, bytes) and len(value) == size


@dataclass(frozen=True, slots=True)
class Subscribe:
    """``intent.subscribe``: the categories or families a vendor wants (replaces; () stops)."""

    categories: tuple[str, ...]

    def __post_init__(self) -> None:
        ok = isinstance(self.categories, tuple) and len(self.categories) <= MAX_SUBSCRIPTION
        _usage(ok and all(isinstance(c, str) for c in self.categories), "categories: tuple of str")
        _usage(all(CATEGORY_PATTERN.fullmatch(c) for c in self.categories), "dotted lower-case ids")


@dataclass(frozen=True, slots=True)
class HubRules:
    """``intent.rules``: what a hub asks and enforces (spec/intents.md §7.1)."""

    work_bits: int
    offer_cap: int
    max_ttl_ms: int
    rate_per_hour: int
    max_hops: int
    peers: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        _usage(_is_int(self.work_bits, 0, MAX_WORK_BITS), "work_bits is 0..32")
        _usage(_is_int(self.offer_cap, 1, _MAX_OFFER_CAP), "offer_cap is 1..256")
        _usage(_is_int(self.max_ttl_ms, 1, MAX_INTENT_TTL_MS), "max_ttl_ms is 1 ms..30 days")
        _usage(_is_int(self.rate_per_hour, 1, _MAX_RATE), "rate_per_hour is 1..100000")
        _usage(_is_int(self.max_hops, 0, MAX_HOPS), "max_hops is 0..8")
        ok = isinstance(self.peers, tuple) and len(self.peers) <= MAX_PEER_HUBS
        _usage(ok and all(_is_bin(p, PEER_ID_BYTES) for p in self.peers), "peers: peer id keys")


@dataclass(frozen=True, slots=True)
class DirectRules:
    """``intent.direct``: what a vendor's direct endpoint asks, and the categories it serves
    (spec/intents.md §7.8); her node casts there only an intent of one of them."""

    work_bits: int
    max_ttl_ms: int
    categories: tuple[str, ...]

    def __post_init__(self) -> None:
        _usage(_is_int(self.work_bits, 0, MAX_WORK_BITS), "work_bits is 0..32")
        _usage(_is_int(self.max_ttl_ms, 1, MAX_INTENT_TTL_MS), "max_ttl_ms is 1 ms..30 days")
        ok = isinstance(self.categories, tuple) and 1 <= len(self.categories) <= MAX_SUBSCRIPTION
        _usage(ok and all(isinstance(c, str) for c in self.categories), "categories: 1..32 str")


@dataclass(frozen=True, slots=True)
class Cast:
    """``intent.cast``: an intent (its bytes) with its work stamp, from its own key to a hub."""

    intent: bytes
    work_nonce: bytes

    def __post_init__(self) -> None:
        _usage(isinstance(self.intent, bytes), "intent is bytes")
        _usage(_is_bin(self.work_nonce, WORK_NONCE_BYTES), "a work stamp is 16 bytes")


@dataclass(frozen=True, slots=True)
class Forward:
    """``intent.forward``: a hub passes an intent on; ``hops_left`` bounds federation."""

    intent: bytes
    work_nonce: bytes
    hops_left: int

    def __post_init__(self) -> None:
        _usage(isinstance(self.intent, bytes), "intent is bytes")
        _usage(_is_bin(self.work_nonce, WORK_NONCE_BYTES), "a work stamp is 16 bytes")
        _usage(_is_int(self.hops_left, 0, MAX_HOPS), "hops_left is 0..8")


@dataclass(frozen=True, slots=True)
class SealedRelay:
    """``intent.sealed``: sealed mail about one intent (an offer, or her accept), relayed."""

    intent_id: bytes
    sealed: bytes

    def __post_init__(self) -> None:
        _usage(_is_bin(self.intent_id, INTENT_ID_BYTES), "an intent id is 32 bytes")
        _usage(isinstance(self.sealed, bytes), "sealed is bytes")


@dataclass(frozen=True, slots=True)
class WithdrawNotice:
    """``intent.withdraw``: a signed withdraw, passed from her to every holder."""

    withdraw: bytes


@dataclass(frozen=True, slots=True)
class ReceiptNotice:
    """``intent.receipt``: a signed deletion receipt, passed back towards her."""

    receipt: bytes


IntentBody: TypeAlias = (
    Subscribe
    | HubRules
    | DirectRules
    | Cast
    | Forward
    | SealedRelay
    | WithdrawNotice
    | ReceiptNotice
)


def encode_intent_body(body: IntentBody) -> bytes:
    """The canonical body of ``body``'s message type; see spec/intents.md §7.2."""
    fields: list[Value]
    match body:
        case Subscribe():
            fields = [1, list[Value](body.categories)]
        case HubRules():
            peers: list[Value] = list(body.peers)
            fields = [
                1,
                body.work_bits,
                body.offer_cap,
                body.max_ttl_ms,
                body.rate_per_hour,
                body.max_hops,
                peers,
            ]
        case DirectRules():
            fields = [1, body.work_bits, body.max_ttl_ms, list[Value](body.categories)]
        case Cast():
            fields = [1, body.intent, body.work_nonce]
        case Forward():
            fields = [1, body.intent, body.work_nonce, body.hops_left]
        case SealedRelay():
            fields = [1, body.intent_id, body.sealed]
        case WithdrawNotice():
            fields = [1, body.withdraw]
        case ReceiptNotice():
            fields = [1, body.receipt]
        case _:
            raise UsageError(f"{type(body).__name__} is not an intent message body")
    return encode(fields)


def decode_intent_body(message_type: str, data: bytes) -> IntentBody:
    """Decode the body of an ``intent.*`` envelope of ``message_type``; AmityError on any defect."""
    reader = _READERS.get(message_type)
    if reader is None:
        raise UsageError(f"{message_type!r:.40} is not one of {', '.join(INTENT_MESSAGE_TYPES)}")
    max_bytes, arity, read = reader
    what = f"{message_type} body"
    fields = expect_array(decode(data, max_bytes=max_bytes), what)
    expect_version(fields, 1, what)
    return read(expect_array(fields, what, arity=arity), what)


def _read_subscribe(f: list[Value], what: str) -> Subscribe:
    items = expect_array(f[1], f"{what} categories", max_len=MAX_SUBSCRIPTION)
    return Subscribe(
        tuple(
            expect_str(
                c, f"{what} category", max_bytes=MAX_CATEGORY_BYTES, pattern=CATEGORY_PATTERN
            )
            for c in items
        )
    )


def _read_rules(f: list[Value], what: str) -> HubRules:
    peers = expect_array(f[6], f"{what} peers", max_len=MAX_PEER_HUBS)
    return HubRules(
        work_bits=expect_int(f[1], f"{what} work_bits", hi=MAX_WORK_BITS),
        offer_cap=expect_int(f[2], f"{what} offer_cap", lo=1, hi=_MAX_OFFER_CAP),
        max_ttl_ms=expect_int(f[3], f"{what} max_ttl_ms", lo=1, hi=MAX_INTENT_TTL_MS),
        rate_per_hour=expect_int(f[4], f"{what} rate_per_hour", lo=1, hi=_MAX_RATE),
        max_hops=expect_int(f[5], f"{what} max_hops", hi=MAX_HOPS),
        peers=tuple(expect_bytes(p, f"{what} peer", size=PEER_ID_BYTES) for p in peers),
    )


def _read_direct(f: list[Value], what: str) -> DirectRules:
    subscribe = _read_subscribe([1, f[3]], what)
    if not subscribe.categories:
        raise SchemaError(f"{what}: a direct endpoint serves one category at least")
    return DirectRules(
        work_bits=expect_int(f[1], f"{what} work_bits", hi=MAX_WORK_BITS),
        max_ttl_ms=expect_int(f[2], f"{what} max_ttl_ms", lo=1, hi=MAX_INTENT_TTL_MS),
        categories=subscribe.categories,
    )


def _intent(value: Value, what: str) -> bytes:
    return expect_bytes(value, f"{what} intent", max_size=MAX_INTENT_BYTES)


def _nonce(value: Value, what: str) -> bytes:
    return expect_bytes(value, f"{what} work stamp", size=WORK_NONCE_BYTES)


def _read_cast(f: list[Value], what: str) -> Cast:
    return Cast(_intent(f[1], what), _nonce(f[2], what))


def _read_forward(f: list[Value], what: str) -> Forward:
    hops = expect_int(f[3], f"{what} hops_left", hi=MAX_HOPS)
    return Forward(_intent(f[1], what), _nonce(f[2], what), hops)


def _read_sealed(f: list[Value], what: str) -> SealedRelay:
    intent_id = expect_bytes(f[1], f"{what} intent id", size=INTENT_ID_BYTES)
    return SealedRelay(
        intent_id, expect_bytes(f[2], f"{what} sealed", max_size=MAX_SEALED_RELAY_BYTES)
    )


def _read_withdraw(f: list[Value], what: str) -> WithdrawNotice:
    return WithdrawNotice(expect_bytes(f[1], f"{what} withdraw", max_size=MAX_WITHDRAW_BYTES))


def _read_receipt(f: list[Value], what: str) -> ReceiptNotice:
    return ReceiptNotice(expect_bytes(f[1], f"{what} receipt", max_size=MAX_RECEIPT_BYTES))


_Reader: TypeAlias = Callable[[list[Value], str], IntentBody]
#: message type -> (size limit, arity, field reader).
_READERS: Final[Mapping[str, tuple[int, int, _Reader]]] = {
    MSG_SUBSCRIBE: (MAX_SUBSCRIPTION * (MAX_CATEGORY_BYTES + 2) + 8, 2, _read_subscribe),
    MSG_RULES: (64 + MAX_PEER_HUBS * 34, 7, _read_rules),
    MSG_DIRECT: (MAX_SUBSCRIPTION * (MAX_CATEGORY_BYTES + 2) + 32, 4, _read_direct),
    MSG_CAST: (MAX_INTENT_BYTES + 32, 3, _read_cast),
    MSG_FORWARD: (MAX_INTENT_BYTES + 40, 4, _read_forward),
    MSG_SEALED: (MAX_SEALED_RELAY_BYTES + 48, 3, _read_sealed),
    MSG_WITHDRAW: (MAX_WITHDRAW_BYTES + 8, 2, _read_withdraw),
    MSG_RECEIPT: (MAX_RECEIPT_BYTES + 8, 2, _read_receipt),
}
