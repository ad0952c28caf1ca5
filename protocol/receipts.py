"""Receipts a grantee signs back: delivery, update, deletion, "what I hold about you". Sans-IO.

Every receipt is a signed structure ``[signed_bytes, sig]`` under one domain, with its kind
inside the signature, so a delivery receipt can never be read as a deletion receipt. All three
travel as the body of a ``grant.receipt`` message; a holdings statement answers a
``grant.holdings`` query and echoes its id. See spec/grants.md §7.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from amity.protocol.encoding import (
    Value,
    encode,
    expect_array,
    expect_bytes,
    expect_int,
    expect_str,
)
from amity.protocol.errors import GrantPartyError, GrantSignatureError, SchemaError, UsageError
from amity.protocol.grants import (
    GRANT_ID_BYTES,
    GRANTS_VERSION,
    check_names,
    check_time,
    expect_names,
    expect_peer,
    read_body,
    read_signed,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.signed import sign_structure

__all__ = [
    "RECEIPT_DOMAIN",
    "MSG_RECEIPT",
    "MSG_HOLDINGS",
    "QUERY_ID_BYTES",
    "MAX_RECEIPT_BYTES",
    "MAX_HOLDINGS_ITEMS",
    "DeletionReason",
    "DeliveryReceipt",
    "DeletionReceipt",
    "UpdateReceipt",
    "HeldGrant",
    "HoldingsStatement",
    "Receipt",
    "decode_receipt",
    "open_receipt",
    "encode_holdings_query",
    "decode_holdings_query",
]

RECEIPT_DOMAIN: Final = b"amity/receipt/v1\x00"
MSG_RECEIPT: Final = "grant.receipt"
MSG_HOLDINGS: Final = "grant.holdings"
QUERY_ID_BYTES: Final = 16
#: A holdings statement must fit one envelope body (spec/envelope.md: 256 KiB).
MAX_RECEIPT_BYTES: Final = 192 * 1024
MAX_HOLDINGS_ITEMS: Final = 1024
_MAX_QUERY_BYTES: Final = 24
_ARITY: Final = 7


class DeletionReason(enum.Enum):
    """Why a grantee deleted a grant's data. See spec/grants.md §7.2."""

    EXPIRED = "expired"
    REVOKED = "revoked"
    RELATIONSHIP_ENDED = "relationship-ended"


def _sign(kind: str, identity: SigningIdentity, subject: PeerId, rest: list[Value]) -> bytes:
    if not isinstance(subject, PeerId):
        raise UsageError("a receipt's grantor is a PeerId")
    fields: list[Value] = [GRANTS_VERSION, kind, identity.peer_id.key, subject.key, *rest]
    return sign_structure(fields, RECEIPT_DOMAIN, identity)


def _grant_id(value: Value, what: str) -> bytes:
    return expect_bytes(value, what, size=GRANT_ID_BYTES)


