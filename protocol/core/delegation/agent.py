"""The agent's side: it keeps the capability it was offered, its owner accepts it, and it asks
her node to act under it; answers and revocations come back. See spec/delegation.md §7."""

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
    revoked_links,
)
from amity.protocol.core.grants import grantor
from amity.protocol.delegationchain import Act, verify_chain
from amity.protocol.delegationmessages import (
    MSG_ACT,
    decode_answer,
    decode_offer,
    encode_act,
)
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    DelegationExpiredError,
    DelegationPartyError,
    DelegationRevokedError,
    DelegationUnknownError,
    NodeError,
    NotFoundError,
)
from amity.protocol.grants import GRANT_ID_BYTES
from amity.protocol.identity import PeerId
from amity.protocol.relationship import SendMessage

__all__ = ["accept", "act_grant", "on_offer", "on_answer"]


def _held(host: DelegationHost, capability_id: bytes) -> CapabilityRecord:
    record = host.capability(capability_id)
    if record is None or record.mine:
        raise NotFoundError(f"no capability {capability_id.hex()[:8]} given to this node")
    return record


def accept(
    host: DelegationHost, capability_id: bytes, now_ms: int
) -> tuple[CapabilityRecord, list[DelegationEffect]]:
    """The agent's owner agrees to act under a capability it was offered."""
    record = _held(host, capability_id)
    if record.revocation is not None:
        raise DelegationRevokedError(f"capability {capability_id.hex()[:8]} was revoked")
    if record.accepted:
        return record, []
    updated = replace(record, accepted=True)
    return updated, [SaveCapability(updated, "accepted")]


def act_grant(
    host: DelegationHost,
    capability_id: bytes,
    vendor: PeerId,
    fields: Sequence[str],
    now_ms: int,
    random: Random,
    *,
    purpose: str,
    context: str,
    duration_ms: int,
) -> tuple[ActRecord, list[DelegationEffect]]:
    """Ask her node to grant ``fields`` to ``vendor`` under an accepted capability."""
    record = _held(host, capability_id)
    if record.revocation is not None:
        raise DelegationRevokedError(f"capability {capability_id.hex()[:8]} was revoked")
    if not record.accepted:
        raise NodeError(f"accept capability {capability_id.hex()[:8]} first: amity delegate accept")
    if now_ms >= record.capability.not_after_ms:
        raise DelegationExpiredError(f"capability {capability_id.hex()[:8]} has expired")
    person = record.person
    grantor.connected(host, person, "act for")
    act = Act.grant_for(
        host.keyring.identity, record.capability, person=person,
        act_id=random(GRANT_ID_BYTES), vendor=vendor, fields=fields, purpose=purpose,
        context=context, duration_ms=duration_ms, issued_ms=now_ms,
    )  # fmt: skip
    made = ActRecord(act, record.chain, "asked", now_ms)
    return made, [
        SaveAct(made, "asked"),
        SendMessage(person, MSG_ACT, encode_act(record.chain, act)),
    ]


def on_offer(host: DelegationHost, envelope: Envelope, now_ms: int) -> list[DelegationEffect]:
    """``delegate.offer``: keep a capability made out to this node, until its owner accepts."""
    chain = decode_offer(envelope.body)
    leaf = chain[-1]
    if leaf.agent != host.keyring.identity.peer_id or leaf.issuer != envelope.sender:
        raise DelegationPartyError(
            f"an offer of a capability from {leaf.issuer.short} to {leaf.agent.short}, "
            f"sent by {envelope.sender.short}"
        )
    verify_chain(chain, person=chain[0].issuer, now_ms=now_ms, revoked=revoked_links(host, chain))
    if host.capability(leaf.capability_id) is not None:
        return []
    return [SaveCapability(CapabilityRecord(chain, False, now_ms), "offered")]


def on_answer(host: DelegationHost, envelope: Envelope, now_ms: int) -> list[DelegationEffect]:
    """``delegate.answer``: her node did what the agent asked, or says why not."""
    answer = decode_answer(envelope.body)
    record = host.act_record(answer.act_id)
    if record is None or record.role != "asked" or record.act.person != envelope.sender:
        raise DelegationUnknownError(
            f"an answer to act {answer.act_id.hex()[:8]}, which this node did not ask "
            f"{envelope.sender.short}"
        )
    if record.code is not None:
        return []
    updated = replace(record, code=answer.code, reason=answer.reason, grant_id=answer.grant_id)
    return [SaveAct(updated, "acted" if answer.code == "" else "refused")]
