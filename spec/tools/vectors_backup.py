"""Test vectors for spec/backup.md: a backup file with fixed inputs and cheap costs, opened to
its contents, and a negative vector for each refusal of §2.1-§2.4.

Run through ``python spec/tools/make_vectors.py``; every input is fixed, so the output is stable.
"""

from __future__ import annotations

from typing import Any

import nacl.pwhash
import nacl.secret

from amity.protocol.backup import MAGIC, BackupContents, open_backup, seal_backup
from amity.protocol.encoding import Value, encode
from amity.protocol.errors import AmityError

PASSPHRASE = "correct horse battery staple"
SALT = bytes(range(16))
NONCE = bytes(range(100, 124))
OPS, MEM = 1, 8192  # libsodium's minimum costs: vectors stay cheap to check
CONTENTS = BackupContents(
    seed=bytes.fromhex("a11ce0" + "00" * 27 + "a11c"),
    key_sealed=False,
    config='[node]\nname = "Alice"\nkind = "person"\nlisten = "127.0.0.1:7654"\n',
    database=b"SQLite format 3\x00" + bytes(84),  # a header only: the format does not look inside
    made_ms=1_767_225_600_000,
)
NOTES = (
    "operation 'open': open_backup(file_hex, passphrase) gives seed_hex, key_sealed, config, "
    "database_hex and made_ms. The positive vector is also what seal_backup makes from those "
    "contents with salt_hex, nonce_hex, opslimit and memlimit. Negative vectors: opening "
    "raises the AmityError `error`."
)


def _file(*, magic: bytes = MAGIC, kdf: str = "argon2id", ops: int = OPS, mem: int = MEM,
          inner: bytes | None = None, passphrase: str = PASSPHRASE) -> bytes:  # fmt: skip
    if inner is None:
        return seal_backup(passphrase.encode(), CONTENTS, salt=SALT, nonce=NONCE, opslimit=ops,
                           memlimit=mem)  # fmt: skip
    key = nacl.pwhash.argon2id.kdf(32, passphrase.encode(), SALT, opslimit=ops, memlimit=mem)
    box = nacl.secret.SecretBox(key).encrypt(inner, NONCE).ciphertext
    header: list[Value] = [1, kdf, SALT, ops, mem, NONCE, box]
    return magic + encode(header)


def _refused(name: str, description: str, data: bytes, error: str) -> dict[str, Any]:
    try:
        open_backup(data, PASSPHRASE.encode())
    except AmityError as exc:
        assert exc.code == error, f"{name}: raised {exc.code}, expected {error}: {exc}"
    else:
        raise AssertionError(f"{name}: accepted")
    return {"name": name, "description": description, "operation": "open",
            "passphrase": PASSPHRASE, "file_hex": data.hex(), "error": error}  # fmt: skip


def build() -> dict[str, Any]:
    good = _file()
    opened = open_backup(good, PASSPHRASE.encode())
    assert opened == CONTENTS
    flipped = bytearray(good)
    flipped[-1] ^= 1
    inner = encode([1, CONTENTS.seed, False, CONTENTS.config, CONTENTS.database,
                    CONTENTS.made_ms])  # fmt: skip
    vectors = [
        {
            "name": "backup-open",
            "description": "A backup file sealed with cheap costs, opened to its contents.",
            "operation": "open",
            "passphrase": PASSPHRASE,
            "salt_hex": SALT.hex(),
            "nonce_hex": NONCE.hex(),
            "opslimit": OPS,
            "memlimit": MEM,
            "file_hex": good.hex(),
            "seed_hex": CONTENTS.seed.hex(),
            "key_sealed": CONTENTS.key_sealed,
            "config": CONTENTS.config,
            "database_hex": CONTENTS.database.hex(),
            "made_ms": CONTENTS.made_ms,
        },
        _refused("backup-not-ours", "Another file format: no magic bytes.", b"PK\x03\x04" + good,
                 "local.backup_damaged"),
        _refused("backup-other-kdf", "A header naming scrypt.", _file(kdf="scrypt", inner=inner),
                 "local.backup_damaged"),
        _refused("backup-costly-header", "A memlimit above libsodium's SENSITIVE 1 GiB.",
                 _file(inner=inner).replace(encode(MEM), encode(1 << 31), 1), "encoding.schema"),
        _refused("backup-wrong-passphrase", "Sealed with another passphrase.",
                 _file(passphrase="wrong horse"), "local.backup_passphrase"),
        _refused("backup-altered", "One bit of the box flipped.", bytes(flipped),
                 "local.backup_passphrase"),
        _refused("backup-odd-contents", "The box opens, to an array of the wrong arity.",
                 _file(inner=encode([1, CONTENTS.seed])), "local.backup_damaged"),
        _refused("backup-truncated", "The file cut short.", good[:-40], "encoding.malformed"),
    ]  # fmt: skip
    return {"title": "Backup file", "spec": "spec/backup.md", "notes": NOTES, "vectors": vectors}
