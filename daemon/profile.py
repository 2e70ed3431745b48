"""The agent's profile: where config, data, journal and sockets live, and the settings.

Shared by the CLI and the daemon, so it imports nothing heavy at module level.
`CC_HOME=DIR` moves everything under DIR, so several agents (and tests) never collide.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .states import AGENT_STATES, setting_key

APP = "cc"


class ConfigError(Exception):
    """A settings problem, worded as one line that names the problem and the fix."""


@dataclass(frozen=True)
class Setting:
    key: str
    default: object
    help: str

    @property
    def kind(self) -> type:
        return type(self.default)


# The one list of settings: defaults, types and the comments of a new config file.
SETTINGS: tuple[Setting, ...] = (
    Setting("server.host", "127.0.0.1", "Infinity server host"),
    Setting("server.port", 10080, "Infinity integration port (10080 on most sites)"),
    Setting("server.login", "", "your Infinity login"),
    Setting("server.password", "", "password here only if the file is private (chmod 600); "
            "prefer CC_PASSWORD or password_command"),
    Setting("server.password_command", "", "a command that prints the password, "
            "e.g. \"pass show infinity\""),
    Setting("server.role_id", 0, "IDRole sent at log-on"),
    Setting("server.hostname", "", "HostHame sent at log-on (empty: this machine's name)"),
    Setting("server.timeout", 5.0, "seconds to wait for an answer from the server"),
    Setting("server.poll_interval", 2.0, "seconds between polls of state and active calls"),
    Setting("directory.poll_interval", 30.0, "seconds between polls of colleagues' states"),
    Setting("session.auto_login", True, "log in when the daemon starts"),
    Setting("session.reconnect", True, "reconnect after a network failure"),
    Setting("session.backoff_initial", 1.0, "first reconnect delay, seconds"),
    Setting("session.backoff_cap", 60.0, "longest reconnect delay, seconds"),
    Setting("session.logout_on_stop", False, "log out when the daemon stops"),
    Setting("states.break_reasons", "lunch,training,meeting,technical",
            "regulated break reasons, comma-separated; reason=ID gives one its own "
            "IDUserState"),
    *(Setting(setting_key(short), code, f"IDUserState of {title}")
      for code, (short, title) in AGENT_STATES.items()),
    Setting("log.number_mask", "CALL-{n:06}", "how calls are numbered: {n} is the "
            "counter, e.g. CALL-{n:06} or {n}"),
    Setting("contacts.default_region", "UA", "region for numbers written without a country "
            "code (ISO 3166 code, e.g. UA, PL, GB)"),
    Setting("dial.mode", "offhook", "offhook: the call connects when the far end answers; "
            "callback: the server rings the number, then your phone, and `cc answer` "
            "connects"),
    Setting("transfer.timeout", 30.0, "seconds a consult transfer's target may ring before "
            "the caller is taken back"),
    Setting("wrapup.enabled", False, "stay Busy after a connected call until `cc wrapup done` "
            ""),
    Setting("wrapup.timeout", 0.0, "seconds after which wrap-up closes by itself (0: never)"),
    *(Setting(f"hooks.{event}", "", f"command run {when}, the call as JSON on stdin")
      for event, when in (("on_ring", "when a call rings"), ("on_answer", "when a call "
                          "connects"), ("on_end", "when a call ends"),
                          ("on_wrapup_done", "when wrap-up closes"))),
    Setting("notify.desktop", True, "a desktop notice (notify-send) when a call rings or ends "
            ", where the machine has one"),
    Setting("hooks.timeout", 10.0, "seconds before a hook is killed"),
    Setting("kb.url", "", "knowledge base search URL; {subject} is replaced"),
    Setting("remote.endpoint", "", "a TCP endpoint for remote control, e.g. "
            "tcp://0.0.0.0:5555; CURVE keys required (`cc daemon keys`); empty: off"),
    Setting("events.listen_host", "127.0.0.1", "address of the event listener (eventsURL)"),
    Setting("events.listen_port", 0, "port of the event listener (0: any free port)"),
    Setting("events.max_rate", 20000, "events per second the listener takes; more get 429"),
    Setting("events.public_url", "", "URL the server pushes events to "
            "(empty: http://listen_host:port)"),
    Setting("events.token", "", "a secret the events URL carries as its first path segment "
            "(letters, digits, - . _ ~); events without it are refused (empty: none)"),
    Setting("journal.enabled", True, "journal every message exchanged with the server"),
    Setting("journal.max_bytes", 10_485_760, "rotate the journal at this size"),
    Setting("journal.backups", 5, "rotated journals to keep"),
)
BY_KEY = {s.key: s for s in SETTINGS}
SECRET_KEYS = {"server.password"}


@dataclass(frozen=True)
class Paths:
    config_file: Path
    data_dir: Path
    run_dir: Path
    log_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "calls.db"

    @property
    def spool(self) -> Path:
        """Calls the call log could not take yet, until it can (daemon/spool.py)."""
        return self.data_dir / "calls.spool"

    @property
    def journal(self) -> Path:
        return self.log_dir / "journal.xml"

    @property
    def daemon_log(self) -> Path:
        return self.log_dir / "daemon.log"

    @property
    def keys_dir(self) -> Path:
        """CURVE certificates for the remote-control endpoint (`cc daemon keys`)."""
        return self.config_file.parent / "keys"

    @property
    def lock_file(self) -> Path:
        return self.run_dir / "daemon.lock"

    def socket(self, name: str) -> Path:
        return self.run_dir / name


def paths() -> Paths:
    home = os.environ.get("CC_HOME")
    if home:
        base = Path(home).expanduser().resolve()
        return Paths(base / "config.toml", base / "data", base / "run", base / "log")
    import platformdirs
    import warnings

    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR platformdirs falls back to /tmp/runtime-UID, which we
        # then require to be private (see the daemon's socket directory check).
        warnings.simplefilter("ignore")
        runtime = platformdirs.user_runtime_dir(APP)
    return Paths(
        Path(platformdirs.user_config_dir(APP)) / "config.toml",
        Path(platformdirs.user_data_dir(APP)),
        Path(runtime),
        Path(platformdirs.user_log_dir(APP)),
    )


def default_config_text() -> str:
    lines = ["# cc settings. Edit with `cc config set KEY VALUE`; comments are kept.", ""]
    section = None
    order = list(dict.fromkeys(s.key.split(".", 1)[0] for s in SETTINGS))
    for s in sorted(SETTINGS, key=lambda s: order.index(s.key.split(".", 1)[0])):
        sec, name = s.key.split(".", 1)
        if sec != section:
            if section is not None:
                lines.append("")
            lines.append(f"[{sec}]")
            section = sec
        lines.append(f"# {s.help}")
        lines.append(f"{name} = {_toml_literal(s.default)}")
    return "\n".join(lines) + "\n"


def _toml_literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        import json

        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def setting(key: str) -> Setting:
    if key not in BY_KEY:
        known = ", ".join(sorted(BY_KEY))
        raise ConfigError(f"unknown setting '{key}' (known settings: {known})")
    return BY_KEY[key]


def coerce(key: str, raw) -> object:
    """Turn a value typed by a user (or read from the file) into the setting's type."""
    kind = setting(key).kind
    if key == "log.number_mask":
        try:
            str(raw).format(n=1)
        except (ValueError, KeyError, IndexError) as exc:
            raise ConfigError(f"log.number_mask '{raw}' is not a mask ({exc}): use {{n}} for "
                              "the counter, e.g. CALL-{n:06}") from None
    if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
        return raw
    if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        text = raw.strip()
        try:
            if kind is bool:
                if text.lower() in ("true", "yes", "on", "1"):
                    return True
                if text.lower() in ("false", "no", "off", "0"):
                    return False
                raise ValueError
            if kind is int:
                return int(text)
            if kind is float:
                return float(text)
        except ValueError:
            pass
        if kind is str:
            return raw
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
    raise ConfigError(f"setting {key} must be {names[kind]}, not {raw!r}")


