"""Deletion that holds on disk: after a deletion receipt, the vendor's own keys recover nothing.

Real ``amity run`` daemons. A person grants three values, each ended another way (expiry,
revocation, the end of the relationship); once she holds the three deletion receipts, every file
in the vendor's home (``amity.db``, ``-wal``, ``-shm``, anything) is searched for the values as
bytes, and every sealed box found there is opened with every key the vendor's home still yields:
its vault key and each link key it can still derive. See spec/grants.md §8.4 and §8.7.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nacl.bindings
import nacl.exceptions

from amity.node.home import Home
from amity.node.net.linkkeys import LINK_CHAIN_META
from amity.protocol.keyring import LINK_EPOCH_MS, LinkChain, derive_link_private
from amity.protocol.linkcert import LinkKey
from amity.protocol.vault import VAULT_AD_DOMAIN, vault_key
from tests.node.conftest import Node, NodeFactory, meet, messages, send, wait_for
from tests.node.test_grants import agree, cli, deletion_receipt, grant, read

#: One value per way a grant ends; each distinctive enough that a stray match is impossible.
EXPIRED = "expiry-3f9a1c@example.org"
REVOKED = "+4915770042917"
ENDED = "Deletionweg 77"
ADDRESS = f"{ENDED}; Erasedorf; 10999; DE"  # stored as its parts: the street is searched for


@dataclass
class Found:
    """Where a value was still found: a file and how (raw bytes, or a box some key opened)."""

    file: str
    how: str


def _homefiles(home: Path) -> Iterator[Path]:
    for path in sorted(home.rglob("*")):
        if path.is_file():
            yield path


def _keys(home: Path) -> tuple[bytes, list[LinkKey]]:
    """Every key the vendor's home yields: the vault key and every link key still derivable."""
    seed = Home(home).load_seed()
    now_epoch = time.time_ns() // 1_000_000 // LINK_EPOCH_MS
    # The seed schedule (spec/identity.md §6.3) can make every epoch's key, used or not ...
    links = [LinkKey(derive_link_private(seed, e)) for e in range(now_epoch + 3)]
    # ... and the stored chain every key from its epoch on (§6.2). Read-only, and after the
    # files were read: a writer's connection could checkpoint the node's WAL for it.
    uri = f"file:{home / 'amity.db'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (LINK_CHAIN_META,)).fetchone()
    if row is not None:
        chain = LinkChain.decode(bytes(row[0]))
        links += [chain.link_key(e) for e in range(chain.epoch, now_epoch + 3)]
    return vault_key(seed), links


def _bin_at(data: bytes, at: int) -> bytes | None:
    """The msgpack bin starting at ``at`` (bin8/16/32), or None."""
    if at >= len(data):
        return None
    head = data[at]
    width = {0xC4: 1, 0xC5: 2, 0xC6: 4}.get(head)
    if width is None:
        return None
    size = int.from_bytes(data[at + 1 : at + 1 + width], "big")
    body = data[at + 1 + width : at + 1 + width + size]
    return body if len(body) == size else None


def _opened_by_link_keys(data: bytes, keys: list[LinkKey]) -> Iterator[bytes]:
    """Plaintexts of every crypto_box_seal box after any of ``keys``' public halves.

    Both a ``grant.deliver`` body and sealed mail put the recipient's link public key right
    before the bin that holds ``ephemeral_public || box`` (spec/grants.md §5.1, sealed.md §2).
    """
    for key in keys:
        start = 0
        while (at := data.find(key.public, start)) >= 0:
            start = at + 1
            sealed = _bin_at(data, at + 32)
            if sealed is None or len(sealed) < 48:
                continue
            epk, box = sealed[:32], sealed[32:]
            nonce = hashlib.blake2b(epk + key.public, digest_size=24).digest()
            try:
                yield nacl.bindings.crypto_box_open(box, nonce, epk, key.private)
            except (nacl.exceptions.CryptoError, ValueError):
                continue


def _opened_by_vault_key(data: bytes, key: bytes, names: list[str]) -> Iterator[bytes]:
    """Plaintexts of every sealed field ``[1, nonce, box]`` (spec/grants.md §3) the key opens."""
    start = 0
    while (at := data.find(b"\x93\x01\xc4\x18", start)) >= 0:
        start = at + 1
        nonce = data[at + 4 : at + 28]
        box = _bin_at(data, at + 28)
        if box is None or len(nonce) != 24:
            continue
        for name in names:
            try:
                yield nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                    box, VAULT_AD_DOMAIN + name.encode(), nonce, key
                )
            except (nacl.exceptions.CryptoError, ValueError):
                continue


