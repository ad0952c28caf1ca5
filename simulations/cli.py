"""The ``amity-sim`` command line (the simulator itself arrives with its own issue)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from amity.protocol import PROTOCOL_VERSION, __version__

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="amity-sim",
        description=(
            "Discrete-event simulations of amity networks that run the real amity.protocol core. "
            "No scenarios ship in this version yet: only --help and --version work."
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"amity-sim {__version__} (protocol v{PROTOCOL_VERSION})",
    )
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
