"""``amity init`` and ``amity run``: make a node's home, then run the node in the foreground."""

from __future__ import annotations

import argparse
import getpass
import os
import random
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amity.node.cli.client import add_home_option, home_from
from amity.node.cli.render import CliError, emit
from amity.node.home import Config, HomeError, parse_hostport
from amity.protocol.card import NodeKind
from amity.protocol.keyring import Keyring

__all__ = ["register"]

PASSPHRASE_ENV = "AMITY_PASSPHRASE"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = commands.add_parser(
        "init",
        help="create a node: key, database, config and API token in its home directory",
        description=(
            "Create a new node in its home directory (--home, else $AMITY_HOME, else the "
            "platform data dir; made mode 0700 even if it exists): an Ed25519 identity (file "
            "mode 0600), config.toml, the local "
            "API token. Refuses to touch an existing identity. With --passphrase the key is "
            f"sealed (argon2id); `amity run` then asks for it or reads ${PASSPHRASE_ENV}."
        ),
    )
    add_home_option(init)
    init.add_argument("--name", default="", help="the name peers see on your card")
    init.add_argument(
        "--kind", choices=[k.value for k in NodeKind], default="person", help="default: person"
    )
    init.add_argument(
        "--listen",
        default="127.0.0.1:0",
        help="peer endpoint HOST:PORT; port 0 picks a free port now and keeps it (default)",
    )
    init.add_argument("--api", default="127.0.0.1:0", help="local API HOST:PORT (loopback)")
    init.add_argument(
        "--passphrase", action="store_true", help="seal the key with a passphrase (asked for)"
    )
    init.add_argument(
        "--store",
        metavar="URL",
        default="",
        help="keep the node's data in PostgreSQL at this postgresql:// URL (default: SQLite in "
        "the home; README, 'Choosing the store')",
    )
    init.set_defaults(handler=_init)

    run = commands.add_parser(
        "run",
        help="run the node in the foreground (logs to stderr; Ctrl-C stops it cleanly)",
        description=(
            "Run the node: peer endpoint (WebSocket), local API (loopback), LAN discovery. "
            "Several nodes can run side by side with different --home directories; port 0 "
            "picks a free port. The API listens on the Unix socket <home>/api.sock (the CLI's "
            "way in; mode 0600) and on loopback TCP (address written to <home>/api.address). "
            "The home is made 0700 and every file in it 0600 at each start."
        ),
    )
    add_home_option(run)
    run.add_argument("--listen", help="peer endpoint HOST:PORT, or 'none' to only dial out (NAT)")
    run.add_argument("--api", help="local API HOST:PORT")
    run.add_argument(
        "--public-endpoint",
        action="append",
        default=None,
        metavar="URL",
        help="endpoint to put on your card instead of the listen address (repeatable)",
    )
    run.add_argument("--no-mdns", action="store_true", help="switch LAN discovery off")
    run.add_argument("--relay", action="store_true", help="also hold sealed mail for peers")
    run.add_argument(
        "--hub",
        action="store_true",
        help="also run an intent hub (its rules: config.toml [hub], spec/intents.md §7)",
    )
    run.add_argument(
        "--allow-remote-api", action="store_true", help="let --api bind a non-loopback address"
    )
    run.add_argument(
        "--misbehave",
        action="append",
        default=[],
        choices=["keep-data"],
        help=(
            "TEST MODE, never for real use: make this node break its word so that others' "
            "reputation machinery can be seen to work. keep-data: keep granted data after a "
            "grant ends and send no deletion receipt"
        ),
    )
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.add_argument("--log-json", action="store_true", help="log JSON lines instead of logfmt")
    run.set_defaults(handler=_run)


