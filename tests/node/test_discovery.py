"""LAN discovery over real multicast DNS: two nodes in one loop find each other, then part."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amity.node.net.discovery import (
    WS_PATH,
    Discovery,
    DiscoveryError,
    NearbyNode,
    _intents_txt,
    _parse_txt,
)
from amity.protocol.identity import PeerId, SigningIdentity

_WAIT_S = 10.0


def _probe_multicast(interface: str | None) -> str | None:
    """None if a multicast datagram sent on ``interface`` comes back here; else why not.

    Checked with bare sockets, apart from the code under test, so that a missing multicast
    route skips the test with its reason while a discovery bug still fails it.
    """
    group, local = "224.0.0.251", interface or "0.0.0.0"
    try:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
        ):
            rx.bind(("", 0))
            rx.settimeout(1.0)
            mreq = socket.inet_aton(group) + socket.inet_aton(local)
            rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
            tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, struct.pack("B", 1))
            tx.sendto(b"amity-probe", (group, rx.getsockname()[1]))
            while rx.recv(64) != b"amity-probe":
                pass
    except OSError as exc:  # includes the timeout
        return f"multicast on {local} does not work here: {type(exc).__name__}: {exc}"
    return None


class Watcher:
    """Collects on_change calls and lets a test wait, event-driven, for a condition on them."""

    def __init__(self) -> None:
        self.changes: list[tuple[NearbyNode | None, str]] = []
        self._changed = asyncio.Event()

    def __call__(self, node: NearbyNode | None, did: str) -> None:
        self.changes.append((node, did))
        self._changed.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(_WAIT_S):
            while not condition():
                self._changed.clear()
                await self._changed.wait()


def _node(
    kind: str, name: str, port: int, interfaces: list[str] | None, watcher: Watcher
) -> tuple[PeerId, Discovery]:
    peer = SigningIdentity(os.urandom(32)).peer_id  # fresh each run: no stale cache entries
    discovery = Discovery(
        did=peer.did,
        fingerprint=peer.fingerprint,
        kind=kind,
        name=name,
        port=port,
        interfaces=interfaces,
        on_change=watcher,
    )
    return peer, discovery


def _sees(discovery: Discovery, did: str) -> NearbyNode | None:
    return next((node for node in discovery.nearby() if node.did == did), None)


@pytest.mark.parametrize("interfaces", [None, ["127.0.0.1"]], ids=["all-interfaces", "loopback"])
async def test_two_nodes_find_each_other_then_part(interfaces: list[str] | None) -> None:
    if (reason := _probe_multicast(interfaces[0] if interfaces else None)) is not None:
        pytest.skip(reason)
    watch_a, watch_b = Watcher(), Watcher()
    alice, a = _node("person", "Alice Ø", 47001, interfaces, watch_a)
    shop, b = _node("vendor", "Corner Shop", 47002, interfaces, watch_b)
    try:
        await asyncio.gather(a.async_start(), b.async_start())
        await asyncio.gather(
            watch_a.until(lambda: _sees(a, shop.did) is not None),
            watch_b.until(lambda: _sees(b, alice.did) is not None),
        )
        seen_by_a, seen_by_b = _sees(a, shop.did), _sees(b, alice.did)
        assert seen_by_a is not None and seen_by_b is not None
        assert (seen_by_a.kind, seen_by_a.name) == ("vendor", "Corner Shop")
        assert (seen_by_b.kind, seen_by_b.name) == ("person", "Alice Ø")
        assert seen_by_a.endpoints and all(
            e.startswith("ws://") and e.endswith(f":47002{WS_PATH}") for e in seen_by_a.endpoints
        )
        if interfaces:
            assert seen_by_b.endpoints == (f"ws://127.0.0.1:47001{WS_PATH}",)
        assert abs(seen_by_a.seen_ms - time.time() * 1000) < _WAIT_S * 1000
        assert all(node.did != alice.did for node in a.nearby())  # never ourselves

        async with asyncio.timeout(3.0):  # a deadline for a clean stop, not a measurement
            await b.async_stop()
        await watch_a.until(lambda: (None, shop.did) in watch_a.changes)
        assert _sees(a, shop.did) is None
    finally:
        await asyncio.gather(a.async_stop(), b.async_stop())


async def test_stop_is_idempotent_and_fast() -> None:
    if (reason := _probe_multicast("127.0.0.1")) is not None:
        pytest.skip(reason)
    _, d = _node("relay", "relay", 47003, ["127.0.0.1"], Watcher())
    await d.async_stop()  # before start: nothing to do
    async with d:
        pass
    async with asyncio.timeout(1.0):  # stopping a stopped node must not wait for anything
        await d.async_stop()
        await d.async_stop()


@pytest.mark.parametrize("interface", ["203.0.113.77", "eth0"], ids=["not-ours", "not-an-ip"])
def test_unusable_interface_is_a_discovery_error(interface: str) -> None:
    with pytest.raises(DiscoveryError, match="no network interface here has") as raised:
        _node("person", "x", 47004, [interface], Watcher())  # 203.0.113.0/24 is TEST-NET-3
    assert raised.value.code == "discovery.error"


def test_unusable_address_is_a_discovery_error() -> None:
    with pytest.raises(DiscoveryError, match="give IP addresses"):
        Discovery(did=DID, fingerprint="ABCD", kind="person", name="x", port=1, addresses=["x"])


DID = SigningIdentity(bytes(32)).peer_id.did
GOOD = {
    b"id": DID.encode(),
    b"kind": b"vendor",
    b"name": b"Shop",
    b"v": b"1",
    b"path": WS_PATH.encode(),
}


def test_parse_txt_reads_a_good_announcement() -> None:
    advert = _parse_txt(GOOD)
    assert advert is not None
    assert (advert.did, advert.kind, advert.name, advert.path) == (DID, "vendor", "Shop", WS_PATH)
    long = _parse_txt({**GOOD, b"name": ("é" * 40).encode() + b"\x1b[2J"})
    assert long is not None and long.name == "é" * 32  # 64 bytes, cut on a character boundary
    assert _parse_txt({**GOOD, b"name": b"\xff\xfeok"}) is not None  # undecodable bytes replaced


def test_the_intents_a_vendor_takes_directly_are_announced_as_fit_and_read_as_a_hint() -> None:
    advert = _parse_txt({**GOOD, b"intents": b"goods.bicycles,services"})
    assert advert is not None and advert.intents == ("goods.bicycles", "services")
    assert _parse_txt(GOOD).intents == ()  # type: ignore[union-attr]
    # what is not a category is left out, the rest kept, once each
    odd = _parse_txt({**GOOD, b"intents": b"Goods,,goods.toys,goods.toys,a b,\xff"})
    assert odd is not None and odd.intents == ("goods.toys",)
    # one TXT string holds 255 bytes: whole categories that fit, never half of one
    many = tuple(f"x.org.example.category-{i:03}" for i in range(32))
    text = _intents_txt(many)
    assert len(b"intents=" + text.encode()) <= 255 and text.split(",") == list(
        many[: len(text.split(","))]
    )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_intents_value_is_read_without_raising(value: bytes) -> None:
    advert = _parse_txt({**GOOD, b"intents": value})
    assert advert is not None and all(len(c.encode()) <= 64 for c in advert.intents)


@pytest.mark.parametrize(
    "properties",
    [
        {k: v for k, v in GOOD.items() if k != b"id"},
        {**GOOD, b"id": None},
        {**GOOD, b"id": b"did:web:example.com"},
        {**GOOD, b"id": b"did:key:z6Mknotbase58!!"},
        {**GOOD, b"id": b"did:key:" + b"z" * 200},
        {**GOOD, b"v": b"2"},
        {k: v for k, v in GOOD.items() if k != b"v"},
        {**GOOD, b"kind": b"robot"},
        {**GOOD, b"path": b"amity/v1/ws"},
        {**GOOD, b"path": b"/a b"},
        {},
    ],
    ids=[
        "no-id",
        "id-without-value",
        "not-did-key",
        "bad-base58",
        "oversized-did",
        "wrong-version",
        "no-version",
        "unknown-kind",
        "relative-path",
        "path-with-space",
        "empty",
    ],
)
def test_parse_txt_ignores_malformed_announcements(
    properties: dict[bytes, bytes | None], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="amity.discovery"):
        assert _parse_txt(properties) is None
    assert [r.name for r in caplog.records] == ["amity.discovery"]


# Two processes, each alone in a network namespace, joined by a veth pair: a LAN of their own,
# with no other mDNS traffic and a real (non-loopback) interface on each side.
_CHILD = """
import asyncio, json, os, sys
from amity.node.net.discovery import Discovery
from amity.protocol.identity import SigningIdentity

