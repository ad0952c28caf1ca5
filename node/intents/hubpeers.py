"""A hub's listed hubs changed while it runs (spec/intents.md §7.6): in force at once, and kept.

``amity intent hub add|remove PEER`` asks the running hub to list (or stop listing) a hub. The
new list is written to config.toml's ``[hub] peers`` first — that line alone, in place, the rest
of the file as it was, replaced atomically — and only then put in force: the hub's rules are
read afresh by every input, so the next forward goes by the new list, and a restart reads the
same list from the file. An edit that cannot be made in place (the list written over several
lines) is refused with what to do, and nothing changes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from amity.node.logs import log_event
from amity.protocol.errors import NodeError, NotFoundError, UsageError
from amity.protocol.identity import PeerId
from amity.protocol.intentmessages import HubRules

if TYPE_CHECKING:
    from amity.node.intents.service import IntentsService

__all__ = ["change_peer", "rewrite_peers", "save_peers"]

_log = logging.getLogger("amity.intents")
_HEADER: Final = re.compile(r"\s*\[\s*hub\s*\]\s*(#.*)?$")
_TABLE: Final = re.compile(r"\s*\[")
_PEERS: Final = re.compile(r"\s*peers\s*=")
_SEVERAL_LINES: Final = (
    "config.toml's [hub] peers cannot be edited in place (is the list written over several "
    "lines?); write it on one line, or edit it by hand and restart"
)


def _line(dids: list[str]) -> str:
    return "peers = [" + ", ".join(f'"{d}"' for d in dids) + "]\n"


def rewrite_peers(text: str, dids: list[str]) -> str:
    """``text`` (a config.toml) with ``[hub] peers`` set to ``dids``, nothing else changed;
    NodeError if that cannot be done in place."""
    lines = text.splitlines(keepends=True)
    header = next((i for i, line in enumerate(lines) if _HEADER.fullmatch(line.rstrip("\n"))), None)
    if header is None:
        tail = "" if not text or text.endswith("\n") else "\n"
        out = text + tail + "\n[hub]\n" + _line(dids)
    else:
        end = next((i for i in range(header + 1, len(lines)) if _TABLE.match(lines[i])), len(lines))
        at = next((i for i in range(header + 1, end) if _PEERS.match(lines[i])), None)
        if at is not None and lines[at].count("[") != lines[at].count("]"):
            raise NodeError(_SEVERAL_LINES)
        if at is None:
            lines.insert(header + 1, _line(dids))
        else:
            lines[at] = _line(dids)
        out = "".join(lines)
    try:
        before, after = tomllib.loads(text), tomllib.loads(out)
    except tomllib.TOMLDecodeError as exc:
        why = f"config.toml cannot be edited in place ({exc}); edit [hub] peers by hand"
        raise NodeError(why) from None
    hub = after.get("hub", {})
    rest_same = {k: v for k, v in after.items() if k != "hub"} == {
        k: v for k, v in before.items() if k != "hub"
    }
    others = {k: v for k, v in hub.items() if k != "peers"}
    was = {k: v for k, v in before.get("hub", {}).items() if k != "peers"}
    if hub.get("peers") != dids or others != was or not rest_same:
        raise NodeError(_SEVERAL_LINES)
    return out


def save_peers(path: Path, dids: list[str]) -> None:
    """Write ``dids`` as config.toml's ``[hub] peers``: a new file, fsynced, renamed over the
    old one (a crash leaves one or the other, never half of each)."""
    from amity.node.home import Config  # the daemon's own reader checks what it will read

    text = rewrite_peers(path.read_text(encoding="utf-8"), dids)
    Config.from_toml(text)
    temp = path.with_name(path.name + ".new")
    with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


async def change_peer(service: IntentsService, peer: PeerId, listed: bool) -> HubRules:
    """List ``peer`` (``listed``) or stop listing it, on disk and then in force."""
    hub, node = service.hub, service.node
    if hub is None:
        raise NodeError("this node is not a hub (amity run --hub)")
    if service.config_path is None:
        raise NodeError("this hub has no config.toml to keep its listed hubs in")
    if peer == node.peer_id:
        raise UsageError("a hub does not list itself")
    keys = list(hub.rules.peers)
    if listed and peer.key not in keys:
        keys.append(peer.key)
    elif not listed:
        if peer.key not in keys:
            raise NotFoundError(f"this hub does not list {node.book.name_of(peer)}")
        keys.remove(peer.key)
    rules = replace(hub.rules, peers=tuple(keys))  # UsageError past 32 listed hubs
    await asyncio.to_thread(save_peers, service.config_path, [PeerId(k).did for k in keys])
    hub.hub_rules = rules
    met = node.book.current(peer) is not None
    log_event(
        _log, "intents.hub_peer_added" if listed else "intents.hub_peer_removed",
        peer=peer.short, met=met,
    )  # fmt: skip
    if listed and not met:
        log_event(
            _log,
            "intents.hub_peer_not_met",
            logging.WARNING,
            peer=peer.short,
            hint="amity invite on one hub, amity connect on the other",
        )
    detail: dict[str, Any] = {"peer": peer.did, "listed": listed, "met": met}
    node.events.publish("intent.hub_peers", detail)
    return rules
