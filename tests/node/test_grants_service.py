"""The grants service in-process: Nodes over the in-memory transport, real SQLite stores.

Fast coverage of the whole data story (vault, grant, delivery, hold, read, expiry, revocation,
delete-on-end, receipts, holdings statements, requests, the audit chain and restarts);
tests/node/test_grants.py runs the same story with real daemons and the CLI. Agreements come from
the terms service (an offer the vendor's owner accepts), not from seeded rows.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from amity.node.daemon import Identity, Node, wall_clock_ms
from amity.node.grants.data import issued_json
from amity.node.grants.fields import field_from_text
from amity.node.grants.requests import SharingRule
from amity.node.grants.service import GrantsService
from amity.node.net.transport import MemoryNetwork
from amity.node.services import Outgoing, Staged
from amity.node.store import Store
from amity.node.terms.service import TermsService
from amity.protocol.card import NodeKind
from amity.protocol.delivery import MSG_DELIVER, deliver
from amity.protocol.errors import AuditChainError, NodeError, NoGrantError, UsageError
from amity.protocol.grants import MSG_REVOKE, Grant, Onward, Revocation
from amity.protocol.holder import HoldingState
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import NegotiationState
from amity.protocol.relationship import RelationshipState
from amity.protocol.terms import Clause, TermsDocument
from amity.protocol.vault import Field, PostalAddress
from tests.node.conftest import async_wait_for

#: Terms whose delete-on-end is "at once", limiting use to delivery and ordering.
TERMS = TermsDocument.create(
    [
        Clause.of("amity.no-tracking"),
        Clause.of("amity.delete-on-end", days=0),
        Clause.of("amity.purpose-limitation", purposes=("delivery", "order-fulfilment")),
    ],
    "grants test terms",
)


@dataclass
class Party:
    name: str
    node: Node
    terms: TermsService
    grants: GrantsService
    #: Its store: a SQLite file, or a PostgreSQL URL (the vendor, once for each engine).
    db: Path | str

    @property
    def peer_id(self) -> PeerId:
        return self.node.peer_id

    def held_rows(self, grant: Grant) -> int:
        """Value rows of ``grant`` in this node's database, read beside the running node."""
        if isinstance(self.db, str):
            with Store(self.db) as store:
                return len(store.held_values(grant.grant_id))
        with contextlib.closing(sqlite3.connect(self.db)) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM held_values WHERE grant_id = ?", (grant.grant_id,)
            ).fetchone()
        return int(count)

    def receipt_kinds(self, grant: Grant) -> list[str]:
        return [r.kind for r in self.node.store.grant_receipts(grant.grant_id)]


class Lab:
    """Nodes on one MemoryNetwork; each keeps its seed and home across restarts."""

    def __init__(self, root: Path, stores: dict[str, str]) -> None:
        self.root = root
        self.network = MemoryNetwork()
        self.seeds: dict[str, bytes] = {}
        #: The nodes whose store is PostgreSQL, and its URL; the others: amity.db in the home.
        self.stores = stores

    @contextlib.asynccontextmanager
    async def node(self, name: str, kind: NodeKind, ahead_ms: int = 0) -> AsyncIterator[Party]:
        """A node; ``ahead_ms`` sets its clock that far ahead (time passed while it was down)."""
        seed = self.seeds.setdefault(name, os.urandom(32))
        home = self.root / name
        home.mkdir(exist_ok=True)
        endpoint = f"mem://{name}"
        target = self.stores.get(name, home / "amity.db")
        with Store(target) as store:
            node = Node(
                seed=seed,
                store=store,
                identity=Identity(name, kind),
                dialer=self.network,
                endpoints=[endpoint],
                clock_ms=lambda: wall_clock_ms() + ahead_ms,
            )
            terms = TermsService(node)
            grants = GrantsService(node)
            node.register(terms)
            node.register(grants)
            self.network.listen(endpoint, node.accept)
            try:
                async with node:
                    yield Party(name, node, terms, grants, target)
            finally:
                self.network.unlisten(endpoint)


async def meet(person: Party, vendor: Party) -> None:
    await person.node.connect((await vendor.node.invite()).to_uri())

    def connected() -> bool:
        rel = vendor.node.book.current(person.peer_id)
        return rel is not None and rel.state is RelationshipState.CONNECTED

    await async_wait_for(connected, what="the vendor sees the person connected")


