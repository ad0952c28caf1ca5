"""The audit log: append-only, hash-chained, on both sides; and consent receipts as JSON. Sans-IO.

Each entry is a canonical array that names its index and the hash of the entry before it, so an
edit, a removal, an insertion or a reordering anywhere breaks the chain; keeping the head (length
and last hash) beside the log catches a cut at the end as well. The consent receipt export is
shaped like Kantara Consent Receipt v1.1 and ISO/IEC TS 27560. See spec/grants.md §9 and §10.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from amity.protocol.encoding import (
    Value,
    encode,
    expect_bytes,
    expect_int,
    expect_optional_bytes,
    expect_str,
)
from amity.protocol.errors import AmityError, AuditChainError, JwsError, UsageError
from amity.protocol.errors import format_time_ms as _iso
from amity.protocol.grants import GRANTS_VERSION, Grant, Onward, check_time, read_body
from amity.protocol.identity import PEER_ID_BYTES, PeerId, SigningIdentity
from amity.protocol.jws import canonical_json, sign_jws, verify_jws

__all__ = [
    "AUDIT_DOMAIN",
    "HASH_BYTES",
    "MAX_ENTRY_BYTES",
    "MAX_SUBJECT_BYTES",
    "MAX_DETAIL_BYTES",
    "KIND_PATTERN",
    "AUDIT_KINDS",
    "AuditHead",
    "GENESIS",
    "AuditEntry",
    "entry_hash",
    "append",
    "decode_entry",
    "verify_chain",
    "Controller",
    "CONSENT_RECEIPT_VERSION",
    "consent_receipt_json",
    "sign_consent_receipt",
    "read_consent_receipt",
]

AUDIT_DOMAIN: Final = b"amity/audit/v1\x00"
HASH_BYTES: Final = 32
MAX_SUBJECT_BYTES: Final = 64
MAX_DETAIL_BYTES: Final = 1024
MAX_ENTRY_BYTES: Final = 1280
KIND_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*")
_MAX_KIND_BYTES: Final = 32
#: The kinds amity itself writes, and what the subject of each is. Others may be added.
AUDIT_KINDS: Final = {
    "terms.offer": "a terms offer sent or received (subject: the terms id)",
    "agreement": "an agreement both signed (subject: the agreement id)",
    "terms.closed": "a negotiation rejected, withdrawn or expired (subject: the terms id)",
    "grant.issued": "we issued a grant (subject: the grant id)",
    "grant.delivered": "we delivered a grant's data (subject: the grant id)",
    "grant.received": "we received a grant's data (subject: the grant id)",
    "grant.read": "a field of a grant we hold was read (subject: the grant id)",
    "grant.refused": "a read outside any live grant was refused (subject: empty)",
    "grant.revoked": "a grant was revoked (subject: the grant id)",
    "grant.deleted": "a grant's data was deleted (subject: the grant id)",
    "grant.updated": "a grant's values were sent or replaced in a new version (subject: the grant id)",
    "receipt.received": "a delivery or deletion receipt arrived (subject: the grant id)",
    "holdings.answered": "a holdings statement was sent or received (subject: the query id)",
}


@dataclass(frozen=True, slots=True)
class AuditHead:
    """Where a log stands: how many entries it has and the hash of the last (zeros if none)."""

    length: int
    hash: bytes


#: The head of an empty log: the first entry has index 0 and names 32 zero bytes as prev_hash.
GENESIS: Final = AuditHead(0, bytes(HASH_BYTES))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One decoded entry; ``encoded`` is the exact bytes its hash covers. See §9.1."""

    index: int
    prev_hash: bytes
    ts_ms: int
    kind: str
    peer: PeerId | None
    subject: bytes
    detail: str
    encoded: bytes = field(repr=False)

    @property
    def hash(self) -> bytes:
        return entry_hash(self.encoded)


def entry_hash(entry: bytes) -> bytes:
    """BLAKE2b-256 of ``amity/audit/v1\\0 || entry``."""
    return hashlib.blake2b(AUDIT_DOMAIN + entry, digest_size=HASH_BYTES).digest()


