"""``amity card …``: read a peer card or invitation URI and check every signature in it."""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import Any

from amity.node.api.card import policy_json
from amity.node.cli.render import add_json_option, emit
from amity.protocol.card import Card
from amity.protocol.errors import format_time_ms

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "card",
        help="read and verify peer cards and invitations",
        description=(
            "A peer card is what a node hands out about itself: its key, name, kind, where to "
            "reach it, and, in an invitation, a one-time secret. `amity card show URI` checks one "
            "offline before you connect."
        ),
    )
    sub = group.add_subparsers(dest="card_command", metavar="COMMAND", required=True)
    show = sub.add_parser(
        "show",
        help="verify an amity: URI and show who it belongs to",
        description=(
            "Decode an amity: URI (a peer card or an invitation), verify the card signature and "
            "the link-key certificate, and check both are valid now. Exit status 3 if anything "
            "fails to verify. Compare the fingerprint with the peer's own before trusting it."
        ),
    )
    show.add_argument("uri", help="the amity: URI (quote it in the shell)")
    add_json_option(show)
    show.set_defaults(handler=_show)


def _show(args: argparse.Namespace) -> int:
    card = Card.from_uri(args.uri)
    card.check_valid(time.time_ns() // 1_000_000)
    data = {
        "did": card.peer_id.did,
        "fingerprint": card.peer_id.fingerprint,
        "kind": card.kind.value,
        "name": card.name,
        "endpoints": list(card.endpoints),
        "relays": [{"did": r.peer_id.did, "endpoint": r.endpoint} for r in card.relays],
        "issued": format_time_ms(card.issued_ms),
        "not_after": format_time_ms(card.not_after_ms),
        "link_key_not_after": format_time_ms(card.link_cert.not_after_ms),
        "invitation": card.is_invitation,
        "policy": policy_json(card),
        "verified": True,
    }
    emit(data, _human, as_json=args.json)
    return 0


def _human(data: Mapping[str, Any]) -> str:
    lines = [
        f"{'invitation' if data['invitation'] else 'peer card'} from {data['name'] or '(no name)'}"
        f" [{data['kind']}]: signatures verified",
        f"did:         {data['did']}",
        f"fingerprint: {data['fingerprint']}",
        f"valid until: {data['not_after']}",
    ]
    lines += [f"endpoint:    {e}" for e in data["endpoints"]]
    lines += [f"relay:       {r['endpoint']} ({r['did']})" for r in data["relays"]]
    if data["policy"] and "unreadable" in data["policy"]:
        lines.append(f"policy:      not readable by this amity ({data['policy']['why']})")
    elif data["policy"]:
        welcomed = ", ".join(f"{c} ({a})" for c, a in data["policy"]["clauses"].items())
        lines.append(f"policy:      {welcomed}; other clauses: {data['policy']['default']}")
    return "\n".join(lines)
