"""The error tree against its contract, spec/errors.md: every code listed, no code shared."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections import Counter
from pathlib import Path

import pytest

import amity.node
import amity.protocol
import amity.simulations
from amity.protocol import errors
from amity.protocol.errors import (
    AmityError,
    LocalError,
    RemoteError,
    all_error_classes,
    format_time_ms,
)

SPEC = Path(__file__).resolve().parents[2] / "spec" / "errors.md"
#: A table row of spec/errors.md: | `code` | `Class` | side | when |
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([A-Za-z]+)`\s*\|\s*(local|remote|—)\s*\|", re.M)


def spec_rows() -> dict[str, tuple[str, str]]:
    """code -> (class name, side) for every row of the tables in spec/errors.md."""
    rows = ROW.findall(SPEC.read_text(encoding="utf-8"))
    codes = Counter(code for code, _, _ in rows)
    assert not [c for c, n in codes.items() if n > 1], "a code is listed twice in errors.md"
    return {code: (name, side) for code, name, side in rows}


# Import every module first: a subclass defined anywhere must be seen whatever else this test
# run happened to import, or the result would depend on the order tests run in.
for _package in (amity.protocol, amity.node, amity.simulations):
    for _module in pkgutil.walk_packages(_package.__path__, _package.__name__ + "."):
        if not _module.name.endswith("__main__"):  # a __main__ runs its program on import
            importlib.import_module(_module.name)

ALL = all_error_classes()


def test_codes_are_unique() -> None:
    counts = Counter(cls.code for cls in ALL)
    shared = {
        code: [c.__name__ for c in ALL if c.code == code] for code, n in counts.items() if n > 1
    }
    assert not shared, f"error codes must be unique: {shared}"


@pytest.mark.parametrize("cls", ALL, ids=[cls.__name__ for cls in ALL])
def test_every_code_is_in_the_spec(cls: type[AmityError]) -> None:
    rows = spec_rows()
    assert cls.code in rows, (
        f"{cls.__name__} ({cls.code!r}) is not listed in spec/errors.md: add a row to the table "
        "of its family (code, class, side, when it is raised)"
    )
    name, side = rows[cls.code]
    assert name == cls.__name__, f"spec/errors.md names {name} for {cls.code!r}"
    expected = "local" if issubclass(cls, LocalError) else "remote"
    if cls is not AmityError:
        assert side == expected, f"{cls.code!r} is a {expected} error, errors.md says {side}"


def test_spec_lists_no_code_that_does_not_exist() -> None:
    stale = set(spec_rows()) - {cls.code for cls in ALL}
    assert not stale, f"spec/errors.md lists codes no class has: {sorted(stale)}"


def test_codes_are_family_dot_name() -> None:
    for cls in ALL:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*", cls.code), cls.code


@pytest.mark.parametrize("cls", ALL[1:], ids=[cls.__name__ for cls in ALL[1:]])
def test_every_error_is_local_or_remote(cls: type[AmityError]) -> None:
    assert issubclass(cls, LocalError) != issubclass(cls, RemoteError)
    assert issubclass(cls, LocalError) == cls.code.startswith("local.")


def test_every_class_is_exported() -> None:
    exported = {name for name in errors.__all__ if isinstance(getattr(errors, name), type)}
    assert {cls.__name__ for cls in ALL} <= exported


def test_hint_and_message() -> None:
    error = errors.UnsupportedVersionError(
        "version 2; this node speaks 1", hint="version.unsupported"
    )
    assert error.message == "version 2; this node speaks 1"
    assert error.hint == "version.unsupported"
    assert errors.BadDidError("x").hint is None


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1767225600123, "2026-01-01T00:00:00.123Z"),
        (2**64 - 1, f"{2**64 - 1} ms"),
    ],
)
def test_format_time_ms(ms: int, text: str) -> None:
    assert format_time_ms(ms) == text
