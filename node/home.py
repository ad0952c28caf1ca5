"""The node's home directory: key file, database, config and local API token.

Chosen by ``--home DIR``, else ``$AMITY_HOME``, else the platform data directory. The key file
holds only the identity seed, mode 0600, optionally sealed with a passphrase (argon2id +
XSalsa20-Poly1305 secretbox); link keys come from a chain kept in the database (see
amity.protocol.keyring and amity.node.net.linkkeys).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from amity.node.net.limits import Limits
from amity.node.webhooks.policy import DeliveryPolicy
from amity.protocol.card import NodeKind
from amity.protocol.identity import SEED_BYTES
from amity.protocol.mailbox import MailboxPolicy

__all__ = [
    "HOME_ENV",
    "HomeError",
    "Config",
    "Home",
    "default_home",
    "parse_hostport",
    "resolve_home",
]

HOME_ENV: Final = "AMITY_HOME"
KEY_FILE: Final = "identity.key"
DB_FILE: Final = "amity.db"
CONFIG_FILE: Final = "config.toml"
TOKEN_FILE: Final = "api.token"
API_SOCKET_FILE: Final = "api.sock"
#: The longest path a Unix socket address holds (sun_path less its NUL: 108 on Linux, 104 on BSDs).
MAX_SOCKET_PATH_BYTES: Final = 107 if sys.platform.startswith("linux") else 103
#: What the node and the CLI create: nobody but the owner may read the home (the inbox, the
#: vault and the token are in there).
PRIVATE_UMASK: Final = 0o077
_KEY_FORMAT: Final = "amity-key/v1"


class HomeError(Exception):
    """The home directory is missing, incomplete, unreadable or locked; the message says why."""

    code = "home.error"


def default_home() -> Path:
    """The platform's per-user data directory for amity."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "amity"


def resolve_home(option: str | os.PathLike[str] | None) -> Path:
    """``--home`` if given, else ``$AMITY_HOME``, else :func:`default_home`."""
    if option:
        return Path(option).expanduser()
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    return default_home()


