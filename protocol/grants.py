"""Grants: a person lets one peer hold named fields, for a purpose, until a time. Sans-IO.

A :class:`Grant` is signed by the grantor; a :class:`Revocation` withdraws it; a vendor asks for
fields with a ``grant.request`` body. The data itself travels only inside a grant delivery
(:mod:`amity.protocol.delivery`). The readers shared by every structure of spec/grants.md live
here too. See spec/grants.md §4.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_bytes,
    expect_int,
    expect_str,
)
from amity.protocol.errors import (
    GrantExpiredError,
    GrantPartyError,
    GrantSignatureError,
    SchemaError,
    UnsupportedVersionError,
    UsageError,
    format_time_ms,
)
from amity.protocol.identity import PEER_ID_BYTES, PeerId, SigningIdentity
from amity.protocol.signed import SignedParts, sign_structure, split_signed_any_arity
from amity.protocol.vault import (
    FIELD_NAME_PATTERN,
    MAX_FIELD_NAME_BYTES,
    ONE_LINE_PATTERN,
    check_line,
)

__all__ = [
    "GRANTS_VERSION",
    "GRANT_DOMAIN",
    "REVOCATION_DOMAIN",
    "MSG_REVOKE",
    "MSG_REQUEST",
    "GRANT_ID_BYTES",
    "AGREEMENT_ID_BYTES",
    "MAX_GRANT_FIELDS",
    "MAX_GRANT_BYTES",
    "MAX_REVOCATION_BYTES",
    "MAX_REQUEST_BYTES",
    "PURPOSE_PATTERN",
    "MAX_PURPOSE_BYTES",
    "MAX_CONTEXT_BYTES",
    "Onward",
    "Grant",
    "open_grant",
    "Revocation",
    "GrantRequest",
    "encode_request",
    "decode_request",
    "check_time",
    "check_names",
    "expect_names",
    "expect_peer",
    "read_signed",
    "read_body",
]

#: Field 0 of every structure and body in spec/grants.md.
GRANTS_VERSION: Final = 1
GRANT_DOMAIN: Final = b"amity/grant/v1\x00"
REVOCATION_DOMAIN: Final = b"amity/grant-revoke/v1\x00"
MSG_REVOKE: Final = "grant.revoke"
MSG_REQUEST: Final = "grant.request"
GRANT_ID_BYTES: Final = 16
AGREEMENT_ID_BYTES: Final = 32
MAX_GRANT_FIELDS: Final = 32
#: Purpose ids come from the terms vocabulary; this layer only checks their shape.
PURPOSE_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]*")
MAX_PURPOSE_BYTES: Final = 48
#: A context label is one line without control characters (ONE_LINE_PATTERN): people see it.
MAX_CONTEXT_BYTES: Final = 64
MAX_GRANT_BYTES: Final = 1536
MAX_REVOCATION_BYTES: Final = 256
MAX_REQUEST_BYTES: Final = 1280


class Onward(enum.Enum):
    """What the grantee may pass on: nothing, or aggregates that identify nobody. See §4.1."""

    NONE = "none"
    AGGREGATE_ONLY = "aggregate-only"


# -- readers and checks shared by every structure of spec/grants.md (§1) --------------------------


def check_time(ms: int, what: str) -> int:
    """``ms`` if it is an int of milliseconds since the epoch (0 .. 2**64-1); else local.usage."""
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms < 1 << 64:
        raise UsageError(f"{what} is an int of milliseconds since the epoch")
    return ms


def check_names(names: Iterable[str]) -> tuple[str, ...]:
    """1..32 distinct field names, returned in their canonical (ascending) order."""
    if isinstance(names, str):
        raise UsageError("field names come as a collection of str, not one str")
    found = tuple(names)
    for name in found:
        if not isinstance(name, str) or len(name) > MAX_FIELD_NAME_BYTES:
            raise UsageError(f"a field name is a str of at most {MAX_FIELD_NAME_BYTES} bytes")
        if not FIELD_NAME_PATTERN.fullmatch(name):
            raise UsageError(f"field name {name!r} must match {FIELD_NAME_PATTERN.pattern}")
    ordered = tuple(sorted(set(found)))
    if len(ordered) != len(found) or not 1 <= len(found) <= MAX_GRANT_FIELDS:
        raise UsageError(f"name 1..{MAX_GRANT_FIELDS} fields, each once: {found!r:.120}")
    return ordered


def expect_names(value: Value, what: str) -> tuple[str, ...]:
    """Read an array of field names: strictly ascending, each ``[a-z][a-z0-9-]*`` <= 32 bytes."""
    items = expect_array(value, what, max_len=MAX_GRANT_FIELDS)
    if not items:
        raise SchemaError(f"{what}: names no field")
    names = tuple(
        expect_str(item, what, max_bytes=MAX_FIELD_NAME_BYTES, pattern=FIELD_NAME_PATTERN)
        for item in items
    )
    if any(a >= b for a, b in itertools.pairwise(names)):
        raise SchemaError(f"{what}: names must be distinct and in ascending order")
    return names


def expect_peer(value: Value, what: str) -> PeerId:
    """Read a bin32 peer id (identity.bad_key if it is no usable Ed25519 key)."""
    return PeerId(expect_bytes(value, what, size=PEER_ID_BYTES))


def _refuse_version(fields: list[Value], what: str) -> None:
    # Version before arity, so a later version with other fields is refused as such.
    version = fields[0] if fields else None
    if isinstance(version, bool) or version != GRANTS_VERSION:
        raise UnsupportedVersionError(
            f"{what} version {version!r:.20}; this node speaks {GRANTS_VERSION}",
            hint=UnsupportedVersionError.code,
        )


def read_signed(data: bytes, what: str, *, arity: int, max_bytes: int) -> SignedParts:
    """Split ``[signed_bytes, sig]``, check version 1 and then the arity; does NOT verify."""
    parts = split_signed_any_arity(data, what, max_bytes=max_bytes)
    _refuse_version(parts.fields, what)
    expect_array(parts.fields, what, arity=arity)
    return parts


def read_body(data: bytes, what: str, *, arity: int, max_bytes: int) -> list[Value]:
    """Decode an unsigned message body: an array, version 1, then exactly ``arity`` fields."""
    fields = expect_array(decode(data, max_bytes=max_bytes), what)
    _refuse_version(fields, what)
    return expect_array(fields, what, arity=arity)


def _check_purpose_context(purpose: str, context: str) -> None:
    if not isinstance(purpose, str) or len(purpose) > MAX_PURPOSE_BYTES:
        raise UsageError(f"a purpose id is a str of at most {MAX_PURPOSE_BYTES} bytes")
    if not PURPOSE_PATTERN.fullmatch(purpose):
        raise UsageError(f"purpose {purpose!r} must match {PURPOSE_PATTERN.pattern}")
    check_line(context, "a context label", MAX_CONTEXT_BYTES, UsageError, empty=True)


def _purpose_context(purpose: Value, context: Value, what: str) -> tuple[str, str]:
    return (
        expect_str(
            purpose, f"{what} purpose", max_bytes=MAX_PURPOSE_BYTES, pattern=PURPOSE_PATTERN
        ),
        expect_str(
            context, f"{what} context", max_bytes=MAX_CONTEXT_BYTES, pattern=ONE_LINE_PATTERN
        ),
    )


# -- the grant (§4) -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Grant:
    """A signed grant: ``grantor`` lets ``grantee`` hold ``fields`` for ``purpose`` until then."""

    grantor: PeerId
    grantee: PeerId
    grant_id: bytes
    agreement_id: bytes
    fields: tuple[str, ...]
    purpose: str
    context: str
    onward: Onward
    issued_ms: int
    not_after_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def issue(
        cls,
        identity: SigningIdentity,
        *,
        grantee: PeerId,
        grant_id: bytes,
        agreement_id: bytes,
        fields: Iterable[str],
        purpose: str,
        context: str,
        onward: Onward,
        issued_ms: int,
        not_after_ms: int,
    ) -> Grant:
        """Sign a grant; ``grant_id`` is 16 fresh random bytes. Layout: spec/grants.md §4.1."""
        if not isinstance(grantee, PeerId):
            raise UsageError("a grantee is a PeerId")
        if not isinstance(grant_id, bytes) or len(grant_id) != GRANT_ID_BYTES:
            raise UsageError(f"a grant id is {GRANT_ID_BYTES} random bytes")
        if not isinstance(agreement_id, bytes) or len(agreement_id) != AGREEMENT_ID_BYTES:
            raise UsageError(f"an agreement id is {AGREEMENT_ID_BYTES} bytes")
        names = check_names(fields)
        _check_purpose_context(purpose, context)
        if not isinstance(onward, Onward):
            raise UsageError("onward is an Onward rule")
        check_time(issued_ms, "issued_ms")
        if check_time(not_after_ms, "not_after_ms") <= issued_ms:
            raise UsageError("a grant's not_after_ms must come after its issued_ms")
        signed: list[Value] = [
            GRANTS_VERSION,
            identity.peer_id.key,
            grantee.key,
            grant_id,
            agreement_id,
            list(names),
            purpose,
            context,
            onward.value,
            issued_ms,
            not_after_ms,
        ]
        data = sign_structure(signed, GRANT_DOMAIN, identity)
        return cls(
            identity.peer_id,
            grantee,
            grant_id,
            agreement_id,
            names,
            purpose,
            context,
            onward,
            issued_ms,
            not_after_ms,
            data,
        )

    @classmethod
    def decode(cls, data: bytes) -> Grant:
        """Parse a grant and verify the grantor's signature (not the parties or the time)."""
        parts = read_signed(data, "grant", arity=11, max_bytes=MAX_GRANT_BYTES)
        (
            _,
            grantor,
            grantee,
            grant_id,
            agreement_id,
            names,
            purpose,
            context,
            onward,
            issued,
            until,
        ) = parts.fields
        signer = expect_peer(grantor, "grant grantor")
        recipient = expect_peer(grantee, "grant grantee")
        grant_id_bytes = expect_bytes(grant_id, "grant id", size=GRANT_ID_BYTES)
        agreement = expect_bytes(agreement_id, "grant agreement id", size=AGREEMENT_ID_BYTES)
        field_names = expect_names(names, "grant fields")
        purpose_text, context_text = _purpose_context(purpose, context, "grant")
        onward_text = expect_str(onward, "grant onward", max_bytes=16)
        try:
            rule = Onward(onward_text)
        except ValueError:
            raise SchemaError(f"grant onward rule {onward_text!r} is not one of v1's") from None
        issued_ms = expect_int(issued, "grant issued_ms")
        not_after_ms = expect_int(until, "grant not_after_ms", lo=issued_ms + 1)
        grant = cls(
            signer,
            recipient,
            grant_id_bytes,
            agreement,
            field_names,
            purpose_text,
            context_text,
            rule,
            issued_ms,
            not_after_ms,
            bytes(data),
        )
        parts.verify(signer, GRANT_DOMAIN, error=GrantSignatureError, what="grant")
        return grant

    def check_live(self, now_ms: int) -> None:
        """Raise grants.expired unless ``now_ms`` is before ``not_after_ms``."""
        if now_ms >= self.not_after_ms:
            raise GrantExpiredError(
                f"grant {self.grant_id.hex()} expired at {format_time_ms(self.not_after_ms)}; "
                "the data must be deleted, ask the person for a new grant"
            )

    def check_parties(self, *, grantor: PeerId, grantee: PeerId) -> None:
        """Raise grants.wrong_party unless this grant is from ``grantor`` to ``grantee``."""
        if (self.grantor, self.grantee) != (grantor, grantee):
            raise GrantPartyError(
                f"grant {self.grant_id.hex()} is from {self.grantor.short} to "
                f"{self.grantee.short}, not from {grantor.short} to {grantee.short}"
            )


