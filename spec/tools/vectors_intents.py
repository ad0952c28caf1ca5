"""Test vectors for spec/intents.md: intents, work stamps, sealed offers, accepts, withdraws,
receipts and hub message bodies, with a negative vector for each refusal a decoder makes.

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from typing import Any

from intent_welcome import WELCOME_NOTES, welcome_vectors  # spec/tools/intent_welcome.py

from amity.protocol.encoding import Value, encode
from amity.protocol.envelope import sign_envelope
from amity.protocol.errors import AmityError
from amity.protocol.identity import SigningIdentity
from amity.protocol.intent import INTENT_DOMAIN, Constraints, Intent, StatedClaim, TermsRef
from amity.protocol.intentacts import (
    RECEIPT_DOMAIN,
    Accept,
    DeletedBecause,
    IntentReceipt,
    Reveal,
    Withdraw,
    open_accept,
    seal_accept,
)
from amity.protocol.intentmessages import (
    MSG_CAST,
    MSG_DIRECT,
    MSG_FORWARD,
    MSG_RECEIPT,
    MSG_RULES,
    MSG_SEALED,
    MSG_SUBSCRIBE,
    MSG_WITHDRAW,
    Cast,
    DirectRules,
    Forward,
    HubRules,
    IntentBody,
    ReceiptNotice,
    SealedRelay,
    Subscribe,
    WithdrawNotice,
    decode_intent_body,
    encode_intent_body,
)
from amity.protocol.intentoffer import MSG_OFFER, OFFER_DOMAIN, open_offer
from amity.protocol.intentwork import solve_work, work_bits_of
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.money import Money
from amity.protocol.sealed import seal
from amity.protocol.signed import sign_structure
from amity.protocol.terms import Clause, TermsDocument

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 24 * 3600 * 1000
INTENT_SEED = bytes.fromhex("1e7e" * 16)
INTENT_LINK = LinkKey(bytes.fromhex("11" * 31 + "1e"))
PERSON_SEED = bytes.fromhex("a11ce0000000000000000000000000000000000000000000000000000000a11c")
VENDOR_SEED = bytes.fromhex("5e11e20000000000000000000000000000000000000000000000000000005e11")
OTHER_SEED = bytes.fromhex("0e0e0e0000000000000000000000000000000000000000000000000000000e0e")
VENDOR_LINK = LinkKey(bytes.fromhex("5e" * 31 + "11"))
EPHEMERAL = bytes.fromhex("e9" * 32)
NONCE = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
WORK_BITS = 8
INTENT_KEY = SigningIdentity(INTENT_SEED)
PERSON = SigningIdentity(PERSON_SEED)
VENDOR = SigningIdentity(VENDOR_SEED)
OTHER = SigningIdentity(OTHER_SEED)
CERT = LinkCert.issue(VENDOR, VENDOR_LINK.public, T0 - DAY, T0 + 365 * DAY)

NOTES = (
    "operation says what to do. intent: Intent.decode(intent_hex) gives intent_id_hex and the "
    "fields shown; with now_ms, check_live(now_ms) too. work: SHA-256(domain || intent_id || "
    "nonce) has earned_bits leading zero bits; at work_bits it passes unless error. offer: "
    "open the sealed offer sealed_hex for the intent intent_hex with LinkKey(link_seed_hex) at "
    "now_ms (spec/intents.md §5): the offer inside is offer_hex with id offer_id_hex. accept: "
    "open sealed_hex as the vendor (vendor_seed_hex, LinkKey(vendor_link_seed_hex)) for the "
    "intent intent_hex. withdraw and receipt: decode and verify. body: decode the body of an "
    "envelope of type `type`. Negative vectors: the operation raises the AmityError `error`."
)


def _terms_ref_document() -> TermsRef:
    document = TermsDocument.create(
        [Clause.of("amity.no-tracking"), Clause.of("amity.delete-on-end", days=7)],
        title="Her own terms",
    )
    return TermsRef(document)


def _intent(**changes: Any) -> Intent:
    args: dict[str, Any] = {
        "link_public": INTENT_LINK.public,
        "category": "goods.bicycles",
        "text": "A child's bike for a 6-year-old, delivered in Lyon within a week.",
        "constraints": Constraints(Money(30000, "EUR"), "FR-69", T0 + 7 * DAY, 1),
        "terms": TermsRef.roster("P2B1"),
        "offers_wanted": 5,
        "cast_ms": T0,
        "expires_ms": T0 + 3 * DAY,
    }
    args.update(changes)
    return Intent.create(INTENT_KEY, **args)


def _intent_fields(**changes: Value) -> list[Value]:
    fields: list[Value] = [
        1,
        INTENT_KEY.peer_id.key,
        INTENT_LINK.public,
        1,
        "goods.bicycles",
        "A bike.",
        [[30000, "EUR"], "FR", None, 1],
        [],
        [1, "P2B1"],
        5,
        T0,
        T0 + 3 * DAY,
    ]
    names = ["version", "key", "link", "taxonomy", "category", "text", "constraints", "claims",
             "terms", "wanted", "cast", "expires"]  # fmt: skip
    for name, value in changes.items():
        fields[names.index(name)] = value
    return fields


def _positive_intent(name: str, description: str, intent: Intent) -> dict[str, Any]:
    assert Intent.decode(intent.encoded) == intent
    return {
        "name": name,
        "description": description,
        "operation": "intent",
        "intent_seed_hex": INTENT_SEED.hex(),
        "link_seed_hex": INTENT_LINK.private.hex(),
        "category": intent.category,
        "terms_id_hex": intent.terms_id.hex(),
        "intent_hex": intent.encoded.hex(),
        "intent_id_hex": intent.intent_id.hex(),
    }


def _refused(name: str, description: str, call: Any, error: str, **inputs: Any) -> dict[str, Any]:
    try:
        call()
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    return {"name": name, "description": description, **inputs, "error": error}


def _bad_intent(
    name: str, description: str, data: bytes, error: str, now: int | None = None
) -> dict[str, Any]:
    def run() -> None:
        intent = Intent.decode(data)
        if now is not None:
            intent.check_live(now)

    extra = {} if now is None else {"now_ms": now}
    return _refused(
        name, description, run, error, operation="intent", intent_hex=data.hex(), **extra
    )


def _offer(intent: Intent, **changes: Value) -> tuple[bytes, bytes]:
    """An offer for ``intent`` with raw field changes, signed by ``signer`` and sealed."""
    signer = changes.pop("signer", VENDOR)
    assert isinstance(signer, SigningIdentity)
    fields: list[Value] = [
        1,
        VENDOR.peer_id.key,
        intent.intent_id,
        intent.terms_id,
        [24900, "EUR"],
        1,
        "Delivered to your door in 3 days; 30-day returns; 2-year warranty.",
        T0 + 3 * DAY,
        T0 + 2 * DAY,
        T0 + 3600_000,
        CERT.encoded,
    ]
    names = ["version", "vendor", "intent_id", "terms", "price", "quantity", "sale", "available",
             "valid", "offered", "cert"]  # fmt: skip
    for name, value in changes.items():
        fields[names.index(name)] = value
    offer = sign_structure(fields, OFFER_DOMAIN, signer)
    envelope = sign_envelope(
        VENDOR, type=MSG_OFFER, recipient=intent.intent_key, seq=1, ts_ms=T0 + 3600_000,
        nonce=NONCE, body=offer,
    )  # fmt: skip
    sealed = seal(
        envelope,
        recipient=intent.intent_key,
        link_public=intent.link_public,
        ephemeral_private=EPHEMERAL,
    )
    return offer, sealed


def _offer_inputs(intent: Intent, sealed: bytes, now: int) -> dict[str, Any]:
    return {
        "operation": "offer",
        "intent_hex": intent.encoded.hex(),
        "link_seed_hex": INTENT_LINK.private.hex(),
        "now_ms": now,
        "sealed_hex": sealed.hex(),
    }


def _offer_vectors(intent: Intent) -> list[dict[str, Any]]:
    now = T0 + 2 * 3600_000
    offer, sealed = _offer(intent)
    opened = open_offer(sealed, intent, INTENT_LINK, now).offer
    assert opened.encoded == offer
    good = {
        "name": "offer-sealed",
        "description": "A vendor's offer of 249.00 EUR, countersigning the intent's P2B1 terms, "
        "in an intent.offer envelope to the intent key, sealed to the intent's link key.",
        **_offer_inputs(intent, sealed, now),
        "vendor_seed_hex": VENDOR_SEED.hex(),
        "ephemeral_seed_hex": EPHEMERAL.hex(),
        "offer_hex": offer.hex(),
        "offer_id_hex": opened.offer_id.hex(),
        "price": [24900, "EUR"],
    }
    other_terms = bytes(32)
    cases = [
        ("offer-not-countersigned", "The offer names other terms than the intent requires: "
         "it does not accept her terms.", _offer(intent, terms=other_terms)[1], now,
         "intent.terms_not_countersigned"),
        ("offer-expired", "Opened after the offer's valid_until_ms.", sealed, T0 + 2 * DAY,
         "intent.expired"),
        ("offer-forged", "Signed by another key than the vendor it names.",
         _offer(intent, signer=OTHER)[1], now, "intent.bad_signature"),
        ("offer-other-intent", "Answers another intent id.",
         _offer(intent, intent_id=bytes(32))[1], now, "intent.unknown_intent"),
        ("offer-unknown-currency", "A price in a currency that is not ISO 4217.",
         _offer(intent, price=[100, "XXQ"])[1], now, "intent.bad_constraint"),
        ("offer-oversized", "Terms of sale past 2000 bytes: the offer is larger than 3072 bytes.",
         _offer(intent, sale="x" * 3000)[1], now, "encoding.too_large"),
        ("offer-malformed", "The offer is an array of the wrong arity.",
         _offer_arity(intent), now, "encoding.schema"),
    ]  # fmt: skip
    out = [good]
    for name, description, data, at, error in cases:
        out.append(
            _refused(
                name,
                description,
                lambda d=data, t=at: open_offer(d, intent, INTENT_LINK, t),
                error,
                **_offer_inputs(intent, data, at),
            )
        )
    return out


def _offer_arity(intent: Intent) -> bytes:
    """A sealed offer whose signed array lacks its last field."""
    short = sign_structure([1, VENDOR.peer_id.key, intent.intent_id], OFFER_DOMAIN, VENDOR)
    envelope = sign_envelope(
        VENDOR, type=MSG_OFFER, recipient=intent.intent_key, seq=1, ts_ms=T0, nonce=NONCE,
        body=short,
    )  # fmt: skip
    return seal(
        envelope,
        recipient=intent.intent_key,
        link_public=intent.link_public,
        ephemeral_private=EPHEMERAL,
    )


def _accept_vectors(intent: Intent) -> list[dict[str, Any]]:
    at = T0 + 5 * 3600_000
    reveal = Reveal.create(PERSON, intent.intent_id, VENDOR.peer_id, at)
    offer_id = bytes.fromhex("0f" * 32)
    out = []
    for name, description, with_reveal in (
        ("accept-with-reveal", "She accepts and reveals her identity to this vendor only.", True),
        ("accept-pseudonymous", "She accepts and keeps the intent's pseudonym.", False),
    ):
        accept = Accept.create(
            INTENT_KEY,
            intent.intent_id,
            offer_id,
            VENDOR.peer_id,
            at,
            reveal if with_reveal else None,
        )
        sealed = seal_accept(
            INTENT_KEY, accept, CERT, seq=2, ts_ms=at, nonce=NONCE, ephemeral_private=EPHEMERAL
        )
        assert open_accept(sealed, VENDOR.peer_id, VENDOR_LINK, intent) == accept
        vector: dict[str, Any] = {
            "name": name,
            "description": description,
            "operation": "accept",
            "intent_hex": intent.encoded.hex(),
            "vendor_seed_hex": VENDOR_SEED.hex(),
            "vendor_link_seed_hex": VENDOR_LINK.private.hex(),
            "sealed_hex": sealed.hex(),
            "accept_hex": accept.encoded.hex(),
        }
        if with_reveal:
            vector["person_peer_id_hex"] = PERSON.peer_id.key.hex()
        out.append(vector)
    forged = Accept.create(OTHER, intent.intent_id, offer_id, VENDOR.peer_id, at)
    sealed = seal_accept(
        OTHER, forged, CERT, seq=2, ts_ms=at, nonce=NONCE, ephemeral_private=EPHEMERAL
    )
    out.append(
        _refused(
            "accept-not-from-intent-key",
            "An accept signed and sent by another key than the intent's.",
            lambda: open_accept(sealed, VENDOR.peer_id, VENDOR_LINK, intent),
            "intent.bad_signature",
            operation="accept",
            intent_hex=intent.encoded.hex(),
            vendor_seed_hex=VENDOR_SEED.hex(),
            vendor_link_seed_hex=VENDOR_LINK.private.hex(),
            sealed_hex=sealed.hex(),
        )
    )
    return out


def _closing_vectors(intent: Intent) -> list[dict[str, Any]]:
    withdraw = Withdraw.create(INTENT_KEY, intent, T0 + DAY)
    receipt = IntentReceipt.issue(VENDOR, intent.intent_id, DeletedBecause.WITHDRAWN, T0 + DAY + 1)
    forged = sign_structure(
        [1, intent.intent_id, INTENT_KEY.peer_id.key, T0], b"amity/intent-withdraw/v1\x00", OTHER
    )
    bad_reason = sign_structure(
        [1, VENDOR.peer_id.key, intent.intent_id, "lost", T0],
        RECEIPT_DOMAIN,
        VENDOR,
    )
    return [
        {
            "name": "withdraw",
            "description": "The intent key withdraws its intent.",
            "operation": "withdraw",
            "withdraw_hex": withdraw.encoded.hex(),
            "intent_id_hex": intent.intent_id.hex(),
        },
        _refused(
            "withdraw-forged",
            "A withdraw naming the intent key, signed by another.",
            lambda: Withdraw.decode(forged),
            "intent.bad_signature",
            operation="withdraw",
            withdraw_hex=forged.hex(),
        ),
        {
            "name": "receipt",
            "description": "A vendor's signed receipt: it deleted the intent on withdraw.",
            "operation": "receipt",
            "receipt_hex": receipt.encoded.hex(),
            "deleter_peer_id_hex": VENDOR.peer_id.key.hex(),
            "reason": "withdrawn",
        },
        _refused(
            "receipt-bad-reason",
            "A receipt whose reason is neither withdrawn nor expired.",
            lambda: IntentReceipt.decode(bad_reason),
            "encoding.schema",
            operation="receipt",
            receipt_hex=bad_reason.hex(),
        ),
    ]


def _body_vectors(intent: Intent, nonce: bytes) -> list[dict[str, Any]]:
    withdraw = Withdraw.create(INTENT_KEY, intent, T0 + DAY)
    receipt = IntentReceipt.issue(VENDOR, intent.intent_id, DeletedBecause.EXPIRED, T0 + 3 * DAY)
    bodies: list[tuple[str, IntentBody]] = [
        (MSG_SUBSCRIBE, Subscribe(("goods.bicycles", "services"))),
        (MSG_RULES, HubRules(WORK_BITS, 64, 30 * DAY, 600, 2, (OTHER.peer_id.key,))),
        (MSG_DIRECT, DirectRules(WORK_BITS, 30 * DAY, ("goods.bicycles", "services.repair"))),
        (MSG_CAST, Cast(intent.encoded, nonce)),
        (MSG_FORWARD, Forward(intent.encoded, nonce, 2)),
        (MSG_SEALED, SealedRelay(intent.intent_id, _offer(intent)[1])),
        (MSG_WITHDRAW, WithdrawNotice(withdraw.encoded)),
        (MSG_RECEIPT, ReceiptNotice(receipt.encoded)),
    ]
    out = []
    for kind, body in bodies:
        data = encode_intent_body(body)
        assert decode_intent_body(kind, data) == body
        out.append(
            {
                "name": f"body-{kind.split('.')[1]}",
                "description": f"The body of an {kind} message.",
                "operation": "body",
                "type": kind,
                "body_hex": data.hex(),
            }
        )
    bad = [
        ("body-forward-too-many-hops", MSG_FORWARD, encode([1, intent.encoded, nonce, 9]),
         "encoding.schema", "hops_left past 8."),
        ("body-cast-version-2", MSG_CAST, encode([2, intent.encoded, nonce]),
         "version.unsupported", "A version this node does not speak."),
        ("body-subscribe-bad-category", MSG_SUBSCRIBE, encode([1, ["Goods"]]),
         "encoding.schema", "A category that is not a dotted lower-case id."),
        ("body-direct-serves-nothing", MSG_DIRECT, encode([1, WORK_BITS, DAY, []]),
         "encoding.schema", "A direct endpoint's rules that serve no category."),
    ]  # fmt: skip
    for name, kind, data, error, description in bad:
        out.append(
            _refused(
                name,
                description,
                lambda k=kind, d=data: decode_intent_body(k, d),
                error,
                operation="body",
                type=kind,
                body_hex=data.hex(),
            )
        )
    return out


def build() -> dict[str, Any]:
    intent = _intent()
    nonce = solve_work(intent.intent_id, WORK_BITS)
    claims = (StatedClaim("age-over", 18), StatedClaim("country-of", "FR"))
    sign = lambda fields: sign_structure(fields, INTENT_DOMAIN, INTENT_KEY)  # noqa: E731
    vectors = [
        _positive_intent("intent-roster", "A bike under 300 EUR in FR-69 within a week, on "
                         "the roster's P2B1 terms, 5 offers wanted, for 3 days.", intent),
        _positive_intent("intent-document-claims", "Her own terms document, and two stated "
                         "claims (age-over 18, country-of FR).",
                         _intent(terms=_terms_ref_document(), claims=claims)),
        _positive_intent("intent-extension", "An extension category, no budget or region.",
                         _intent(category="x.org.example.bike-trailers",
                                 constraints=Constraints(quantity=2))),
        {
            "name": "work-stamp",
            "description": f"The first stamp from counter 0 that earns {WORK_BITS} bits.",
            "operation": "work",
            "intent_id_hex": intent.intent_id.hex(),
            "work_bits": WORK_BITS,
            "nonce_hex": nonce.hex(),
            "earned_bits": work_bits_of(intent.intent_id, nonce),
        },
        {
            "name": "work-short",
            "description": "A stamp of all zeros earns too few bits at 8.",
            "operation": "work",
            "intent_id_hex": intent.intent_id.hex(),
            "work_bits": WORK_BITS,
            "nonce_hex": bytes(16).hex(),
            "earned_bits": work_bits_of(intent.intent_id, bytes(16)),
            "error": "intent.bad_work",
        },
        _bad_intent("intent-expired", "Read at its expires_ms.", intent.encoded,
                    "intent.expired", now=intent.expires_ms),
        _bad_intent("intent-unknown-category", "A category taxonomy v1 does not list.",
                    sign(_intent_fields(category="goods.spaceships")), "intent.unknown_category"),
        _bad_intent("intent-unknown-currency", "A budget in a code that is not ISO 4217.",
                    sign(_intent_fields(constraints=[[1, "ABC"], None, None, 1])),
                    "intent.bad_constraint"),
        _bad_intent("intent-too-long", "Expires more than 30 days after it was cast.",
                    sign(_intent_fields(expires=T0 + 31 * DAY)), "intent.bad_constraint"),
        _bad_intent("intent-forged", "Signed by another key than the intent key it names.",
                    sign_structure(_intent_fields(), INTENT_DOMAIN, OTHER), "intent.bad_signature"),
        _bad_intent("intent-oversized", "Larger than 17 408 bytes.",
                    sign(_intent_fields(text="x" * 20000)), "encoding.too_large"),
        _bad_intent("intent-malformed", "Truncated bytes.", intent.encoded[:-5],
                    "encoding.malformed"),
        *_offer_vectors(intent),
        *_accept_vectors(intent),
        *_closing_vectors(intent),
        *_body_vectors(intent, nonce),
        *welcome_vectors(),
    ]  # fmt: skip
    return {
        "title": "Intentcasting",
        "spec": "spec/intents.md",
        "notes": NOTES + " " + WELCOME_NOTES,
        "vectors": vectors,
    }
