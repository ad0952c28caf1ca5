"""``amity delegate grant|list|revoke|accept|act``: agents that work for her (fourth parties)."""

from __future__ import annotations

import argparse
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from, resolve_peer
from amity.node.cli.options import Duration
from amity.node.cli.render import CliError, emit

__all__ = ["register"]

_EXITS = """\
exit status: 0 done; 1 the node could not do it (no relationship with that peer, an unknown
id); 2 bad command line; 3 refused: her node refused the act, or the capability is revoked or
expired (the code says which rule, e.g. delegate.out_of_scope). PEER is a name as `amity
peers` shows it, a fingerprint prefix or a did:key; an ID may be shortened to its first (at
least 4) hex digits."""
_DAY_S = 86400


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "delegate",
        help="let an agent act for you (a buying agent, a family member's node), and stop it",
        description=(
            "A fourth party is a node that works for you, not for a vendor. `grant` gives one "
            "of your peers a capability, signed by you: which fields it may have your node "
            "grant, for which purposes, to vendors of at least which standing in YOUR trust, "
            "for how many days at most, until when. The agent never sees your data: it asks "
            "your node (`act`), your node checks the capability and does it, and the vendor "
            "receives the grant with the capability and the agent's signed request, checks "
            "both, and its audit and yours say 'by agent A for her'. `revoke` stops it at "
            "once: your node refuses every later act, and the agent and the vendors that saw "
            "the capability are told. On the agent's node: `accept` an offered capability, "
            "then `act`. See spec/delegation.md."
        ),
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="delegate_command", metavar="COMMAND", required=True)
    grant = add_command(
        sub, "grant", "give a peer a capability to act for you", _grant,
        "Sign a capability for AGENT (a connected peer) and send it; it lasts --expires. "
        "Scopes: --fields (with --purpose, --min-standing, --max-days) lets it have your node "
        "grant those fields; --scope adds offers.read, terms.negotiate (negotiate, never sign) "
        "or intent.cast:CATEGORY (carried and shown; their acts come later).",
        _EXITS,
    )  # fmt: skip
    grant.add_argument("agent", help="the peer that will act for you")
    grant.add_argument("--expires", type=Duration("a capability", 60, 3650 * _DAY_S),
                       metavar="DURATION",
                       required=True, help="how long it lasts: 30d, 12h")  # fmt: skip
    grant.add_argument("--fields", default="", help="fields it may grant, comma-separated")
    grant.add_argument("--purpose", action="append", default=[],
                       help="a purpose it may grant for (repeatable; none: any your "
                       "agreement allows)")  # fmt: skip
    grant.add_argument("--min-standing", type=float, default=None,
                       help="-1..1: the least standing your trust must give the vendor")  # fmt: skip
    grant.add_argument("--max-days", type=int, default=30, help="the longest grant (default 30)")
    grant.add_argument("--scope", action="append", default=[],
                       help="offers.read, terms.negotiate or intent.cast:CATEGORY")  # fmt: skip
    grant.add_argument("--redelegate", action="store_true",
                       help="the agent may pass on a narrower capability")  # fmt: skip
    grant.add_argument("--note", default="", help="a line for the agent (200 bytes)")
    grant.add_argument("--under", metavar="ID",
                       help="as an agent: pass on a narrower capability under one you hold")  # fmt: skip
    add_command(
        sub, "list", "capabilities given and held, and acts", _list,
        "List capabilities (yours to agents; those held as an agent) with their state, and "
        "each act: asked (as agent), handled (your node), received (as vendor).", _EXITS,
    )  # fmt: skip
    revoke = add_command(
        sub, "revoke", "revoke a capability at once", _revoke,
        "Revoke capability ID; the agent and every vendor that saw it are told.", _EXITS,
    )  # fmt: skip
    revoke.add_argument("id", help="the capability")
    accept = add_command(
        sub, "accept", "as an agent: accept a capability you were offered", _accept,
        "Accept capability ID (see `amity delegate list`); you can then act under it.", _EXITS,
    )  # fmt: skip
    accept.add_argument("id", help="the capability")
    act = add_command(
        sub, "act", "as an agent: ask her node to grant fields to a vendor", _act,
        "Under capability ID, ask the person's node to grant --fields to VENDOR for --purpose, "
        "lasting --expires. Her node checks the capability and her standing of VENDOR, and "
        "answers; --wait waits for that answer.", _EXITS,
    )  # fmt: skip
    act.add_argument("id", help="the capability")
    act.add_argument("vendor", help="the vendor (a did:key if you have no relationship with it)")
    act.add_argument("--fields", required=True, help="comma-separated")
    act.add_argument("--purpose", required=True, help="e.g. order-fulfilment")
    act.add_argument("--context", default="", help="e.g. order 42")
    act.add_argument("--expires", type=Duration("a grant", 60, 3650 * _DAY_S), required=True,
                     metavar="DURATION",
                     help="how long the grant lasts: 7d")  # fmt: skip
    act.add_argument("--wait", type=Duration("waiting", 1, 600), default=None, metavar="DURATION",
                     help="wait this long for her node's answer: 20s")  # fmt: skip


