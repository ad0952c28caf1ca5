"""A vendor's side: it checks the chain and the act before it holds what she granted on an
agent's word, and keeps her revocations. See spec/delegation.md §6-§7."""

from __future__ import annotations

from dataclasses import replace

from amity.protocol.core.delegation.records import (
    ActRecord,
    DelegationEffect,
    DelegationHost,
    KeepRevocation,
    SaveAct,
    SaveCapability,
    by_agent,
    revoked_links,
)
from amity.protocol.core.grants import holder
from amity.protocol.core.grants.effects import Audit
from amity.protocol.delegation import CapabilityRevocation
from amity.protocol.delegationchain import check_act, check_grant, verify_chain
from amity.protocol.delegationmessages import decode_delegated_delivery
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    DelegationPartyError,
    DelegationUnknownError,
)

__all__ = ["on_deliver", "on_revoke"]


def on_deliver(host: DelegationHost, envelope: Envelope, now_ms: int) -> list[DelegationEffect]:
    """``delegate.deliver``: the chain, the act, then the grant in the delivery is the act's;
    only then is the delivery held (grants.md §8), its audit saying by whom for whom."""
    sent = decode_delegated_delivery(envelope.body)
    sender, act = envelope.sender, sent.act
    if act.vendor != host.keyring.identity.peer_id or act.person != sender:
        raise DelegationPartyError(
            f"a delegated grant for vendor {act.vendor.short} of {act.person.short}, "
            f"sent by {sender.short}"
        )
    leaf = verify_chain(
        sent.chain, person=sender, now_ms=now_ms, revoked=revoked_links(host, sent.chain)
    )
    check_act(leaf, act)
    delivery = holder.open_body(host.grants, sender, sent.delivery, now_ms)
    made = delivery.grant
    check_grant(act, made)
    effects: list[DelegationEffect] = list(
        holder.hold(host.grants, delivery, now_ms, by=by_agent(act))
    )
    if host.act_record(act.act_id) is None:
        detail = (
            f"{by_agent(act)}: chain of {len(sent.chain)} checked, capability "
            f"{leaf.capability_id.hex()[:8]}, act {act.act_id.hex()[:8]}"
        )
        record = ActRecord(act, sent.chain, "received", now_ms, "", "", made.grant_id)
        effects += [Audit("delegate.verified", sender, made.grant_id, detail),
                    SaveAct(record, "received")]  # fmt: skip
    return effects


def on_revoke(host: DelegationHost, envelope: Envelope, now_ms: int) -> list[DelegationEffect]:
    """``delegate.revoke``, signed and sent by the capability's issuer: an agent marks the
    capability it holds revoked; her node keeps one from an agent of hers (a link it passed
    on), a vendor one of a capability it saw in a chain (spec/delegation.md §7)."""
    revocation = CapabilityRevocation.decode(envelope.body)
    if revocation.issuer != envelope.sender:
        raise DelegationPartyError(
            f"a revocation by {revocation.issuer.short} sent by {envelope.sender.short}"
        )
    cid = revocation.capability_id
    record = host.capability(cid)
    if record is not None and not record.mine:
        if record.capability.issuer != revocation.issuer:
            raise DelegationPartyError("only the issuer of a capability revokes it")
        if record.revocation is not None:
            return []
        return [SaveCapability(replace(record, revocation=revocation), "revoked")]
    if record is None and (host.seen(cid) or host.works_for_me(envelope.sender)):
        return [] if host.revocation(cid) is not None else [KeepRevocation(revocation)]
    raise DelegationUnknownError(f"a revocation of capability {cid.hex()[:8]}, never seen here")