def _check_grant_id(grant_id: bytes) -> None:
    if not isinstance(grant_id, bytes) or len(grant_id) != GRANT_ID_BYTES:
        raise UsageError(f"a grant id is {GRANT_ID_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """``issuer`` (the grantee) received ``fields`` of ``grant_id`` from ``subject``. See §7.1."""

    issuer: PeerId
    subject: PeerId
    grant_id: bytes
    fields: tuple[str, ...]
    received_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def issue(
        cls,
        identity: SigningIdentity,
        *,
        grantor: PeerId,
        grant_id: bytes,
        fields: Iterable[str],
        received_ms: int,
    ) -> DeliveryReceipt:
        """Sign a delivery receipt for the grantor."""
        _check_grant_id(grant_id)
        names = check_names(fields)
        rest: list[Value] = [grant_id, list(names), check_time(received_ms, "received_ms")]
        data = _sign("delivery", identity, grantor, rest)
        return cls(identity.peer_id, grantor, grant_id, names, received_ms, data)


@dataclass(frozen=True, slots=True)
class DeletionReceipt:
    """``issuer`` deleted everything of ``grant_id`` it held, for ``reason``. See §7.2."""

    issuer: PeerId
    subject: PeerId
    grant_id: bytes
    reason: DeletionReason
    deleted_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def issue(
        cls,
        identity: SigningIdentity,
        *,
        grantor: PeerId,
        grant_id: bytes,
        reason: DeletionReason,
        deleted_ms: int,
    ) -> DeletionReceipt:
        """Sign a deletion receipt for the grantor."""
        _check_grant_id(grant_id)
        if not isinstance(reason, DeletionReason):
            raise UsageError("reason is a DeletionReason")
        rest: list[Value] = [grant_id, reason.value, check_time(deleted_ms, "deleted_ms")]
        data = _sign("deletion", identity, grantor, rest)
        return cls(identity.peer_id, grantor, grant_id, reason, deleted_ms, data)


@dataclass(frozen=True, slots=True)
class UpdateReceipt:
    """``issuer`` replaced every value of ``grant_id`` by those of update ``version`` at
    ``replaced_ms``, the values before them deleted. See spec/signals.md §2.4."""

    issuer: PeerId
    subject: PeerId
    grant_id: bytes
    version: int
    replaced_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def issue(
        cls,
        identity: SigningIdentity,
        *,
        grantor: PeerId,
        grant_id: bytes,
        version: int,
        replaced_ms: int,
    ) -> UpdateReceipt:
        """Sign an update receipt for the grantor."""
        _check_grant_id(grant_id)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise UsageError("an update's version is an int from 1")
        rest: list[Value] = [grant_id, version, check_time(replaced_ms, "replaced_ms")]
        data = _sign("update", identity, grantor, rest)
        return cls(identity.peer_id, grantor, grant_id, version, replaced_ms, data)


@dataclass(frozen=True, slots=True)
class HeldGrant:
    """One line of a holdings statement: a grant, its fields, when they go at the latest, and
    the version of its values held (0: as delivered; spec/signals.md §2)."""

    grant_id: bytes
    fields: tuple[str, ...]
    not_after_ms: int
    version: int = 0


@dataclass(frozen=True, slots=True)
class HoldingsStatement:
    """``issuer`` states, at ``at_ms``, every grant of ``subject``'s it holds. See §7.3."""

    issuer: PeerId
    subject: PeerId
    query_id: bytes
    at_ms: int
    items: tuple[HeldGrant, ...]
    encoded: bytes = field(repr=False)

    @classmethod
    def issue(
        cls,
        identity: SigningIdentity,
        *,
        grantor: PeerId,
        query_id: bytes,
        at_ms: int,
        items: Iterable[HeldGrant],
    ) -> HoldingsStatement:
        """Sign the answer to query ``query_id``; items are sorted by grant id."""
        if not isinstance(query_id, bytes) or len(query_id) != QUERY_ID_BYTES:
            raise UsageError(f"a holdings query id is {QUERY_ID_BYTES} bytes")
        held = tuple(sorted(items, key=lambda item: item.grant_id))
        if len({item.grant_id for item in held}) != len(held) or len(held) > MAX_HOLDINGS_ITEMS:
            raise UsageError(f"at most {MAX_HOLDINGS_ITEMS} held grants, each listed once")
        lines: list[Value] = []
        for item in held:
            _check_grant_id(item.grant_id)
            names: list[Value] = list(check_names(item.fields))
            not_after = check_time(item.not_after_ms, "not_after_ms")
            lines.append([item.grant_id, names, not_after, check_time(item.version, "version")])
        data = _sign("holdings", identity, grantor, [query_id, check_time(at_ms, "at_ms"), lines])
        if len(data) > MAX_RECEIPT_BYTES:
            raise UsageError(
                f"holdings statement of {len(data)} bytes; the limit is {MAX_RECEIPT_BYTES}"
            )
        return cls(identity.peer_id, grantor, query_id, at_ms, held, data)


Receipt: TypeAlias = DeliveryReceipt | DeletionReceipt | UpdateReceipt | HoldingsStatement


def _held(value: Value) -> HeldGrant:
    grant_id, names, not_after, version = expect_array(value, "held grant", arity=4)
    return HeldGrant(
        _grant_id(grant_id, "held grant id"),
        expect_names(names, "held grant fields"),
        expect_int(not_after, "held grant not_after_ms"),
        expect_int(version, "held grant version"),
    )


def decode_receipt(data: bytes) -> Receipt:
    """Parse any receipt and verify its issuer's signature. See spec/grants.md §7."""
    parts = read_signed(data, "receipt", arity=_ARITY, max_bytes=MAX_RECEIPT_BYTES)
    _, kind, issuer, subject, a, b, c = parts.fields
    kind_text = expect_str(kind, "receipt kind", max_bytes=16)
    signer = expect_peer(issuer, "receipt issuer")
    grantor = expect_peer(subject, "receipt subject")
    receipt: Receipt
    if kind_text == "delivery":
        names = expect_names(b, "delivery receipt fields")
        received_ms = expect_int(c, "delivery receipt received_ms")
        receipt = DeliveryReceipt(
            signer, grantor, _grant_id(a, "receipt grant id"), names, received_ms, bytes(data)
        )
    elif kind_text == "deletion":
        reason_text = expect_str(b, "deletion receipt reason", max_bytes=32)
        try:
            reason = DeletionReason(reason_text)
        except ValueError:
            raise SchemaError(f"deletion reason {reason_text!r} is not one of v1's") from None
        deleted_ms = expect_int(c, "deletion receipt deleted_ms")
        receipt = DeletionReceipt(
            signer, grantor, _grant_id(a, "receipt grant id"), reason, deleted_ms, bytes(data)
        )
    elif kind_text == "update":
        version = expect_int(b, "update receipt version", lo=1)
        replaced_ms = expect_int(c, "update receipt replaced_ms")
        receipt = UpdateReceipt(
            signer, grantor, _grant_id(a, "receipt grant id"), version, replaced_ms, bytes(data)
        )
    elif kind_text == "holdings":
        query_id = expect_bytes(a, "holdings query id", size=QUERY_ID_BYTES)
        at_ms = expect_int(b, "holdings at_ms")
        items = tuple(
            _held(v) for v in expect_array(c, "holdings items", max_len=MAX_HOLDINGS_ITEMS)
        )
        if any(x.grant_id >= y.grant_id for x, y in itertools.pairwise(items)):
            raise SchemaError("holdings items must be in ascending grant id order, each once")
        receipt = HoldingsStatement(signer, grantor, query_id, at_ms, items, bytes(data))
    else:
        raise SchemaError(f"receipt kind {kind_text!r} is not one of v1's")
    parts.verify(signer, RECEIPT_DOMAIN, error=GrantSignatureError, what=f"{kind_text} receipt")
    return receipt


def open_receipt(data: bytes, *, issuer: PeerId, subject: PeerId) -> Receipt:
    """Decode a receipt and check it is ``issuer``'s, about ``subject`` (grants.wrong_party)."""
    receipt = decode_receipt(data)
    if (receipt.issuer, receipt.subject) != (issuer, subject):
        raise GrantPartyError(
            f"receipt by {receipt.issuer.short} about {receipt.subject.short}; expected one by "
            f"{issuer.short} about {subject.short}"
        )
    return receipt


def encode_holdings_query(query_id: bytes) -> bytes:
    """The ``grant.holdings`` body: ``enc([1, query_id bin16])``. See spec/grants.md §7.3."""
    if not isinstance(query_id, bytes) or len(query_id) != QUERY_ID_BYTES:
        raise UsageError(f"a holdings query id is {QUERY_ID_BYTES} random bytes")
    return encode([GRANTS_VERSION, query_id])


def decode_holdings_query(data: bytes) -> bytes:
    """Read a ``grant.holdings`` body; returns the query id to echo."""
    _, query_id = read_body(data, "grant.holdings body", arity=2, max_bytes=_MAX_QUERY_BYTES)
    return expect_bytes(query_id, "grant.holdings query id", size=QUERY_ID_BYTES)
