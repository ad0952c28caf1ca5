"""Test vectors for spec/replay.md: sequences of arrivals and what the guard says to each.

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from amity.protocol.envelope import open_envelope, sign_envelope
from amity.protocol.errors import AmityError
from amity.protocol.identity import SigningIdentity
from amity.protocol.replay import LIVE_POLICY, MAIL_POLICY, ReplayGuard, ReplayPolicy

SENDER_SEEDS = {
    "alice": bytes.fromhex("a11ce0000000000000000000000000000000000000000000000000000000a11c"),
    "carol": bytes.fromhex("ca201000000000000000000000000000000000000000000000000000000ca201"),
}
RECIPIENT_SEED = bytes.fromhex("b0b0000000000000000000000000000000000000000000000000000000000b0b")
RECIPIENT = SigningIdentity(RECIPIENT_SEED)
SENDERS = {name: SigningIdentity(seed) for name, seed in SENDER_SEEDS.items()}
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
TYPE = "test.replay"
SMALL = ReplayPolicy(window=4, max_age_ms=1000, max_skew_ms=100, max_nonces=8)

NOTES = (
    "Each vector gives a replay policy and a list of arrivals, fed in order to ONE fresh "
    "ReplayGuard(policy) by guard.accept(envelope, now_ms). Each arrival is an envelope of type "
    f"{TYPE!r} with an empty body from `sender` (a key of `senders`, an Ed25519 seed) to the "
    "recipient, with the given seq, nonce and ts_ms; `expect` is 'accept' or the error code "
    "accept must raise (a refused arrival changes no state). Policies named LIVE_POLICY or "
    "MAIL_POLICY must equal the numbers given."
)


def _nonce(label: int) -> bytes:
    return bytes([label]) * 16


def _arrival(
    seq: int, nonce: int, ts_ms: int, now_ms: int, sender: str = "alice"
) -> dict[str, Any]:
    return {
        "sender": sender,
        "seq": seq,
        "nonce_hex": _nonce(nonce).hex(),
        "ts_ms": ts_ms,
        "now_ms": now_ms,
    }


def _vector(
    name: str,
    description: str,
    policy: ReplayPolicy,
    steps: list[tuple[dict[str, Any], str]],
    policy_name: str | None = None,
) -> dict[str, Any]:
    guard = ReplayGuard(policy)
    arrivals = []
    for arrival, expect in steps:
        data = sign_envelope(
            SENDERS[arrival["sender"]],
            type=TYPE,
            recipient=RECIPIENT.peer_id,
            seq=arrival["seq"],
            ts_ms=arrival["ts_ms"],
            nonce=bytes.fromhex(arrival["nonce_hex"]),
            body=b"",
        )
        envelope = open_envelope(data, recipient=RECIPIENT.peer_id)
        try:
            guard.accept(envelope, arrival["now_ms"])
        except AmityError as exc:
            got = exc.code
        else:
            got = "accept"
        assert got == expect, f"{name}: {arrival} gave {got}, expected {expect}"
        arrivals.append(arrival | {"expect": expect})
    policy_fields: dict[str, Any] = {"name": policy_name} if policy_name else {}
    return {
        "name": name,
        "description": description,
        "policy": policy_fields | dataclasses.asdict(policy),
        "senders": {name: seed.hex() for name, seed in SENDER_SEEDS.items()},
        "recipient_seed_hex": RECIPIENT_SEED.hex(),
        "arrivals": arrivals,
    }


def build() -> dict[str, Any]:
    a, ok = _arrival, "accept"
    dup, old, expired = "replay.duplicate", "replay.too_old", "replay.expired"
    t = T0
    live_age, live_skew = LIVE_POLICY.max_age_ms, LIVE_POLICY.max_skew_ms
    mail_age, mail_window = MAIL_POLICY.max_age_ms, MAIL_POLICY.window
    vectors = [
        _vector(
            "in-order",
            "Sequence numbers 1, 2, 3 in order, each once: all accepted.",
            SMALL,
            [(a(1, 1, t, t), ok), (a(2, 2, t, t), ok), (a(3, 3, t, t), ok)],
        ),
        _vector(
            "first-seq-any",
            "The first message from a sender may carry any seq: nothing is known yet.",
            SMALL,
            [(a(1000, 1, t, t), ok), (a(998, 2, t, t), ok)],
        ),
        _vector(
            "exact-replay",
            "The same envelope twice: the second is a duplicate (its nonce is known).",
            SMALL,
            [(a(1, 1, t, t), ok), (a(1, 1, t, t + 10), dup)],
        ),
        _vector(
            "same-seq-new-nonce",
            "seq 2 again with another nonce: refused by the sequence bitmap.",
            SMALL,
            [(a(1, 1, t, t), ok), (a(2, 2, t, t), ok), (a(2, 3, t, t), dup)],
        ),
        _vector(
            "same-nonce-new-seq",
            "A fresh seq with a nonce already used: refused by the nonce cache.",
            SMALL,
            [(a(1, 1, t, t), ok), (a(2, 1, t, t), dup)],
        ),
        _vector(
            "out-of-order-within-window",
            "5, 3, 4, 2 arrive out of order, all inside the window (4): each accepted once, "
            "then 3 and 5 again are duplicates.",
            SMALL,
            [
                (a(5, 5, t, t), ok),
                (a(3, 3, t, t), ok),
                (a(4, 4, t, t), ok),
                (a(2, 2, t, t), ok),
                (a(3, 13, t, t), dup),
                (a(5, 15, t, t), dup),
            ],
        ),
        _vector(
            "window-edge",
            "Window 4 with highest 10: seq 7 (offset 3, the last slot) is accepted, seq 6 "
            "(offset 4) is too old.",
            SMALL,
            [(a(10, 10, t, t), ok), (a(7, 7, t, t), ok), (a(6, 6, t, t), old)],
        ),
        _vector(
            "window-edge-replay",
            "Window 4: seq 7 accepted, then 10 moves the window; a replay of 7 (offset 3) is "
            "a duplicate; after 11, seq 7 (offset 4) is too old.",
            SMALL,
            [
                (a(7, 7, t, t), ok),
                (a(10, 10, t, t), ok),
                (a(7, 17, t, t), dup),
                (a(11, 11, t, t), ok),
                (a(7, 27, t, t), old),
            ],
        ),
        _vector(
            "jump-exactly-window",
            "Window 4: after 1, seq 5 (a jump of exactly the window) leaves 1 outside it; seq 2 "
            "(offset 3) is still accepted.",
            SMALL,
            [(a(1, 1, t, t), ok), (a(5, 5, t, t), ok), (a(1, 11, t, t), old), (a(2, 2, t, t), ok)],
        ),
        _vector(
            "jump-beyond-window",
            "Window 4: after 1, 2, seq 100 arrives; 1 and 2 are now too old, 97 is new and "
            "inside the window.",
            SMALL,
            [
                (a(1, 1, t, t), ok),
                (a(2, 2, t, t), ok),
                (a(100, 100, t, t), ok),
                (a(2, 12, t, t), old),
                (a(97, 97, t, t), ok),
                (a(96, 96, t, t), old),
            ],
        ),
        _vector(
            "future-timestamp",
            "max_skew 100 ms: stamped exactly 100 ms ahead is accepted, 101 ms ahead expired.",
            SMALL,
            [(a(1, 1, t + 100, t), ok), (a(2, 2, t + 101, t), expired)],
        ),
        _vector(
            "expired",
            "max_age 1000 ms: stamped exactly 1000 ms ago is accepted, 1001 ms ago expired.",
            SMALL,
            [(a(1, 1, t - 1000, t), ok), (a(2, 2, t - 1001, t), expired)],
        ),
        _vector(
            "expired-before-duplicate",
            "A late replay is refused as expired: the timestamp is checked first.",
            SMALL,
            [(a(1, 1, t, t), ok), (a(1, 1, t, t + 1001), expired)],
        ),
        _vector(
            "future-before-too-old",
            "Too old by sequence and stamped in the future: the timestamp is checked first.",
            SMALL,
            [(a(10, 10, t, t), ok), (a(1, 1, t + 500, t), expired)],
        ),
        _vector(
            "refusal-changes-nothing",
            "seq 1 refused for its future stamp, then seq 1 with the same nonce and a good "
            "stamp is accepted: a refused arrival leaves no trace.",
            SMALL,
            [(a(1, 1, t + 500, t), expired), (a(1, 1, t, t), ok)],
        ),
        _vector(
            "nonce-forgotten-after-max-age",
            "A nonce is remembered only while its timestamp is inside max_age; later the same "
            "nonce with a new seq is accepted (the envelope it came in would be expired).",
            SMALL,
            [
                (a(1, 1, t, t), ok),
                (a(2, 2, t + 1001, t + 1001), ok),
                (a(3, 1, t + 1001, t + 1001), ok),
            ],
        ),
        _vector(
            "nonce-remembered-through-max-age",
            "A nonce stamped exactly max_age before now is still remembered (its envelope would "
            "still be accepted), so reusing it with a new seq is a duplicate.",
            SMALL,
            [
                (a(1, 1, t, t), ok),
                (a(2, 2, t + 1000, t + 1000), ok),
                (a(3, 1, t + 1000, t + 1000), dup),
            ],
        ),
        _vector(
            "nonce-cache-cap",
            "max_nonces 2: after nonces 1, 2, 3 the oldest (1) is forgotten and may come again "
            "with a new seq; 3 is still remembered.",
            ReplayPolicy(window=4, max_age_ms=1000, max_skew_ms=100, max_nonces=2),
            [
                (a(1, 1, t, t), ok),
                (a(2, 2, t, t), ok),
                (a(3, 3, t, t), ok),
                (a(4, 1, t, t), ok),
                (a(5, 3, t, t), dup),
            ],
        ),
        _vector(
            "replay-after-nonce-forgotten",
            "max_nonces 1: the nonce of seq 1 is forgotten, but a replay of seq 1 is still "
            "refused by the sequence bitmap.",
            ReplayPolicy(window=4, max_age_ms=1000, max_skew_ms=100, max_nonces=1),
            [(a(1, 1, t, t), ok), (a(2, 2, t, t), ok), (a(1, 1, t, t), dup)],
        ),
        _vector(
            "senders-independent",
            "Alice and Carol each have their own window: the same seq and nonce from both are "
            "accepted.",
            SMALL,
            [
                (a(1, 1, t, t, "alice"), ok),
                (a(1, 1, t, t, "carol"), ok),
                (a(1, 2, t, t, "carol"), dup),
            ],
        ),
        _vector(
            "live-policy-time-window",
            "LIVE_POLICY: 10 minutes back and 60 s ahead, both bounds inclusive.",
            LIVE_POLICY,
            [
                (a(1, 1, t - live_age, t), ok),
                (a(2, 2, t - live_age - 1, t), expired),
                (a(3, 3, t + live_skew, t), ok),
                (a(4, 4, t + live_skew + 1, t), expired),
            ],
            policy_name="LIVE_POLICY",
        ),
        _vector(
            "live-policy-window",
            "LIVE_POLICY: a window of 1024 sequence numbers.",
            LIVE_POLICY,
            [
                (a(2000, 1, t, t), ok),
                (a(2000 - 1023, 2, t, t), ok),
                (a(2000 - 1024, 3, t, t), old),
            ],
            policy_name="LIVE_POLICY",
        ),
        _vector(
            "mail-policy",
            "MAIL_POLICY: 14 days back, 60 s ahead, a window of 8192.",
            MAIL_POLICY,
            [
                (a(9000, 1, t - mail_age, t), ok),
                (a(9001, 2, t - mail_age - 1, t), expired),
                (a(9000 - (mail_window - 1), 3, t, t), ok),
                (a(9000 - mail_window, 4, t, t), old),
            ],
            policy_name="MAIL_POLICY",
        ),
    ]
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return {
        "title": "amity replay guard: sequence window, nonce cache, timestamp window",
        "spec": "spec/replay.md",
        "notes": NOTES,
        "vectors": vectors,
    }
