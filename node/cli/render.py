"""The one renderer: every command prints either human text or, with ``--json``, one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Mapping
from typing import Any, TextIO

__all__ = [
    "HOME_HELP",
    "ApiError",
    "CliError",
    "add_json_option",
    "emit",
    "emit_error",
    "paragraphs",
]


class CliError(Exception):
    """A problem with what the user asked for (exit status 1); the message says what to do."""

    code = "cli.error"


class ApiError(CliError):
    """The node answered with an error (its code and message are passed on)."""

    def __init__(self, code: str, message: str, *, remote: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.remote = remote


def emit(
    data: Mapping[str, Any],
    human: Callable[[Mapping[str, Any]], str],
    *,
    as_json: bool,
    stream: TextIO | None = None,
) -> None:
    """Print ``data`` as JSON (sorted keys, one object) or through ``human``."""
    out = stream or sys.stdout
    if as_json:
        out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        out.write(human(data).rstrip("\n") + "\n")


def emit_error(code: str, message: str, *, as_json: bool) -> None:
    """An error, once: as text on stderr, or with ``--json`` as ``{"error": {"code", "message"}}``
    on stdout (a script reads one object; a person reading the terminal sees it too)."""
    if as_json:
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}}) + "\n")
    else:
        sys.stderr.write(f"amity: error: {message} [{code}]\n")


def paragraphs(*texts: str, width: int = 78) -> str:
    """Help text in paragraphs, each wrapped to ``width`` (for RawDescriptionHelpFormatter)."""
    return "\n\n".join(textwrap.fill(text, width) for text in texts)


#: What --home means, before or after the command (client.add_home_option).
HOME_HELP = "the node's home directory (default: $AMITY_HOME, else the platform data dir)"


def add_json_option(
    parser: argparse.ArgumentParser, help_text: str = "print one JSON object"
) -> None:
    """``--json`` on a command. Its default is left to the top-level parser (where ``--json`` is
    accepted too), so that ``amity --json status`` is not undone by the command's own default."""
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=help_text)
