"""The node's home directory: key file, database, config and local API token.

Chosen by ``--home DIR``, else ``$AMITY_HOME``, else the platform data directory. The key file
holds only the identity seed (link keys are derived from it, see amity.protocol.keyring), mode
0600, optionally sealed with a passphrase (argon2id + XSalsa20-Poly1305 secretbox).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
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

from amity.protocol.card import NodeKind
from amity.protocol.identity import SEED_BYTES
from amity.protocol.mailbox import MailboxPolicy

__all__ = [
    "HOME_ENV",
    "HomeError",
    "Config",
    "Home",
    "default_home",
    "resolve_home",
]

HOME_ENV: Final = "AMITY_HOME"
KEY_FILE: Final = "identity.key"
DB_FILE: Final = "amity.db"
CONFIG_FILE: Final = "config.toml"
TOKEN_FILE: Final = "api.token"
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
    #: The ``[relay]`` table: a relay's quotas (spec/relay.md §6.3), by MailboxPolicy field name.
    relay_limits: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_toml(cls, text: str) -> Config:
        data = tomllib.loads(text)
        node: dict[str, Any] = data.get("node", {})
        defaults = cls()
        try:
            return cls(
                name=str(node.get("name", "")),
                kind=NodeKind(node.get("kind", "person")),
                listen=str(node.get("listen", defaults.listen)),
                api=str(node.get("api", defaults.api)),
                mdns=bool(node.get("mdns", True)),
                relay=bool(node.get("relay", False)),
                public_endpoints=[str(e) for e in node.get("public_endpoints", [])],
                relay_limits=_relay_limits(data.get("relay", {})),
            )
        except ValueError as exc:
            raise HomeError(f"config.toml: {exc}") from None

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
        )


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

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def token_path(self) -> Path:
        return self.path / TOKEN_FILE

    @property
    def api_address_path(self) -> Path:
        """Written by a running node: where its local API listens (host:port)."""
        return self.path / "api.address"

    def exists(self) -> bool:
        return self.key_path.exists()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the home's lock while a node runs: two nodes on one database would corrupt it."""
        path = self.path / "lock"
        with open(path, "a+", encoding="ascii") as handle:
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
        seed = secrets.token_bytes(SEED_BYTES)
        _write_private(self.key_path, _seal_seed(seed, passphrase))
        _write_private(self.token_path, (secrets.token_urlsafe(32) + "\n").encode())
        _write_private(self.config_path, config.to_toml().encode(), exclusive=False)
        return seed

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
