"""Test vectors for spec/delegation.md: capabilities, a chain of two, a revocation and acts under
them, and a negative vector for each refusal (forged, widened, expired, revoked, out of scope).

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amity.protocol.delegation import (
    DELEGATION_DOMAIN,
    DELEGATION_REVOKE_DOMAIN,
    Capability,
    CapabilityRevocation,
)
from amity.protocol.delegationchain import DAY_MS, Act, check_act, check_grant, verify_chain
from amity.protocol.delegationmessages import (
    MSG_ACT,
    MSG_ANSWER,
    MSG_DELIVER,
    MSG_OFFER,
    MSG_REVOKE,
    Answer,
    decode_body,
    decode_delegated_delivery,
    encode_act,
    encode_answer,
    encode_delegated_delivery,
    encode_offer,
)
from amity.protocol.delegationscope import GRANT, OFFERS_READ, TERMS_NEGOTIATE, Scope, encode_scope
from amity.protocol.delivery import deliver, open_delivery
from amity.protocol.encoding import Value
from amity.protocol.errors import AmityError
from amity.protocol.grants import Grant, Onward
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.linkcert import LinkKey
from amity.protocol.signed import sign_structure
from amity.protocol.vault import Field, FieldType, PostalAddress

T0 = 1_800_000_000_000  # 2027-01-15T08:00:00Z
HER = SigningIdentity(bytes.fromhex("a11ce0" + "00" * 27 + "a11c"))
AGENT = SigningIdentity(bytes.fromhex("a6e470" + "00" * 27 + "a6e4"))
SUB = SigningIdentity(bytes.fromhex("5ab0a6" + "00" * 27 + "5ab0"))
VENDOR = SigningIdentity(bytes.fromhex("5e11e2" + "00" * 27 + "5e11"))
OTHER = SigningIdentity(bytes.fromhex("0e0e0e" + "00" * 27 + "0e0e"))
NOTES = (
    "operation 'capability': Capability.decode(capability_hex) verifies it under its issuer; "
    'capability_id_hex = SHA-256("amity/delegation-id/v1\\0" || signed_bytes). operation '
    "'revocation': CapabilityRevocation.decode(revocation_hex). operation 'act': decode each "
    "link of chain_hex and act_hex, then verify_chain(chain, person=person_hex, now_ms, "
    "revoked=revoked_hex) and check_act(last link, act). Negative vectors: the first step that "
    "fails raises `error`. operation 'body': decode_body(type, body_hex) reads a message body "
    "(spec/delegation.md §7). operation 'delivered' (the vendor's check of a delegate.deliver "
    "body): decode_delegated_delivery(body_hex), verify_chain for person_hex at now_ms, "
    "check_act, open_delivery(delivery, grantor=person, grantee=act's vendor, "
    "link_key=LinkKey(link_seed_hex), now_ms), then check_grant(act, grant)."
)
LINK_SEED = bytes.fromhex("5e11" * 16)
EPHEMERAL = bytes.fromhex("e9" * 32)
ADDRESS = Field("postal-address", FieldType.POSTAL_ADDRESS,
                PostalAddress("Hauptstraße 5", "Berlin", "10115", "DE"))  # fmt: skip
WIDE = Scope(GRANT, fields=("email", "postal-address"), purposes=("order-fulfilment",),
             min_standing=500, max_days=30)  # fmt: skip
NARROW = Scope(GRANT, fields=("postal-address",), purposes=("order-fulfilment",),
               min_standing=600, max_days=7)  # fmt: skip


def _raw(
    issuer: SigningIdentity, agent: PeerId, *, parent: bytes = b"", scopes: list[Scope],
    redelegate: bool = False, nb: int = T0, na: int = T0 + 90 * DAY_MS, version: int = 1,
    signer: SigningIdentity | None = None,
) -> bytes:  # fmt: skip
    fields: list[Value] = [
        version, issuer.peer_id.key, agent.key, parent, [encode_scope(s) for s in scopes],
        redelegate, nb, na, T0, "",
    ]  # fmt: skip
    return sign_structure(fields, DELEGATION_DOMAIN, signer or issuer)


def _act(agent: SigningIdentity, cap: Capability, **changes: Any) -> Act:
    args: dict[str, Any] = {
        "person": HER.peer_id, "act_id": bytes.fromhex("ac" * 16), "vendor": VENDOR.peer_id,
        "fields": ("postal-address",), "purpose": "order-fulfilment", "context": "order 42",
        "duration_ms": 7 * DAY_MS, "issued_ms": T0 + DAY_MS,
    }  # fmt: skip
    args.update(changes)
    return Act.grant_for(agent, cap, **args)


def _run_act(vector: dict[str, Any]) -> None:
    chain = [Capability.decode(bytes.fromhex(h)) for h in vector["chain_hex"]]
    act = Act.decode(bytes.fromhex(vector["act_hex"]))
    leaf = verify_chain(
        chain, person=PeerId(bytes.fromhex(vector["person_hex"])), now_ms=vector["now_ms"],
        revoked={bytes.fromhex(r) for r in vector["revoked_hex"]},
    )  # fmt: skip
    check_act(leaf, act)


def _run_delivered(vector: dict[str, Any]) -> None:
    sent = decode_delegated_delivery(bytes.fromhex(vector["body_hex"]))
    person, now = PeerId(bytes.fromhex(vector["person_hex"])), vector["now_ms"]
    leaf = verify_chain(sent.chain, person=person, now_ms=now, revoked=set())
    check_act(leaf, sent.act)
    delivery = open_delivery(
        sent.delivery, grantor=person, grantee=sent.act.vendor,
        link_key=LinkKey(bytes.fromhex(vector["link_seed_hex"])), now_ms=now,
    )  # fmt: skip
    check_grant(sent.act, delivery.grant)


def _delivered(chain: list[Capability], act: Act, days: int) -> dict[str, Any]:
    grant = Grant.issue(
        HER, grantee=VENDOR.peer_id, grant_id=bytes.fromhex("9a" * 16),
        agreement_id=bytes(32), fields=["postal-address"], purpose="order-fulfilment",
        context="order 42", onward=Onward.NONE, issued_ms=T0 + DAY_MS,
        not_after_ms=T0 + (1 + days) * DAY_MS,
    )  # fmt: skip
    body = deliver(grant, [ADDRESS], [], link_public=LinkKey(LINK_SEED).public,
                   ephemeral_private=EPHEMERAL)  # fmt: skip
    return {
        "operation": "delivered", "type": MSG_DELIVER,
        "body_hex": encode_delegated_delivery(chain, act, body).hex(),
        "person_hex": HER.peer_id.key.hex(), "link_seed_hex": LINK_SEED.hex(),
        "now_ms": T0 + DAY_MS,
    }  # fmt: skip


def _reader(op: str) -> Callable[[dict[str, Any]], object]:
    if op == "delivered":
        return _run_delivered
    if op == "capability":
        return lambda v: Capability.decode(bytes.fromhex(v["capability_hex"]))
    if op == "body":
        return lambda v: decode_body(v["type"], bytes.fromhex(v["body_hex"]))
    if op == "revocation":
        return lambda v: CapabilityRevocation.decode(bytes.fromhex(v["revocation_hex"]))
    return _run_act


def _refused(name: str, description: str, vector: dict[str, Any], error: str) -> dict[str, Any]:
    case = {"name": name, "description": description, **vector, "error": error}
    try:
        _reader(vector["operation"])(case)
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    return case


def _acting(chain: list[bytes], act: Act, *, now: int = T0 + DAY_MS,
            revoked: tuple[bytes, ...] = ()) -> dict[str, Any]:  # fmt: skip
    return {
        "operation": "act", "chain_hex": [c.hex() for c in chain], "act_hex": act.encoded.hex(),
        "person_hex": HER.peer_id.key.hex(), "now_ms": now, "revoked_hex": [r.hex() for r in revoked],
    }  # fmt: skip


def build() -> dict[str, Any]:
    root = Capability.create(
        HER, AGENT.peer_id, scopes=[WIDE, Scope(OFFERS_READ), Scope(TERMS_NEGOTIATE)],
        not_before_ms=T0, not_after_ms=T0 + 90 * DAY_MS, issued_ms=T0, redelegate=True,
        note="my buying agent",
    )  # fmt: skip
    sub = Capability.create(
        AGENT, SUB.peer_id, scopes=[NARROW], not_before_ms=T0, not_after_ms=T0 + 30 * DAY_MS,
        issued_ms=T0, parent=root,
    )  # fmt: skip
    revocation = CapabilityRevocation.create(HER, root, T0 + 2 * DAY_MS)
    by_agent = _act(AGENT, root)
    by_sub = _act(SUB, sub)
    sub_raw = lambda **kw: _raw(AGENT, SUB.peer_id, parent=root.capability_id, **kw)  # noqa: E731
    vectors = [
        {"name": "capability", "description": "Her capability for her buying agent: grant her "
         "email or postal address for order fulfilment to vendors of standing >= 0.5 for <= 30 "
         "days, read offers, negotiate (not sign); 90 days; it may pass on a narrower one.",
         "operation": "capability", "capability_hex": root.encoded.hex(),
         "capability_id_hex": root.capability_id.hex(), "issuer_hex": HER.peer_id.key.hex(),
         "agent_hex": AGENT.peer_id.key.hex(), "not_before_ms": root.not_before_ms,
         "not_after_ms": root.not_after_ms, "scopes": [s.name for s in root.scopes]},
        {"name": "capability-narrower", "description": "The agent passes on postal-address only, "
         "standing >= 0.6, <= 7 days, for 30 days.", "operation": "capability",
         "capability_hex": sub.encoded.hex(), "capability_id_hex": sub.capability_id.hex(),
         "issuer_hex": AGENT.peer_id.key.hex(), "agent_hex": SUB.peer_id.key.hex(),
         "not_before_ms": sub.not_before_ms, "not_after_ms": sub.not_after_ms,
         "scopes": [s.name for s in sub.scopes]},
        {"name": "revocation", "description": "She revokes her capability two days in.",
         "operation": "revocation", "revocation_hex": revocation.encoded.hex(),
         "capability_id_hex": root.capability_id.hex(), "issuer_hex": HER.peer_id.key.hex(),
         "revoked_ms": revocation.revoked_ms},
        {"name": "act", "description": "The agent asks to grant her postal address for 7 days.",
         **_acting([root.encoded], by_agent)},
        {"name": "act-through-chain", "description": "The sub-agent asks the same, showing "
         "both links.", **_acting([root.encoded, sub.encoded], by_sub)},
        {"name": "body-offer", "description": "Her node offers the agent its capability.",
         "operation": "body", "type": MSG_OFFER, "body_hex": encode_offer([root]).hex()},
        {"name": "body-act", "description": "The sub-agent asks her node, with both links.",
         "operation": "body", "type": MSG_ACT, "body_hex": encode_act([root, sub], by_sub).hex()},
        {"name": "body-answer", "description": "Her node answers: done, this grant.",
         "operation": "body", "type": MSG_ANSWER, "body_hex": encode_answer(
             Answer(by_agent.act_id, "", "", bytes.fromhex("9a" * 16))).hex()},
        {"name": "body-answer-refused", "description": "Her node answers: refused, revoked.",
         "operation": "body", "type": MSG_ANSWER, "body_hex": encode_answer(
             Answer(by_agent.act_id, "delegate.revoked", "capability 1f2e revoked",
                    None)).hex()},
        {"name": "body-revoke", "description": "Her revocation, as sent to the agent.",
         "operation": "body", "type": MSG_REVOKE, "body_hex": revocation.encoded.hex()},
        {"name": "delivered", "description": "Her node's delegated delivery to the vendor: the "
         "chain, the agent's act, and the grant of her postal address for 7 days it made.",
         **_delivered([root], by_agent, 7)},
        _refused("delivered-longer", "The grant inside lasts 8 days; the act asked for 7.",
                 _delivered([root], by_agent, 8), "delegate.out_of_scope"),
        _refused("body-offer-empty", "An offer with no capability.",
                 {"operation": "body", "type": MSG_OFFER, "body_hex": "9201 90".replace(" ", "")},
                 "encoding.schema"),
        _refused("capability-forged", "Names her as issuer, signed by another key.",
                 {"operation": "capability", "capability_hex":
                  _raw(HER, AGENT.peer_id, scopes=[WIDE], signer=OTHER).hex()},
                 "delegate.bad_signature"),
        _refused("capability-backwards", "Ends before it starts.",
                 {"operation": "capability", "capability_hex":
                  _raw(HER, AGENT.peer_id, scopes=[WIDE], na=T0 - 1).hex()}, "encoding.schema"),
        _refused("capability-to-herself", "The issuer and the agent are one key.",
                 {"operation": "capability", "capability_hex":
                  _raw(HER, HER.peer_id, scopes=[WIDE]).hex()}, "encoding.schema"),
        _refused("capability-unknown-scope", "A scope this reader does not know.",
                 {"operation": "capability", "capability_hex": sign_structure(
                     [1, HER.peer_id.key, AGENT.peer_id.key, b"", [["terms.sign"]], False, T0,
                      T0 + DAY_MS, T0, ""], DELEGATION_DOMAIN, HER).hex()}, "encoding.schema"),
        _refused("capability-version-2", "A version this reader does not speak.",
                 {"operation": "capability", "capability_hex":
                  _raw(HER, AGENT.peer_id, scopes=[WIDE], version=2).hex()},
                 "version.unsupported"),
        _refused("revocation-forged", "Her revocation, signed by another key.",
                 {"operation": "revocation", "revocation_hex": sign_structure(
                     [1, root.capability_id, HER.peer_id.key, T0], DELEGATION_REVOKE_DOMAIN,
                     OTHER).hex()}, "delegate.bad_signature"),
        _refused("act-forged", "The act names the agent but another key signed it.",
                 {**_acting([root.encoded], by_agent), "act_hex": sign_structure(
                     [1, bytes(16), AGENT.peer_id.key, HER.peer_id.key, root.capability_id,
                      "grant", VENDOR.peer_id.key, ["email"], "order-fulfilment", "", DAY_MS,
                      T0], b"amity/delegation-act/v1\x00", OTHER).hex()},
                 "delegate.bad_signature"),
        _refused("chain-not-hers", "The chain starts with a capability another person signed.",
                 _acting([_raw(OTHER, AGENT.peer_id, scopes=[WIDE])],
                         _act(AGENT, Capability.decode(_raw(OTHER, AGENT.peer_id,
                                                            scopes=[WIDE])))),
                 "delegate.wrong_party"),
        _refused("chain-widened-fields", "The agent passes on a field it was not given.",
                 _acting([root.encoded, sub_raw(scopes=[Scope(GRANT, fields=("phone",),
                          purposes=("order-fulfilment",), min_standing=600, max_days=7)])],
                         by_sub), "delegate.widened"),
        _refused("chain-widened-time", "The agent passes on a capability that outlives its own.",
                 _acting([root.encoded, sub_raw(scopes=[NARROW], na=T0 + 120 * DAY_MS)], by_sub),
                 "delegate.widened"),
        _refused("chain-widened-standing", "The agent drops her condition on standing.",
                 _acting([root.encoded, sub_raw(scopes=[Scope(GRANT, fields=("postal-address",),
                          purposes=("order-fulfilment",), max_days=7)])], by_sub),
                 "delegate.widened"),
        _refused("chain-no-redelegation", "A link under a capability that may not be passed on.",
                 _acting([_raw(HER, AGENT.peer_id, scopes=[WIDE]), sub_raw(scopes=[NARROW])],
                         by_sub), "delegate.widened"),
        _refused("act-revoked", "She revoked her capability.",
                 _acting([root.encoded], by_agent, revoked=(root.capability_id,)),
                 "delegate.revoked"),
        _refused("act-expired", "Her capability ended.",
                 _acting([root.encoded], by_agent, now=T0 + 90 * DAY_MS), "delegate.expired"),
        _refused("act-out-of-scope-field", "A field the capability does not cover.",
                 _acting([root.encoded], _act(AGENT, root, fields=("phone",))),
                 "delegate.out_of_scope"),
        _refused("act-out-of-scope-days", "Longer than the capability allows.",
                 _acting([root.encoded], _act(AGENT, root, duration_ms=31 * DAY_MS)),
                 "delegate.out_of_scope"),
        _refused("act-out-of-scope-purpose", "A purpose the capability does not cover.",
                 _acting([root.encoded], _act(AGENT, root, purpose="marketing")),
                 "delegate.out_of_scope"),
        _refused("act-wrong-agent", "The agent acts under the sub-agent's link.",
                 _acting([root.encoded, sub.encoded], by_agent), "delegate.wrong_party"),
    ]  # fmt: skip
    return {"title": "Delegation", "spec": "spec/delegation.md", "notes": NOTES,
            "vectors": vectors}  # fmt: skip
