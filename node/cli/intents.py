"""``amity intent …``: say what you want to buy, on your terms, without saying who you are.

Her side: ``cast``, ``list``, ``offers``, ``accept``, ``withdraw``. A vendor's side:
``subscribe``, ``inbox``, ``answer``. A hub's: ``hub``. See spec/intents.md.
"""

from __future__ import annotations

import argparse
import re
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from, resolve_peer
from amity.node.cli.options import Duration
from amity.node.cli.render import CliError, emit

__all__ = ["register"]

_WAIT = Duration("the wait", 1, 3600)


def _q(text: str) -> str:
    """An id as one path segment (whatever the person typed, it stays inside it)."""
    return urllib.parse.quote(text, safe="")


_EXITS = """\
exit status: 0 done; 1 the node could not do it (the hub is unreachable, an unknown id: the
message says what to do); 2 bad command line; 3 the hub refused the intent (its code says
why: intent.bad_constraint, intent.bad_work…) or a peer's answer failed verification.
HUB is a did:key, or a name as `amity peers` shows it; IDs may be shortened to their first
(at least 4) hex digits."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "intent",
        help="intentcasting: ask the market for offers, on your terms, as nobody",
        description=(
            "Cast an intent (what you want, your budget, region and terms) at a hub under a "
            "fresh key: nobody learns it is you. Vendors subscribed at the hub answer with "
            "offers that countersign your terms; your node hides those from vendors your "
            "reputation policy cuts off and shows the rest best first. Accept one: only that "
            "vendor learns who you are. Vendors subscribe at a hub, read their inbox, answer."
        ),
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="intent_command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        return add_command(sub, name, help_text, _HANDLERS[name], description, _EXITS)

    cast = command(
        "cast",
        "cast an intent at a hub under a fresh key",
        "Cast an intent at HUB (a peer of yours started with `amity run --hub`) and, with "
        "--direct, at the vendors you know that take it directly. Your node reaches each as a "
        "stranger, under the intent's own key, solves the proof of work they ask and returns "
        "once each stored it.",
    )
    cast.add_argument("--category", required=True, help="e.g. goods.bicycles (spec/intents.md §2)")
    cast.add_argument("--text", default="", help="what you want, in words (1000 bytes)")
    cast.add_argument("--budget", help="the most you pay, all included: 300EUR")
    cast.add_argument("--region", help="ISO 3166 code: FR, FR-69")
    cast.add_argument("--quantity", type=int, default=1, help="how many (1)")
    cast.add_argument("--terms", default="P2B1", help="the roster terms offers must accept")
    cast.add_argument("--offers", type=int, default=5, help="how many offers you want to see")
    cast.add_argument(
        "--expires",
        type=Duration("an intent", 60, 30 * 86_400),
        default=3 * 86_400,
        metavar="DURATION",
        help="how long the intent lives (default 3d)",
    )
    cast.add_argument("--hub", action="append", default=[], help="the hub (repeatable)")
    cast.add_argument(
        "--direct",
        action="store_true",
        help="also cast it, under the same fresh key, at every vendor you know whose node "
        "takes intents of this category directly (it sees your network address: "
        "spec/intents.md §7.8)",
    )
    cast.add_argument(
        "--delay",
        type=_delay,
        metavar="DURATION",
        help="cast after a random wait of up to this long, so its time links it to nothing "
        "(default: 10m with --direct or --nearby, else 0s); with a wait the command returns "
        "at once and `amity intent list` shows it scheduled (spec/intents.md §7.10)",
    )
    cast.add_argument(
        "--nearby",
        action="store_true",
        help="also cast it, under the same fresh key, at the vendors on your LAN that announce "
        "this category (`amity nearby`; they see your LAN address: spec/intents.md §7.9)",
    )
    command("list", "your intents", "List your intents: state, offers, receipts.")
    offers = command("offers", "the offers for one intent, best first", "Show the offers.")
    offers.add_argument("id", help="the intent")
    accept = command(
        "accept",
        "accept an offer: only its vendor learns who you are",
        "Accept OFFER (from `amity intent offers`): your node seals the accept to that vendor "
        "alone, with your identity in it unless --anonymous. The vendor then invites you in: "
        "your node connects and offers the intent's terms, which the vendor accepts (its offer "
        "countersigned them). With --wait, wait for that agreement; then grant what the deal "
        "needs, e.g. `amity grant VENDOR --fields postal-address --purpose service-provision`.",
    )
    accept.add_argument("offer", help="the offer id")
    accept.add_argument("--anonymous", action="store_true", help="stay the intent's pseudonym")
    accept.add_argument(
        "--wait",
        type=_WAIT,
        default=0,
        metavar="DURATION",
        help="wait this long for the relationship and the agreement (e.g. 30s; default: no wait)",
    )
    withdraw = command(
        "withdraw",
        "take an intent back; hubs and vendors delete it and send receipts",
        "Withdraw ID: the hubs and every vendor that answered delete it, with receipts.",
    )
    withdraw.add_argument("id", help="the intent")
    subscribe = command(
        "subscribe",
        "(vendor) receive the intents of categories cast at a hub",
        "Subscribe at HUB (a peer) to --category (repeatable; a family such as goods "
        "matches all of it). Replaces what you had there.",
    )
    subscribe.add_argument("--category", action="append", default=[], help="a category")
    subscribe.add_argument("--hub", required=True, help="the hub")
    command("inbox", "(vendor) the intents forwarded to you", "List the intents in your inbox.")
    answer = command(
        "answer",
        "(vendor) answer an intent with an offer that countersigns her terms",
        "Answer ID with an offer at --price, valid for --valid.",
    )
    answer.add_argument("id", help="the intent")
    answer.add_argument("--price", required=True, help="the total price: 249EUR")
    answer.add_argument(
        "--valid",
        type=Duration("an offer", 60, 30 * 86_400),
        default=2 * 86_400,
        metavar="DURATION",
        help="how long the offer holds (default 2d)",
    )
    answer.add_argument("--terms-of-sale", default="", help="delivery, returns… in words")
    hub = command(
        "hub",
        "(hub) its rules, the hubs it lists and whether each is met, the intents it holds",
        "Show this hub's rules (config.toml [hub]), each hub of its `peers` list (met: a "
        "relationship, made with `amity invite` here and `amity connect` there; online: a "
        "link is up) and the intents it holds. `add PEER` and `remove PEER` change the list "
        "of the running hub: in force at once, for the intents that come from then on, and "
        "kept in config.toml's [hub] peers. See spec/intents.md §7.6.",
    )
    hub.add_argument(
        "action", nargs="?", choices=("list", "add", "remove"), default="list", help="(list)"
    )
    hub.add_argument("peer", nargs="?", help="the hub to add or remove: its did:key or name")


def _delay(text: str) -> int:
    """A cast delay: a duration up to 1d, or 0 (none: cast at once)."""
    if re.fullmatch(r"\s*0+\s*[smhd]?\s*", text):
        return 0
    return Duration("a cast delay", 1, 86_400)(text)


def _intent_line(i: Mapping[str, Any]) -> str:
    return (
        f"  {i['id'][:8]}  {i['state']:<9} {i['category']:<20} "
        f"{i['offers_shown']} shown, {i['offers_kept']} kept, {len(i['receipts'])} receipt(s)"
    )


def _cast(args: argparse.Namespace) -> int:
    if not (args.hub or args.direct or args.nearby):
        raise CliError("give --hub HUB, --direct or --nearby (or several)")
    client = ApiClient(home_from(args))
    body: dict[str, Any] = {
        "category": args.category,
        "text": args.text,
        "budget": args.budget,
        "region": args.region,
        "quantity": args.quantity,
        "terms": args.terms,
        "offers": args.offers,
        "expires_s": args.expires,
        "hubs": [resolve_peer(client, h, connected=True) for h in args.hub],
        "direct": args.direct,
        "nearby": args.nearby,
    }
    if args.delay is not None:
        body["delay_s"] = args.delay

    data = client.call("POST", "/api/intents", body)
    emit(
        data,
        lambda d: (
            f"intent of {d['category']} scheduled: your node casts it by {d['at']} (a random "
            "time; `amity intent list` shows it until then)"
            if "scheduled" in d
            else f"intent {d['id'][:16]} cast as {d['pseudonym'][:24]}…, until {d['expires']}"
            + (f"; directly at {len(d['direct'])} vendor(s)" if d["direct"] else "")
        ),
        as_json=args.json,
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("GET", "/api/intents")
    emit(
        data,
        lambda d: (
            "\n".join(
                [
                    *(["intents:", *map(_intent_line, d["intents"])] if d["intents"] else []),
                    *[
                        f"  scheduled {s['category']}: cast by {s['at']}"
                        for s in d.get("scheduled", [])
                    ],
                ]
            )
            if d["intents"] or d.get("scheduled")
            else "no intents yet: `amity intent cast --category … --hub HUB`"
        ),
        as_json=args.json,
    )
    return 0


def _offer_line(o: Mapping[str, Any]) -> str:
    trust = "?" if o["trust"] is None else f"{o['trust']:.2f}"
    rank = "hidden" if o["hidden"] else f"#{o['rank']}"
    return f"  {rank:<6} {o['id'][:8]}  {o['price']:>12}  trust {trust}  {o['vendor'][:28]}…"


def _offers(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("GET", f"/api/intents/{_q(args.id)}")
    emit(
        data,
        lambda d: "\n".join(
            [f"intent {d['id'][:8]} ({d['state']}):", *map(_offer_line, d["offers"])]
            + ([f"  ({len(d['hidden'])} hidden: vendors you cut off)"] if d["hidden"] else [])
        ),
        as_json=args.json,
    )
    return 0


def _accept(args: argparse.Namespace) -> int:
    if args.wait and args.anonymous:
        raise CliError("--wait waits for the vendor's invitation, which --anonymous never gets")
    body = {"offer": args.offer, "reveal": not args.anonymous}
    client = ApiClient(home_from(args))
    data = client.call("POST", "/api/intents/accept", body)
    data["agreement"] = _agreement_after(client, data, args.wait) if args.wait else None
    emit(data, _accepted_text, as_json=args.json)
    return 0


def _agreement_after(client: ApiClient, casting: dict[str, Any], wait_s: int) -> str:
    """Wait for the agreement with the accepted vendor (spec/intents.md §6.1); its id."""
    vendor = casting["vendor"]
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        query = urllib.parse.urlencode({"peer": vendor})
        for a in client.call("GET", f"/api/agreements?{query}")["agreements"]:
            if a["terms"]["terms_id"] == casting["terms_id"]:
                return str(a["agreement_id"])
        time.sleep(0.2)
    state = client.call("GET", f"/api/intents/{_q(casting['id'])}")
    step = "connect and agree" if state["welcomed"] else "send its invitation"
    raise CliError(
        f"accepted, but the vendor did not {step} within {wait_s} s; it goes on in the "
        "background: see `amity peers` and `amity agreements` later"
    )


def _accepted_text(d: Mapping[str, Any]) -> str:
    head = f"accepted {(d['accepted'] or '')[:8]} for intent {d['id'][:8]}"
    if d["agreement"]:
        return f"{head}\nagreed with {d['vendor']} on your terms: agreement {d['agreement'][:8]}"
    return f"{head}\nthe vendor invites you in next: see `amity peers` and `amity agreements`"


def _withdraw(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("POST", f"/api/intents/{_q(args.id)}/withdraw")
    emit(data, lambda d: f"intent {d['id'][:8]} withdrawn; receipts follow", as_json=args.json)
    return 0


def _subscribe(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    hub = resolve_peer(client, args.hub, connected=True)
    data = client.call(
        "POST", "/api/intents/subscriptions", {"hub": hub, "categories": args.category}
    )
    emit(
        data,
        lambda d: f"subscribed to {', '.join(d['categories']) or 'nothing'}",
        as_json=args.json,
    )
    return 0


def _inbox_line(i: Mapping[str, Any]) -> str:
    budget = i["budget"] or "no budget"
    state = i["state"] + (" by rule" if i["answered_by"] == "rule" else "")
    line = f"  {i['id'][:8]}  {state:<16} {i['category']:<20} {budget:>12}  {i['text'][:40]}"
    return line + (f"  offered {i['price']}" if i["price"] else "")


def _inbox(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("GET", "/api/intents/inbox")
    emit(
        data,
        lambda d: (
            "\n".join(["inbox:", *map(_inbox_line, d["intents"])])
            if d["intents"]
            else "no intents: `amity intent subscribe --category … --hub HUB`"
        ),
        as_json=args.json,
    )
    return 0


def _answer(args: argparse.Namespace) -> int:
    body = {"price": args.price, "valid_s": args.valid, "terms_of_sale": args.terms_of_sale}
    data = ApiClient(home_from(args)).call("POST", f"/api/intents/inbox/{_q(args.id)}/answer", body)
    emit(
        data, lambda d: f"offer {(d['offer'] or '')[:8]} sent for {d['id'][:8]}", as_json=args.json
    )
    return 0


def _hub_text(d: Mapping[str, Any]) -> str:
    r = d["rules"]
    lines = [
        f"hub rules: work_bits {r['work_bits']}, offer_cap {r['offer_cap']}, max_hops "
        f"{r['max_hops']}, max_ttl {r['max_ttl_s']} s, rate_per_hour {r['rate_per_hour']}",
        f"listed hubs ({len(d['peers'])}):" if d["peers"] else "listed hubs: none ([hub] peers)",
    ]
    for p in d["peers"]:
        online = "online" if p["online"] else "offline"
        hint = "  (meet it: amity invite / amity connect)" if p["state"] == "not met" else ""
        lines.append(f"  {p['name'] or '?':<16} {p['state']:<10} {online:<8} {p['did']}{hint}")
    lines.append(
        f"{len(d['intents'])} intent(s) held, {d['subscribers']} subscriber(s), "
        f"{d['tombstones']} tombstone(s)"
    )
    return "\n".join(lines)


def _hub(args: argparse.Namespace) -> int:
    if (args.action == "list") != (args.peer is None):
        raise CliError("`amity intent hub add|remove PEER` names a hub; `list` names none")
    client = ApiClient(home_from(args))
    if args.action == "list":
        data = client.call("GET", "/api/intents/hub")
    else:
        path = "/api/intents/hub/peers/" + urllib.parse.quote(resolve_peer(client, args.peer))
        data = client.call("PUT" if args.action == "add" else "DELETE", path)
    emit(data, _hub_text, as_json=args.json)
    return 0


_HANDLERS = {
    "cast": _cast,
    "list": _list,
    "offers": _offers,
    "accept": _accept,
    "withdraw": _withdraw,
    "subscribe": _subscribe,
    "inbox": _inbox,
    "answer": _answer,
    "hub": _hub,
}
