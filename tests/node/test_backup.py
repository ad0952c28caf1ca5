"""``amity id backup`` / ``restore`` end to end (spec/backup.md): a running node is backed
up, its home is lost, a new home is made from the file, and the peer keeps talking to her: the
same did, the same relationship and agreement, and the note sent while she was gone arrives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.node.conftest import NodeFactory, meet, run_amity, texts, wait_for
from tests.node.test_grants import agree, cli

PASSPHRASE = "correct horse battery staple"


def test_backup_restore_keeps_her_relationships(
    nodes: NodeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMITY_BACKUP_PASSPHRASE", PASSPHRASE)
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")])
    meet(alice, shop)
    agreement_id = agree(alice, shop, tmp_path)
    backup = tmp_path / "alice.amity-backup"
    made = cli("id", "backup", "--home", alice.home, "--out", backup)  # while she runs
    assert made["bytes"] == backup.stat().st_size and backup.stat().st_mode & 0o777 == 0o600
    assert b"alice" not in backup.read_bytes(), "the config is sealed, not in the clear"
    again = run_amity("id", "backup", "--home", alice.home, "--out", backup)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr

    alice.stop()
    shutil.move(alice.home, tmp_path / "lost")  # the machine is gone
    cli("send", "--home", shop.home, alice.did, "sent while she was away")

    monkeypatch.setenv("AMITY_BACKUP_PASSPHRASE", "wrong horse")
    wrong = run_amity("id", "restore", backup, "--home", alice.home)
    assert wrong.returncode == 1 and "passphrase does not open" in wrong.stderr, wrong.stderr
    assert not alice.home.exists() or not (alice.home / "identity.key").exists()
    monkeypatch.setenv("AMITY_BACKUP_PASSPHRASE", PASSPHRASE)
    restored = cli("id", "restore", backup, "--home", alice.home)
    assert restored["did"] == alice.did
    twice = run_amity("id", "restore", backup, "--home", alice.home)
    assert twice.returncode == 1 and "already holds an amity identity" in twice.stderr
    assert "Traceback" not in twice.stderr, "said in words, not as a crash"

    alice.start()
    assert alice.api.get("/api/status")["did"] == alice.did
    wait_for(
        lambda: "sent while she was away" in texts(alice, shop.did),
        what="the note the shop sent while she was gone",
    )
    cli("send", "--home", alice.home, "shop", "back again")
    wait_for(lambda: "back again" in texts(shop, alice.did), what="her note after the restore")
    kept = cli("agreements", "--home", alice.home, agreement_id[:12])
    assert kept["state"] == "in force"


def test_a_damaged_backup_is_refused_and_nothing_is_written(
    nodes: NodeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMITY_BACKUP_PASSPHRASE", PASSPHRASE)
    alice = nodes.create("alice", start=False)
    backup = tmp_path / "b"
    cli("id", "backup", "--home", alice.home, "--out", backup)
    nothing = run_amity("id", "backup", "--home", tmp_path / "no-home", "--out", tmp_path / "n")
    assert nothing.returncode == 1 and "no amity identity" in nothing.stderr
    assert "Traceback" not in nothing.stderr
    data = bytearray(backup.read_bytes())
    data[-5] ^= 0x01  # inside the sealed box
    (tmp_path / "flipped").write_bytes(bytes(data))
    (tmp_path / "other").write_bytes(b"PK\x03\x04 not ours")
    target = tmp_path / "new-home"
    for name, code in (("flipped", "local.backup_passphrase"), ("other", "local.backup_damaged")):
        refused = run_amity("id", "restore", tmp_path / name, "--home", target, "--json")
        assert refused.returncode == 1, refused.stderr
        assert code in refused.stdout + refused.stderr
        assert not (target / "identity.key").exists()
