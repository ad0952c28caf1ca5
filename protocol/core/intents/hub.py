"""A hub's rules: store intents until they expire, forward them to subscribers and listed hubs,
relay sealed mail both ways, enforce caps, rates, quotas and proof of work, pass withdraws on
and receipts back. The hub reads intents (it must, to route them) but never an offer or an
accept: those are sealed. See spec/intents.md §7.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from amity.protocol.core.intents.caster import OVERSUBSCRIBE
from amity.protocol.core.intents.effects import (
    ArmExpiry,
    DropHubIntent,
    IntentEffect,
    Relayed,
    SaveHubIntent,
    SaveSubscriber,
)
from amity.protocol.core.intents.host import HubHost
from amity.protocol.core.intents.records import HubIntent, Subscriber
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    DuplicateOfferError,
    IntentConstraintError,
    IntentExpiredError,
    IntentQuotaError,
    IntentRateError,
    IntentReplayError,
    IntentSignatureError,
    NotAPeerHubError,
    OfferCapError,
    SealKeyError,
    UnknownIntentError,
)
from amity.protocol.identity import PeerId
from amity.protocol.intent import Intent
from amity.protocol.intentacts import DeletedBecause, IntentReceipt, Withdraw
from amity.protocol.intentcategory import TAXONOMY_VERSION, check_subscription, matches
from amity.protocol.intentmessages import (
    MSG_CAST,
    MSG_FORWARD,
    MSG_RECEIPT,
    MSG_RULES,
    MSG_SEALED,
    MSG_SUBSCRIBE,
    MSG_WITHDRAW,
    Cast,
    Forward,
    ReceiptNotice,
    SealedRelay,
    Subscribe,
    WithdrawNotice,
    decode_intent_body,
    encode_intent_body,
)
from amity.protocol.intentwork import check_work
from amity.protocol.relationship import SendMessage
from amity.protocol.sealed import peek_sealed

__all__ = ["TYPES", "QUOTA", "TOMBSTONE_MS", "HOUR_MS", "receive", "timer_fired"]

TYPES: Final = frozenset(
    {MSG_SUBSCRIBE, MSG_CAST, MSG_FORWARD, MSG_SEALED, MSG_WITHDRAW, MSG_RECEIPT}
)
#: Live intents one pseudonym may have at a hub (spec/intents.md §7.4).
QUOTA: Final = 8
#: How long past an intent's expiry a hub remembers it (the way back, and that it was seen):
#: the grace of spec/intents.md §7.7.
TOMBSTONE_MS: Final = 24 * 3600 * 1000
HOUR_MS: Final = 3600 * 1000


def receive(host: HubHost, envelope: Envelope, now_ms: int) -> list[IntentEffect]:
    """What an ``intent.*`` message means to a hub; raises the AmityError that refuses it."""
    body = decode_intent_body(envelope.type, envelope.body)
    sender = envelope.sender
    if isinstance(body, Subscribe):
        return _subscribe(host, sender, body, now_ms)
    if isinstance(body, Cast):
        intent = Intent.decode(body.intent)
        if intent.intent_key != sender:
            raise IntentSignatureError("an intent is cast by its own key, not by another node")
        held = host.hub_intent(intent.intent_id)
        if held is not None and held.origin.key in host.rules.peers:
            return _cast_again(host, held, body.work_nonce, now_ms)
        _admit(host, intent, body.work_nonce, now_ms)
        if host.live_intents_from(sender) >= QUOTA:
            raise IntentQuotaError(
                f"{sender.short} has {QUOTA} live intents here", hint=IntentQuotaError.code
            )
        record = HubIntent(intent, body.work_nonce, sender, host.rules.max_hops)
        return _spread(host, record, now_ms)
    if isinstance(body, Forward):
        if sender.key not in host.rules.peers:
            raise NotAPeerHubError(f"{sender.short} is not a hub this hub lists")
        intent = Intent.decode(body.intent)
        known = host.hub_intent(intent.intent_id) or host.tombstone(intent.intent_id)
        if known is not None:  # federation dedupe: the same intent by another path
            return [Relayed(intent.intent_id, "duplicate", 0)]
        if body.hops_left < 1:
            return [Relayed(intent.intent_id, "out-of-hops", 0)]
        _admit(host, intent, body.work_nonce, now_ms)
        # Never further than this hub's own max_hops would send an intent cast here.
        hops_left = min(body.hops_left - 1, host.rules.max_hops)
        record = HubIntent(intent, body.work_nonce, sender, hops_left)
        return _spread(host, record, now_ms)
    if isinstance(body, SealedRelay):
        return _sealed(host, sender, body, now_ms)
    if isinstance(body, WithdrawNotice):
        return _withdraw(host, body, now_ms)
    assert isinstance(body, ReceiptNotice)
    receipt = IntentReceipt.decode(body.receipt)
    way_back = _way_back(host, receipt.intent_id)
    return [SendMessage(way_back, MSG_RECEIPT, encode_intent_body(body))]


def _cast_again(
    host: HubHost, record: HubIntent, work_nonce: bytes, now_ms: int
) -> list[IntentEffect]:
    """Her cast of an intent a listed hub forwarded here first (she cast it at both): taken,
    and her pseudonym becomes its way back (spec/intents.md §7.3.1)."""
    intent = record.intent
    intent.check_live(now_ms)
    check_work(intent.intent_id, work_nonce, host.rules.work_bits)
    if host.live_intents_from(intent.intent_key) >= QUOTA:
        raise IntentQuotaError(
            f"{intent.intent_key.short} has {QUOTA} live intents here", hint=IntentQuotaError.code
        )
    mine = replace(record, origin=intent.intent_key, sent_to=record.sent_to | {record.origin})
    return [SaveHubIntent(mine), Relayed(intent.intent_id, "cast-again", 0)]


def _admit(host: HubHost, intent: Intent, work_nonce: bytes, now_ms: int) -> None:
    """The checks a cast and a forward share (spec/intents.md §7.3)."""
    intent.check_live(now_ms)
    rules = host.rules
    if intent.expires_ms - now_ms > rules.max_ttl_ms:
        raise IntentConstraintError(
            f"this hub keeps intents for {rules.max_ttl_ms // 1000} s at most",
            hint=IntentConstraintError.code,
        )
    check_work(intent.intent_id, work_nonce, rules.work_bits)
    if host.hub_intent(intent.intent_id) is not None or host.tombstone(intent.intent_id):
        raise IntentReplayError(f"intent {intent.intent_id.hex()[:8]} was cast here before")


def _spread(host: HubHost, record: HubIntent, now_ms: int) -> list[IntentEffect]:
    """Store a new intent and forward it to matching subscribers and, while hops are left, to
    the listed hubs (never back where it came from)."""
    intent = record.intent
    targets = [p for p in host.subscribers_for(intent.category) if p != record.origin]
    if record.hops_left >= 1:
        targets += [PeerId(k) for k in host.rules.peers if k != record.origin.key]
    stored = replace(record, sent_to=frozenset(targets))
    out: list[IntentEffect] = [SaveHubIntent(stored)]
    for target in targets:
        out.append(SendMessage(target, MSG_FORWARD, _forward_body(stored)))
    out.append(ArmExpiry(intent.intent_id, intent.expires_ms))
    out.append(Relayed(intent.intent_id, "forwarded", len(targets)))
    return out


def _forward_body(record: HubIntent) -> bytes:
    return encode_intent_body(Forward(record.intent.encoded, record.work_nonce, record.hops_left))


def _subscribe(host: HubHost, peer: PeerId, body: Subscribe, now_ms: int) -> list[IntentEffect]:
    for entry in body.categories:
        check_subscription(TAXONOMY_VERSION, entry)
    before = host.subscriber(peer)
    subscriber = (
        Subscriber(peer, body.categories, now_ms)
        if before is None
        else replace(before, categories=body.categories)
    )
    out: list[IntentEffect] = [
        SaveSubscriber(subscriber),
        SendMessage(peer, MSG_RULES, encode_intent_body(host.rules)),
    ]
    for record in host.live_intents():
        live = now_ms < record.intent.expires_ms
        if live and peer not in record.sent_to and matches(body.categories, record.intent.category):
            out.append(SaveHubIntent(replace(record, sent_to=record.sent_to | {peer})))
            out.append(SendMessage(peer, MSG_FORWARD, _forward_body(record)))
    return out


def _sealed(host: HubHost, sender: PeerId, body: SealedRelay, now_ms: int) -> list[IntentEffect]:
    record = host.hub_intent(body.intent_id)
    if record is None:
        if host.tombstone(body.intent_id) is not None:
            raise IntentExpiredError(f"intent {body.intent_id.hex()[:8]} was deleted here")
        raise UnknownIntentError(f"this hub holds no intent {body.intent_id.hex()[:8]}")
    intent = record.intent
    header = peek_sealed(body.sealed)
    if header.recipient == intent.intent_key:
        return _towards_caster(host, record, sender, body, header.link_public, now_ms)
    if sender not in (intent.intent_key, record.origin):
        raise UnknownIntentError("sealed mail for a vendor comes from the intent's side only")
    peers = {PeerId(k) for k in host.rules.peers}
    if header.recipient in record.sent_to and header.recipient not in peers:
        routes = [header.recipient] if record.answered_by(header.recipient) else []
    else:  # the vendor answered through a peer hub: ask those that brought offers
        routes = [p for p in record.sent_to & peers if record.answered_by(p) and p != sender]
    if not routes:
        raise UnknownIntentError(f"no offer from {header.recipient.short} came through here")
    out: list[IntentEffect] = [SendMessage(p, MSG_SEALED, encode_intent_body(body)) for p in routes]
    if not record.accepted.issuperset(routes):
        out.insert(0, SaveHubIntent(replace(record, accepted=record.accepted | set(routes))))
    return [*out, Relayed(body.intent_id, "accept", len(routes))]


def _towards_caster(
    host: HubHost,
    record: HubIntent,
    sender: PeerId,
    body: SealedRelay,
    link_public: bytes,
    now_ms: int,
) -> list[IntentEffect]:
    intent = record.intent
    if sender not in record.sent_to:
        raise UnknownIntentError(f"intent {intent.intent_id.hex()[:8]} was not forwarded to you")
    if link_public != intent.link_public:
        raise SealKeyError("sealed mail for an intent must be sealed to its link key")
    intent.check_live(now_ms)
    out: list[IntentEffect] = []
    is_peer = sender.key in host.rules.peers
    # her accept went to this neighbour: one more sealed message may come back, the welcome
    welcome = sender in record.accepted and record.answered_by(sender) == 1
    if not is_peer:
        subscriber = _rate(host, sender, now_ms)
        if record.answered_by(sender) and not welcome:
            raise DuplicateOfferError(
                f"{sender.short} already answered this intent", hint=DuplicateOfferError.code
            )
        out.append(SaveSubscriber(subscriber))
    cap = min(host.rules.offer_cap, OVERSUBSCRIBE * intent.offers_wanted) + len(record.accepted)
    if len(record.offers) >= cap:
        raise OfferCapError(f"this intent has its {cap} offers", hint=OfferCapError.code)
    kept = replace(record, offers=(*record.offers, (sender, body.sealed)))
    send = SendMessage(record.origin, MSG_SEALED, encode_intent_body(body))
    return [SaveHubIntent(kept), *out, send, Relayed(intent.intent_id, "offer", len(kept.offers))]


def _rate(host: HubHost, sender: PeerId, now_ms: int) -> Subscriber:
    """The subscriber's rate window with this answer counted; intent.rate_limited past it."""
    subscriber = host.subscriber(sender) or Subscriber(sender, (), now_ms)
    if now_ms - subscriber.window_start_ms >= HOUR_MS:
        subscriber = replace(subscriber, window_start_ms=now_ms, answers_in_window=0)
    if subscriber.answers_in_window >= host.rules.rate_per_hour:
        raise IntentRateError(
            f"{sender.short} sent {subscriber.answers_in_window} offers this hour; the limit "
            f"is {host.rules.rate_per_hour}",
            hint=IntentRateError.code,
        )
    return replace(subscriber, answers_in_window=subscriber.answers_in_window + 1)


