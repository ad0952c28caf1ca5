"""config.toml ``[limits]``: read, checked, written back, and fitted under the open-file limit."""

from __future__ import annotations

import pytest

from amity.node.home import Config, HomeError
from amity.node.net.limits import ACCEPT_BACKLOG, FD_RESERVE, Limits


def test_defaults_when_the_table_is_missing() -> None:
    assert Config.from_toml("[node]\nname = 'A'\n").limits == Limits()


def test_a_limits_table_is_read_and_written_back() -> None:
    text = "[node]\n[limits]\nheader_timeout_s = 2.5\nmax_strangers = 8\n"
    config = Config.from_toml(text)
    assert config.limits.header_timeout_s == 2.5
    assert config.limits.max_strangers == 8
    assert config.limits.body_timeout_s == Limits().body_timeout_s
    assert Config.from_toml(config.to_toml()) == config


@pytest.mark.parametrize(
    ("table", "why"),
    [
        ("header_timeout = 3", "no setting 'header_timeout'"),
        ("header_timeout_s = 0", "above 0"),
        ("header_timeout_s = 'soon'", "must be a number"),
        ("max_connections = 2.5", "whole number"),
        ("max_connections = true", "must be a number"),
    ],
)
def test_a_bad_setting_is_refused_by_name(table: str, why: str) -> None:
    with pytest.raises(HomeError, match=why):
        Config.from_toml(f"[limits]\n{table}\n")


def test_the_budget_is_fitted_below_the_open_file_limit() -> None:
    fitted = Limits().fitted(open_files=FD_RESERVE + ACCEPT_BACKLOG + 100)
    assert fitted.max_connections == 100
    assert fitted.max_strangers == 100
    assert fitted.max_strangers_per_address == Limits().max_strangers_per_address
    assert Limits().fitted(open_files=1_000_000) == Limits()
