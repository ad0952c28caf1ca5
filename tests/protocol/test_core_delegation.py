"""The delegation service of the node core (spec/delegation.md §7), driven in memory: her node
carries out an agent's act and sends the vendor a delegated delivery, and the vendor checks the
chain, the act and the grant before it holds anything."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import pytest

from amity.protocol.card import NodeKind
from amity.protocol.core.delegation import agent, her, service
from amity.protocol.core.delegation.records import (
    ActRecord,
    CapabilityRecord,
    KeepRevocation,
    SaveAct,
    SaveCapability,
)
from amity.protocol.core.grants.effects import Audit, SaveHolding, Send
from amity.protocol.delegation import (
    DELEGATION_DOMAIN,
    DELEGATION_REVOKE_DOMAIN,
    CapabilityRevocation,
)
from amity.protocol.delegationchain import DAY_MS, Act
from amity.protocol.delegationmessages import (
    MSG_DELIVER,
    MSG_REVOKE,
    decode_delegated_delivery,
    encode_delegated_delivery,
)
from amity.protocol.delegationscope import GRANT, Scope
from amity.protocol.encoding import encode
from amity.protocol.envelope import Envelope
from amity.protocol.errors import AmityError
from amity.protocol.keyring import Keyring
from amity.protocol.relationship import SendMessage
from amity.protocol.signed import sign_structure
from tests.protocol.test_core_grants import T0, MemoryHost, _card, _connected, _parties, _random


@dataclass
class Party:
    """A DelegationHost in memory over a grants host in memory."""

    grants: MemoryHost
    caps: dict[bytes, CapabilityRecord] = field(default_factory=dict)
    acts: dict[bytes, ActRecord] = field(default_factory=dict)
    kept: dict[bytes, CapabilityRevocation] = field(default_factory=dict)
    standings: dict[Any, int] = field(default_factory=dict)

    @property
    def keyring(self) -> Keyring:
        return self.grants.keyring

    def relationship(self, peer: Any) -> Any:
        return self.grants.relationship(peer)

    def capability(self, capability_id: bytes) -> CapabilityRecord | None:
        return self.caps.get(capability_id)

    def act_record(self, act_id: bytes) -> ActRecord | None:
        return self.acts.get(act_id)

    def revocation(self, capability_id: bytes) -> CapabilityRevocation | None:
        record = self.caps.get(capability_id)
        if record is not None and record.revocation is not None:
            return record.revocation
        return self.kept.get(capability_id)

    def seen(self, capability_id: bytes) -> bool:
        return any(capability_id in {c.capability_id for c in a.chain} for a in self.acts.values())

    def works_for_me(self, peer: Any) -> bool:
        return any(r.mine and r.capability.agent == peer for r in self.caps.values())

    def standing(self, vendor: Any) -> int | None:
        return self.standings.get(vendor)

    def apply(self, effects: list[Any]) -> None:
        for effect in effects:
            if isinstance(effect, SaveCapability):
                self.caps[effect.record.capability_id] = effect.record
            elif isinstance(effect, SaveAct):
                self.acts[effect.record.act_id] = effect.record
            elif isinstance(effect, KeepRevocation):
                self.kept[effect.revocation.capability_id] = effect.revocation
        self.grants.apply(effects)


def _to(sender: Party, to: Party, message: Any) -> Envelope:
    me, them = sender.keyring.identity.peer_id, to.keyring.identity.peer_id
    return Envelope(message.type, me, them, 1, T0, b"n", message.body, b"")


def _deliver(receiver: Party, envelope: Envelope, now_ms: int = T0) -> list[Any]:
    effects = service.receive(receiver, envelope, now_ms, _random)
    receiver.apply(effects)
    return effects


@pytest.fixture
def world() -> tuple[Party, Party, Party]:
    """She, her agent (with an accepted capability: email, 7 days, 30 days long) and a shop."""
    person, shop, _ = _parties()
    her_node, vendor = Party(person), Party(shop)
    helper = Party(MemoryHost(Keyring(b"a" * 32)))
    agent_id = helper.keyring.identity.peer_id
    person.peers[agent_id] = _connected(_card(helper.grants.keyring, NodeKind.PERSON))
    helper.grants.peers[person.keyring.identity.peer_id] = _connected(
        _card(person.keyring, NodeKind.PERSON)
    )
    record, effects = her.grant(
        her_node, agent_id, T0, scopes=[Scope(GRANT, fields=("email",), max_days=7)],
        not_before_ms=T0, not_after_ms=T0 + 30 * DAY_MS,
    )  # fmt: skip
    her_node.apply(effects)
    (offer,) = [e for e in effects if isinstance(e, SendMessage)]
    _deliver(helper, _to(her_node, helper, offer))
    _, accepted = agent.accept(helper, record.capability_id, T0)
    helper.apply(accepted)
    return her_node, helper, vendor


def _act(her_node: Party, helper: Party, vendor: Party) -> Envelope:
    """The agent asks for email for 1 day; her node's delegated delivery to the shop."""
    (cap_id,) = helper.caps
    _, asked = agent.act_grant(
        helper, cap_id, vendor.keyring.identity.peer_id, ["email"], T0, _random,
        purpose="service-provision", context="", duration_ms=DAY_MS,
    )  # fmt: skip
    helper.apply(asked)
    (ask,) = [e for e in asked if isinstance(e, SendMessage)]
    done = _deliver(her_node, _to(helper, her_node, ask))
    (sent,) = [e for e in done if isinstance(e, Send)]
    assert sent.type == MSG_DELIVER
    return _to(her_node, vendor, sent)


