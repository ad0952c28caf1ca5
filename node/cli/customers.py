"""``amity customers export``: what each customer granted, for a CRM to import."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amity.node.cli.client import ApiClient, SinkError, add_command, home_from
from amity.node.cli.render import CliError, emit

__all__ = ["register"]

_EXITS = """\
exit status: 0 written; 1 the node could not do it, or FILE could not be written; 2 bad
command line."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "customers",
        help="your customers' grants, for your CRM",
        description=(
            "What each customer granted your node: one row per grant it holds, with the "
            "customer's did:key and name, the fields (names only: never values), the purpose "
            "and context, when it came and until when, and its state (held, or deleted and "
            "when). Columns: customer, customer_name, grant_id, fields, purpose, context, "
            "received, not_after, state, deleted. The node streams it: any size fits."
        ),
        epilog=_EXITS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="customers_command", metavar="COMMAND", required=True)
    export = add_command(
        sub,
        "export",
        "write every grant your customers gave you, as CSV or JSON lines",
        _export,
        "Export to --out FILE (or to standard output): CSV (RFC 4180, a header row, a grant's "
        "fields joined with ';') or JSON lines (one object per grant). With --out, --json "
        "prints what was written.",
        _EXITS,
    )
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="default: csv")
    export.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")


def _export(args: argparse.Namespace) -> int:
    client = ApiClient(home_from(args))
    path = f"/api/customers/export?format={args.format}"
    if args.out is None:
        try:
            client.download(path, sys.stdout.buffer)
            sys.stdout.flush()
        except (SinkError, BrokenPipeError) as exc:
            error = exc.error if isinstance(exc, SinkError) else exc
            if not isinstance(error, BrokenPipeError):
                raise CliError(f"cannot write the export: {error.strerror}") from None
            # The reader stopped early (`| head`): nothing to say, nothing more to write.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    try:
        with open(args.out, "wb") as sink:
            written = client.download(path, sink)
    except SinkError as exc:
        raise CliError(f"cannot write {args.out}: {exc.error.strerror}") from None
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    data = {"file": str(args.out), "format": args.format, "bytes": written}
    emit(data, _written_text, as_json=args.json)
    return 0


def _written_text(d: Mapping[str, Any]) -> str:
    return f"wrote {d['bytes']} bytes of {d['format']} to {d['file']}"
