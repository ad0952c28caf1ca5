"""The backup file (spec/backup.md): its vectors both ways, and seal/open round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.protocol.backup import BackupContents, open_backup, seal_backup
from amity.protocol.errors import AmityError, LocalError, UsageError
from tests.vectors import unhex, vector_cases


@pytest.mark.parametrize("vector", **vector_cases("backup", error=False))
def test_positive_vector(vector: dict[str, Any]) -> None:
    contents = BackupContents(
        seed=unhex(vector, "seed_hex"),
        key_sealed=vector["key_sealed"],
        config=vector["config"],
        database=unhex(vector, "database_hex"),
        made_ms=vector["made_ms"],
    )
    passphrase = vector["passphrase"].encode()
    made = seal_backup(
        passphrase, contents, salt=unhex(vector, "salt_hex"), nonce=unhex(vector, "nonce_hex"),
        opslimit=vector["opslimit"], memlimit=vector["memlimit"],
    )  # fmt: skip
    assert made == unhex(vector, "file_hex")
    assert open_backup(made, passphrase) == contents


@pytest.mark.parametrize("vector", **vector_cases("backup", error=True))
def test_negative_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(AmityError) as caught:
        open_backup(unhex(vector, "file_hex"), vector["passphrase"].encode())
    assert caught.value.code == vector["error"]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.binary(min_size=32, max_size=32),
    sealed=st.booleans(),
    config=st.text(max_size=200),
    database=st.binary(max_size=2000),
    made=st.integers(min_value=0, max_value=2**63 - 1),
    passphrase=st.text(min_size=1, max_size=40),
)
def test_round_trip(
    seed: bytes, sealed: bool, config: str, database: bytes, made: int, passphrase: str
) -> None:
    contents = BackupContents(seed, sealed, config, database, made)
    data = seal_backup(passphrase.encode(), contents, salt=bytes(16), nonce=bytes(24),
                       opslimit=1, memlimit=8192)  # fmt: skip
    assert open_backup(data, passphrase.encode()) == contents
    with pytest.raises(LocalError):
        open_backup(data, passphrase.encode() + b"!")


def test_an_empty_passphrase_seals_nothing() -> None:
    contents = BackupContents(bytes(32), False, "", b"", 0)
    with pytest.raises(UsageError):
        seal_backup(b"", contents, salt=bytes(16), nonce=bytes(24), opslimit=1, memlimit=8192)
