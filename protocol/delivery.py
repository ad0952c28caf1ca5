"""Grant delivery: the only way data travels, a signed grant and its values sealed together.

The ``grant.deliver`` body holds the grant and exactly the fields (and derived claims) it names,
encrypted to the grantee's link key in a libsodium ``crypto_box_seal`` box (the construction of
spec/sealed.md §2) with the ephemeral key passed in, so runs and vectors are reproducible. The
envelope around it says who sent it; the box keeps the values from anyone but the grantee.
See spec/grants.md §5.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import nacl.bindings
import nacl.exceptions

from amity.protocol.claims import DERIVATIONS, MAX_CLAIM_BYTES, DerivedClaim
from amity.protocol.encoding import Value, encode, expect_array, expect_bytes
from amity.protocol.errors import (
    AmityError,
    GrantFieldsError,
    GrantPartyError,
    SealDecryptError,
    SealKeyError,
    UsageError,
)
from amity.protocol.grants import (
    GRANTS_VERSION,
    MAX_GRANT_BYTES,
    MAX_GRANT_FIELDS,
    Grant,
    check_time,
    open_grant,
    read_body,
)
from amity.protocol.identity import PeerId
from amity.protocol.linkcert import LINK_KEY_BYTES, LinkKey, is_usable_link_key
from amity.protocol.vault import Field, field_from_value, field_to_value

__all__ = [
    "MSG_DELIVER",
    "MAX_DELIVERY_BYTES",
    "MAX_DELIVER_BODY_BYTES",
    "BOX_OVERHEAD_BYTES",
    "Delivery",
    "deliver",
    "delivery_link_key",
    "open_delivery",
    "check_contents",
    "sealable",
    "seal_to_link",
    "open_sealed",
]

MSG_DELIVER: Final = "grant.deliver"
#: The plaintext: a grant, 32 fields of at most 4200 bytes each, two claims, and headers.
MAX_DELIVERY_BYTES: Final = 144 * 1024
#: Ephemeral public key (32) and Poly1305 tag (16), as in crypto_box_seal.
BOX_OVERHEAD_BYTES: Final = 48
MAX_DELIVER_BODY_BYTES: Final = MAX_DELIVERY_BYTES + BOX_OVERHEAD_BYTES + 64


@dataclass(frozen=True, slots=True)
class Delivery:
    """An opened delivery: a verified, live grant and exactly the values it names."""

    grant: Grant
    fields: tuple[Field, ...] = field(repr=False)
    claims: tuple[DerivedClaim, ...] = field(repr=False)


def check_contents(
    grant: Grant,
    fields: Sequence[Field],
    claims: Sequence[DerivedClaim],
    error: type[AmityError],
) -> None:
    """``fields`` and ``claims`` are exactly the grant's names, in order (§5.2 step 7)."""
    raw = [name for name in grant.fields if name not in DERIVATIONS]
    derived = [name for name in grant.fields if name in DERIVATIONS]
    given_raw = [item.name for item in fields]
    given_derived = [claim.kind for claim in claims]
    if given_raw != raw or given_derived != derived:
        raise error(
            f"grant {grant.grant_id.hex()} names fields {raw} and claims {derived}; the "
            f"delivery holds {given_raw} and {given_derived} (same names, same order)"
        )
    for claim in claims:
        claim.check_parties(issuer=grant.grantor, audience=grant.grantee)
        if claim.grant_id != grant.grant_id:
            raise error(f"the {claim.kind} claim belongs to grant {claim.grant_id.hex()}")


def deliver(
    grant: Grant,
    fields: Sequence[Field],
    claims: Sequence[DerivedClaim] = (),
    *,
    link_public: bytes,
    ephemeral_private: bytes,
) -> bytes:
    """Build a ``grant.deliver`` body sealed to the grantee's ``link_public``. See §5.1.

    ``ephemeral_private`` is 32 fresh random bytes, never used twice.
    """
    values, sealed_claims = sealable(
        grant, fields, claims, link_public, ephemeral_private, what="deliver()"
    )
    plaintext = encode([GRANTS_VERSION, grant.encoded, values, sealed_claims])
    if len(plaintext) > MAX_DELIVERY_BYTES:
        raise UsageError(f"delivery of {len(plaintext)} bytes; the limit is {MAX_DELIVERY_BYTES}")
    return seal_to_link(plaintext, link_public, ephemeral_private)


