"""The log handler bounds what a flood can write: repeats are counted, not written."""

from __future__ import annotations

import io
import logging

import pytest

from amity.node.logs import RepeatCollapsingHandler, configure, log_event


def _record(message: str, created: float, **fields: object) -> logging.LogRecord:
    record = logging.LogRecord("amity.test", logging.WARNING, __file__, 1, message, (), None)
    record.created = created
    record.amity_fields = fields
    return record


def _handler() -> tuple[RepeatCollapsingHandler, io.StringIO]:
    stream = io.StringIO()
    handler = RepeatCollapsingHandler(stream, burst=3, window_s=10.0)
    handler.setFormatter(logging.Formatter("%(message)s %(amity_fields)s"))
    return handler, stream


def test_identical_lines_beyond_the_burst_are_counted_and_summarised_on_close() -> None:
    handler, stream = _handler()
    for i in range(1000):
        handler.handle(_record("peer.evicted", 100.0 + i / 1000, remote="192.0.2.1"))
    handler.close()
    lines = stream.getvalue().splitlines()
    assert lines[:3] == ["peer.evicted {'remote': '192.0.2.1'}"] * 3
    assert len(lines) == 4
    assert lines[3].startswith("log.repeated ")
    assert "'event': 'peer.evicted'" in lines[3] and "'times': 997" in lines[3]


def test_a_summary_follows_when_the_window_is_over() -> None:
    handler, stream = _handler()
    for i in range(10):
        handler.handle(_record("same", 100.0 + i / 100))
    handler.handle(_record("other", 111.0))  # the window of "same" ended at 110
    handler.handle(_record("same", 111.0))  # and a new window starts
    lines = stream.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["same"] * 3 + ["log.repeated", "other", "same"]
    assert "'times': 7" in lines[3]


def test_lines_that_differ_are_all_written() -> None:
    handler, stream = _handler()
    for i in range(50):
        handler.handle(_record("peer.evicted", 100.0, remote=f"192.0.2.{i}"))
    handler.close()
    assert len(stream.getvalue().splitlines()) == 50


def test_asyncio_errors_go_through_the_same_bounded_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(level="info")
    try:
        error = OSError(24, "Too many open files")
        for _ in range(200):
            logging.getLogger("asyncio").error(
                "socket.accept() out of system resource\nsocket: <fd=6>", exc_info=error
            )
        log_event(logging.getLogger("amity.test"), "after")
    finally:
        for name in ("amity", "asyncio", "aiohttp"):
            for handler in logging.getLogger(name).handlers:
                handler.close()
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert sum("out of system resource" in line for line in lines) <= 5 + 1
    assert any("log.repeated" in line and "times=195" in line for line in lines)
    assert all(line.count("\n") == 0 for line in lines)