async def agree(person: Party, vendor: Party, terms: TermsDocument = TERMS) -> bytes:
    """The person offers ``terms``, the vendor's owner accepts: both hold the agreement."""
    neg = await person.terms.offer(vendor.peer_id, terms)
    nid = neg.negotiation_id

    def offered() -> bool:
        found = vendor.terms.book.get(nid)
        return found is not None and found.state is NegotiationState.OFFERED

    await async_wait_for(offered, what="the offer reaches the vendor")
    agreed = await vendor.terms.accept(nid.hex())
    assert agreed.agreement is not None
    agreement_id = agreed.agreement.agreement_id
    await async_wait_for(
        lambda: person.node.store.agreement(agreement_id) is not None,
        what="the person holds the agreement",
    )
    return agreement_id


async def fill_vault(person: Party) -> None:
    await person.grants.vault_set(field_from_text("email", "email", "alice@example.org"))
    await person.grants.vault_set(
        field_from_text("postal-address", "postal-address", "Hauptstr. 5; Berlin; 10115; de")
    )
    await person.grants.vault_set(field_from_text("birth-date", "birth-date", "1990-04-01"))


@contextlib.asynccontextmanager
async def agreed_pair(lab: Lab) -> AsyncIterator[tuple[Party, Party]]:
    async with (
        lab.node("alice", NodeKind.PERSON) as alice,
        lab.node("shop", NodeKind.VENDOR) as shop,
    ):
        await meet(alice, shop)
        await agree(alice, shop)
        await fill_vault(alice)
        yield alice, shop


@pytest.fixture
async def lab(tmp_path: Path, vendor_store: str | None) -> AsyncIterator[Lab]:
    """Alice on SQLite; the shop on SQLite, then on PostgreSQL."""
    made = Lab(tmp_path, {} if vendor_store is None else {"shop": vendor_store})
    yield made
    await made.network.aclose()


async def held(vendor: Party, grant: Grant) -> None:
    await async_wait_for(
        lambda: vendor.grants.holdings.get(grant.grant_id) is not None, what="the vendor holds it"
    )


async def deleted(vendor: Party, person: Party, grant: Grant) -> None:
    """Until the vendor deleted the grant and the person holds the deletion receipt."""
    await async_wait_for(
        lambda: "deletion" in person.receipt_kinds(grant), what="the deletion receipt arrives"
    )
    holding = vendor.grants.holdings.get(grant.grant_id)
    assert holding is not None and holding.state is HoldingState.DELETED
    assert holding.fields == () and vendor.held_rows(grant) == 0


async def test_the_vendor_holds_reads_and_deletes_on_expiry(lab: Lab) -> None:
    async with agreed_pair(lab) as (alice, shop):
        grant = await alice.grants.grantor.grant(
            shop.peer_id,
            ["email", "postal-address"],
            purpose="delivery",
            context="order 42",
            duration_ms=1500,
        )
        await held(shop, grant)

        value, holding = await shop.grants.grantee.read(alice.peer_id, "email", "delivery")
        assert value == Field("email", value.type, "alice@example.org")  # type: ignore[union-attr]
        address, _ = await shop.grants.grantee.read(alice.peer_id, "postal-address", None)
        assert isinstance(address, Field) and address.value == PostalAddress(
            "Hauptstr. 5", "Berlin", "10115", "DE"
        )
        assert holding.grant == grant and shop.held_rows(grant) == 2
        with pytest.raises(NoGrantError):  # granted for delivery, not for marketing
            await shop.grants.grantee.read(alice.peer_id, "email", "marketing")
        with pytest.raises(NoGrantError):  # never granted
            await shop.grants.grantee.read(alice.peer_id, "phone", None)
        await async_wait_for(lambda: "delivery" in alice.receipt_kinds(grant))

        await deleted(shop, alice, grant)

        with pytest.raises(NoGrantError):
            await shop.grants.grantee.read(alice.peer_id, "email", "delivery")
        shown = issued_json(
            alice.node,
            alice.grants.grantor.issued(grant.grant_id.hex()),
            alice.node.store.grant_receipts(grant.grant_id),
            alice.node.clock_ms(),
        )
        assert (shown["state"], shown["deletion_reason"]) == ("deleted", "expired")
        kinds = [e.kind for e in shop.grants.audit.verified(alice.peer_id)[1]]
        # The terms come first (offer, agreement), then the grant's life.
        assert kinds[:2] == ["terms.offer", "agreement"]
        grant_kinds = [k for k in kinds if k.startswith("grant.")]
        assert grant_kinds[:1] == ["grant.received"] and "grant.deleted" in grant_kinds
        assert {"grant.read", "grant.refused"} <= set(kinds)
        mine = [e.kind for e in alice.grants.audit.verified()[1]]
        assert mine[:2] == ["terms.offer", "agreement"]
        mine = [k for k in mine if not k.startswith(("terms.", "agreement"))]
        assert mine[:2] == ["grant.issued", "grant.delivered"]
        assert mine.count("receipt.received") == 2


