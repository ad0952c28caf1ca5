"""A vendor's side of intentcasting: subscribe at hubs, keep an inbox, answer, delete.

An intent forwarded by a hub the vendor subscribes at goes to its inbox; its auto-answer rule
(:class:`~amity.protocol.core.intents.rule.QuoteRule`, through the host) may answer it at once.
An answer is an offer signed by the vendor's identity that countersigns her terms, sealed to
the intent's link key. On withdraw or expiry the vendor deletes the intent; if it answered (or
she cast it here directly, :mod:`.direct`), it sends a signed receipt back (spec/intents.md §6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from amity.protocol.card import Card
from amity.protocol.core.intents.effects import (
    ArmExpiry,
    DropSeen,
    IntentArrived,
    IntentEffect,
    Invite,
    OfferSent,
    SaveSeen,
    SaveSubscription,
    Won,
)
from amity.protocol.core.intents.host import VendorHost
from amity.protocol.core.intents.records import Seen, SeenState
from amity.protocol.core.intents.rule import Quote
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    IntentReplayError,
    IntentSignatureError,
    NodeError,
    NotAPeerHubError,
    NotFoundError,
    SealKeyError,
    UnknownIntentError,
)
from amity.protocol.identity import PeerId
from amity.protocol.intent import Intent
from amity.protocol.intentacts import DeletedBecause, IntentReceipt, Withdraw, open_accept
from amity.protocol.intentcategory import matches
from amity.protocol.intentmessages import (
    MSG_FORWARD,
    MSG_RECEIPT,
    MSG_RULES,
    MSG_SEALED,
    MSG_SUBSCRIBE,
    MSG_WITHDRAW,
    Forward,
    ReceiptNotice,
    SealedRelay,
    Subscribe,
    WithdrawNotice,
    decode_intent_body,
    encode_intent_body,
)
from amity.protocol.intentoffer import Offer, seal_offer
from amity.protocol.intentwelcome import WELCOME_TTL_MS, Welcome, seal_welcome
from amity.protocol.relationship import SendMessage
from amity.protocol.sealed import peek_sealed

__all__ = [
    "TYPES",
    "subscribe",
    "receive",
    "take",
    "answer",
    "accepted",
    "welcome",
    "delete",
    "timer_fired",
]

#: The messages a vendor takes from its hubs.
TYPES: Final = frozenset({MSG_RULES, MSG_FORWARD, MSG_SEALED, MSG_WITHDRAW})


def subscribe(hub: PeerId, categories: tuple[str, ...]) -> list[IntentEffect]:
    """Subscribe at ``hub`` to ``categories`` (replacing what was there; () unsubscribes); the
    hub answers with its rules and forwards its live intents that match."""
    body = encode_intent_body(Subscribe(categories))
    return [SaveSubscription(hub, categories), SendMessage(hub, MSG_SUBSCRIBE, body)]


def receive(host: VendorHost, envelope: Envelope, now_ms: int) -> list[IntentEffect]:
    """What a hub's message means to a vendor; raises the AmityError that refuses it."""
    hub = envelope.sender
    categories = host.subscribed(hub)
    if categories is None:
        raise NotAPeerHubError(f"{hub.short} is not a hub this vendor subscribes at")
    body = decode_intent_body(envelope.type, envelope.body)
    if isinstance(body, Forward):
        return _forwarded(host, hub, categories, body, now_ms)
    if isinstance(body, WithdrawNotice):
        signed = Withdraw.decode(body.withdraw)
        seen = host.seen(signed.intent_id)
        if seen is None:
            return []  # never held, or already deleted: nothing to delete, nothing to say
        if seen.intent.intent_key != signed.intent_key:
            raise IntentSignatureError("a withdraw signed by another key than the intent's")
        return delete(host, seen, DeletedBecause.WITHDRAWN, now_ms)
    if isinstance(body, SealedRelay):
        return accepted(host, body, now_ms)
    return []  # intent.rules: the driver may keep them; nothing to decide here


def _forwarded(
    host: VendorHost, hub: PeerId, categories: Sequence[str], body: Forward, now_ms: int
) -> list[IntentEffect]:
    intent = Intent.decode(body.intent)
    intent.check_live(now_ms)
    if host.seen(intent.intent_id) is not None:
        return []  # the same intent through another hub of the federation
    if not matches(tuple(categories), intent.category):
        return []  # not what we asked for: a hub's mistake, not worth a refusal
    return take(host, intent, hub, now_ms)


def take(host: VendorHost, intent: Intent, via: PeerId, now_ms: int) -> list[IntentEffect]:
    """A new intent into the inbox, through ``via`` (a hub, or her pseudonym at the vendor's
    direct endpoint); the auto-answer rule may answer it at once."""
    seen = Seen(intent, via)
    out: list[IntentEffect] = [SaveSeen(seen), ArmExpiry(intent.intent_id, intent.expires_ms)]
    out.append(IntentArrived(seen))
    quote = host.quote(intent, now_ms)
    if quote is not None:
        out += _answer(host, seen, quote, now_ms, auto=True)
    return out