@dataclass(slots=True)
class Config:
    """What ``config.toml`` holds; every field has a sane default."""

    name: str = ""
    kind: NodeKind = NodeKind.PERSON
    #: Peer endpoint (WebSocket + inbox). Port 0 picks a free port at every start.
    listen: str = "127.0.0.1:0"
    #: Local API (HTTP + JSON). Loopback unless the owner explicitly says otherwise.
    api: str = "127.0.0.1:0"
    mdns: bool = True
    relay: bool = False
    #: Endpoints advertised in our card, when the listen address is not what peers should dial.
    public_endpoints: list[str] = field(default_factory=list)
    #: Inbox retention (spec/link.md §2.1): received messages are deleted after this many days,
    #: and beyond this many (the newest stay).
    inbox_keep_days: int = 30
    inbox_keep_messages: int = 10_000
    #: Timeouts and connection budgets of the peer endpoint (the ``[limits]`` table).
    limits: Limits = field(default_factory=Limits)
    #: The ``[relay]`` table: a relay's quotas (spec/relay.md §6.3), by MailboxPolicy field name.
    relay_limits: dict[str, int] = field(default_factory=dict)
    #: Run as an intent hub (``amity run --hub``), and the ``[hub]`` table: its rules
    #: (spec/intents.md §7.1), read by amity.node.intents.config.
    hub: bool = False
    hub_table: dict[str, Any] = field(default_factory=dict)
    #: A vendor's direct endpoint (the ``[direct]`` table, spec/intents.md §7.8).
    direct_table: dict[str, Any] = field(default_factory=dict)
    #: Where the node keeps its data: "" for SQLite in the home (amity.db), or a
    #: ``postgresql://`` URL (README, "Choosing the store").
    store: str = ""
    #: The ``[webhooks]`` table: how CRM webhooks are delivered, read by
    #: amity.node.webhooks.policy (spec/webhooks.md §6).
    webhooks_table: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_toml(cls, text: str) -> Config:
        """Read config.toml; a key or table it does not know, or a value of the wrong kind, is
        an error naming it and its line (a typo such as ``mdsn`` must not pass unnoticed)."""
        data = tomllib.loads(text)
        try:
            return cls._from_tables(data)
        except _ConfigError as exc:
            raise HomeError(f"config.toml{_where(text, exc.table, exc.key)}: {exc}") from None
        except ValueError as exc:  # the [limits] and [relay] readers name the key they refuse
            named = re.match(r"\[(\w+)\] (?:has no setting '([^']+)'|(\w+) )", str(exc))
            where = _where(text, named[1], named[2] or named[3]) if named else ""
            raise HomeError(f"config.toml{where}: {exc}") from None

    @classmethod
    def _from_tables(cls, data: dict[str, Any]) -> Config:
        for table, value in data.items():
            if table not in _TABLES:
                raise _ConfigError(
                    table,
                    None,
                    f"no table [{table}]; known: {', '.join(f'[{t}]' for t in _TABLES)}",
                )
            if not isinstance(value, dict):
                raise _ConfigError(table, None, f"{table} must be a table ([{table}])")
            allowed = _TABLES[table]
            for key in value:
                if allowed is not None and key not in allowed:
                    known = ", ".join(allowed)
                    raise _ConfigError(
                        table, key, f"[{table}] has no setting {key!r}; known: {known}"
                    )
        node: dict[str, Any] = data.get("node", {})
        inbox: dict[str, Any] = data.get("inbox", {})
        defaults = cls()
        kind = node.get("kind", "person")
        if kind not in {k.value for k in NodeKind}:
            kinds = ", ".join(k.value for k in NodeKind)
            raise _ConfigError("node", "kind", f"kind is one of {kinds}, not {kind!r}")
        for key in ("name", "listen", "api"):
            if not isinstance(node.get(key, ""), str):
                raise _ConfigError("node", key, f"{key} is a string, not {node[key]!r}")
        for key in ("listen", "api"):
            if key in node:
                try:
                    parse_hostport(node[key], key)
                except HomeError as exc:
                    raise _ConfigError("node", key, str(exc)) from None
        for key in ("mdns", "relay", "hub"):
            if not isinstance(node.get(key, False), bool):
                raise _ConfigError("node", key, f"{key} is true or false, not {node[key]!r}")
        endpoints = node.get("public_endpoints", [])
        if not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints):
            raise _ConfigError("node", "public_endpoints", "public_endpoints is a list of URLs")
        store = node.get("store", "")
        if not isinstance(store, str) or (
            store and not store.startswith(("postgresql://", "postgres://"))
        ):
            raise _ConfigError(
                "node",
                "store",
                "store is a postgresql:// URL, or left out for SQLite in the home",
            )
        for key in ("keep_days", "keep_messages"):
            value = inbox.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _ConfigError("inbox", key, f"{key} is a whole number, 0 or more")
        return cls(
            name=node.get("name", ""),
            kind=NodeKind(kind),
            listen=node.get("listen", defaults.listen),
            api=node.get("api", defaults.api),
            mdns=node.get("mdns", True),
            relay=node.get("relay", False),
            public_endpoints=list(endpoints),
            inbox_keep_days=inbox.get("keep_days", defaults.inbox_keep_days),
            inbox_keep_messages=inbox.get("keep_messages", defaults.inbox_keep_messages),
            limits=Limits.from_table(data.get("limits", {})),
            relay_limits=_relay_limits(data.get("relay", {})),
            hub=node.get("hub", False),
            hub_table=_hub_table(data.get("hub", {})),
            direct_table=_direct_table(data.get("direct", {})),
            store=store,
            webhooks_table=_webhooks_table(data.get("webhooks", {})),
        )

    def to_toml(self) -> str:
        def quote(text: str) -> str:
            return json.dumps(text)  # a JSON string is a valid TOML basic string

        endpoints = ", ".join(quote(e) for e in self.public_endpoints)
        return (
            "# amity node configuration; command-line options override these.\n"
            "[node]\n"
            f"name = {quote(self.name)}\n"
            f"kind = {quote(self.kind.value)}          # person | vendor | relay\n"
            f"listen = {quote(self.listen)}   # peer endpoint host:port (port 0 = any free)\n"
            f"api = {quote(self.api)}      # local API host:port (loopback only by default)\n"
            f"mdns = {'true' if self.mdns else 'false'}              # LAN discovery\n"
            f"relay = {'true' if self.relay else 'false'}            # hold sealed mail for peers\n"
            f"public_endpoints = [{endpoints}]\n"
            + (
                f"store = {quote(self.store)}\n"
                if self.store
                else '# store = "postgresql://..."  # default: SQLite in this home (README)\n'
            )
            + "\n[inbox]                  # what the node keeps of the messages it received\n"
            f"keep_days = {self.inbox_keep_days}           # deleted after this many days\n"
            f"keep_messages = {self.inbox_keep_messages}    # only the newest this many are kept\n"
            + (
                "\n" + self.limits.to_toml()
                if self.limits != Limits()
                else "# [limits]: timeouts and connection budgets of the peer endpoint (README)\n"
            )
        )


_NODE_KEYS: Final = (
    "name", "kind", "listen", "api", "mdns", "relay", "hub", "public_endpoints", "store",
)  # fmt: skip
#: The tables config.toml may hold and, where this module checks them, their keys ([limits] and
#: [relay] are checked by their own readers, which name the key they refuse).
_TABLES: Final[dict[str, tuple[str, ...] | None]] = {
    "node": _NODE_KEYS,
    "inbox": ("keep_days", "keep_messages"),
    "limits": None,
    "relay": None,
    "hub": None,
    "webhooks": None,
    "direct": None,
}


