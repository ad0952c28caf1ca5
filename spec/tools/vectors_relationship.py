"""Test vectors for spec/relationship.md: rel.hello / rel.end bodies, and state-machine traces.

Every key comes from a fixed 32-byte seed and every time is fixed, so the output is identical on
every run. Expected bodies are packed here with msgpack itself, not with amity's encoder, and the
expected traces are written out by hand from the transition table: the vectors state the rules,
they are not a recording of what the implementation happens to do.
"""

from __future__ import annotations

from typing import Any

import msgpack

from amity.protocol.card import MAX_CARD_BYTES, Card, NodeKind
from amity.protocol.errors import (
    CardExpiredError,
    CardSignatureError,
    IllegalTransitionError,
    MalformedError,
    NonCanonicalError,
    SchemaError,
    SessionIdentityError,
    StateError,
    TooLargeError,
    UnsupportedVersionError,
    UsageError,
)
from amity.protocol.identity import SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.ticket import MAX_TICKET_BYTES, issue_ticket

#: Base time: 2023-11-14T22:13:20Z.
T0 = 1_700_000_000_000
DAY_MS = 86_400_000
#: The vendor's invitation expires one day after T0; every other card after seven.
EXP = T0 + DAY_MS
CONNECT_MS = 30_000
SECRET = bytes(range(0x50, 0x60))
OTHER_SECRET = bytes(range(0x60, 0x70))

SEEDS = {
    "person": (bytes([0xA0]) * 32, bytes([0xA1]) * 32),
    "vendor": (bytes([0xB0]) * 32, bytes([0xB1]) * 32),
    "mallory": (bytes([0xC0]) * 32, bytes([0xC1]) * 32),
}
CARD_SPECS: dict[str, dict[str, Any]] = {
    "vendor-invitation": {
        "who": "vendor",
        "kind": "vendor",
        "name": "Corner Bookshop",
        "not_after_ms": EXP,
        "invite_secret": SECRET,
    },
    "vendor": {"who": "vendor", "kind": "vendor", "name": "Corner Bookshop"},
    "vendor-renamed": {"who": "vendor", "kind": "vendor", "name": "Corner Bookshop & Café"},
    "vendor-short-lived": {
        "who": "vendor",
        "kind": "vendor",
        "name": "Corner Bookshop",
        "not_after_ms": T0 + 60_000,
    },
    "person": {"who": "person", "kind": "person", "name": "Alice"},
    "mallory": {"who": "mallory", "kind": "person", "name": "Alice"},
}
ENDPOINT = "ws://127.0.0.1:7700/amity/v1"

ILLEGAL = IllegalTransitionError.code
MISMATCH = SessionIdentityError.code
LOCAL_STATE = StateError.code


def _card(name: str) -> Card:
    spec = CARD_SPECS[name]
    identity_seed, link_private = SEEDS[spec["who"]]
    identity = SigningIdentity(identity_seed)
    cert = LinkCert.issue(identity, LinkKey(link_private).public, T0, T0 + 30 * DAY_MS)
    return Card.issue(
        identity,
        link_cert=cert,
        kind=NodeKind(spec["kind"]),
        name=spec["name"],
        endpoints=[ENDPOINT],
        issued_ms=T0,
        not_after_ms=spec.get("not_after_ms", T0 + 7 * DAY_MS),
        invite_secret=spec.get("invite_secret"),
    )


CARDS = {name: _card(name) for name in CARD_SPECS}


def _cards_section() -> dict[str, Any]:
    section = {}
    for name, spec in CARD_SPECS.items():
        identity_seed, link_private = SEEDS[spec["who"]]
        card = CARDS[name]
        section[name] = {
            "identity_seed_hex": identity_seed.hex(),
            "link_seed_hex": link_private.hex(),
            "cert_not_before_ms": T0,
            "cert_not_after_ms": T0 + 30 * DAY_MS,
            "kind": spec["kind"],
            "name": spec["name"],
            "endpoints": [ENDPOINT],
            "issued_ms": T0,
            "not_after_ms": card.not_after_ms,
            "invite_secret_hex": card.invite_secret.hex() if card.invite_secret else None,
            "card_hex": card.encoded.hex(),
        }
    return section


def _pack(value: Any) -> str:
    return bytes(msgpack.packb(value, use_bin_type=True)).hex()


