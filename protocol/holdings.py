"""What a grantee holds, read and stated: a value under a live grant, or "what do you hold?".

Both read the holdings that :mod:`amity.protocol.holder` keeps: :func:`read` answers the vendor's
own software (only under a live grant, for its purpose), :func:`holdings_statement` answers the
person's question with a signed statement. Sans-IO. See spec/grants.md §8.5.
"""

from __future__ import annotations

from collections.abc import Iterable

from amity.protocol.claims import DerivedClaim
from amity.protocol.errors import NoGrantError, format_time_ms
from amity.protocol.holder import Holding, HoldingState
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.receipts import HeldGrant, HoldingsStatement
from amity.protocol.vault import Field

__all__ = ["read", "holdings_statement"]

_S = HoldingState


def read(
    holdings: Iterable[Holding], *, grantor: PeerId, name: str, purpose: str, now_ms: int
) -> Field | DerivedClaim:
    """The value of ``name`` under a live grant from ``grantor`` for ``purpose``, or no_grant."""
    live = [
        h
        for h in holdings
        if h.state is _S.HELD
        and h.grant.grantor == grantor
        and h.grant.purpose == purpose
        and name in h.grant.fields
        and now_ms < h.deadline_ms
    ]
    if not live:
        raise NoGrantError(
            f"no live grant from {grantor.short} covers {name!r} for purpose {purpose!r} at "
            f"{format_time_ms(now_ms)}; ask for it with a grant.request",
            hint=NoGrantError.code,
        )
    newest = max(live, key=lambda h: (h.grant.issued_ms, h.grant.grant_id))
    for item in newest.fields:
        if item.name == name:
            return item
    for claim in newest.claims:
        if claim.kind == name:
            return claim
    raise AssertionError("a delivery holds every name its grant lists")  # checked on delivery


def holdings_statement(
    holdings: Iterable[Holding],
    *,
    grantor: PeerId,
    query_id: bytes,
    now_ms: int,
    signer: SigningIdentity,
) -> HoldingsStatement:
    """Answer "what do you hold about me?": every HELD grant from ``grantor``, signed."""
    items = [
        HeldGrant(h.grant.grant_id, h.grant.fields, h.deadline_ms, h.version)
        for h in holdings
        if h.state is _S.HELD and h.grant.grantor == grantor
    ]
    return HoldingsStatement.issue(
        signer, grantor=grantor, query_id=query_id, at_ms=now_ms, items=items
    )