def sealable(
    grant: Grant,
    fields: Sequence[Field],
    claims: Sequence[DerivedClaim],
    link_public: bytes,
    ephemeral_private: bytes,
    *,
    what: str,
) -> tuple[list[Value], list[Value]]:
    """Check what a grantor seals for ``grant`` (local.usage): the grantee's link key, fresh
    ephemeral bytes, exactly the grant's values; the values and claims as they are encoded."""
    if not isinstance(link_public, bytes) or not is_usable_link_key(link_public):
        raise UsageError(f"{what} needs the grantee's certified X25519 link key (32 bytes)")
    if not isinstance(ephemeral_private, bytes) or len(ephemeral_private) != LINK_KEY_BYTES:
        raise UsageError(f"{what} needs {LINK_KEY_BYTES} bytes of fresh ephemeral secret")
    if not isinstance(grant, Grant) or not all(isinstance(f, Field) for f in fields):
        raise UsageError(f"{what} takes a Grant and vault Fields")
    if not all(isinstance(c, DerivedClaim) for c in claims):
        raise UsageError(f"{what} takes DerivedClaims as claims")
    try:
        check_contents(grant, fields, claims, UsageError)
    except GrantPartyError as exc:
        raise UsageError(f"{what} was given a claim for other parties: {exc.message}") from None
    return [field_to_value(item) for item in fields], [claim.encoded for claim in claims]


def seal_to_link(plaintext: bytes, link_public: bytes, ephemeral_private: bytes) -> bytes:
    """``enc([1, link_public, box])``: ``plaintext`` in a crypto_box_seal box. See §5.1."""
    ephemeral_public = nacl.bindings.crypto_scalarmult_base(ephemeral_private)
    # crypto_box_seal's nonce: BLAKE2b-192(epk || pk), as spec/sealed.md §2.
    nonce = hashlib.blake2b(ephemeral_public + link_public, digest_size=24).digest()
    boxed = nacl.bindings.crypto_box(plaintext, nonce, link_public, ephemeral_private)
    return encode([GRANTS_VERSION, link_public, ephemeral_public + boxed])


def _read_sealed(body: bytes, what: str) -> tuple[bytes, Value]:
    _, link_public, box = read_body(body, f"{what} body", arity=3, max_bytes=MAX_DELIVER_BODY_BYTES)
    return expect_bytes(link_public, f"{what} link key", size=LINK_KEY_BYTES), box


def delivery_link_key(body: bytes) -> bytes:
    """The public link key a ``grant.deliver`` (or ``grant.update``) body is sealed to."""
    return _read_sealed(body, "grant.deliver")[0]


def open_sealed(body: bytes, link_key: LinkKey, what: str) -> bytes:
    """The plaintext of a body sealed by :func:`seal_to_link`, steps 1-3 of §5.2."""
    link, box = _read_sealed(body, what)
    if link != link_key.public:
        raise SealKeyError(
            f"{what} is sealed to link key {link.hex()[:12]}, not to this node's "
            f"{link_key.public.hex()[:12]}; open it with the link key it names"
        )
    boxed = expect_bytes(box, f"{what} box", max_size=MAX_DELIVERY_BYTES + 48)
    if len(boxed) < BOX_OVERHEAD_BYTES:
        raise SealDecryptError(f"{what} box of {len(boxed)} bytes is shorter than 48")
    try:
        return nacl.bindings.crypto_box_seal_open(boxed, link_key.public, link_key.private)
    except (nacl.exceptions.CryptoError, nacl.exceptions.RuntimeError):
        raise SealDecryptError(f"{what} does not decrypt with this node's link key") from None


def open_delivery(
    body: bytes, *, grantor: PeerId, grantee: PeerId, link_key: LinkKey, now_ms: int
) -> Delivery:
    """Decrypt a ``grant.deliver`` body and check everything, in the order of §5.2."""
    check_time(now_ms, "now_ms")
    plaintext = open_sealed(body, link_key, "grant.deliver")
    _, grant_bytes, values, sealed_claims = read_body(
        plaintext, "grant delivery", arity=4, max_bytes=MAX_DELIVERY_BYTES
    )
    grant_data = expect_bytes(grant_bytes, "delivery grant", max_size=MAX_GRANT_BYTES)
    grant = open_grant(grant_data, grantor=grantor, grantee=grantee, now_ms=now_ms)
    items = expect_array(values, "delivery fields", max_len=MAX_GRANT_FIELDS)
    fields = tuple(field_from_value(item, "delivered field") for item in items)
    claims = tuple(
        DerivedClaim.decode(expect_bytes(item, "delivered claim", max_size=MAX_CLAIM_BYTES))
        for item in expect_array(sealed_claims, "delivery claims", max_len=len(DERIVATIONS))
    )
    check_contents(grant, fields, claims, GrantFieldsError)
    return Delivery(grant, fields, claims)
