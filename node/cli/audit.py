"""``amity log`` and ``amity receipts``: the hash-chained audit trail and the evidence kept."""

from __future__ import annotations

import argparse
import json
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amity.node.cli.client import ApiClient, add_home_option, home_from, resolve_peer
from amity.node.cli.render import CliError, add_json_option, emit

__all__ = ["register"]

_EXITS = """\
exit status: 0 done; 1 the node could not do it (unknown grant id, a file that cannot be
written); 2 bad command line; 3 the audit log failed verification (audit.broken_chain: an
entry was edited, removed, inserted or reordered, or the log was cut)."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    log = commands.add_parser(
        "log",
        help="the audit trail (about one peer): every grant step, chain verified",
        description=(
            "Show the node's audit log: offers, grants, deliveries, reads, refusals, "
            "revocations, deletions, receipts, holdings statements. Each entry names the hash "
            "of the one before it; the whole chain is verified against the head kept beside it "
            "before anything is shown."
        ),
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_home_option(log)
    log.add_argument("peer", nargs="?", help="only entries about this peer (did:key or name)")
    log.set_defaults(handler=_log)

    receipts = commands.add_parser(
        "receipts",
        help="receipts peers signed for your grants; consent receipts as JSON",
        description=(
            "`amity receipts list [GRANT]`: the delivery and deletion receipts your grantees "
            "signed. `amity receipts export GRANT`: the grant as a consent receipt (Kantara "
            "Consent Receipt v1.1 / ISO/IEC TS 27560 shape) carrying the signed grant, and signed "
            "by your node as a JWS (EdDSA), so that it is evidence on its own. `amity receipts "
            "verify FILE.jws` checks one offline, with nothing but the file."
        ),
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = receipts.add_subparsers(dest="receipts_command", metavar="COMMAND", required=True)
    listing = sub.add_parser("list", help="delivery and deletion receipts, oldest first")
    add_home_option(listing)
    listing.add_argument("grant", nargs="?", help="only those of this grant")
    listing.set_defaults(handler=_list)
    export = sub.add_parser("export", help="a grant as a signed consent receipt")
    add_home_option(export)
    export.add_argument("grant", help="the grant id (or its first hex digits)")
    export.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write it to FILE: the signed receipt (compact JWS) if FILE ends in .jws, else the "
        "receipt's JSON",
    )
    export.set_defaults(handler=_export)
    check = sub.add_parser("verify", help="check a signed consent receipt offline")
    check.add_argument("file", type=Path, help="the .jws file `amity receipts export` wrote")
    add_json_option(check)
    check.set_defaults(handler=_verify)


def _log(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    path = "/api/audit"
    if args.peer:
        path += "?" + urllib.parse.urlencode({"peer": resolve_peer(client, args.peer)})
    emit(client.call("GET", path), _log_text, as_json=args.json)
    return 0


def _log_text(d: Mapping[str, Any]) -> str:
    head = d["head"]
    lines = [f"audit log: chain of {head['length']} entries verified (head {head['hash'][:16]}…)"]
    for e in d["entries"]:
        subject = f" {e['subject'][:8]}" if e["subject"] else ""
        lines.append(f"#{e['index']:<4} {e['at']}  {e['kind']:<18}{subject}  {e['detail']}")
    if not d["entries"]:
        lines.append("no entries" + (" about that peer" if head["length"] else ""))
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    path = "/api/receipts"
    if args.grant:
        path += "?" + urllib.parse.urlencode({"grant": args.grant})
    emit(ApiClient(home_from(args)).call("GET", path), _list_text, as_json=args.json)
    return 0


def _list_text(d: Mapping[str, Any]) -> str:
    lines = []
    for r in d["receipts"]:
        what = f"deleted ({r['reason']}) {r['deleted']}" if r["kind"] == "deletion" else "held"
        lines.append(f"{r['grant_id'][:8]}  {r['kind']:<9} {what}  signed by {r['peer']}")
    return "\n".join(lines) or "no receipts yet"


def _export(args: argparse.Namespace) -> int:
    path = f"/api/grants/{urllib.parse.quote(args.grant, safe='')}/consent-receipt"
    signed = ApiClient(home_from(args)).call("GET", path)
    record = signed["receipt"]
    if args.out is None:
        emit(signed, lambda d: json.dumps(d, indent=2, sort_keys=True), as_json=args.json)
        return 0
    text = (
        signed["jws"]
        if args.out.suffix == ".jws"
        else json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False)
    )
    try:
        args.out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    result = {"file": str(args.out), "consentReceiptID": record["consentReceiptID"]}
    emit(
        result,
        lambda d: f"wrote consent receipt {d['consentReceiptID']} to {d['file']}",
        as_json=args.json,
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from amity.protocol.audit import read_consent_receipt

    try:
        token = args.file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {args.file}: {getattr(exc, 'strerror', exc)}") from None
    signer, receipt, grant = read_consent_receipt(token)
    party = "the person (grantor)" if signer == grant.grantor else "the vendor (grantee)"
    data = {
        "verified": True,
        "signed_by": signer.did,
        "signed_by_party": party,
        "consentReceiptID": receipt["consentReceiptID"],
        "grantor": grant.grantor.did,
        "grantee": grant.grantee.did,
        "purpose": grant.purpose,
        "fields": list(grant.fields),
        "receipt": receipt,
    }
    emit(data, _verify_text, as_json=args.json)
    return 0


def _verify_text(d: Mapping[str, Any]) -> str:
    return (
        f"verified: consent receipt {d['consentReceiptID']}, signed by {d['signed_by_party']}\n"
        f"grantor: {d['grantor']}\ngrantee: {d['grantee']}\n"
        f"purpose: {d['purpose']}; fields: {', '.join(d['fields'])}"
    )
