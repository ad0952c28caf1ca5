"""``amity beacon raise|list|answer|close``: her call for help, and its threads."""

from __future__ import annotations

import argparse
import urllib.parse
from collections.abc import Mapping
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from, resolve_peer
from amity.node.cli.render import emit

__all__ = ["register"]

_EXITS = """\
exit status: 0 done; 1 the node could not do it (no relationship with a peer, an unknown or
closed beacon: the message says what to do); 2 bad command line. PEER is a name as `amity
peers` shows it, a fingerprint prefix or a did:key; an ID may be shortened to its first (at
least 4) hex digits."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "beacon",
        help="ask for help about a thing or a vendor; answers come back as threads",
        description=(
            'Raise a support beacon ("my bike\'s gears slip") to the peers you choose: the '
            "maker, the seller, friends who vouch for you. Each answers you in a thread of its "
            "own (a friend does not read the maker's answers); you answer each back, and close "
            "the beacon when done. A peer cannot flood you with beacons or lines. See "
            "spec/beacons.md."
        ),
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="beacon_command", metavar="COMMAND", required=True)
    raise_ = add_command(
        sub, "raise", "raise a beacon to one or more peers", _raise,
        "Raise a beacon with a TOPIC (and --text) to each --to PEER (repeatable).", _EXITS,
    )  # fmt: skip
    raise_.add_argument("topic", help="what it is about, in a line")
    raise_.add_argument("--to", action="append", required=True, metavar="PEER", help="repeatable")
    raise_.add_argument("--text", default="", help="the details (2000 bytes)")
    raise_.add_argument("--about", metavar="PEER", help="the vendor or maker it is about")
    add_command(
        sub, "list", "your beacons and those raised to you, with their threads", _list,
        "List beacons: yours and those raised to you, each with its thread.", _EXITS,
    )  # fmt: skip
    answer = add_command(
        sub, "answer", "write a line in a beacon's thread", _answer,
        "Answer beacon ID: a peer answers the person who raised it; she answers one of the "
        "peers it went to (--to PEER).", _EXITS,
    )  # fmt: skip
    answer.add_argument("id", help="the beacon")
    answer.add_argument("text", help="the line")
    answer.add_argument("--to", metavar="PEER", help="(hers) the peer to answer")
    close = add_command(
        sub, "close", "close your beacon; every peer it went to is told", _close,
        "Close beacon ID.", _EXITS,
    )  # fmt: skip
    close.add_argument("id", help="the beacon")


def _path(beacon_id: str, action: str) -> str:
    return f"/api/beacons/{urllib.parse.quote(beacon_id, safe='')}/{action}"


def _raise(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    body: dict[str, Any] = {
        "to": [resolve_peer(client, p) for p in args.to],
        "topic": args.topic,
        "text": args.text,
        "about": None if args.about is None else resolve_peer(client, args.about),
    }
    data = client.call("POST", "/api/beacons", body)
    emit(data, lambda d: f"beacon {d['id'][:8]} raised to {len(d['to'])} peer(s)",
         as_json=args.json)  # fmt: skip
    return 0


def _list(args: argparse.Namespace) -> int:
    emit(ApiClient(home_from(args)).call("GET", "/api/beacons"), _list_text, as_json=args.json)
    return 0


def _list_text(d: Mapping[str, Any]) -> str:
    if not d["beacons"]:
        return "no beacons: `amity beacon raise TOPIC --to PEER` asks for help"
    lines = []
    for b in d["beacons"]:
        who = "yours" if b["mine"] else f"from {b['raiser']}"
        lines.append(f"{b['id'][:8]}  {b['state']:<6} {who}: {b['topic']}")
        lines += [f"    {x['from'][:24]}…: {x['text']}" for x in b["thread"]]
    return "\n".join(lines)


def _answer(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    body: dict[str, Any] = {"text": args.text}
    if args.to is not None:
        body["to"] = resolve_peer(client, args.to)
    data = client.call("POST", _path(args.id, "answer"), body)
    emit(data, lambda d: f"answered in beacon {d['id'][:8]}", as_json=args.json)
    return 0


def _close(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("POST", _path(args.id, "close"))
    emit(data, lambda d: f"beacon {d['id'][:8]} closed", as_json=args.json)
    return 0
