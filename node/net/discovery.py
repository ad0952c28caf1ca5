"""LAN discovery: announce this node over mDNS/DNS-SD and keep a table of the nodes nearby.

What arrives here is a hint (anyone on the LAN can announce anything): a :class:`NearbyNode`
says where a node claims to be, never who it is; only a handshake proves the key
(spec/card.md). Built on python-zeroconf's asyncio API: the browser's callbacks only start tracked
resolve tasks, and every network wait is bounded.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import ifaddr
from zeroconf import Error as ZeroconfError
from zeroconf import InterfaceChoice, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.intentcategory import CATEGORY_PATTERN, MAX_CATEGORY_BYTES

__all__ = ["SERVICE_TYPE", "WS_PATH", "DiscoveryError", "NearbyNode", "Discovery"]

SERVICE_TYPE: Final = "_amity._tcp.local."
WS_PATH: Final = "/amity/v1/ws"
_VERSION: Final = "1"
_KINDS: Final = frozenset({"person", "vendor", "relay"})
_NAME_MAX_BYTES: Final = 64
_RESOLVE_TIMEOUT_MS: Final = 3000
_START_TIMEOUT_S: Final = 10.0
_STOP_TIMEOUT_S: Final = 3.0
_ANNOUNCE: Final = "(announce)"  # the key of the announcement task, never a service name
_MAX_NEARBY: Final = 256  # a flood of announcements must not grow memory or tasks without bound
_TXT_MAX_BYTES: Final = 255  # one TXT string, key=value (RFC 6763 §6.1)
_MAX_INTENTS: Final = 32

log = logging.getLogger("amity.discovery")


class DiscoveryError(Exception):
    """LAN discovery could not start; the message says what to do instead."""

    code = "discovery.error"


@dataclass(frozen=True, slots=True)
class NearbyNode:
    """A node announced on the LAN: unverified until a handshake proves the key."""

    did: str
    kind: str
    name: str
    endpoints: tuple[str, ...]  # ws://host:port/amity/v1/ws, one per announced address
    seen_ms: int  # wall clock when last resolved
    #: The intent categories a vendor says it takes directly (spec/intents.md §7.9): a hint.
    intents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Advert:
    did: str
    kind: str
    name: str
    path: str
    intents: tuple[str, ...] = ()


def _truncate_utf8(text: str, limit_bytes: int) -> str:
    return text.encode("utf-8")[:limit_bytes].decode("utf-8", "ignore")


def _parse_txt(properties: Mapping[bytes, bytes | None]) -> _Advert | None:
    """Read our TXT keys (id, kind, name, v, path); None, with a log line, if they are unusable."""
    txt: dict[str, str] = {}
    for key, value in properties.items():
        if value is not None:  # RFC 6763 §6.4: keys are case-insensitive, the first one counts
            txt.setdefault(key.decode("ascii", "replace").lower(), value.decode("utf-8", "replace"))
    did, kind, path = txt.get("id", ""), txt.get("kind", ""), txt.get("path", WS_PATH)
    if txt.get("v") != _VERSION:
        log.info("ignoring announcement of protocol version %.16r", txt.get("v"))
        return None
    try:
        PeerId.from_did(did)
    except AmityError as exc:
        log.info("ignoring announcement with an unusable id %.60r: %s", did, exc)
        return None
    if kind not in _KINDS:
        log.info("ignoring announcement from %s with unknown kind %.16r", did, kind)
        return None
    if not path.startswith("/") or not path.isascii() or not path.isprintable() or " " in path:
        log.info("ignoring announcement from %s with a bad path %.60r", did, path)
        return None
    name = "".join(filter(str.isprintable, _truncate_utf8(txt.get("name", ""), _NAME_MAX_BYTES)))
    return _Advert(did, kind, name, path, _read_intents(txt.get("intents", "")))


def _read_intents(text: str) -> tuple[str, ...]:
    """The categories of an ``intents`` TXT value (comma-separated); what is not one is left."""
    found = [
        c
        for c in text.split(",")[:_MAX_INTENTS]
        if len(c.encode()) <= MAX_CATEGORY_BYTES and CATEGORY_PATTERN.fullmatch(c)
    ]
    return tuple(dict.fromkeys(found))


def _intents_txt(categories: tuple[str, ...]) -> str:
    """As many whole categories as fit one TXT string (255 bytes with its ``intents=`` key)."""
    kept: list[str] = []
    for category in categories:
        if len(",".join([*kept, category]).encode()) > _TXT_MAX_BYTES - len(b"intents="):
            break
        kept.append(category)
    return ",".join(kept)


def _endpoints(info: AsyncServiceInfo, path: str) -> tuple[str, ...]:
    addresses = map(ipaddress.ip_address, info.parsed_addresses())
    return tuple(
        f"ws://{f'[{a}]' if a.version == 6 else a}:{info.port}{path}"
        for a in addresses
        if not (a.version == 6 and a.is_link_local)  # unusable in a URL without its scope
    )


def _local_addresses() -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return {
        ipaddress.ip_address(ip.ip if isinstance(ip.ip, str) else ip.ip[0])
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
    }


def _check_interfaces(interfaces: list[str]) -> None:
    """Refuse what zeroconf would fail on, late or leaking a socket: not an IP, or not ours."""
    local = _local_addresses()
    for text in interfaces:
        try:
            ours = ipaddress.ip_address(text) in local
        except ValueError:
            ours = False
        if not ours:
            raise DiscoveryError(
                f"no network interface here has the address {text!r}; announce on one of "
                + ", ".join(sorted(map(str, local)))
            )


def _announced_addresses() -> list[str]:
    """Every IPv4 address here but loopback, or loopback alone if there is nothing else."""
    found = [a for a in _local_addresses() if a.version == 4 and not a.is_loopback]
    return sorted(map(str, found)) or ["127.0.0.1"]


class Discovery:
    """Announces this node as ``_amity._tcp.local.`` and browses for the others.

    ``on_change(node, did)`` runs on the loop when a node appears or changes (``node`` set) or
    leaves (``node`` is None); it must not block.
    """

    def __init__(
        self,
        *,
        did: str,
        fingerprint: str,
        kind: str,
        name: str,
        port: int,
        interfaces: list[str] | None = None,
        on_change: Callable[[NearbyNode | None, str], None] | None = None,
        addresses: list[str] | None = None,
        announce: bool = True,
        intents: tuple[str, ...] = (),
    ) -> None:
        _check_interfaces(interfaces or [])
        label = "".join(c for c in fingerprint if c.isalnum())[:8].lower()
        self._did = did
        self._interfaces = interfaces
        self._on_change = on_change
        #: False: browse only (the peer port is not reachable from the LAN: nothing to announce).
        self.announce = announce
        name = _truncate_utf8(name, _NAME_MAX_BYTES)
        properties = {"id": did, "kind": kind, "name": name, "v": _VERSION, "path": WS_PATH}
        if intents:  # a vendor's direct endpoint: the categories it takes (spec/intents.md §7.9)
            properties["intents"] = _intents_txt(intents)
        try:
            self._info = AsyncServiceInfo(
                SERVICE_TYPE,
                f"amity-{label}.{SERVICE_TYPE}",
                port=port,
                properties=properties,
                server=f"amity-{label}.local.",
                parsed_addresses=addresses or interfaces or _announced_addresses(),
            )
        except (OSError, ValueError) as exc:
            raise DiscoveryError(f"cannot announce {addresses}: {exc}; give IP addresses") from exc
        self._aiozc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: dict[str, asyncio.Future[Any]] = {}  # by service name, or _ANNOUNCE
        self._nearby: dict[str, NearbyNode] = {}  # by service name

    async def async_start(self) -> None:
        """Register our service and start browsing; raises DiscoveryError if mDNS is unusable."""
        if self._aiozc is not None:
            return
        try:
            async with asyncio.timeout(_START_TIMEOUT_S):
                self._aiozc = AsyncZeroconf(interfaces=self._interfaces or InterfaceChoice.All)
                if self.announce:
                    announced = await self._aiozc.async_register_service(
                        self._info, allow_name_change=True
                    )
                    self._track(_ANNOUNCE, announced)
                self._browser = AsyncServiceBrowser(
                    self._aiozc.zeroconf, SERVICE_TYPE, handlers=[self._on_service_state_change]
                )
        except (OSError, RuntimeError, TimeoutError, ZeroconfError) as exc:
            await self.async_stop()
            raise DiscoveryError(
                f"multicast DNS is not available on this machine ({type(exc).__name__}: {exc}); "
                "check that an interface is up and allows multicast to 224.0.0.251:5353, "
                "or run with --no-mdns and connect with an invitation"
            ) from exc

    async def async_stop(self) -> None:
        """Say goodbye on the LAN and close the sockets; idempotent and bounded in time."""
        aiozc, browser, self._aiozc, self._browser = self._aiozc, self._browser, None, None
        if browser is not None:
            await browser.async_cancel()  # first: no callback may start a task after this
        tasks = list(self._tasks.values())
        self._tasks.clear()
        self._nearby.clear()
        for task in tasks:
            task.cancel()
        if aiozc is None:
            return
        try:
            async with asyncio.timeout(_STOP_TIMEOUT_S):
                await asyncio.gather(*tasks, return_exceptions=True)
                await aiozc.async_close()
        except TimeoutError:
            log.warning("mDNS goodbye did not finish in %.0f s; closing sockets", _STOP_TIMEOUT_S)
            aiozc.zeroconf.close()

    async def __aenter__(self) -> Discovery:
        await self.async_start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.async_stop()

    def nearby(self) -> list[NearbyNode]:
        """The other nodes announced on the LAN now, one per did (the latest seen), by name."""
        latest: dict[str, NearbyNode] = {}
        for node in self._nearby.values():
            if node.did not in latest or node.seen_ms > latest[node.did].seen_ms:
                latest[node.did] = node
        return sorted(latest.values(), key=lambda node: (node.name, node.did))

    def _track(self, key: str, awaitable: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    def _forget(self, key: str, task: asyncio.Future[Any]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("discovery task %s failed", key, exc_info=exc)

    def _on_service_state_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        # Called on the loop by the browser: never block here, only start or cancel tasks.
        if (pending := self._tasks.pop(name, None)) is not None:
            pending.cancel()
        if self._aiozc is None:
            return
        if state_change is ServiceStateChange.Removed:
            self._forget_node(name)
        elif name in self._nearby or len(self._nearby) + len(self._tasks) < _MAX_NEARBY:
            self._track(name, self._async_resolve(zeroconf, service_type, name))
        else:
            log.warning("ignoring %s: already tracking %d announcements", name, _MAX_NEARBY)

    async def _async_resolve(self, zc: Zeroconf, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(zc, _RESOLVE_TIMEOUT_MS):
            log.info("could not resolve %s within %d ms", name, _RESOLVE_TIMEOUT_MS)
            return
        advert = _parse_txt(info.properties)
        if advert is None or advert.did == self._did:
            self._forget_node(name)  # it may have been usable before this update
            return
        endpoints = _endpoints(info, advert.path)
        now = int(time.time() * 1000)
        node = NearbyNode(advert.did, advert.kind, advert.name, endpoints, now, advert.intents)
        self._nearby[name] = node
        self._notify(node, node.did)

    def _forget_node(self, name: str) -> None:
        gone = self._nearby.pop(name, None)
        if gone is not None:
            still = [node for node in self.nearby() if node.did == gone.did]
            self._notify(still[0] if still else None, gone.did)

    def _notify(self, node: NearbyNode | None, did: str) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(node, did)
        except Exception:  # the callback is the daemon's; a bug there must not stop discovery
            log.exception("discovery on_change callback failed for %s", did)
