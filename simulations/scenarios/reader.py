"""Scenario files: TOML that describes one simulated world, read into checked tables.

A scenario names its ``kind`` (``market``, ``lifecycle``, ``reputation``), a paragraph
``description`` of what it shows, and the tables its kind reads (each kind's ``scenario`` module
checks them into typed values). A ``[quick]`` table holds replacements for ``--quick`` runs: each of
its tables replaces the keys it names in the table of the same name. Paths may be given relative to
the shipped ``scenarios/`` folder. This module is what every kind's loader shares.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from collections.abc import Callable, Collection, ItemsView, Iterator, KeysView, Mapping, ValuesView
from pathlib import Path
from typing import Any, Final, TypeVar

from amity.protocol.errors import ScenarioError, UsageError
from amity.simulations.world.distributions import Distribution, parse_distribution

__all__ = [
    "SCENARIOS_DIR",
    "ScenarioError",
    "shipped_scenarios",
    "resolve_scenario_path",
    "read_with_overrides",
    "read_toml",
    "load_kind",
]

#: The scenarios shipped with the package.
SCENARIOS_DIR: Final = Path(__file__).resolve().parent
_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_DEFAULT_START_MS: Final = 1_767_225_600_000  # 2026-01-01T00:00:00Z
T = TypeVar("T")


def resolve_scenario_path(text: str | Path) -> Path:
    """``text`` as given if it exists, else the shipped scenario of that name."""
    given = Path(text)
    named = SCENARIOS_DIR / given.name
    for candidate in (given, SCENARIOS_DIR / given, named, named.with_name(named.name + ".toml")):
        if candidate.is_file():
            return candidate
    shipped = ", ".join(sorted(p.name for p in SCENARIOS_DIR.glob("*.toml")))
    raise ScenarioError(f"no scenario file {str(text)!r}; the shipped scenarios are: {shipped}")


def shipped_scenarios() -> list[tuple[str, str]]:
    """(file name, what it shows) of every scenario shipped, from each file's first comment line.

    The help lists what this returns, so a scenario file added to the folder is listed at once.
    """
    listed = []
    for path in sorted(SCENARIOS_DIR.glob("*.toml")):
        with path.open(encoding="utf-8") as file:
            first = file.readline().removeprefix("#").strip()
        summary = first.partition(": ")[2] if first.startswith("amity-sim") else first
        summary = re.sub(r"\s*\(issues? [0-9, ]+\)", "", summary).rstrip(".")
        listed.append((path.name, summary or "(no summary line)"))
    return listed


class _Reader:
    """Typed access to one table of the file, with errors that say where."""

    def __init__(self, path: Path, where: str, table: object) -> None:
        if not isinstance(table, Mapping):
            raise ScenarioError(f"{path.name}: [{where}] must be a table")
        self.path = path
        self.where = where
        self.table: Mapping[str, Any] = table

    def known(self, keys: Collection[str]) -> None:
        """Refuse, by name, the first key of the table that is not one of ``keys``."""
        for key in sorted(self.table):
            if key not in keys:
                raise self.fail(key, f"unknown key; the keys are {', '.join(sorted(keys))}")

    def fail(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.path.name}: {self.where}.{key}: {message}")

    def integer(self, key: str, default: int | None = None, *, lo: int = 0) -> int:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise self.fail(key, f"expected an integer >= {lo}, got {value!r}")
        return value

    def probability(self, key: str, default: float) -> float:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise self.fail(key, f"expected a probability in [0, 1], got {value!r}")
        return float(value)

    def text(self, key: str) -> str:
        value = self.table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty string")
        return value

    def duration(self, key: str, default: object = None) -> Distribution:
        try:
            return parse_distribution(self.table.get(key, default), f"{self.where}.{key}")
        except UsageError as exc:
            raise ScenarioError(f"{self.path.name}: {exc.message}") from None

    def sub(self, key: str) -> _Reader:
        return _Reader(self.path, f"{self.where}.{key}", self.table.get(key, {}))

    def tables(self, key: str) -> list[_Reader]:
        items = self.table.get(key, [])
        if not isinstance(items, list):
            raise self.fail(key, "expected an array of tables ([[...]])")
        return [_Reader(self.path, f"{key}[{i}]", item) for i, item in enumerate(items)]


def _merge_quick(data: dict[str, Any], path: Path) -> None:
    quick = data.get("quick", {})
    if not isinstance(quick, dict):
        raise ScenarioError(f"{path.name}: [quick] must be a table of tables")
    for table, replacements in quick.items():
        target = data.setdefault(table, {})
        if not isinstance(replacements, dict) or not isinstance(target, dict):
            raise ScenarioError(f"{path.name}: quick.{table} must name a table of the scenario")
        target.update(replacements)


def _start_ms(run: _Reader) -> int:
    start = run.table.get("start")
    if start is None:
        return _DEFAULT_START_MS
    if not isinstance(start, datetime.datetime) or start.tzinfo is None:
        raise run.fail("start", "expected a date-time with its offset (2026-01-05T09:00:00Z)")
    return (start - _EPOCH) // datetime.timedelta(milliseconds=1)


# -- overrides: dotted keys set from the command line (amity-sim sweep --param) --------------------


def _split_key(key: str, path: Path) -> list[str | int]:
    parts = key.split(".")
    if not all(parts):
        raise ScenarioError(
            f"{path.name}: override {key!r}: expected a dotted key such as population.persons"
        )
    return [int(p) if p.isdigit() else p for p in parts]


def _apply_overrides(data: dict[str, Any], overrides: Mapping[str, object], path: Path) -> None:
    """Set each dotted key of ``overrides`` in the parsed TOML ``data``.

    The top-level key must exist; tables below it are created as needed (the loader then says
    whether it reads them: :func:`_check_read`). A digit segment indexes an array of
    tables (``vendor_policy.0.weight``).
    """
    for key, value in overrides.items():
        parts = _split_key(key, path)
        if parts[0] not in data:
            tops = ", ".join(sorted(data))
            raise ScenarioError(
                f"{path.name}: override {key}: the scenario has no {parts[0]!r}; "
                f"its top-level keys are: {tops}"
            )
        node: object = data
        for depth, part in enumerate(parts[:-1]):
            node = _child(node, part, key, parts[: depth + 1], path)
        last = parts[-1]
        if isinstance(node, dict) and isinstance(last, str):
            node[last] = value
            continue
        if isinstance(node, list) and isinstance(last, int) and last < len(node):
            node[last] = value
            continue
        raise _not_there(key, parts, path)


def _child(node: object, part: str | int, key: str, prefix: list[str | int], path: Path) -> object:
    if isinstance(node, dict) and isinstance(part, str):
        return node.setdefault(part, {})
    elif isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    raise _not_there(key, prefix, path)


def _not_there(key: str, prefix: list[str | int], path: Path) -> ScenarioError:
    where = ".".join(map(str, prefix[:-1])) or "the top level"
    return ScenarioError(f"{path.name}: override {key}: {where} has no {prefix[-1]!r}")


class _Tracked(dict[str, Any]):
    """A TOML table that remembers which keys the loader read, to catch overrides it ignores."""

    __slots__ = ("read",)

    def __init__(self, items: Mapping[str, Any]) -> None:
        super().__init__(items)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.read.update(super().keys())
        return super().__iter__()

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        self.read.update(super().keys())
        return super().keys()

    def items(self) -> ItemsView[str, Any]:  # type: ignore[override]
        self.read.update(super().keys())
        return super().items()

    def values(self) -> ValuesView[Any]:  # type: ignore[override]
        self.read.update(super().keys())
        return super().values()


def _track(value: object) -> Any:
    if isinstance(value, dict):
        return _Tracked({k: _track(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_track(v) for v in value]
    return value


def _check_read(
    data: dict[str, Any], overrides: Mapping[str, object], path: Path, *, kind: str
) -> None:
    """A ScenarioError for the first override key that the loader of ``kind`` never read."""
    for key in overrides:
        node: object = data
        parts = _split_key(key, path)
        for depth, part in enumerate(parts):
            if isinstance(node, _Tracked) and isinstance(part, str):
                if part not in node.read:
                    where = ".".join(map(str, parts[:depth])) or "the top level"
                    known = ", ".join(sorted(node.read)) or "nothing"
                    hint = (
                        "; --quick applies [quick] first: override the key it replaces instead"
                        if key.startswith("quick.")
                        else ""
                    )
                    raise ScenarioError(
                        f"{path.name}: override {key}: a {kind} scenario never reads "
                        f"{'.'.join(map(str, parts[: depth + 1]))} (of {where} it reads: "
                        f"{known}){hint}"
                    )
                node = dict.__getitem__(node, part)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                break  # a value the loader read whole


def read_with_overrides(
    data: dict[str, Any],
    overrides: Mapping[str, object] | None,
    path: Path,
    *,
    kind: str,
    read: Callable[[dict[str, Any]], T],
) -> T:
    """``read(data)`` with the dotted ``overrides`` set, failing on a key that ``read`` ignores.

    For every scenario kind: ``population.persons``, ``network.loss`` or
    ``vendor_policy.0.weight`` is set in the parsed TOML, ``read`` checks the values as it checks
    the file's own, and a key it never looked at is a ScenarioError naming it (a typo would
    otherwise sweep a parameter that changes nothing).
    """
    if not overrides:
        return read(data)
    _apply_overrides(data, overrides, path)
    tracked = _track(data)
    result = read(tracked)
    _check_read(tracked, overrides, path, kind=kind)
    return result


def read_toml(found: Path) -> dict[str, Any]:
    """A scenario file's tables; ScenarioError, naming the file, if it is not TOML."""
    try:
        return tomllib.loads(found.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{found.name}: not valid TOML: {exc}") from None


def load_kind(
    path: str | Path,
    *,
    kind: str,
    build: Callable[[dict[str, Any], Path, bool], T],
    quick: bool = False,
    overrides: Mapping[str, object] | None = None,
    default_kind: str | None = None,
) -> T:
    """Read a scenario file of ``kind``: ``[quick]`` replacements, then ``overrides``, then
    ``build(tables, path, quick)``, which checks it (see :func:`read_with_overrides`)."""
    found = resolve_scenario_path(path)
    data = read_toml(found)
    if quick:
        _merge_quick(data, found)

    def read(tables: dict[str, Any]) -> T:
        given = tables.get("kind", default_kind)
        if given != kind:
            raise ScenarioError(f"{found.name}: kind {given!r}; this loader reads {kind!r} ones")
        return build(tables, found, quick)

    return read_with_overrides(data, overrides, found, kind=kind, read=read)
