"""Which vault a command means: the database location, named the same way by every layer.

`db.engine.resolve_url` (the full CLI and the service) and the session agent's stdlib-only
client (`custodian.agent.client`, which must not import SQLAlchemy) both call these
functions, so a vault is one URL whichever path runs. Stdlib only: keep it that way.
"""

from __future__ import annotations

import os

DB_ENV = "CUSTODIAN_DB"


def default_db_path() -> str:
    import platformdirs  # small; only when neither --db nor $CUSTODIAN_DB names the vault

    return os.path.join(platformdirs.user_data_dir("custodian"), "vault.db")


def raw_db(db: str | os.PathLike[str] | None) -> str:
    """What names the vault: `db`, else $CUSTODIAN_DB, else the default file."""
    return os.fspath(db) if db is not None else os.environ.get(DB_ENV) or default_db_path()


def path_url(raw: str) -> str:
    """A vault named by a file path, as the SQLite URL every layer uses for it."""
    return "sqlite:///" + os.path.abspath(os.path.expanduser(raw))
