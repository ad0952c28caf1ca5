"""``amity grant|revoke|grants|request|requests|read|holdings``: your data, shared by grant.

A person grants named fields of her vault to one peer, for a purpose, until a time, under an
agreement both signed; she can revoke, and ask the peer what it still holds. A vendor asks for
fields (``request``) and reads what it holds through its own node (``read``), which refuses
anything no live grant covers.
"""

from __future__ import annotations

import argparse
import urllib.parse
from collections.abc import Mapping
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from, resolve_peer
from amity.node.cli.options import Duration
from amity.node.cli.render import CliError, emit
from amity.node.cli.vault import value_text
from amity.protocol.receipts import HoldingsStatement, decode_receipt

__all__ = ["register"]

#: The longest a grant lasts (the API's limit: ten years).
_MAX_S = 3650 * 86_400
_WAIT = Duration("the wait", 1, 3600)

_EXITS = """\
exit status: 0 done; 1 the node could not do it (no agreement with the peer, a purpose the
agreement does not allow, a field missing from your vault, an unknown id, no live grant for a
read: the message says what to do); 2 bad command line; 3 the peer's answer failed
verification. PEER is a did:key, or a name as `amity peers` shows it; IDs may be shortened to
their first (at least 4) hex digits."""
_FIELDS_HELP = (
    "comma-separated: vault field names, or derived claims instead of a field: age-over:N "
    "(from your birth-date) and country-of (from your postal-address)"
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def command(
        name: str, help_text: str, handler: Any, description: str
    ) -> argparse.ArgumentParser:
        return add_command(commands, name, help_text, handler, description, _EXITS)

    grant = command(
        "grant",
        "let a peer hold some of your fields, for a purpose, until a time",
        _grant,
        "Sign a grant and deliver exactly those fields, sealed to PEER's key. It lives under "
        "your agreement with PEER (the newest, or --agreement), for a purpose that agreement "
        "allows. PEER's node deletes the data when the grant expires, when you revoke it, or "
        "when the relationship ends, and sends you a signed deletion receipt.\n\n"
        "To answer a vendor's request instead: amity grant --request N [--fields SUBSET].",
    )
    grant.add_argument("peer", nargs="?", help="the grantee (not with --request)")
    grant.add_argument("--fields", help=_FIELDS_HELP)
    grant.add_argument("--purpose", help="purpose id, e.g. delivery, order-fulfilment, payment")
    grant.add_argument("--context", default="", help="one line, e.g. 'order 2026-0042'")
    grant.add_argument(
        "--expires",
        type=Duration("a grant", 1, _MAX_S),
        metavar="DURATION",
        help="how long the peer may hold the fields: 90s, 10m, 2h, 30d (at most 3650d)",
    )
    grant.add_argument("--agreement", metavar="ID", help="the agreement it lives under")
    grant.add_argument(
        "--onward", choices=["none", "aggregate-only"], default="none", help="onward sharing"
    )
    grant.add_argument("--request", type=int, metavar="N", help="approve request N instead")

    revoke = command(
        "revoke",
        "withdraw a grant: the peer deletes the data and sends a deletion receipt",
        _revoke,
        "Sign a revocation of GRANT and send it. The holder deletes the data at once and "
        "answers with a signed deletion receipt (`amity grants` shows it).",
    )
    revoke.add_argument("grant", help="the grant id (or its first hex digits)")

    grants = command(
        "grants",
        "grants you issued (and their receipts) and grants you hold for others",
        _grants,
        "Both sides: what you granted (state: active, expired, revoked, deleted, judged from "
        "the receipts that came back) and what you hold for others (held or deleted).",
    )
    grants.add_argument("--peer", help="only with this peer")

    request = command(
        "request",
        "ask a peer for fields for a purpose (a vendor's request)",
        _request,
        "Ask PEER for fields, for a purpose and a time. Nothing is owed: the person approves "
        "all or some of the fields, declines, or lets her rule decide.",
    )
    request.add_argument("peer", help="the person to ask")
    request.add_argument("--fields", required=True, help="comma-separated field names")
    request.add_argument("--purpose", required=True, help="purpose id, e.g. delivery")
    request.add_argument("--context", default="", help="one line, e.g. checkout")
    request.add_argument(
        "--expires",
        type=Duration("the grant asked for", 1, _MAX_S),
        default=30 * 86400,
        metavar="DURATION",
        help="how long the grant asked for lasts (default 30d)",
    )

    requests = command(
        "requests",
        "requests peers sent you (and yours): approve with amity grant --request N",
        _requests,
        "List requests, newest first. Approve one with `amity grant --request N`, decline it "
        "with --decline N (nothing is sent). --auto-approve on grants requests your vault and "
        "agreement can satisfy at once, for at most 30 days; it is off unless you turn it on.",
    )
    requests.add_argument("--pending", action="store_true", help="only those waiting for you")
    requests.add_argument("--decline", type=int, metavar="N", help="decline request N")
    requests.add_argument(
        "--auto-approve",
        choices=["on", "off"],
        help="let your rule answer requests for you (with the limits below), or stop it",
    )
    requests.add_argument(
        "--only-fields", metavar="A,B", help="the rule grants at most these vault fields"
    )
    requests.add_argument(
        "--only-purposes", metavar="P,Q", help="the rule answers only requests for these purposes"
    )
    requests.add_argument(
        "--max-days", type=float, default=30, help="the rule grants for at most this long (30)"
    )

    read = command(
        "read",
        "read a field you hold from a person (only under a live grant)",
        _read,
        "Read one field (or derived claim) a person granted you, through your node. Anything "
        "no live grant covers (never granted, another purpose, expired, revoked) is refused "
        "with grants.no_grant; every read and refusal goes into the audit log.",
    )
    read.add_argument("peer", help="the person (grantor)")
    read.add_argument("field", help="the field name, e.g. email, or age-over")
    read.add_argument("--purpose", help="the purpose you read it for (default: the grant's)")

    holdings = command(
        "holdings",
        "ask a peer what it holds about you: its signed answer",
        _holdings,
        "Ask PEER's node 'what do you hold about me?' and print its signed holdings statement, "
        "each line compared with your own record: a grant you revoked or that expired but is "
        "still listed is flagged, as is an active grant it does not list.",
    )
    holdings.add_argument("peer", help="the peer to ask")
    holdings.add_argument(
        "--wait", type=_WAIT, default=10, metavar="DURATION", help="for the answer (default 10s)"
    )


def _fields(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _grant(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    body: dict[str, Any] = {"onward": args.onward}
    if args.fields:
        body["fields"] = _fields(args.fields)
    if args.expires:
        body["expires_s"] = args.expires
    if args.agreement:
        body["agreement"] = args.agreement
    if args.request is not None:
        if args.peer or args.purpose:
            raise CliError("with --request the peer and purpose are the request's; drop them")
        body["request"] = args.request
    else:
        missing = [o for o, v in (("PEER", args.peer), ("--fields", args.fields)) if not v]
        missing += [
            o for o, v in (("--purpose", args.purpose), ("--expires", args.expires)) if not v
        ]
        if missing:
            raise CliError(f"a grant needs {', '.join(missing)} (see amity grant --help)")
        body.update(
            peer=resolve_peer(client, args.peer), purpose=args.purpose, context=args.context
        )
    emit(client.call("POST", "/api/grants", body), _granted_text, as_json=args.json)
    return 0


def _granted_text(g: Mapping[str, Any]) -> str:
    who = g["peer_name"] or g["peer"]
    context = f" ({g['context']})" if g["context"] else ""
    return (
        f"granted to {who}: {', '.join(g['fields'])}\n"
        f"grant:     {g['grant_id']}\n"
        f"purpose:   {g['purpose']}{context}, onward sharing: {g['onward']}\n"
        f"until:     {g['not_after']}\n"
        f"agreement: {g['agreement_id'][:16]}…\n"
        f"sealed to {who}'s key and delivered when it is reachable; `amity grants` shows receipts"
    )


def _revoke(args: argparse.Namespace) -> int:
    path = f"/api/grants/{urllib.parse.quote(args.grant, safe='')}/revoke"
    data = ApiClient(home_from(args)).call("POST", path)
    emit(
        data,
        lambda g: (
            f"revoked grant {g['grant_id']}; {g['peer_name'] or g['peer']} must delete "
            "the data and send a deletion receipt (`amity grants`)"
        ),
        as_json=args.json,
    )
    return 0


def _grants(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    path = "/api/grants"
    if args.peer:
        path += "?" + urllib.parse.urlencode({"peer": resolve_peer(client, args.peer)})
    emit(client.call("GET", path), _grants_text, as_json=args.json)
    return 0


def _state(g: Mapping[str, Any]) -> str:
    state = str(g["state"])
    if g["side"] == "held":
        version = f" v{g['version']}" if g.get("version") else ""
        return state + version + (f" ({g['deletion_reason']})" if g["deletion_reason"] else "")
    if state == "deleted":
        return f"deleted ({g['deletion_reason']}, receipt)"
    if g["awaiting_deletion_receipt"]:
        return f"{state}, no deletion receipt yet"
    if g.get("version"):  # updated since the delivery (spec/signals.md §2)
        return f"{state}, v{g['version']} sent, v{g['version_receipted']} receipted"
    return state + (", delivered" if g["delivered"] else ", not delivered yet")


def _grants_text(d: Mapping[str, Any]) -> str:
    lines = []
    for title, key in (("granted by you", "granted"), ("held for others", "held")):
        if not d[key]:
            continue
        lines += [f"{title}:", f"  {'grant':<8}  {'peer':<14} {'until':<24} {'state':<30} fields"]
        for g in d[key]:
            lines.append(
                f"  {g['grant_id'][:8]}  {(g['peer_name'] or '-')[:14]:<14} {g['not_after']:<24} "
                f"{_state(g)[:30]:<30} {', '.join(g['fields'])} for {g['purpose']}"
            )
    return "\n".join(lines) or "no grants yet: amity grant PEER --fields … --purpose … --expires …"


def _request(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    body = {
        "peer": resolve_peer(client, args.peer),
        "fields": _fields(args.fields),
        "purpose": args.purpose,
        "context": args.context,
        "duration_s": args.expires,
    }
    data = client.call("POST", "/api/requests", body)
    emit(
        data,
        lambda r: (
            f"asked {r['peer_name'] or r['peer']} for {', '.join(r['fields'])} for "
            f"{r['purpose']} (request #{r['id']}); a grant arrives if the person approves"
        ),
        as_json=args.json,
    )
    return 0


def _rule_text(d: Mapping[str, Any]) -> str:
    if not d["auto_approve"]:
        return "auto-approve is off: every request waits for you"
    fields = ", ".join(d["fields"]) if d["fields"] else "any vault field"
    purposes = ", ".join(d["purposes"]) if d["purposes"] else "any purpose"
    return f"auto-approve is on: {fields}, for {purposes}, for at most {d['max_days']:g} days"


def _requests(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    if args.auto_approve:
        body: dict[str, Any] = {
            "auto_approve": args.auto_approve == "on",
            "fields": args.only_fields.split(",") if args.only_fields else None,
            "purposes": args.only_purposes.split(",") if args.only_purposes else None,
            "max_days": args.max_days,
        }
        data = client.call("PUT", "/api/requests/rule", body)
        emit(
            data,
            _rule_text,
            as_json=args.json,
        )
        return 0
    if args.decline is not None:
        data = client.call("POST", f"/api/requests/{args.decline}/decline")
        emit(data, lambda r: f"declined request #{r['id']} (nothing was sent)", as_json=args.json)
        return 0
    path = "/api/requests" + ("?pending=1" if args.pending else "")
    emit(client.call("GET", path), _requests_text, as_json=args.json)
    return 0


def _requests_text(d: Mapping[str, Any]) -> str:
    lines = [f"auto-approve: {'on' if d['auto_approve'] else 'off'}"]
    for r in d["requests"]:
        who = r["peer_name"] or r["peer"]
        arrow = "to" if r["direction"] == "sent" else "from"
        context = f" ({r['context']})" if r["context"] else ""
        lines.append(
            f"#{r['id']:<4} {r['state']:<9} {arrow} {who}: {', '.join(r['fields'])} for "
            f"{r['purpose']}{context}, {r['duration_s'] // 86400 or r['duration_s']}"
            f"{'d' if r['duration_s'] >= 86400 else 's'}"
        )
        if r["state"] == "pending":
            lines.append(f"       amity grant --request {r['id']}   or   --decline {r['id']}")
    if len(lines) == 1:
        lines.append("no requests")
    return "\n".join(lines)


def _read(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    peer = urllib.parse.quote(resolve_peer(client, args.peer), safe="")
    path = f"/api/holdings/{peer}/{urllib.parse.quote(args.field, safe='')}"
    if args.purpose:
        path += "?" + urllib.parse.urlencode({"purpose": args.purpose})
    data = client.call("GET", path)
    emit(
        data,
        lambda d: f"{d['name']}: {value_text(d)}  (grant {d['grant_id'][:8]}, for {d['purpose']})",
        as_json=args.json,
    )
    return 0


def _holdings(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    did = resolve_peer(client, args.peer)
    path = f"/api/holdings/{urllib.parse.quote(did, safe='')}/query"
    data = client.call("POST", path, {"wait_s": min(args.wait, 60)})
    if not data["answered"]:
        raise CliError(
            f"{args.peer} did not answer within {args.wait} s; the question stays queued "
            f"(query {data['query_id'][:8]}); ask again later"
        )
    statement = decode_receipt(bytes.fromhex(data["statement_hex"]))  # AmityError: exit 3
    if not isinstance(statement, HoldingsStatement) or statement.issuer.did != did:
        raise CliError("the answer is not a holdings statement signed by that peer")
    if statement.query_id.hex() != data["query_id"]:
        raise CliError("the statement answers another question; ask again")
    emit(data, _holdings_text, as_json=args.json)
    return 0


def _holdings_text(d: Mapping[str, Any]) -> str:
    lines = [
        f"signed holdings statement of {d['issuer']}",
        f"at {d['at']} (query {d['query_id'][:8]}; signature verified)",
    ]
    if not d["items"]:
        lines.append("it holds nothing about you")
    for item in d["items"]:
        flag = "  <- " + item["our_record"] + " in your records" if item["flag"] else ""
        fields = ", ".join(item["fields"])
        lines.append(
            f"  {item['grant_id'][:8]}  {fields} (version {item['version']}) until "
            f"{item['not_after']}{flag}"
        )
    for gid in d["not_listed"]:
        lines.append(f"  {gid[:8]}  not listed, though active in your records")
    return "\n".join(lines)
