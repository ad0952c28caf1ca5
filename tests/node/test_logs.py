"""The log handler bounds what a flood can write: repeats are counted, not written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from amity.node.logs import RepeatCollapsingHandler, configure, log_event


@pytest.fixture
def restore_loggers() -> Iterator[None]:
    """configure() takes over amity's, asyncio's and aiohttp's loggers: give them back."""
    names = ("amity", "asyncio", "aiohttp")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names}
    yield
    for name, (handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.handlers[:] = handlers
        logger.propagate = propagate


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
    assert "'of': 'peer.evicted'" in lines[3] and "'times': 997" in lines[3]


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


@pytest.mark.usefixtures("restore_loggers")
def test_asyncio_errors_go_through_the_same_bounded_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(level="info")
    error = OSError(24, "Too many open files")
    for _ in range(200):
        logging.getLogger("asyncio").error(
            "socket.accept() out of system resource\nsocket: <fd=6>", exc_info=error
        )
    log_event(logging.getLogger("amity.test"), "after")
    for handler in logging.getLogger("amity").handlers:
        handler.close()  # writes what is still counted
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert sum("out of system resource" in line for line in lines) <= 5 + 1
    assert any("log.repeated" in line and "times=195" in line for line in lines)
    assert all(line.count("\n") == 0 for line in lines)


@pytest.mark.usefixtures("restore_loggers")
def test_a_json_summary_keeps_its_own_event_name(capsys: pytest.CaptureFixture[str]) -> None:
    configure(level="info", json_lines=True)
    for _ in range(10):
        log_event(logging.getLogger("amity.test"), "peer.evicted", remote="192.0.2.1")
    for handler in logging.getLogger("amity").handlers:
        handler.close()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["peer.evicted"] * 5 + ["log.repeated"]
    assert lines[-1]["of"] == "peer.evicted" and lines[-1]["times"] == 5