def _init(args: argparse.Namespace) -> int:
    home = home_from(args)
    passphrase = None
    if args.passphrase:
        passphrase = os.environ.get(PASSPHRASE_ENV) or getpass.getpass("new passphrase: ")
        if not passphrase:
            raise CliError("an empty passphrase seals nothing; leave out --passphrase instead")
    # A fixed peer port from the start: peers keep our card, so the endpoint must survive restarts.
    try:
        listen = _with_free_port(args.listen)
        if args.store and not args.store.startswith(("postgresql://", "postgres://")):
            raise HomeError(f"--store takes a postgresql:// URL, not {args.store!r}")
        config = Config(
            name=args.name, kind=NodeKind(args.kind), listen=listen, api=args.api, store=args.store
        )
        seed = home.create(config, passphrase=passphrase)
    except (HomeError, OSError) as exc:
        raise CliError(str(exc)) from None
    peer = Keyring(seed).identity.peer_id
    data = {
        "home": str(home.path),
        "did": peer.did,
        "fingerprint": peer.fingerprint,
        "name": args.name,
        "kind": args.kind,
        "sealed": bool(passphrase),
        "store": "postgresql" if args.store else "sqlite",
    }
    emit(data, _init_text, as_json=args.json)
    return 0


#: Where the kernel picks ports for outgoing connections (Linux default; IANA's starts at 49152).
_EPHEMERAL_LOW_DEFAULT = 32768
_LOWEST_FIXED_PORT = 10_000


def _ephemeral_low() -> int:
    """The lowest port the kernel hands to outgoing connections."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        low, _high = (int(part) for part in text.split())
    except (OSError, ValueError):
        return _EPHEMERAL_LOW_DEFAULT
    return low


def _with_free_port(listen: str) -> str:
    """``listen`` with port 0 replaced by a free port that will stay free for restarts.

    A port the kernel hands out for port 0 lies in its ephemeral range, where any outgoing
    connection may take it while the node is stopped, so a restart could not bind it again. So
    the port is drawn below that range (and below 49152), and bound once to check it is free.
    """
    host, port = parse_hostport(listen, "--listen")
    if port:
        return listen
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    top = min(_ephemeral_low(), 49152)
    if top > _LOWEST_FIXED_PORT:
        draw = random.SystemRandom()
        for _ in range(64):
            candidate = draw.randrange(_LOWEST_FIXED_PORT, top)
            with socket.socket(family) as probe:
                try:
                    probe.bind((host, candidate))
                except OSError:
                    continue
            return f"{host}:{candidate}"
    with socket.socket(family) as probe:  # nothing free below the range: take what the kernel gives
        probe.bind((host, 0))
        return f"{host}:{probe.getsockname()[1]}"


def _init_text(data: Mapping[str, Any]) -> str:
    return (
        f"created a {data['kind']} node in {data['home']}\n"
        f"did:         {data['did']}\n"
        f"fingerprint: {data['fingerprint']}\n"
        "next: `amity run` (add --home if you chose one)"
    )


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from amity.node.logs import configure
    from amity.node.runner import RunOptions, serve

    home = home_from(args)
    configure(level=args.log_level, json_lines=args.log_json)
    try:
        if home.exists() and not home.config_path.exists():
            # Without a config the peer port would change at every start, and peers keep the
            # endpoint of our card: write one with a port that stays (as `amity init` does).
            home.write_config(Config(listen=_with_free_port(Config().listen)))
        config = home.load_config()
        sealed = home.exists() and home.key_is_sealed()
        passphrase = None
        if sealed:
            passphrase = os.environ.get(PASSPHRASE_ENV) or (
                getpass.getpass("passphrase: ") if sys.stdin.isatty() else None
            )
        seed = home.load_seed(passphrase)
    except HomeError as exc:
        raise CliError(str(exc)) from None
    listen = args.listen or config.listen
    options = RunOptions(
        listen=None if listen == "none" else listen,
        api=args.api or config.api,
        mdns=config.mdns and not args.no_mdns,
        relay=args.relay or config.relay,
        allow_remote_api=args.allow_remote_api,
        public_endpoints=args.public_endpoint or config.public_endpoints,
        limits=config.limits,
        misbehave=frozenset(args.misbehave),
        hub=args.hub or config.hub,
    )
    try:
        asyncio.run(serve(home, config, seed, options))
    except HomeError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        pass
    return 0