def append(
    head: AuditHead,
    *,
    ts_ms: int,
    kind: str,
    peer: PeerId | None,
    subject: bytes,
    detail: str,
) -> tuple[bytes, AuditHead]:
    """The next entry after ``head`` and the new head; the node stores both in one commit."""
    if not isinstance(head, AuditHead):
        raise UsageError("append() continues from an AuditHead (GENESIS for a new log)")
    check_time(ts_ms, "ts_ms")
    if not isinstance(kind, str) or len(kind) > _MAX_KIND_BYTES or not KIND_PATTERN.fullmatch(kind):
        raise UsageError(f"an audit kind is a dotted lower-case name of <= {_MAX_KIND_BYTES} bytes")
    if peer is not None and not isinstance(peer, PeerId):
        raise UsageError("peer is a PeerId or None")
    if not isinstance(subject, bytes) or len(subject) > MAX_SUBJECT_BYTES:
        raise UsageError(f"an audit subject is at most {MAX_SUBJECT_BYTES} bytes")
    try:
        detail_bytes = len(detail.encode("utf-8")) if isinstance(detail, str) else -1
    except UnicodeEncodeError:
        detail_bytes = -1
    if not 0 <= detail_bytes <= MAX_DETAIL_BYTES:
        raise UsageError(f"an audit detail is a str of at most {MAX_DETAIL_BYTES} UTF-8 bytes")
    fields: list[Value] = [
        GRANTS_VERSION,
        head.length,
        head.hash,
        ts_ms,
        kind,
        None if peer is None else peer.key,
        subject,
        detail,
    ]
    entry = encode(fields)
    return entry, AuditHead(head.length + 1, entry_hash(entry))


def decode_entry(data: bytes) -> AuditEntry:
    """Decode one entry (encoding.*, version.unsupported, identity.bad_key on bad bytes)."""
    _, index, prev, ts_ms, kind, peer, subject, detail = read_body(
        data, "audit entry", arity=8, max_bytes=MAX_ENTRY_BYTES
    )
    peer_key = expect_optional_bytes(peer, "audit entry peer", size=PEER_ID_BYTES)
    return AuditEntry(
        expect_int(index, "audit entry index"),
        expect_bytes(prev, "audit entry prev_hash", size=HASH_BYTES),
        expect_int(ts_ms, "audit entry ts_ms"),
        expect_str(kind, "audit entry kind", max_bytes=_MAX_KIND_BYTES, pattern=KIND_PATTERN),
        None if peer_key is None else PeerId(peer_key),
        expect_bytes(subject, "audit entry subject", max_size=MAX_SUBJECT_BYTES),
        expect_str(detail, "audit entry detail", max_bytes=MAX_DETAIL_BYTES),
        bytes(data),
    )


def verify_chain(
    entries: Iterable[bytes], *, start: AuditHead = GENESIS, head: AuditHead | None = None
) -> AuditHead:
    """Check that ``entries`` continue ``start`` link by link (and end at ``head``, if given)."""
    current = start
    for position, data in enumerate(entries):
        at = start.length + position
        try:
            entry = decode_entry(data)
        except AmityError as exc:
            raise AuditChainError(f"audit entry {at} does not decode ({exc.code}): {exc}") from None
        if entry.index != current.length:
            raise AuditChainError(
                f"audit entry {at} says it is entry {entry.index}: entries were removed, "
                "inserted or reordered"
            )
        if entry.prev_hash != current.hash:
            raise AuditChainError(
                f"audit entry {at} does not follow entry {at - 1}: one of them was edited"
            )
        current = AuditHead(current.length + 1, entry_hash(data))
    if head is not None and head != current:
        raise AuditChainError(
            f"the log ends at {current.length} entries (last hash {current.hash.hex()[:16]}), "
            f"but its head says {head.length} ({head.hash.hex()[:16]}): entries were cut or edited"
        )
    return current


# -- consent receipts (spec/grants.md §10) --------------------------------------------------------

CONSENT_RECEIPT_VERSION: Final = "KI-CR-v1.1.0"


@dataclass(frozen=True, slots=True)
class Controller:
    """The grantee as a PII controller, as the person's node knows it (from its peer card)."""

    name: str
    contact: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    url: str = ""


