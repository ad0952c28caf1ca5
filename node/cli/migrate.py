"""``amity migrate``: bring the node's database to this amity's schema, and say what was done."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from amity.node.cli.client import add_home_option, home_from
from amity.node.cli.render import CliError, emit
from amity.node.home import HomeError

__all__ = ["register"]


class StoreProblem(CliError):
    """The database cannot be reached, or is newer than this amity (the message says which)."""

    code = "store.error"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = commands.add_parser(
        "migrate",
        help="update the node's database to this amity's schema (run also at every start)",
        description=(
            "Run the numbered schema migrations the node's database has not run yet, each in "
            "its own transaction, and print the version before and after. `amity run` does the "
            "same as it starts; this command does it on its own, e.g. before a rolling upgrade, "
            'or to check that a PostgreSQL store (store = "postgresql://..." in config.toml) '
            "can be reached. A database newer than this amity is refused: upgrade amity. "
            "The node must not be running (its home is locked while it does)."
        ),
    )
    add_home_option(migrate)
    migrate.set_defaults(handler=_migrate)


def _migrate(args: argparse.Namespace) -> int:
    from amity.node.store import SCHEMA_VERSION, Store, StoreError

    home = home_from(args)
    try:
        if not home.config_path.exists():
            raise HomeError(f"no node in {home.path} (no config.toml); make one with amity init")
        config = home.load_config()
        with home.lock(), Store(home.store_target(config), migrate_schema=False) as store:
            before = store.schema_version()
            ran = store.migrate()
            data = {
                "engine": store.dialect,
                "where": store.where,
                "from_version": before,
                "version": SCHEMA_VERSION,
                "ran": ran,
            }
    except HomeError as exc:
        raise CliError(str(exc)) from None
    except StoreError as exc:
        raise StoreProblem(str(exc)) from None
    emit(data, _human, as_json=args.json)
    return 0


def _human(data: Mapping[str, Any]) -> str:
    where = f"{data['engine']} {data['where']}"
    if not data["ran"]:
        return f"{where}: schema {data['version']}, nothing to do"
    ran = ", ".join(map(str, data["ran"]))
    return f"{where}: schema {data['from_version']} -> {data['version']} (ran {ran})"
