"""The layers import only downwards: protocol/ is sans-IO and knows neither driver, and the two
drivers (node/, the daemon; simulations/, the simulator) do not know each other.

Read from the source with ``ast``, so an import inside a function or under TYPE_CHECKING counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: What protocol/ may not import: I/O, clocks, global randomness, concurrency, the drivers.
SANS_IO_FORBIDDEN = frozenset(
    {
        "aiohttp",
        "asyncio",
        "io",
        "os",
        "pathlib",
        "random",
        "secrets",
        "select",
        "selectors",
        "shutil",
        "socket",
        "sqlite3",
        "subprocess",
        "tempfile",
        "threading",
        "time",
        "zeroconf",
        "amity.node",
        "amity.simulations",
    }
)
FORBIDDEN = {
    "protocol": SANS_IO_FORBIDDEN,
    "node": frozenset({"amity.simulations"}),
    "simulations": frozenset({"amity.node"}),
}


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; amity's own relative imports resolved)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and not node.level:
            found.add(node.module)
    return found


def _breaks(name: str, forbidden: frozenset[str]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_it_must_not(layer: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name in imports(path)
        if _breaks(name, FORBIDDEN[layer])
    }
    assert not wrong, "\n".join(sorted(wrong))


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The check itself can fail: an import inside a function is found."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import asyncio\n    from amity.node.daemon import Node\n")
    assert {n for n in imports(module) if _breaks(n, SANS_IO_FORBIDDEN)} == {
        "asyncio",
        "amity.node.daemon",
    }
