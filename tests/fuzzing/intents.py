"""Fuzz targets of intentcasting: intents, offers (raw, re-signed and sealed), accepts,
withdraws, receipts, welcomes and hub message bodies; see registry.py and spec/intents.md."""

from __future__ import annotations

from amity.protocol import intent, intentacts, intentmessages, intentoffer, intentwelcome, money
from amity.protocol.core.intents import rulefile
from amity.protocol.envelope import sign_envelope
from amity.protocol.linkcert import LinkKey
from amity.protocol.policy import parse_policy
from amity.protocol.sealed import seal
from amity.protocol.terms import vocabulary
from tests.fuzzing import context as ctx
from tests.fuzzing.context import hexes, inner, resign, typed_body, typed_body_seeds, vectors
from tests.fuzzing.registry import Decoder, Targets

__all__ = ["intent_targets"]


def intent_targets() -> list[Decoder]:
    targets = Targets()
    add = targets.add
    intents = hexes("intents", "intent_hex", operation="intent", error=None)
    key = ctx.identity(vectors("intents", name="intent-roster")[0]["intent_seed_hex"])
    add(
        "intent.Intent.decode",
        intents,
        "intent.Constraints.read",
        "intent.StatedClaim.read",
        "intent.TermsRef.read",
        "money.read_money",
    )(intent.Intent.decode)
    add("intent.Intent.decode[resigned]", tuple(inner(i) for i in intents))(
        lambda d: intent.Intent.decode(resign(d, intent.INTENT_DOMAIN, key))
    )

    good = vectors("intents", name="offer-sealed")[0]
    the_intent = intent.Intent.decode(bytes.fromhex(good["intent_hex"]))
    link = LinkKey(bytes.fromhex(good["link_seed_hex"]))
    vendor = ctx.identity(good["vendor_seed_hex"])
    now = good["now_ms"]
    offers = (bytes.fromhex(good["offer_hex"]),)
    add("intentoffer.Offer.decode", offers)(intentoffer.Offer.decode)
    add("intentoffer.Offer.decode[resigned]", tuple(inner(o) for o in offers))(
        lambda d: intentoffer.Offer.decode(resign(d, intentoffer.OFFER_DOMAIN, vendor))
    )
    seals = hexes("intents", "sealed_hex", operation="offer")
    add("intentoffer.open_offer", seals)(lambda d: intentoffer.open_offer(d, the_intent, link, now))
    ephemeral = bytes.fromhex(good["ephemeral_seed_hex"])

    def sealed_offer(d: bytes) -> object:
        # The fuzz input is the offer itself: signed into an envelope, sealed, then opened.
        envelope = sign_envelope(
            vendor, type=intentoffer.MSG_OFFER, recipient=the_intent.intent_key, seq=1,
            ts_ms=now, nonce=bytes(16), body=d[: 200 * 1024],
        )  # fmt: skip
        box = seal(envelope, recipient=the_intent.intent_key, link_public=link.public,
                   ephemeral_private=ephemeral)  # fmt: skip
        return intentoffer.open_offer(box, the_intent, link, now)

    add("intentoffer.open_offer[sealed]", offers)(sealed_offer)

    accept_vector = vectors("intents", name="accept-with-reveal")[0]
    vendor_link = LinkKey(bytes.fromhex(accept_vector["vendor_link_seed_hex"]))
    accepts = hexes("intents", "accept_hex", operation="accept")
    add("intentacts.Accept.decode", accepts, "intentacts.Reveal.decode")(
        lambda d: intentacts.Accept.decode(d, the_intent.intent_key)
    )
    add("intentacts.open_accept", hexes("intents", "sealed_hex", operation="accept"))(
        lambda d: intentacts.open_accept(d, vendor.peer_id, vendor_link, the_intent)
    )
    add("intentacts.Withdraw.decode", hexes("intents", "withdraw_hex", operation="withdraw"))(
        intentacts.Withdraw.decode
    )
    add("intentacts.IntentReceipt.decode", hexes("intents", "receipt_hex", operation="receipt"))(
        intentacts.IntentReceipt.decode
    )

    welcomes = vectors("intents", operation="welcome")
    welcome_intent = intent.Intent.decode(bytes.fromhex(welcomes[0]["intent_hex"]))
    welcome_link = LinkKey(bytes.fromhex(welcomes[0]["link_seed_hex"]))
    add("intentwelcome.Welcome.decode", tuple(bytes.fromhex(v["body_hex"]) for v in welcomes))(
        intentwelcome.Welcome.decode
    )
    add("intentwelcome.open_vendor_mail", hexes("intents", "sealed_hex", operation="welcome"))(
        lambda d: intentwelcome.open_vendor_mail(
            d, welcome_intent, welcome_link, welcomes[0]["now_ms"]
        )
    )

    def read_body(d: bytes) -> object:
        found = typed_body(d, intentmessages.INTENT_MESSAGE_TYPES)
        return None if found is None else intentmessages.decode_intent_body(*found)

    add("intentmessages.decode_intent_body", typed_body_seeds("intents"))(read_body)
    targets.text("money.Money.parse", ("300EUR", "299.90 EUR", " 5 JPY", "1.234 KWD"))(
        money.Money.parse
    )
    accepting = parse_policy(ACCEPT_ALL)
    targets.text("core.intents.rulefile.parse_answer_rules", ANSWER_RULES)(
        lambda t: rulefile.parse_answer_rules(t, accepting)
    )
    return targets.found


#: A terms policy that accepts every clause of vocabulary 1 as it comes (every roster agreement).
ACCEPT_ALL: str = 'version = 1\nvocabulary = 1\ndefault = "reject"\n' + "".join(
    f'[clause."{clause_id}"]\naction = "accept"\n' for clause_id in vocabulary(1)
)

#: Policy files with an auto-answer section (spec/intents.md §6.1), right and wrong.
ANSWER_RULES: tuple[str, ...] = (
    '[[intents.answer]]\ncategories = ["goods.bicycles"]\nprice = "249EUR"\n',
    '[[intents.answer]]\ncategories = ["goods"]\nprice = "20EUR"\nlead_time = "2d"\n'
    'valid = "1d"\nregions = ["FR", "BE"]\nterms = ["P2B1"]\nterms_of_sale = "by post"\n'
    '[[intents.answer]]\ncategories = ["services.repair"]\nprice = "90 EUR"\n',
    '[intents]\nanswer = [{categories = ["x.org.example.kites"], price = "5JPY"}]\n',
    '[[intents.answer]]\ncategories = []\nprice = "abc"\nvalid = "0s"\n',
)