# -- bodies ---------------------------------------------------------------------------------------


def _hello(
    name: str, description: str, card: str, secret: bytes | None, ticket: bytes | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "operation": "hello-body",
        "card": card,
        "invite_secret_hex": secret.hex() if secret is not None else None,
        "deposit_ticket_hex": ticket.hex() if ticket is not None else None,
        "body_hex": _pack([1, CARDS[card].encoded, secret, ticket]),
    }


def _ticket() -> bytes:
    """The vendor's deposit ticket for the person (spec/relay.md §6), valid 30 days from T0."""
    vendor = SigningIdentity(SEEDS["vendor"][0])
    person = SigningIdentity(SEEDS["person"][0]).peer_id
    return issue_ticket(vendor, sender=person, not_after_ms=T0 + 30 * DAY_MS)


def _end(name: str, description: str, reason: str, ts_ms: int) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "operation": "end-body",
        "reason": reason,
        "ts_ms": ts_ms,
        "body_hex": _pack([1, reason, ts_ms]),
    }


def _bad(name: str, operation: str, description: str, body: bytes, error: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "operation": operation,
        "body_hex": body.hex(),
        "error": error,
    }


def _body_vectors() -> list[dict[str, Any]]:
    person = CARDS["person"].encoded
    tampered = bytearray(person)
    tampered[-1] ^= 0x01  # the last byte of the card's signature
    end_ok = bytes.fromhex(_pack([1, "moving away", T0]))
    return [
        _hello(
            "hello-plain", "An inviter's hello: its card, no secret, no ticket.", "vendor", None
        ),
        _hello(
            "hello-with-ticket",
            "A hello from a node whose card names relays: its card and a deposit ticket that "
            "lets the hello's recipient leave mail at those relays (relay.md §6).",
            "vendor",
            None,
            _ticket(),
        ),
        _hello(
            "hello-with-secret",
            "An invitee's first hello: its card and the invitation's 16-byte secret.",
            "person",
            SECRET,
        ),
        _end("end-simple", "A short reason (fixstr) and a 64-bit time.", "moving away", T0),
        _end("end-empty-reason", "No reason given: the empty string.", "", T0),
        _end(
            "end-longest-reason",
            "A reason of exactly 200 UTF-8 bytes (100 two-byte characters): str8.",
            "é" * 100,
            T0,
        ),
        _end("end-small-time", "ts_ms 0 takes the one-byte positive fixint.", "bye", 0),
        _bad(
            "end-version-2",
            "end-body",
            "Version 2 with the v1 layout is refused as unsupported.",
            bytes.fromhex(_pack([2, "bye", T0])),
            UnsupportedVersionError.code,
        ),
        _bad(
            "end-version-2-other-arity",
            "end-body",
            "The version is read before the arity: a 2-field v2 body is unsupported, not bad.",
            bytes.fromhex(_pack([2, "bye"])),
            UnsupportedVersionError.code,
        ),
        _bad(
            "end-version-bool",
            "end-body",
            "true is not the integer 1: like any other value there, an unsupported version "
            "(spec/encoding.md §5.4).",
            bytes.fromhex(_pack([True, "bye", T0])),
            UnsupportedVersionError.code,
        ),
        _bad(
            "end-version-str",
            "end-body",
            "The version as the str '1': an unsupported version, not a schema error.",
            bytes.fromhex(_pack(["1", "bye", T0])),
            UnsupportedVersionError.code,
        ),
        _bad(
            "end-reason-too-long",
            "end-body",
            "A reason of 201 UTF-8 bytes is over the 200-byte limit.",
            bytes.fromhex(_pack([1, "x" * 201, 0])),
            TooLargeError.code,
        ),
        _bad(
            "end-reason-escape-sequence",
            "end-body",
            "A reason with a control character (an ANSI colour escape) is refused.",
            bytes.fromhex(_pack([1, "bye\x1b[31m", T0])),
            SchemaError.code,
        ),
        _bad(
            "end-reason-newline",
            "end-body",
            "A reason is one line: a newline is a control character.",
            bytes.fromhex(_pack([1, "bye\nforged line", T0])),
            SchemaError.code,
        ),
        _bad(
            "end-negative-time",
            "end-body",
            "ts_ms is never negative.",
            bytes.fromhex(_pack([1, "bye", -1])),
            SchemaError.code,
        ),
        _bad(
            "end-four-fields",
            "end-body",
            "Version 1 has exactly three fields.",
            bytes.fromhex(_pack([1, "bye", T0, None])),
            SchemaError.code,
        ),
        _bad(
            "end-empty-array",
            "end-body",
            "An empty array: a missing version is an unsupported one.",
            b"\x90",
            UnsupportedVersionError.code,
        ),
        _bad(
            "end-version-uint8",
            "end-body",
            "The version 1 written as uint8 (cc 01) instead of a positive fixint.",
            b"\x93\xcc\x01" + end_ok[2:],
            NonCanonicalError.code,
        ),
        _bad(
            "end-reason-str8",
            "end-body",
            "A short reason written as str8 (d9 0b) instead of fixstr.",
            b"\x93\x01\xd9\x0b" + b"moving away" + end_ok[-9:],
            NonCanonicalError.code,
        ),
        _bad(
            "end-time-uint64-small",
            "end-body",
            "ts_ms 5 written as uint64 instead of a positive fixint.",
            b"\x93\x01\xa3bye\xcf" + (5).to_bytes(8, "big"),
            NonCanonicalError.code,
        ),
        _bad(
            "end-as-map",
            "end-body",
            "A map is outside the canonical subset.",
            bytes.fromhex(_pack({"v": 1, "reason": "bye", "ts": T0})),
            NonCanonicalError.code,
        ),
        _bad(
            "end-truncated",
            "end-body",
            "The body stops in the middle of ts_ms.",
            end_ok[:-3],
            MalformedError.code,
        ),
        _bad(
            "end-trailing-byte",
            "end-body",
            "A byte after the array.",
            end_ok + b"\x00",
            MalformedError.code,
        ),
        _bad("end-empty", "end-body", "No bytes at all.", b"", MalformedError.code),
        _bad(
            "hello-version-2",
            "hello-body",
            "Version 2 is refused as unsupported.",
            bytes.fromhex(_pack([2, person, None, None])),
            UnsupportedVersionError.code,
        ),
        _bad(
            "hello-two-fields",
            "hello-body",
            "Version 1 has exactly four fields; the secret is nil, never absent.",
            bytes.fromhex(_pack([1, person])),
            SchemaError.code,
        ),
        _bad(
            "hello-three-fields",
            "hello-body",
            "Version 1 has exactly four fields; the ticket is nil, never absent.",
            bytes.fromhex(_pack([1, person, None])),
            SchemaError.code,
        ),
        _bad(
            "hello-empty-ticket",
            "hello-body",
            "A deposit ticket is nil or at least one byte: no ticket is nil, not empty bytes.",
            bytes.fromhex(_pack([1, person, None, b""])),
            SchemaError.code,
        ),
        _bad(
            "hello-ticket-too-large",
            "hello-body",
            f"A deposit ticket is at most {MAX_TICKET_BYTES} bytes.",
            bytes.fromhex(_pack([1, person, None, b"\x00" * (MAX_TICKET_BYTES + 1)])),
            TooLargeError.code,
        ),
        _bad(
            "hello-card-as-str",
            "hello-body",
            "The card is bin, not str.",
            bytes.fromhex(_pack([1, "not a card", None, None])),
            SchemaError.code,
        ),
        _bad(
            "hello-secret-15-bytes",
            "hello-body",
            "An invitation secret is exactly 16 bytes.",
            bytes.fromhex(_pack([1, person, SECRET[:15], None])),
            SchemaError.code,
        ),
        _bad(
            "hello-card-bad-signature",
            "hello-body",
            "The card inside is verified: one flipped bit of its signature.",
            bytes.fromhex(_pack([1, bytes(tampered), None, None])),
            CardSignatureError.code,
        ),
        _bad(
            "hello-bad-card-and-bad-secret",
            "hello-body",
            "A forged card and a 15-byte secret: fields are read in order, so the card's code.",
            bytes.fromhex(_pack([1, bytes(tampered), SECRET[:15], None])),
            CardSignatureError.code,
        ),
        _bad(
            "hello-card-too-large",
            "hello-body",
            f"A card of {MAX_CARD_BYTES + 1} bytes is over the card limit.",
            bytes.fromhex(_pack([1, b"\x00" * (MAX_CARD_BYTES + 1), None, None])),
            TooLargeError.code,
        ),
    ]