def load(path: Path | None = None) -> dict[str, object]:
    """Every setting's effective value: the file's where given, the default elsewhere."""
    import tomllib

    path = path or paths().config_file
    values = {s.key: s.default for s in SETTINGS}
    if not path.exists():
        return values
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc} (fix the file or move it away for defaults)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    for section, table in doc.items():
        if not isinstance(table, dict):
            continue
        for name, raw in table.items():
            key = f"{section}.{name}"
            if key in BY_KEY:
                try:
                    values[key] = coerce(key, raw)
                except ConfigError as exc:
                    raise ConfigError(f"{path}: {exc}") from None
    return values


def set_value(key: str, raw: str, path: Path | None = None) -> object:
    """Set one setting in the file with tomlkit, keeping comments and layout."""
    import tomlkit

    value = coerce(key, raw)
    path = path or paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else default_config_text()
    try:
        doc = tomlkit.parse(text)
    except Exception as exc:  # tomlkit raises several parse error types
        raise ConfigError(f"{path}: {exc} (fix the file before setting values)") from None
    section, name = key.split(".", 1)
    if section not in doc:
        doc[section] = tomlkit.table()
    doc[section][name] = value
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    if key in SECRET_KEYS or (path.exists() and path.stat().st_mode & 0o077 == 0):
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return value


def shown(key: str, value) -> object:
    """A value as `cc config get` may show it: secrets are never printed."""
    if key in SECRET_KEYS and value:
        return "***"
    return value


def make_private(folders) -> None:
    """Close what earlier versions left open to other users: every folder 0700, every
    file 0600 under the daemon's own folders (the call log, journal, logs, recordings)."""
    for folder in folders:
        if not folder.is_dir():
            continue
        for place in [folder, *folder.rglob("*")]:
            if place.is_symlink():
                continue
            wanted = 0o700 if place.is_dir() else 0o600
            if stat.S_IMODE(place.stat().st_mode) & 0o077:
                place.chmod(wanted)


def check_private(settings: dict, path: Path | None = None) -> None:
    """Refuse a config file that holds a password and that others can read."""
    path = path or paths().config_file
    if settings.get("server.password") and path.exists():
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{path} holds a password but others can read it: "
                              f"run `chmod 600 {path}`")


def resolve_password(settings: dict, path: Path | None = None) -> str:
    """The password, from CC_PASSWORD, server.password_command, or the (private) file."""
    env = os.environ.get("CC_PASSWORD")
    if env:
        return env
    command = settings.get("server.password_command") or ""
    if command:
        try:
            done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"server.password_command took over 30 s: {command}") from None
        if done.returncode != 0 or not done.stdout.strip():
            raise ConfigError(f"server.password_command failed (exit {done.returncode}); "
                              "run it by hand to see why")
        return done.stdout.strip()
    password = settings.get("server.password") or ""
    if password:
        check_private(settings, path)
        return password
    raise ConfigError("no password: set CC_PASSWORD, server.password_command, "
                      "or server.password (in a file only you can read)")
