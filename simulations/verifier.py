"""Signatures verified ahead, on a second core: the same answers, found before they are asked for.

A simulated run signs every envelope, grant, receipt and attestation it later verifies, and the
verification (``crypto_sign_open``) is the largest single cost of a real-crypto run. Its answer
is a pure function of the signed bytes and the key, so it can be worked out anywhere, any time:
while :func:`verifying_ahead` is in force, every signature made in this process
(``crypto_sign``) is also handed, as it is made, to a worker process that verifies it, and a
later ``crypto_sign_open`` of those very bytes under that very key takes the worker's answer if
it has come back. Anything else (bytes never signed here, a tampered copy, an answer not back
yet, one evicted for room) is verified here, as without the worker. So a run takes the same
steps and writes the same files with it or without it; only the core the work runs on differs.
A forged or corrupted signature raises ``BadSignatureError`` exactly as libsodium's check does.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import struct
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

import nacl.bindings
import nacl.exceptions

__all__ = ["AheadVerifier", "can_verify_ahead", "verifying_ahead"]

#: Bytes handed over and not yet taken by the worker beyond which new signatures are verified
#: here instead (the worker is behind: waiting on it would only slow the run).
BACKLOG_BYTES: Final = 1 << 20
#: Answers kept for signatures not verified yet (oldest dropped first: verified here if asked).
KEEP: Final = 1 << 15
_LENGTH: Final = struct.Struct("<I")
_PUBLIC_KEY_BYTES: Final = 32
_SIGNATURE_BYTES: Final = 64
_CHUNK: Final = 1 << 16
_IDLE_S: Final = 0.0005

_Key = tuple[bytes, bytes]


def can_verify_ahead() -> bool:
    """Whether a worker can be forked here (it shares the pipes it is born with)."""
    return "fork" in multiprocessing.get_all_start_methods()


def _worker(requests: int, answers: int) -> None:
    """Verify each signed message as it comes; answer one byte each (1: valid), in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle; EOF stops us
    sign_open = nacl.bindings.crypto_sign_open
    bad = nacl.exceptions.BadSignatureError
    # The worker looks for work every _IDLE_S rather than waiting on the pipe: a write that woke
    # it would often hand it the run's core for a moment, and the run writes once per signature.
    os.set_blocking(requests, False)
    pending = b""
    while True:
        try:
            chunk = os.read(requests, _CHUNK)
        except BlockingIOError:
            time.sleep(_IDLE_S)
            continue
        if not chunk:
            return
        data = pending + chunk
        verdicts = bytearray()
        at = 0
        while at + _LENGTH.size <= len(data):
            (size,) = _LENGTH.unpack_from(data, at)
            end = at + _LENGTH.size + size + _PUBLIC_KEY_BYTES
            if end > len(data):
                break
            signed = data[at + _LENGTH.size : end - _PUBLIC_KEY_BYTES]
            try:
                sign_open(signed, data[end - _PUBLIC_KEY_BYTES : end])
                verdicts.append(1)
            except bad:
                verdicts.append(0)
            at = end
        pending = data[at:]
        view = memoryview(verdicts)
        while view:
            view = view[os.write(answers, view) :]


class AheadVerifier:
    """The worker process, what was handed to it, and the answers it gave."""

    def __init__(
        self,
        sign: Callable[[bytes, bytes], bytes],
        sign_open: Callable[[bytes, bytes], bytes],
    ) -> None:
        self._sign = sign
        self._sign_open = sign_open
        requests_in, self._requests = os.pipe()
        self._answers_out, answers_in = os.pipe()
        # Forked before the world is built: a small copy, and no script imported twice.
        context = multiprocessing.get_context("fork")
        self._process = context.Process(target=_worker, args=(requests_in, answers_in), daemon=True)
        self._process.start()
        os.close(requests_in)
        os.close(answers_in)
        # Neither end ever waits on the other: what cannot be written now waits in _out.
        os.set_blocking(self._requests, False)
        os.set_blocking(self._answers_out, False)
        self._out = bytearray()
        self._gone = False
        #: Keys handed over (or waiting in _out), in order, whose answers have not come back.
        self._in_flight: deque[_Key] = deque()
        self._answers: dict[_Key, bool] = {}
        self._kept: deque[_Key] = deque()
        #: Verifications answered by the worker, and those done here.
        self.ahead = 0
        self.here = 0

    def sign(self, message: bytes, secret_key: bytes) -> bytes:
        """``crypto_sign``, and the signed message handed on to be verified."""
        signed = self._sign(message, secret_key)
        if len(self._out) < BACKLOG_BYTES and not self._gone:
            self._out += _LENGTH.pack(len(signed))
            self._out += signed
            self._out += secret_key[-_PUBLIC_KEY_BYTES:]
            self._in_flight.append((signed, secret_key[-_PUBLIC_KEY_BYTES:]))
            self._write()
        return signed

    def sign_open(self, signed: bytes, public_key: bytes) -> bytes:
        """``crypto_sign_open``: the worker's answer if it has one, else verified here."""
        self._collect()
        valid = self._answers.get((signed, public_key))
        if valid is None:
            self.here += 1
            return self._sign_open(signed, public_key)
        self.ahead += 1
        if not valid:
            raise nacl.exceptions.BadSignatureError("Signature was forged or corrupt")
        return signed[_SIGNATURE_BYTES:]

    def _write(self) -> None:
        try:
            written = os.write(self._requests, self._out)
        except BlockingIOError:  # the pipe is full: the worker is busy
            return
        except BrokenPipeError:  # the worker is gone: everything is verified here from now on
            self._gone = True
            self._out.clear()
            return
        del self._out[:written]

    def _collect(self) -> None:
        if self._out:
            self._write()
        answers, kept, in_flight = self._answers, self._kept, self._in_flight
        while True:
            try:
                verdicts = os.read(self._answers_out, _CHUNK)
            except BlockingIOError:
                break
            if not verdicts:  # the worker is gone: everything is verified here from now on
                break
            for valid in verdicts:
                key = in_flight.popleft()
                answers[key] = valid == 1
                kept.append(key)
        while len(kept) > KEEP:
            answers.pop(kept.popleft(), None)

    def close(self) -> None:
        """Stop the worker (answers still on their way are not needed)."""
        os.close(self._requests)
        os.close(self._answers_out)
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
