"""The intent market's nodes and the wire between them: the core's three roles, driven as the
daemon drives them, on the simulator's clock.

Each node is a host of :mod:`amity.protocol.core.intents.memory` (records in dicts, randomness
from the run's seed); :class:`Wire` carries out what the core returns: every message is signed
as a real envelope by its sender (her node's messages by the intent key, on a pseudonymous link
of its own per intent and hub), delivered after a sampled latency, and handed to the receiving
role through the same entry points the daemon uses: :func:`~amity.protocol.core.intents.link.at_hub`
and :func:`~amity.protocol.core.intents.link.at_caster` on pseudonymous links, the roles'
``receive`` behind ``open_envelope`` and a replay guard on relationships. Timers go on the engine.

Every message a hub or a vendor receives is logged with its time and the link it came on: the
adversary of :mod:`.linkability` reads nothing else.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from amity.protocol.core.intents import caster, hub, link, vendor
from amity.protocol.core.intents.effects import IntentEffect
from amity.protocol.core.intents.memory import MemoryCaster, MemoryHub, MemoryVendor, Outgoing
from amity.protocol.envelope import open_envelope, sign_envelope
from amity.protocol.errors import AmityError
from amity.protocol.frames import encode_envelope_frame
from amity.protocol.identity import PeerId
from amity.protocol.intentmessages import MSG_CAST
from amity.protocol.replay import ReplayGuard
from amity.simulations.crypto import CryptoMode, make_keyring
from amity.simulations.world.distributions import Distribution
from amity.simulations.world.engine import Engine
from amity.simulations.world.streams import ByteSource

__all__ = ["SimCaster", "SimVendor", "SimHub", "Node", "Received", "Wire"]


@dataclass
class SimCaster(MemoryCaster):
    """Her node (or a Sybil's): castings, her trust view, the address she casts from. In every
    node the identity signs with the run's crypto mode (an intent's own key always for real)."""

    name: str = ""
    index: int = -1
    address: str = ""
    #: Keys the next cast takes first (the daemon's ``_Drawn``): only the leaky control and the
    #: one-key Sybil set them; otherwise every key is drawn fresh from the node's stream.
    pending_keys: list[bytes] = field(default_factory=list)
    crypto: CryptoMode = CryptoMode.REAL

    def __post_init__(self) -> None:
        super().__post_init__()
        self._keyring = make_keyring(self.seed, self.crypto)

    def random_bytes(self, count: int) -> bytes:
        if self.pending_keys:
            return self.pending_keys.pop(0)
        return super().random_bytes(count)


@dataclass
class SimVendor(MemoryVendor):
    name: str = ""
    spammer: bool = False
    guard: ReplayGuard = field(default_factory=ReplayGuard)
    crypto: CryptoMode = CryptoMode.REAL

    def __post_init__(self) -> None:
        super().__post_init__()
        self._keyring = make_keyring(self.seed, self.crypto)


@dataclass
class SimHub(MemoryHub):
    name: str = ""
    guard: ReplayGuard = field(default_factory=ReplayGuard)
    crypto: CryptoMode = CryptoMode.REAL

    def __post_init__(self) -> None:
        super().__post_init__()
        self._keyring = make_keyring(self.seed, self.crypto)


Node = SimCaster | SimVendor | SimHub


@dataclass(frozen=True, slots=True)
class Received:
    """One message as a hub or vendor received it: the adversary's raw material."""

    at_ms: int
    receiver: str
    #: The envelope's bytes (on a pseudonymous link: the frame's payload).
    data: bytes
    #: On a pseudonymous link: the key the session proved (the intent's pseudonym: one link per
    #: intent and hub), the network address the link came from, and the address a shared
    #: anonymising network would show instead.
    link: bytes | None = None
    address: str | None = None
    exit: str | None = None