class _ConfigError(ValueError):
    """A config.toml problem at ``[table] key`` (for the line number in the message)."""

    def __init__(self, table: str, key: str | None, message: str) -> None:
        super().__init__(message)
        self.table, self.key = table, key


def _where(text: str, table: str, key: str | None) -> str:
    """`` line N`` of ``key`` in ``[table]`` (or of the table's header), if it can be found."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?", stripped)
        if header:
            current = header[1]
            if current == table and key is None:
                return f" line {number}"
        elif current == table and key is not None and re.match(rf"{re.escape(key)}\s*=", stripped):
            return f" line {number}"
    return ""


def _hub_table(table: dict[str, Any]) -> dict[str, Any]:
    """The ``[hub]`` table, checked now (its reader names the key it refuses)."""
    from amity.node.intents.config import hub_rules  # only a node with the table needs it

    if table:
        hub_rules(table)
    return dict(table)


def _webhooks_table(table: dict[str, Any]) -> dict[str, Any]:
    """``[webhooks]``, checked by its reader (ValueError names a bad setting)."""
    DeliveryPolicy.from_table(table)
    return dict(table)


def _direct_table(table: dict[str, Any]) -> dict[str, Any]:
    """The ``[direct]`` table, checked now (its reader names the key it refuses)."""
    from amity.node.intents.config import direct_rules

    if table:
        direct_rules(table)
    return dict(table)


def _relay_limits(table: Any) -> dict[str, int]:
    """The ``[relay]`` table of config.toml: positive integers named as MailboxPolicy's fields."""
    if not isinstance(table, dict):
        raise ValueError("[relay] must be a table")
    known = {f.name for f in fields(MailboxPolicy)}
    limits = {}
    for name, value in table.items():
        if name not in known:
            raise ValueError(f"[relay] has no setting {name!r}; known: {', '.join(sorted(known))}")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"[relay] {name} must be a positive integer, not {value!r}")
        limits[name] = value
    return limits


