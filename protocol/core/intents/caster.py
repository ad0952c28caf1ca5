"""Her side of an intent: cast under a fresh key, open and rank offers, accept, withdraw.

Every intent gets a fresh Ed25519 key and a fresh X25519 link key, drawn from the host's
randomness and never reused; her own identity signs nothing but the reveal she may send with an
accept. Offers are opened and checked here (spec/intents.md §5): the stateless checks by
:func:`~amity.protocol.intentoffer.open_offer`, then replay, one offer per vendor, her cap, and
her cut-off, which hides an offer without refusing it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from amity.protocol.core.intents.effects import (
    AcceptSent,
    ArmExpiry,
    IntentEffect,
    OfferHidden,
    OfferShown,
    ReceiptKept,
    SaveCasting,
    SendAsIntent,
    Welcomed,
)
from amity.protocol.core.intents.host import CasterHost
from amity.protocol.core.intents.records import Casting, CastingState, KeptOffer
from amity.protocol.envelope import Envelope
from amity.protocol.errors import (
    DuplicateOfferError,
    IntentExpiredError,
    IntentReplayError,
    NodeError,
    NotFoundError,
    OfferCapError,
    UnknownIntentError,
)
from amity.protocol.identity import PeerId, SigningIdentity
from amity.protocol.intent import Constraints, Intent, StatedClaim, TermsRef
from amity.protocol.intentacts import (
    Accept,
    IntentReceipt,
    Reveal,
    Withdraw,
    seal_accept,
)
from amity.protocol.intentmessages import (
    MSG_CAST,
    MSG_RECEIPT,
    MSG_SEALED,
    MSG_WITHDRAW,
    Cast,
    ReceiptNotice,
    SealedRelay,
    WithdrawNotice,
    decode_intent_body,
    encode_intent_body,
)
from amity.protocol.intentwelcome import OpenedWelcome, open_vendor_mail
from amity.protocol.intentwork import solve_work
from amity.protocol.linkcert import LinkKey

__all__ = ["TYPES", "OVERSUBSCRIBE", "cast", "receive", "accept", "withdraw", "timer_fired"]

#: The messages her node takes on an intent's pseudonym.
TYPES: Final = frozenset({MSG_SEALED, MSG_RECEIPT})
#: She keeps up to this many offers per offer wanted: some will be hidden by her cut-off.
OVERSUBSCRIBE: Final = 4


def cast(
    host: CasterHost,
    now_ms: int,
    *,
    category: str,
    text: str,
    constraints: Constraints,
    terms: TermsRef,
    offers_wanted: int,
    ttl_ms: int,
    hubs: tuple[PeerId, ...],
    work_bits: int,
    claims: tuple[StatedClaim, ...] = (),
    direct: tuple[PeerId, ...] = (),
) -> tuple[Casting, list[IntentEffect]]:
    """Cast a new intent at ``hubs``, and at the vendors ``direct`` (spec/intents.md §7.8),
    under a fresh key; the work stamp is solved here (about ``2^work_bits`` hashes: a driver
    may run this off its event loop)."""
    if not hubs and not direct:
        raise NodeError("an intent is cast at one hub or one vendor at least")
    key_seed, link_private = host.random_bytes(32), host.random_bytes(32)
    intent = Intent.create(
        SigningIdentity(key_seed),
        link_public=LinkKey(link_private).public,
        category=category,
        text=text,
        constraints=constraints,
        terms=terms,
        offers_wanted=offers_wanted,
        cast_ms=now_ms,
        expires_ms=now_ms + ttl_ms,
        claims=claims,
    )
    start = int.from_bytes(host.random_bytes(8), "big")
    nonce = solve_work(intent.intent_id, work_bits, start=start)
    casting = Casting(intent, key_seed, link_private, tuple(hubs), nonce, direct=tuple(direct))
    body = encode_intent_body(Cast(intent.encoded, nonce))
    sends: list[IntentEffect] = [
        SendAsIntent(intent.intent_id, to, MSG_CAST, body) for to in casting.targets
    ]
    return casting, [SaveCasting(casting), *sends, ArmExpiry(intent.intent_id, intent.expires_ms)]


def receive(host: CasterHost, envelope: Envelope, now_ms: int) -> list[IntentEffect]:
    """A sealed offer or a deletion receipt, to one of her intents' pseudonyms."""
    body = decode_intent_body(envelope.type, envelope.body)
    if isinstance(body, ReceiptNotice):
        receipt = IntentReceipt.decode(body.receipt)
        casting = _mine(host, receipt.intent_id, envelope)
        if any(r.deleter == receipt.deleter for r in casting.receipts):
            raise IntentReplayError(f"a second receipt from {receipt.deleter.short}")
        with_receipt = replace(casting, receipts=(*casting.receipts, receipt))
        return [SaveCasting(with_receipt), ReceiptKept(receipt)]
    assert isinstance(body, SealedRelay)
    casting = _mine(host, body.intent_id, envelope)
    opened = open_vendor_mail(body.sealed, casting.intent, casting.link_key, now_ms)
    if isinstance(opened, OpenedWelcome):
        return _welcomed(casting, opened)
    if casting.state is not CastingState.OPEN:
        raise IntentExpiredError(
            f"intent {casting.intent_id.hex()[:8]} is {casting.state.value}; no more offers"
        )
    offer = opened.offer
    for before in casting.offers:
        if (
            opened.envelope.nonce == before.envelope_nonce
            or offer.offer_id == before.offer.offer_id
        ):
            raise IntentReplayError(f"offer {offer.offer_id.hex()[:8]} was seen before")
        if before.offer.vendor == offer.vendor:
            raise DuplicateOfferError(
                f"{offer.vendor.short} already made an offer for this intent",
                hint=DuplicateOfferError.code,
            )
    cap = OVERSUBSCRIBE * casting.intent.offers_wanted
    if len(casting.offers) >= cap:
        raise OfferCapError(f"intent keeps {cap} offers; this one is over", hint=OfferCapError.code)
    why = host.cut_off(offer.vendor)
    trust = host.trust(offer.vendor)
    kept = KeptOffer(offer, trust, why is not None, opened.envelope.nonce, envelope.sender)
    updated = casting.with_offer(kept)
    out: list[IntentEffect] = [SaveCasting(updated)]
    if why is not None:
        out.append(OfferHidden(casting.intent_id, offer.vendor, why))
    else:
        shown = updated.shown()
        if kept in shown:
            out.append(OfferShown(casting.intent_id, kept, shown.index(kept) + 1))
    return out