def test_the_vendor_holds_a_delegated_grant_and_both_audits_say_by_whom(world: Any) -> None:
    her_node, helper, vendor = world
    envelope = _act(her_node, helper, vendor)
    effects = _deliver(vendor, envelope)
    assert [type(e) for e in effects if isinstance(e, SaveHolding)] == [SaveHolding]
    said = {e.kind: e.detail for e in effects if isinstance(e, Audit)}
    assert "by agent" in said["grant.received"] and "by agent" in said["delegate.verified"]
    (mine,) = [r for r in her_node.acts.values() if r.role == "handled"]
    assert mine.code == "" and mine.grant_id is not None
    (root,) = her_node.caps.values()
    assert root.vendors == (vendor.keyring.identity.peer_id,)


def test_the_vendor_refuses_a_chain_that_does_not_check(world: Any) -> None:
    her_node, helper, vendor = world
    good = _act(her_node, helper, vendor)
    sent = decode_delegated_delivery(good.body)
    (root,) = sent.chain
    codes = {}

    def refused(name: str, body: bytes, now_ms: int = T0) -> None:
        with pytest.raises(AmityError) as caught:
            service.receive(vendor, replace(good, body=body), now_ms, _random)
        codes[name] = caught.value.code

    forged = sign_structure(
        [1, root.issuer.key, root.agent.key, b"", [[GRANT, ["email"], [], None, 30]], False,
         T0, T0 + DAY_MS, T0, ""], DELEGATION_DOMAIN, helper.keyring.identity,
    )  # fmt: skip
    refused("forged", encode([1, [forged], sent.act.encoded, sent.delivery]))
    elsewhere = Act.grant_for(
        helper.keyring.identity, root, person=root.issuer, act_id=bytes(16),
        vendor=helper.keyring.identity.peer_id, fields=["email"], purpose="service-provision",
        context="", duration_ms=DAY_MS, issued_ms=T0,
    )  # fmt: skip
    refused("another vendor", encode_delegated_delivery(sent.chain, elsewhere, sent.delivery))
    shorter = replace_act(helper, root, vendor, duration_ms=DAY_MS // 2)
    refused("not the act's grant", encode_delegated_delivery(sent.chain, shorter, sent.delivery))
    refused("expired", good.body, now_ms=T0 + 30 * DAY_MS)
    assert codes == {
        "forged": "delegate.bad_signature",
        "another vendor": "delegate.wrong_party",
        "not the act's grant": "delegate.out_of_scope",
        "expired": "delegate.expired",
    }
    _deliver(vendor, good)  # the good one is held
    _, revoking = her.revoke(her_node, root.capability_id, T0)
    her_node.apply(revoking)
    to_vendor = [e for e in revoking if isinstance(e, SendMessage)
                 and e.to == vendor.keyring.identity.peer_id]  # fmt: skip
    assert [e.type for e in to_vendor] == [MSG_REVOKE]
    _deliver(vendor, _to(her_node, vendor, to_vendor[0]))
    refused("revoked", good.body)
    assert codes["revoked"] == "delegate.revoked"


def replace_act(helper: Party, root: Any, vendor: Party, *, duration_ms: int) -> Act:
    return Act.grant_for(
        helper.keyring.identity, root, person=root.issuer, act_id=bytes(16),
        vendor=vendor.keyring.identity.peer_id, fields=["email"], purpose="service-provision",
        context="", duration_ms=duration_ms, issued_ms=T0,
    )  # fmt: skip


def test_her_node_answers_an_act_below_the_standing_it_asks(world: Any) -> None:
    her_node, helper, vendor = world
    (cap_id,) = helper.caps
    record = helper.caps[cap_id]
    assert record.state(T0) == "live"
    her_node.standings[vendor.keyring.identity.peer_id] = 100
    (root,) = her_node.caps.values()
    strict = replace(root.capability.scopes[0], min_standing=500)
    _, effects = her.grant(
        her_node, helper.keyring.identity.peer_id, T0, scopes=[strict], not_before_ms=T0,
        not_after_ms=T0 + DAY_MS,
    )  # fmt: skip
    her_node.apply(effects)
    (offer,) = [e for e in effects if isinstance(e, SendMessage)]
    _deliver(helper, _to(her_node, helper, offer))
    new_id = next(k for k in helper.caps if k != cap_id)
    helper.apply(agent.accept(helper, new_id, T0)[1])
    _, asked = agent.act_grant(
        helper, new_id, vendor.keyring.identity.peer_id, ["email"], T0, _random,
        purpose="service-provision", context="", duration_ms=DAY_MS,
    )  # fmt: skip
    (ask,) = [e for e in asked if isinstance(e, SendMessage)]
    done = _deliver(her_node, _to(helper, her_node, ask))
    assert not [e for e in done if isinstance(e, Send)]  # nothing went to the vendor
    (answer,) = [e for e in done if isinstance(e, SendMessage)]
    helper.apply(asked)
    _deliver(helper, _to(her_node, helper, answer))
    (refused,) = [r for r in helper.acts.values() if r.code]
    assert refused.code == "delegate.out_of_scope" and "0.100" in refused.reason


def test_a_link_passed_on_acts_until_the_agent_revokes_it(world: Any) -> None:
    her_node, helper, vendor = world
    (cap_id,) = helper.caps
    her_id = her_node.keyring.identity.peer_id
    sub = Party(MemoryHost(Keyring(b"b" * 32)))
    sub_id = sub.keyring.identity.peer_id
    for a, b in ((helper, sub), (sub, helper), (her_node, sub), (sub, her_node)):
        card = _card(b.keyring, NodeKind.PERSON)
        a.grants.peers[b.keyring.identity.peer_id] = _connected(card)
    narrow = [Scope(GRANT, fields=("email",), max_days=1)]
    with pytest.raises(AmityError) as caught:  # her capability may not be passed on
        her.grant(helper, sub_id, T0, scopes=narrow, not_before_ms=T0,
                  not_after_ms=T0 + DAY_MS, under=cap_id)  # fmt: skip
    assert caught.value.code == "delegate.widened"
    # She gives one that may be passed on; the agent passes on a narrower one.
    _, effects = her.grant(
        her_node, helper.keyring.identity.peer_id, T0, not_before_ms=T0,
        not_after_ms=T0 + 10 * DAY_MS, redelegate=True,
        scopes=[Scope(GRANT, fields=("email",), max_days=7)],
    )  # fmt: skip
    her_node.apply(effects)
    _deliver(helper, _to(her_node, helper, effects[-1]))
    (open_id,) = [k for k in helper.caps if k != cap_id]
    helper.apply(agent.accept(helper, open_id, T0)[1])
    passed, effects = her.grant(helper, sub_id, T0, scopes=narrow, not_before_ms=T0,
                                not_after_ms=T0 + DAY_MS, under=open_id)  # fmt: skip
    helper.apply(effects)
    assert len(passed.chain) == 2
    _deliver(sub, _to(helper, sub, effects[-1]))
    sub.apply(agent.accept(sub, passed.capability_id, T0)[1])

    def sub_acts() -> str | None:
        made, asked = agent.act_grant(
            sub, passed.capability_id, vendor.keyring.identity.peer_id, ["email"], T0, _random,
            purpose="service-provision", context="", duration_ms=DAY_MS,
        )  # fmt: skip
        sub.apply(asked)
        _deliver(her_node, _to(sub, her_node, asked[-1]))
        return her_node.acts[made.act_id].code

    assert sub_acts() == ""
    # Someone who did not issue her capability cannot revoke it at her node.
    (root,) = [r for r in her_node.caps.values() if r.capability.redelegate]
    stranger = sign_structure([1, root.capability_id, sub_id.key, T0],
                              DELEGATION_REVOKE_DOMAIN, sub.keyring.identity)  # fmt: skip
    with pytest.raises(AmityError) as caught:
        service.receive(her_node, _to(sub, her_node, SimpleNamespace(
            type=MSG_REVOKE, body=stranger)), T0, _random)  # fmt: skip
    assert caught.value.code == "delegate.unknown"
    _, revoking = her.revoke(helper, passed.capability_id, T0)
    helper.apply(revoking)
    assert {e.to for e in revoking if isinstance(e, SendMessage)} == {sub_id, her_id}
    for message in revoking:
        if isinstance(message, SendMessage) and message.to == her_id:
            _deliver(her_node, _to(helper, her_node, message))
    assert sub_acts() == "delegate.revoked"
