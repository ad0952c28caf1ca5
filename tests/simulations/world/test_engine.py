"""The engine: time order, deterministic ties, timers and cancel, run-until; the seeded streams."""

from __future__ import annotations

import pytest

from amity.protocol.errors import UsageError
from amity.simulations.world.engine import Engine
from amity.simulations.world.streams import ByteSource, RandomStreams, derive_key


def test_events_run_in_time_order_whatever_the_scheduling_order() -> None:
    engine = Engine()
    seen: list[tuple[int, str]] = []
    for at, name in [(30, "c"), (10, "a"), (20, "b"), (0, "zero")]:
        engine.call_at(at, lambda n=name: seen.append((engine.now_ms, n)))
    assert engine.run() == 4
    assert seen == [(0, "zero"), (10, "a"), (20, "b"), (30, "c")]


def test_ties_run_in_the_order_they_were_scheduled() -> None:
    engine = Engine()
    seen: list[int] = []
    for i in range(100):
        engine.call_at(5, seen.append, i)
    engine.run()
    assert seen == list(range(100))


def test_an_event_scheduled_for_now_runs_after_those_already_due_now() -> None:
    engine = Engine()
    seen: list[str] = []

    def first() -> None:
        seen.append("first")
        engine.call_later(0, seen.append, "scheduled by first")

    engine.call_at(7, first)
    engine.call_at(7, seen.append, "second")
    engine.run()
    assert seen == ["first", "second", "scheduled by first"]


def test_cancelled_timers_do_not_run_and_cancel_is_idempotent() -> None:
    engine = Engine()
    seen: list[str] = []
    keep = engine.call_later(10, seen.append, "kept")
    drop = engine.call_later(5, seen.append, "dropped")
    engine.cancel(drop)
    engine.cancel(drop)
    engine.cancel(None)
    assert engine.next_time() == 10
    engine.run()
    engine.cancel(keep)  # already ran: harmless
    assert seen == ["kept"]
    assert engine.events_run == 1


def test_many_cancellations_compact_the_heap_without_losing_live_events() -> None:
    engine = Engine()
    seen: list[int] = []
    timers = [engine.call_at(i, seen.append, i) for i in range(20_000)]
    for timer in timers:
        if timer.at_ms % 10:
            engine.cancel(timer)
    assert engine.pending < 20_000
    engine.run()
    assert seen == list(range(0, 20_000, 10))


def test_compaction_while_running_keeps_every_event() -> None:
    engine = Engine()
    seen: list[int] = []

    def cancel_many() -> None:  # compacts the heap from inside a running callback
        for timer in [engine.call_later(5, seen.append, -1) for _ in range(10_000)]:
            engine.cancel(timer)
        engine.call_later(10, seen.append, 2)

    engine.call_at(1, cancel_many)
    engine.call_at(3, seen.append, 1)
    engine.run(until_ms=100)
    assert seen == [1, 2]


def test_run_until_stops_at_the_limit_and_leaves_the_clock_there() -> None:
    engine = Engine()
    seen: list[int] = []
    for at in (5, 10, 15):
        engine.call_at(at, seen.append, at)
    assert engine.run(until_ms=10) == 2
    assert seen == [5, 10]
    assert engine.now_ms == 10
    assert engine.run(until_ms=12) == 0
    assert engine.now_ms == 12  # the clock reaches the limit even with nothing to do
    engine.run()
    assert seen == [5, 10, 15]


def test_stop_and_max_events_leave_the_rest_waiting() -> None:
    engine = Engine()
    seen: list[int] = []
    for at in range(10):
        engine.call_at(at, seen.append, at)
    engine.call_at(3, engine.stop)
    engine.run()
    assert seen == [0, 1, 2, 3]
    assert engine.run(max_events=2) == 2
    assert seen == [0, 1, 2, 3, 4, 5]
    assert engine.now_ms == 5


def test_the_past_and_negative_delays_are_refused() -> None:
    engine = Engine()
    engine.call_at(10, lambda: None)
    engine.run()
    with pytest.raises(UsageError):
        engine.call_at(9, lambda: None)
    with pytest.raises(UsageError):
        engine.call_later(-1, lambda: None)


def test_streams_are_named_and_seeded_and_independent() -> None:
    a, b = RandomStreams(7), RandomStreams(7)
    assert [a.stream("x").random() for _ in range(5)] == [b.stream("x").random() for _ in range(5)]
    # Drawing from one stream leaves another unchanged.
    c = RandomStreams(7)
    c.stream("y").random()
    assert c.stream("x").random() == RandomStreams(7).stream("x").random()
    assert RandomStreams(8).stream("x").random() != RandomStreams(7).stream("x").random()
    assert a.stream("x") is a.stream("x")


def test_byte_sources_are_reproducible_and_do_not_repeat() -> None:
    one, two = RandomStreams(3).bytes_source("n"), RandomStreams(3).bytes_source("n")
    first = [one.take(16) for _ in range(100)]
    assert first == [two.take(16) for _ in range(100)]
    assert len(set(first)) == 100
    assert ByteSource(derive_key(3, "n")).take(32) != ByteSource(derive_key(3, "m")).take(32)
    with pytest.raises(UsageError):
        one.take(65)
    with pytest.raises(UsageError):
        derive_key(-1, "n")
