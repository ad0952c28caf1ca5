"""``amity run``: assemble the daemon from its resources and serve until told to stop.

The local API application owns every resource through ``cleanup_ctx``, in dependency order:
store → HTTP client → node → peer server → LAN discovery. Stopping unwinds them in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Final

import aiohttp
from aiohttp import web

from amity.node.api.app import DISCOVERY, NODE, create_api_app
from amity.node.beacons.api import BEACONS
from amity.node.beacons.service import BeaconsService
from amity.node.daemon import Identity, Node
from amity.node.delegation.api import DELEGATION
from amity.node.delegation.service import DelegationService
from amity.node.grants.api import GRANTS
from amity.node.grants.service import GrantsService
from amity.node.home import (
    MAX_SOCKET_PATH_BYTES,
    PRIVATE_UMASK,
    Config,
    Home,
    HomeError,
    parse_hostport,
)
from amity.node.intents.api import INTENTS
from amity.node.intents.config import direct_rules, hub_rules
from amity.node.intents.service import IntentsService
from amity.node.intents.trust import own_cut_off, own_trust
from amity.node.logs import log_event
from amity.node.loyalty.api import LOYALTY
from amity.node.loyalty.service import LoyaltyService
from amity.node.net.admission import Admission, AdmittedSite
from amity.node.net.discovery import Discovery, DiscoveryError
from amity.node.net.limits import Limits, raise_file_limit
from amity.node.net.peerserver import create_peer_app
from amity.node.net.websocket import WS_PATH, WebSocketDialer
from amity.node.reputation.api import REPUTATION
from amity.node.reputation.service import ReputationService
from amity.node.store import Store, StoreError
from amity.node.terms.api import TERMS
from amity.node.terms.policyfile import POLICY_FILE
from amity.node.terms.service import TermsService
from amity.node.things.api import THINGS
from amity.node.things.service import ThingsService
from amity.node.webhooks.policy import DeliveryPolicy
from amity.protocol.intentmessages import DirectRules, HubRules
from amity.protocol.mailbox import MailboxPolicy

__all__ = ["RunOptions", "parse_hostport", "serve"]

_log = logging.getLogger("amity.run")
_SHUTDOWN_TIMEOUT_S: Final = 5.0
#: Set to stop the node: by SIGINT/SIGTERM, or by a failed commit on a PostgreSQL store.
_STOP = web.AppKey("stop", asyncio.Event)


@dataclass(slots=True)
class RunOptions:
    """What ``amity run`` was asked for, after config.toml and the command line are merged."""

    listen: str | None  # host:port, or None for no peer endpoint (dial out only)
    api: str
    mdns: bool
    relay: bool
    allow_remote_api: bool = False
    public_endpoints: list[str] = field(default_factory=list)
    #: Timeouts and connection budgets of the peer endpoint (config.toml ``[limits]``).
    limits: Limits = field(default_factory=Limits)
    #: Test modes that make the node break its word (see ``amity run --misbehave``).
    misbehave: frozenset[str] = frozenset()
    #: Run as an intent hub (``--hub``, or ``hub = true`` in config.toml).
    hub: bool = False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(home: Home, config: Config, seed: bytes, options: RunOptions) -> web.Application:
    """The local API app, with every daemon resource attached as a cleanup context."""
    api_host, _ = parse_hostport(options.api, "--api")
    if not _is_loopback(api_host) and not options.allow_remote_api:
        raise HomeError(
            f"the local API would listen on {api_host}, reachable from other machines; "
            "it holds your data. Use a loopback address, or pass --allow-remote-api if you "
            "really mean it (and protect the token)"
        )
    app = create_api_app(home.api_token())
    app[_STOP] = asyncio.Event()

    async def node_ctx(app: web.Application) -> AsyncIterator[None]:
        try:
            # Migrates the schema first; refuses one newer than this amity knows.
            opened = Store(home.store_target(config))
        except StoreError as exc:
            raise HomeError(str(exc)) from None
        log_event(
            _log,
            "store.opened",
            engine=opened.dialect,
            where=opened.where,
            migrated=",".join(map(str, opened.migrated)) or "-",
        )
        with opened as store:
            # No pool cap: each link is a long-lived WebSocket, and aiohttp's default of 100
            # connections made the 101st dial wait and fail (the [limits] table budgets links).
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as client:
                node = Node(
                    seed=seed,
                    store=store,
                    identity=Identity(config.name, config.kind),
                    dialer=WebSocketDialer(client),
                    endpoints=options.public_endpoints,
                    relay_mode=options.relay,
                    relay_policy=MailboxPolicy(**config.relay_limits),
                    reachable=options.listen is not None or bool(options.public_endpoints),
                )
                node.misbehave = options.misbehave
                node.webhooks.policy = DeliveryPolicy.from_table(config.webhooks_table)
                if store.dialect == "postgresql":
                    # The server may come back, but this process's memory is ahead of the
                    # database: stop (exit 1), and a restart reads its state from the database,
                    # which holds everything that was acknowledged.
                    node.on_failed.append(app[_STOP].set)
                node.inbox_keep_ms = config.inbox_keep_days * 24 * 3600 * 1000
                node.inbox_keep_messages = config.inbox_keep_messages
                if options.misbehave:
                    log_event(
                        _log,
                        "node.misbehaving",
                        logging.WARNING,
                        modes=",".join(sorted(options.misbehave)),
                    )
                terms = TermsService(node, policy_path=home.path / POLICY_FILE)
                node.register(terms)
                grants = GrantsService(node)
                node.register(grants)
                reputation = ReputationService(node, grants, terms)
                node.register(reputation)
                intents = IntentsService(
                    node,
                    rules=_hub_rules(config) if options.hub else None,
                    direct=_direct_rules(config),
                    config_path=home.config_path,
                    trust=functools.partial(own_trust, reputation),
                    cut_off=functools.partial(own_cut_off, reputation),
                    terms=terms,
                )
                node.register(intents)
                loyalty = LoyaltyService(node)
                node.register(loyalty)
                beacons = BeaconsService(node)
                node.register(beacons)
                delegation = DelegationService(node, grants, reputation)
                node.register(delegation)
                things = ThingsService(node, grants.vault.key)
                node.register(things)
                async with node:
                    app[NODE] = node
                    app[TERMS] = terms
                    app[GRANTS] = grants
                    app[REPUTATION] = reputation
                    app[INTENTS] = intents
                    app[LOYALTY] = loyalty
                    app[BEACONS] = beacons
                    app[DELEGATION] = delegation
                    app[THINGS] = things
                    yield

    async def peer_ctx(app: web.Application) -> AsyncIterator[None]:
        if options.listen is None:
            log_event(_log, "peer.disabled", why="--listen none: this node only dials out")
            app[NODE].watch_card()
            yield
            return
        host, port = parse_hostport(options.listen, "--listen")
        node = app[NODE]
        limits = options.limits.fitted(raise_file_limit())
        admission = Admission(limits)
        runner = web.AppRunner(
            create_peer_app(
                node,
                admission,
                intents=app[INTENTS].hub_links.serve if app[INTENTS].serves_intents else None,
            ),
            handle_signals=False,
            access_log=None,
            keepalive_timeout=limits.idle_timeout_s,
        )
        await runner.setup()
        site = AdmittedSite(runner, host, port, admission, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise HomeError(f"cannot listen for peers on {host}:{port}: {exc.strerror}") from None
        bound = _bound_port(runner)
        if not options.public_endpoints:
            node.endpoints[:] = [f"ws://{host}:{bound}{WS_PATH}"]
        log_event(
            _log,
            "peer.listening",
            address=f"{host}:{bound}",
            max_connections=limits.max_connections,
            max_strangers=limits.max_strangers,
        )
        node.watch_card()
        try:
            yield
        finally:
            await node.close_links()  # close frames first, so the server stops at once
            await runner.cleanup()

    async def discovery_ctx(app: web.Application) -> AsyncIterator[None]:
        node = app[NODE]
        if not options.mdns or options.listen is None:
            yield
            return
        port = int(node.endpoints[0].rsplit(":", 1)[1].split("/")[0]) if node.endpoints else 0
        # Announce only what peers on the LAN can dial: a node that listens on loopback browses
        # but announces nothing; one bound to an address announces that address; 0.0.0.0 or ::
        # announce the machine's LAN addresses.
        host, _ = parse_hostport(options.listen, "--listen")
        on_loopback = _is_loopback(host)
        discovery = Discovery(
            did=node.peer_id.did,
            fingerprint=node.peer_id.fingerprint,
            kind=node.identity.kind.value,
            name=node.identity.name,
            port=port,
            addresses=None if on_loopback or host in ("0.0.0.0", "::") else [host],
            announce=not on_loopback,
            intents=app[INTENTS].direct_categories,
        )
        if on_loopback:
            log_event(
                _log,
                "discovery.browse_only",
                why=f"the peer port listens on {host} only; to be found on the LAN, listen on "
                "0.0.0.0 or a LAN address (config.toml [node] listen, or --listen)",
            )
        try:
            await discovery.async_start()
        except DiscoveryError as exc:
            log_event(_log, "discovery.off", logging.WARNING, why=str(exc))
            yield
            return
        app[DISCOVERY] = discovery
        app[INTENTS].nearby = discovery.nearby  # the LAN vendors it may cast at (§7.9)
        app[INTENTS].announced = lambda: discovery.announce
        try:
            yield
        finally:
            app[INTENTS].nearby = list
            app[INTENTS].announced = lambda: False
            await discovery.async_stop()

    app.cleanup_ctx.extend([node_ctx, peer_ctx, discovery_ctx])
    return app


def _hub_rules(config: Config) -> HubRules:
    try:
        return hub_rules(config.hub_table)
    except ValueError as exc:
        raise HomeError(f"config.toml: {exc}") from None


def _direct_rules(config: Config) -> DirectRules | None:
    try:
        return direct_rules(config.direct_table)
    except ValueError as exc:
        raise HomeError(f"config.toml: {exc}") from None


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise HomeError("the peer server did not report its port")


async def serve(home: Home, config: Config, seed: bytes, options: RunOptions) -> None:
    """Run until SIGINT/SIGTERM; writes ``api.address`` once the API listens.

    Everything in the home is the owner's alone: the process creates files 0600 from here on,
    and whatever was already there is tightened first (``Home.make_private``).
    """
    os.umask(PRIVATE_UMASK)
    home.make_private()
    raise_file_limit()
    with home.lock():
        await _serve(home, config, seed, options)


async def _serve(home: Home, config: Config, seed: bytes, options: RunOptions) -> None:
    app = create_app(home, config, seed, options)
    api_host, api_port = parse_hostport(options.api, "--api")
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    stop = app[_STOP]
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no add_signal_handler
            loop.add_signal_handler(signum, stop.set)
    await runner.setup()
    try:
        site = web.TCPSite(runner, api_host, api_port, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        try:
            await site.start()
        except OSError as exc:
            raise HomeError(f"cannot listen for the API on {api_host}:{api_port}: {exc}") from None
        socket_path = await _start_api_socket(runner, home)
        address = f"{api_host}:{_bound_port(runner)}"
        _write_atomically(home.api_address_path, address + "\n")
        log_event(
            _log,
            "api.listening",
            address=address,
            socket=str(socket_path or "none"),
            did=app[NODE].peer_id.did,
        )
        await stop.wait()
        log_event(_log, "node.stopping")
        app[NODE].events.close()  # end event streams first, or the API waits for them
        failed = app[NODE].failed
    finally:
        for path in (home.api_address_path, home.api_socket_path):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        await runner.cleanup()
    if failed:
        raise HomeError(
            "the node stopped: a database commit failed (the log says why). Everything it "
            "acknowledged is in the database; start it again once the database answers"
        )


async def _start_api_socket(runner: web.AppRunner, home: Home) -> str | None:
    """The API on ``<home>/api.sock``, mode 0600: the CLI's way in. None if the path is too long.

    A socket left by a node that was killed is replaced (the home's lock says none runs).
    """
    path = home.api_socket_path
    if path is None:
        log_event(
            _log,
            "api.no_socket",
            logging.WARNING,
            why=f"the home's path is too long for a Unix socket (over {MAX_SOCKET_PATH_BYTES} "
            "bytes); the CLI uses the loopback TCP API, after the API proves it holds the token",
        )
        return None
    site = web.UnixSite(runner, str(path), shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
    try:
        await site.start()
    except OSError as exc:
        raise HomeError(f"cannot listen for the API on {path}: {exc}") from None
    os.chmod(path, 0o600)
    return str(path)


def _write_atomically(path: os.PathLike[str], text: str) -> None:
    temporary = f"{os.fspath(path)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