@dataclass(frozen=True, slots=True)
class Home:
    """Paths inside one node's home directory."""

    path: Path

    @property
    def key_path(self) -> Path:
        return self.path / KEY_FILE

    @property
    def db_path(self) -> Path:
        return self.path / DB_FILE

    def store_target(self, config: Config) -> Path | str:
        """What the node's Store opens: config.toml's ``store`` URL, else amity.db here."""
        return config.store or self.db_path

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def token_path(self) -> Path:
        return self.path / TOKEN_FILE

    @property
    def api_address_path(self) -> Path:
        """Written by a running node: where its local API listens on TCP (host:port)."""
        return self.path / "api.address"

    @property
    def api_socket_path(self) -> Path | None:
        """The Unix socket of a running node's local API (the CLI's way in), as an absolute
        path; None when the home's path is too long for a socket address (the CLI then uses
        the TCP listener, after the same proof)."""
        path = self.path.absolute() / API_SOCKET_FILE
        return path if len(os.fsencode(path)) <= MAX_SOCKET_PATH_BYTES else None

    def exists(self) -> bool:
        return self.key_path.exists()

    def write_config(self, config: Config) -> None:
        """Write config.toml (0600), replacing the one there."""
        _write_private(self.config_path, config.to_toml().encode(), exclusive=False)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the home's lock while a node runs: two nodes on one database would corrupt it."""
        path = self.path / "lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a+", encoding="ascii") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "?"
                raise HomeError(
                    f"another amity node (pid {holder}) is running with {self.path}; "
                    "stop it first, or give this one its own --home"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def create(self, config: Config, *, passphrase: str | None = None) -> bytes:
        """Make a new home with a fresh identity; refuses to touch an existing one."""
        if self.exists():
            raise HomeError(
                f"{self.path} already holds an amity identity; use another --home "
                "or remove it yourself if you really mean to destroy that identity"
            )
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.path, 0o700)  # mkdir leaves an existing directory as it was
        seed = secrets.token_bytes(SEED_BYTES)
        _write_private(self.key_path, _seal_seed(seed, passphrase))
        _write_private(self.token_path, (secrets.token_urlsafe(32) + "\n").encode())
        _write_private(self.config_path, config.to_toml().encode(), exclusive=False)
        return seed

    def restore(self, seed: bytes, config_text: str, *, passphrase: str | None = None) -> None:
        """Make a home from a backup's seed and config (the database is the caller's); a fresh
        API token. Refuses an existing identity, as :meth:`create` does."""
        if self.exists():
            raise HomeError(
                f"{self.path} already holds an amity identity; restore into a new --home, or "
                "move that one away yourself if you really mean to replace it"
            )
        Config.from_toml(config_text)  # a config this version cannot read is refused here
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.path, 0o700)
        _write_private(self.config_path, config_text.encode(), exclusive=False)
        _write_private(self.token_path, (secrets.token_urlsafe(32) + "\n").encode())
        _write_private(self.key_path, _seal_seed(seed, passphrase))  # last: exists() from now

    def make_private(self) -> None:
        """Home and every directory in it 0700, every other entry 0600, whatever was there.

        Run at every start: a home made by an older version, copied, or loosened by hand still
        holds the key, the token, the vault and received notes, so it is tightened, not refused.
        """
        try:
            os.chmod(self.path, 0o700)
            for top, dirs, files in os.walk(self.path):
                for names, mode in ((dirs, 0o700), (files, 0o600)):
                    for name in names:
                        path = os.path.join(top, name)
                        if not os.path.islink(path):  # a link's target is not ours to change
                            os.chmod(path, mode)
        except FileNotFoundError:
            raise HomeError(f"no amity home at {self.path}; run `amity init` first") from None
        except PermissionError as exc:
            raise HomeError(
                f"cannot make {exc.filename} private to you ({exc.strerror}); the home and "
                "everything in it must belong to the user who runs the node"
            ) from None

    def load_seed(self, passphrase: str | None = None) -> bytes:
        """Read the identity seed, unsealing it with ``passphrase`` if it was sealed."""
        if not self.exists():
            raise HomeError(f"no amity identity in {self.path}; run `amity init` first")
        mode = self.key_path.stat().st_mode & 0o777
        if mode & 0o077:
            raise HomeError(
                f"{self.key_path} is readable by others (mode {mode:o}); run "
                f"`chmod 600 {self.key_path}` and start again"
            )
        return _open_seed(self.key_path.read_bytes(), passphrase)

    def key_is_sealed(self) -> bool:
        return bool(json.loads(self.key_path.read_bytes()).get("sealed"))

    def load_config(self) -> Config:
        try:
            return Config.from_toml(self.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Config()
        except tomllib.TOMLDecodeError as exc:
            raise HomeError(f"{self.config_path} is not valid TOML: {exc}") from None
        except RecursionError:  # tomllib recurses once per nested array or table
            raise HomeError(
                f"{self.config_path} is nested too deeply to read; a config needs two levels"
            ) from None

    def api_token(self) -> str:
        try:
            return self.token_path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise HomeError(f"no API token in {self.path}; run `amity init` first") from None


def _seal_seed(seed: bytes, passphrase: str | None) -> bytes:
    if not passphrase:
        return json.dumps({"format": _KEY_FORMAT, "sealed": False, "seed": seed.hex()}).encode()
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    ops, mem = nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE
    key = nacl.pwhash.argon2id.kdf(32, passphrase.encode(), salt, opslimit=ops, memlimit=mem)
    box = nacl.secret.SecretBox(key).encrypt(seed)
    record = {
        "format": _KEY_FORMAT,
        "sealed": True,
        "kdf": "argon2id",
        "salt": salt.hex(),
        "opslimit": ops,
        "memlimit": mem,
        "box": bytes(box).hex(),
    }
    return json.dumps(record).encode()


def _open_seed(data: bytes, passphrase: str | None) -> bytes:
    try:
        record = json.loads(data)
        if record.get("format") != _KEY_FORMAT:
            raise HomeError(f"key file format {record.get('format')!r} is not {_KEY_FORMAT}")
        if not record["sealed"]:
            seed = bytes.fromhex(record["seed"])
        else:
            if not passphrase:
                raise HomeError("the key is sealed with a passphrase; give it (AMITY_PASSPHRASE)")
            key = nacl.pwhash.argon2id.kdf(
                32,
                passphrase.encode(),
                bytes.fromhex(record["salt"]),
                opslimit=int(record["opslimit"]),
                memlimit=int(record["memlimit"]),
            )
            seed = nacl.secret.SecretBox(key).decrypt(bytes.fromhex(record["box"]))
    except nacl.exceptions.CryptoError:
        raise HomeError("wrong passphrase for the key file") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise HomeError(f"the key file is damaged ({exc}); restore it from your backup") from None
    if len(seed) != SEED_BYTES:
        raise HomeError("the key file holds a seed of the wrong length; restore it from backup")
    return seed


def _write_private(path: Path, data: bytes, *, exclusive: bool = True) -> None:
    """Create ``path`` with mode 0600 from the first byte, write, fsync file and directory."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    with os.fdopen(os.open(path, flags, 0o600), "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def parse_hostport(text: str, what: str) -> tuple[str, int]:
    """``HOST:PORT`` from the config or the command line (``what`` names it in the error)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise HomeError(f"{what} must be HOST:PORT (port 0 picks a free one), not {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)
