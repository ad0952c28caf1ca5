"""Bodies of the negotiation messages ``terms.offer`` … ``terms.withdraw``. See spec/terms.md §8.

Each body is a canonical fixed-position array whose first field is its version, carried as the
``body`` of a signed envelope: sender, recipient, time and the envelope signature are the
envelope's business. Offers and counters also carry the proposer's signature over the agreement
the terms would become (spec/terms.md §9), so that an accept completes it. Decoders read the
version before the arity and raise nothing but AmityError subclasses, whatever the input.
"""

from __future__ import annotations

import re
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
    expect_optional_bytes,
    expect_str,
    expect_version,
)
from amity.protocol.errors import UsageError
from amity.protocol.identity import SIGNATURE_BYTES
from amity.protocol.relmessages import MAX_REASON_BYTES, REASON_PATTERN, check_reason
from amity.protocol.terms import MAX_TERMS_BYTES, TERMS_ID_BYTES, TermsDocument

__all__ = [
    "MSG_OFFER",
    "MSG_COUNTER",
    "MSG_ACCEPT",
    "MSG_REJECT",
    "MSG_WITHDRAW",
    "TERMS_MESSAGE_TYPES",
    "TERMS_BODY_VERSION",
    "NEGOTIATION_ID_BYTES",
    "AGREEMENT_ID_BYTES",
    "MAX_REJECT_REASONS",
    "MAX_PROPOSAL_BYTES",
    "MAX_TIME_MS",
    "RejectReason",
    "OfferBody",
    "CounterBody",
    "AcceptBody",
    "RejectBody",
    "WithdrawBody",
    "TermsBody",
    "encode_terms_body",
    "decode_terms_body",
]

MSG_OFFER: Final = "terms.offer"
MSG_COUNTER: Final = "terms.counter"
MSG_ACCEPT: Final = "terms.accept"
MSG_REJECT: Final = "terms.reject"
MSG_WITHDRAW: Final = "terms.withdraw"
TERMS_MESSAGE_TYPES: Final = (MSG_OFFER, MSG_COUNTER, MSG_ACCEPT, MSG_REJECT, MSG_WITHDRAW)
TERMS_BODY_VERSION: Final = 1
NEGOTIATION_ID_BYTES: Final = 16
AGREEMENT_ID_BYTES: Final = 32
MAX_REJECT_REASONS: Final = 32
#: Times fit a signed 64-bit integer, as SQLite and most languages store them.
MAX_TIME_MS: Final = (1 << 63) - 1
#: The terms document plus the fixed fields around it.
MAX_PROPOSAL_BYTES: Final = MAX_TERMS_BYTES + 160
_MAX_REJECT_BYTES: Final = 64 + MAX_REJECT_REASONS * (MAX_REASON_BYTES + 72)
_CLAUSE_REF: Final = re.compile(r"([a-z0-9-]+(\.[a-z0-9-]+)*)?")


