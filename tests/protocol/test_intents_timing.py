"""The random cast delay (spec/intents.md §7.10): uniform over 0..max, from the host's bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amity.protocol.core.intents.memory import MemoryCaster
from amity.protocol.core.intents.timing import MAX_CAST_DELAY_MS, cast_delay_ms
from amity.protocol.errors import UsageError


class Counted(MemoryCaster):
    drawn_bytes: int = 0

    def random_bytes(self, count: int) -> bytes:
        self.drawn_bytes += count
        return MemoryCaster.random_bytes(self, count)


@given(st.integers(0, MAX_CAST_DELAY_MS), st.binary(min_size=8, max_size=8))
def test_a_delay_is_within_its_bounds(max_ms: int, seed: bytes) -> None:
    assert 0 <= cast_delay_ms(MemoryCaster(seed * 4), max_ms) <= max_ms


def test_no_delay_draws_nothing_and_delays_spread_over_the_range() -> None:
    host = Counted(b"\x01" * 32)
    assert cast_delay_ms(host, 0) == 0 and host.drawn_bytes == 0  # a run without delay repeats
    delays = [cast_delay_ms(host, 600_000) for _ in range(2000)]
    assert host.drawn_bytes == 8 * 2000
    # uniform: each tenth of the range holds about a tenth of the draws
    tenths = [sum(1 for d in delays if i * 60_000 <= d < (i + 1) * 60_000) for i in range(10)]
    assert all(140 <= n <= 260 for n in tenths), tenths
    # the same seed, the same delays: the simulator replays a run exactly
    assert [cast_delay_ms(Counted(b"\x02" * 32), 9_999) for _ in range(3)] == [
        cast_delay_ms(Counted(b"\x02" * 32), 9_999) for _ in range(3)
    ]


@pytest.mark.parametrize("bad", [-1, MAX_CAST_DELAY_MS + 1, True, 1.5])
def test_a_delay_out_of_range_is_a_usage_error(bad: object) -> None:
    with pytest.raises(UsageError):
        cast_delay_ms(MemoryCaster(b"\x03" * 32), bad)  # type: ignore[arg-type]