async def main(role, port, kind):
    me = SigningIdentity(os.urandom(32)).peer_id
    changed = asyncio.Event()
    d = Discovery(did=me.did, fingerprint=me.fingerprint, kind=kind, name=role, port=port,
                  on_change=lambda node, did: changed.set())
    async with asyncio.timeout(10):
        async with d:
            while not d.nearby():
                changed.clear()
                await changed.wait()
            seen = d.nearby()[0]
            print(json.dumps({"me": me.did, "did": seen.did, "kind": seen.kind,
                              "name": seen.name, "endpoints": seen.endpoints}), flush=True)
            while role == "stay" and d.nearby():
                changed.clear()
                await changed.wait()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=5)


@pytest.fixture
def veth_lan() -> Iterator[tuple[str, str]]:
    """Two network namespaces joined by a veth pair (10.231.0.1 and .2); skips without root."""
    tag = f"{os.getpid() % 100000}"
    spaces = (f"amity-t{tag}-a", f"amity-t{tag}-b")
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2's `ip`")
    try:
        for space in spaces:
            _ip("netns", "add", space)
        _ip("link", "add", f"am{tag}a", "netns", spaces[0], "type", "veth",
            "peer", "name", f"am{tag}b", "netns", spaces[1])  # fmt: skip
        for space, side, address in zip(spaces, "ab", ("10.231.0.1", "10.231.0.2"), strict=True):
            _ip("-n", space, "addr", "add", f"{address}/24", "dev", f"am{tag}{side}")
            _ip("-n", space, "link", "set", f"am{tag}{side}", "up")
            _ip("-n", space, "link", "set", "lo", "up")
    except subprocess.CalledProcessError as exc:
        for space in spaces:
            subprocess.run(["ip", "netns", "del", space], capture_output=True, check=False)
        pytest.skip(f"cannot build a veth LAN here: {' '.join(exc.cmd)}: {exc.stderr.strip()}")
    yield spaces
    for space in spaces:  # deleting a namespace deletes its end of the veth pair too
        subprocess.run(["ip", "netns", "del", space], capture_output=True, check=False)


def test_two_processes_on_a_veth_lan(veth_lan: tuple[str, str]) -> None:
    children = [
        subprocess.Popen(
            ["ip", "netns", "exec", space, sys.executable, "-c", _CHILD, role, str(port), kind],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for space, role, port, kind in zip(
            veth_lan, ("stay", "leave"), (47011, 47012), ("person", "vendor"), strict=True
        )
    ]
    try:
        outputs = [child.communicate(timeout=15) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    stay, leave = (json.loads(out) for out, _ in outputs)
    assert (stay["did"], stay["kind"], stay["name"]) == (leave["me"], "vendor", "leave")
    assert (leave["did"], leave["kind"], leave["name"]) == (stay["me"], "person", "stay")
    assert stay["endpoints"] == [f"ws://10.231.0.2:47012{WS_PATH}"]
    assert leave["endpoints"] == [f"ws://10.231.0.1:47011{WS_PATH}"]
    # "stay" exits only once it has seen "leave" go, so a clean exit proves the removal too.
