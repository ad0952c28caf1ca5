"""Her side: she gives an agent a capability, revokes it, and her node checks and carries out
what the agent asks under it. See spec/delegation.md §6-§7."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from amity.protocol.core.delegation.records import (
    ActRecord,
    CapabilityRecord,
    DelegationEffect,
    DelegationHost,
    Random,
    SaveAct,
    SaveCapability,
    by_agent,
    revoked_links,
)
from amity.protocol.core.grants import grantor
from amity.protocol.core.grants.effects import Audit, Send
from amity.protocol.delegation import Capability, CapabilityRevocation
from amity.protocol.delegationchain import Act, check_act, verify_chain
from amity.protocol.delegationmessages import (
    MAX_REASON_BYTES,
    MSG_ANSWER,
    MSG_OFFER,
    MSG_REVOKE,
    Answer,
    decode_act,
    encode_answer,
    encode_delegated_delivery,
    encode_offer,
)
from amity.protocol.delegationmessages import MSG_DELIVER as MSG_DELEGATED
from amity.protocol.delegationscope import GRANT, STANDING_SCALE, Scope
from amity.protocol.delivery import MSG_DELIVER
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    AmityError,
    DelegationPartyError,
    DelegationScopeError,
    NodeError,
    NotFoundError,
)
from amity.protocol.identity import PeerId
from amity.protocol.relationship import SendMessage

__all__ = ["grant", "revoke", "on_act"]


def grant(
    host: DelegationHost,
    agent: PeerId,
    now_ms: int,
    *,
    scopes: Sequence[Scope],
    not_before_ms: int,
    not_after_ms: int,
    redelegate: bool = False,
    note: str = "",
    under: bytes | None = None,
) -> tuple[CapabilityRecord, list[DelegationEffect]]:
    """Sign a capability for ``agent`` (a peer this node is connected with) and offer it.

    ``under``: an agent passes on a narrower capability under one it holds and accepted (the
    new link must narrow it: ``delegate.widened`` otherwise); the offer carries the whole chain.
    """
    grantor.connected(host, agent, "delegate to")
    above: tuple[Capability, ...] = ()
    if under is not None:
        held = host.capability(under)
        if held is None or held.mine:
            raise NotFoundError(f"no capability {under.hex()[:8]} given to this node")
        if held.revocation is not None or not held.accepted:
            raise NodeError(f"capability {under.hex()[:8]} is {held.state(now_ms)}: "
                            "pass on only one you accepted and still hold")  # fmt: skip
        above = held.chain
    cap = Capability.create(
        host.keyring.identity, agent, scopes=scopes, not_before_ms=not_before_ms,
        not_after_ms=not_after_ms, issued_ms=now_ms, redelegate=redelegate, note=note,
        parent=above[-1] if above else None,
    )  # fmt: skip
    record = CapabilityRecord((*above, cap), True, now_ms)
    return record, [
        SaveCapability(record, "granted"),
        SendMessage(agent, MSG_OFFER, encode_offer(record.chain)),
    ]


def revoke(
    host: DelegationHost, capability_id: bytes, now_ms: int
) -> tuple[CapabilityRecord, list[DelegationEffect]]:
    """Revoke a capability this node issued: its agent and every vendor that saw it are told
    (and her node, for a link an agent passed on); every act under it is refused from then on."""
    record = host.capability(capability_id)
    if record is None or not record.mine:
        raise NotFoundError(f"no capability {capability_id.hex()[:8]} of yours")
    if record.revocation is not None:
        raise NodeError(f"capability {capability_id.hex()[:8]} is already revoked")
    revocation = CapabilityRevocation.create(host.keyring.identity, record.capability, now_ms)
    updated = replace(record, revocation=revocation)
    effects: list[DelegationEffect] = [SaveCapability(updated, "revoked")]
    # A link an agent passed on: her node, which carries out every act, must know too.
    person = (record.person,) if len(record.chain) > 1 else ()
    for peer in (record.capability.agent, *record.vendors, *person):
        effects.append(SendMessage(peer, MSG_REVOKE, revocation.encoded))
    return updated, effects


def on_act(
    host: DelegationHost, envelope: Envelope, now_ms: int, random: Random
) -> list[DelegationEffect]:
    """``delegate.act``: check it (§6) and carry it out, or answer why not (§7)."""
    chain, act = decode_act(envelope.body)
    if act.agent != envelope.sender:
        raise DelegationPartyError(
            f"an act of agent {act.agent.short} sent by {envelope.sender.short}"
        )
    if host.act_record(act.act_id) is not None:
        return []  # answered already: the same act again changes nothing
    try:
        return _carry_out(host, chain, act, now_ms, random)
    except AmityError as exc:
        reason = exc.message.encode()[:MAX_REASON_BYTES].decode("utf-8", "ignore")
        record = ActRecord(act, chain, "handled", now_ms, exc.code, reason)
        answer = Answer(act.act_id, exc.code, reason, None)
        return [
            SaveAct(record, "refused"),
            Audit(
                "delegate.refused",
                act.agent,
                act.act_id,
                f"{by_agent(act)}: {exc.code}: {exc.message}",
            ),
            SendMessage(act.agent, MSG_ANSWER, encode_answer(answer)),
        ]


def _carry_out(
    host: DelegationHost,
    chain: tuple[Capability, ...],
    act: Act,
    now_ms: int,
    random: Random,
) -> list[DelegationEffect]:
    me = host.keyring.identity.peer_id
    if act.person != me:
        raise DelegationPartyError(f"an act for {act.person.short}, sent to {me.short}")
    leaf = verify_chain(chain, person=me, now_ms=now_ms, revoked=revoked_links(host, chain))
    check_act(leaf, act)
    scope = leaf.scope(GRANT)
    least = None if scope is None else scope.min_standing
    if least is not None:
        standing = host.standing(act.vendor)
        if standing is None or standing < least:
            shown = "unknown" if standing is None else f"{standing / STANDING_SCALE:.3f}"
            raise DelegationScopeError(
                f"her standing of {act.vendor.short} is {shown}; the capability asks "
                f"{least / STANDING_SCALE:.3f} or more"
            )
    made, effects = grantor.issue(
        host.grants, act.vendor, act.fields, purpose=act.purpose, context=act.context,
        duration_ms=act.duration_ms, now_ms=now_ms, random=random,
    )  # fmt: skip
    done: list[DelegationEffect] = []
    for effect in effects:
        if isinstance(effect, Send) and effect.type == MSG_DELIVER:
            body = encode_delegated_delivery(chain, act, effect.body)
            done.append(Send(effect.to, MSG_DELEGATED, body))
        else:
            done.append(effect)
    gid = made.grant_id
    root = host.capability(chain[0].capability_id)
    if root is not None and act.vendor not in root.vendors:
        done.append(SaveCapability(replace(root, vendors=(*root.vendors, act.vendor)), "used"))
    detail = (
        f"{by_agent(act)}: {', '.join(made.fields)} for {made.purpose}, "
        f"capability {leaf.capability_id.hex()[:8]}, act {act.act_id.hex()[:8]}"
    )
    done += [
        Audit("delegate.acted", act.vendor, gid, detail),
        SaveAct(ActRecord(act, chain, "handled", now_ms, "", "", gid), "acted"),
        SendMessage(act.agent, MSG_ANSWER, encode_answer(Answer(act.act_id, "", "", gid))),
    ]
    return done
