"""``amity ui``: a one-time link that signs a browser in to this node's dashboard."""

from __future__ import annotations

import argparse
import webbrowser
from collections.abc import Mapping
from typing import Any

from amity.node.cli.client import ApiClient, add_command, home_from
from amity.node.cli.render import CliError, emit
from amity.node.home import HomeError, parse_hostport

__all__ = ["register"]

_EXITS = """\
exit status: 0 a link was made (and, with --open, handed to the browser); 1 the node is not
running, or no browser could be started (the link is printed all the same); 2 bad command line."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        commands,
        "ui",
        "open your dashboard in a browser (prints a one-time login link)",
        _ui,
        "Your node serves its own web pages on its local API address (loopback only): your "
        "relationships, what you agreed, what you shared and with whom, your vault, "
        "invitations. This prints a link that signs one browser in; it works once, for ten "
        "minutes. Nothing is loaded from another site.",
        _EXITS,
    )
    parser.add_argument("--open", action="store_true", help="also open it in your web browser")


def _ui(args: argparse.Namespace) -> int:
    home = home_from(args)
    made = ApiClient(home).call("POST", "/api/ui/login")
    try:
        host, port = parse_hostport(home.api_address_path.read_text(encoding="utf-8").strip(), "")
    except (OSError, HomeError):
        raise CliError(
            "the node does not say where its local API listens (no api.address in its home); "
            "restart it with `amity run`"
        ) from None
    where = f"[{host}]" if ":" in host else host
    data: dict[str, Any] = {
        "url": f"http://{where}:{port}{made['path']}",
        "expires": made["expires"],
    }
    if args.open:
        data["opened"] = webbrowser.open(data["url"])
    emit(data, _text, as_json=args.json)
    if args.open and not data["opened"]:
        raise CliError("no web browser could be started here; open the link above yourself")
    return 0


def _text(d: Mapping[str, Any]) -> str:
    return f"{d['url']}\nopen this link in your browser; it signs you in once, until {d['expires']}"
