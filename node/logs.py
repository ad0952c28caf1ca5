"""Structured logging: one line per event, ``event key=value …``, peer ids shortened.

Nothing secret is ever passed here: callers log peer fingerprints (``PeerId.short``), sizes,
counts and error codes, never keys, seeds, tokens, invitation secrets or message bodies.

Whatever a stranger can make us log is bounded: a line repeated within a window is written a
few times, then counted, and the count is written as ``log.repeated`` (syslog's "message
repeated N times"); aiohttp's report of a malformed request becomes one line that does not
echo the request; asyncio's and aiohttp's own loggers go through the same handler.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import OrderedDict
from typing import Any, Final, TextIO

__all__ = ["RepeatCollapsingHandler", "configure", "log_event"]

#: Identical lines written per window before the rest are only counted.
REPEAT_BURST: Final = 5
REPEAT_WINDOW_S: Final = 10.0
#: Distinct lines tracked at once; beyond, the oldest window is summarised and forgotten.
_REPEAT_KEYS: Final = 4096
#: Loggers of the libraries under the daemon whose lines we route (and bound) too.
#: psycopg's pool says when it cannot reach a PostgreSQL store (and retries).
_LIBRARY_LOGGERS: Final = ("asyncio", "aiohttp", "psycopg")


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as one line (logfmt, or JSON with --log-json)."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={"amity_fields": fields})


class _LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields = getattr(record, "amity_fields", {})
        message = record.getMessage()
        if "\n" in message:  # asyncio's own reports span lines; ours never do
            message = json.dumps(message)
        parts = [f"{stamp}.{int(record.msecs):03d}Z", record.levelname.lower(), message]
        parts += [f"{key}={_quote(value)}" for key, value in fields.items()]
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **getattr(record, "amity_fields", {}),
        }
        return json.dumps(data, default=str)


def _quote(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n\t'):
        return json.dumps(text)
    return text


class _Window:
    __slots__ = ("record", "shown", "start", "suppressed")

    def __init__(self, record: logging.LogRecord) -> None:
        self.record = record
        self.start = record.created
        self.shown = 0
        self.suppressed = 0


class RepeatCollapsingHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes each distinct line at most ``burst`` times per window.

    Further copies are counted; the count goes out as one ``log.repeated`` line when the window
    is over and another line is logged, when the line is forgotten, or when the handler closes.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        burst: int = REPEAT_BURST,
        window_s: float = REPEAT_WINDOW_S,
    ) -> None:
        super().__init__(stream)
        self.burst = burst
        self.window_s = window_s
        self._windows: OrderedDict[tuple[Any, ...], _Window] = OrderedDict()

    def emit(self, record: logging.LogRecord) -> None:
        now = record.created
        # Windows sit in the order they opened, so the due ones are at the front.
        while self._windows:
            first = next(iter(self._windows.values()))
            if now - first.start < self.window_s:
                break
            self._write_summary(self._windows.popitem(last=False)[1])
        key = _line_key(record)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(record)
            if len(self._windows) > _REPEAT_KEYS:
                self._write_summary(self._windows.popitem(last=False)[1])
        if window.shown < self.burst:
            window.shown += 1
            super().emit(record)
        else:
            window.suppressed += 1

    def close(self) -> None:
        self.acquire()
        try:
            while self._windows:
                self._write_summary(self._windows.popitem(last=False)[1])
        finally:
            self.release()
        super().close()

    def _write_summary(self, window: _Window) -> None:
        if not window.suppressed:
            return
        seen = window.record
        summary = logging.LogRecord(
            seen.name, seen.levelno, seen.pathname, seen.lineno, "log.repeated", (), None
        )
        summary.amity_fields = {
            "of": _short(seen.getMessage()),
            **getattr(seen, "amity_fields", {}),
            "times": window.suppressed,
            "window_s": f"{self.window_s:g}",
        }
        super().emit(summary)


def _line_key(record: logging.LogRecord) -> tuple[Any, ...]:
    fields = getattr(record, "amity_fields", {})
    exc = record.exc_info[1] if record.exc_info else None
    return (
        record.name,
        record.levelno,
        record.getMessage(),
        tuple(sorted((k, str(v)) for k, v in fields.items())),
        None if exc is None else (type(exc).__name__, str(exc)[:200]),
    )


def _short(text: str, limit: int = 120) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[:limit] + "..."


class _BadRequestFilter(logging.Filter):
    """aiohttp logs a malformed request with a traceback whose text echoes the request bytes
    (up to its read buffer). Keep one line: who, what status, which parser error; no bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        # Only aiohttp logs to this logger, so its error type is loaded whenever a record comes:
        # looked up, not imported, so that a CLI command that logs nothing stays light.
        errors = sys.modules.get("aiohttp.http_exceptions")
        if errors is None or not isinstance(exc, errors.HttpProcessingError):
            return True
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg, record.args = "http.bad_request", ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        record.levelno = min(record.levelno, logging.INFO)
        record.levelname = logging.getLevelName(record.levelno)
        record.amity_fields = {
            "remote": remote,
            "status": getattr(exc, "code", 400),
            "error": type(exc).__name__,
        }
        return True


def configure(*, level: str = "info", json_lines: bool = False) -> None:
    """Send amity's logs (and asyncio's and aiohttp's) to stderr, one line per event."""
    handler = RepeatCollapsingHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if json_lines else _LogfmtFormatter())
    for name in ("amity", *_LIBRARY_LOGGERS):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    # psycopg's pool reports every connection it makes at info: only its warnings are news.
    psycopg = logging.getLogger("psycopg")
    psycopg.setLevel(max(psycopg.getEffectiveLevel(), logging.WARNING))
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _BadRequestFilter) for f in server.filters):
        server.addFilter(_BadRequestFilter())
