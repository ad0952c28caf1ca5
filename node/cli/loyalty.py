"""``amity loyalty declare|list|revoke``: loyalty she declares, not loyalty a vendor tracks."""

from __future__ import annotations

import argparse
import datetime
import urllib.parse
from collections.abc import Mapping
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from, resolve_peer
from amity.node.cli.options import date_ms
from amity.node.cli.render import CliError, emit

__all__ = ["register"]

_EXITS = """\
exit status: 0 done; 1 the node could not do it (no relationship with that peer, an unknown
id: the message says what to do); 2 bad command line. PEER is a name as `amity peers` shows
it, a fingerprint prefix or a did:key; an ID may be shortened to its first (at least 4) hex
digits."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "loyalty",
        help="declare loyalty to a vendor on your terms, and take it back",
        description=(
            "Loyalty is something you declare, not something a vendor tracks. A declaration "
            "names the vendor, since when and until when, and (if you like) the categories it "
            "covers; your node signs it and sends it to that vendor, which can verify it and "
            "offer you benefits against it. It cannot forge one, and nothing in the protocol "
            "lets it ask for one: refusing to declare changes nothing in your agreements. "
            "Revoke it at any time. See spec/loyalty.md."
        ),
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="loyalty_command", metavar="COMMAND", required=True)
    declare = add_command(
        sub,
        "declare",
        "sign a declaration of loyalty and send it to the vendor",
        _declare,
        "Declare that you are a loyal customer of PEER from --since (default: today) until "
        "--until, for --category (repeatable; none: everything). Dates are YYYY-MM-DD (UTC).",
        _EXITS,
    )
    declare.add_argument("peer", help="the vendor")
    declare.add_argument("--since", type=date_ms, help="YYYY-MM-DD (default: today)")
    declare.add_argument("--until", type=date_ms, required=True, help="YYYY-MM-DD, after --since")
    declare.add_argument(
        "--category", action="append", default=[], help="e.g. goods.bicycles (repeatable)"
    )
    declare.add_argument("--note", default="", help="a line for the vendor (200 bytes)")
    add_command(
        sub,
        "list",
        "your declarations, and those your customers made to you",
        _list,
        "List declarations: yours (to vendors) and those received (from customers), with state.",
        _EXITS,
    )
    revoke = add_command(
        sub,
        "revoke",
        "take a declaration back; the vendor is told",
        _revoke,
        "Revoke declaration ID; the vendor's node marks it revoked.",
        _EXITS,
    )
    revoke.add_argument("id", help="the declaration")


def _declare(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    vendor = resolve_peer(client, args.peer, connected=True)
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    since = args.since if args.since is not None else date_ms(today)
    if args.until <= since:
        raise CliError("--until must be after --since")
    body = {
        "vendor": vendor,
        "since_ms": since,
        "until_ms": args.until,
        "categories": sorted(set(args.category)),
        "note": args.note,
    }
    data = client.call("POST", "/api/loyalty", body)
    emit(data, lambda d: f"declared {d['id'][:8]}: loyal to {d['vendor']} "
                         f"from {d['since'][:10]} until {d['until'][:10]}",
         as_json=args.json)  # fmt: skip
    return 0


def _list(args: argparse.Namespace) -> int:
    emit(ApiClient(home_from(args)).call("GET", "/api/loyalty"), _list_text, as_json=args.json)
    return 0


def _list_text(d: Mapping[str, Any]) -> str:
    if not d["declarations"]:
        return "no declarations: `amity loyalty declare PEER --until 2027-12-31` makes one"
    lines = []
    for x in d["declarations"]:
        who = f"to {x['vendor']}" if x["mine"] else f"from {x['person']}"
        cats = ", ".join(x["categories"]) or "everything"
        lines.append(
            f"{x['id'][:8]}  {x['state']:<8} {who}  {x['since'][:10]}..{x['until'][:10]}  {cats}"
        )
    return "\n".join(lines)


def _revoke(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    path = f"/api/loyalty/{urllib.parse.quote(args.id, safe='')}/revoke"
    data = client.call("POST", path)
    emit(data, lambda d: f"revoked {d['id'][:8]}; {d['vendor']} is told", as_json=args.json)
    return 0
