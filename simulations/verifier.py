"""Signatures verified ahead, on a second core: the same answers, found before they are asked for.

A simulated run signs every envelope, grant, receipt and attestation it later verifies, and the
verification (``crypto_sign_open``) is the largest single cost of a real-crypto run. Its answer
is a pure function of the signed bytes and the key, so it can be worked out anywhere, any time:
while :func:`verifying_ahead` is in force, every signature made in this process
(``crypto_sign``) is also handed, in small batches, to a worker process that verifies it, and a
later ``crypto_sign_open`` of those very bytes under that very key takes the worker's answer if
it has come back. Anything else (bytes never signed here, a tampered copy, an answer not back
yet, one evicted for room) is verified here, as without the worker. So a run takes the same
steps and writes the same files with it or without it; only the core the work runs on differs.
A forged or corrupted signature raises ``BadSignatureError`` exactly as libsodium's check does.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import struct
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, SpawnContext
from typing import Final

import nacl.bindings
import nacl.exceptions

__all__ = ["AheadVerifier", "verifying_ahead"]

#: Signatures handed over together (one pipe write each way per batch).
BATCH: Final = 1
#: Answers kept for signatures not verified yet (oldest dropped first: verified here if asked).
KEEP: Final = 1 << 15
_LENGTH: Final = struct.Struct("<I")
_PUBLIC_KEY_BYTES: Final = 32
_SIGNATURE_BYTES: Final = 64

_Key = tuple[bytes, bytes]


def _worker(conn: Connection) -> None:
    """Verify each batch received; answer one byte per signature (1: valid), until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle; it stops us
    sign_open = nacl.bindings.crypto_sign_open
    bad = nacl.exceptions.BadSignatureError
    while True:
        try:
            data = conn.recv_bytes()
        except EOFError:
            return
        if not data:
            return
        answers = bytearray()
        view = memoryview(data)
        at = 0
        while at < len(view):
            (size,) = _LENGTH.unpack_from(view, at)
            at += _LENGTH.size
            signed = bytes(view[at : at + size])
            at += size
            public_key = bytes(view[at : at + _PUBLIC_KEY_BYTES])
            at += _PUBLIC_KEY_BYTES
            try:
                sign_open(signed, public_key)
                answers.append(1)
            except bad:
                answers.append(0)
        conn.send_bytes(bytes(answers))


class AheadVerifier:
    """The worker process, what was handed to it, and the answers it gave."""

    def __init__(
        self,
        sign: Callable[[bytes, bytes], bytes],
        sign_open: Callable[[bytes, bytes], bytes],
    ) -> None:
        self._sign = sign
        self._sign_open = sign_open
        # Forked before the world is built: a small copy, and no script imported twice (a spawned
        # worker would run an unguarded caller's __main__ again).
        context: ForkContext | SpawnContext
        if "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
        else:
            context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self._process = context.Process(target=_worker, args=(theirs,), daemon=True)
        self._process.start()
        theirs.close()
        self._unsent: list[_Key] = []
        self._in_flight: deque[list[_Key]] = deque()
        self._answers: dict[_Key, bool] = {}
        self._kept: deque[_Key] = deque()
        #: Verifications answered by the worker, and those done here.
        self.ahead = 0
        self.here = 0

    def sign(self, message: bytes, secret_key: bytes) -> bytes:
        """``crypto_sign``, and the signed message handed on to be verified."""
        signed = self._sign(message, secret_key)
        self._unsent.append((signed, secret_key[-_PUBLIC_KEY_BYTES:]))
        if len(self._unsent) >= BATCH:
            # Answers are read before each hand-over, so neither side can wait on the other
            # with both pipes full.
            self._collect()
            self._hand_over()
        return signed

    def sign_open(self, signed: bytes, public_key: bytes) -> bytes:
        """``crypto_sign_open``: the worker's answer if it has one, else verified here."""
        self._collect()
        key = (signed, public_key)
        valid = self._answers.get(key)
        if valid is None:
            if self._unsent:  # what comes next may be in it: let the worker start on it
                self._hand_over()
            self.here += 1
            return self._sign_open(signed, public_key)
        self.ahead += 1
        if not valid:
            raise nacl.exceptions.BadSignatureError("Signature was forged or corrupt")
        return signed[_SIGNATURE_BYTES:]

    def _hand_over(self) -> None:
        batch, self._unsent = self._unsent, []
        parts: list[bytes] = []
        for signed, public_key in batch:
            parts += (_LENGTH.pack(len(signed)), signed, public_key)
        self._conn.send_bytes(b"".join(parts))
        self._in_flight.append(batch)

    def _collect(self) -> None:
        conn, answers, kept = self._conn, self._answers, self._kept
        while self._in_flight and conn.poll():
            batch = self._in_flight.popleft()
            for key, valid in zip(batch, conn.recv_bytes(), strict=True):
                answers[key] = valid == 1
                kept.append(key)
        while len(kept) > KEEP:
            answers.pop(kept.popleft(), None)

    def close(self) -> None:
        """Stop the worker (answers still on their way are not needed)."""
        with contextlib.suppress(OSError):  # it is gone already
            self._conn.send_bytes(b"")
        self._conn.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


@contextmanager
def verifying_ahead() -> Iterator[AheadVerifier]:
    """Run the body with signatures made here verified ahead by a worker (see the module)."""
    sign, sign_open = nacl.bindings.crypto_sign, nacl.bindings.crypto_sign_open
    verifier = AheadVerifier(sign, sign_open)
    setattr(nacl.bindings, "crypto_sign", verifier.sign)  # noqa: B010
    setattr(nacl.bindings, "crypto_sign_open", verifier.sign_open)  # noqa: B010
    try:
        yield verifier
    finally:
        setattr(nacl.bindings, "crypto_sign", sign)  # noqa: B010
        setattr(nacl.bindings, "crypto_sign_open", sign_open)  # noqa: B010
        verifier.close()
