"""``amity id …``: make a throwaway identity with its card; back up and restore a node's own."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amity.node.cli.client import add_home_option, home_from
from amity.node.cli.options import Duration
from amity.node.cli.render import CliError, add_json_option, emit
from amity.protocol.card import Card, NodeKind
from amity.protocol.errors import format_time_ms
from amity.protocol.identity import SEED_BYTES, SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey

__all__ = ["register", "BACKUP_PASSPHRASE_ENV"]

#: Where scripts give the backup passphrase (else it is asked on the terminal).
BACKUP_PASSPHRASE_ENV = "AMITY_BACKUP_PASSPHRASE"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "id",
        help="back up or restore a node's identity; make a throwaway one",
        description=(
            "A node IS its Ed25519 key: there are no accounts and no directory, and a lost key "
            "is every relationship lost. `amity id backup` seals the node's key, config and "
            "database in one file with a passphrase; `amity id restore` makes a home from it. "
            "`amity id new` makes a fresh key and its signed peer card without a node (to test, "
            "or to give out a card); a node's own key is made by `amity init`."
        ),
    )
    sub = group.add_subparsers(dest="id_command", metavar="COMMAND", required=True)
    new = sub.add_parser(
        "new",
        help="make a fresh identity and print its did:key, fingerprint and signed peer card",
        description=(
            "Make a fresh Ed25519 identity with an X25519 link key certified by it, and print "
            "its did:key, its fingerprint (read it aloud to a peer to check a connection) and a "
            "signed peer card as an amity: URI.\n\n"
            "The identity is not kept unless you pass --secret-out FILE, which writes the 32-byte "
            "seed as hex to a new file readable only by you."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument("--name", default="", help="name shown on the card (default: none)")
    new.add_argument(
        "--kind",
        choices=[k.value for k in NodeKind],
        default=NodeKind.PERSON.value,
        help="what the node is for (default: person)",
    )
    new.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="URL",
        help="where peers can reach the node, e.g. ws://192.0.2.7:7700/amity/v1 (repeatable)",
    )
    new.add_argument(
        "--expires",
        type=Duration("a card", 3600, 3650 * 86_400),
        default=30 * 86_400,
        metavar="DURATION",
        help="how long the card and its link key stay valid: 1h to 3650d (default 30d)",
    )
    new.add_argument(
        "--secret-out",
        type=Path,
        metavar="FILE",
        help="write the secret seed (hex) to FILE, created with mode 0600; never overwrites",
    )
    add_json_option(new)
    new.set_defaults(handler=_new)

    backup = sub.add_parser(
        "backup",
        help="seal this node's key, config and database in one file, with a passphrase",
        description=(
            "Write FILE: the node's identity seed, config.toml and a consistent copy of its "
            "database (taken with SQLite's online backup: the node may be running), sealed with "
            "a passphrase (Argon2id, then XSalsa20-Poly1305; spec/backup.md). Keep it "
            "somewhere else than the machine. The passphrase is asked twice, or read from "
            f"${BACKUP_PASSPHRASE_ENV}; a key sealed by `amity init --passphrase` needs its own "
            "passphrase too (asked, or $AMITY_PASSPHRASE)."
        ),
        epilog="exit status: 0 written; 1 no identity, wrong key passphrase, or FILE exists",
    )
    backup.add_argument("--out", type=Path, required=True, metavar="FILE", help="never overwritten")
    add_home_option(backup)
    backup.set_defaults(handler=_backup)

    restore = sub.add_parser(
        "restore",
        help="make a node's home from a backup file (the same identity and relationships)",
        description=(
            "Read FILE (from `amity id backup`) and make --home from it: the same identity, "
            "relationships, agreements, grants and audit trail, and a fresh API token. Refuses "
            "a home that already holds an identity. Start the node with `amity run`: peers "
            "resend what it missed. The passphrase is asked once, or read from "
            f"${BACKUP_PASSPHRASE_ENV}."
        ),
        epilog=(
            "exit status: 0 restored; 1 the home holds an identity, FILE cannot be read or "
            "is damaged, or the passphrase does not open it (nothing is written then)"
        ),
    )
    restore.add_argument("file", type=Path, metavar="FILE")
    add_home_option(restore)
    restore.set_defaults(handler=_restore)


def _new(args: argparse.Namespace) -> int:
    now_ms = time.time_ns() // 1_000_000
    identity = SigningIdentity(os.urandom(SEED_BYTES))
    link_key = LinkKey(os.urandom(32))
    not_after_ms = now_ms + args.expires * 1000
    cert = LinkCert.issue(identity, link_key.public, now_ms, not_after_ms)
    card = Card.issue(
        identity,
        link_cert=cert,
        kind=NodeKind(args.kind),
        name=args.name,
        endpoints=args.endpoint,
        issued_ms=now_ms,
        not_after_ms=not_after_ms,
    )
    if args.secret_out is not None:
        _write_secret(args.secret_out, identity.seed)
    data = {
        "did": identity.peer_id.did,
        "peer_id_hex": identity.peer_id.key.hex(),
        "fingerprint": identity.peer_id.fingerprint,
        "kind": args.kind,
        "name": args.name,
        "card_uri": card.to_uri(),
        "card_hex": card.encoded.hex(),
        "link_public_hex": link_key.public.hex(),
        "not_after": format_time_ms(not_after_ms),
        "secret_out": str(args.secret_out) if args.secret_out else None,
    }
    emit(data, _human, as_json=args.json)
    return 0


def _passphrase(*, confirm: bool) -> str:
    given = os.environ.get(BACKUP_PASSPHRASE_ENV)
    if given:
        return given
    if not sys.stdin.isatty():
        raise CliError(f"no terminal to ask the backup passphrase: set ${BACKUP_PASSPHRASE_ENV}")
    first = getpass.getpass("backup passphrase: ")
    if not first:
        raise CliError("an empty passphrase seals nothing")
    if confirm and getpass.getpass("again: ") != first:
        raise CliError("the two passphrases differ; nothing was written")
    return first


def _backup(args: argparse.Namespace) -> int:
    from amity.node.home import HomeError

    try:
        return _make_backup(args)
    except HomeError as exc:  # no identity, an unreadable home: said in words, exit 1
        raise CliError(str(exc)) from None


def _make_backup(args: argparse.Namespace) -> int:
    from amity.node.backup import make_backup

    home = home_from(args)
    key_passphrase = None
    if home.exists() and home.key_is_sealed():
        key_passphrase = os.environ.get("AMITY_PASSPHRASE") or getpass.getpass("key passphrase: ")
    data = make_backup(
        home, _passphrase(confirm=True), time.time_ns() // 1_000_000, key_passphrase=key_passphrase
    )
    try:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{args.out} exists; refusing to overwrite it (choose a new file)") from None
    except OSError as exc:
        raise CliError(f"cannot create {args.out}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    result = {"file": str(args.out), "bytes": len(data), "home": str(home.path)}
    emit(result, lambda d: f"backed up {d['home']} to {d['file']} ({d['bytes']} bytes)",
         as_json=args.json)  # fmt: skip
    return 0


def _restore(args: argparse.Namespace) -> int:
    from amity.node.home import HomeError

    try:
        return _restore_home(args)
    except HomeError as exc:  # the home holds an identity, the file cannot be read: exit 1
        raise CliError(str(exc)) from None


def _restore_home(args: argparse.Namespace) -> int:
    from amity.node.backup import read_backup, restore_backup

    home = home_from(args)
    passphrase = _passphrase(confirm=False)
    contents = read_backup(args.file, passphrase)  # a wrong passphrase or damage: exit 1
    restore_backup(home, contents, passphrase)
    did = SigningIdentity(contents.seed).peer_id
    result = {
        "home": str(home.path),
        "did": did.did,
        "fingerprint": did.fingerprint,
        "made": format_time_ms(contents.made_ms),
        "database_bytes": len(contents.database),
    }
    emit(result, lambda d: (f"restored {d['did']} ({d['fingerprint']}) into {d['home']}, "
                            f"as backed up at {d['made']}; start it with `amity run`"),
         as_json=args.json)  # fmt: skip
    return 0


def _human(data: Mapping[str, Any]) -> str:
    lines = [
        f"did:         {data['did']}",
        f"fingerprint: {data['fingerprint']}",
        f"kind:        {data['kind']}" + (f"  name: {data['name']}" if data["name"] else ""),
        f"valid until: {data['not_after']}",
        "peer card:",
        f"  {data['card_uri']}",
    ]
    if data["secret_out"]:
        lines.append(f"secret seed written to {data['secret_out']} (mode 0600)")
    else:
        lines.append("(not saved: pass --secret-out FILE to keep this identity)")
    return "\n".join(lines)


def _write_secret(path: Path, seed: bytes) -> None:
    # O_EXCL: never clobber an existing key; 0600 from the start, not chmod after the fact.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{path} exists; refusing to overwrite a key (choose a new file)") from None
    except OSError as exc:
        raise CliError(f"cannot create {path}: {exc.strerror}; choose another file") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(seed.hex() + "\n")
