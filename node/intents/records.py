"""The intent roles' records as JSON text for the store, and back.

Signed things (intents, offers, receipts) are kept as their exact encoded bytes and decoded
again on load, so what the node holds is what was signed. Her castings' secret keys (the
intent key's seed and its link key) are sealed at rest (XChaCha20-Poly1305) under a key derived
from the node's vault key, bound to the intent id, as the vault's values are.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Final

import nacl.bindings
import nacl.exceptions

from amity.node.store import StoreError
from amity.protocol.core.intents.records import (
    Casting,
    CastingState,
    HubIntent,
    KeptOffer,
    Seen,
    SeenState,
    Subscriber,
)
from amity.protocol.identity import PeerId
from amity.protocol.intent import Intent
from amity.protocol.intentacts import IntentReceipt
from amity.protocol.intentoffer import Offer

__all__ = [
    "keys_key",
    "casting_text",
    "casting_from",
    "seen_text",
    "seen_from",
    "hub_intent_text",
    "hub_intent_from",
    "subscriber_text",
    "subscriber_from",
]


_KEYS_DOMAIN: Final = b"amity/intent-keys/v1\x00"
_NONCE_BYTES: Final = 24


def keys_key(vault_key: bytes) -> bytes:
    """The key her castings' secret keys are sealed with, derived from the vault key."""
    return hashlib.blake2b(_KEYS_DOMAIN, key=vault_key, digest_size=32).digest()


def _seal_keys(key: bytes, c: Casting) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    box = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        c.key_seed + c.link_private, _KEYS_DOMAIN + c.intent_id, nonce, key
    )
    return (nonce + box).hex()


def _open_keys(key: bytes, intent_id: bytes, text: str) -> tuple[bytes, bytes]:
    raw = bytes.fromhex(text)
    nonce, box = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    try:
        plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            box, _KEYS_DOMAIN + intent_id, nonce, key
        )
    except nacl.exceptions.CryptoError:
        raise StoreError(
            f"the keys of intent {intent_id.hex()[:8]} do not open with this node's key"
        ) from None
    return plain[:32], plain[32:]


def _hex(data: bytes | None) -> str | None:
    return None if data is None else data.hex()


def _bytes(text: Any) -> bytes:
    return bytes.fromhex(str(text))


def casting_text(c: Casting, key: bytes) -> str:
    return json.dumps(
        {
            "intent": c.intent.encoded.hex(),
            "keys": _seal_keys(key, c),
            "hubs": [h.key.hex() for h in c.hubs],
            "direct": [v.key.hex() for v in c.direct],
            "work_nonce": c.work_nonce.hex(),
            "state": c.state.value,
            "offers": [
                {
                    "offer": k.offer.encoded.hex(),
                    "trust": k.trust,
                    "hidden": k.hidden,
                    "nonce": k.envelope_nonce.hex(),
                    "via": k.via.key.hex(),
                }
                for k in c.offers
            ],
            "accepted": _hex(c.accepted),
            "receipts": [r.encoded.hex() for r in c.receipts],
            "welcome": _hex(c.welcome),
        }
    )


def casting_from(text: str, key: bytes) -> Casting:
    d = json.loads(text)
    intent = Intent.decode(_bytes(d["intent"]))
    key_seed, link_private = _open_keys(key, intent.intent_id, d["keys"])
    return Casting(
        intent=intent,
        key_seed=key_seed,
        link_private=link_private,
        hubs=tuple(PeerId(_bytes(h)) for h in d["hubs"]),
        direct=tuple(PeerId(_bytes(v)) for v in d.get("direct", ())),
        work_nonce=_bytes(d["work_nonce"]),
        state=CastingState(d["state"]),
        offers=tuple(
            KeptOffer(
                Offer.decode(_bytes(k["offer"])),
                k["trust"],
                bool(k["hidden"]),
                _bytes(k["nonce"]),
                PeerId(_bytes(k["via"])),
            )
            for k in d["offers"]
        ),
        accepted=None if d["accepted"] is None else _bytes(d["accepted"]),
        receipts=tuple(IntentReceipt.decode(_bytes(r)) for r in d["receipts"]),
        welcome=None if d.get("welcome") is None else _bytes(d["welcome"]),
    )


def seen_text(s: Seen) -> str:
    return json.dumps(
        {
            "intent": s.intent.encoded.hex(),
            "via": s.via.key.hex(),
            "state": s.state.value,
            "offer": None if s.offer is None else s.offer.encoded.hex(),
            "person": None if s.person is None else s.person.key.hex(),
            "auto": s.auto,
        }
    )


def seen_from(text: str) -> Seen:
    d = json.loads(text)
    offer = None if d["offer"] is None else Offer.decode(_bytes(d["offer"]))
    person = d.get("person")
    if person is None and d.get("revealed"):  # records written before Seen kept the person
        person = PeerId.from_did(d["revealed"]).key.hex()
    return Seen(
        Intent.decode(_bytes(d["intent"])),
        PeerId(_bytes(d["via"])),
        SeenState(d["state"]),
        offer,
        None if person is None else PeerId(_bytes(person)),
        auto=bool(d.get("auto", False)),
    )


def hub_intent_text(r: HubIntent) -> str:
    return json.dumps(
        {
            "intent": r.intent.encoded.hex(),
            "work_nonce": r.work_nonce.hex(),
            "origin": r.origin.key.hex(),
            "hops_left": r.hops_left,
            "sent_to": sorted(p.key.hex() for p in r.sent_to),
            "offers": [[p.key.hex(), sealed.hex()] for p, sealed in r.offers],
            "accepted": sorted(p.key.hex() for p in r.accepted),
        }
    )


def hub_intent_from(text: str) -> HubIntent:
    d = json.loads(text)
    return HubIntent(
        intent=Intent.decode(_bytes(d["intent"])),
        work_nonce=_bytes(d["work_nonce"]),
        origin=PeerId(_bytes(d["origin"])),
        hops_left=int(d["hops_left"]),
        sent_to=frozenset(PeerId(_bytes(p)) for p in d["sent_to"]),
        offers=tuple((PeerId(_bytes(p)), _bytes(s)) for p, s in d["offers"]),
        accepted=frozenset(PeerId(_bytes(p)) for p in d.get("accepted", [])),
    )


def subscriber_text(s: Subscriber) -> str:
    return json.dumps(
        {
            "peer": s.peer.key.hex(),
            "categories": list(s.categories),
            "window_start_ms": s.window_start_ms,
            "answers_in_window": s.answers_in_window,
        }
    )


def subscriber_from(text: str) -> Subscriber:
    d = json.loads(text)
    return Subscriber(
        PeerId(_bytes(d["peer"])),
        tuple(str(c) for c in d["categories"]),
        int(d["window_start_ms"]),
        int(d["answers_in_window"]),
    )
