"""The ``amity`` command line. Each command group lives in its own module; see ``amity --help``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from amity.node.cli.render import HOME_HELP, ApiError, CliError, emit_error
from amity.protocol import PROTOCOL_VERSION, __version__

__all__ = ["main", "build_parser", "GROUPS", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_REJECTED"]

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


#: Each module of this package and the commands it registers, in the order ``--help`` lists them.
#: A command line that names one of them loads only that module (and what it imports): every
#: command starts without the daemon's, the simulator's or other commands' imports.
GROUPS: dict[str, tuple[str, ...]] = {
    "daemon": ("init", "run"),
    "peers": (
        "status",
        "invite",
        "connect",
        "peers",
        "invitations",
        "end",
        "send",
        "messages",
        "nearby",
        "relay",
    ),
    "terms": ("terms",),
    "policy": ("policy",),
    "agreements": ("agreements", "verify"),
    "vault": ("vault",),
    "grants": ("grant", "revoke", "grants", "request", "requests", "read", "holdings"),
    "audit": ("log", "receipts"),
    "reputation": ("attest", "attestations", "reputation", "share-policy", "rebut", "vouch"),
    "intents": ("intent",),
    "loyalty": ("loyalty",),
    "delegation": ("delegate",),
    "things": ("thing",),
    "customers": ("customers",),
    "webhooks": ("webhook",),
    "beacons": ("beacon",),
    "identity": ("id",),
    "migrate": ("migrate",),
    "card": ("card",),
    "ui": ("ui",),
    "demo": ("demo",),
    "completion": ("completion",),
}
GROUP_OF = {command: group for group, commands in GROUPS.items() for command in commands}


def _groups_named(argv: Sequence[str]) -> Sequence[str]:
    """The modules to load for ``argv``: the one of the command it names, none for --version,
    else all (``amity --help`` lists every command; an unknown one's error lists the choices)."""
    words = iter(argv)
    for word in words:
        if word == "--home":
            next(words, None)  # its value, not a command
            continue
        if not word.startswith("-"):
            group = GROUP_OF.get(word)
            return tuple(GROUPS) if group is None else (group,)
        if word in ("-h", "--help"):
            break
        if word == "--version":
            return ()
    return tuple(GROUPS)


def build_parser(groups: Sequence[str] = tuple(GROUPS)) -> argparse.ArgumentParser:
    """The ``amity`` parser with the commands of ``groups`` (modules of this package)."""
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
    # Like git's -C: --home and --json work before the command as well as after it.
    parser.add_argument("--home", metavar="DIR", default=None, help=HOME_HELP)
    parser.add_argument("--json", action="store_true", default=False, help="print one JSON object")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in groups:
        importlib.import_module(f"amity.node.cli.{group}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_groups_named(argv)).parse_args(argv)
    # Loaded once a command runs (not for --version or --help): it needs them anyway.
    from amity.node.home import PRIVATE_UMASK
    from amity.protocol.errors import AmityError, RemoteError

    os.umask(PRIVATE_UMASK)  # whatever amity writes (home, key, exports) is the owner's alone
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
