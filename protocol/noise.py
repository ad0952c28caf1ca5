"""Noise_XX_25519_ChaChaPoly_BLAKE2b (Noise rev. 34), sans-IO, for mutually authenticated sessions.

Only the one protocol amity speaks is built, so there is no negotiation to get wrong. Every key,
including the ephemeral one, comes in from the caller: a run can be replayed byte for byte by the
simulator and checked against the official test vectors. See spec/session.md.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from amity.protocol.errors import (
    NoiseDecryptError,
    NoiseMessageError,
    NoiseNonceExhaustedError,
    StateError,
    UsageError,
)

__all__ = ["PROTOCOL_NAME", "MAX_MESSAGE_BYTES", "CipherState", "HandshakeState"]

PROTOCOL_NAME = b"Noise_XX_25519_ChaChaPoly_BLAKE2b"
MAX_MESSAGE_BYTES = 65535

_DHLEN = 32
_HASHLEN = 64
_KEYLEN = 32
_TAGLEN = 16
# Noise reserves the last nonce (it is what REKEY uses), so a key is spent one step early.
_MAX_NONCE = 2**64 - 1

# Who writes is implied by the index: the initiator writes the even-numbered messages.
_XX: tuple[tuple[str, ...], ...] = (("e",), ("e", "ee", "s", "es"), ("s", "se"))

# Bytes each XX message adds to its payload (keys, tags), so a write is refused before any change:
# e | e, encrypted s, payload tag | encrypted s, payload tag.
_XX_OVERHEAD_BYTES = (
    _DHLEN,
    _DHLEN + (_DHLEN + _TAGLEN) + _TAGLEN,
    (_DHLEN + _TAGLEN) + _TAGLEN,
)


def _hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_HASHLEN).digest()


def _hkdf2(chaining_key: bytes, ikm: bytes) -> tuple[bytes, bytes]:
    """HKDF with two outputs, exactly as Noise §4.3 builds it from HMAC-BLAKE2b."""
    temp_key = hmac.digest(chaining_key, ikm, hashlib.blake2b)
    output1 = hmac.digest(temp_key, b"\x01", hashlib.blake2b)
    output2 = hmac.digest(temp_key, output1 + b"\x02", hashlib.blake2b)
    return output1, output2


def _private_key(private: bytes, what: str) -> X25519PrivateKey:
    if not isinstance(private, bytes) or len(private) != _DHLEN:
        raise UsageError(f"{what} must be 32 bytes of X25519 private key")
    return X25519PrivateKey.from_private_bytes(private)


def _public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def _dh(private: X25519PrivateKey, public: bytes) -> bytes:
    """X25519, refusing a low-order peer key: an all-zero secret would make the session keyless."""
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:  # cryptography's own refusal of an all-zero result
        shared = bytes(_DHLEN)
    if shared == bytes(_DHLEN):
        raise NoiseMessageError(
            "peer's X25519 key is a low-order point (all-zero shared secret); abort the handshake"
        )
    return shared


class CipherState:
    """One direction of a Noise channel: a ChaChaPoly key and its nonce counter. See Noise §5.1."""

    __slots__ = ("_aead", "_n")

    def __init__(self, key: bytes | None = None) -> None:
        if key is not None and (not isinstance(key, bytes) or len(key) != _KEYLEN):
            raise UsageError("a CipherState key must be 32 bytes")
        self._aead = None if key is None else ChaCha20Poly1305(key)
        self._n = 0

    @property
    def n(self) -> int:
        """The nonce the next encryption or decryption will use."""
        return self._n

    def has_key(self) -> bool:
        return self._aead is not None

    def _nonce(self) -> bytes:
        if self._n >= _MAX_NONCE:
            raise NoiseNonceExhaustedError(
                "this key has used all 2**64-1 nonces; close the session and handshake again"
            )
        return b"\x00\x00\x00\x00" + self._n.to_bytes(8, "little")

    def encrypt_with_ad(self, ad: bytes, plaintext: bytes) -> bytes:
        if self._aead is None:
            return plaintext
        if len(plaintext) + _TAGLEN > MAX_MESSAGE_BYTES:
            raise UsageError(
                f"plaintext of {len(plaintext)} bytes would exceed {MAX_MESSAGE_BYTES} bytes "
                "once sealed; split it into smaller messages"
            )
        ciphertext = self._aead.encrypt(self._nonce(), plaintext, ad)
        self._n += 1
        return ciphertext

    def decrypt_with_ad(self, ad: bytes, ciphertext: bytes) -> bytes:
        if len(ciphertext) > MAX_MESSAGE_BYTES:
            raise NoiseMessageError(
                f"Noise message of {len(ciphertext)} bytes exceeds {MAX_MESSAGE_BYTES} bytes"
            )
        if self._aead is None:
            return ciphertext
        nonce = self._nonce()
        if len(ciphertext) < _TAGLEN:
            raise NoiseDecryptError(f"ciphertext of {len(ciphertext)} bytes is shorter than a tag")
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, ad)
        except InvalidTag:
            # The nonce stays put (Noise §5.1), so a caller may drop a forged message and go on.
            raise NoiseDecryptError(
                f"message {self._n} failed authentication: forged, corrupted or out of order"
            ) from None
        self._n += 1
        return plaintext


class _SymmetricState:
    """Chaining key, handshake hash and the current cipher. See Noise §5.2."""

    __slots__ = ("cipher", "ck", "h")

    def __init__(self) -> None:
        # The name is shorter than HASHLEN, so it is padded rather than hashed (Noise §5.2).
        self.h = PROTOCOL_NAME.ljust(_HASHLEN, b"\x00")
        self.ck = self.h
        self.cipher = CipherState()

    def mix_key(self, ikm: bytes) -> None:
        self.ck, temp_k = _hkdf2(self.ck, ikm)
        self.cipher = CipherState(temp_k[:_KEYLEN])

    def mix_hash(self, data: bytes) -> None:
        self.h = _hash(self.h + data)

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        ciphertext = self.cipher.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        plaintext = self.cipher.decrypt_with_ad(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return plaintext

    def split(self) -> tuple[CipherState, CipherState]:
        temp_k1, temp_k2 = _hkdf2(self.ck, b"")
        return CipherState(temp_k1[:_KEYLEN]), CipherState(temp_k2[:_KEYLEN])


class HandshakeState:
    """One side of an XX handshake: mutual authentication with both static keys sent encrypted.

    Messages alternate, the initiator writing first. The first message's payload travels in clear
    (no key exists yet); the later two are encrypted. A failed read ends the handshake for good.
    See spec/session.md and Noise §5.3.
    """

    __slots__ = (
        "_e",
        "_failed",
        "_index",
        "_initiator",
        "_re",
        "_rs",
        "_s",
        "_split",
        "_symmetric",
    )

    def __init__(
        self, *, initiator: bool, prologue: bytes, static_private: bytes, ephemeral_private: bytes
    ) -> None:
        self._initiator = initiator
        self._s = _private_key(static_private, "static_private")
        self._e = _private_key(ephemeral_private, "ephemeral_private")
        self._re: bytes | None = None
        self._rs: bytes | None = None
        self._index = 0
        self._failed = False
        self._split = False
        self._symmetric = _SymmetricState()
        self._symmetric.mix_hash(prologue)

    @property
    def handshake_complete(self) -> bool:
        return self._index == len(_XX)

    @property
    def remote_static(self) -> bytes | None:
        """The peer's X25519 public key, once its message carrying it has been authenticated."""
        return self._rs

    @property
    def handshake_hash(self) -> bytes:
        """h: unique to this handshake, for channel binding once the handshake is complete."""
        return self._symmetric.h

    def _check_turn(self, writing: bool) -> None:
        if self._failed:
            raise StateError("this handshake failed earlier; start a new HandshakeState")
        if self.handshake_complete:
            raise StateError("the handshake is complete; use the CipherStates from split()")
        initiator_turn = self._index % 2 == 0
        if writing != (initiator_turn == self._initiator):
            verb = "write" if writing else "read"
            raise StateError(f"cannot {verb} handshake message {self._index + 1}: not our turn")

    def write_message(self, payload: bytes) -> bytes:
        """Build the next handshake message carrying ``payload``."""
        self._check_turn(writing=True)
        overhead = _XX_OVERHEAD_BYTES[self._index]
        if len(payload) + overhead > MAX_MESSAGE_BYTES:
            raise UsageError(
                f"payload of {len(payload)} bytes makes handshake message {self._index + 1} "
                f"longer than {MAX_MESSAGE_BYTES} bytes; send at most "
                f"{MAX_MESSAGE_BYTES - overhead} bytes"
            )
        sym = self._symmetric
        out: list[bytes] = []
        for token in _XX[self._index]:
            if token == "e":
                e_public = _public_bytes(self._e)
                out.append(e_public)
                sym.mix_hash(e_public)
            elif token == "s":
                out.append(sym.encrypt_and_hash(_public_bytes(self._s)))
            else:
                sym.mix_key(self._dh_for(token))
        out.append(sym.encrypt_and_hash(payload))
        self._index += 1
        return b"".join(out)

    def read_message(self, message: bytes) -> bytes:
        """Consume the peer's next handshake message and return its payload."""
        self._check_turn(writing=False)
        try:
            payload = self._read(message)
        except (NoiseMessageError, NoiseDecryptError):
            self._failed = True
            # A static key whose message did not authenticate in full proves nothing.
            self._rs = None
            raise
        self._index += 1
        return payload

    def _read(self, message: bytes) -> bytes:
        number = self._index + 1
        if len(message) > MAX_MESSAGE_BYTES:
            raise NoiseMessageError(
                f"handshake message {number} is {len(message)} bytes, over {MAX_MESSAGE_BYTES}"
            )
        if len(message) < _XX_OVERHEAD_BYTES[self._index]:
            raise NoiseMessageError(
                f"handshake message {number} is {len(message)} bytes, too short for XX "
                f"(at least {_XX_OVERHEAD_BYTES[self._index]}); it was truncated or is not Noise"
            )
        sym = self._symmetric
        offset = 0
        for token in _XX[self._index]:
            if token == "e":
                self._re = message[offset : offset + _DHLEN]
                offset += _DHLEN
                # Refuse a low-order key now, while reading, rather than on our next write.
                _dh(self._e, self._re)
                sym.mix_hash(self._re)
            elif token == "s":
                size = _DHLEN + (_TAGLEN if sym.cipher.has_key() else 0)
                self._rs = sym.decrypt_and_hash(message[offset : offset + size])
                offset += size
            else:
                sym.mix_key(self._dh_for(token))
        return sym.decrypt_and_hash(message[offset:])

    def _dh_for(self, token: str) -> bytes:
        """The DH a token names, seen from this side ("es": initiator's e with responder's s)."""
        ours, theirs = token[0], token[1]
        if not self._initiator:
            ours, theirs = theirs, ours
        local = self._e if ours == "e" else self._s
        remote = self._re if theirs == "e" else self._rs
        if remote is None:  # unreachable for XX: every DH token follows the key it needs
            raise StateError(f"token {token!r} needs a remote key not yet received")
        return _dh(local, remote)

    def split(self) -> tuple[CipherState, CipherState]:
        """(send, receive) for this side; callable once, so two ciphers never share a key."""
        if not self.handshake_complete:
            raise StateError("split() needs a complete handshake; keep reading and writing")
        if self._split:
            raise StateError("split() was already called; reusing its keys would reuse nonces")
        self._split = True
        initiator_to_responder, responder_to_initiator = self._symmetric.split()
        if self._initiator:
            return initiator_to_responder, responder_to_initiator
        return responder_to_initiator, initiator_to_responder