def _names(text: str) -> list[str]:
    return sorted({n.strip() for n in text.split(",") if n.strip()})


def _scopes(args: argparse.Namespace) -> dict[str, Any]:
    scopes: dict[str, Any] = {}
    if args.fields:
        scopes["grant"] = {"fields": _names(args.fields), "purposes": sorted(set(args.purpose)),
                           "min_standing": args.min_standing, "max_days": args.max_days}  # fmt: skip
    for spec in args.scope:
        name, _, category = spec.partition(":")
        if name == "intent.cast":
            cats = scopes.setdefault(name, {"categories": []})["categories"]
            cats.extend([category] if category else [])
        elif name in ("offers.read", "terms.negotiate") and not category:
            scopes[name] = {}
        else:
            raise CliError(f"{spec!r}: a scope is offers.read, terms.negotiate or intent.cast:CAT")
    if not scopes:
        raise CliError("give the agent something to do: --fields, or --scope")
    return scopes


def _grant(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    agent = resolve_peer(client, args.agent, connected=True)
    body = {"agent": agent, "scopes": _scopes(args), "redelegate": args.redelegate,
            "not_after_ms": int(time.time() * 1000) + args.expires * 1000, "note": args.note}  # fmt: skip
    if args.under:
        body["under"] = args.under
    data = client.call("POST", "/api/delegations", body)
    emit(data, lambda d: f"capability {d['id'][:8]} for {d['agent']} until {d['not_after'][:16]}: "
                         f"{', '.join(d['scopes'])}", as_json=args.json)  # fmt: skip
    return 0


def _list(args: argparse.Namespace) -> int:
    emit(ApiClient(home_from(args)).call("GET", "/api/delegations"), _list_text, as_json=args.json)
    return 0


def _list_text(d: Mapping[str, Any]) -> str:
    if not d["capabilities"] and not d["acts"]:
        return "no capabilities: `amity delegate grant PEER --fields email --expires 30d`"
    lines = []
    for c in d["capabilities"]:
        who = f"to {c['agent']}" if c["mine"] else f"from {c['issuer']}"
        lines.append(f"{c['id'][:8]}  {c['state']:<8} {who}  until {c['not_after'][:16]}  "
                     f"{', '.join(c['scopes'])}")  # fmt: skip
    for a in d["acts"]:
        said = a["outcome"] + (
            f" ({a['code']}: {a['reason']})" if a["outcome"] == "refused" else ""
        )
        lines.append(f"act {a['id'][:8]}  {a['role']:<8} by agent {a['agent']} for "
                     f"{a['person']}: {', '.join(a['fields'])} to {a['vendor']}  {said}")  # fmt: skip
    return "\n".join(lines)


def _post_id(args: argparse.Namespace, verb: str, body: dict[str, Any] | None = None) -> Any:
    client = ApiClient(home_from(args))
    path = f"/api/delegations/{urllib.parse.quote(args.id, safe='')}/{verb}"
    return client.call("POST", path, body)


def _revoke(args: argparse.Namespace) -> int:
    data = _post_id(args, "revoke")
    emit(data, lambda d: f"revoked {d['id'][:8]}; {d['agent']} is told", as_json=args.json)
    return 0


def _accept(args: argparse.Namespace) -> int:
    data = _post_id(args, "accept")
    emit(data, lambda d: f"accepted {d['id'][:8]}: you act for {d['person']}", as_json=args.json)
    return 0


def _act(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    vendor = resolve_peer(client, args.vendor)
    body = {"vendor": vendor, "fields": _names(args.fields), "purpose": args.purpose,
            "context": args.context, "days": args.expires / _DAY_S}  # fmt: skip
    data = _post_id(args, "act", body)
    if args.wait:
        deadline = time.monotonic() + args.wait
        while data["outcome"] == "waiting" and time.monotonic() < deadline:
            time.sleep(0.2)
            acts = client.call("GET", "/api/delegations")["acts"]
            data = next((a for a in acts if a["id"] == data["id"]), data)
    emit(data, _act_text, as_json=args.json)
    return 3 if data["outcome"] == "refused" else 0


def _act_text(a: Mapping[str, Any]) -> str:
    if a["outcome"] == "done":
        return f"act {a['id'][:8]} done: grant {a['grant'][:8]} of {', '.join(a['fields'])}"
    if a["outcome"] == "refused":
        return f"act {a['id'][:8]} refused: {a['code']}: {a['reason']}"
    return f"act {a['id'][:8]} sent; `amity delegate list` shows her node's answer"