@dataclass(slots=True)
class Wire:
    """Signs, delivers and hands over every message; schedules the roles' timers."""

    engine: Engine
    start_ms: int
    latency: Distribution
    rng: random.Random
    nonces: ByteSource
    exits: int
    #: Told of every notice a role returns: ``on_notice(node, notice)``.
    on_notice: Callable[[Node, IntentEffect], None]
    #: Told of every pseudonymous frame's fate at a hub: ``on_cast(intent key, hub, seq, code)``.
    on_link_result: Callable[[bytes, str | None], None]
    nodes: dict[PeerId, SimVendor | SimHub] = field(default_factory=dict)
    pseudonyms: dict[PeerId, SimCaster] = field(default_factory=dict)
    log: list[Received] = field(default_factory=list)
    #: Refusals by (receiver role, message type, code, sender's label).
    refused: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    labels: dict[PeerId, str] = field(default_factory=dict)
    _seq: dict[tuple[bytes, bytes], int] = field(default_factory=dict)
    _last_seq: dict[tuple[bytes, bytes], int] = field(default_factory=dict)
    _exit_of: dict[tuple[bytes, bytes], str] = field(default_factory=dict)
    #: The intent a cast being sent is for (set by the world around the cast), and the casts on
    #: the wire by (pseudonym, hub, seq): which intent a hub's answer is about.
    casting: bytes | None = None
    cast_seqs: dict[tuple[bytes, bytes, int], bytes] = field(default_factory=dict)

    @property
    def now_ms(self) -> int:
        return self.start_ms + self.engine.now_ms

    def add(self, node: SimVendor | SimHub, label: str) -> None:
        self.nodes[node.peer_id] = node
        self.labels[node.peer_id] = label

    def apply(self, node: Node, effects: Iterable[IntentEffect]) -> None:
        """Carry out ``effects`` at ``node``: records, then messages, timers and notices."""
        node.apply(effects)
        for intent_id, at_ms in sorted(node.timers.items()):
            self.engine.call_at(
                max(at_ms - self.start_ms, self.engine.now_ms), self._fire, node, intent_id
            )
        node.timers.clear()
        # In recipient order (stable: one recipient's messages keep theirs): the core may list
        # a set's members (a withdraw passed to every neighbour), whose order is the hash seed's.
        sends, node.outbox[:] = sorted(node.outbox, key=lambda o: o.to.key), []
        for out in sends:
            self.send(node, out)
        notices, node.notices[:] = list(node.notices), []
        for notice in notices:
            self.on_notice(node, notice)

    def _fire(self, node: Node, intent_id: bytes) -> None:
        now = self.now_ms
        if isinstance(node, SimCaster):
            self.apply(node, caster.timer_fired(node, intent_id, now))
        elif isinstance(node, SimVendor):
            self.apply(node, vendor.timer_fired(node, intent_id, now))
        else:
            self.apply(node, hub.timer_fired(node, intent_id, now))

    def send(self, node: Node, out: Outgoing) -> int:
        """Sign ``out`` with the next seq of its signer towards its recipient and put it on the
        wire; the seq (per intent and hub on a pseudonymous link: the key is fresh per intent)."""
        key = (out.signer.peer_id.key, out.to.key)
        seq = self._seq[key] = self._seq.get(key, 0) + 1
        data = sign_envelope(
            out.signer,
            type=out.type,
            recipient=out.to,
            seq=seq,
            ts_ms=self.now_ms,
            nonce=self.nonces.take(16),
            body=out.body,
        )
        if isinstance(node, SimCaster):
            self.pseudonyms[out.signer.peer_id] = node
            if out.type == MSG_CAST and self.casting is not None:
                self.cast_seqs[(key[0], key[1], seq)] = self.casting
        delay = self.latency.sample(self.rng)
        self.engine.call_later(delay, self._arrive, node, out.signer.peer_id, out.to, data)
        return seq

    def _arrive(self, sender: Node, signer: PeerId, to: PeerId, data: bytes) -> None:
        now = self.now_ms
        target = self.nodes.get(to)
        if target is None:  # to an intent key: her node, over the pseudonymous link
            self._at_caster(signer, to, data, now)
        elif isinstance(sender, SimCaster):
            assert isinstance(target, SimHub)
            self._at_hub(sender, signer, target, data, now)
        else:
            self._on_relationship(signer, target, data, now)

    def _at_hub(
        self, sender: SimCaster, pseudonym: PeerId, target: SimHub, data: bytes, now: int
    ) -> None:
        way = (pseudonym.key, target.peer_id.key)
        exit_name = self._exit_of.get(way)
        if exit_name is None:
            exit_name = self._exit_of[way] = f"exit-{self.rng.randrange(self.exits)}"
        self.log.append(Received(now, target.name, data, pseudonym.key, sender.address, exit_name))
        result = link.at_hub(target, target.guard, pseudonym, encode_envelope_frame(data), now)
        if isinstance(result, link.Took):
            self._cast_result(pseudonym, target, result.envelope.seq, None)
            self.apply(target, result.effects)
        elif isinstance(result, link.Refused):
            who = "sybil" if sender.name.startswith("sybil") else "person"
            self.refused[("hub", _type_of(data, target), result.error.code, who)] += 1
            self._cast_result(pseudonym, target, result.seq, result.error.code)
        elif isinstance(result, link.Broken):
            self.refused[("hub", "frame", result.error.code, "person")] += 1

    def _cast_result(self, pseudonym: PeerId, target: SimHub, seq: int, code: str | None) -> None:
        intent_id = self.cast_seqs.pop((pseudonym.key, target.peer_id.key, seq), None)
        if intent_id is not None:
            self.on_link_result(intent_id, code)

    def _at_caster(self, hub_peer: PeerId, intent_key: PeerId, data: bytes, now: int) -> None:
        her = self.pseudonyms[intent_key]
        way = (intent_key.key, hub_peer.key)
        last = self._last_seq.get(way, 0)
        result = link.at_caster(her, intent_key, hub_peer, last, encode_envelope_frame(data), now)
        if isinstance(result, link.Took):
            self._last_seq[way] = max(last, result.envelope.seq)
            self.apply(her, result.effects)
        elif isinstance(result, link.Refused):
            self._last_seq[way] = max(last, result.seq)
            self.refused[("caster", "from a hub", result.error.code, "hub")] += 1

    def _on_relationship(
        self, signer: PeerId, target: SimVendor | SimHub, data: bytes, now: int
    ) -> None:
        self.log.append(Received(now, target.name, data))
        envelope = open_envelope(data, recipient=target.peer_id)
        try:
            target.guard.check(envelope, now)
            if isinstance(target, SimVendor):
                effects = vendor.receive(target, envelope, now)
            else:
                effects = hub.receive(target, envelope, now)
        except AmityError as exc:
            role = "vendor" if isinstance(target, SimVendor) else "hub"
            label = self.labels.get(signer, "?")
            self.refused[(role, envelope.type, exc.code, label)] += 1
            return
        target.guard.record(envelope, now)
        self.apply(target, effects)


def _type_of(data: bytes, target: SimHub) -> str:
    # The refusal's message type, for the counters (the envelope verified in at_hub already).
    try:
        return open_envelope(data, recipient=target.peer_id).type
    except AmityError:
        return MSG_CAST
