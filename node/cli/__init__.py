"""The ``amity`` command line. Each command group lives in its own module; see ``amity --help``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from amity.node.cli import (
    agreements,
    audit,
    card,
    daemon,
    demo,
    grants,
    identity,
    peers,
    policy,
    reputation,
    terms,
    vault,
)
from amity.node.cli.client import ApiError
from amity.node.cli.render import CliError, emit_error
from amity.node.home import PRIVATE_UMASK
from amity.protocol import PROTOCOL_VERSION, __version__
from amity.protocol.errors import AmityError, RemoteError

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_REJECTED"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3

_EPILOG = f"""\
exit status:
  {EXIT_OK}  success
  {EXIT_ERROR}  the command could not do what was asked (the message says why and what to do);
     also when the node is not running, or what answers at its address cannot prove it is
     the node (error code cli.node_not_running: the token is never sent to it)
  {EXIT_USAGE}  the command line itself is wrong
  {EXIT_REJECTED}  input from a peer (a card, URI or message) failed verification

Every command takes --json and then prints one JSON object (errors as {{"error": {{...}}}}).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amity",
        description=(
            "amity: your own node for relationships with vendors, peer to peer. Your keys, your "
            "terms, your data: no accounts, no central service."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"amity {__version__} (protocol v{PROTOCOL_VERSION})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    daemon.register(commands)
    peers.register(commands)
    terms.register(commands)
    policy.register(commands)
    agreements.register(commands)
    vault.register(commands)
    grants.register(commands)
    audit.register(commands)
    reputation.register(commands)
    identity.register(commands)
    card.register(commands)
    demo.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)  # whatever amity writes (home, key, exports) is the owner's alone
    args = build_parser().parse_args(argv)
    as_json = bool(getattr(args, "json", False))
    try:
        status: int = args.handler(args)
    except ApiError as exc:
        emit_error(exc.code, str(exc), as_json=as_json)
        return EXIT_REJECTED if exc.remote else EXIT_ERROR
    except CliError as exc:
        emit_error(exc.code, str(exc), as_json=as_json)
        return EXIT_ERROR
    except AmityError as exc:
        emit_error(exc.code, exc.message, as_json=as_json)
        return EXIT_REJECTED if isinstance(exc, RemoteError) else EXIT_ERROR
    return status


if __name__ == "__main__":
    sys.exit(main())
