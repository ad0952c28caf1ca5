"""The grantor's side of grants: sign a grant, seal its values to the grantee, revoke, listen.

A grant is issued only under an agreement both parties signed (the terms service keeps them),
for a purpose that agreement allows, and travels in one ``grant.deliver`` sealed to the
grantee's certified link key from its peer card. What comes back (delivery and deletion receipts,
holdings statements) is verified and kept. Every step is an audit entry written in the same
transaction as the step itself. See spec/grants.md §4, §5, §7 and §8.6.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Final

from amity.node.auditlog import AuditLog
from amity.node.daemon import Node
from amity.node.grants.vault import Vault
from amity.node.logs import log_event
from amity.node.services import Outgoing, Staged
from amity.node.store import GrantReceiptRow, HoldingsQueryRow, IssuedGrantRow
from amity.protocol.agreement import Agreement
from amity.protocol.card import Card
from amity.protocol.claims import AGE_OVER, DERIVATIONS, DerivedClaim
from amity.protocol.delivery import MSG_DELIVER, deliver
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    GrantPartyError,
    NodeError,
    NotFoundError,
    UsageError,
    format_time_ms,
)
from amity.protocol.grants import GRANT_ID_BYTES, MSG_REVOKE, Grant, Onward, Revocation
from amity.protocol.identity import PeerId
from amity.protocol.receipts import (
    MSG_HOLDINGS,
    QUERY_ID_BYTES,
    DeletionReceipt,
    HoldingsStatement,
    encode_holdings_query,
    open_receipt,
)
from amity.protocol.relationship import Relationship, RelationshipState
from amity.protocol.vault import Field

__all__ = ["Grantor", "PURPOSE_LIMITATION", "connected", "hex_prefix", "split_names", "write"]

_log = logging.getLogger("amity.grants")
PURPOSE_LIMITATION: Final = "amity.purpose-limitation"
_MIN_PREFIX: Final = 4


def write(fn: Callable[..., object], *args: object) -> Callable[[], None]:
    """``fn(*args)`` as a staged write (whatever it returns is not needed in the commit)."""

    def run() -> None:
        fn(*args)

    return run


def hex_prefix(text: str, what: str) -> str:
    """``text`` as a lower-case hex prefix of at least 4 digits, else a NodeError that teaches."""
    digits = text.strip().lower()
    if len(digits) < _MIN_PREFIX or any(c not in "0123456789abcdef" for c in digits):
        raise NodeError(
            f"{text!r:.80} is not a {what} id: give its hex id, or at least its first "
            f"{_MIN_PREFIX} hex digits"
        )
    return digits


def connected(node: Node, peer: PeerId, doing: str) -> Relationship:
    """The CONNECTED relationship with ``peer``, else a NodeError saying why not."""
    rel = node.book.current(peer)
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


class Grantor:
    """Grants this node issued: issuing, revoking, and the receipts and statements that return."""

    def __init__(self, node: Node, audit: AuditLog, vault: Vault) -> None:
        self.node = node
        self.audit = audit
        self.vault = vault
        self._waiting: dict[bytes, asyncio.Future[None]] = {}
        #: Checks a new grant must pass (the reputation service's cut-off); each raises to refuse.
        self.gates: list[Callable[[PeerId], None]] = []

    # -- issuing -----------------------------------------------------------------------------------

    def agreement_with(self, peer: PeerId, id_prefix: str | None = None) -> Agreement:
        """The agreement a grant to ``peer`` lives under: the one named, else the newest in force."""
        store = self.node.store
        if id_prefix is not None:
            rows = store.agreements(
                peer_id=peer.key, id_prefix=hex_prefix(id_prefix, "agreement"), limit=2
            )
            if len(rows) != 1:
                what = "no agreement" if not rows else "more than one agreement"
                raise NotFoundError(f"{what} {id_prefix!r:.40} with {peer.short}")
            if rows[0].superseded_by is not None:
                newer = rows[0].superseded_by.hex()[:16]
                raise NodeError(f"that agreement was amended by {newer}; grant under that one")
            return Agreement.decode(rows[0].encoded)
        live = [row for row in store.agreements(peer_id=peer.key) if row.superseded_by is None]
        if not live:
            raise NodeError(
                f"no agreement with {peer.short} yet: data travels only under agreed terms; "
                f"agree first (amity terms offer {peer.did} --roster P2B1)"
            )
        return Agreement.decode(live[0].encoded)

    def issue(
        self,
        peer: PeerId,
        specs: Iterable[str],
        *,
        purpose: str,
        context: str,
        duration_ms: int,
        agreement: str | None = None,
        onward: Onward = Onward.NONE,
        request_id: int | None = None,
    ) -> tuple[Grant, Staged]:
        """Sign a grant and seal its values to ``peer``: the grant and the staged commit."""
        for gate in self.gates:
            gate(peer)
        now = self.node.clock_ms()
        card = self._card(peer, now)
        names, ages = split_names(specs)
        terms = self.agreement_with(peer, agreement)
        self._check_purpose(terms, purpose)
        sources = {name: self._source(name) for name in names}
        identity = self.node.keyring.identity
        grant = Grant.issue(
            identity,
            grantee=peer,
            grant_id=os.urandom(GRANT_ID_BYTES),
            agreement_id=terms.agreement_id,
            fields=names,
            purpose=purpose,
            context=context,
            onward=onward,
            issued_ms=now,
            not_after_ms=now + duration_ms,
        )
        fields = [sources[name] for name in grant.fields if name not in DERIVATIONS]
        claims = []
        for kind in (name for name in grant.fields if name in DERIVATIONS):
            try:
                claims.append(
                    DerivedClaim.derive(
                        identity,
                        sources[kind],
                        kind,
                        audience=peer,
                        grant_id=grant.grant_id,
                        at_ms=now,
                        age=ages.get(kind),
                    )
                )
            except UsageError as exc:
                raise NodeError(f"cannot state {kind}: {exc.message}") from None
        body = deliver(
            grant,
            fields,
            claims,
            link_public=card.link_cert.link_public,
            ephemeral_private=os.urandom(32),
        )
        return grant, self._issued(grant, body, now, request_id)

    async def grant(
        self,
        peer: PeerId,
        specs: Iterable[str],
        *,
        purpose: str,
        context: str,
        duration_ms: int,
        agreement: str | None = None,
        onward: Onward = Onward.NONE,
    ) -> Grant:
        """Issue a grant (see :meth:`issue`) and wait until it is stored and queued."""
        grant, staged = self.issue(
            peer,
            specs,
            purpose=purpose,
            context=context,
            duration_ms=duration_ms,
            agreement=agreement,
            onward=onward,
        )
        await self.node.commit(staged)
        return grant

    def _card(self, peer: PeerId, now: int) -> Card:
        card = connected(self.node, peer, "grant data to").peer_card
        if card is None:
            raise NodeError(f"{peer.short} has not sent its peer card yet; wait until it connects")
        cert = card.link_cert
        if not cert.not_before_ms <= now < cert.not_after_ms:
            raise NodeError(
                f"the link key on {peer.short}'s card is valid until "
                f"{format_time_ms(cert.not_after_ms)}; a fresh card comes when it next connects"
            )
        return card

    @staticmethod
    def _check_purpose(agreement: Agreement, purpose: str) -> None:
        clause = agreement.terms.clause(PURPOSE_LIMITATION)
        if clause is None:
            return
        allowed = clause.param("purposes", agreement.terms.vocab_version)
        if isinstance(allowed, tuple) and purpose not in allowed:
            raise NodeError(
                f"agreement {agreement.agreement_id.hex()[:16]} limits use of your data to "
                f"{', '.join(map(str, allowed))}; grant for one of those, or amend the terms"
            )

    def _source(self, name: str) -> Field:
        """The vault field a grant name needs: the field itself, or a claim's source field."""
        kind = DERIVATIONS.get(name)
        found = self.vault.get(name) if kind is None else self.vault.of_type(kind)
        if found is None:
            if kind is None:
                raise NodeError(
                    f"your vault has no field {name!r}: amity vault set {name} TYPE VALUE"
                )
            raise NodeError(f"{name} is derived from your {kind.value} field; add one first")
        return found

    def _issued(self, grant: Grant, body: bytes, now: int, request_id: int | None) -> Staged:
        peer = grant.grantee
        gid = grant.grant_id
        row = IssuedGrantRow(
            gid, peer.key, grant.agreement_id, grant.encoded, grant.issued_ms, grant.not_after_ms
        )
        until = format_time_ms(grant.not_after_ms)
        context = f" ({grant.context})" if grant.context else ""
        staged = Staged(
            writes=[
                functools.partial(self.node.store.save_issued_grant, row),
                self._audit(
                    now,
                    "grant.issued",
                    peer,
                    gid,
                    f"{', '.join(grant.fields)} for {grant.purpose}{context} until {until}",
                ),
                self._audit(
                    now, "grant.delivered", peer, gid, f"sealed delivery, {len(body)} bytes"
                ),
            ],
            sends=[Outgoing(peer, MSG_DELIVER, body)],
        )
        if request_id is not None:
            decide = self.node.store.decide_grant_request
            staged.writes.append(write(decide, request_id, "approved", gid, now))
        event = {"grant": gid.hex(), "peer": peer.did, "fields": list(grant.fields)}
        staged.after.append(functools.partial(self.node.events.publish, "grant.issued", event))
        log_event(
            _log, "grant.issued", grant=gid.hex()[:8], peer=peer.short, fields=len(grant.fields)
        )
        return staged

    # -- revoking ----------------------------------------------------------------------------------

    def issued(self, id_prefix: str) -> IssuedGrantRow:
        """The one grant we issued whose hex id starts with ``id_prefix``."""
        rows = self.node.store.issued_grants(id_prefix=hex_prefix(id_prefix, "grant"), limit=2)
        if len(rows) != 1:
            if rows:
                raise NodeError(f"{id_prefix!r:.40} names more than one grant; give more of it")
            raise NotFoundError(f"you issued no grant {id_prefix!r:.40}; `amity grants` lists them")
        return rows[0]

    async def revoke(
        self, id_prefix: str, *, also: Sequence[Callable[[], None]] = ()
    ) -> IssuedGrantRow:
        """Sign a revocation and send it; the grantee deletes and returns a deletion receipt.

        ``also``: further writes that must land in the same commit as the revocation.
        """
        row = self.issued(id_prefix)
        peer = PeerId(row.peer_id)
        if row.revocation is not None:
            raise NodeError(f"grant {row.grant_id.hex()[:16]} was revoked already")
        connected(self.node, peer, "revoke a grant held by")
        now = self.node.clock_ms()
        revocation = Revocation.issue(self.node.keyring.identity, Grant.decode(row.encoded), now)
        revoked = replace(row, revocation=revocation.encoded, revoked_ms=now)
        staged = Staged(
            writes=[
                functools.partial(self.node.store.save_issued_grant, revoked),
                self._audit(now, "grant.revoked", peer, row.grant_id, "revoked by us"),
                *also,
            ],
            sends=[Outgoing(peer, MSG_REVOKE, revocation.encoded)],
        )
        await self.node.commit(staged)
        log_event(_log, "grant.revoked", grant=row.grant_id.hex()[:8], peer=peer.short)
        return revoked

    # -- what comes back ---------------------------------------------------------------------------

    def on_receipt(self, envelope: Envelope, now_ms: int) -> Staged:
        """``grant.receipt``: a delivery or deletion receipt, or the answer to a holdings query."""
        sender = envelope.sender
        receipt = open_receipt(envelope.body, issuer=sender, subject=self.node.peer_id)
        if isinstance(receipt, HoldingsStatement):
            return self._on_statement(receipt, sender, now_ms)
        rows = self.node.store.issued_grants(id_prefix=receipt.grant_id.hex(), limit=1)
        if not rows or rows[0].peer_id != sender.key:
            raise GrantPartyError(
                f"{sender.short} sent a receipt for grant {receipt.grant_id.hex()[:16]}, which "
                "we never granted it",
                hint=GrantPartyError.code,
            )
        if isinstance(receipt, DeletionReceipt):
            kind, reason = "deletion", receipt.reason.value
            detail = f"deletion receipt: {reason}, deleted {format_time_ms(receipt.deleted_ms)}"
        else:
            kind, reason = "delivery", ""
            detail = f"delivery receipt: received {format_time_ms(receipt.received_ms)}"
        row = GrantReceiptRow(sender.key, receipt.grant_id, kind, receipt.encoded, now_ms)
        gid = receipt.grant_id
        event = {"grant": gid.hex(), "peer": sender.did, "receipt": kind, "reason": reason}
        return Staged(
            writes=[
                write(self.node.store.add_grant_receipt, row),
                self._audit(now_ms, "receipt.received", sender, gid, detail),
            ],
            after=[functools.partial(self.node.events.publish, "grant.receipt", event)],
        )

    def _on_statement(self, statement: HoldingsStatement, sender: PeerId, now_ms: int) -> Staged:
        query = self.node.store.holdings_query(statement.query_id)
        if query is None or query.peer_id != sender.key:
            raise GrantPartyError(
                f"{sender.short} answered holdings query {statement.query_id.hex()[:8]}, which "
                "we never asked it",
                hint=GrantPartyError.code,
            )
        if query.statement is not None:
            return Staged()  # the first answer stands
        answered = replace(query, statement=statement.encoded, answered_ms=now_ms)
        detail = f"statement: {len(statement.items)} grant(s) held at {format_time_ms(now_ms)}"
        return Staged(
            writes=[
                functools.partial(self.node.store.save_holdings_query, answered),
                self._audit(now_ms, "holdings.answered", sender, statement.query_id, detail),
            ],
            after=[functools.partial(self._answered, statement.query_id)],
        )

    def _answered(self, query_id: bytes) -> None:
        future = self._waiting.get(query_id)
        if future is not None and not future.done():
            future.set_result(None)

    async def ask_holdings(self, peer: PeerId, wait_s: float) -> HoldingsQueryRow:
        """Ask ``peer`` what it holds about us; wait up to ``wait_s`` for the signed answer."""
        connected(self.node, peer, "ask")
        now = self.node.clock_ms()
        query_id = os.urandom(QUERY_ID_BYTES)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[query_id] = future
        try:
            await self.node.commit(
                Staged(
                    writes=[
                        functools.partial(
                            self.node.store.save_holdings_query,
                            HoldingsQueryRow(query_id, peer.key, now),
                        ),
                        self._audit(now, "holdings.asked", peer, query_id, "what do you hold?"),
                    ],
                    sends=[Outgoing(peer, MSG_HOLDINGS, encode_holdings_query(query_id))],
                )
            )
            try:
                async with asyncio.timeout(wait_s):
                    await future
            except TimeoutError:
                pass
        finally:
            self._waiting.pop(query_id, None)
        found = self.node.store.holdings_query(query_id)
        assert found is not None
        return found

    def _audit(
        self, now: int, kind: str, peer: PeerId, subject: bytes, detail: str
    ) -> functools.partial[None]:
        return functools.partial(self.audit.append, now, kind, peer, subject, detail)
