"""The user's settings file, `config.toml`: one table per subject (today `[alerts]`,
docs/audit-format.md). It lives in the user config directory
(`platformdirs.user_config_dir("custodian")`; Linux `~/.config/custodian/config.toml`);
`$CUSTODIAN_CONFIG` names another file, or none when set empty. Command-line options
override what it says.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import UsageError

CONFIG_ENV = "CUSTODIAN_CONFIG"


def config_path() -> Path | None:
    """The settings file in use, or None when `$CUSTODIAN_CONFIG` is set empty."""
    named = os.environ.get(CONFIG_ENV)
    if named is not None:
        return Path(named) if named else None
    import platformdirs

    return Path(platformdirs.user_config_dir("custodian")) / "config.toml"


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables; one clear line when it cannot be read."""
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: not a readable TOML file ({type(exc).__name__})") from None


def section(name: str, path: Path | None = None) -> tuple[dict[str, Any], str]:
    """Table `[name]` of the settings file (empty if the file or table is absent), and
    how to name it in messages. A file named by `$CUSTODIAN_CONFIG` must exist."""
    path = path or config_path()
    if path is None:
        return {}, ""
    where = f"{path} [{name}]"
    if not path.is_file():
        if os.environ.get(CONFIG_ENV):
            raise UsageError(f"{CONFIG_ENV} names {path}, which is not a file")
        return {}, where
    table = read_toml(path).get(name, {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: {name} must be a table ([{name}])")
    return table, where