async def test_revocation_and_the_end_of_the_relationship_delete(lab: Lab) -> None:
    async with agreed_pair(lab) as (alice, shop):
        first = await alice.grants.grantor.grant(
            shop.peer_id, ["email"], purpose="delivery", context="", duration_ms=600_000
        )
        second = await alice.grants.grantor.grant(
            shop.peer_id, ["postal-address"], purpose="delivery", context="", duration_ms=600_000
        )
        await held(shop, first)
        await held(shop, second)

        await alice.grants.grantor.revoke(first.grant_id.hex()[:8])
        await deleted(shop, alice, first)
        assert shop.grants.holdings.get(first.grant_id).deletion_reason.value == "revoked"  # type: ignore[union-attr]
        with pytest.raises(NodeError, match="revoked already"):
            await alice.grants.grantor.revoke(first.grant_id.hex())

        await alice.node.end(shop.peer_id, "moving on")

        await async_wait_for(
            lambda: shop.grants.holdings.get(second.grant_id).state is HoldingState.DELETED,  # type: ignore[union-attr]
            what="delete-on-end",
        )
        holding = shop.grants.holdings.get(second.grant_id)
        assert holding is not None and holding.deletion_reason is not None
        assert holding.deletion_reason.value == "relationship-ended"
        assert shop.held_rows(second) == 0


async def test_grants_need_an_agreement_a_purpose_it_allows_and_the_fields(lab: Lab) -> None:
    async with (
        lab.node("alice", NodeKind.PERSON) as alice,
        lab.node("shop", NodeKind.VENDOR) as shop,
    ):
        await meet(alice, shop)
        await fill_vault(alice)
        with pytest.raises(NodeError, match="no agreement"):
            await alice.grants.grantor.grant(
                shop.peer_id, ["email"], purpose="delivery", context="", duration_ms=60_000
            )
        await agree(alice, shop)
        with pytest.raises(NodeError, match="limits use of your data to delivery"):
            await alice.grants.grantor.grant(
                shop.peer_id, ["email"], purpose="marketing", context="", duration_ms=60_000
            )
        with pytest.raises(NodeError, match="no field 'phone'"):
            await alice.grants.grantor.grant(
                shop.peer_id, ["phone"], purpose="delivery", context="", duration_ms=60_000
            )
        assert alice.node.store.issued_grants() == []


async def test_a_derived_claim_instead_of_the_birth_date(lab: Lab) -> None:
    async with agreed_pair(lab) as (alice, shop):
        grant = await alice.grants.grantor.grant(
            shop.peer_id,
            ["age-over:18", "country-of"],
            purpose="order-fulfilment",
            context="",
            duration_ms=60_000,
        )
        await held(shop, grant)
        age, _ = await shop.grants.grantee.read(alice.peer_id, "age-over", None)
        country, _ = await shop.grants.grantee.read(alice.peer_id, "country-of", None)
        assert (age.value, country.value) == (18, "DE")
        with pytest.raises(NoGrantError):
            await shop.grants.grantee.read(alice.peer_id, "birth-date", None)
        with pytest.raises(NodeError, match="age >= 150"):
            await alice.grants.grantor.grant(
                shop.peer_id, ["age-over:150"], purpose="delivery", context="", duration_ms=1000
            )


