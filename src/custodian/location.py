"""Which vault a command means: the database location (or the server's address), named the
same way by every layer.

`db.engine.resolve_url` (the full CLI and the service) and the session agent's stdlib-only
client (`custodian.agent.client`, which must not import SQLAlchemy) both call these
functions, so a vault is one URL whichever path runs. Stdlib only: keep it that way.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

DB_ENV = "CUSTODIAN_DB"
SERVER_ENV = "CUSTODIAN_URL"


def default_db_path() -> str:
    import platformdirs  # small; only when neither --db nor $CUSTODIAN_DB names the vault

    return os.path.join(platformdirs.user_data_dir("custodian"), "vault.db")


def raw_db(db: str | os.PathLike[str] | None) -> str:
    """What names the vault: `db`, else $CUSTODIAN_DB, else the default file."""
    return os.fspath(db) if db is not None else os.environ.get(DB_ENV) or default_db_path()


def path_url(raw: str) -> str:
    """A vault named by a file path, as the SQLite URL every layer uses for it."""
    return "sqlite:///" + os.path.abspath(os.path.expanduser(raw))


def server_url(url: str) -> str:
    """A server address as every layer names it: https, or plain http to a loopback
    address only (a session token must never cross a network in clear). Raises
    ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a server address is https://HOST[:PORT], not {url[:100]!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{parts.hostname} is not on this machine: use https://")
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
