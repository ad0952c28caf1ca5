"""The terms service in-process: Nodes over the in-memory transport, real SQLite stores.

Fast coverage of routing by negotiation id, persistence in the store (and across a restart),
timers, automatic answers and the refusals; tests/node/test_terms.py runs the same story with
real daemons and the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from amity.node.daemon import Identity, Node, NodeError
from amity.node.net.transport import MemoryNetwork
from amity.node.services import Outgoing, Staged
from amity.node.store import Store
from amity.node.terms.negotiations import negotiation_from_json, negotiation_to_json
from amity.node.terms.policyfile import POLICY_FILE
from amity.node.terms.service import TermsService
from amity.protocol.card import NodeKind
from amity.protocol.encoding import encode
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import Negotiation, NegotiationState
from amity.protocol.relationship import RelationshipState
from amity.protocol.terms import ROSTER, Clause, TermsDocument
from amity.protocol.termsmessages import (
    MSG_ACCEPT,
    MSG_OFFER,
    MSG_WITHDRAW,
    AcceptBody,
    WithdrawBody,
    encode_terms_body,
)
from tests.node.conftest import async_wait_for

S = NegotiationState
P2B1 = ROSTER["P2B1"].document
SHOP = ROSTER["AMITY-SHOP"].document

ACCEPT_P2B1 = """
version = 1
vocabulary = 1
default = "reject"
[clause."amity.no-tracking"]
action = "accept"
[clause."amity.purpose-limitation"]
action = "accept"
[clause."amity.no-third-party-sharing"]
action = "accept"
"""
ASK_HUMAN = 'version = 1\nvocabulary = 1\ndefault = "ask-human"\n'


@dataclass
class Party:
    """One in-process node with its terms service and the events it published."""

    name: str
    node: Node
    terms: TermsService
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def peer_id(self) -> PeerId:
        return self.node.peer_id

    def state(self, neg: Negotiation) -> NegotiationState | None:
        found = self.terms.book.get(neg.negotiation_id)
        return None if found is None else found.state

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]


class Lab:
    """Nodes on one MemoryNetwork, each with a home under ``root`` that survives a restart."""

    def __init__(self, root: Path, stores: dict[str, str]) -> None:
        self.root = root
        self.network = MemoryNetwork()
        self.seeds: dict[str, bytes] = {}
        #: The nodes whose store is PostgreSQL, and its URL; the others: amity.db in the home.
        self.stores = stores

    def home(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def write_policy(self, name: str, text: str) -> None:
        (self.home(name) / POLICY_FILE).write_text(text, encoding="utf-8")

    @contextlib.asynccontextmanager
    async def node(self, name: str, kind: NodeKind) -> AsyncIterator[Party]:
        seed = self.seeds.setdefault(name, os.urandom(32))
        endpoint = f"mem://{name}"
        with Store(self.stores.get(name, self.home(name) / "amity.db")) as store:
            node = Node(
                seed=seed,
                store=store,
                identity=Identity(name, kind),
                dialer=self.network,
                endpoints=[endpoint],
            )
            terms = TermsService(node, policy_path=self.home(name) / POLICY_FILE)
            node.register(terms)
            self.network.listen(endpoint, node.accept)
            party = Party(name, node, terms)
            async with node:
                collector = asyncio.create_task(_collect(node, party.events))
                await asyncio.sleep(0)  # one loop turn: the collector subscribes
                try:
                    yield party
                finally:
                    self.network.unlisten(endpoint)
            await collector

    @contextlib.asynccontextmanager
    async def pair(self) -> AsyncIterator[tuple[Party, Party]]:
        """alice (a person) and shop (a vendor), connected."""
        async with (
            self.node("alice", NodeKind.PERSON) as alice,
            self.node("shop", NodeKind.VENDOR) as shop,
        ):
            await meet(alice, shop)
            yield alice, shop


async def _collect(node: Node, events: list[dict[str, Any]]) -> None:
    async for event in node.events.subscribe():
        events.append(event)


async def meet(person: Party, vendor: Party) -> None:
    await person.node.connect((await vendor.node.invite()).to_uri())

    def vendor_connected() -> bool:
        rel = vendor.node.book.current(person.peer_id)
        return rel is not None and rel.state is RelationshipState.CONNECTED

    await async_wait_for(vendor_connected, what="the vendor sees the person connected")


async def settled(party: Party, neg: Negotiation, *states: NegotiationState) -> None:
    await async_wait_for(
        lambda: party.state(neg) in states, what=f"{party.name}: {neg.negotiation_id.hex()[:8]}"
    )


@pytest.fixture
async def lab(tmp_path: Path, vendor_store: str | None) -> AsyncIterator[Lab]:
    """Alice on SQLite; the shop on SQLite, then on PostgreSQL."""
    made = Lab(tmp_path, {} if vendor_store is None else {"shop": vendor_store})
    yield made
    await made.network.aclose()


async def test_policy_accepts_and_both_hold_the_same_agreement(lab: Lab) -> None:
    lab.write_policy("shop", ACCEPT_P2B1)
    async with lab.pair() as (alice, shop):
        neg = await alice.terms.offer(shop.peer_id, P2B1, ttl_ms=60_000)

        assert neg.state is S.OFFERED and alice.state(neg) is S.OFFERED
        await settled(alice, neg, S.AGREED)
        ours, theirs = alice.terms.agreements(), shop.terms.agreements()
        assert len(ours) == len(theirs) == 1
        assert ours[0].agreement_id == theirs[0].agreement_id
        assert ours[0].encoded == theirs[0].encoded  # byte for byte the same
        assert ours[0].terms_id == P2B1.terms_id
        assert shop.state(neg) is S.AGREED
        assert shop.terms.negotiations(alice.peer_id)[0].we_are.value == "vendor"
        await async_wait_for(lambda: "terms.agreed" in alice.kinds())
    assert "terms.answered" in shop.kinds()
    agreed = next(e for e in alice.events if e["kind"] == "terms.agreed")
    assert agreed["agreement"] == ours[0].agreement_id.hex()


async def test_counter_reject_and_withdraw_route_by_negotiation_id(lab: Lab) -> None:
    lab.write_policy(
        "shop",
        ACCEPT_P2B1.replace('default = "reject"', 'default = "ask-human"')
        + '[clause."amity.delete-on-end"]\naction = "within"\ndays = { min = 30 }\n'
        + '[clause."amity.breach-notice"]\naction = "reject"\nreason = "not in this shop"\n',
    )
    async with lab.pair() as (alice, shop):
        mine = TermsDocument.create(
            [*P2B1.clauses, Clause.of("amity.delete-on-end", days=7)], "mine"
        )
        strict = TermsDocument.create([*P2B1.clauses, Clause.of("amity.breach-notice", hours=24)])

        countered = await alice.terms.offer(shop.peer_id, mine)
        rejected = await alice.terms.offer(shop.peer_id, strict)
        waiting = await alice.terms.offer(shop.peer_id, SHOP)  # unnamed clauses: ask-human

        await settled(alice, countered, S.COUNTERED)
        await settled(alice, rejected, S.REJECTED)
        await settled(shop, waiting, S.OFFERED)
        counter = alice.terms.negotiation(countered.negotiation_id.hex())
        assert counter.our_turn and counter.rounds == 2
        assert counter.terms.clause("amity.delete-on-end") == Clause.of(
            "amity.delete-on-end", days=30
        )
        reasons = alice.terms.negotiation(rejected.negotiation_id.hex()[:6]).reasons
        assert [(r.clause_id, r.reason) for r in reasons] == [
            ("amity.breach-notice", "not in this shop")
        ]

        await alice.terms.accept(countered.negotiation_id.hex()[:8])
        await alice.terms.withdraw(waiting.negotiation_id.hex())

        await settled(shop, countered, S.AGREED)
        await settled(shop, waiting, S.WITHDRAWN)
        assert alice.state(countered) is S.AGREED
        assert [a.terms_id for a in shop.terms.agreements()] == [counter.terms.terms_id]


async def test_messages_for_unknown_or_foreign_negotiations_are_refused(lab: Lab) -> None:
    lab.write_policy("shop", ASK_HUMAN)
    async with (
        lab.node("alice", NodeKind.PERSON) as alice,
        lab.node("mallory", NodeKind.PERSON) as mallory,
        lab.node("shop", NodeKind.VENDOR) as shop,
    ):
        await meet(alice, shop)
        await meet(mallory, shop)
        neg = await alice.terms.offer(shop.peer_id, P2B1)
        await settled(shop, neg, S.OFFERED)

        # mallory names alice's negotiation: it is not one of hers, so it does not exist for her
        foreign = WithdrawBody(neg.negotiation_id, P2B1.terms_id)
        unknown = AcceptBody(os.urandom(16), P2B1.terms_id, bytes(64))
        await mallory.node.commit(
            Staged(
                sends=[
                    Outgoing(shop.peer_id, MSG_WITHDRAW, encode_terms_body(foreign)),
                    Outgoing(shop.peer_id, MSG_ACCEPT, encode_terms_body(unknown)),
                ]
            )
        )

        await async_wait_for(lambda: shop.node.rejected >= 2, what="both messages refused")
        assert shop.state(neg) is S.OFFERED
        assert [n.peer for n in shop.terms.negotiations()] == [alice.peer_id]


async def test_an_offer_the_vendor_cannot_read_is_answered_with_a_reject(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="amity")
    async with lab.pair() as (alice, shop):
        unknown_clause = encode([1, 1, [["amity.no-such-clause", []]], "", ""])
        body = encode([1, os.urandom(16), unknown_clause, 0, 1, None, bytes(64)])
        await alice.node.commit(Staged(sends=[Outgoing(shop.peer_id, MSG_OFFER, body)]))

        await async_wait_for(
            lambda: any(r.getMessage() == "terms.unreadable" for r in caplog.records),
            what="the shop answers the unreadable offer",
        )
        assert shop.terms.negotiations() == []
        assert MSG_OFFER in [i.type for i in shop.node.store.list_inbox()]
        # the reject arrives; alice opened no such negotiation (the offer was forged), so she
        # refuses it in turn
        await async_wait_for(lambda: alice.node.rejected == 1, what="the reject reaches alice")


async def test_a_restart_keeps_open_negotiations_and_their_deadlines(lab: Lab) -> None:
    lab.write_policy("shop", ASK_HUMAN)
    async with lab.node("alice", NodeKind.PERSON) as alice:
        async with lab.node("shop", NodeKind.VENDOR) as shop:
            await meet(alice, shop)
            kept = await alice.terms.offer(shop.peer_id, P2B1, ttl_ms=60_000)
            lapsing = await alice.terms.offer(shop.peer_id, SHOP, ttl_ms=1_500)
            await settled(shop, kept, S.OFFERED)
            await settled(shop, lapsing, S.OFFERED)
        # the shop is down while the short deadline passes; alice's own timer still runs
        await settled(alice, lapsing, S.EXPIRED)

        async with lab.node("shop", NodeKind.VENDOR) as shop:
            await settled(shop, lapsing, S.EXPIRED)  # re-armed at start, already due
            assert shop.state(kept) is S.OFFERED
            assert kept.negotiation_id in shop.terms.armed()
            await shop.terms.accept(kept.negotiation_id.hex())
            await settled(alice, kept, S.AGREED)
            assert shop.terms.armed() == {}


async def test_amendment_supersedes_the_old_agreement(lab: Lab) -> None:
    lab.write_policy("shop", ACCEPT_P2B1.replace('"reject"', '"ask-human"'))
    async with lab.pair() as (alice, shop):
        first = await alice.terms.offer(shop.peer_id, P2B1)
        await settled(alice, first, S.AGREED)
        old = alice.terms.agreements()[0]

        amended = await alice.terms.offer(shop.peer_id, SHOP, amends=old.agreement_id)
        await settled(shop, amended, S.OFFERED)
        assert shop.terms.negotiation(amended.negotiation_id.hex()).previous_agreement_id == (
            old.agreement_id
        )
        await shop.terms.accept(amended.negotiation_id.hex())
        await settled(alice, amended, S.AGREED)

        for party in (alice, shop):
            latest, previous = party.terms.agreements()
            assert previous.agreement_id == old.agreement_id
            assert previous.superseded_by == latest.agreement_id


async def test_policy_file_changes_apply_to_the_next_offer(lab: Lab) -> None:
    async with lab.pair() as (alice, shop):
        before = await alice.terms.offer(shop.peer_id, P2B1)
        await settled(shop, before, S.OFFERED)

        assert shop.terms.policy is not None
        shop.terms.policy.replace(ACCEPT_P2B1)
        after = await alice.terms.offer(shop.peer_id, P2B1)

        await settled(alice, after, S.AGREED)
        assert shop.state(before) is S.OFFERED  # a new policy answers new offers only


async def test_terms_are_between_a_person_and_a_vendor(lab: Lab) -> None:
    async with lab.node("alice", NodeKind.PERSON) as alice, lab.node("bob", NodeKind.PERSON) as bob:
        await meet(alice, bob)
        with pytest.raises(NodeError, match="not a person and a vendor"):
            await alice.terms.offer(bob.peer_id, P2B1)
        with pytest.raises(NodeError, match="no negotiation"):
            alice.terms.negotiation("abcd")


async def test_the_stored_record_round_trips(lab: Lab) -> None:
    lab.write_policy("shop", ACCEPT_P2B1)
    async with lab.pair() as (alice, shop):
        neg = await alice.terms.offer(shop.peer_id, P2B1)
        await settled(alice, neg, S.AGREED)
        agreed = alice.terms.negotiation(neg.negotiation_id.hex())

    assert agreed.agreement is not None
    text = negotiation_to_json(agreed)
    assert negotiation_from_json(text, agreed.agreement.encoded) == agreed
    assert "agreement" not in text.replace("previous_agreement_id", "")
