"""The network model: latency and loss statistics (seeded), order, partitions, offline hosts, churn."""

from __future__ import annotations

import math
import statistics

import pytest

from amity.protocol.errors import UsageError
from amity.protocol.session import MAX_FRAME_BYTES
from amity.simulations.world.churn import Churn, ChurnModel
from amity.simulations.world.distributions import (
    Constant,
    Distribution,
    Exponential,
    LogNormal,
    Uniform,
    parse_distribution,
)
from amity.simulations.world.engine import Engine
from amity.simulations.world.network import Connection, LinkProfile, Network, Partition
from amity.simulations.world.streams import RandomStreams

SAMPLES = 20_000


class End:
    """One end of a connection: what arrived and when, and when it heard of the end."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.data: list[tuple[int, bytes]] = []
        self.closed: list[tuple[int, str]] = []

    def on_data(self, data: bytes) -> None:
        self.data.append((self.engine.now_ms, data))

    def on_closed(self, reason: str) -> None:
        self.closed.append((self.engine.now_ms, reason))


class Host:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ends: list[End] = []
        self.address = -1
        self.changes: list[tuple[int, bool]] = []

    def accept(self, connection: Connection) -> None:
        end = End(self.engine)
        connection.attach(self.address, end)
        self.ends.append(end)

    def went_offline(self) -> None:
        self.changes.append((self.engine.now_ms, False))

    def came_online(self) -> None:
        self.changes.append((self.engine.now_ms, True))


TEN_MS = Constant(10)


def world(
    latency: Distribution = TEN_MS, loss: float = 0.0, hosts: int = 2, seed: int = 1
) -> tuple[Engine, Network, list[Host]]:
    engine = Engine()
    network = Network(
        engine,
        RandomStreams(seed).stream("network"),
        default=LinkProfile(latency, loss),
        detect_ms=500,
        dial_fail_ms=300,
    )
    made = []
    for _ in range(hosts):
        host = Host(engine)
        host.address = network.add_host(host, "g")
        made.append(host)
    return engine, network, made


def connect(engine: Engine, network: Network, a: int, b: int) -> tuple[Connection, End]:
    opened: list[Connection] = []
    network.connect(a, b, opened.append, pytest.fail)
    while not opened:
        assert engine.run(max_events=1) == 1
    (connection,) = opened
    end = End(engine)
    connection.attach(a, end)
    return connection, end


def latencies(latency: Distribution) -> list[int]:
    _, network, _ = world(latency)
    found = [network.transmit(0, 1) for _ in range(SAMPLES)]
    assert None not in found
    return [x for x in found if x is not None]


def test_constant_and_uniform_latency() -> None:
    assert set(latencies(Constant(25))) == {25}
    sample = latencies(Uniform(10, 90))
    assert min(sample) == 10 and max(sample) == 90
    assert statistics.fmean(sample) == pytest.approx(50, rel=0.02)


def test_log_normal_latency_has_its_median_and_its_cut() -> None:
    sample = latencies(LogNormal(40, 0.6, max_ms=400))
    assert statistics.median(sample) == pytest.approx(40, rel=0.05)
    assert max(sample) <= 400
    # Mean of a log-normal: median * exp(sigma^2 / 2) (the cut barely matters at 400 ms).
    assert statistics.fmean(sample) == pytest.approx(40 * math.exp(0.18), rel=0.05)


def test_loss_rate_is_within_four_standard_deviations() -> None:
    _, network, _ = world(loss=0.1)
    lost = sum(network.transmit(0, 1) is None for _ in range(SAMPLES))
    sigma = math.sqrt(SAMPLES * 0.1 * 0.9)
    assert abs(lost - SAMPLES * 0.1) < 4 * sigma


def test_same_seed_same_draws_and_another_seed_others() -> None:
    def draws(seed: int) -> list[int | None]:
        _, network, _ = world(LogNormal(40, 0.6), loss=0.05, seed=seed)
        return [network.transmit(0, 1) for _ in range(200)]

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)


def test_a_connection_delivers_in_order_even_when_latencies_vary() -> None:
    engine, network, hosts = world(Uniform(1, 200))
    connection, _ = connect(engine, network, 0, 1)
    sent_at = {}
    for i in range(1000):
        sent_at[i] = engine.now_ms
        connection.send(0, i.to_bytes(2, "big"))
        engine.run(until_ms=engine.now_ms + 3)
    engine.run()
    received = hosts[1].ends[0].data
    assert [int.from_bytes(d, "big") for _, d in received] == list(range(1000))
    assert all(at >= sent_at[int.from_bytes(d, "big")] + 1 for at, d in received)


def test_a_lost_message_breaks_the_connection_from_it_on_and_both_ends_notice_later() -> None:
    """Loss is per message: what was sent before the lost one still arrives (issue 20)."""
    engine, network, hosts = world(Constant(10), loss=0.2, seed=2)
    connection, mine = connect(engine, network, 0, 1)
    sent = 0
    while network.stats.lost_in_transit == 0:
        connection.send(0, sent.to_bytes(2, "big"))
        sent += 1
    lost_at = engine.now_ms
    assert sent > 1  # seed 2 loses a message after the first: there are some to keep
    connection.send(0, b"after")
    engine.run(until_ms=lost_at + 100)
    theirs = hosts[1].ends[0]
    assert [d for _, d in theirs.data] == [i.to_bytes(2, "big") for i in range(sent - 1)]
    connection.send(1, b"answer")  # the other direction still works until the ends notice
    engine.run()
    assert [d for _, d in mine.data] == [b"answer"]
    assert mine.closed == [(lost_at + 500, "loss")]
    assert theirs.closed == [(lost_at + 500, "loss")]
    assert not connection.alive
    assert network.stats.broken == {"loss": 1}
    assert network.stats.lost_on_dead_connection == 1


def test_a_burst_crosses_a_lossy_network_over_a_few_connections() -> None:
    """300 messages at 1 % loss: each connection keeps what arrived before its loss."""
    engine, network, hosts = world(Constant(10), loss=0.01, seed=5)
    delivered: list[bytes] = []
    connections = 0
    while len(delivered) < 300 and connections < 30:
        connection, _ = connect(engine, network, 0, 1)
        connections += 1
        for i in range(len(delivered), 300):
            connection.send(0, i.to_bytes(2, "big"))
        engine.run()
        delivered += [d for _, d in hosts[1].ends[-1].data]
    assert delivered == [i.to_bytes(2, "big") for i in range(300)]
    assert connections <= 10


def test_a_message_over_one_noise_message_breaks_the_connection() -> None:
    """As the WebSocket (close code 1009): a full frame passes, one byte more breaks the link."""
    engine, network, hosts = world()
    connection, mine = connect(engine, network, 0, 1)
    connection.send(0, bytes(MAX_FRAME_BYTES))
    engine.run()
    assert [len(d) for _, d in hosts[1].ends[0].data] == [MAX_FRAME_BYTES]
    assert connection.alive
    connection.send(0, bytes(MAX_FRAME_BYTES + 1))
    engine.run()
    assert not connection.alive
    assert len(hosts[1].ends[0].data) == 1
    assert network.stats.broken == {"too_big": 1}
    assert [reason for _, reason in mine.closed] == ["too_big"]


def test_partitions_cut_connections_and_dials_until_they_heal() -> None:
    engine, network, _ = world(Constant(10), hosts=4)
    across, _ = connect(engine, network, 0, 2)
    inside, _ = connect(engine, network, 0, 1)
    network.schedule_partition(Partition(1_000, 2_000, (0, 1)))
    assert engine.now_ms < 1_000
    engine.run(until_ms=1_000)
    assert not across.alive and inside.alive
    assert network.transmit(0, 2) is None and network.transmit(1, 3) is None
    assert network.transmit(0, 1) == 10 and network.transmit(2, 3) == 10
    failed: list[str] = []
    network.connect(1, 3, lambda c: pytest.fail("dialled across a partition"), failed.append)
    engine.run(until_ms=1_500)
    assert failed == ["unreachable"]
    engine.run(until_ms=2_000)
    assert network.transmit(0, 2) == 10
    connect(engine, network, 1, 3)


def test_an_offline_host_loses_its_connections_and_cannot_be_dialled() -> None:
    engine, network, hosts = world(Constant(10))
    connection, mine = connect(engine, network, 0, 1)
    engine.run(until_ms=200)
    network.set_online(1, False)
    theirs = hosts[1].ends[0]
    assert theirs.closed == [(200, "offline")]  # the host that left knows at once
    engine.run(until_ms=1_000)
    assert mine.closed == [(700, "offline")]  # its peer after detect_ms
    connection.send(0, b"lost")
    assert network.transmit(0, 1) is None
    failed: list[str] = []
    network.connect(0, 1, lambda c: pytest.fail("dialled an offline host"), failed.append)
    engine.run(until_ms=1_400)
    assert failed == ["unreachable"] and engine.now_ms == 1_400
    network.set_online(1, True)
    assert hosts[1].changes == [(200, False), (1_400, True)]
    connect(engine, network, 0, 1)


def test_churn_spends_the_expected_share_of_time_online() -> None:
    engine, network, hosts = world(hosts=1, seed=5)
    churn = Churn(engine, network, RandomStreams(5).stream("churn"))
    churn.add(0, ChurnModel(Exponential(1_000), Exponential(250)))
    horizon = 4_000_000
    engine.run(until_ms=horizon)
    online_ms, last, state = 0, 0, True
    for at, now_online in hosts[0].changes:
        if state:
            online_ms += at - last
        last, state = at, now_online
    if state:
        online_ms += horizon - last
    assert online_ms / horizon == pytest.approx(0.8, abs=0.02)
    sessions = churn.departures
    assert sessions == pytest.approx(horizon / 1_250, rel=0.1)


def test_churn_start_state_follows_start_online() -> None:
    engine, network, _ = world(hosts=400, seed=6)
    churn = Churn(engine, network, RandomStreams(6).stream("churn"))
    for address in range(400):
        churn.add(address, ChurnModel(Constant(10**9), Constant(10**9), start_online=0.25))
    online = sum(network.is_online(a) for a in range(400))
    assert abs(online - 100) < 4 * math.sqrt(400 * 0.25 * 0.75)


def test_distributions_parse_from_their_scenario_form() -> None:
    assert parse_distribution(40, "x") == Constant(40)
    assert parse_distribution({"kind": "uniform", "lo_ms": 1, "hi_ms": 2}, "x") == Uniform(1, 2)
    assert parse_distribution(
        {"kind": "lognormal", "median_ms": 40, "sigma": 0.5, "max_ms": 100}, "x"
    ) == LogNormal(40.0, 0.5, 100)
    assert parse_distribution({"kind": "exponential", "mean_ms": 5}, "x") == Exponential(5.0)
    for bad in (-1, "fast", {"kind": "gamma"}, {"kind": "uniform", "lo_ms": 3, "hi_ms": 2},
                {"kind": "constant", "ms": 1, "extra": 2}):  # fmt: skip
        with pytest.raises(UsageError):
            parse_distribution(bad, "x")
    with pytest.raises(UsageError):
        LinkProfile(Constant(1), loss=1.0)
