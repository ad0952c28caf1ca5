"""``amity webhook add|list|remove|deliveries|replay``: feed the vendor's CRM (spec/webhooks.md)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from
from amity.node.cli.render import CliError, emit, paragraphs
from amity.protocol.errors import UsageError, WebhookSecretError
from amity.protocol.webhooks import (
    EVENTS,
    SECRET_BYTES,
    check_events,
    check_url,
    format_secret,
    parse_secret,
)

__all__ = ["register"]

_EXITS = """\
exit status: 0 done; 1 the node could not do it (a bad URL, an unknown event, an unknown
number: the message says what to do), or the node is not running; 2 bad command line.

events: """ + ", ".join(EVENTS)

_ABOUT = paragraphs(
    "Tell your CRM what happens between your node and your customers, as it happens: the node "
    "POSTs one JSON body per event to each URL subscribed to it, signed as Standard Webhooks "
    "say (headers webhook-id, webhook-timestamp and webhook-signature: v1,base64 of "
    "HMAC-SHA256 over id.timestamp.body with the subscription's secret, whsec_...). Your "
    "receiver checks the signature, answers 2xx, and keeps each webhook-id once: delivery is "
    "at least once.",
    "The queue is in the node's own database, written in the same transaction as what causes "
    "each event. A receiver that is down or answers an error is tried again later, each wait "
    "about twice the last (config.toml [webhooks]); after the last attempt the delivery is "
    "dead, and `amity webhook replay --dead` sends them again. Delivery never slows the node: "
    "a CRM that is down costs it nothing else. The URL must be reachable from the machine the "
    "node runs on (often http://127.0.0.1:PORT/... or an address on your own network).",
    "Events: " + ", ".join(EVENTS) + ". See spec/webhooks.md for each event's data.",
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "webhook",
        help="feed your CRM: signed webhooks for each relationship, agreement, grant, deletion",
        description=_ABOUT,
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="webhook_command", metavar="COMMAND", required=True)
    add = add_command(
        sub,
        "add",
        "subscribe a URL to events",
        _add,
        paragraphs(
            "Subscribe URL (http:// or https://, reachable from this machine) to --events. "
            "Deliveries are signed with the secret in --secret-file: if that file does not "
            "exist, a new secret is made and written there (mode 0600) for your receiver to "
            "read; if it does, the secret in it (whsec_ + base64) is used.",
            "Example: amity webhook add https://crm.example.com/amity --events "
            "relationship.opened,grant.given,deletion.due --secret-file ~/crm-webhook.secret",
        ),
        _EXITS,
    )
    add.add_argument("url", help="where to POST: http(s)://host[:port]/path")
    add.add_argument(
        "--events",
        required=True,
        help="comma-separated event names, or 'all' (" + ", ".join(EVENTS) + ")",
    )
    add.add_argument(
        "--secret-file",
        required=True,
        type=Path,
        metavar="FILE",
        help="the signing secret: read if FILE exists, else made and written there (0600)",
    )
    add_command(
        sub,
        "list",
        "the subscriptions and their deliveries by state",
        _list,
        "List each subscription (number, URL, events; never its secret), then how many "
        "deliveries are pending, delivered and dead.",
        _EXITS,
    )
    remove = add_command(
        sub,
        "remove",
        "unsubscribe a URL (its queued deliveries are dropped)",
        _remove,
        "Remove subscription ID (a number from `amity webhook list`) and its deliveries.",
        _EXITS,
    )
    remove.add_argument("id", type=int, help="the subscription's number")
    deliveries = add_command(
        sub,
        "deliveries",
        "the newest deliveries: state, attempts, last error, next attempt",
        _deliveries,
        "Show the newest deliveries first: each one's number, event, webhook-id, state "
        "(pending: waiting for its next attempt; delivered: the receiver answered 2xx; dead: "
        "its attempts ran out, see `amity webhook replay`), attempts and last error.",
        _EXITS,
    )
    deliveries.add_argument("--state", choices=("pending", "delivered", "dead"))
    deliveries.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    replay = add_command(
        sub,
        "replay",
        "send deliveries again: one by its number, or every dead one",
        _replay,
        "Queue delivery DELIVERY_ID again (whatever its state), or with --dead every dead "
        "delivery: due at once, attempts counted afresh, the same webhook-id and body (a "
        "receiver that kept the id ignores what it had).",
        _EXITS,
    )
    replay.add_argument("delivery", nargs="?", type=int, metavar="DELIVERY_ID")
    replay.add_argument("--dead", action="store_true", help="every dead delivery")


def _events(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return list(EVENTS)
    try:
        return list(check_events(names))
    except UsageError as exc:
        raise CliError(exc.message) from None


def _read_secret(path: Path) -> str | None:
    """The secret in ``path`` (None: no such file); CliError if it holds no usable one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the secret in {path}: {exc}") from None
    try:
        parse_secret(text)
    except WebhookSecretError as exc:
        raise CliError(
            f"{path} holds no usable secret: {exc.message}; remove it to have one made"
        ) from None
    return text.strip()


