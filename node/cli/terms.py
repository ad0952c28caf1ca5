"""``amity terms …``: offer your terms to a vendor, answer counters, follow negotiations."""

from __future__ import annotations

import argparse
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from, resolve_peer
from amity.node.cli.options import Duration
from amity.node.cli.render import emit
from amity.node.terms.data import read_terms_file, terms_from_data, terms_to_toml
from amity.protocol.negotiation import MAX_ROUNDS, MAX_TTL_MS
from amity.protocol.terms import ROSTER

__all__ = ["register", "terms_lines"]

_EXITS = """\
exit status: 0 done; 1 the node could not do it (the message says why: unknown id, not your
turn, deadline passed, peer not connected, a mistake in the terms file); 2 bad command line.
IDs: a negotiation's hex id, or its first few (at least 4) hex digits, as `amity terms show`
prints them."""

_FILE_HELP = """\
A terms file (TOML, or JSON if it ends in .json) names clauses of the vocabulary
(spec/terms.md §2) with their parameters:

  title = "Alice's terms"
  [clause."amity.no-tracking"]
  [clause."amity.delete-on-end"]
  days = 30
  [clause."amity.purpose-limitation"]
  purposes = ["delivery", "payment"]

`amity terms show ID --toml` prints the terms of a negotiation in this form, ready to edit."""