def answer(host: VendorHost, intent_id: bytes, quote: Quote, now_ms: int) -> list[IntentEffect]:
    """The owner answers an intent in the inbox with ``quote``."""
    seen = host.seen(intent_id)
    if seen is None:
        raise NotFoundError(f"no intent {intent_id.hex()[:8]} in the inbox")
    if seen.state is not SeenState.NEW:
        raise NodeError(f"intent {intent_id.hex()[:8]} was already answered: one offer each")
    seen.intent.check_live(now_ms)
    return _answer(host, seen, quote, now_ms, auto=False)


def _answer(
    host: VendorHost, seen: Seen, quote: Quote, now_ms: int, *, auto: bool
) -> list[IntentEffect]:
    identity = host.keyring.identity
    _, cert = host.keyring.current(now_ms)
    offer = Offer.create(
        identity,
        seen.intent,
        price=quote.price,
        terms_of_sale=quote.terms_of_sale,
        available_ms=quote.available_ms,
        valid_until_ms=now_ms + quote.valid_for_ms,
        offered_ms=now_ms,
        link_cert=cert,
    )
    sealed = seal_offer(
        identity,
        offer,
        seen.intent,
        seq=1,
        ts_ms=now_ms,
        nonce=host.random_bytes(16),
        ephemeral_private=host.random_bytes(32),
    )
    body = encode_intent_body(SealedRelay(seen.intent_id, sealed))
    answered = replace(seen, state=SeenState.ANSWERED, offer=offer, auto=auto)
    return [
        SaveSeen(answered),
        SendMessage(seen.via, MSG_SEALED, body),
        OfferSent(seen.intent_id, offer, auto),
    ]


def accepted(host: VendorHost, body: SealedRelay, now_ms: int) -> list[IntentEffect]:
    seen = host.seen(body.intent_id)
    if seen is None or seen.offer is None:
        raise UnknownIntentError(
            f"an accept for intent {body.intent_id.hex()[:8]}: no offer of ours"
        )
    header = peek_sealed(body.sealed)
    link_key = host.keyring.find_link_key(header.link_public, now_ms)
    if link_key is None:
        raise SealKeyError("an accept sealed to a link key this vendor no longer holds")
    signed = open_accept(body.sealed, host.keyring.identity.peer_id, link_key, seen.intent)
    if signed.offer_id != seen.offer.offer_id:
        raise UnknownIntentError("the accept names an offer this vendor did not make")
    if seen.state is not SeenState.ANSWERED:
        raise IntentReplayError(f"intent {seen.intent_id.hex()[:8]} was accepted before")
    person = None if signed.reveal is None else signed.reveal.person
    out: list[IntentEffect] = [
        SaveSeen(replace(seen, state=SeenState.WON, person=person)),
        Won(seen.intent_id, signed),
    ]
    if person is not None:  # she named herself: invite her in (§6.1)
        out.append(Invite(seen.intent_id, person, now_ms + WELCOME_TTL_MS))
    return out


def welcome(
    host: VendorHost, intent_id: bytes, invitation: Card, now_ms: int
) -> list[IntentEffect]:
    """Send the invitation that :class:`Invite` asked for back to her intent key, sealed to the
    intent's link key and relayed by the hub the intent came through (spec/intents.md §6.1)."""
    seen = host.seen(intent_id)
    if seen is None or seen.offer is None or seen.person is None:
        raise NotFoundError(f"no intent {intent_id.hex()[:8]} that a revealed person accepted")
    if seen.state is not SeenState.WON:
        raise NodeError(f"intent {intent_id.hex()[:8]} is {seen.state.value}, not won")
    sealed = seal_welcome(
        host.keyring.identity,
        Welcome(intent_id, seen.offer.offer_id, invitation),
        seen.intent,
        seq=2,
        ts_ms=now_ms,
        nonce=host.random_bytes(16),
        ephemeral_private=host.random_bytes(32),
    )
    body = encode_intent_body(SealedRelay(intent_id, sealed))
    return [
        SaveSeen(replace(seen, state=SeenState.WELCOMED)),
        SendMessage(seen.via, MSG_SEALED, body),
    ]


def delete(host: VendorHost, seen: Seen, reason: DeletedBecause, now_ms: int) -> list[IntentEffect]:
    out: list[IntentEffect] = [DropSeen(seen.intent_id)]
    # Those that answered hold her terms and a link to her: a receipt; so does a vendor she
    # cast at directly, which held the intent for her as a hub would (spec/intents.md §7.8).
    if seen.offer is not None or seen.direct:
        receipt = IntentReceipt.issue(host.keyring.identity, seen.intent_id, reason, now_ms)
        body = encode_intent_body(ReceiptNotice(receipt.encoded))
        out.append(SendMessage(seen.via, MSG_RECEIPT, body))
    return out


def timer_fired(host: VendorHost, intent_id: bytes, now_ms: int) -> list[IntentEffect]:
    """An intent in the inbox expired: delete it (with a receipt if the vendor answered)."""
    seen = host.seen(intent_id)
    if seen is None or now_ms < seen.intent.expires_ms:
        return []
    return delete(host, seen, DeletedBecause.EXPIRED, now_ms)