def _withdraw(host: HubHost, body: WithdrawNotice, now_ms: int) -> list[IntentEffect]:
    signed = Withdraw.decode(body.withdraw)
    record = host.hub_intent(signed.intent_id)
    if record is None:
        if host.tombstone(signed.intent_id) is not None:
            raise IntentReplayError(f"intent {signed.intent_id.hex()[:8]} is already deleted")
        raise UnknownIntentError(f"this hub holds no intent {signed.intent_id.hex()[:8]}")
    if signed.intent_key != record.intent.intent_key:
        raise IntentSignatureError("a withdraw signed by another key than the intent's")
    passed = [SendMessage(p, MSG_WITHDRAW, encode_intent_body(body)) for p in record.sent_to]
    return [*_delete(host, record, DeletedBecause.WITHDRAWN, now_ms), *passed]


def _delete(
    host: HubHost, record: HubIntent, reason: DeletedBecause, now_ms: int
) -> list[IntentEffect]:
    receipt = IntentReceipt.issue(host.keyring.identity, record.intent_id, reason, now_ms)
    notice = encode_intent_body(ReceiptNotice(receipt.encoded))
    return [
        # Until the intent's own expiry and a grace after it: a withdrawn intent is still not
        # taken again, nor a late forward of it, while it could still be live.
        DropHubIntent(
            record.intent_id,
            record.origin,
            max(now_ms, record.intent.expires_ms) + TOMBSTONE_MS,
        ),
        SendMessage(record.origin, MSG_RECEIPT, notice),
        Relayed(record.intent_id, reason.value, len(record.offers)),
    ]


def _way_back(host: HubHost, intent_id: bytes) -> PeerId:
    record = host.hub_intent(intent_id)
    if record is not None:
        return record.origin
    origin = host.tombstone(intent_id)
    if origin is None:
        raise UnknownIntentError(f"a receipt for intent {intent_id.hex()[:8]}, unknown here")
    return origin


def timer_fired(host: HubHost, intent_id: bytes, now_ms: int) -> list[IntentEffect]:
    """An intent's expiry: delete it and its offers, and send a receipt back."""
    record = host.hub_intent(intent_id)
    if record is None or now_ms < record.intent.expires_ms:
        return []
    return _delete(host, record, DeletedBecause.EXPIRED, now_ms)