async def test_requests_wait_for_the_owner_unless_the_rule_approves(lab: Lab) -> None:
    async with agreed_pair(lab) as (alice, shop):
        asked = await shop.grants.requests.send(
            alice.peer_id,
            ["email", "postal-address"],
            purpose="delivery",
            context="checkout",
            duration_ms=3_600_000,
        )
        await async_wait_for(lambda: alice.grants.requests.listing(pending_only=True))
        (pending,) = alice.grants.requests.listing(pending_only=True)
        assert shop.grants.requests.one(asked).state == "sent"

        grant = await alice.grants.requests.approve(pending.id, ["email"])
        await held(shop, grant)
        assert grant.fields == ("email",) and grant.context == "checkout"
        assert grant.not_after_ms - grant.issued_ms == 3_600_000
        assert alice.grants.requests.one(pending.id).state == "approved"
        with pytest.raises(NodeError, match="only pending"):
            await alice.grants.requests.decline(pending.id)

        await alice.grants.requests.set_auto_approve(True)
        await shop.grants.requests.send(
            alice.peer_id, ["email"], purpose="delivery", context="", duration_ms=60_000
        )
        await async_wait_for(
            lambda: len(shop.grants.holdings.find()) == 2, what="the auto rule grants"
        )


async def test_her_rule_answers_requests_within_its_limits(lab: Lab) -> None:
    async with agreed_pair(lab) as (alice, shop):
        rule = SharingRule(
            auto_approve=True, fields=("email",), purposes=("delivery",), max_ms=3_600_000
        )
        await alice.grants.requests.set_rule(rule)
        assert alice.grants.requests.rule == rule

        # Asked for more than the rule allows: the subset it allows, for at most an hour.
        await shop.grants.requests.send(
            alice.peer_id, ["email", "address"], purpose="delivery", context="", duration_ms=10**9
        )
        await async_wait_for(lambda: len(shop.grants.holdings.find()) == 1, what="the subset")
        (holding,) = shop.grants.holdings.find()
        assert holding.grant.fields == ("email",)
        assert holding.grant.not_after_ms - holding.grant.issued_ms == 3_600_000

        # A purpose outside the rule waits for her.
        await shop.grants.requests.send(
            alice.peer_id, ["email"], purpose="order-fulfilment", context="", duration_ms=60_000
        )
        await async_wait_for(
            lambda: len(alice.grants.requests.listing(pending_only=True)) == 1,
            what="the request outside the rule to wait",
        )
        assert len(shop.grants.holdings.find()) == 1

    with pytest.raises(UsageError, match="max_days"):
        SharingRule.from_json({"auto_approve": True, "max_days": 0})
    with pytest.raises(UsageError, match="fields"):
        SharingRule.from_json({"auto_approve": True, "fields": "email"})


async def test_a_holdings_statement_lists_what_is_held(lab: Lab) -> None:
    async with agreed_pair(lab) as (alice, shop):
        grant = await alice.grants.grantor.grant(
            shop.peer_id, ["email"], purpose="delivery", context="", duration_ms=600_000
        )
        await held(shop, grant)
        # The delivery receipt is audited when it arrives, which may be after the vendor holds
        # the grant: wait for it, so that the holdings entries are the last two.
        await async_wait_for(
            lambda: (
                "receipt.received" in [e.kind for e in alice.grants.audit.verified(shop.peer_id)[1]]
            ),
            what="the delivery receipt in her audit log",
        )

        query = await alice.grants.grantor.ask_holdings(shop.peer_id, 10.0)

        assert query.statement is not None
        kinds = [e.kind for e in alice.grants.audit.verified(shop.peer_id)[1]]
        assert kinds[-2:] == ["holdings.asked", "holdings.answered"]
        assert [e.kind for e in shop.grants.audit.verified()[1]][-1] == "holdings.answered"


