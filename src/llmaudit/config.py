"""Paths and the user's config file (TOML, written atomically, mode 0600)."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmaudit.constants import (
    APP_NAME,
    CONFIG_FILENAME,
    DB_FILENAME,
    ENV_CONFIG,
    ENV_DATA_DIR,
    ENV_DB,
    SECRET_KEY_MARKERS,
)
from llmaudit.errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def default_config_path() -> Path:
    """``$LLMAUDIT_CONFIG``, else ``config.toml`` in the platform's user config dir."""
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILENAME


def default_data_dir() -> Path:
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_db(cli_value: str | None, config: dict[str, Any]) -> str | None:
    """``--db``, else ``$LLMAUDIT_DB``, else config ``ledger.path``, as given (a path or a
    ``clickhouse://`` address); None when none is set."""
    if cli_value:
        return cli_value
    env = os.environ.get(ENV_DB)
    if env:
        return env
    configured = get_key(config, "ledger.path")
    if isinstance(configured, str) and configured:
        return configured
    if configured is not None:  # never the default ledger in its place, silently
        raise ConfigError(
            f"config key ledger.path: must be a file path or a clickhouse:// address, "
            f"got {configured!r}"
        )
    return None


def resolve_db_path(cli_value: str | None, config: dict[str, Any]) -> Path:
    """The SQLite ledger file: what :func:`resolve_db` names, else the data dir's."""
    given = resolve_db(cli_value, config)
    return Path(given).expanduser() if given else default_data_dir() / DB_FILENAME


def load_config(path: Path) -> dict[str, Any]:
    """The config at ``path``, or an empty config if there is none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def save_config(path: Path, config: dict[str, Any]) -> None:
    """Write atomically: a 0600 temporary file in the same directory, then ``os.replace``."""
    import tomli_w

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = tomli_w.dumps(config)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror}") from exc


def is_insecure(path: Path) -> bool:
    """True when a config file is readable or writable by group or others."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


def _split(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise UsageError(f"invalid config key {key!r}: use dotted names such as pricing.path")
    return parts


def get_key(config: dict[str, Any], key: str) -> Any:
    node: Any = config
    for part in _split(key):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def get_table(config: dict[str, Any], key: str) -> dict[str, Any]:
    """A table of the config (``alerts``, ``budgets``), empty when absent; anything else
    there is a ConfigError naming the key (``alerts = "on"`` must not pass, nor crash)."""
    value = get_key(config, key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"config key {key}: must be a table ([{key}]), got {value!r}")
    return value


def alert_thresholds(config: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """The warning and critical shares of a budget (alerts.warning, alerts.critical)."""
    from llmaudit.analysis.budgets import CRITICAL, WARNING

    get_table(config, "alerts")
    warning = get_number(config, "alerts.warning", float(WARNING), low=0, high=100)
    critical = get_number(config, "alerts.critical", float(CRITICAL), low=0, high=100)
    return warning, critical


def get_number(
    config: dict[str, Any], key: str, default: float, *, low: float, high: float
) -> Decimal:
    """A number from the config within [low, high]; anything else is a ConfigError naming
    the key (``alerts.warning = "eighty"`` must not pass, nor crash)."""
    value = get_key(config, key)
    if value is None:
        return Decimal(str(default))
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ConfigError(f"config key {key}: must be a number, got {value!r}")
    number = Decimal(str(value))
    if not number.is_finite() or not low <= number <= high:
        raise ConfigError(f"config key {key}: must be between {low} and {high}, got {value!r}")
    return number


def get_attribution(config: dict[str, Any]) -> dict[str, Any] | None:
    """The [attribution] map, checked: ``attribution.KIND.ID.DIM = "name"``, where KIND is
    project, api_key or user; anything else is a ConfigError naming the key."""
    value = config.get("attribution")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError("config key attribution: must be a table ([attribution.project.ID])")
    for kind, idents in value.items():
        if kind not in ("project", "api_key", "user"):
            raise ConfigError(
                f"config key attribution.{kind}: unknown; use project, api_key or user"
            )
        if not isinstance(idents, dict):
            raise ConfigError(f"config key attribution.{kind}: must be a table of ids")
        for ident, names in idents.items():
            if not isinstance(names, dict):
                raise ConfigError(
                    f"config key attribution.{kind}.{ident}: must be a table such as "
                    '{ team = "search" }'
                )
            for dim, name in names.items():
                if not isinstance(name, str):
                    raise ConfigError(
                        f"config key attribution.{kind}.{ident}.{dim}: must be a string"
                    )
    return value


def set_key(config: dict[str, Any], key: str, value: Any) -> None:
    parts = _split(key)
    node = config
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(
                f"cannot set {key}: {'.'.join(parts[: i + 1])} is a value, not a table"
            )
        node = child
    node[parts[-1]] = value


def unset_key(config: dict[str, Any], key: str) -> bool:
    parts = _split(key)
    node: Any = config
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    if isinstance(node, dict) and parts[-1] in node:
        del node[parts[-1]]
        return True
    return False


def parse_value(text: str) -> Any:
    """A TOML literal (number, boolean, array, quoted string) if ``text`` is one, else the text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def is_secret_key(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return any(marker in last for marker in SECRET_KEY_MARKERS)


def mask_secret(value: str) -> str:
    """Keep just enough to recognise a key: ``sk-a...wxyz``; short values are hidden whole."""
    if len(value) <= 12:
        return "****"
    return f"{value[:4]}...{value[-4:]}"


def has_secrets(config: dict[str, Any], prefix: str = "") -> bool:
    for name, value in config.items():
        full = f"{prefix}{name}"
        if isinstance(value, dict):
            if has_secrets(value, f"{full}."):
                return True
        elif isinstance(value, str) and is_secret_key(full):
            return True
    return False


def scrubbed(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A copy of ``config`` with every secret value masked."""
    out: dict[str, Any] = {}
    for name, value in config.items():
        full = f"{prefix}{name}"
        if isinstance(value, dict):
            out[name] = scrubbed(value, f"{full}.")
        elif isinstance(value, str) and is_secret_key(full):
            out[name] = mask_secret(value)
        else:
            out[name] = value
    return out