def open_grant(data: bytes, *, grantor: PeerId, grantee: PeerId, now_ms: int) -> Grant:
    """Decode a grant and check signature, parties and time, in that order. See §4.2."""
    grant = Grant.decode(data)
    grant.check_parties(grantor=grantor, grantee=grantee)
    grant.check_live(now_ms)
    return grant


# -- revocation (§4.3) -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Revocation:
    """The grantor withdraws grant ``grant_id`` from ``grantee`` as of ``revoked_ms``. See §4.3."""

    grantor: PeerId
    grantee: PeerId
    grant_id: bytes
    revoked_ms: int
    encoded: bytes = field(repr=False)

    @classmethod
    def issue(cls, identity: SigningIdentity, grant: Grant, revoked_ms: int) -> Revocation:
        """Sign the revocation of ``grant``, which ``identity`` must have issued."""
        if grant.grantor != identity.peer_id:
            raise UsageError("only the grantor can revoke a grant")
        check_time(revoked_ms, "revoked_ms")
        signed: list[Value] = [
            GRANTS_VERSION,
            grant.grantor.key,
            grant.grantee.key,
            grant.grant_id,
            revoked_ms,
        ]
        data = sign_structure(signed, REVOCATION_DOMAIN, identity)
        return cls(grant.grantor, grant.grantee, grant.grant_id, revoked_ms, data)

    @classmethod
    def decode(cls, data: bytes) -> Revocation:
        """Parse a revocation and verify the grantor's signature (not the parties)."""
        parts = read_signed(data, "revocation", arity=5, max_bytes=MAX_REVOCATION_BYTES)
        _, grantor, grantee, grant_id, revoked_ms = parts.fields
        signer = expect_peer(grantor, "revocation grantor")
        revocation = cls(
            signer,
            expect_peer(grantee, "revocation grantee"),
            expect_bytes(grant_id, "revocation grant id", size=GRANT_ID_BYTES),
            expect_int(revoked_ms, "revocation revoked_ms"),
            bytes(data),
        )
        parts.verify(signer, REVOCATION_DOMAIN, error=GrantSignatureError, what="revocation")
        return revocation

    def check_for(self, grant: Grant) -> None:
        """Raise grants.wrong_party unless this revokes ``grant`` and comes from its grantor."""
        if (self.grantor, self.grantee, self.grant_id) != (
            grant.grantor,
            grant.grantee,
            grant.grant_id,
        ):
            raise GrantPartyError(
                f"revocation of grant {self.grant_id.hex()} by {self.grantor.short} does not "
                f"match grant {grant.grant_id.hex()} from {grant.grantor.short}"
            )


