"""Signatures verified ahead on a second core: the same answers as libsodium, the same run."""

from __future__ import annotations

import filecmp
import time
from pathlib import Path

import nacl.bindings
import nacl.exceptions
import pytest

from amity.protocol.errors import BadSignatureError
from amity.protocol.identity import SigningIdentity, verify_signature
from amity.simulations.cli import main
from amity.simulations.verifier import verifying_ahead

DOMAIN = b"amity-test/ahead/v1\x00"
#: How long a test waits for the worker's first answer: a loaded 2-core machine may take
#: seconds to schedule it (200 quick tries were not always enough under CI's load).
_PATIENCE_S = 30.0


def test_a_signature_made_here_is_answered_by_the_worker_and_agrees_with_libsodium() -> None:
    alice, bob = SigningIdentity(b"\x01" * 32), SigningIdentity(b"\x02" * 32)
    with verifying_ahead() as verifier:
        signature = alice.sign(DOMAIN, b"hello")
        deadline = time.monotonic() + _PATIENCE_S
        # The worker answers when the second core gets to it; until then, verified here.
        while not verifier.ahead and time.monotonic() < deadline:
            verify_signature(alice.peer_id, DOMAIN, b"hello", signature)
            time.sleep(0.005)
        assert verifier.ahead >= 1
        with pytest.raises(BadSignatureError):  # the same bytes under someone else's key
            verify_signature(bob.peer_id, DOMAIN, b"hello", signature)
        with pytest.raises(BadSignatureError):  # a tampered message: never signed here
            verify_signature(alice.peer_id, DOMAIN, b"hellp", signature)


def test_a_bad_signature_the_worker_answers_raises_as_libsodium_does() -> None:
    """A signature made with a secret key whose public half is wrong verifies under neither."""
    public, secret = nacl.bindings.crypto_sign_seed_keypair(b"\x03" * 32)
    wrong = secret[:32] + bytes(32)
    libsodium = (nacl.bindings.crypto_sign, nacl.bindings.crypto_sign_open)
    with verifying_ahead() as verifier:
        signed = nacl.bindings.crypto_sign(b"message", wrong)
        deadline = time.monotonic() + _PATIENCE_S
        while not verifier.ahead and time.monotonic() < deadline:
            with pytest.raises(nacl.exceptions.BadSignatureError):
                nacl.bindings.crypto_sign_open(signed, bytes(32))
            time.sleep(0.005)
        assert verifier.ahead >= 1
        with pytest.raises(nacl.exceptions.BadSignatureError):
            nacl.bindings.crypto_sign_open(signed, public)
    assert (nacl.bindings.crypto_sign, nacl.bindings.crypto_sign_open) == libsodium


def test_a_run_writes_the_same_files_with_the_worker_and_without(tmp_path: Path) -> None:
    folders = []
    for verifier in ("ahead", "here"):
        out = tmp_path / verifier
        argv = ["run", "lifecycle", "--seed", "7", "--quick", "--quiet", "--out", str(out)]
        assert main([*argv, "--verifier", verifier]) == 0
        (folder,) = out.iterdir()
        folders.append(folder)
    ahead, here = folders
    compared = filecmp.dircmp(ahead, here)
    assert compared.left_list and not compared.diff_files
    assert not compared.left_only and not compared.right_only