def scan(home: Path, values: list[str], names: list[str]) -> dict[str, list[Found]]:
    """Every place in ``home`` where a value is readable as bytes or with the home's keys."""
    files = {str(p.relative_to(home)): p.read_bytes() for p in _homefiles(home)}
    vault, links = _keys(home)
    found: dict[str, list[Found]] = {value: [] for value in values}
    for name, data in files.items():
        opened = [
            *(("link-key box", p) for p in _opened_by_link_keys(data, links)),
            *(("vault-key box", p) for p in _opened_by_vault_key(data, vault, names)),
        ]
        for value in values:
            raw = value.encode()
            if raw in data or raw.hex().encode() in data:
                found[value].append(Found(name, "raw bytes"))
            found[value] += [Found(name, how) for how, plain in opened if raw in plain]
    return found


def _pair(nodes: NodeFactory, tmp_path: Path, *run_args: str) -> tuple[Node, Node]:
    alice, shop = nodes.create_many([("alice", "person"), ("shop", "vendor")], start=False)
    for node in (alice, shop):
        node.run_args = list(run_args)
        node.start()
    meet(alice, shop)
    agree(alice, shop, tmp_path)
    return alice, shop


def test_no_copy_of_deleted_values_opens_with_the_vendors_keys(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    alice, shop = _pair(nodes, tmp_path)
    home = alice.home
    cli("vault", "set", "--home", home, "email", "email", EXPIRED)
    cli("vault", "set", "--home", home, "phone", "phone", REVOKED)
    cli("vault", "set", "--home", home, "postal-address", "postal-address", ADDRESS)
    values, names = [EXPIRED, REVOKED, ENDED], ["email", "phone", "postal-address"]

    revoked = grant(alice, shop, "phone", "1h")
    ended = grant(alice, shop, "postal-address", "1h")
    expiring = grant(alice, shop, "email", "3s")
    for field in names[1:]:
        wait_for(lambda f=field: read(shop, alice, f).status == 200, what=f"shop holds {field}")
    held = scan(shop.home, values, names)
    assert held[REVOKED] and held[ENDED], f"the scan must see what is held: {held}"

    deletion_receipt(alice, expiring, "expired")
    cli("revoke", "--home", alice.home, revoked)
    deletion_receipt(alice, revoked, "revoked")
    cli("end", "--home", alice.home, shop.did)
    deletion_receipt(alice, ended, "relationship-ended")

    assert scan(shop.home, values, names) == {value: [] for value in values}
    assert shop.stop() == 0
    assert scan(shop.home, values, names) == {value: [] for value in values}


def _retention(node: Node, **settings: int) -> None:
    """Restart ``node`` with these ``[inbox]`` settings; the sweep at start applies them."""
    node.stop()
    config = node.home / "config.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in settings.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    config.write_text(text, encoding="utf-8")
    node.start()


def test_the_inbox_forgets_notes_after_its_retention(nodes: NodeFactory, tmp_path: Path) -> None:
    alice, shop = _pair(nodes, tmp_path)
    texts = [f"note {i}: my shoe size is 4{i}" for i in range(6)]
    for text in texts:
        send(alice, shop.did, text)
    wait_for(lambda: alice.pending() == 0, what="every note stored by the shop")
    assert [m["text"] for m in messages(shop, alice.did)] == texts

    _retention(shop, keep_messages=3)

    wait_for(lambda: shop.log_lines("inbox.pruned"), what="the sweep at start")
    assert [m["text"] for m in messages(shop, alice.did)] == texts[3:]
    assert not _anywhere(shop.home, texts[:3])

    _retention(shop, keep_days=0)

    wait_for(lambda: len(shop.log_lines("inbox.pruned")) == 2, what="the sweep at start")
    assert messages(shop, alice.did) == []
    assert not _anywhere(shop.home, texts)
    shop.stop()
    assert not _anywhere(shop.home, texts)


def _anywhere(home: Path, texts: list[str]) -> list[tuple[str, str]]:
    """(file, text) for each text found as bytes in any file of ``home``."""
    return [
        (path.name, text)
        for path in _homefiles(home)
        for text in texts
        if text.encode() in path.read_bytes()
    ]
