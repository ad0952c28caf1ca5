"""A node's backup file: its identity seed, config and database, sealed with a passphrase.

A node IS its key (spec/identity.md): losing the seed loses every relationship. ``amity id
backup`` writes this file; ``amity id restore`` reads it into a new home. The passphrase is
stretched with Argon2id (libsodium's ``crypto_pwhash``) and the contents sealed with
XSalsa20-Poly1305 (``crypto_secretbox``), both through PyNaCl. Sans-IO: the caller reads the
database, draws the salt and nonce, and writes the bytes. See spec/backup.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import nacl.exceptions
import nacl.pwhash
import nacl.secret

from amity.protocol.encoding import (
    Value,
    decode,
    encode,
    expect_array,
    expect_bool,
    expect_bytes,
    expect_int,
    expect_str,
    expect_version,
)
from amity.protocol.errors import (
    AmityError,
    BackupDamagedError,
    BackupPassphraseError,
    UsageError,
)
from amity.protocol.identity import SEED_BYTES

__all__ = [
    "MAGIC",
    "MAX_BACKUP_BYTES",
    "SALT_BYTES",
    "NONCE_BYTES",
    "OPSLIMIT",
    "MEMLIMIT",
    "BackupContents",
    "seal_backup",
    "open_backup",
]

#: The first bytes of every backup file: "amity backup", format 1.
MAGIC: Final = b"AMITYBK\x01"
#: The largest file read (the database dominates): 1 GiB.
MAX_BACKUP_BYTES: Final = 1 << 30
SALT_BYTES: Final = nacl.pwhash.argon2id.SALTBYTES  # 16
NONCE_BYTES: Final = nacl.secret.SecretBox.NONCE_SIZE  # 24
#: Argon2id costs written by this version (libsodium's MODERATE: about 0.7 s and 256 MiB).
OPSLIMIT: Final = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
MEMLIMIT: Final = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
#: What a reader accepts, so that a forged header cannot make it spend without bound.
_MAX_OPSLIMIT: Final = nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE
_MAX_MEMLIMIT: Final = nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE
_MAX_CONFIG_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class BackupContents:
    """What a backup holds: the identity seed (and whether its key file was sealed with a
    passphrase), config.toml as written, the SQLite database's bytes, and when it was made."""

    seed: bytes = field(repr=False)
    key_sealed: bool
    config: str
    database: bytes = field(repr=False)
    made_ms: int

    def __post_init__(self) -> None:
        if len(self.seed) != SEED_BYTES:
            raise UsageError(f"a seed is {SEED_BYTES} bytes, not {len(self.seed)}")


def _key(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    if not passphrase:
        raise UsageError("an empty passphrase seals nothing")
    key: bytes = nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, passphrase, salt, opslimit=opslimit, memlimit=memlimit
    )
    return key


def seal_backup(
    passphrase: bytes,
    contents: BackupContents,
    *,
    salt: bytes,
    nonce: bytes,
    opslimit: int = OPSLIMIT,
    memlimit: int = MEMLIMIT,
) -> bytes:
    """The backup file's bytes: ``MAGIC || enc([1, "argon2id", salt, opslimit, memlimit, nonce,
    box])``, where ``box`` seals ``enc([1, seed, key_sealed, config, database, made_ms])``."""
    if len(salt) != SALT_BYTES or len(nonce) != NONCE_BYTES:
        raise UsageError(f"a backup takes a {SALT_BYTES}-byte salt and a {NONCE_BYTES}-byte nonce")
    inner = encode(
        [1, contents.seed, contents.key_sealed, contents.config, contents.database,
         contents.made_ms]
    )  # fmt: skip
    box = nacl.secret.SecretBox(_key(passphrase, salt, opslimit, memlimit))
    sealed = box.encrypt(inner, nonce).ciphertext
    data = MAGIC + encode([1, "argon2id", salt, opslimit, memlimit, nonce, sealed])
    if len(data) > MAX_BACKUP_BYTES:
        raise UsageError(f"a backup is at most {MAX_BACKUP_BYTES} bytes; this one is {len(data)}")
    return data


def open_backup(data: bytes, passphrase: bytes) -> BackupContents:
    """Read and open a backup file; BackupDamagedError (or an encoding error) for anything
    malformed, BackupPassphraseError when the passphrase does not open it."""
    if not data.startswith(MAGIC):
        raise BackupDamagedError("not an amity backup file (it does not start with AMITYBK 1)")
    what = "backup header"
    fields = expect_array(decode(data[len(MAGIC) :], max_bytes=MAX_BACKUP_BYTES), what)
    expect_version(fields, 1, what)
    f: list[Value] = expect_array(fields, what, arity=7)
    if expect_str(f[1], f"{what} kdf", max_bytes=16) != "argon2id":
        raise BackupDamagedError("the backup names a key derivation other than argon2id")
    salt = expect_bytes(f[2], f"{what} salt", size=SALT_BYTES)
    opslimit = expect_int(f[3], f"{what} opslimit", lo=1, hi=_MAX_OPSLIMIT)
    memlimit = expect_int(f[4], f"{what} memlimit", lo=8192, hi=_MAX_MEMLIMIT)
    nonce = expect_bytes(f[5], f"{what} nonce", size=NONCE_BYTES)
    sealed = expect_bytes(f[6], f"{what} box")
    try:
        key = _key(passphrase, salt, opslimit, memlimit)
        inner = nacl.secret.SecretBox(key).decrypt(sealed, nonce)
    except nacl.exceptions.CryptoError:
        raise BackupPassphraseError(
            "the passphrase does not open this backup (or the file was altered)"
        ) from None
    try:
        return _contents(inner)
    except AmityError as exc:  # sealed by someone with the passphrase, but not by amity
        raise BackupDamagedError(f"the backup opens but its contents are damaged: {exc}") from None


def _contents(inner: bytes) -> BackupContents:
    what = "backup contents"
    fields = expect_array(decode(inner, max_bytes=MAX_BACKUP_BYTES), what)
    expect_version(fields, 1, what)
    f = expect_array(fields, what, arity=6)
    return BackupContents(
        seed=expect_bytes(f[1], f"{what} seed", size=SEED_BYTES),
        key_sealed=expect_bool(f[2], f"{what} key_sealed"),
        config=expect_str(f[3], f"{what} config", max_bytes=_MAX_CONFIG_BYTES),
        database=expect_bytes(f[4], f"{what} database"),
        made_ms=expect_int(f[5], f"{what} made_ms"),
    )
