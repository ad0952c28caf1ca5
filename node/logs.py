"""Structured logging: one line per event, ``event key=value …``, peer ids shortened.

Nothing secret is ever passed here: callers log peer fingerprints (``PeerId.short``), sizes,
counts and error codes, never keys, seeds, tokens, invitation secrets or message bodies.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

__all__ = ["configure", "log_event"]


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as one line (logfmt, or JSON with --log-json)."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={"amity_fields": fields})


class _LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields = getattr(record, "amity_fields", {})
        parts = [f"{stamp}.{int(record.msecs):03d}Z", record.levelname.lower(), record.getMessage()]
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


def configure(*, level: str = "info", json_lines: bool = False) -> None:
    """Send amity's logs to stderr, one line per event."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if json_lines else _LogfmtFormatter())
    root = logging.getLogger("amity")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
