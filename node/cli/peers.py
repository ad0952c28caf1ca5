"""Commands that talk to a running node: status, invite, connect, peers, end, send, messages, nearby."""

from __future__ import annotations

import argparse
import io
import shutil
import urllib.parse
from collections.abc import Mapping
from typing import Any

from amity.node.cli.client import ApiClient, add_home_option, home_from, resolve_peer
from amity.node.cli.options import Duration
from amity.node.cli.render import emit

__all__ = ["register"]

_DAY_S = 86_400
_QR_BORDER = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def command(
        name: str, help_text: str, handler: Any, description: str = ""
    ) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text, description=description or help_text)
        add_home_option(parser)
        parser.set_defaults(handler=handler)
        return parser

    command("status", "this node: id, fingerprint, endpoints, peers online, version", _status)
    invite = command(
        "invite",
        "print a one-time invitation (amity: URI and a QR code)",
        _invite,
        "Issue a one-time invitation: an amity: URI carrying your signed card and a secret. "
        "Give it to ONE peer (show the QR code, or send the URI over a channel you trust); "
        "the first node to present it becomes your peer.",
    )
    invite.add_argument(
        "--expires",
        type=Duration("an invitation", 60, 90 * _DAY_S),
        default=7 * _DAY_S,
        metavar="DURATION",
        help="how long it can be used: 1m to 90d (default 7d)",
    )
    invite.add_argument("--no-qr", action="store_true", help="print only the URI")
    connect = command(
        "connect",
        "accept an invitation: dial, handshake, establish the relationship",
        _connect,
    )
    connect.add_argument("uri", help="the amity: URI (quote it in the shell)")
    command("peers", "relationships: name, kind, id, state, last seen", _peers)
    invitations = command(
        "invitations", "the invitations you issued that nobody used yet", _invitations
    )
    invitations.add_argument(
        "--withdraw", metavar="ID", help="withdraw this open one (its id, or 4+ of its digits)"
    )
    end = command("end", "end a relationship (a signed rel.end goes to the peer)", _end)
    end.add_argument("peer", help="the peer: its name, a fingerprint prefix or its did:key")
    end.add_argument("--reason", default="ended by the owner", help="one line, shown to the peer")
    send = command("send", "send a signed note to a peer (queued until delivered)", _send)
    send.add_argument("peer", help="the peer: its name, a fingerprint prefix or its did:key")
    send.add_argument("text", help="the note (at most 4096 bytes)")
    messages = command("messages", "notes received, oldest first", _messages)
    messages.add_argument("--after", type=int, default=0, help="only ids after this one")
    messages.add_argument(
        "--peer", help="only from this peer (name, fingerprint prefix or did:key)"
    )
    command("nearby", "nodes seen by LAN discovery (unverified until you connect)", _nearby)
    relay = command(
        "relay",
        "use a relay (mailbox) for mail that arrives while you are offline",
        _relay,
        "With an invitation URI from a node run with `amity run --relay`: meet it and list it on "
        "your card, so your peers leave sealed mail there when they cannot reach you (the relay "
        "cannot read it). Without a URI: list the relays you use.",
    )
    relay.add_argument("uri", nargs="?", help="the relay's invitation (amity: URI)")