def _welcomed(casting: Casting, opened: OpenedWelcome) -> list[IntentEffect]:
    """The accepted vendor's invitation (§6.1): from that vendor, for the offer she accepted,
    once."""
    welcome = opened.welcome
    accepted = next((k.offer for k in casting.offers if k.offer.offer_id == casting.accepted), None)
    if casting.state is not CastingState.ACCEPTED or accepted is None:
        raise UnknownIntentError(f"intent {casting.intent_id.hex()[:8]} accepted no offer")
    if welcome.offer_id != accepted.offer_id or opened.envelope.sender != accepted.vendor:
        raise UnknownIntentError("a welcome from a vendor, or for an offer, she did not accept")
    if casting.welcome is not None:
        raise IntentReplayError(f"a second welcome for intent {casting.intent_id.hex()[:8]}")
    updated = replace(casting, welcome=welcome.invitation.encoded)
    return [
        SaveCasting(updated),
        Welcomed(casting.intent_id, welcome.invitation, casting.intent.terms),
    ]


def _mine(host: CasterHost, intent_id: bytes, envelope: Envelope) -> Casting:
    casting = host.casting(intent_id)
    if casting is None or casting.intent.intent_key != envelope.recipient:
        raise UnknownIntentError(f"no intent {intent_id.hex()[:8]} of ours under that key")
    if envelope.sender not in casting.targets:
        raise UnknownIntentError(f"{envelope.sender.short} is not where this intent was cast")
    return casting


def accept(
    host: CasterHost, intent_id: bytes, offer_id: bytes, now_ms: int, *, reveal: bool = True
) -> tuple[Casting, list[IntentEffect]]:
    """Accept one kept offer: seal an accept to that vendor alone; with ``reveal``, her identity
    signs that the intent is hers, for that vendor only (spec/intents.md §6)."""
    casting = host.casting(intent_id)
    if casting is None:
        raise NotFoundError(f"no intent {intent_id.hex()[:8]}")
    if casting.state is not CastingState.OPEN:
        raise NodeError(f"intent {intent_id.hex()[:8]} is {casting.state.value}")
    kept = next((k for k in casting.offers if k.offer.offer_id == offer_id), None)
    if kept is None:
        raise NotFoundError(f"no offer {offer_id.hex()[:8]} for intent {intent_id.hex()[:8]}")
    offer = kept.offer
    try:
        offer.check_for(casting.intent, now_ms)
    except IntentExpiredError as exc:
        raise NodeError(f"that offer can no longer be accepted: {exc.message}") from None
    shown = (
        Reveal.create(host.keyring.identity, intent_id, offer.vendor, now_ms) if reveal else None
    )
    signed = Accept.create(casting.signer, intent_id, offer_id, offer.vendor, now_ms, shown)
    sealed = seal_accept(
        casting.signer,
        signed,
        offer.link_cert,
        seq=1,
        ts_ms=now_ms,
        nonce=host.random_bytes(16),
        ephemeral_private=host.random_bytes(32),
    )
    updated = replace(casting, state=CastingState.ACCEPTED, accepted=offer_id)
    body = encode_intent_body(SealedRelay(intent_id, sealed))
    return updated, [
        SaveCasting(updated),
        SendAsIntent(intent_id, kept.via, MSG_SEALED, body),
        AcceptSent(intent_id, offer, reveal),
    ]


def withdraw(host: CasterHost, intent_id: bytes, now_ms: int) -> tuple[Casting, list[IntentEffect]]:
    """Take an open intent back: every hub (and vendor) it was cast at deletes it and passes the
    withdraw on; receipts come back (spec/intents.md §6)."""
    casting = host.casting(intent_id)
    if casting is None:
        raise NotFoundError(f"no intent {intent_id.hex()[:8]}")
    if casting.state in (CastingState.WITHDRAWN, CastingState.EXPIRED):
        raise NodeError(f"intent {intent_id.hex()[:8]} is already {casting.state.value}")
    signed = Withdraw.create(casting.signer, casting.intent, now_ms)
    body = encode_intent_body(WithdrawNotice(signed.encoded))
    updated = replace(casting, state=CastingState.WITHDRAWN)
    sends: list[IntentEffect] = [
        SendAsIntent(intent_id, to, MSG_WITHDRAW, body) for to in casting.targets
    ]
    return updated, [SaveCasting(updated), *sends]


def timer_fired(host: CasterHost, intent_id: bytes, now_ms: int) -> list[IntentEffect]:
    """Her intent's expiry: an open one stops taking offers (an accepted one stays accepted)."""
    casting = host.casting(intent_id)
    if casting is None or now_ms < casting.intent.expires_ms:
        return []
    if casting.state is not CastingState.OPEN:
        return []
    return [SaveCasting(replace(casting, state=CastingState.EXPIRED))]
