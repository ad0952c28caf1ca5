"""The repository layout promises: source folders install as amity.*, and nothing imports them bare."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FOLDERS = {
    "protocol": "amity.protocol",
    "node": "amity.node",
    "simulations": "amity.simulations",
}


def _pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def test_packages_list_matches_every_package_folder() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]
    declared = set(setuptools["packages"])
    found = set()
    for folder, dotted in SOURCE_FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([dotted, *relative.parts]))
    assert declared == found, f"pyproject packages {sorted(declared)} != folders {sorted(found)}"
    assert setuptools["package-dir"] == {v: k for k, v in SOURCE_FOLDERS.items()}


def test_package_data_ships_every_data_file() -> None:
    """Each scenario file, py.typed and dashboard file is listed by the package that holds it.

    setuptools ships a package's data files by the globs of that package: a scenario file left
    unlisted (say, after the folder it lives in became a subpackage) would be missing from
    ``pip install .`` while every test run from the repository still finds it.
    """
    package_data = _pyproject()["tool"]["setuptools"]["package-data"]
    unlisted = []
    for folder, dotted in SOURCE_FOLDERS.items():
        base = ROOT / folder
        # The dashboard's templates and static files (amity.node.ui) ship the same way.
        pages = [*base.rglob("templates/*"), *base.rglob("static/*")]
        for path in sorted([*base.rglob("*.toml"), *base.rglob("py.typed"), *pages]):
            holder = path.parent
            while not (holder / "__init__.py").exists():
                holder = holder.parent
            package = ".".join([dotted, *holder.relative_to(base).parts])
            name = path.relative_to(holder)
            if not any(name.match(glob) for glob in package_data.get(package, [])):
                unlisted.append(f"{path.relative_to(ROOT)} (package {package})")
    assert not unlisted, "not in [tool.setuptools.package-data]:\n" + "\n".join(unlisted)


def test_no_amity_folder_shadows_the_installed_namespace() -> None:
    assert not (ROOT / "amity").exists()


def test_code_imports_only_through_amity_names() -> None:
    offenders = []
    for folder in [*SOURCE_FOLDERS, "tests", "benchmarks", "spec"]:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                offenders += [
                    f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
                    for name in names
                    if name.split(".")[0] in SOURCE_FOLDERS
                ]
    assert not offenders, "import as amity.<package>, never the bare folder:\n" + "\n".join(
        offenders
    )


def test_console_scripts_are_declared() -> None:
    scripts = _pyproject()["project"]["scripts"]
    assert scripts == {"amity": "amity.node.cli:main", "amity-sim": "amity.simulations.cli:console"}
