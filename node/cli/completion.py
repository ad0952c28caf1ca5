"""``amity completion SHELL``: a tab-completion script for bash, zsh or tcsh.

Made by shtab from the full parser, so it always matches the commands and options this version
has; nothing runs at each key press (the script is static).
"""

from __future__ import annotations

import argparse

__all__ = ["register"]

_SHELLS = ("bash", "zsh", "tcsh")
_INSTALL = """\
install (once; open a new shell after):
  bash:  amity completion bash > ~/.local/share/bash-completion/completions/amity
  zsh:   amity completion zsh > "${fpath[1]}/_amity"   (a directory on your $fpath)
  tcsh:  amity completion tcsh > ~/.amity.tcsh && echo 'source ~/.amity.tcsh' >> ~/.tcshrc"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    completion = commands.add_parser(
        "completion",
        help="print a tab-completion script for your shell (bash, zsh, tcsh)",
        description="Print a script that teaches your shell amity's commands and options.",
        epilog=_INSTALL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    completion.add_argument("shell", choices=_SHELLS, help="the shell to complete for")
    completion.set_defaults(handler=_completion)


def _completion(args: argparse.Namespace) -> int:
    import shtab

    from amity.node.cli import build_parser

    print(shtab.complete(build_parser(), shell=args.shell), end="")
    return 0