# -- request (§4.4) -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GrantRequest:
    """``grant.request``: a vendor asks for ``fields`` for ``purpose``, for ``duration_ms``."""

    fields: tuple[str, ...]
    purpose: str
    context: str
    duration_ms: int

    def __post_init__(self) -> None:
        if check_names(self.fields) != self.fields:
            raise UsageError("request fields are distinct names in ascending order")
        _check_purpose_context(self.purpose, self.context)
        if check_time(self.duration_ms, "duration_ms") == 0:
            raise UsageError("a requested duration is at least 1 ms")


def encode_request(request: GrantRequest) -> bytes:
    """``enc([1, fields, purpose, context, duration_ms])``. See spec/grants.md §4.4."""
    fields: list[Value] = list(request.fields)
    return encode([GRANTS_VERSION, fields, request.purpose, request.context, request.duration_ms])


def decode_request(data: bytes) -> GrantRequest:
    """Decode a ``grant.request`` body; raises only remote AmityErrors. See §4.4."""
    _, names, purpose, context, duration = read_body(
        data, "grant.request body", arity=5, max_bytes=MAX_REQUEST_BYTES
    )
    purpose_text, context_text = _purpose_context(purpose, context, "grant.request")
    return GrantRequest(
        expect_names(names, "grant.request fields"),
        purpose_text,
        context_text,
        expect_int(duration, "grant.request duration_ms", lo=1),
    )