# -- traces ---------------------------------------------------------------------------------------


def _peer(who: str) -> str:
    return SEEDS[who][0].hex()


def issued(now: int, card: str = "vendor-invitation") -> dict[str, Any]:
    return {"event": "InvitationIssued", "invitation": card, "now_ms": now}


def received(now: int, card: str = "vendor-invitation") -> dict[str, Any]:
    return {"event": "InvitationReceived", "invitation": card, "now_ms": now}


def accepted(now: int) -> dict[str, Any]:
    return {"event": "InvitationAccepted", "now_ms": now}


def handshake(now: int, peer: str, own_card: str) -> dict[str, Any]:
    return {
        "event": "HandshakeCompleted",
        "peer_seed_hex": _peer(peer),
        "own_card": own_card,
        "now_ms": now,
    }


def hello(now: int, card: str, secret: bytes | None = None) -> dict[str, Any]:
    return {
        "event": "HelloReceived",
        "card": card,
        "invite_secret_hex": secret.hex() if secret is not None else None,
        "now_ms": now,
    }


def seen(now: int, message_type: str = "terms.offer") -> dict[str, Any]:
    return {"event": "MessageSeen", "message_type": message_type, "now_ms": now}


def local_end(now: int, reason: str) -> dict[str, Any]:
    return {"event": "LocalEnd", "reason": reason, "now_ms": now}


