"""``amity vault …``: your own data, typed and sealed at rest, shared only inside grants."""

from __future__ import annotations

import argparse
import urllib.parse
from collections.abc import Mapping
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from
from amity.node.cli.render import emit
from amity.node.grants.fields import TYPE_HELP

__all__ = ["register", "value_text"]

_TYPES = "\n".join(f"  {name:<15} {text}" for name, text in TYPE_HELP.items())
_EXITS = """\
exit status: 0 done; 1 the node could not do it (no such field, a value its type refuses: the
message says which rule); 2 bad command line."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "vault",
        help="your data: typed fields, sealed at rest, shared only inside grants",
        description=(
            "Your vault keeps typed fields (name, email, postal address, phone, birth date, "
            "sizes and preferences, free text), each sealed with a key derived from your "
            "identity seed before it reaches the disk. Nothing leaves it except inside a grant "
            "you sign (`amity grant`), sealed to the one peer you grant it to."
        ),
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="vault_command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        return add_command(sub, name, help_text, _HANDLERS[name], description, _EXITS)

    put = command(
        "set",
        "store or replace a field",
        "Store a field under NAME (lower case, digits, '-'), checked against its TYPE's rules "
        "and sealed. By convention your main field of a type is named after the type (email, "
        "postal-address, birth-date): derived claims such as age-over use those. A changed "
        "value goes at once to every peer that holds the field under a live grant (a new "
        "version under the same grant; each signs a receipt that the old value is deleted); "
        "the command lists who was updated, and who was not and why.\n\n"
        f"types and how to write their values:\n{_TYPES}",
    )
    put.add_argument("name", help="the field's name, e.g. email or work-email")
    put.add_argument("type", choices=list(TYPE_HELP), metavar="TYPE", help="the field's type")
    put.add_argument("value", help="the value (quote it in the shell)")
    get = command("get", "show one field's value", "Open one field and print its value.")
    get.add_argument("name", help="the field's name")
    command("list", "names and types of your fields (never values)", "List names and types.")
    remove = command("remove", "delete a field from your vault", "Delete one field.")
    remove.add_argument("name", help="the field's name")


def _path(name: str) -> str:
    return f"/api/vault/{urllib.parse.quote(name, safe='')}"


def value_text(d: Mapping[str, Any]) -> str:
    """A field or claim value on one line, as it is typed."""
    value = d["value"]
    if d["type"] == "claim":
        return str(d["statement"])
    if isinstance(value, dict) and d["type"] == "postal-address":
        return "; ".join(value.values())
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _set(args: argparse.Namespace) -> int:
    body = {"type": args.type, "value": args.value}
    data = ApiClient(home_from(args)).call("PUT", _path(args.name), body)
    emit(data, _set_text, as_json=args.json)
    return 0


def _set_text(d: Mapping[str, Any]) -> str:
    lines = [f"{d['name']} ({d['type']}) stored, sealed at rest"]
    for u in d.get("updates", []):
        who = u["peer_name"] or u["peer"]
        if u["updated"]:
            lines.append(f"  updated  {who}: grant {u['grant'][:8]}, version {u['version']}")
        else:
            lines.append(f"  not      {who}: grant {u['grant'][:8]}, {u['why_not']}")
    if len(lines) > 1:
        lines.append("each updated peer signs a receipt that the old value is deleted")
    return "\n".join(lines)


def _get(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("GET", _path(args.name))
    emit(data, lambda d: f"{d['name']} ({d['type']}): {value_text(d)}", as_json=args.json)
    return 0


def _list(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("GET", "/api/vault")
    emit(data, _list_text, as_json=args.json)
    return 0


def _list_text(d: Mapping[str, Any]) -> str:
    if not d["fields"]:
        return "your vault is empty: amity vault set email email you@example.org"
    return "\n".join(f"{f['name']:<24} {f['type']}" for f in d["fields"])


def _remove(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("DELETE", _path(args.name))
    emit(data, lambda d: f"{d['name']} removed from your vault", as_json=args.json)
    return 0


_HANDLERS = {"set": _set, "get": _get, "list": _list, "remove": _remove}
