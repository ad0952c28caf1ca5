"""The CLI's client for a running node's local API (stdlib HTTP; the CLI stays light)."""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from amity.node.cli.render import CliError
from amity.node.home import Home, HomeError, resolve_home

__all__ = ["add_command", "add_home_option", "home_from", "ApiClient", "ApiError"]

_TIMEOUT_S = 30.0


class ApiError(CliError):
    """The node answered with an error (its code and message are passed on)."""

    def __init__(self, code: str, message: str, *, remote: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.remote = remote


def add_home_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="the node's home directory (default: $AMITY_HOME, else the platform data dir)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    handler: Any,
    description: str,
    epilog: str,
) -> argparse.ArgumentParser:
    """One subcommand that talks to a node: --home and --json, its handler, exit codes below."""
    parser = commands.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_home_option(parser)
    parser.set_defaults(handler=handler)
    return parser


def home_from(args: argparse.Namespace) -> Home:
    return Home(resolve_home(getattr(args, "home", None)))


class ApiClient:
    """Calls one node's local API with its bearer token; finds it through ``api.address``."""

    def __init__(self, home: Home) -> None:
        try:
            address = Path(home.api_address_path).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            if not home.exists():
                raise CliError(f"no amity node in {home.path}; run `amity init` first") from None
            raise CliError(
                f"the node in {home.path} is not running; start it with `amity run`"
            ) from None
        try:
            self._token = home.api_token()
        except HomeError as exc:
            raise CliError(str(exc)) from None
        self._base = f"http://{address}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self._base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read())["error"]
            except (ValueError, KeyError, TypeError):
                raise CliError(f"the node answered HTTP {exc.code} without details") from None
            raise ApiError(error["code"], error["message"], remote=exc.code == 422) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise CliError(
                f"cannot reach the node's API at {self._base} ({exc}); is `amity run` still up?"
            ) from None
