"""The grantor's side of grants (a person's node): issue, revoke, ask, and what comes back.

A grant is issued only to a CONNECTED peer whose card carries a link key valid now, under an
agreement both signed, for a purpose that agreement allows, and travels in one ``grant.deliver``
sealed to that key. A receipt is kept only from the grantee of a grant we issued; a holdings
statement only as the first answer to a query we asked. Every step is an audit entry in the same
commit as the step itself. See spec/grants.md §4, §5, §7 and §8.6.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final, Protocol

from amity.protocol.agreement import Agreement
from amity.protocol.card import Card
from amity.protocol.claims import AGE_OVER, DERIVATIONS, DerivedClaim
from amity.protocol.core.grants.agreements import check_purpose, newest
from amity.protocol.core.grants.effects import (
    Audit,
    DecideRequest,
    Effect,
    Issued,
    KeepReceipt,
    KeepStatement,
    ReceiptCame,
    SaveIssued,
    SaveQuery,
    SaveRevocation,
    Send,
    StatementCame,
)
from amity.protocol.core.grants.host import GrantsHost, Vault
from amity.protocol.delivery import MSG_DELIVER, deliver
from amity.protocol.envelope import Envelope
from amity.protocol.errors import GrantPartyError, NodeError, UsageError, format_time_ms
from amity.protocol.grants import GRANT_ID_BYTES, MSG_REVOKE, Grant, Onward, Revocation
from amity.protocol.identity import PeerId
from amity.protocol.receipts import (
    MSG_HOLDINGS,
    DeletionReceipt,
    HoldingsStatement,
    UpdateReceipt,
    encode_holdings_query,
    open_receipt,
)
from amity.protocol.relationship import Relationship, RelationshipState
from amity.protocol.vault import Field

__all__ = [
    "Peers",
    "connected",
    "split_names",
    "sources",
    "issue",
    "revoke",
    "ask_holdings",
    "on_receipt",
]

#: Fresh random bytes, ``n`` at a time (os.urandom in the daemon, the run's stream in a simulation).
Random = Callable[[int], bytes]
_EPHEMERAL_BYTES: Final = 32


class Peers(Protocol):
    """Whatever knows the node's relationships (a node's core host, the grants host)."""

    def relationship(self, peer: PeerId) -> Relationship | None: ...


def connected(host: Peers, peer: PeerId, doing: str) -> Relationship:
    """The CONNECTED relationship with ``peer``, else a NodeError saying why not."""
    rel = host.relationship(peer)
    if rel is None or rel.state is not RelationshipState.CONNECTED:
        state = "no relationship" if rel is None else f"the relationship is {rel.state.value}"
        raise NodeError(f"cannot {doing} {peer.short}: {state}")
    return rel


def split_names(specs: Iterable[str]) -> tuple[list[str], dict[str, int]]:
    """Grant field names from ``email``, ``age-over:18``, ``country-of``: names, and the ages."""
    names: list[str] = []
    ages: dict[str, int] = {}
    for spec in specs:
        name, sep, arg = spec.strip().partition(":")
        if name == AGE_OVER:
            if not arg.isdigit():
                raise UsageError("say which age the claim states: age-over:18")
            ages[name] = int(arg)
        elif sep:
            raise UsageError(f"{spec!r}: only age-over takes a value (age-over:18)")
        names.append(name)
    return names, ages


def sources(vault: Vault, names: Iterable[str]) -> dict[str, Field]:
    """The vault field each grant name needs: the field itself, or a claim's source field."""
    found: dict[str, Field] = {}
    for name in names:
        kind = DERIVATIONS.get(name)
        item = vault.get(name) if kind is None else vault.of_type(kind)
        if item is None:
            if kind is None:
                raise NodeError(
                    f"your vault has no field {name!r}: amity vault set {name} TYPE VALUE"
                )
            raise NodeError(f"{name} is derived from your {kind.value} field; add one first")
        found[name] = item
    return found


def _card(host: GrantsHost, peer: PeerId, now_ms: int) -> Card:
    card = connected(host, peer, "grant data to").peer_card
    if card is None:
        raise NodeError(f"{peer.short} has not sent its peer card yet; wait until it connects")
    cert = card.link_cert
    if not cert.not_before_ms <= now_ms < cert.not_after_ms:
        raise NodeError(
            f"the link key on {peer.short}'s card is valid until "
            f"{format_time_ms(cert.not_after_ms)}; a fresh card comes when it next connects"
        )
    return card


