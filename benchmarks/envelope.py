"""Envelope speed against the bare libsodium limit, measured in the same run.

    python benchmarks/envelope.py [--seconds 1.0] [--body 256] [--json]

Each row times one amity operation and the bare pynacl work it cannot avoid, on this machine,
now, and prints the ratio (1.00 = no overhead at all). One core (this process).

- open:   open_envelope (decode, canonical check, signature) + replay guard  vs  Ed25519 verify
- sealed open: open_sealed (+ replay guard)  vs  crypto_box_seal_open + Ed25519 verify
- seal:   sign_envelope + seal  vs  Ed25519 sign + crypto_box_seal
- session: Session.encrypt + decrypt of a signed envelope  vs  ChaCha20-Poly1305 encrypt + decrypt
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable

import nacl.bindings
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from amity.protocol.envelope import open_envelope, sign_envelope
from amity.protocol.identity import SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey
from amity.protocol.replay import ReplayGuard, ReplayPolicy
from amity.protocol.sealed import open_sealed, seal
from amity.protocol.session import Session

NOW_MS = 1_800_000_000_000


def rate(operation: Callable[[int], None], seconds: float) -> float:
    """Operations per second: best of three rounds of ``seconds`` / 3 each."""
    best = 0.0
    for _ in range(3):
        count, started = 0, time.perf_counter()
        deadline = started + seconds / 3
        while (now := time.perf_counter()) < deadline:
            for _ in range(64):
                operation(count)
                count += 1
        best = max(best, count / (now - started))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=1.5, help="time per measurement")
    parser.add_argument("--body", type=int, default=256, help="body bytes per envelope")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    alice, bob = SigningIdentity(os.urandom(32)), SigningIdentity(os.urandom(32))
    bob_link = LinkKey(os.urandom(32))
    body = os.urandom(args.body)
    # A fresh seq and nonce per message so the replay guard accepts every one of them.
    envelopes = [
        sign_envelope(
            alice,
            type="bench.msg",
            recipient=bob.peer_id,
            seq=i + 1,
            ts_ms=NOW_MS,
            nonce=i.to_bytes(16, "big"),
            body=body,
        )
        for i in range(4096)
    ]
    sealed = [
        seal(
            e, recipient=bob.peer_id, link_public=bob_link.public, ephemeral_private=os.urandom(32)
        )
        for e in envelopes
    ]
    policy = ReplayPolicy(window=8192, max_nonces=8192)

    def fresh_guard() -> ReplayGuard:
        return ReplayGuard(policy)

    guard = [fresh_guard()]

    def ours_open(i: int) -> None:
        if i % 4096 == 0:
            guard[0] = fresh_guard()
        guard[0].accept(open_envelope(envelopes[i % 4096], recipient=bob.peer_id), NOW_MS)

    signing_key = alice.seed + alice.peer_id.key  # libsodium's 64-byte form
    signed_raw = nacl.bindings.crypto_sign(body, signing_key)

    def bare_verify(i: int) -> None:
        nacl.bindings.crypto_sign_open(signed_raw, alice.peer_id.key)

    def ours_open_sealed(i: int) -> None:
        if i % 4096 == 0:
            guard[0] = fresh_guard()
        letter = open_sealed(sealed[i % 4096], recipient=bob.peer_id, link_key=bob_link)
        guard[0].accept(letter, NOW_MS)

    raw_box = nacl.bindings.crypto_box_seal(signed_raw, bob_link.public)

    def bare_open_sealed(i: int) -> None:
        inner = nacl.bindings.crypto_box_seal_open(raw_box, bob_link.public, bob_link.private)
        nacl.bindings.crypto_sign_open(inner, alice.peer_id.key)

    ephemeral = os.urandom(32)

    def ours_seal(i: int) -> None:
        envelope = sign_envelope(
            alice,
            type="bench.msg",
            recipient=bob.peer_id,
            seq=i + 1,
            ts_ms=NOW_MS,
            nonce=i.to_bytes(16, "big"),
            body=body,
        )
        seal(
            envelope,
            recipient=bob.peer_id,
            link_public=bob_link.public,
            ephemeral_private=ephemeral,
        )

    def bare_seal(i: int) -> None:
        nacl.bindings.crypto_box_seal(nacl.bindings.crypto_sign(body, signing_key), bob_link.public)

    alice_link = LinkKey(os.urandom(32))
    certs = (
        LinkCert.issue(alice, alice_link.public, 0, NOW_MS * 2),
        LinkCert.issue(bob, bob_link.public, 0, NOW_MS * 2),
    )
    dialer = Session(
        initiator=True, link_key=alice_link, link_cert=certs[0], ephemeral_private=os.urandom(32)
    )
    answerer = Session(
        initiator=False, link_key=bob_link, link_cert=certs[1], ephemeral_private=os.urandom(32)
    )
    message2 = answerer.receive_handshake(dialer.start(), NOW_MS)
    assert message2 is not None
    message3 = dialer.receive_handshake(message2, NOW_MS)
    assert message3 is not None
    answerer.receive_handshake(message3, NOW_MS)
    message = envelopes[0]

    def ours_session(i: int) -> None:
        for frame in dialer.encrypt(message):
            answerer.decrypt(frame)

    aead = ChaCha20Poly1305(os.urandom(32))

    def bare_session(i: int) -> None:
        nonce = bytes(4) + i.to_bytes(8, "little")
        aead.decrypt(nonce, aead.encrypt(nonce, message, b""), b"")

    rows = []
    for name, ours, bare, bare_what in [
        ("open", ours_open, bare_verify, "Ed25519 verify"),
        ("sealed open", ours_open_sealed, bare_open_sealed, "box_seal_open + verify"),
        ("seal", ours_seal, bare_seal, "sign + box_seal"),
        ("session", ours_session, bare_session, "ChaCha20-Poly1305 enc+dec"),
    ]:
        ours_rate = rate(ours, args.seconds)
        bare_rate = rate(bare, args.seconds)
        rows.append(
            {
                "operation": name,
                "ours_per_s": round(ours_rate),
                "bare_per_s": round(bare_rate),
                "bare": bare_what,
                "ratio": round(ours_rate / bare_rate, 3),
            }
        )
    if args.json:
        print(json.dumps({"body_bytes": args.body, "rows": rows}, indent=2))
        return 0
    print(
        f"envelope benchmark, body {args.body} bytes, one core, best of 3 x {args.seconds / 3:.2f} s"
    )
    print(f"{'operation':<12} {'amity/s':>10} {'bare/s':>10} {'ratio':>6}  bare limit")
    for row in rows:
        print(
            f"{row['operation']:<12} {row['ours_per_s']:>10,} {row['bare_per_s']:>10,} "
            f"{row['ratio']:>6.2f}  {row['bare']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
