"""Field updates: new values of a grant's fields, sent under the same grant with a new version.

When the person changes a vault field, each grantee that holds it under a live grant gets a
``grant.update``: the grant's id, a version number (1, 2, …; the delivery itself is version 0)
and **every** value the grant names as they are now, sealed to the grantee's link key exactly as
a delivery is (:func:`~amity.protocol.delivery.seal_to_link`). Carrying every value makes a
version a complete state: a grantee that takes version 3 without ever seeing 2 holds what the
person holds. See spec/signals.md §2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from amity.protocol.claims import DERIVATIONS, MAX_CLAIM_BYTES, DerivedClaim
from amity.protocol.delivery import (
    MAX_DELIVERY_BYTES,
    check_contents,
    open_sealed,
    seal_to_link,
    sealable,
)
from amity.protocol.encoding import INT_MAX, encode, expect_array, expect_bytes, expect_int
from amity.protocol.errors import GrantFieldsError, UsageError
from amity.protocol.grants import (
    GRANT_ID_BYTES,
    GRANTS_VERSION,
    MAX_GRANT_FIELDS,
    Grant,
    check_time,
    read_body,
)
from amity.protocol.linkcert import LinkKey
from amity.protocol.vault import Field, field_from_value

__all__ = ["MSG_UPDATE", "Update", "seal_update", "open_update"]

MSG_UPDATE: Final = "grant.update"
_WHAT: Final = "grant.update"


@dataclass(frozen=True, slots=True)
class Update:
    """An opened ``grant.update``: version ``version`` of every value of grant ``grant_id``."""

    grant_id: bytes
    version: int
    updated_ms: int
    fields: tuple[Field, ...] = field(repr=False)
    claims: tuple[DerivedClaim, ...] = field(repr=False)

    def check_for(self, grant: Grant) -> None:
        """The values are exactly those ``grant`` names (grants.field_mismatch), its claims by
        its grantor for its grantee (grants.wrong_party). See spec/signals.md §2.2."""
        if self.grant_id != grant.grant_id:
            raise UsageError("check an update against the grant it names")
        check_contents(grant, self.fields, self.claims, GrantFieldsError)


def seal_update(
    grant: Grant,
    version: int,
    fields: Sequence[Field],
    claims: Sequence[DerivedClaim] = (),
    *,
    updated_ms: int,
    link_public: bytes,
    ephemeral_private: bytes,
) -> bytes:
    """The ``grant.update`` body: version ``version`` of ``grant``'s values, sealed to the
    grantee's ``link_public`` with 32 fresh ``ephemeral_private`` bytes. See §2.1."""
    values, sealed_claims = sealable(
        grant, fields, claims, link_public, ephemeral_private, what="seal_update()"
    )
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= INT_MAX:
        raise UsageError("an update's version is an int from 1 (the delivery is version 0)")
    check_time(updated_ms, "updated_ms")
    plaintext = encode([GRANTS_VERSION, grant.grant_id, version, updated_ms, values, sealed_claims])
    if len(plaintext) > MAX_DELIVERY_BYTES:
        raise UsageError(f"update of {len(plaintext)} bytes; the limit is {MAX_DELIVERY_BYTES}")
    return seal_to_link(plaintext, link_public, ephemeral_private)


def open_update(body: bytes, *, link_key: LinkKey) -> Update:
    """Decrypt and read a ``grant.update`` body; the grantee then checks it against the grant it
    holds (:meth:`Update.check_for`) and the version it holds. See spec/signals.md §2.2."""
    plaintext = open_sealed(body, link_key, _WHAT)
    _, grant_id, version, updated_ms, values, sealed_claims = read_body(
        plaintext, "grant update", arity=6, max_bytes=MAX_DELIVERY_BYTES
    )
    gid = expect_bytes(grant_id, "update grant id", size=GRANT_ID_BYTES)
    number = expect_int(version, "update version", lo=1)
    at_ms = expect_int(updated_ms, "update updated_ms")
    items = expect_array(values, "update fields", max_len=MAX_GRANT_FIELDS)
    fields = tuple(field_from_value(item, "updated field") for item in items)
    claims = tuple(
        DerivedClaim.decode(expect_bytes(item, "updated claim", max_size=MAX_CLAIM_BYTES))
        for item in expect_array(sealed_claims, "update claims", max_len=len(DERIVATIONS))
    )
    return Update(gid, number, at_ms, fields, claims)