def consent_receipt_json(
    grant: Grant,
    *,
    controller: Controller | None = None,
    jurisdiction: str = "",
    policy_url: str = "",
    language: str = "en",
    purpose_category: Sequence[str] = (),
) -> dict[str, Any]:
    """A Kantara CR v1.1-shaped record of ``grant`` (plus an ``amity`` member). See §10."""
    if not isinstance(grant, Grant):
        raise UsageError("consent_receipt_json() takes a verified Grant")
    if isinstance(purpose_category, str):
        raise UsageError("purpose_category is a list of category names, not one str")
    who = controller or Controller(name=grant.grantee.did)
    onward = (
        "the recipient shares nothing onward"
        if grant.onward is Onward.NONE
        else "the recipient may share only aggregates that identify nobody"
    )
    return {
        "version": CONSENT_RECEIPT_VERSION,
        "jurisdiction": jurisdiction,
        "consentTimestamp": grant.issued_ms // 1000,
        "collectionMethod": "amity grant: signed by the PII principal's own node",
        "consentReceiptID": str(uuid.UUID(bytes=grant.grant_id)),
        "language": language,
        "piiPrincipalId": grant.grantor.did,
        "piiControllers": [
            {
                "piiController": who.name,
                "onBehalf": False,
                "contact": who.contact,
                "address": who.address,
                "email": who.email,
                "phone": who.phone,
                "piiControllerUrl": who.url,
            }
        ],
        "policyUrl": policy_url,
        "services": [
            {
                "service": grant.context or grant.purpose,
                "purposes": [
                    {
                        "purpose": grant.purpose,
                        "purposeCategory": list(purpose_category) or [grant.purpose],
                        "consentType": "EXPLICIT",
                        "piiCategory": list(grant.fields),
                        "primaryPurpose": True,
                        "termination": (
                            f"expires {_iso(grant.not_after_ms)}; revocable at any time; the "
                            "data is deleted on expiry, revocation or the end of the relationship"
                        ),
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "amity": {
            "grantId": grant.grant_id.hex(),
            "agreementId": grant.agreement_id.hex(),
            "grantee": grant.grantee.did,
            "context": grant.context,
            "onward": grant.onward.value,
            "onwardText": onward,
            "issuedMs": grant.issued_ms,
            "notAfterMs": grant.not_after_ms,
            "grantHex": grant.encoded.hex(),
        },
    }


def sign_consent_receipt(identity: SigningIdentity, receipt: dict[str, Any]) -> str:
    """``receipt`` as a compact JWS (EdDSA, ``typ`` JWT) signed by one of its two parties: the
    person whose grant it is, or the vendor it was given to (§10.1)."""
    parties = {receipt.get("piiPrincipalId"), receipt.get("amity", {}).get("grantee")}
    if identity.peer_id.did not in parties:
        raise UsageError("a consent receipt is signed by the grant's grantor or its grantee")
    return sign_jws(identity, canonical_json(receipt), typ="JWT")


def read_consent_receipt(token: str) -> tuple[PeerId, dict[str, Any], Grant]:
    """Verify a signed consent receipt on its own: who signed it, the receipt, and its grant.

    The JWS must verify against its ``kid``; the signer must be the grantor or the grantee; the
    grant inside (``amity.grantHex``) must verify against the grantor's key and be the grant the
    receipt describes (receipt id, grant id, agreement, parties). Raises audit.bad_jws, or the
    grant's own error.
    """
    signer, _, payload = verify_jws(token)
    try:
        receipt = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise JwsError("the signed receipt is not JSON") from None
    if not isinstance(receipt, dict) or receipt.get("version") != CONSENT_RECEIPT_VERSION:
        raise JwsError(f"the signed payload is not a {CONSENT_RECEIPT_VERSION} consent receipt")
    extension = receipt.get("amity")
    if not isinstance(extension, dict) or not isinstance(extension.get("grantHex"), str):
        raise JwsError("the receipt carries no signed grant (amity.grantHex)")
    try:
        raw = bytes.fromhex(extension["grantHex"])
    except ValueError:
        raise JwsError("amity.grantHex is not hex") from None
    grant = Grant.decode(raw)
    described = (
        receipt.get("consentReceiptID"),
        receipt.get("piiPrincipalId"),
        extension.get("grantee"),
        extension.get("grantId"),
        extension.get("agreementId"),
    )
    actual = (
        str(uuid.UUID(bytes=grant.grant_id)),
        grant.grantor.did,
        grant.grantee.did,
        grant.grant_id.hex(),
        grant.agreement_id.hex(),
    )
    if described != actual:
        raise JwsError("the receipt does not describe the grant it carries")
    if signer not in (grant.grantor, grant.grantee):
        raise JwsError(f"the receipt is signed by {signer.short}, neither party of the grant")
    return signer, receipt, grant