def _check_bin(value: object, size: int, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != size:
        raise UsageError(f"{what} is {size} bytes")


def _check_ms(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME_MS:
        raise UsageError(f"{what} is an int of milliseconds since the epoch")


@dataclass(frozen=True, slots=True)
class RejectReason:
    """Why one clause (``clause_id``) or, with ``""``, the whole document was refused."""

    clause_id: str
    reason: str

    def __post_init__(self) -> None:
        if not isinstance(self.clause_id, str) or len(self.clause_id) > 64:
            raise UsageError("a reject reason names a clause id (at most 64 bytes) or ''")
        if not _CLAUSE_REF.fullmatch(self.clause_id):
            raise UsageError(f"{self.clause_id!r:.70} is not a clause id")
        check_reason(self.reason)


@dataclass(frozen=True, slots=True)
class OfferBody:
    """``terms.offer``: opens a negotiation; ``signature`` is the offerer's over the agreement."""

    negotiation_id: bytes
    terms: TermsDocument
    offered_ms: int
    expires_ms: int
    signature: bytes
    #: The agreement this offer would amend (spec/terms.md §10), if any.
    previous_agreement_id: bytes | None = None

    def __post_init__(self) -> None:
        _check_bin(self.negotiation_id, NEGOTIATION_ID_BYTES, "a negotiation id")
        if not isinstance(self.terms, TermsDocument):
            raise UsageError("an offer carries a TermsDocument")
        _check_ms(self.offered_ms, "offered_ms")
        _check_ms(self.expires_ms, "expires_ms")
        _check_bin(self.signature, SIGNATURE_BYTES, "a signature")
        if self.previous_agreement_id is not None:
            _check_bin(self.previous_agreement_id, AGREEMENT_ID_BYTES, "an agreement id")


@dataclass(frozen=True, slots=True)
class CounterBody:
    """``terms.counter``: replaces the terms on the table; ``round`` is 2 for the first counter."""

    negotiation_id: bytes
    round: int
    terms: TermsDocument
    offered_ms: int
    expires_ms: int
    signature: bytes

    def __post_init__(self) -> None:
        _check_bin(self.negotiation_id, NEGOTIATION_ID_BYTES, "a negotiation id")
        if isinstance(self.round, bool) or not isinstance(self.round, int) or self.round < 2:
            raise UsageError("a counter's round is an int of at least 2 (the offer is round 1)")
        if not isinstance(self.terms, TermsDocument):
            raise UsageError("a counter carries a TermsDocument")
        _check_ms(self.offered_ms, "offered_ms")
        _check_ms(self.expires_ms, "expires_ms")
        _check_bin(self.signature, SIGNATURE_BYTES, "a signature")


@dataclass(frozen=True, slots=True)
class AcceptBody:
    """``terms.accept``: the accepter's signature over the agreement, which completes it."""

    negotiation_id: bytes
    terms_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        _check_bin(self.negotiation_id, NEGOTIATION_ID_BYTES, "a negotiation id")
        _check_bin(self.terms_id, TERMS_ID_BYTES, "a terms id")
        _check_bin(self.signature, SIGNATURE_BYTES, "a signature")


@dataclass(frozen=True, slots=True)
class RejectBody:
    """``terms.reject``: ends the negotiation, with reasons per clause (possibly none)."""

    negotiation_id: bytes
    terms_id: bytes
    reasons: tuple[RejectReason, ...] = ()

    def __post_init__(self) -> None:
        _check_bin(self.negotiation_id, NEGOTIATION_ID_BYTES, "a negotiation id")
        _check_bin(self.terms_id, TERMS_ID_BYTES, "a terms id")
        if not isinstance(self.reasons, tuple) or len(self.reasons) > MAX_REJECT_REASONS:
            raise UsageError(f"reasons is a tuple of at most {MAX_REJECT_REASONS} RejectReason")
        if not all(isinstance(r, RejectReason) for r in self.reasons):
            raise UsageError("reasons is a tuple of RejectReason")


@dataclass(frozen=True, slots=True)
class WithdrawBody:
    """``terms.withdraw``: the proposer takes back the terms on the table, ending the negotiation."""

    negotiation_id: bytes
    terms_id: bytes

    def __post_init__(self) -> None:
        _check_bin(self.negotiation_id, NEGOTIATION_ID_BYTES, "a negotiation id")
        _check_bin(self.terms_id, TERMS_ID_BYTES, "a terms id")


TermsBody: TypeAlias = OfferBody | CounterBody | AcceptBody | RejectBody | WithdrawBody


def encode_terms_body(body: TermsBody) -> bytes:
    """The canonical body of ``body``'s message type; see spec/terms.md §8."""
    v = TERMS_BODY_VERSION
    fields: list[Value]
    match body:
        case OfferBody():
            fields = [
                v,
                body.negotiation_id,
                body.terms.encoded,
                body.offered_ms,
                body.expires_ms,
                body.previous_agreement_id,
                body.signature,
            ]
        case CounterBody():
            fields = [
                v,
                body.negotiation_id,
                body.round,
                body.terms.encoded,
                body.offered_ms,
                body.expires_ms,
                body.signature,
            ]
        case AcceptBody():
            fields = [v, body.negotiation_id, body.terms_id, body.signature]
        case RejectBody():
            reasons: list[Value] = [[r.clause_id, r.reason] for r in body.reasons]
            fields = [v, body.negotiation_id, body.terms_id, reasons]
        case WithdrawBody():
            fields = [v, body.negotiation_id, body.terms_id]
        case _:
            raise UsageError(f"{type(body).__name__} is not a terms message body")
    return encode(fields)


def decode_terms_body(message_type: str, data: bytes) -> TermsBody:
    """Decode the body of a ``terms.*`` envelope of ``message_type``; AmityError on any defect."""
    reader = _READERS.get(message_type)
    if reader is None:
        raise UsageError(f"{message_type!r:.40} is not one of {', '.join(TERMS_MESSAGE_TYPES)}")
    max_bytes, arity, read = reader
    what = f"{message_type} body"
    fields = expect_array(decode(data, max_bytes=max_bytes), what)
    expect_version(fields, TERMS_BODY_VERSION, what)
    return read(expect_array(fields, what, arity=arity), what)


def _id(value: Value, what: str) -> bytes:
    return expect_bytes(value, f"{what} negotiation id", size=NEGOTIATION_ID_BYTES)


def _terms(value: Value, what: str) -> TermsDocument:
    return TermsDocument.decode(expect_bytes(value, f"{what} terms", max_size=MAX_TERMS_BYTES))


def _sig(value: Value, what: str) -> bytes:
    return expect_bytes(value, f"{what} signature", size=SIGNATURE_BYTES)


def _terms_id(value: Value, what: str) -> bytes:
    return expect_bytes(value, f"{what} terms id", size=TERMS_ID_BYTES)


def _read_offer(f: list[Value], what: str) -> OfferBody:
    return OfferBody(
        negotiation_id=_id(f[1], what),
        terms=_terms(f[2], what),
        offered_ms=expect_int(f[3], f"{what} offered_ms", hi=MAX_TIME_MS),
        expires_ms=expect_int(f[4], f"{what} expires_ms", hi=MAX_TIME_MS),
        previous_agreement_id=expect_optional_bytes(
            f[5], f"{what} previous agreement", size=AGREEMENT_ID_BYTES
        ),
        signature=_sig(f[6], what),
    )


def _read_counter(f: list[Value], what: str) -> CounterBody:
    return CounterBody(
        negotiation_id=_id(f[1], what),
        round=expect_int(f[2], f"{what} round", lo=2, hi=255),
        terms=_terms(f[3], what),
        offered_ms=expect_int(f[4], f"{what} offered_ms", hi=MAX_TIME_MS),
        expires_ms=expect_int(f[5], f"{what} expires_ms", hi=MAX_TIME_MS),
        signature=_sig(f[6], what),
    )


def _read_accept(f: list[Value], what: str) -> AcceptBody:
    return AcceptBody(_id(f[1], what), _terms_id(f[2], what), _sig(f[3], what))


def _read_reject(f: list[Value], what: str) -> RejectBody:
    items = expect_array(f[3], f"{what} reasons", max_len=MAX_REJECT_REASONS)
    reasons = []
    for index, item in enumerate(items):
        pair = expect_array(item, f"{what} reason {index}", arity=2)
        clause_id = expect_str(pair[0], f"{what} reason clause", max_bytes=64, pattern=_CLAUSE_REF)
        text = expect_str(
            pair[1], f"{what} reason text", max_bytes=MAX_REASON_BYTES, pattern=REASON_PATTERN
        )
        reasons.append(RejectReason(clause_id, text))
    return RejectBody(_id(f[1], what), _terms_id(f[2], what), tuple(reasons))


def _read_withdraw(f: list[Value], what: str) -> WithdrawBody:
    return WithdrawBody(_id(f[1], what), _terms_id(f[2], what))


_Reader: TypeAlias = Callable[[list[Value], str], TermsBody]
#: message type -> (size limit, arity, field reader).
_READERS: Final[Mapping[str, tuple[int, int, _Reader]]] = {
    MSG_OFFER: (MAX_PROPOSAL_BYTES, 7, _read_offer),
    MSG_COUNTER: (MAX_PROPOSAL_BYTES, 7, _read_counter),
    MSG_ACCEPT: (128, 4, _read_accept),
    MSG_REJECT: (_MAX_REJECT_BYTES, 4, _read_reject),
    MSG_WITHDRAW: (64, 3, _read_withdraw),
}
