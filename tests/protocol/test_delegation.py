"""Fourth parties (spec/delegation.md): the vectors, and the chain rules on records made here."""

from __future__ import annotations

import os
from typing import Any

import pytest

from amity.protocol.delegation import Capability, CapabilityRevocation
from amity.protocol.delegationchain import DAY_MS, Act, check_act, check_grant, verify_chain
from amity.protocol.delegationmessages import decode_body, decode_delegated_delivery
from amity.protocol.delegationscope import GRANT, INTENT_CAST, Scope
from amity.protocol.delivery import open_delivery
from amity.protocol.errors import AmityError, UsageError
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkKey
from tests.vectors import unhex, vector_cases

T0 = 1_800_000_000_000
HER, AGENT, SUB, SHOP = (SigningIdentity(os.urandom(32)) for _ in range(4))


def _run(vector: dict[str, Any]) -> object:
    op = vector["operation"]
    if op == "capability":
        return Capability.decode(unhex(vector, "capability_hex"))
    if op == "revocation":
        return CapabilityRevocation.decode(unhex(vector, "revocation_hex"))
    if op == "body":
        return decode_body(vector["type"], unhex(vector, "body_hex"))
    if op == "delivered":
        sent = decode_delegated_delivery(unhex(vector, "body_hex"))
        person = PeerId(unhex(vector, "person_hex"))
        leaf = verify_chain(sent.chain, person=person, now_ms=vector["now_ms"], revoked=set())
        check_act(leaf, sent.act)
        delivery = open_delivery(
            sent.delivery, grantor=person, grantee=sent.act.vendor,
            link_key=LinkKey(unhex(vector, "link_seed_hex")), now_ms=vector["now_ms"],
        )  # fmt: skip
        check_grant(sent.act, delivery.grant)
        return delivery
    chain = [Capability.decode(bytes.fromhex(h)) for h in vector["chain_hex"]]
    act = Act.decode(unhex(vector, "act_hex"))
    leaf = verify_chain(
        chain,
        person=PeerId(unhex(vector, "person_hex")),
        now_ms=vector["now_ms"],
        revoked={bytes.fromhex(r) for r in vector["revoked_hex"]},
    )
    check_act(leaf, act)
    return leaf


@pytest.mark.parametrize("vector", **vector_cases("delegation", error=False))
def test_positive_vector(vector: dict[str, Any]) -> None:
    found = _run(vector)
    if isinstance(found, Capability):
        if vector["operation"] == "capability":
            assert found.capability_id.hex() == vector["capability_id_hex"]
            assert found.issuer.key.hex() == vector["issuer_hex"]
            assert found.agent.key.hex() == vector["agent_hex"]
            assert [s.name for s in found.scopes] == vector["scopes"]
            assert found.not_after_ms == vector["not_after_ms"]
    elif isinstance(found, CapabilityRevocation) and vector["operation"] == "revocation":
        assert found.capability_id.hex() == vector["capability_id_hex"]
        assert found.revoked_ms == vector["revoked_ms"]


@pytest.mark.parametrize("vector", **vector_cases("delegation", error=True))
def test_negative_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as caught:
        _run(vector)
    assert caught.value.code == vector["error"]


def _root(**changes: Any) -> Capability:
    args: dict[str, Any] = {
        "scopes": [Scope(GRANT, fields=("email", "phone"), max_days=30, min_standing=0)],
        "not_before_ms": T0, "not_after_ms": T0 + 60 * DAY_MS, "issued_ms": T0,
        "redelegate": True,
    }  # fmt: skip
    args.update(changes)
    return Capability.create(HER, AGENT.peer_id, **args)


def test_create_refuses_a_widened_link() -> None:
    root = _root()
    wider = Scope(GRANT, fields=("email",), max_days=31, min_standing=0)
    with pytest.raises(AmityError) as caught:
        Capability.create(AGENT, SUB.peer_id, scopes=[wider], not_before_ms=T0,
                          not_after_ms=T0 + DAY_MS, issued_ms=T0, parent=root)  # fmt: skip
    assert caught.value.code == "delegate.widened"
    with pytest.raises(AmityError) as caught:  # a scope the parent has not at all
        Capability.create(AGENT, SUB.peer_id, scopes=[Scope(INTENT_CAST)], not_before_ms=T0,
                          not_after_ms=T0 + DAY_MS, issued_ms=T0, parent=root)  # fmt: skip
    assert caught.value.code == "delegate.widened"
    with pytest.raises(UsageError):  # only the parent's agent passes it on
        Capability.create(SUB, SHOP.peer_id, scopes=[wider], not_before_ms=T0,
                          not_after_ms=T0 + DAY_MS, issued_ms=T0, parent=root)  # fmt: skip


def test_narrowing_chain_acts_until_revoked_or_expired() -> None:
    root = _root()
    sub = Capability.create(
        AGENT, SUB.peer_id, scopes=[Scope(GRANT, fields=("email",), max_days=7, min_standing=100)],
        not_before_ms=T0, not_after_ms=T0 + 10 * DAY_MS, issued_ms=T0, parent=root,
    )  # fmt: skip
    act = Act.grant_for(
        SUB, sub, person=HER.peer_id, act_id=bytes(16), vendor=SHOP.peer_id, fields=["email"],
        purpose="service-provision", context="", duration_ms=7 * DAY_MS, issued_ms=T0,
    )  # fmt: skip
    leaf = verify_chain([root, sub], person=HER.peer_id, now_ms=T0 + DAY_MS, revoked=set())
    check_act(leaf, act)
    codes = []
    for now, revoked in ((T0 + DAY_MS, {root.capability_id}), (T0 + 10 * DAY_MS, set())):
        with pytest.raises(AmityError) as caught:
            verify_chain([root, sub], person=HER.peer_id, now_ms=now, revoked=revoked)
        codes.append(caught.value.code)
    assert codes == ["delegate.revoked", "delegate.expired"]
    with pytest.raises(AmityError) as caught:  # the chain for someone else
        verify_chain([root, sub], person=SHOP.peer_id, now_ms=T0 + DAY_MS, revoked=set())
    assert caught.value.code == "delegate.wrong_party"
    too_long = Act.grant_for(
        SUB, sub, person=HER.peer_id, act_id=bytes(16), vendor=SHOP.peer_id, fields=["email"],
        purpose="service-provision", context="", duration_ms=8 * DAY_MS, issued_ms=T0,
    )  # fmt: skip
    with pytest.raises(AmityError) as caught:
        check_act(leaf, too_long)
    assert caught.value.code == "delegate.out_of_scope"


def test_only_the_issuer_revokes() -> None:
    root = _root()
    with pytest.raises(UsageError):
        CapabilityRevocation.create(AGENT, root, T0)
    assert CapabilityRevocation.create(HER, root, T0).capability_id == root.capability_id


def test_a_link_that_starts_a_little_in_the_readers_future_is_live() -> None:
    root = _root(not_before_ms=T0 + 60_000)
    assert verify_chain([root], person=HER.peer_id, now_ms=T0, revoked=set()) == root
    later = _root(not_before_ms=T0 + 600_000)
    with pytest.raises(AmityError) as caught:
        verify_chain([later], person=HER.peer_id, now_ms=T0, revoked=set())
    assert caught.value.code == "delegate.expired"
