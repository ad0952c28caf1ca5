"""A hub's rules from config.toml: defaults, each setting, and a wrong one named with its line."""

from __future__ import annotations

import pytest

from amity.node.home import Config, HomeError
from amity.node.intents.config import direct_rules, hub_rules


def test_defaults_and_settings() -> None:
    rules = hub_rules({})
    assert (rules.work_bits, rules.offer_cap, rules.max_ttl_ms) == (16, 64, 30 * 86_400_000)
    config = Config.from_toml('[node]\nhub = true\n[hub]\nmax_ttl = "1d"\nwork_bits = 8\n')
    assert config.hub
    assert hub_rules(config.hub_table).max_ttl_ms == 86_400_000
    assert hub_rules(config.hub_table).work_bits == 8


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ("work_bitz = 3", "line 3: [hub] has no setting 'work_bitz'"),
        ("work_bits = 40", "line 3: [hub] work_bits is 0..32"),
        ('max_ttl = "forever"', "line 3: [hub] max_ttl must be like 30d"),
        ('peers = ["nobody"]', "line 3: [hub] peers holds 'nobody'"),
    ],
)
def test_a_wrong_setting_is_named_with_its_line(table: str, named: str) -> None:
    with pytest.raises(HomeError) as refused:
        Config.from_toml(f"[node]\n[hub]\n{table}\n")
    assert named in str(refused.value)


def test_a_direct_endpoint_from_the_direct_table() -> None:
    assert direct_rules({}) is None  # no categories: no direct endpoint
    config = Config.from_toml('[node]\n[direct]\ncategories = ["goods.bicycles", "services"]\n')
    rules = direct_rules(config.direct_table)
    assert rules is not None and rules.categories == ("goods.bicycles", "services")
    assert (rules.work_bits, rules.max_ttl_ms) == (16, 30 * 86_400_000)


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ('categorys = ["goods"]', "line 3: [direct] has no setting 'categorys'"),
        (
            'categories = ["goods.spaceships"]',
            "line 3: [direct] categories holds 'goods.spaceships'",
        ),
        ('categories = "goods"', "line 3: [direct] categories must be a list"),
        ('categories = ["goods"]\nwork_bits = 99', "[direct] work_bits is 0..32"),
    ],
)
def test_a_wrong_direct_setting_is_named(table: str, named: str) -> None:
    with pytest.raises(HomeError) as refused:
        Config.from_toml(f"[node]\n[direct]\n{table}\n")
    assert named in str(refused.value)
