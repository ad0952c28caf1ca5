"""``amity`` with the node core's trace written to a file: the cross-check's real daemons.

``python -m tests.simulations.traced_amity run --home H ...`` is ``amity run`` unchanged, except
that its node keeps a ``core_trace`` (amity.node.daemon.Node.core_trace): each answer of the core
it carries out is written, described (tests/simulations/coretrace.py), as one JSON line to the
file ``$AMITY_CORE_TRACE``, at once, so the test reads it while the daemon runs and a restart
appends to it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from amity.node import runner
from amity.node.cli import main
from amity.node.daemon import Node
from amity.protocol.core.effects import Effect
from amity.protocol.identity import PeerId
from tests.simulations.coretrace import describe

TRACE_ENV = "AMITY_CORE_TRACE"


class _TraceFile(list[tuple[PeerId | None, list[Effect]]]):
    """A ``core_trace`` that writes each entry to a file as it comes, and keeps nothing."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self._out = out

    def append(self, entry: tuple[PeerId | None, list[Effect]]) -> None:
        self._out.write(json.dumps(describe(*entry)) + "\n")
        self._out.flush()


class TracedNode(Node):
    """The daemon's node, with its core trace on."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        out = open(os.environ[TRACE_ENV], "a", encoding="utf-8")  # noqa: SIM115 - process-long
        self.core_trace = _TraceFile(out)


if __name__ == "__main__":
    runner.Node = TracedNode  # type: ignore[attr-defined]  # the node amity run makes
    sys.exit(main())
