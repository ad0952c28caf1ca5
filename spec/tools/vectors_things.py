"""Test vectors for spec/things.md: a thing's card (full and minimal), its URI, and a negative
vector for each refusal a reader makes.

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from typing import Any

from amity.protocol.encoding import Value, encode
from amity.protocol.errors import AmityError
from amity.protocol.identity import SigningIdentity
from amity.protocol.linkcert import LinkKey
from amity.protocol.signed import sign_structure
from amity.protocol.things import THING_CARD_DOMAIN, ThingCard
from amity.protocol.thingtransfer import (
    ACCEPT_DOMAIN,
    TRANSFER_DOMAIN,
    Sale,
    Transfer,
    encode_accept,
    open_handover,
    seal_handover,
)

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
YEAR = 365 * 24 * 3600 * 1000
BIKE = SigningIdentity(bytes.fromhex("b1c7c1e0" + "00" * 26 + "b1ce"))
OTHER = SigningIdentity(bytes.fromhex("0e0e0e" + "00" * 27 + "0e0e"))
SELLER = SigningIdentity(bytes.fromhex("a11ce0" + "00" * 27 + "a11c"))
BUYER = SigningIdentity(bytes.fromhex("b0b0b0" + "00" * 27 + "b0b0"))
BUYER_LINK = LinkKey(bytes.fromhex("11" * 32))
EPHEMERAL = bytes.fromhex("ee" * 32)
PURCHASE = bytes.fromhex("a9ee" * 8)
NOTES = (
    "operation 'card': ThingCard.decode(card_hex) verifies under the thing key it names and "
    "gives the fields shown; ThingCard.from_uri(uri) gives the same card. operation 'uri': "
    "ThingCard.from_uri(uri). operation 'transfer': Transfer.decode(transfer_hex); 'sale': "
    "Sale.decode(sale_hex) (both signatures checked); 'handover': open_handover(body_hex, "
    "sender=seller, me=buyer, link_key=LinkKey(link_seed_hex)) gives the transfer, the card "
    "and the thing's key (its seed: thing_seed_hex). Negative vectors: decoding raises `error`."
)


def _fields(**changes: Value) -> list[Value]:
    f: dict[str, Value] = {
        "version": 1, "key": BIKE.peer_id.key, "maker": "Riese & Müller", "model": "Load 75",
        "serial": "WRM-2024-000123", "purchase": PURCHASE, "warranty": T0 + 2 * YEAR,
        "manuals": ["https://example.org/manuals/load-75.pdf"],
        "contacts": ["Cycle Shop Lyon, +33 4 00 00 00 00"], "issued": T0,
    }  # fmt: skip
    f.update(changes)
    return list(f.values())


def _sign(fields: list[Value], signer: SigningIdentity = BIKE) -> bytes:
    return sign_structure(fields, THING_CARD_DOMAIN, signer)


def _refused(name: str, description: str, data: bytes, error: str) -> dict[str, Any]:
    try:
        ThingCard.decode(data)
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    return {"name": name, "description": description, "operation": "card",
            "card_hex": data.hex(), "error": error}  # fmt: skip


def _refused_uri(name: str, description: str, uri: str, error: str) -> dict[str, Any]:
    try:
        ThingCard.from_uri(uri)
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    return {"name": name, "description": description, "operation": "uri", "uri": uri,
            "error": error}  # fmt: skip


def _card_vector(name: str, description: str, card: ThingCard) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "operation": "card",
        "card_hex": card.encoded.hex(),
        "uri": card.to_uri(),
        "thing_hex": card.thing.key.hex(),
        "maker": card.maker,
        "model": card.model,
        "serial": card.serial,
        "purchase_hex": None if card.purchase is None else card.purchase.hex(),
        "warranty_until_ms": card.warranty_until_ms,
        "manuals": list(card.manuals),
        "contacts": list(card.contacts),
        "issued_ms": card.issued_ms,
    }


def build() -> dict[str, Any]:
    full = ThingCard.issue(
        BIKE, maker="Riese & Müller", model="Load 75", serial="WRM-2024-000123",
        purchase=PURCHASE, warranty_until_ms=T0 + 2 * YEAR,
        manuals=("https://example.org/manuals/load-75.pdf",),
        contacts=("Cycle Shop Lyon, +33 4 00 00 00 00",), issued_ms=T0,
    )  # fmt: skip
    minimal = ThingCard.issue(BIKE, maker="Brompton", model="C Line", issued_ms=T0)
    uri = full.to_uri()
    vectors = [
        _card_vector("card-full", "A cargo bike: purchase, warranty, a manual, a shop.", full),
        _card_vector("card-minimal", "Only maker and model: no serial, purchase or warranty.",
                     minimal),
        {"name": "uri-lower-case-spaced", "operation": "uri",
         "description": "The same link in lower case, broken over lines: the same card.",
         "uri": " ".join([uri[:40].lower(), uri[40:90], "\n", uri[90:].lower()]),
         "card_hex": full.encoded.hex()},
        _refused("card-forged", "Signed by another key than the thing it names.",
                 _sign(_fields(), OTHER), "thing.bad_signature"),
        _refused("card-no-maker", "An empty maker.", _sign(_fields(maker=" ")),
                 "encoding.schema"),
        _refused("card-control-character", "A model with a line break.",
                 _sign(_fields(model="Load\n75")), "encoding.schema"),
        _refused("card-long-serial", "A serial past 100 bytes.", _sign(_fields(serial="9" * 101)),
                 "encoding.too_large"),
        _refused("card-empty-purchase", "A purchase of zero bytes (nil when there is none).",
                 _sign(_fields(purchase=b"")), "encoding.schema"),
        _refused("card-five-manuals", "More than 4 manuals.",
                 _sign(_fields(manuals=["https://example.org/m"] * 5)), "encoding.too_large"),
        _refused("card-version-2", "A version this reader does not speak.",
                 _sign(_fields(version=2)), "version.unsupported"),
        _refused("card-short", "Nine fields instead of ten.", _sign(_fields()[:9]),
                 "encoding.schema"),
        _refused_uri("uri-invitation", "An invitation's link, not a thing's.",
                     "amity:" + uri[len("amity:thing:"):], "thing.bad_uri"),
        _refused_uri("uri-truncated", "The link cut short.", uri[:-20], "thing.bad_uri"),
        _refused_uri("uri-forged", "A well-formed link whose card another key signed.",
                     ThingCard.from_uri(uri).to_uri()[:12]
                     + _b32(_sign(_fields(), OTHER)), "thing.bad_signature"),
    ]  # fmt: skip
    return {
        "title": "Things",
        "spec": "spec/things.md",
        "notes": NOTES,
        "vectors": vectors + _transfer_vectors(full),
    }


def _refused_op(name: str, description: str, op: str, data: bytes, error: str) -> dict[str, Any]:
    read = {"transfer": Transfer.decode, "sale": Sale.decode, "handover": _open}[op]
    try:
        read(data)
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    vector = {"name": name, "description": description, "operation": op,
              f"{'body' if op == 'handover' else op}_hex": data.hex(), "error": error}  # fmt: skip
    if op == "handover":
        vector.update(_parties())
    return vector


def _parties() -> dict[str, str]:
    return {
        "seller_hex": SELLER.peer_id.key.hex(),
        "buyer_hex": BUYER.peer_id.key.hex(),
        "link_seed_hex": BUYER_LINK.private.hex(),
    }


def _open(body: bytes) -> object:
    return open_handover(body, sender=SELLER.peer_id, me=BUYER.peer_id, link_key=BUYER_LINK)


def _transfer_fields(**changes: Value) -> list[Value]:
    f: dict[str, Value] = {
        "version": 1, "thing": BIKE.peer_id.key, "seller": SELLER.peer_id.key,
        "buyer": BUYER.peer_id.key, "offered": T0 + YEAR, "card_hash": bytes(32),
    }  # fmt: skip
    f.update(changes)
    return list(f.values())


def _seal(plaintext: bytes) -> bytes:
    from amity.protocol.delivery import seal_to_link

    return seal_to_link(plaintext, BUYER_LINK.public, EPHEMERAL)


def _transfer_vectors(card: ThingCard) -> list[dict[str, Any]]:
    transfer = Transfer.create(SELLER, card, BUYER.peer_id, T0 + YEAR)
    signature = transfer.accept(BUYER)
    sale = Sale.of(transfer, signature)
    body = seal_handover(
        transfer, card, BIKE, (), link_public=BUYER_LINK.public, ephemeral_private=EPHEMERAL
    )
    other_card = ThingCard.issue(BIKE, maker="Brompton", model="C Line", issued_ms=T0)
    return [
        {"name": "transfer", "operation": "transfer",
         "description": "Alice offers her cargo bike to Bob, naming its card by SHA-256.",
         "transfer_hex": transfer.encoded.hex(), "thing_hex": BIKE.peer_id.key.hex(),
         "seller_hex": SELLER.peer_id.key.hex(), "buyer_hex": BUYER.peer_id.key.hex(),
         "offered_ms": transfer.offered_ms, "card_hash_hex": transfer.card_hash.hex()},
        {"name": "sale", "operation": "sale",
         "description": "The same transfer with Bob's acceptance: signed by both owners.",
         "sale_hex": sale.encoded.hex(), "transfer_hex": transfer.encoded.hex(),
         "accept_body_hex": encode_accept(BIKE.peer_id, signature).hex()},
        {"name": "handover", "operation": "handover",
         "description": "thing.transfer: the transfer, card, the bike's key and no history, "
                        "sealed to Bob's link key with a fixed ephemeral key.",
         "body_hex": body.hex(), "transfer_hex": transfer.encoded.hex(),
         "card_hex": card.encoded.hex(), "thing_seed_hex": BIKE.seed.hex(), **_parties()},
        _refused_op("transfer-forged", "Signed by another key than the seller it names.",
                    "transfer", sign_structure(_transfer_fields(), TRANSFER_DOMAIN, OTHER),
                    "thing.bad_signature"),
        _refused_op("transfer-to-herself", "The seller and the buyer are one key.", "transfer",
                    sign_structure(_transfer_fields(buyer=SELLER.peer_id.key), TRANSFER_DOMAIN,
                                   SELLER), "encoding.schema"),
        _refused_op("sale-seller-only", "A transfer whose acceptance another key signed: "
                    "signed by one owner only.", "sale",
                    encode([transfer.encoded, OTHER.sign(ACCEPT_DOMAIN, transfer.signed_bytes)]),
                    "thing.bad_signature"),
        _refused_op("handover-wrong-card", "The card that came is not the one the transfer "
                    "names.", "handover",
                    _seal(encode([1, transfer.encoded, other_card.encoded, BIKE.seed, []])),
                    "thing.wrong_party"),
        _refused_op("handover-wrong-key", "The key that came is not the thing's.", "handover",
                    _seal(encode([1, transfer.encoded, card.encoded, OTHER.seed, []])),
                    "thing.wrong_party"),
        _refused_op("handover-for-someone-else", "A transfer to another buyer, sealed to Bob.",
                    "handover",
                    _seal(encode([1, Transfer.create(SELLER, card, OTHER.peer_id,
                                                     T0 + YEAR).encoded, card.encoded,
                                  BIKE.seed, []])), "thing.wrong_party"),
    ]  # fmt: skip


def _b32(data: bytes) -> str:
    import base64

    return base64.b32encode(data).decode("ascii").rstrip("=")