def _new_secret(path: Path) -> str:
    """A new secret, written to ``path`` (which must not exist) with mode 0600."""
    secret = format_secret(os.urandom(SECRET_BYTES))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise CliError(f"cannot write the secret to {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secret + "\n")
    return secret


def _add(args: argparse.Namespace) -> int:
    try:
        url = check_url(args.url)
    except UsageError as exc:
        raise CliError(exc.message) from None
    events = _events(args.events)
    secret = _read_secret(args.secret_file)
    client = ApiClient(home_from(args))
    made = secret is None
    if secret is None:
        secret = _new_secret(args.secret_file)
    data = client.call("POST", "/api/webhooks", {"url": url, "events": events, "secret": secret})
    where = str(args.secret_file.resolve())
    shown = {**data, "secret_file": where, "secret_made": made}
    said = "a new secret is in" if made else "signed with the secret in"
    emit(
        shown,
        lambda d: (
            f"webhook {d['id']}: {d['url']} gets {', '.join(d['events'])}\n"
            f"{said} {where}; give it to your receiver"
        ),
        as_json=args.json,
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    emit(ApiClient(home_from(args)).call("GET", "/api/webhooks"), _list_text, as_json=args.json)
    return 0


def _list_text(d: Mapping[str, Any]) -> str:
    counts = d["deliveries"]
    tally = f"deliveries: {counts['pending']} pending, {counts['delivered']} delivered, " + (
        f"{counts['dead']} dead"
    )
    if not d["webhooks"]:
        return (
            "no webhooks: `amity webhook add URL --events grant.given --secret-file F` "
            f"subscribes one\n{tally}"
        )
    lines = [f"{w['id']:>4}  {w['url']}  {', '.join(w['events'])}" for w in d["webhooks"]]
    return "\n".join([*lines, tally])


def _remove(args: argparse.Namespace) -> int:
    data = ApiClient(home_from(args)).call("DELETE", f"/api/webhooks/{args.id}")
    emit(data, lambda d: f"removed webhook {d['removed']}", as_json=args.json)
    return 0


def _deliveries(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 1000:
        raise CliError("--limit is a whole number from 1 to 1000")
    query = f"?limit={args.limit}" + (f"&state={args.state}" if args.state else "")
    data = ApiClient(home_from(args)).call("GET", "/api/webhooks/deliveries" + query)
    emit(data, _deliveries_text, as_json=args.json)
    return 0


def _deliveries_text(d: Mapping[str, Any]) -> str:
    if not d["deliveries"]:
        return "no deliveries"
    lines = []
    for x in d["deliveries"]:
        line = f"{x['id']:>6}  {x['state']:<9} {x['event']:<20} {x['message_id']}  "
        line += f"attempts {x['attempts']}"
        if x["state"] == "pending" and x["next_attempt"]:
            line += f", next {x['next_attempt']}"
        if x["state"] == "delivered":
            line += f", delivered {x['delivered']}"
        if x["last_error"] and x["state"] != "delivered":
            line += f" ({x['last_error']})"
        lines.append(line)
    return "\n".join(lines)


def _replay(args: argparse.Namespace) -> int:
    if args.delivery is None and not args.dead:
        raise CliError("name a delivery (its number from `amity webhook deliveries`), or --dead")
    body: dict[str, Any] = {"ids": [] if args.delivery is None else [args.delivery]}
    body["dead"] = bool(args.dead)
    data = ApiClient(home_from(args)).call("POST", "/api/webhooks/replay", body)
    emit(data, lambda d: f"queued again: {d['replayed']}", as_json=args.json)
    return 0
