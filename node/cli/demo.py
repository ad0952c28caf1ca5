"""``amity demo``: see amity at work without setting anything up (two ways; --help says which).

The walkthrough (walkthrough.py) runs the protocol in one process; ``--story`` (story.py) runs
real nodes on loopback. Each imports what it needs only when it runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import Any

from amity.node.cli.render import add_json_option, emit, paragraphs

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="see amity at work: the protocol in one process, or real nodes with --story",
        description=paragraphs(
            "See amity at work without setting anything up.",
            "Without options: a person and a shop meet in one process, through the same protocol "
            "code a node runs: the shop's invitation link is read and verified, a Noise XX "
            "handshake proves both identities, a signed envelope travels inside the session, a "
            "replay and a tampered copy are refused, and sealed mail waits for her while she is "
            "offline (what a relay sees of it, then what she reads).",
            "With --story: real nodes on loopback (temporary homes, real servers, real SQLite) "
            "walk the whole story, step by step, in a few seconds.",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_json_option(demo, "print the steps as one JSON object")
    demo.add_argument(
        "--story",
        action="store_true",
        help=(
            "run real nodes on loopback instead (temporary homes, real servers, real SQLite) "
            "and walk the whole story: invitation, terms, agreement, grant, read, holdings, "
            "expiry with a deletion receipt, audit trails; then reputation: automatic "
            "attestations, a vendor that keeps data, and a friend's node cutting it off"
        ),
    )
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    # What each kind of demo needs is imported when it runs: `amity --help` stays light.
    steps: list[dict[str, Any]] = []

    def step(what: str, **detail: Any) -> None:
        steps.append({"step": len(steps) + 1, "what": what, **detail})
        if args.story and not args.json:  # the story takes seconds: show it as it happens
            print(_human({"steps": [steps[-1]]}), flush=True)

    if args.story:
        import asyncio

        from amity.node.cli.story import run_story
        from amity.node.logs import configure

        configure(level="error")  # the nodes' own logs would drown the story; errors still show
        asyncio.run(run_story(step))
        if args.json:
            emit({"steps": steps}, _human, as_json=True)
        return 0

    from amity.node.cli.walkthrough import walk

    walk(step, time.time_ns() // 1_000_000)
    emit({"steps": steps}, _human, as_json=args.json)
    return 0


def _human(data: Mapping[str, Any]) -> str:
    lines = []
    for entry in data["steps"]:
        detail = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("step", "what"))
        lines.append(f"{entry['step']:>2}. {entry['what']}")
        if detail:
            lines.append(f"    {detail}")
    return "\n".join(lines)