async def test_a_restart_rearms_the_deletion_timer(lab: Lab) -> None:
    async with (
        lab.node("alice", NodeKind.PERSON) as alice,
        lab.node("shop", NodeKind.VENDOR) as shop,
    ):
        await meet(alice, shop)
        await agree(alice, shop)
        await fill_vault(alice)
        grant = await alice.grants.grantor.grant(
            shop.peer_id, ["email"], purpose="delivery", context="", duration_ms=2500
        )
        await held(shop, grant)
        later = await alice.grants.grantor.grant(
            shop.peer_id, ["postal-address"], purpose="delivery", context="", duration_ms=20_000
        )
        await held(shop, later)
    async with (
        lab.node("alice", NodeKind.PERSON) as alice,
        lab.node("shop", NodeKind.VENDOR) as shop,
    ):
        armed = shop.grants.grantee.armed()
        assert armed == {grant.grant_id: "delete-1", later.grant_id: "delete-1"}
        await deleted(shop, alice, grant)
        holding = shop.grants.holdings.get(grant.grant_id)
        assert holding is not None and holding.deleted_ms is not None
        assert grant.not_after_ms <= holding.deleted_ms < grant.not_after_ms + 2000
        assert shop.grants.holdings.get(later.grant_id).state is HoldingState.HELD  # type: ignore[union-attr]
    # the vendor comes back after the second grant's deadline passed: it goes at once
    async with (
        lab.node("alice", NodeKind.PERSON) as alice,
        lab.node("shop", NodeKind.VENDOR, ahead_ms=30_000) as shop,
    ):
        await deleted(shop, alice, later)
        assert shop.grants.holdings.get(later.grant_id).deletion_reason.value == "expired"  # type: ignore[union-attr]


async def test_foreign_revocations_and_deliveries_without_agreement_are_refused(lab: Lab) -> None:
    async with (
        lab.node("alice", NodeKind.PERSON) as alice,
        lab.node("mallory", NodeKind.PERSON) as mallory,
        lab.node("shop", NodeKind.VENDOR) as shop,
    ):
        await meet(alice, shop)
        await meet(mallory, shop)
        await agree(alice, shop)
        await fill_vault(alice)
        grant = await alice.grants.grantor.grant(
            shop.peer_id, ["email"], purpose="delivery", context="", duration_ms=600_000
        )
        await held(shop, grant)
        me = mallory.node.keyring.identity
        # mallory forges nothing: she signs as herself, naming alice's grant id
        fake = Grant.issue(
            me,
            grantee=shop.peer_id,
            grant_id=grant.grant_id,
            agreement_id=grant.agreement_id,
            fields=["email"],
            purpose="delivery",
            context="",
            onward=Onward.NONE,
            issued_ms=grant.issued_ms,
            not_after_ms=grant.not_after_ms,
        )
        revocation = Revocation.issue(me, fake, mallory.node.clock_ms())
        card = shop.node.card()
        body = deliver(
            fake,
            [field_from_text("email", "email", "mallory@example.org")],
            link_public=card.link_cert.link_public,
            ephemeral_private=os.urandom(32),
        )
        await mallory.node.commit(
            Staged(
                sends=[
                    Outgoing(shop.peer_id, MSG_REVOKE, revocation.encoded),
                    Outgoing(shop.peer_id, MSG_DELIVER, body),
                ]
            )
        )

        await async_wait_for(lambda: shop.node.rejected >= 2, what="both refused")
        value, _ = await shop.grants.grantee.read(alice.peer_id, "email", "delivery")
        assert isinstance(value, Field) and value.value == "alice@example.org"
        assert shop.grants.holdings.find(grantor=mallory.peer_id) == []


async def test_the_vault_is_sealed_at_rest_and_the_audit_chain_catches_edits(lab: Lab) -> None:
    async with lab.node("alice", NodeKind.PERSON) as alice:
        await fill_vault(alice)
        assert alice.grants.vault.get("email") == field_from_text(
            "email", "email", "alice@example.org"
        )
        assert [r.name for r in alice.grants.vault.listing()] == [
            "birth-date",
            "email",
            "postal-address",
        ]
        on_disk = [alice.db, alice.db.with_name("amity.db-wal")]
        assert all(b"alice@example.org" not in path.read_bytes() for path in on_disk)
        assert await alice.grants.vault_remove("email")
        assert alice.grants.vault.get("email") is None
        alice.node.store.set_meta("audit.head", (5).to_bytes(8, "big") + bytes(32))
        with pytest.raises(AuditChainError):
            alice.grants.audit.verified()
