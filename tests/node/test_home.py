"""The home directory: key file mode, passphrase sealing, config, and the one-node lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from amity.node.home import Config, Home, HomeError, resolve_home
from amity.node.intents.config import hub_rules
from amity.node.webhooks.policy import DeliveryPolicy
from amity.protocol.card import NodeKind
from amity.protocol.identity import PeerId
from amity.protocol.mailbox import MailboxPolicy
from tests.node.conftest import NodeFactory


def test_key_file_is_private_from_the_first_byte(tmp_path: Path) -> None:
    home = Home(tmp_path / "n")
    seed = home.create(Config(name="Alice"))
    assert home.key_path.stat().st_mode & 0o777 == 0o600
    assert home.token_path.stat().st_mode & 0o777 == 0o600
    assert home.load_seed() == seed
    assert not home.key_is_sealed()


def test_a_readable_key_file_is_refused(tmp_path: Path) -> None:
    home = Home(tmp_path / "n")
    home.create(Config())
    os.chmod(home.key_path, 0o644)
    with pytest.raises(HomeError, match="chmod 600"):
        home.load_seed()


def test_passphrase_seals_the_seed(tmp_path: Path) -> None:
    home = Home(tmp_path / "n")
    seed = home.create(Config(), passphrase="correct horse")
    record = json.loads(home.key_path.read_text())
    assert record["sealed"] is True and record["kdf"] == "argon2id"
    assert seed.hex() not in home.key_path.read_text()
    assert home.load_seed("correct horse") == seed
    with pytest.raises(HomeError, match="wrong passphrase"):
        home.load_seed("battery staple")
    with pytest.raises(HomeError, match="sealed with a passphrase"):
        home.load_seed(None)


def test_a_damaged_key_file_says_so(tmp_path: Path) -> None:
    home = Home(tmp_path / "n")
    home.create(Config())
    home.key_path.write_text('{"format": "amity-key/v1", "sealed": false, "seed": "zz"}')
    with pytest.raises(HomeError, match="damaged"):
        home.load_seed()


def test_create_never_overwrites_an_identity(tmp_path: Path) -> None:
    home = Home(tmp_path / "n")
    seed = home.create(Config())
    with pytest.raises(HomeError, match="already holds"):
        home.create(Config())
    assert home.load_seed() == seed


def test_config_round_trip(tmp_path: Path) -> None:
    config = Config(
        name='Shop "Corner"',
        kind=NodeKind.VENDOR,
        listen="127.0.0.1:7700",
        mdns=False,
        public_endpoints=["wss://shop.example/amity/v1/ws"],
    )
    assert Config.from_toml(config.to_toml()) == config
    assert Config.from_toml(Config().to_toml()).store == ""  # SQLite in the home
    on_postgres = Config(store="postgresql://amity@db.example/amity?sslmode=require")
    assert Config.from_toml(on_postgres.to_toml()) == on_postgres


def test_only_one_node_per_home(tmp_path: Path) -> None:
    home = Home(tmp_path / "n")
    home.create(Config())
    with home.lock(), pytest.raises(HomeError, match="another amity node"), home.lock():
        pass
    with home.lock():  # released: the next node may start
        pass


def test_home_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AMITY_HOME", str(tmp_path / "env"))
    assert resolve_home(str(tmp_path / "flag")) == tmp_path / "flag"
    assert resolve_home(None) == tmp_path / "env"
    monkeypatch.delenv("AMITY_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_home(None) == tmp_path / "xdg" / "amity"


def test_cli_sealed_key_needs_its_passphrase(tmp_path: Path) -> None:
    amity = Path(sys.executable).parent / "amity"
    env = {**os.environ, "AMITY_PASSPHRASE": "correct horse"}
    home = tmp_path / "sealed"
    made = subprocess.run(
        [amity, "init", "--home", home, "--passphrase", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["sealed"] is True
    wrong = subprocess.run(
        [amity, "run", "--home", home, "--no-mdns"],
        env={**env, "AMITY_PASSPHRASE": "battery staple"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode == 1
    assert "wrong passphrase" in wrong.stderr


def test_create_makes_an_existing_open_directory_private(tmp_path: Path) -> None:
    path = tmp_path / "n"
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)
    Home(path).create(Config())
    assert path.stat().st_mode & 0o777 == 0o700


def test_make_private_tightens_what_is_there(tmp_path: Path) -> None:
    home = Home(tmp_path / "n")
    home.create(Config())
    os.chmod(home.path, 0o755)
    (home.path / "sub").mkdir(mode=0o755)
    (home.path / "sub" / "old.db").write_text("x")
    os.chmod(home.path / "sub" / "old.db", 0o644)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    os.chmod(outside, 0o644)
    (home.path / "link").symlink_to(outside)

    home.make_private()

    assert home.path.stat().st_mode & 0o777 == 0o700
    assert (home.path / "sub").stat().st_mode & 0o777 == 0o700
    assert (home.path / "sub" / "old.db").stat().st_mode & 0o777 == 0o600
    assert outside.stat().st_mode & 0o777 == 0o644  # a link's target is left alone


def test_the_api_socket_lives_in_the_home_unless_the_path_is_too_long(tmp_path: Path) -> None:
    short = Home(tmp_path / "n")
    assert short.api_socket_path == (tmp_path / "n").absolute() / "api.sock"
    long = Home(tmp_path / ("n" * 120))
    assert long.api_socket_path is None


def test_config_reads_a_relays_quotas() -> None:
    text = Config(name="Relay").to_toml() + "[relay]\nstranger_items_per_recipient = 20\n"
    assert Config.from_toml(text).relay_limits == {"stranger_items_per_recipient": 20}
    assert MailboxPolicy(**Config.from_toml(text).relay_limits).stranger_items_per_recipient == 20
    for bad in ("stranger_items = 20", "max_items_per_recipient = 0", 'ttl_ms = "1"'):
        with pytest.raises(HomeError, match=r"\[relay\]"):
            Config.from_toml(f"[relay]\n{bad}\n")


def test_config_reads_how_webhooks_are_delivered() -> None:
    text = "[webhooks]\nretry_base_s = 0.5\nmax_attempts = 3\n"
    policy = DeliveryPolicy.from_table(Config.from_toml(text).webhooks_table)
    assert (policy.base_ms, policy.max_attempts, policy.timeout_s) == (500, 3, 10.0)
    for bad in ("retries = 3", "max_attempts = 2.5", "timeout_s = 0", "retry_cap_s = 1"):
        with pytest.raises(HomeError, match=r"line 2: \[webhooks\]"):
            Config.from_toml(f"[webhooks]\n{bad}\n")


@pytest.mark.parametrize("nested", ["x = " + "[" * 2_000, "x = " + "{ a = " * 2_000])
def test_a_config_nested_past_the_parser_is_a_home_error(tmp_path: Path, nested: str) -> None:
    """tomllib recurses once per level: a config.toml that overflows it is named, not a crash."""
    home = Home(tmp_path / "n")
    home.create(Config())
    home.config_path.write_text(nested, encoding="utf-8")
    with pytest.raises(HomeError, match="nested too deeply"):
        home.load_config()


def test_the_readmes_config_examples_are_read_as_written() -> None:
    """Every ```toml block of README.md is a config.toml that the node reads, to the value."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```toml\n")[1:]]
    assert blocks, "README.md has no toml example"
    for block in blocks:
        config = Config.from_toml(block)
        table, _, rest = block.partition("]\n")
        name = table.strip("[ \n")
        if name == "hub":  # not numbers only: the listed hubs' did:key, as the rules hold them
            rules = hub_rules(config.hub_table)
            written = tomllib.loads(block)["hub"]
            assert [PeerId(k).did for k in rules.peers] == written["peers"]
            assert rules.max_hops == written["max_hops"]
            continue
        if name == "node":  # settings of the node itself, as written
            for key, value in tomllib.loads(block)["node"].items():
                assert getattr(config, key) == value, (name, key)
            continue
        for line in rest.splitlines():
            key, value = (part.split("#")[0].strip() for part in line.split("=", 1))
            got = config.relay_limits.get(key) if name == "relay" else getattr(config.limits, key)
            assert got == int(value), (name, key)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[node]\nname = 'A'\nmdsn = false\n", "line 3: [node] has no setting 'mdsn'"),
        ("[node]\nkind = 'alien'\n", "line 2: kind is one of person, vendor, relay, not 'alien'"),
        ("# mine\n[nodes]\nname = 'A'\n", "line 2: no table [nodes]"),
        ("[node]\nmdns = 'no'\n", "line 2: mdns is true or false, not 'no'"),
        ("[node]\nlisten = 'localhost'\n", "line 2: listen must be HOST:PORT"),
        ("[inbox]\nkeep_days = -1\n", "line 2: keep_days is a whole number, 0 or more"),
        ("[limits]\n\nmax_stranger = 3\n", "line 3: [limits] has no setting 'max_stranger'"),
        ("[relay]\nttl_ms = 0\n", "line 2: [relay] ttl_ms must be a positive integer"),
        ("[node]\nstore = 'amity.db'\n", "line 2: store is a postgresql:// URL, or left out"),
    ],
)
def test_a_config_mistake_is_named_with_its_line(text: str, said: str) -> None:
    with pytest.raises(HomeError) as caught:
        Config.from_toml(text)
    assert str(caught.value).startswith(f"config.toml {said}"), str(caught.value)


def test_a_home_without_config_keeps_its_peer_port_across_restarts(nodes: NodeFactory) -> None:
    node = nodes.create("solo", start=False)
    node.home.joinpath("config.toml").unlink()
    node.start()
    first = node.status()["endpoints"]
    node.stop()
    node.start()
    assert node.status()["endpoints"] == first
    assert ":0/" not in first[0]