def card_changed(now: int, own_card: str) -> dict[str, Any]:
    return {"event": "CardChanged", "own_card": own_card, "now_ms": now}


def peer_ended(now: int, reason: str) -> dict[str, Any]:
    return {"event": "PeerEnded", "reason": reason, "now_ms": now}


def timer(now: int, token: str) -> dict[str, Any]:
    return {"event": "TimerFired", "token": token, "now_ms": now}


def _final(
    state: str,
    role: str,
    peer: str | None,
    since_ms: int,
    *,
    last_seen_ms: int | None = None,
    handshake_done: bool = False,
    timer: tuple[str, int] | None = None,
    ended: tuple[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "state": state,
        "role": role,
        "peer_seed_hex": _peer(peer) if peer else None,
        "since_ms": since_ms,
        "last_seen_ms": last_seen_ms,
        "handshake_done": handshake_done,
        "timer_token": timer[0] if timer else None,
        "timer_at_ms": timer[1] if timer else None,
        "ended_reason": ended[0] if ended else None,
        "ended_by": ended[1] if ended else None,
    }


def _trace(
    name: str,
    description: str,
    steps: list[tuple[dict[str, Any], list[str]]],
    *,
    final: dict[str, Any] | None = None,
    error: tuple[dict[str, Any], str] | None = None,
) -> dict[str, Any]:
    vector: dict[str, Any] = {
        "name": name,
        "description": description,
        "operation": "trace",
        "events": [event for event, _ in steps],
        "effects": [effects for _, effects in steps],
    }
    if final is not None:
        vector["final"] = final
    if error is not None:
        vector["events"].append(error[0])
        vector["error"] = error[1]
    return vector


def _send_end(reason: str, now: int) -> str:
    return f"send rel.end {_pack([1, reason, now])}"


#: We are the person, holding the vendor's invitation: open, dial, handshake, hellos.
INVITEE_CONNECTS = [
    (received(T0 + 1_000), ["persist", f"set-timer invitation-1 at {EXP}"]),
    (
        accepted(T0 + 2_000),
        ["persist", "cancel-timer invitation-1", f"set-timer connect-2 at {T0 + 32_000}"],
    ),
    (handshake(T0 + 2_500, "vendor", "person"), ["persist", "send rel.hello with-secret"]),
    (hello(T0 + 2_600, "vendor"), ["persist", "cancel-timer connect-2", "notify connected"]),
]
#: We are the vendor that issued the invitation; the person dials in.
INVITER_CONNECTS = [
    (issued(T0), ["persist", f"set-timer invitation-1 at {EXP}"]),
    (
        handshake(T0 + 2_500, "person", "vendor"),
        [
            "persist",
            "cancel-timer invitation-1",
            "send rel.hello",
            f"set-timer connect-2 at {T0 + 32_500}",
        ],
    ),
    (
        hello(T0 + 2_600, "person", SECRET),
        ["persist", "cancel-timer connect-2", "notify connected"],
    ),
]
CONNECTED_INVITEE = {"last_seen_ms": T0 + 2_600, "handshake_done": True}


def _trace_vectors() -> list[dict[str, Any]]:
    invitee_dialling = INVITEE_CONNECTS[:2]
    return [
        _trace(
            "invitee-connects",
            "Hold an invitation, dial, handshake (our hello carries the secret), their hello.",
            INVITEE_CONNECTS,
            final=_final("connected", "invitee", "vendor", T0 + 2_600, **CONNECTED_INVITEE),
        ),
        _trace(
            "inviter-connects",
            "Issue an invitation; a person dials in, we say hello, their hello has the secret.",
            INVITER_CONNECTS,
            final=_final(
                "connected",
                "inviter",
                "person",
                T0 + 2_600,
                last_seen_ms=T0 + 2_600,
                handshake_done=True,
            ),
        ),
        _trace(
            "card-changed-says-hello-again",
            "Our card changed while connected: the peer gets a hello with it (no secret); a "
            "change while dialling sends nothing (the hello at the handshake carries it).",
            [
                *INVITEE_CONNECTS[:2],
                (card_changed(T0 + 2_200, "person"), []),
                *INVITEE_CONNECTS[2:],
                (card_changed(T0 + 9_000, "person"), ["send rel.hello"]),
            ],
            final=_final("connected", "invitee", "vendor", T0 + 2_600, **CONNECTED_INVITEE),
        ),
        _trace(
            "invitation-expires",
            "Nobody uses the invitation: its timer ends the relationship.",
            [
                (issued(T0), ["persist", f"set-timer invitation-1 at {EXP}"]),
                (timer(EXP, "invitation-1"), ["persist", "notify ended"]),
            ],
            final=_final("ended", "inviter", None, EXP, ended=("invitation-expired", "timer")),
        ),
        _trace(
            "stale-timer-ignored",
            "A cancelled timer that fires anyway (it lost the race) changes nothing.",
            [*invitee_dialling, (timer(T0 + 3_000, "invitation-1"), [])],
            final=_final(
                "connecting", "invitee", "vendor", T0 + 2_000, timer=("connect-2", T0 + 32_000)
            ),
        ),
        _trace(
            "connect-timeout-reopens-invitation",
            "No hello within 30 s: back to INVITED with the invitation's own deadline re-armed.",
            [
                *invitee_dialling,
                (
                    timer(T0 + 32_000, "connect-2"),
                    ["persist", f"set-timer invitation-3 at {EXP}", "notify connect-failed"],
                ),
            ],
            final=_final("invited", "invitee", "vendor", T0 + 32_000, timer=("invitation-3", EXP)),
        ),
        _trace(
            "dial-again-after-timeout",
            "After a connect timeout the owner may accept (dial) again.",
            [
                *invitee_dialling,
                (
                    timer(T0 + 32_000, "connect-2"),
                    ["persist", f"set-timer invitation-3 at {EXP}", "notify connect-failed"],
                ),
                (
                    accepted(T0 + 40_000),
                    [
                        "persist",
                        "cancel-timer invitation-3",
                        f"set-timer connect-4 at {T0 + 70_000}",
                    ],
                ),
            ],
            final=_final(
                "connecting", "invitee", "vendor", T0 + 40_000, timer=("connect-4", T0 + 70_000)
            ),
        ),
        _trace(
            "connect-timeout-after-expiry-ends",
            "A connect timeout after the invitation's expiry ends the relationship.",
            [
                (received(EXP - 10_000), ["persist", f"set-timer invitation-1 at {EXP}"]),
                (
                    accepted(EXP - 5_000),
                    [
                        "persist",
                        "cancel-timer invitation-1",
                        f"set-timer connect-2 at {EXP + 25_000}",
                    ],
                ),
                (timer(EXP + 25_000, "connect-2"), ["persist", "notify ended"]),
            ],
            final=_final(
                "ended", "invitee", "vendor", EXP + 25_000, ended=("invitation-expired", "timer")
            ),
        ),
        _trace(
            "inviter-timeout-unbinds-peer",
            "A peer dials in but never says hello: the invitation reopens, bound to nobody.",
            [
                *INVITER_CONNECTS[:2],
                (
                    timer(T0 + 32_500, "connect-2"),
                    ["persist", f"set-timer invitation-3 at {EXP}", "notify connect-failed"],
                ),
            ],
            final=_final(
                "invited",
                "inviter",
                None,
                T0 + 32_500,
                last_seen_ms=T0 + 2_500,
                timer=("invitation-3", EXP),
            ),
        ),
        _trace(
            "local-end-sends-rel-end",
            "Ending a connected relationship sends a signed rel.end with our reason and time.",
            [
                *INVITEE_CONNECTS,
                (
                    local_end(T0 + 9_000, "moving away"),
                    ["persist", _send_end("moving away", T0 + 9_000), "notify ended"],
                ),
            ],
            final=_final(
                "ended",
                "invitee",
                "vendor",
                T0 + 9_000,
                **CONNECTED_INVITEE,
                ended=("moving away", "local"),
            ),
        ),
        _trace(
            "withdraw-invitation",
            "Ending an unused invitation sends nothing (no peer knows us) and cancels its timer.",
            [
                (issued(T0), ["persist", f"set-timer invitation-1 at {EXP}"]),
                (
                    local_end(T0 + 5, "withdrawn"),
                    ["persist", "cancel-timer invitation-1", "notify ended"],
                ),
            ],
            final=_final("ended", "inviter", None, T0 + 5, ended=("withdrawn", "local")),
        ),
        _trace(
            "local-end-while-dialling",
            "Ending before any handshake sends nothing: the peer has not met us yet.",
            [
                *invitee_dialling,
                (
                    local_end(T0 + 3_000, "changed my mind"),
                    ["persist", "cancel-timer connect-2", "notify ended"],
                ),
            ],
            final=_final(
                "ended", "invitee", "vendor", T0 + 3_000, ended=("changed my mind", "local")
            ),
        ),
        _trace(
            "local-end-after-handshake",
            "Ending after the handshake (hellos not both in) tells the peer.",
            [
                *INVITEE_CONNECTS[:3],
                (
                    local_end(T0 + 3_000, "wrong shop"),
                    [
                        "persist",
                        "cancel-timer connect-2",
                        _send_end("wrong shop", T0 + 3_000),
                        "notify ended",
                    ],
                ),
            ],
            final=_final(
                "ended",
                "invitee",
                "vendor",
                T0 + 3_000,
                last_seen_ms=T0 + 2_500,
                handshake_done=True,
                ended=("wrong shop", "local"),
            ),
        ),
        _trace(
            "peer-ends",
            "The peer's rel.end ends a connected relationship; nothing is sent back.",
            [
                *INVITEE_CONNECTS,
                (peer_ended(T0 + 9_000, "closing down"), ["persist", "notify ended"]),
            ],
            final=_final(
                "ended",
                "invitee",
                "vendor",
                T0 + 9_000,
                last_seen_ms=T0 + 9_000,
                handshake_done=True,
                ended=("closing down", "peer"),
            ),
        ),
        _trace(
            "peer-declines-after-hello",
            "The peer ends during CONNECTING, after our hello reached it.",
            [
                *INVITER_CONNECTS[:2],
                (
                    peer_ended(T0 + 2_700, "not interested"),
                    ["persist", "cancel-timer connect-2", "notify ended"],
                ),
            ],
            final=_final(
                "ended",
                "inviter",
                "person",
                T0 + 2_700,
                last_seen_ms=T0 + 2_700,
                handshake_done=True,
                ended=("not interested", "peer"),
            ),
        ),
        _trace(
            "duplicate-peer-end-ignored",
            "A second rel.end from the peer (a retry) is not an error and does nothing.",
            [
                *INVITEE_CONNECTS,
                (peer_ended(T0 + 9_000, "closing down"), ["persist", "notify ended"]),
                (peer_ended(T0 + 9_500, "closing down"), []),
            ],
            final=_final(
                "ended",
                "invitee",
                "vendor",
                T0 + 9_000,
                last_seen_ms=T0 + 9_000,
                handshake_done=True,
                ended=("closing down", "peer"),
            ),
        ),
        _trace(
            "crossing-ends",
            "Both sides end at once: the peer's rel.end after ours is ignored; ours stands.",
            [
                *INVITEE_CONNECTS,
                (
                    local_end(T0 + 9_000, "moving away"),
                    ["persist", _send_end("moving away", T0 + 9_000), "notify ended"],
                ),
                (peer_ended(T0 + 9_001, "closing down"), []),
                (local_end(T0 + 9_002, "moving away"), []),
                (timer(T0 + 40_000, "connect-2"), []),
            ],
            final=_final(
                "ended",
                "invitee",
                "vendor",
                T0 + 9_000,
                **CONNECTED_INVITEE,
                ended=("moving away", "local"),
            ),
        ),
        _trace(
            "message-updates-last-seen",
            "Any other message from the peer only moves last_seen_ms: no effects, no persist.",
            [*INVITEE_CONNECTS, (seen(T0 + 60_000), [])],
            final=_final(
                "connected",
                "invitee",
                "vendor",
                T0 + 2_600,
                last_seen_ms=T0 + 60_000,
                handshake_done=True,
            ),
        ),
        _trace(
            "reconnect-says-hello-again",
            "A new session with a connected peer: our hello again, without the secret.",
            [
                *INVITEE_CONNECTS,
                (handshake(T0 + DAY_MS, "vendor", "person"), ["send rel.hello"]),
                (hello(T0 + DAY_MS + 100, "vendor"), []),
            ],
            final=_final(
                "connected",
                "invitee",
                "vendor",
                T0 + 2_600,
                last_seen_ms=T0 + DAY_MS + 100,
                handshake_done=True,
            ),
        ),
        _trace(
            "hello-with-new-card",
            "A connected peer's hello with a changed card is stored and reported.",
            [
                *INVITEE_CONNECTS,
                (hello(T0 + 5_000, "vendor-renamed"), ["persist", "notify card-updated"]),
            ],
            final=_final(
                "connected",
                "invitee",
                "vendor",
                T0 + 2_600,
                last_seen_ms=T0 + 5_000,
                handshake_done=True,
            ),
        ),
        _trace(
            "invitee-redial-secret-accepted",
            "A connected inviter accepts a repeated first hello (secret included) after a redial.",
            [*INVITER_CONNECTS, (hello(T0 + 4_000, "person", SECRET), [])],
            final=_final(
                "connected",
                "inviter",
                "person",
                T0 + 2_600,
                last_seen_ms=T0 + 4_000,
                handshake_done=True,
            ),
        ),
        # -- refused --------------------------------------------------------------------------
        _trace(
            "hello-before-handshake",
            "A hello while we are still dialling (no session yet) is out of place.",
            invitee_dialling,
            error=(hello(T0 + 2_100, "vendor"), ILLEGAL),
        ),
        _trace(
            "first-hello-without-secret",
            "The invitee's first hello must present the invitation's secret.",
            INVITER_CONNECTS[:2],
            error=(hello(T0 + 2_600, "person"), ILLEGAL),
        ),
        _trace(
            "first-hello-wrong-secret",
            "A hello presenting another invitation's secret is refused.",
            INVITER_CONNECTS[:2],
            error=(hello(T0 + 2_600, "person", OTHER_SECRET), ILLEGAL),
        ),
        _trace(
            "hello-with-someone-elses-card",
            "The card in a hello must be the sender's own.",
            INVITEE_CONNECTS[:3],
            error=(hello(T0 + 2_600, "mallory"), MISMATCH),
        ),
        _trace(
            "hello-with-expired-card",
            "The card in a hello must be valid now.",
            INVITEE_CONNECTS[:3],
            error=(hello(T0 + 60_000, "vendor-short-lived"), CardExpiredError.code),
        ),
        _trace(
            "hello-with-expired-card-and-wrong-secret",
            "An expired card and a wrong secret: the card is checked first (§5.4 step 3 before 4).",
            INVITEE_CONNECTS[:3],
            error=(
                hello(T0 + 60_000, "vendor-short-lived", OTHER_SECRET),
                CardExpiredError.code,
            ),
        ),
        _trace(
            "handshake-with-wrong-peer",
            "A session that proved someone other than the inviter we dialled.",
            invitee_dialling,
            error=(handshake(T0 + 2_500, "mallory", "person"), MISMATCH),
        ),
        _trace(
            "second-peer-on-used-invitation",
            "Once a peer has dialled in with the invitation, another one cannot join it.",
            INVITER_CONNECTS[:2],
            error=(handshake(T0 + 2_550, "mallory", "vendor"), MISMATCH),
        ),
        _trace(
            "message-before-hello",
            "Other messages wait for the hellos: a terms.offer during CONNECTING is refused.",
            INVITEE_CONNECTS[:3],
            error=(seen(T0 + 2_550), ILLEGAL),
        ),
        _trace(
            "message-after-end",
            "After the end, the peer's messages are refused.",
            [
                *INVITEE_CONNECTS,
                (peer_ended(T0 + 9_000, "closing down"), ["persist", "notify ended"]),
            ],
            error=(seen(T0 + 9_500), ILLEGAL),
        ),
        _trace(
            "handshake-after-end",
            "An ended relationship does not take new sessions.",
            [
                *INVITEE_CONNECTS,
                (peer_ended(T0 + 9_000, "closing down"), ["persist", "notify ended"]),
            ],
            error=(handshake(T0 + 9_500, "vendor", "person"), ILLEGAL),
        ),
        _trace(
            "peer-end-while-invited",
            "A rel.end with no session ever made is out of place.",
            [(received(T0 + 1_000), ["persist", f"set-timer invitation-1 at {EXP}"])],
            error=(peer_ended(T0 + 2_000, "bye"), ILLEGAL),
        ),
        _trace(
            "peer-end-before-handshake",
            "A rel.end while we are still dialling is out of place.",
            invitee_dialling,
            error=(peer_ended(T0 + 2_100, "bye"), ILLEGAL),
        ),
        _trace(
            "inviter-cannot-dial",
            "Local misuse: accepting the invitation we issued ourselves.",
            INVITER_CONNECTS[:1],
            error=(accepted(T0 + 1), LOCAL_STATE),
        ),
        _trace(
            "accept-twice",
            "Local misuse: dialling again while a dial is under way.",
            invitee_dialling,
            error=(accepted(T0 + 2_100), LOCAL_STATE),
        ),
        _trace(
            "opening-event-on-existing",
            "Local misuse: an opening event fed to an existing relationship.",
            INVITER_CONNECTS[:1],
            error=(issued(T0 + 1), LOCAL_STATE),
        ),
        _trace(
            "open-with-non-opening-event",
            "Local misuse: a relationship starts only from an invitation.",
            [],
            error=(accepted(T0), LOCAL_STATE),
        ),
        _trace(
            "expired-invitation-received",
            "An invitation that expired before it was opened: ask for a new one.",
            [],
            error=(received(EXP), CardExpiredError.code),
        ),
        _trace(
            "end-reason-too-long",
            "Local misuse: an end reason over 200 bytes is refused when the event is made.",
            INVITEE_CONNECTS,
            error=(local_end(T0 + 9_000, "x" * 201), UsageError.code),
        ),
    ]


def build() -> dict[str, Any]:
    return {
        "title": "amity relationships: rel.hello and rel.end bodies, state-machine traces",
        "spec": "spec/relationship.md",
        "notes": (
            "Top-level 'cards' are peer cards made with Card.issue from the inputs given "
            "(spec/card.md); vectors name them. operation 'hello-body' / 'end-body': encoding "
            "the fields must give body_hex and decoding body_hex must give the fields back; with "
            "'error', decoding body_hex must fail with that code. operation 'trace': the first "
            "event opens the relationship (open_relationship), each later one goes to step() at "
            "its now_ms; 'effects' lists, per event, the effects in order: 'persist', "
            "'cancel-timer TOKEN', 'set-timer TOKEN at MS', 'send rel.hello' (' with-secret' "
            "when the body carries the invitation secret), 'send rel.end BODY_HEX', 'notify "
            "KIND'. 'final' is the relationship after the last event; with 'error', the last "
            "event (or making it, for local.usage) must fail with that code. Events name cards "
            "by key; peers are given as identity seeds. T0 = 1700000000000."
        ),
        "cards": _cards_section(),
        "vectors": _body_vectors() + _trace_vectors(),
    }