def issue(
    host: GrantsHost,
    peer: PeerId,
    names: Iterable[str],
    *,
    purpose: str,
    context: str,
    duration_ms: int,
    now_ms: int,
    random: Random,
    vault: Vault | None = None,
    given: Mapping[str, Field] | None = None,
    ages: Mapping[str, int] | None = None,
    agreement: Agreement | None = None,
    onward: Onward = Onward.NONE,
    request_id: int | None = None,
) -> tuple[Grant, list[Effect]]:
    """Sign a grant of ``names`` to ``peer`` and seal its values: the grant and the effects.

    The host's :meth:`~amity.protocol.core.grants.host.GrantsHost.check_grantee` may refuse
    first (whether the owner asked or her rule answered a request).
    The values come from ``given`` or else from ``vault`` (the host's by default); ``agreement``
    defaults to the newest in force with ``peer``.
    """
    host.check_grantee(peer)
    card = _card(host, peer, now_ms)
    names = list(names)
    terms = newest(host, peer) if agreement is None else agreement
    check_purpose(terms, purpose)
    found = dict(given) if given is not None else sources(vault or host.vault, names)
    identity = host.keyring.identity
    grant = Grant.issue(
        identity,
        grantee=peer,
        grant_id=random(GRANT_ID_BYTES),
        agreement_id=terms.agreement_id,
        fields=names,
        purpose=purpose,
        context=context,
        onward=onward,
        issued_ms=now_ms,
        not_after_ms=now_ms + duration_ms,
    )
    fields = [found[name] for name in grant.fields if name not in DERIVATIONS]
    claims = []
    for kind in (name for name in grant.fields if name in DERIVATIONS):
        try:
            claims.append(
                DerivedClaim.derive(
                    identity,
                    found[kind],
                    kind,
                    audience=peer,
                    grant_id=grant.grant_id,
                    at_ms=now_ms,
                    age=(ages or {}).get(kind),
                )
            )
        except UsageError as exc:
            raise NodeError(f"cannot state {kind}: {exc.message}") from None
    body = deliver(
        grant,
        fields,
        claims,
        link_public=card.link_cert.link_public,
        ephemeral_private=random(_EPHEMERAL_BYTES),
    )
    gid = grant.grant_id
    until = format_time_ms(grant.not_after_ms)
    about = f" ({grant.context})" if grant.context else ""
    done: list[Effect] = [
        SaveIssued(grant),
        Audit(
            "grant.issued",
            peer,
            gid,
            f"{', '.join(grant.fields)} for {grant.purpose}{about} until {until}",
        ),
        Audit("grant.delivered", peer, gid, f"sealed delivery, {len(body)} bytes"),
        Send(peer, MSG_DELIVER, body),
    ]
    if request_id is not None:
        done.append(DecideRequest(request_id, "approved", gid))
    done.append(Issued(grant))
    return grant, done


def revoke(
    host: GrantsHost, grant: Grant, *, revoked: bool, now_ms: int
) -> tuple[Revocation, list[Effect]]:
    """Sign a revocation of ``grant`` (once) and send it; the grantee deletes and returns a
    deletion receipt."""
    if revoked:
        raise NodeError(f"grant {grant.grant_id.hex()[:16]} was revoked already")
    peer = grant.grantee
    connected(host, peer, "revoke a grant held by")
    revocation = Revocation.issue(host.keyring.identity, grant, now_ms)
    return revocation, [
        SaveRevocation(revocation),
        Audit("grant.revoked", peer, grant.grant_id, "revoked by us"),
        Send(peer, MSG_REVOKE, revocation.encoded),
    ]


def ask_holdings(host: GrantsHost, peer: PeerId, query_id: bytes) -> list[Effect]:
    """Ask ``peer`` what it holds about us (its signed answer is a ``grant.receipt``)."""
    connected(host, peer, "ask")
    return [
        SaveQuery(query_id, peer),
        Audit("holdings.asked", peer, query_id, "what do you hold?"),
        Send(peer, MSG_HOLDINGS, encode_holdings_query(query_id)),
    ]


def on_receipt(host: GrantsHost, envelope: Envelope, now_ms: int) -> list[Effect]:
    """``grant.receipt``: a delivery, update or deletion receipt, or a holdings statement."""
    sender = envelope.sender
    receipt = open_receipt(envelope.body, issuer=sender, subject=host.keyring.identity.peer_id)
    if isinstance(receipt, HoldingsStatement):
        return _on_statement(host, receipt, sender, now_ms)
    gid = receipt.grant_id
    if host.issued_to(gid) != sender:
        raise GrantPartyError(
            f"{sender.short} sent a receipt for grant {gid.hex()[:16]}, which we never granted it",
            hint=GrantPartyError.code,
        )
    version = 0
    if isinstance(receipt, DeletionReceipt):
        kind, reason = "deletion", receipt.reason.value
        detail = f"deletion receipt: {reason}, deleted {format_time_ms(receipt.deleted_ms)}"
    elif isinstance(receipt, UpdateReceipt):
        kind, reason, version = "update", "", receipt.version
        detail = (
            f"update receipt: version {version} held, the values before it deleted "
            f"{format_time_ms(receipt.replaced_ms)}"
        )
    else:
        kind, reason = "delivery", ""
        detail = f"delivery receipt: received {format_time_ms(receipt.received_ms)}"
    return [
        KeepReceipt(sender, receipt),
        Audit("receipt.received", sender, gid, detail),
        ReceiptCame(sender, gid, kind, reason, version),
    ]


def _on_statement(
    host: GrantsHost, statement: HoldingsStatement, sender: PeerId, now_ms: int
) -> list[Effect]:
    query = host.asked(statement.query_id)
    if query is None or query.peer != sender:
        raise GrantPartyError(
            f"{sender.short} answered holdings query {statement.query_id.hex()[:8]}, which "
            "we never asked it",
            hint=GrantPartyError.code,
        )
    if query.answered:
        return []  # the first answer stands
    detail = f"statement: {len(statement.items)} grant(s) held at {format_time_ms(now_ms)}"
    return [
        KeepStatement(statement),
        Audit("holdings.answered", sender, statement.query_id, detail),
        StatementCame(statement.query_id),
    ]
