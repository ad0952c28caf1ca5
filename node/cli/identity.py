"""``amity id …``: make a new identity and show it, with a signed peer card."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amity.node.cli.options import Duration
from amity.node.cli.render import CliError, add_json_option, emit
from amity.protocol.card import Card, NodeKind
from amity.protocol.errors import format_time_ms
from amity.protocol.identity import SEED_BYTES, SigningIdentity
from amity.protocol.linkcert import LinkCert, LinkKey

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "id",
        help="make a throwaway identity (a key and its signed card), apart from any node",
        description=(
            "A node IS its Ed25519 key: there are no accounts and no directory. `amity id new` "
            "makes a fresh key and its signed peer card without a node (to test, or to give out "
            "a card); a node's own key is made by `amity init` and shown by `amity status`."
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
