"""``amity agreements`` and ``amity verify``: the signed agreements, kept, exported and checked."""

from __future__ import annotations

import argparse
import base64
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amity.node.cli.client import ApiClient, add_home_option, home_from
from amity.node.cli.render import CliError, add_json_option, emit
from amity.node.cli.terms import terms_lines
from amity.node.terms.data import agreement_to_data
from amity.protocol.agreement import MAX_AGREEMENT_BYTES, Agreement

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    agreements = commands.add_parser(
        "agreements",
        help="agreements your node holds: list, show one, export one to a file",
        description=(
            "An agreement is one terms document signed by both parties (the person and the "
            "vendor), byte for byte the same on both nodes. It is in force while the "
            "relationship it was signed in lasts, until amended; when that relationship ends it "
            "ends too (a new relationship needs a new agreement). Without arguments: every "
            "agreement, newest first, with its state. With ID: that one. With --export ID "
            "FILE: write its exact signed bytes to FILE, which anyone can check with "
            "`amity verify FILE`."
        ),
        epilog=(
            "exit status: 0 done; 1 unknown id, or the file cannot be written; 2 bad command "
            "line. IDs may be shortened to their first (at least 4) hex digits."
        ),
    )
    add_home_option(agreements)
    agreements.add_argument("id", nargs="?", help="an agreement id (or its first hex digits)")
    agreements.add_argument(
        "--export", nargs=2, metavar=("ID", "FILE"), help="write agreement ID's bytes to FILE"
    )
    agreements.set_defaults(handler=_agreements)

    verify = commands.add_parser(
        "verify",
        help="check an exported agreement file offline: both signatures, terms, parties",
        description=(
            "Check an agreement file with nothing but its bytes (no node, no network): the "
            "encoding, the terms and their id, and both parties' signatures. Prints who agreed "
            "to what, and when."
        ),
        epilog=(
            "exit status: 0 the agreement verifies; 1 the file cannot be read; 3 it does not "
            "verify (tampered, or not an agreement): the error code says why, for instance "
            "agreement.bad_signature or agreement.terms_mismatch."
        ),
    )
    verify.add_argument("file", type=Path, help="the agreement file (`amity agreements --export`)")
    add_json_option(verify)
    verify.set_defaults(handler=_verify)


def _agreement_path(aid: str) -> str:
    return f"/api/agreements/{urllib.parse.quote(aid, safe='')}"


def _agreements(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    if args.export:
        aid, target = args.export
        data = client.call("GET", _agreement_path(aid))
        encoded = base64.b64decode(data["agreement_b64"])
        Agreement.decode(encoded)  # what we write must verify
        try:
            Path(target).write_bytes(encoded)
        except OSError as exc:
            raise CliError(f"cannot write {target}: {exc.strerror}") from None
        result = {"agreement_id": data["agreement_id"], "file": target, "bytes": len(encoded)}
        emit(result, _export_text, as_json=args.json)
        return 0
    if args.id:
        emit(client.call("GET", _agreement_path(args.id)), agreement_text, as_json=args.json)
        return 0
    emit(client.call("GET", "/api/agreements"), _list_text, as_json=args.json)
    return 0


def _export_text(d: Mapping[str, Any]) -> str:
    return (
        f"wrote agreement {d['agreement_id'][:16]}… ({d['bytes']} bytes) to {d['file']}; "
        f"anyone can check it: amity verify {d['file']}"
    )


def _list_text(d: Mapping[str, Any]) -> str:
    if not d["agreements"]:
        return "no agreements yet: `amity terms offer PEER --roster P2B1` starts one"
    lines = [f"{'id':<16}  {'state':<9} {'concluded':<24} {'terms':<34} peer"]
    for a in d["agreements"]:
        lines.append(
            f"{a['agreement_id'][:16]}  {a['state']:<9} {a['concluded'] or a['agreed']:<24} "
            f"{a['terms']['title'][:34]:<34} {a['peer']}"
        )
        check = a.get("policy_check")
        if check is not None and check["welcome"] is False:
            lines.append(f"{'':<18}its vendor's policy now: {check['words']}")
    return "\n".join(lines)


def agreement_text(d: Mapping[str, Any]) -> str:
    lines = [
        f"agreement {d['agreement_id']}",
        f"person:      {d['person']}",
        f"vendor:      {d['vendor']}",
        f"agreed:      {d['agreed']} (the proposer's time, signed by both; "
        f"negotiation {d['negotiation_id']})",
        *terms_lines(d["terms"]),
    ]
    if d.get("concluded"):
        lines.insert(4, f"concluded:   {d['concluded']} (when this node reached agreement)")
    if d.get("superseded_by"):
        lines.append(f"superseded by agreement {d['superseded_by']}")
    if d.get("ended"):
        lines.append(f"ended:       {d['ended']}, with the relationship it was signed in")
    check = d.get("policy_check")
    if check is not None:
        lines.append(f"policy now:  {check['unreadable'] or check['words']}")
    return "\n".join(lines)


def _verify(args: argparse.Namespace) -> int:
    try:
        with open(args.file, "rb") as handle:
            encoded = handle.read(MAX_AGREEMENT_BYTES + 1)
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    agreement = Agreement.decode(encoded)  # AmityError (exit 3) names what is wrong
    data = {"verified": True, **agreement_to_data(agreement)}
    emit(data, lambda d: "both signatures verify\n" + agreement_text(d), as_json=args.json)
    return 0
