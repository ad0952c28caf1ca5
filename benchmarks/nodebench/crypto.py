"""The bare per-note crypto: what one note costs that no node can avoid, one core each side.

The sender signs the note's envelope (Ed25519) and seals its frame (ChaCha20-Poly1305, as Noise
does), the receiver opens the frame and verifies the signature, on the exact sizes of one
NOTE_TEXT note, in two worker processes at the same time. The limit is the slower side's rate.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import nacl.bindings
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from amity.node.daemon import wall_clock_ms
from amity.protocol.encoding import decode
from amity.protocol.envelope import ENVELOPE_DOMAIN, sign_envelope
from amity.protocol.frames import encode_envelope_frame
from amity.protocol.keyring import Keyring
from amity.protocol.notes import MSG_NOTE, encode_note
from amity.protocol.session import Session
from nodebench.measure import NOTE_TEXT


def note_sizes() -> dict[str, int]:
    """One NOTE_TEXT note's sizes: signed bytes (with the domain), envelope frame, on the wire."""
    now = wall_clock_ms()
    alice, bob = Keyring(os.urandom(32)), Keyring(os.urandom(32))
    sessions = []
    for keyring, initiator in ((alice, True), (bob, False)):
        key, cert = keyring.current(now)
        sessions.append(
            Session(
                initiator=initiator,
                link_key=key,
                link_cert=cert,
                ephemeral_private=os.urandom(32),
            )
        )
    dialer, answerer = sessions
    message2 = answerer.receive_handshake(dialer.start(), now)
    assert message2 is not None
    message3 = dialer.receive_handshake(message2, now)
    assert message3 is not None
    answerer.receive_handshake(message3, now)
    envelope = sign_envelope(
        alice.identity,
        type=MSG_NOTE,
        recipient=bob.identity.peer_id,
        seq=1000,
        ts_ms=now,
        nonce=os.urandom(16),
        body=encode_note(NOTE_TEXT),
    )
    outer = decode(envelope)  # [signed_bytes, signature]
    assert isinstance(outer, list) and isinstance(outer[0], bytes)
    signed_bytes = outer[0]
    frame = encode_envelope_frame(envelope)
    return {
        "signed": len(ENVELOPE_DOMAIN) + len(signed_bytes),
        "frame": len(frame),
        "wire": sum(len(f) for f in dialer.encrypt(frame)),
    }


def crypto_side(
    side: str, sizes: dict[str, int], start_at: float, seconds: float
) -> tuple[float, float]:
    """Notes/s one core handles on one ``side``: "send" (sign + seal), "receive" (open + verify),
    and the CPU µs one note took there (which a busy machine's other work does not inflate).

    Runs in a worker process; starts at wall time ``start_at`` so both sides overlap.
    """
    public, secret = nacl.bindings.crypto_sign_seed_keypair(os.urandom(32))
    aead = ChaCha20Poly1305(os.urandom(32))
    message, frame = os.urandom(sizes["signed"]), os.urandom(sizes["frame"])
    signed = nacl.bindings.crypto_sign(message, secret)
    sealed = aead.encrypt(bytes(12), frame, None)
    sign, verify = nacl.bindings.crypto_sign, nacl.bindings.crypto_sign_open
    while time.time() < start_at:
        time.sleep(0.005)
    count, started, cpu_started = 0, time.perf_counter(), time.process_time()
    end = started + seconds
    while True:
        for _ in range(64):
            if side == "send":
                sign(message, secret)
                aead.encrypt((count + 1).to_bytes(12, "little"), frame, None)
            else:
                aead.decrypt(bytes(12), sealed, None)
                verify(signed, public)
            count += 1
        now = time.perf_counter()
        if now >= end:
            return count / (now - started), (time.process_time() - cpu_started) / count * 1e6


async def crypto_limit(sizes: dict[str, int], warmup_s: float, seconds: float) -> dict[str, Any]:
    """Both sides at once in two worker processes; the limit is the slower side's notes/s."""
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        for future in [pool.submit(time.sleep, 0.1) for _ in range(4)]:  # both workers up
            future.result()
        start_at = time.time() + warmup_s
        send, receive = await asyncio.gather(
            *(
                loop.run_in_executor(pool, crypto_side, side, sizes, start_at, seconds)
                for side in ("send", "receive")
            )
        )
    return {
        "send_per_s": round(send[0]),
        "receive_per_s": round(receive[0]),
        "per_s": min(send[0], receive[0]),
        "send_cpu_us": round(send[1], 1),
        "receive_cpu_us": round(receive[1], 1),
    }
