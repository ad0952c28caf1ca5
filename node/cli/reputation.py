"""``amity attest|attestations|reputation|share-policy|rebut|vouch``: federated reputation.

Your node says how a peer kept an agreement by signing an attestation (you, or automatically
from your grants' receipts); it shares them only with the peers you choose; it computes its own
trust from what it holds, and cuts off a vendor whose standing falls under your threshold.
"""

from __future__ import annotations

import argparse
import datetime
import urllib.parse
from collections.abc import Mapping
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from, resolve_peer
from amity.node.cli.options import Duration
from amity.node.cli.render import CliError, emit

__all__ = ["register"]

_EXITS = """\
exit status: 0 done; 1 the node could not do it (no agreement with that peer, an unknown id, not
connected: the message says what to do); 2 bad command line; 3 a peer's answer failed
verification. PEER is a did:key, or a name as `amity peers` shows it; IDs may be shortened to
their first (at least 4) hex digits."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def command(
        name: str, help_text: str, handler: Any, description: str
    ) -> argparse.ArgumentParser:
        return add_command(commands, name, help_text, handler, description, _EXITS)

    attest = command(
        "attest",
        "sign what you say of how a peer kept one clause of your agreement",
        _attest,
        "Sign an attestation: PEER honoured, breached or disputes CLAUSE of your agreement "
        "with it (the newest, or --agreement). It carries the whole agreement, so anyone can "
        "check you are a party; it is shared only as your share policies say. Your node also "
        "attests by itself from your grants: a deletion receipt in time is 'honoured', none "
        "by the deadline 'breached' (those wait for your review unless auto-share is on).",
    )
    attest.add_argument("peer", help="the peer it is about")
    attest.add_argument("--clause", required=True, help="a clause id, e.g. amity.delete-on-end")
    attest.add_argument(
        "--verdict", required=True, choices=["honoured", "breached", "disputed"], help="verdict"
    )
    attest.add_argument("--agreement", metavar="ID", help="the agreement (default: the newest)")
    attest.add_argument(
        "--evidence", nargs="*", default=[], metavar="HASH", help="hex SHA-256 hashes it rests on"
    )
    attest.add_argument("--note", default="", help="a short note (280 bytes)")
    attest.add_argument(
        "--expires",
        type=Duration("an attestation", 86_400, 3650 * 86_400, unit_s=86_400),
        metavar="DURATION",
        help="how long it stays valid, in whole days (default: your policy's, 365d)",
    )

    attestations = command(
        "attestations",
        "attestations you made or received; review yours before they are shared",
        _attestations,
        "List the attestations your node holds: yours (with their review state: pending "
        "ones are not shared until you --approve them) and those peers shared with you, with "
        "any rebuttal their subject sent. --ask PEER --about SUBJECT asks PEER what it knows.",
    )
    attestations.add_argument("--about", metavar="PEER", help="only those about this peer")
    attestations.add_argument("--pending", action="store_true", help="only yours to review")
    attestations.add_argument("--approve", metavar="ID", help="share this one of yours")
    attestations.add_argument("--withhold", metavar="ID", help="keep this one of yours to you")
    attestations.add_argument("--ask", metavar="PEER", help="ask PEER about --about SUBJECT")
    attestations.add_argument(
        "--wait",
        type=Duration("the wait", 1, 3600),
        default=10,
        metavar="DURATION",
        help="for --ask's answer (default 10s)",
    )

    reputation = command(
        "reputation",
        "your local trust: a peer's score, standing and WHY; your cut-off policy",
        _reputation,
        "With PEER: its score (your personalised EigenTrust), its standing (-1 all breached .. "
        "+1 all honoured, from attesters you trust, each counted once) and why: every attester, "
        "its counts and weight, and your path of trust to it. Without PEER: every peer your "
        "trust reaches. The policy options change when a peer is cut off: below --threshold "
        "(with at least --min-evidence), your node refuses new grants to it and warns about, "
        "or revokes, live ones.",
    )
    reputation.add_argument("peer", nargs="?", help="the peer to explain")
    reputation.add_argument("--threshold", type=float, help="cut off below this standing (0)")
    reputation.add_argument("--min-evidence", type=float, help="evidence a cut-off needs (0.5)")
    reputation.add_argument(
        "--on-existing", choices=["warn", "revoke"], help="live grants to a cut-off peer"
    )
    reputation.add_argument(
        "--auto-share", choices=["on", "off"], help="share automatic attestations unreviewed"
    )
    reputation.add_argument(
        "--grace",
        type=Duration("the grace", 1, 365 * 86_400),
        metavar="DURATION",
        help="how late a deletion receipt may come and still be in time (default 1h)",
    )

    share = command(
        "share-policy",
        "what you share with a peer: none, mine, or all (mine and what I received)",
        _share_policy,
        "Set what PEER receives from you: none (the default for everyone), mine (your own "
        "approved attestations) or all (yours and those you received, relayed at most --hops "
        "times from their attester). At most --per-hour attestations go to PEER in an hour. "
        "Without arguments: list your share policies.",
    )
    share.add_argument("peer", nargs="?", help="the peer")
    share.add_argument("mode", nargs="?", choices=["none", "mine", "all"], help="what to share")
    share.add_argument("--hops", type=int, help="relay received ones this far (1)")
    share.add_argument("--per-hour", type=int, help="rate limit (500)")

    rebut = command(
        "rebut",
        "answer an attestation about you; the answer travels with it",
        _rebut,
        "Sign a rebuttal of ATTESTATION (one about you) and send it to its attester and to "
        "the peer you got it from. Rebuttals change no score; they are shown beside it.",
    )
    rebut.add_argument("attestation", help="the attestation id")
    rebut.add_argument("--text", required=True, help="your answer (1000 bytes)")

    vouch = command(
        "vouch",
        "trust a peer's attestations as your own counterparties' (a friend)",
        _vouch,
        "Put PEER among the peers your trust starts from, as if you held an agreement with it "
        "(a friend whose word you take). --remove withdraws it. Without PEER: list them.",
    )
    vouch.add_argument("peer", nargs="?", help="the peer")
    vouch.add_argument("--remove", action="store_true", help="withdraw the vouch")


def _when(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def _attest(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    body: dict[str, Any] = {
        "peer": resolve_peer(client, args.peer),
        "clause": args.clause,
        "verdict": args.verdict,
        "evidence": args.evidence,
        "note": args.note,
    }
    if args.agreement:
        body["agreement"] = args.agreement
    if args.expires is not None:
        body["days"] = args.expires // 86_400
    data = client.call("POST", "/api/attestations", body)
    emit(
        data,
        lambda a: (
            f"attested: {a['subject_name']} {a['verdict']} {a['clause']}\n"
            f"attestation: {a['id']}\n"
            f"valid until {_when(a['expires_ms'])}; shared as your share policies say "
            "(`amity share-policy`)"
        ),
        as_json=args.json,
    )
    return 0


def _attestation_line(a: Mapping[str, Any]) -> str:
    who = "you" if a["mine"] else a["attester_name"]
    state = a["review"] if a["mine"] else f"from {a['from'][:20]}…, {a['hops']} hop(s)"
    auto = " (auto)" if a["automatic"] else ""
    line = (
        f"  {a['id'][:8]}  {who[:12]:<12} says {a['subject_name'][:14]:<14} "
        f"{a['verdict']:<9} {a['clause']:<26} {state}{auto}"
    )
    if a["note"]:
        line += f"\n            note: {a['note']}"
    for r in a["rebuttals"]:
        line += f"\n            rebuttal: {r['text']}"
    return line


def _attestations_text(d: Mapping[str, Any]) -> str:
    rows = d["attestations"]
    if not rows:
        return "no attestations yet: `amity attest PEER --clause … --verdict …`"
    return "\n".join(["attestations:", *(_attestation_line(a) for a in rows)])


def _attestations(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    if args.approve or args.withhold:
        if args.approve and args.withhold:
            raise CliError("--approve or --withhold, not both")
        which, action = (args.approve, "approve") if args.approve else (args.withhold, "withhold")
        path = f"/api/attestations/{urllib.parse.quote(which, safe='')}/{action}"
        data = client.call("POST", path)
        emit(
            data,
            lambda a: f"{a['review']}: {a['id'][:16]} ({a['verdict']} {a['subject_name']})",
            as_json=args.json,
        )
        return 0
    if args.ask:
        if not args.about:
            raise CliError("--ask PEER needs --about SUBJECT: what should it tell you about?")
        peer = resolve_peer(client, args.ask)
        about = resolve_peer(client, args.about)
        path = f"/api/reputation/{urllib.parse.quote(peer, safe='')}/ask"
        data = client.call("POST", path, {"about": about, "wait_s": args.wait})
        emit(
            data,
            lambda d: (
                (
                    f"{d['attestations']} attestation(s) from {d['asked'][:24]}…"
                    if d["answered"]
                    else "no answer in time (the peer may be offline; its answer is kept if it comes)"
                )
                + "\n"
                + _peer_text(d["reputation"])
            ),
            as_json=args.json,
        )
        return 0
    query: dict[str, str] = {}
    if args.about:
        query["about"] = resolve_peer(client, args.about)
    if args.pending:
        query["pending"] = "1"
    path = "/api/attestations" + ("?" + urllib.parse.urlencode(query) if query else "")
    emit(client.call("GET", path), _attestations_text, as_json=args.json)
    return 0


def _standing_text(s: Mapping[str, Any]) -> str:
    if s["value"] is None:
        return "unknown (no trusted evidence)"
    return f"{s['value']:+.2f} (trusted honoured {s['honoured']:.2f}, breached {s['breached']:.2f})"


def _peer_text(d: Mapping[str, Any]) -> str:
    flags = [f for f, on in (("pre-trusted", d["pretrusted"]), ("vouched", d["vouched"])) if on]
    lines = [
        f"{d['name']}  {d['peer']}" + (f"  [{', '.join(flags)}]" if flags else ""),
        f"score:    {d['score']:.6f}",
        f"standing: {_standing_text(d['standing'])}",
    ]
    if d["cut_off"]:
        lines.append(f"CUT OFF:  {d['reason']}")
    if not d["why"]:
        lines.append("why:      no attestation about this peer reaches you")
    else:
        lines.append("why:")
        for w in d["why"]:
            path = " → ".join(w["path_names"]) if w["path_names"] else "no path: weight 0"
            lines.append(
                f"  {w['attester_name'][:16]:<16} honoured {w['honoured']} breached "
                f"{w['breached']} disputed {w['disputed']}  attester weight "
                f"{w['attester_weight']:.2f}  score share {w['weight']:.4f}\n"
                f"    trust path: {path}"
            )
    return "\n".join(lines)


def _overview_text(d: Mapping[str, Any]) -> str:
    p = d["policy"]
    lines = [
        f"{d['held']} attestation(s) held; trust starts at {len(d['pretrusted'])} peer(s); "
        f"{d['iterations']} iteration(s)",
        f"policy: cut off below {p['threshold']:+.2f} on evidence >= {p['min_evidence']}; "
        f"live grants: {p['on_existing']}; auto-share: {'on' if p['auto_share'] else 'off'}; "
        f"receipt grace {p['receipt_grace_s']} s",
    ]
    if d["peers"]:
        lines.append(f"  {'peer':<16} {'score':>9}  standing")
        for peer in d["peers"]:
            cut = "  CUT OFF" if peer["cut_off"] else ""
            lines.append(
                f"  {peer['name'][:16]:<16} {peer['score']:9.6f}  "
                f"{_standing_text(peer['standing'])}{cut}"
            )
    return "\n".join(lines)


def _reputation(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    change: dict[str, Any] = {}
    for key, value in (
        ("threshold", args.threshold),
        ("min_evidence", args.min_evidence),
        ("on_existing", args.on_existing),
        ("receipt_grace_s", args.grace),
    ):
        if value is not None:
            change[key] = value
    if args.auto_share is not None:
        change["auto_share"] = args.auto_share == "on"
    if change:
        client.call("PUT", "/api/reputation/policy", change)
    if args.peer:
        peer = resolve_peer(client, args.peer)
        data = client.call("GET", f"/api/reputation/{urllib.parse.quote(peer, safe='')}")
        emit(data, _peer_text, as_json=args.json)
    else:
        emit(client.call("GET", "/api/reputation"), _overview_text, as_json=args.json)
    return 0


def _share_policy(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    if args.peer is None:
        data = client.call("GET", "/api/share-policies")
        emit(
            data,
            lambda d: (
                "\n".join(
                    f"  {p['name'][:16]:<16} {p['mode']:<5} hops {p['max_hops']} "
                    f"{p['per_hour']}/h, {p['shared']} shared"
                    for p in d["share_policies"]
                )
                or "you share with nobody (the default): amity share-policy PEER mine"
            ),
            as_json=args.json,
        )
        return 0
    if args.mode is None:
        raise CliError("say what to share with that peer: none, mine or all")
    body: dict[str, Any] = {"mode": args.mode}
    if args.hops is not None:
        body["max_hops"] = args.hops
    if args.per_hour is not None:
        body["per_hour"] = args.per_hour
    peer = resolve_peer(client, args.peer)
    data = client.call("PUT", f"/api/share-policies/{urllib.parse.quote(peer, safe='')}", body)
    emit(
        data,
        lambda p: (
            f"sharing {p['mode']} with {p['peer'][:24]}… (relayed ones up to {p['max_hops']} "
            f"hop(s), at most {p['per_hour']} an hour)"
        ),
        as_json=args.json,
    )
    return 0


def _rebut(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    path = f"/api/attestations/{urllib.parse.quote(args.attestation, safe='')}/rebut"
    data = client.call("POST", path, {"text": args.text})
    emit(
        data,
        lambda r: (
            f"rebuttal signed; sent to {len(r['sent_to'])} peer(s)"
            + ("" if r["sent_to"] else " (none reachable now: connect to the attester)")
        ),
        as_json=args.json,
    )
    return 0


def _vouch(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    if args.peer is None:
        data = client.call("GET", "/api/vouches")
        emit(
            data,
            lambda d: (
                "\n".join(f"  {v['name']}  {v['peer']}" for v in d["vouches"])
                or "you vouch for nobody yet: amity vouch PEER"
            ),
            as_json=args.json,
        )
        return 0
    peer = resolve_peer(client, args.peer)
    path = f"/api/vouches/{urllib.parse.quote(peer, safe='')}"
    data = client.call("DELETE" if args.remove else "PUT", path)
    emit(
        data,
        lambda v: ("vouched for " if v["vouched"] else "no longer vouching for ") + v["peer"],
        as_json=args.json,
    )
    return 0
