"""The vectors of spec/intents.md §6.1 in intents.json: the vendor's welcome (its one-time
invitation, sealed to the intent's link key), with a negative vector for each refusal its opener
makes. Built by vectors_intents.py; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.card import Card, NodeKind
from amity.protocol.encoding import Value, encode
from amity.protocol.envelope import sign_envelope
from amity.protocol.errors import AmityError
from amity.protocol.identity import SigningIdentity
from amity.protocol.intent import Constraints, Intent, TermsRef
from amity.protocol.intentwelcome import MSG_WELCOME, open_vendor_mail
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.money import Money
from amity.protocol.policy import parse_policy, policy_summary
from amity.protocol.sealed import seal

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR = 3600 * 1000
DAY = 24 * HOUR
INTENT_KEY = SigningIdentity(bytes.fromhex("1e7e" * 16))
INTENT_LINK = LinkKey(bytes.fromhex("11" * 31 + "1e"))
VENDOR = SigningIdentity(bytes.fromhex("5e11e2" + "00" * 27 + "5e11"))
OTHER = SigningIdentity(bytes.fromhex("0e0e0e" + "00" * 27 + "0e0e"))
EPHEMERAL = bytes.fromhex("e9" * 32)
NONCE = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
SECRET = bytes.fromhex("5ec2e7" * 5 + "00")
OFFER_ID = bytes.fromhex("0f" * 32)
NOW = T0 + 4 * HOUR
_POLICY = policy_summary(parse_policy('version = 1\nvocabulary = 1\ndefault = "reject"\n'))

WELCOME_NOTES = (
    "welcome: open the sealed mail sealed_hex to the intent intent_hex with "
    "LinkKey(link_seed_hex) at now_ms (spec/intents.md §6.1): it holds an intent.welcome "
    "envelope from the vendor whose body is body_hex = enc([1, intent_id, offer_id, "
    "invitation]); the invitation is card_hex (a card with an invite secret and no policy, "
    "signed by the envelope's sender, valid at now_ms)."
)


def _intent() -> Intent:
    return Intent.create(
        INTENT_KEY,
        link_public=INTENT_LINK.public,
        category="goods.bicycles",
        text="A child's bike for a 6-year-old, delivered in Lyon within a week.",
        constraints=Constraints(Money(30000, "EUR"), "FR-69", T0 + 7 * DAY, 1),
        terms=TermsRef.roster("P2B1"),
        offers_wanted=5,
        cast_ms=T0,
        expires_ms=T0 + 3 * DAY,
    )


def _card(
    owner: SigningIdentity = VENDOR,
    *,
    secret: bytes | None = SECRET,
    policy: bytes | None = None,
    not_after: int = T0 + DAY,
) -> Card:
    cert = LinkCert.issue(owner, LinkKey(bytes(31) + b"\x5e").public, T0 - DAY, T0 + 365 * DAY)
    return Card.issue(
        owner,
        link_cert=cert,
        kind=NodeKind.VENDOR,
        name="Corner Bikes",
        endpoints=["ws://shop.example:7654/amity/v1/ws"],
        issued_ms=T0 + 3 * HOUR,
        not_after_ms=not_after,
        invite_secret=secret,
        policy=policy,
    )


def _sealed(intent: Intent, body: bytes, sender: SigningIdentity = VENDOR) -> bytes:
    envelope = sign_envelope(
        sender, type=MSG_WELCOME, recipient=intent.intent_key, seq=2, ts_ms=NOW, nonce=NONCE,
        body=body,
    )  # fmt: skip
    return seal(
        envelope,
        recipient=intent.intent_key,
        link_public=intent.link_public,
        ephemeral_private=EPHEMERAL,
    )


def _body(intent_id: bytes, card: bytes, *extra: Value) -> bytes:
    return encode([1, intent_id, OFFER_ID, card, *extra])


def _inputs(intent: Intent, sealed: bytes, body: bytes) -> dict[str, Any]:
    return {
        "operation": "welcome",
        "intent_hex": intent.encoded.hex(),
        "link_seed_hex": INTENT_LINK.private.hex(),
        "now_ms": NOW,
        "sealed_hex": sealed.hex(),
        "body_hex": body.hex(),
    }


def _refused(
    name: str, description: str, intent: Intent, body: bytes, error: str, **kw: Any
) -> dict[str, Any]:
    sealed = _sealed(intent, body, **kw)
    try:
        open_vendor_mail(sealed, intent, INTENT_LINK, NOW)
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    return {
        "name": name,
        "description": description,
        **_inputs(intent, sealed, body),
        "error": error,
    }


def welcome_vectors() -> list[dict[str, Any]]:
    intent = _intent()
    card = _card()
    body = _body(intent.intent_id, card.encoded)
    sealed = _sealed(intent, body)
    opened = open_vendor_mail(sealed, intent, INTENT_LINK, NOW)
    assert opened.envelope.body == body
    good = {
        "name": "welcome-sealed",
        "description": "The vendor's one-time invitation for the offer she accepted, in an "
        "intent.welcome envelope to the intent key, sealed to the intent's link key.",
        **_inputs(intent, sealed, body),
        "vendor_seed_hex": VENDOR.seed.hex(),
        "offer_id_hex": OFFER_ID.hex(),
        "card_hex": card.encoded.hex(),
        "invite_secret_hex": SECRET.hex(),
    }
    iid = intent.intent_id
    cases = [
        ("welcome-card-of-another", "The card inside is another node's than the envelope's "
         "sender.", _body(iid, _card(OTHER).encoded), "intent.bad_signature"),
        ("welcome-not-an-invitation", "The card carries no invite secret.",
         _body(iid, _card(secret=None).encoded), "encoding.schema"),
        ("welcome-with-policy", "The invitation carries a policy summary.",
         _body(iid, _card(policy=_POLICY).encoded), "encoding.schema"),
        ("welcome-other-intent", "The welcome names another intent than it is sealed to.",
         _body(bytes(32), card.encoded), "encoding.schema"),
        ("welcome-card-expired", "The invitation expired before now_ms.",
         _body(iid, _card(not_after=NOW).encoded), "card.expired"),
        ("welcome-oversized", "Past 3072 bytes.", _body(iid, card.encoded + bytes(3000)),
         "encoding.too_large"),
        ("welcome-malformed", "An array of the wrong arity.", _body(iid, card.encoded, 0),
         "encoding.schema"),
    ]  # fmt: skip
    vectors = [good]
    for name, description, data, error in cases:
        vectors.append(_refused(name, description, intent, data, error))
    return vectors