def _status(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("GET", "/api/status")
    emit(data, _status_text, as_json=args.json)
    return 0


def _status_text(d: Mapping[str, Any]) -> str:
    lines = [
        f"{d['name'] or '(no name)'} [{d['kind']}]  amity {d['version']} (protocol v{d['protocol']})",
        f"did:          {d['did']}",
        f"fingerprint:  {d['fingerprint']}",
        f"endpoints:    {', '.join(d['endpoints']) or '(none: dials out only)'}",
        f"relationships: {d['relationships']}, online now: {len(d['peers_online'])}, "
        f"outbox pending: {d['outbox_pending']}",
    ]
    return "\n".join(lines)


def _invite(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("POST", "/api/invite", {"ttl_s": args.expires})
    if not args.json and not args.no_qr:
        data = {**data, "qr": qr_text(data["qr_text"], shutil.get_terminal_size().columns)}
    emit(data, _invite_text, as_json=args.json)
    return 0


def qr_text(text: str, columns: int) -> str:
    """``text`` as a QR code drawn with half blocks, at most ``columns`` wide, or a line saying
    why not. A one-module border: an invitation then fits an 80-column terminal."""
    from amity.node.qr import invitation_qr  # only when a QR code is drawn (segno)

    code = invitation_qr(text)
    width = code.symbol_size(border=_QR_BORDER)[0]
    if width > columns:
        return (
            f"(the QR code needs {width} columns and this terminal has {columns}: "
            "widen it, or copy the URI below)\n"
        )
    out = io.StringIO()
    code.terminal(out=out, compact=True, border=_QR_BORDER)
    return out.getvalue()


def _invite_text(d: Mapping[str, Any]) -> str:
    return (d.get("qr") or "") + (
        f"one-time invitation {d['id'][:8]}, valid until {d['expires']}:\n{d['uri']}\n"
        "the peer runs: amity connect '<that URI>'; withdraw it: "
        f"amity invitations --withdraw {d['id'][:8]}"
    )


def _connect(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("POST", "/api/connect", {"uri": args.uri})
    emit(data, _relationship_text, as_json=args.json)
    return 0


def _relationship_text(d: Mapping[str, Any]) -> str:
    return (
        f"{d['state']}: {d['name'] or '(no name)'} [{d['kind']}]\n"
        f"did:         {d['peer']}\n"
        f"fingerprint: {d['fingerprint']}  (compare it with the peer's own `amity status`)"
    )


def _invitations(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    if args.withdraw:
        path = f"/api/invitations/{urllib.parse.quote(args.withdraw, safe='')}"
        data = client.call("DELETE", path)
        emit(data, lambda d: f"invitation {d['id'][:8]} withdrawn", as_json=args.json)
        return 0
    emit(client.call("GET", "/api/invitations"), _invitations_text, as_json=args.json)
    return 0


def _invitations_text(d: Mapping[str, Any]) -> str:
    if not d["invitations"]:
        return "no invitations waiting: `amity invite` makes one"
    lines = [f"{'id':<9} {'state':<10} {'created':<25} {'expires':<24}"]
    lines += [
        f"{i['id'][:8]:<9} {i['state']:<10} {i['created']:<25} {i['expires']:<24}"
        for i in d["invitations"]
    ]
    return "\n".join(lines)


def _peers(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("GET", "/api/peers")
    emit(data, _peers_text, as_json=args.json)
    return 0


def _peers_text(d: Mapping[str, Any]) -> str:
    if not d["peers"]:
        return "no relationships yet: `amity invite` or `amity connect URI`"
    lines = [f"{'name':<20} {'kind':<7} {'state':<11} {'online':<6} {'last seen':<24} peer"]
    for p in d["peers"]:
        lines.append(
            f"{(p['name'] or '-')[:20]:<20} {p['kind'] or '-':<7} {p['state']:<11} "
            f"{'yes' if p['online'] else 'no':<6} {p['last_seen'] or '-':<24} {p['peer'] or '-'}"
        )
    return "\n".join(lines)


def _end(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    path = f"/api/peers/{urllib.parse.quote(resolve_peer(client, args.peer), safe='')}/end"
    data = client.call("POST", path, {"reason": args.reason})
    emit(
        data,
        lambda d: f"ended: {d['name'] or '(no name)'} [{d['kind']}] ({d['ended_reason']})",
        as_json=args.json,
    )
    return 0


def _send(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    path = f"/api/peers/{urllib.parse.quote(resolve_peer(client, args.peer), safe='')}/notes"
    data = client.call("POST", path, {"text": args.text})
    emit(
        data,
        lambda d: f"queued as #{d['seq']}; delivered when the peer is reachable",
        as_json=args.json,
    )
    return 0


def _messages(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    query = {"after": str(args.after)}
    if args.peer:
        query["peer"] = resolve_peer(client, args.peer)
    path = "/api/messages?" + urllib.parse.urlencode(query)
    data = client.call("GET", path)
    emit(data, _messages_text, as_json=args.json)
    return 0


def _messages_text(d: Mapping[str, Any]) -> str:
    if not d["messages"]:
        return "no messages"
    return "\n".join(f"#{m['id']} {m['received']} {m['peer']}: {m['text']}" for m in d["messages"])


def _relay(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    if args.uri:
        data = client.call("POST", "/api/relays", {"uri": args.uri})
        emit(data, _relationship_text, as_json=args.json)
        return 0
    data = client.call("GET", "/api/relays")
    emit(data, _relays_text, as_json=args.json)
    return 0


def _relays_text(d: Mapping[str, Any]) -> str:
    lines = ["this node serves as a relay" if d["serving"] else ""]
    lines += [
        f"{r['endpoint']} {r['did']} {'online' if r['online'] else 'offline'}" for r in d["relays"]
    ]
    return "\n".join(line for line in lines if line) or "no relays: `amity relay URI` to use one"


def _nearby(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("GET", "/api/nearby")
    emit(data, _nearby_text, as_json=args.json)
    return 0


def _nearby_text(d: Mapping[str, Any]) -> str:
    if not d["enabled"]:
        return "LAN discovery is off (--no-mdns, or multicast is unavailable here)"
    hidden = (
        []
        if d.get("announced", True)
        else ["others do not see this node: its peer port listens on loopback only"]
    )
    if not d["nearby"]:
        return "\n".join([*hidden, "nobody nearby yet"])
    lines = [*hidden, "unverified until you connect: compare fingerprints"]
    lines += [
        f"{n['name'] or '-'} [{n['kind']}] {n['did']} {n['endpoints'][0] if n['endpoints'] else ''}"
        + (f" takes intents: {','.join(n['intents'])}" if n.get("intents") else "")
        for n in d["nearby"]
    ]
    return "\n".join(lines)
