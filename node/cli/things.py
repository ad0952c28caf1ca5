"""``amity thing add|list|show|transfer|accept|read``: the things she owns, each with a key and
card of its own, and selling one to a peer."""

from __future__ import annotations

import argparse
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from, resolve_peer
from amity.node.cli.options import date_ms
from amity.node.cli.render import CliError, emit

__all__ = ["register"]

_EXITS = """\
exit status: 0 done; 1 the node could not do it (an unknown id: the message says what to do);
2 bad command line; 3 a thing's link that is damaged or whose card is not the thing's own.
An ID may be shortened to its first (at least 4) hex digits."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "thing",
        help="the things you own: each gets a key and a card of its own (a QR on the thing)",
        description=(
            "A thing you own (a bike, a boiler, a phone) gets a key of its own, kept by your "
            "node, and a card that key signs: maker, model, serial, the purchase it came with, "
            "its warranty, where its manuals and service contacts are. The card names no owner. "
            "Its link (amity:thing:…) can go on the thing as a QR code: whoever scans it can "
            "check what the thing is (`amity thing read`), not who owns it. See spec/things.md."
        ),
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="thing_command", metavar="COMMAND", required=True)
    add = add_command(
        sub,
        "add",
        "make a key and a card for a thing you own",
        _add,
        "Record a thing: --maker and --model at least. --agreement names the agreement you "
        "bought it under (an id prefix, `amity agreements`); --manual and --contact repeat "
        "(4 each, one line of 200 bytes: a URL, a phone number, an address).",
        _EXITS,
    )
    add.add_argument("--maker", required=True, help='e.g. "Riese & Müller"')
    add.add_argument("--model", required=True, help='e.g. "Load 75"')
    add.add_argument("--serial", default="", help="the serial or frame number")
    add.add_argument("--agreement", help="the agreement you bought it under (id prefix)")
    add.add_argument("--warranty-until", type=date_ms, help="YYYY-MM-DD (UTC)")
    add.add_argument("--manual", action="append", default=[], help="where a manual is")
    add.add_argument("--contact", action="append", default=[], help="a service contact")
    add_command(sub, "list", "the things you own", _list, "List your things.", _EXITS)
    show = add_command(
        sub,
        "show",
        "one thing's card and link; --qr writes its QR code for a label",
        _show,
        "Show thing ID: its card and its amity:thing: link. --qr FILE writes the link as a QR "
        "code (FILE.svg or FILE.png, medium error correction: a label gets scratched).",
        _EXITS,
    )
    show.add_argument("id", help="the thing")
    show.add_argument("--qr", type=Path, metavar="FILE", help="write its QR code (.svg, .png)")
    transfer = add_command(
        sub,
        "transfer",
        "sell or give a thing to a peer: it is theirs once they accept",
        _transfer,
        "Offer thing ID to PEER: your node signs a transfer and sends it, with the thing's key, "
        "card and past sales (never your data or grants), sealed to PEER's node. It stays "
        "yours until PEER accepts with `amity thing accept`; then your node keeps the sale, "
        "signed by both of you, and forgets the thing's key. Offering it again replaces the "
        "offer. The maker learns of the new owner only if the new owner tells it.",
        _EXITS,
    )
    transfer.add_argument("id", help="the thing")
    transfer.add_argument("peer", help="the new owner: a name, fingerprint prefix or did:key")
    take = add_command(
        sub,
        "accept",
        "take a thing a peer offered you: you sign the transfer and it is yours",
        _accept,
        "Accept thing ID (`amity thing list` shows it as offered to you): your node signs the "
        "transfer, keeps the thing's key and history, and tells the seller.",
        _EXITS,
    )
    take.add_argument("id", help="the thing")
    read = add_command(
        sub,
        "read",
        "check the card behind a thing's link (amity:thing:…), whoever owns it",
        _read,
        "Read a thing's link as scanned from its QR code: its card is checked against the "
        "thing's own key. The owner is not named anywhere in it.",
        _EXITS,
    )
    read.add_argument("uri", help="the amity:thing: link")


def _add(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "maker": args.maker,
        "model": args.model,
        "serial": args.serial,
        "manuals": args.manual,
        "contacts": args.contact,
    }
    if args.agreement is not None:
        body["agreement"] = args.agreement
    if args.warranty_until is not None:
        body["warranty_until_ms"] = args.warranty_until
    data = ApiClient(home_from(args)).call("POST", "/api/things", body)
    emit(data, lambda d: f"added {d['id'][:8]}: {_what(d)}\n{d['uri']}", as_json=args.json)
    return 0


def _what(d: Mapping[str, Any]) -> str:
    serial = f", serial {d['serial']}" if d["serial"] else ""
    return f"{d['maker']} {d['model']}{serial}"


def _list(args: argparse.Namespace) -> int:
    emit(ApiClient(home_from(args)).call("GET", "/api/things"), _list_text, as_json=args.json)
    return 0


def _list_text(d: Mapping[str, Any]) -> str:
    if not d["things"]:
        return 'no things yet: `amity thing add --maker "…" --model "…"` records one'
    lines = []
    for t in d["things"]:
        warranty = f"  warranty until {t['warranty_until'][:10]}" if t["warranty_until"] else ""
        lines.append(f"{t['id'][:8]}  {_state(t):<28} {_what(t)}{warranty}")
    return "\n".join(lines)


def _state(d: Mapping[str, Any]) -> str:
    if d["state"] == "offered":
        return f"yours, offered to {d['offered_to'][:20]}…"
    if d["state"] == "incoming":
        return "offered to you: accept?"
    state: str = d["state"]
    return {"owned": "yours", "sold": "sold"}.get(state, state)


def _card_text(d: Mapping[str, Any]) -> str:
    lines = [f"{_what(d)}", f"thing:     {d['thing']}"]
    if d["purchase"]:
        lines.append(f"purchase:  agreement {d['purchase']}")
    if d["warranty_until"]:
        lines.append(f"warranty:  until {d['warranty_until'][:10]}")
    lines += [f"manual:    {m}" for m in d["manuals"]]
    lines += [f"contact:   {c}" for c in d["contacts"]]
    lines.append(f"card signed by the thing's own key, {d['issued'][:10]}")
    for sale in d.get("sales", []):
        lines.append(f"sold:      {sale['offered'][:10]} by {sale['seller']} to {sale['buyer']}")
    if d.get("qr_file"):
        lines.append(f"QR code written to {d['qr_file']}")
    lines.append(d["uri"])
    return "\n".join(lines)


def _show(args: argparse.Namespace) -> int:
    path = f"/api/things/{urllib.parse.quote(args.id, safe='')}"
    data = ApiClient(home_from(args)).call("GET", path)
    if args.qr is not None:
        if args.qr.suffix.lower() not in (".svg", ".png"):
            raise CliError("--qr writes FILE.svg or FILE.png")
        import segno  # only when a QR code is drawn

        try:
            segno.make(data["uri"].upper(), error="m").save(str(args.qr), scale=4)
        except OSError as exc:
            raise CliError(f"cannot write {args.qr}: {exc.strerror}") from None
        data = {**data, "qr_file": str(args.qr)}
    emit(data, _card_text, as_json=args.json)
    return 0


def _transfer(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    peer = resolve_peer(client, args.peer, connected=True)
    path = f"/api/things/{urllib.parse.quote(args.id, safe='')}/offer"
    data = client.call("POST", path, {"peer": peer})
    emit(
        data,
        lambda d: (
            f"offered {d['id'][:8]} ({_what(d)}) to {args.peer}; it is yours until "
            "they accept (`amity thing accept` on their node)"
        ),
        as_json=args.json,
    )
    return 0


def _accept(args: argparse.Namespace) -> int:
    path = f"/api/things/{urllib.parse.quote(args.id, safe='')}/accept"
    data = ApiClient(home_from(args)).call("POST", path)
    emit(data, lambda d: f"{_what(d)} is yours; the seller is told", as_json=args.json)
    return 0


def _read(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("POST", "/api/things/read", {"uri": args.uri})
    emit(data, _card_text, as_json=args.json)
    return 0
