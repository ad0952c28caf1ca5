"""A vendor's direct endpoint: intents cast at it by her node, as at a hub that serves only itself.

She may cast an intent straight at vendors she already knows (her relationships) or finds on
the LAN, never over her relationship link nor under her identity: her node dials the vendor's
intents path as the intent's own key, as it dials a hub (spec/intents.md §7.5, §7.8). What the
vendor does with it is a hub's rules cut down to one subscriber, itself: the intent is checked
as a hub checks a cast (it lives, fits the endpoint's lifetime, carries the work asked, was not
cast here before, one live intent per pseudonym, a category the vendor serves), goes into the
inbox with her pseudonym as the way back, and the offer, the accept, the welcome, the withdraw
and the receipt travel on that link. The vendor keeps nothing but the pseudonym.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from amity.protocol.core.intents import vendor
from amity.protocol.core.intents.effects import ForgetPseudonym, IntentEffect
from amity.protocol.core.intents.host import DirectHost
from amity.protocol.core.intents.records import Seen
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    IntentConstraintError,
    IntentQuotaError,
    IntentReplayError,
    IntentSignatureError,
    UnknownCategoryError,
    UnknownIntentError,
    UsageError,
    WrongTypeError,
)
from amity.protocol.identity import PeerId
from amity.protocol.intent import Intent
from amity.protocol.intentacts import DeletedBecause, Withdraw
from amity.protocol.intentcategory import matches
from amity.protocol.intentmessages import (
    Cast,
    SealedRelay,
    WithdrawNotice,
    decode_intent_body,
)
from amity.protocol.intentwork import check_work

__all__ = ["QUOTA", "receive", "sweep"]

#: Live intents one pseudonym may have at a vendor's direct endpoint: one key, one intent.
QUOTA: Final = 1


def receive(host: DirectHost, envelope: Envelope, now_ms: int) -> list[IntentEffect]:
    """What ``intent.cast``, ``intent.sealed`` (her accept) or ``intent.withdraw`` from a
    pseudonym means to a vendor's direct endpoint; raises the AmityError that refuses it."""
    rules = host.direct_rules
    if rules is None:
        raise UsageError("this node takes no intents directly: it has no direct rules")
    body = decode_intent_body(envelope.type, envelope.body)
    sender = envelope.sender
    if isinstance(body, Cast):
        intent = Intent.decode(body.intent)
        if intent.intent_key != sender:
            raise IntentSignatureError("an intent is cast by its own key, not by another node")
        if not matches(rules.categories, intent.category):
            raise UnknownCategoryError(
                f"this vendor serves {', '.join(rules.categories)}, not {intent.category}",
                hint=UnknownCategoryError.code,
            )
        intent.check_live(now_ms)
        if intent.expires_ms - now_ms > rules.max_ttl_ms:
            raise IntentConstraintError(
                f"this vendor keeps intents for {rules.max_ttl_ms // 1000} s at most",
                hint=IntentConstraintError.code,
            )
        check_work(intent.intent_id, body.work_nonce, rules.work_bits)
        seen = host.seen(intent.intent_id)
        if seen is not None:
            if seen.direct:
                raise IntentReplayError(f"intent {intent.intent_id.hex()[:8]} was cast here")
            return []  # in the inbox already, through a hub: the offer goes that way
        if host.live_direct_from(sender) >= QUOTA:
            raise IntentQuotaError(
                f"{sender.short} has a live intent here already", hint=IntentQuotaError.code
            )
        return vendor.take(host, intent, sender, now_ms)
    if isinstance(body, SealedRelay):
        _cast_here(host, body.intent_id, sender)
        return vendor.accepted(host, body, now_ms)
    if isinstance(body, WithdrawNotice):
        signed = Withdraw.decode(body.withdraw)
        seen = _cast_here(host, signed.intent_id, sender)
        if seen.intent.intent_key != signed.intent_key:
            raise IntentSignatureError("a withdraw signed by another key than the intent's")
        return vendor.delete(host, seen, DeletedBecause.WITHDRAWN, now_ms)
    raise WrongTypeError(f"a direct endpoint takes no {envelope.type!r}")


def _cast_here(host: DirectHost, intent_id: bytes, sender: PeerId) -> Seen:
    """The intent ``sender`` cast here directly; intent.unknown_intent for any other."""
    seen = host.seen(intent_id)
    if seen is None or not seen.direct or seen.via != sender:
        raise UnknownIntentError(f"no intent {intent_id.hex()[:8]} was cast here by that key")
    return seen


def sweep(host: DirectHost, idle: Iterable[PeerId]) -> list[IntentEffect]:
    """What a direct endpoint forgets: every pseudonym of ``idle`` — those the driver keeps
    state for (a replay window, a sequence counter) and that have collected everything queued
    to them — that no intent in the inbox names as its way back (spec/intents.md §7.8).

    Safe against replay as a hub's sweep is (§7.7): only the intent key opens a link as its
    pseudonym, and an intent it cast here again is a new one to take or refuse on its merits."""
    return [ForgetPseudonym(p) for p in sorted(set(idle)) if not host.live_direct_from(p)]
