"""``amity policy …``: the terms a node accepts, counters or rejects by itself (policy.toml)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amity.node.cli.client import ApiClient, add_home_option, home_from
from amity.node.cli.render import CliError, add_json_option, emit
from amity.node.terms.data import (
    quote_rule_json,
    read_terms_file,
    terms_from_data,
    terms_to_data,
)
from amity.protocol.core.intents.rulefile import parse_answer_rules
from amity.protocol.policy import Decision, parse_policy
from amity.protocol.policy import evaluate as evaluate_policy
from amity.protocol.terms import ROSTER, TermsDocument

__all__ = ["register"]

_ABOUT = """\
A policy file says, clause by clause, what this node answers to terms it is offered: accept,
accept within ranges, counter with other parameters, reject, or ask-human (wait for you). It
lives in <home>/policy.toml and is read again whenever it changes. Example:

  version = 1
  vocabulary = 1
  default = "ask-human"          # clauses not named below: "reject" or "ask-human"
  [clause."amity.no-tracking"]
  action = "accept"
  [clause."amity.delete-on-end"]
  action = "within"
  days = { min = 30 }
  counter = { days = 30 }

The same file may answer intents by itself (spec/intents.md §5.2):

  [[intents.answer]]
  categories = ["goods.bicycles"]
  price = "249EUR"               # one unit; her quantity times it must fit her budget
  regions = ["FR"]               # optional
  lead_time = "3d"               # optional: ready this long after answering
  valid = "2d"                   # optional: how long the offer holds

The full format is spec/terms.md §5.2; the decisions it leads to, §6.

exit status: 0 done; 1 the policy has a mistake (the message names the line and field), or the
node could not do it; 2 bad command line."""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "policy",
        help="what your node answers to offered terms by itself (policy.toml)",
        description=_ABOUT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
        parser = sub.add_parser(
            name,
            help=help_text,
            description=f"{help_text[0].upper()}{help_text[1:]}.\n\n{_ABOUT}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.set_defaults(handler=handler)
        return parser

    add_home_option(command("show", "show the policy in force on the running node", _show))
    check = command(
        "check",
        "check a policy file offline and show what it decides for each roster agreement",
        _check,
    )
    check.add_argument("file", type=Path, help="the policy file (TOML)")
    check.add_argument(
        "--terms", type=Path, metavar="FILE", help="decide on this terms file instead of the roster"
    )
    add_json_option(check)
    install = command("set", "check a policy file and put it in force on the running node", _set)
    install.add_argument("file", type=Path, help="the policy file (TOML)")
    add_home_option(install)


def _show(args: argparse.Namespace) -> int:
    emit(ApiClient(home_from(args)).call("GET", "/api/policy"), _policy_text, as_json=args.json)
    return 0


def _set(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("PUT", "/api/policy", {"toml": _read(args.file)})
    emit(data, _set_text, as_json=args.json)
    return 0


def _set_text(d: Mapping[str, Any]) -> str:
    """The policy now in force, then what its change means (spec/signals.md §4)."""
    change = d["change"]
    lines = [_policy_text(d)]
    if change["changes"]:
        lines.append("changed:")
        lines += [f"  {c['clause']}: {c['before']} -> now {c['after']}" for c in change["changes"]]
    if change["told"]:
        lines.append(f"told {change['told']} connected peer(s) of the new policy")
    worse = [a for a in change["agreements"] if a["welcome"] is False]
    if worse:
        lines.append(
            f"{len(worse)} agreement(s) in force hold terms this policy would not sign now; "
            "they still bind you until amended (`amity terms offer PEER ... ` with the terms "
            "you want, which the customer may refuse):"
        )
        lines += [f"  {a['agreement_id'][:16]}  {a['words']}" for a in worse[:20]]
        if len(worse) > 20:
            lines.append(f"  … and {len(worse) - 20} more (--json lists them all)")
    return "\n".join(lines)


def _policy_text(d: Mapping[str, Any]) -> str:
    if not d["present"]:
        return (
            f"no policy file ({d['path'] or 'none kept'}): every offer waits for you.\n"
            "Write one, test it with `amity policy check FILE`, install it with "
            "`amity policy set FILE`."
        )
    if not d["in_force"]:
        return f"the policy in {d['path']} is NOT in force: {d['error']['message']}"
    lines = [
        f"policy in force: {d['path']}",
        f"clauses it does not name: {d['default']}",
    ]
    for rule in d["rules"]:
        extra = f" (otherwise {rule['otherwise']})" if rule["action"] == "within" else ""
        reason = f'  "{rule["reason"]}"' if rule["reason"] else ""
        lines.append(f"  {rule['clause']:<30} {rule['action']}{extra}{reason}")
    return "\n".join(lines + _intent_rules_text(d["intent_rules"]))


def _intent_rules_text(rules: list[Mapping[str, Any]]) -> list[str]:
    if not rules:
        return ["intents it answers by itself: none (each waits for you in `amity intent inbox`)"]
    lines = ["intents it answers by itself, first rule that fits:"]
    for r in rules:
        where = f" in {', '.join(r['regions'])}" if r["regions"] else ""
        lines.append(
            f"  {', '.join(r['categories'])}{where}: {r['price']} each, under "
            f"{', '.join(r['terms'])}, ready in {r['lead_time_s']} s, valid {r['valid_s']} s"
        )
    return lines


def _check(args: argparse.Namespace) -> int:
    text = _read(args.file)
    policy = parse_policy(text)  # PolicyError: exit 1 with line and field
    intent_rules = [quote_rule_json(r) for r in parse_answer_rules(text, policy)]
    if args.terms is not None:
        cases = [("terms file", terms_from_data(read_terms_file(args.terms)))]
    else:
        cases = [(entry.name, entry.document) for entry in ROSTER.values()]
    decisions = [_decision(name, doc, evaluate_policy(policy, doc)) for name, doc in cases]
    data = {"file": str(args.file), "valid": True, "default": policy.default.value}
    data["intent_rules"] = intent_rules
    emit({**data, "decisions": decisions}, _check_text, as_json=args.json)
    return 0


def _decision(name: str, doc: TermsDocument, decision: Decision) -> dict[str, Any]:
    return {
        "name": name,
        "title": doc.title,
        "terms_id": doc.terms_id.hex(),
        "decision": decision.kind.value,
        "reasons": [{"clause": r.clause_id, "reason": r.reason} for r in decision.reasons],
        "open_clauses": list(decision.open_clauses),
        "countered": list(decision.countered),
        "counter": None if decision.counter is None else terms_to_data(decision.counter),
    }


def _check_text(d: Mapping[str, Any]) -> str:
    lines = [f"{d['file']}: a valid policy (clauses it does not name: {d['default']})"]
    for case in d["decisions"]:
        name = case["title"] if case["name"] == "terms file" else case["name"]
        lines.append(f"{name}: {case['decision']}")
        lines += [f"    {r['clause'] or 'terms'}: {r['reason']}" for r in case["reasons"]]
        lines += [f"    left to you: {clause}" for clause in case["open_clauses"]]
        if case["counter"] is not None:
            changed = [c for c in case["counter"]["clauses"] if c["id"] in case["countered"]]
            lines += [f"    counters with: {c['text']}" for c in changed]
    return "\n".join(lines + _intent_rules_text(d["intent_rules"]))