#: ``--expires`` of an offer or a counter-offer: the deadline for the peer's answer.
_EXPIRES: dict[str, Any] = {
    "type": Duration("an offer", 1, MAX_TTL_MS // 1000),
    "default": 7 * 86400,
    "metavar": "DURATION",
    "help": "how long the peer has to answer: 1s to 30d (default 7d)",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "terms",
        help="your terms: offer them, answer counters, follow negotiations",
        description=(
            "You bring your own terms (IEEE 7012, 'MyTerms'): offer a roster agreement such as "
            "P2B1 (#NoStalking) or your own terms file to a vendor you are connected with. Its "
            "node answers from its policy (accept, counter, reject) or leaves it to a person; "
            "either side may counter up to 6 rounds before a deadline. What both accept becomes "
            "one agreement both nodes signed and keep (`amity agreements`, `amity verify`)."
        ),
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="terms_command", metavar="COMMAND", required=True)

    def command(
        name: str, help_text: str, handler: Any, description: str
    ) -> argparse.ArgumentParser:
        return add_command(sub, name, help_text, handler, description, _EXITS)

    show = command(
        "show",
        "list negotiations, or show one with its terms",
        _show,
        "Without ID: every negotiation, newest first, with whose turn it is. With ID: where it "
        "stands, the terms on the table clause by clause, the reasons of a rejection or the "
        "agreement reached.",
    )
    show.add_argument("id", nargs="?", help="a negotiation id (or its first hex digits)")
    show.add_argument(
        "--toml", action="store_true", help="print the terms on the table as a terms file"
    )

    offer = command(
        "offer",
        "offer terms to a connected peer (a roster agreement or your own file)",
        _offer,
        "Open a negotiation: sign the terms and send them to PEER. The vendor's node may answer "
        "at once from its policy, or a person there decides before the deadline.\n\n"
        + "roster: "
        + ", ".join(f"{e.name} ({e.summary})" for e in ROSTER.values())
        + "\n\n"
        + _FILE_HELP,
    )
    offer.add_argument("peer", help="the peer: its name, a fingerprint prefix or its did:key")
    _add_terms_source(offer)
    offer.add_argument("--expires", **_EXPIRES)
    offer.add_argument("--amends", metavar="AGREEMENT", help="the agreement these terms replace")

    change = command(
        "change",
        "change your terms: every peer you have an agreement with is asked to amend it",
        _change,
        "Your terms changed. Each peer you hold an agreement in force with gets your new terms, "
        "signed, as an amendment of that agreement (spec/signals.md §3). Nothing changes for a "
        "peer until it accepts (its policy may answer at once): a rejection or no answer by the "
        "deadline leaves the old agreement standing. Prints who was asked, and who was not and "
        "why.\n\n" + _FILE_HELP,
    )
    _add_terms_source(change)
    change.add_argument("--expires", **_EXPIRES)

    counter = command(
        "counter",
        "answer the peer's terms with other terms",
        _counter,
        "Replace the peer's terms on the table with yours (one round; at most 6 in all). "
        "Start from theirs: `amity terms show ID --toml > mine.toml`, edit, then counter.\n\n"
        + _FILE_HELP,
    )
    counter.add_argument("id", help="the negotiation id (or its first hex digits)")
    _add_terms_source(counter)
    counter.add_argument("--expires", **_EXPIRES)

    accept = command(
        "accept",
        "accept the peer's terms: both nodes then hold the signed agreement",
        _move,
        "Sign the peer's terms on the table. Their signature is already in the proposal, so "
        "your node holds the complete agreement at once; the peer's does when the accept "
        "arrives.",
    )
    accept.add_argument("id", help="the negotiation id (or its first hex digits)")
    reject = command(
        "reject",
        "refuse the peer's terms, ending the negotiation",
        _move,
        "Refuse the peer's terms on the table; the negotiation ends (offer again to start anew).",
    )
    reject.add_argument("id", help="the negotiation id (or its first hex digits)")
    reject.add_argument("--reason", default="", help="one line the peer sees")
    withdraw = command(
        "withdraw",
        "take back your own terms on the table",
        _move,
        "Take back the terms you proposed, before the peer answers; the negotiation ends. (An "
        "accept that crossed your withdraw still makes an agreement: you had signed it.)",
    )
    withdraw.add_argument("id", help="the negotiation id (or its first hex digits)")


def _add_terms_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--roster", metavar="NAME", help=f"one of {', '.join(ROSTER)}")
    source.add_argument("--file", type=Path, metavar="FILE", help="a terms file (TOML or JSON)")


def _terms_body(args: argparse.Namespace) -> dict[str, Any]:
    if args.roster:
        return {"roster": args.roster}
    data = read_terms_file(args.file)
    terms_from_data(data)  # the same checks as the node's, before anything is sent
    return {"terms": data}


def _path(nid: str, move: str = "") -> str:
    return f"/api/terms/{urllib.parse.quote(nid, safe='')}" + (f"/{move}" if move else "")


def _show(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    if args.id is None:
        emit(client.call("GET", "/api/terms"), _list_text, as_json=args.json)
        return 0
    data = client.call("GET", _path(args.id))
    if args.toml:
        toml = terms_to_toml(terms_from_data(_as_file(data["terms"])))
        emit({"id": data["id"], "toml": toml}, lambda d: str(d["toml"]), as_json=args.json)
        return 0
    emit(data, negotiation_text, as_json=args.json)
    return 0


def _as_file(terms: Mapping[str, Any]) -> dict[str, Any]:
    """The API's view of a document back into the file structure (same document, same id)."""
    clauses = {c["id"]: c["params"] for c in terms["clauses"]}
    return {"title": terms["title"], "clause": clauses}


def _offer(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    body = {
        "peer": resolve_peer(client, args.peer, connected=True),
        "ttl_s": args.expires,
        **_terms_body(args),
    }
    if args.amends:
        body["amends"] = args.amends
    emit(client.call("POST", "/api/terms/offer", body), negotiation_text, as_json=args.json)
    return 0


def _change(args: argparse.Namespace) -> int:
    body = {**_terms_body(args), "ttl_s": args.expires}
    data = ApiClient(home_from(args)).call("POST", "/api/terms/change", body)
    emit(data, _change_text, as_json=args.json)
    return 0


def _change_text(d: Mapping[str, Any]) -> str:
    if not d["changes"]:
        return "you hold no agreement in force: nobody to tell"
    lines = [f"terms {d['terms_id'][:8]}:"]
    for c in d["changes"]:
        who = c["peer_name"] or c["peer"]
        agreement = c["agreement_id"][:8]
        if c["offered"]:
            lines.append(
                f"  asked  {who}: amend {agreement} (negotiation {c['negotiation_id'][:8]})"
            )
        else:
            lines.append(f"  not    {who}: {agreement}, {c['why_not']}")
    return "\n".join(lines)


def _counter(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    body = {"ttl_s": args.expires, **_terms_body(args)}
    emit(client.call("POST", _path(args.id, "counter"), body), negotiation_text, as_json=args.json)
    return 0


def _move(args: argparse.Namespace) -> int:
    body = {"reason": args.reason} if args.terms_command == "reject" else {}
    data = ApiClient(home_from(args)).call("POST", _path(args.id, args.terms_command), body)
    emit(data, negotiation_text, as_json=args.json)
    return 0


def _list_text(d: Mapping[str, Any]) -> str:
    if not d["negotiations"]:
        return "no negotiations yet: `amity terms offer PEER --roster P2B1` opens one"
    lines = [f"{'id':<8}  {'state':<10} {'turn':<5} {'peer':<18} {'terms':<34} deadline"]
    for n in d["negotiations"]:
        turn = ("you" if n["our_turn"] else "peer") if n["open"] else "-"
        lines.append(
            f"{n['id'][:8]}  {n['state']:<10} {turn:<5} {(n['peer_name'] or '-')[:18]:<18} "
            f"{n['terms']['title'][:34]:<34} {n['expires'] if n['open'] else '-'}"
        )
    return "\n".join(lines)


def _status_line(n: Mapping[str, Any]) -> str:
    short = n["id"][:8]
    if n["open"] and n["our_turn"]:
        return (
            f"{n['state']}, your turn before {n['expires']}: amity terms accept|reject {short}, "
            f"or amity terms counter {short} --file FILE"
        )
    if n["open"]:
        return f"{n['state']}, waiting for the peer until {n['expires']} (or withdraw {short})"
    if n["agreement_id"]:
        return f"agreed: agreement {n['agreement_id']} (amity agreements {n['agreement_id'][:8]})"
    return str(n["state"])


def terms_lines(terms: Mapping[str, Any]) -> list[str]:
    """A terms document for people: title, id (and roster name), one line per clause."""
    roster = f", roster {terms['roster']}" if terms["roster"] else ""
    lines = [
        f"terms:       {terms['title'] or '(untitled)'} (id {terms['terms_id'][:16]}…{roster})"
    ]
    lines += [f"  - {c['text']}" for c in terms["clauses"]]
    return lines


def negotiation_text(n: Mapping[str, Any]) -> str:
    peer = f"{n['peer_name'] or '(no name)'} {n['peer']}"
    lines = [
        f"negotiation {n['id']}",
        f"with:        {peer} (we are the {n['we_are']})",
        f"state:       {_status_line(n)}",
        f"round:       {n['rounds']} of {MAX_ROUNDS}, these terms proposed by "
        f"{'us' if n['proposed_by'] == 'us' else 'the peer'}",
        *terms_lines(n["terms"]),
    ]
    if n["amends"]:
        lines.append(f"amends:      agreement {n['amends']}")
    lines += [f"reason:      {r['clause'] or 'terms'}: {r['reason']}" for r in n["reasons"]]
    return "\n".join(lines)
