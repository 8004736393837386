"""Database location, engine set-up and schema version checks."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from .. import location
from ..errors import BackendUnavailable, UsageError

DB_ENV = location.DB_ENV


def default_db_path() -> Path:
    return Path(location.default_db_path())


def resolve_url(db: str | os.PathLike[str] | None) -> str:
    """`db` is a path or an SQLAlchemy URL; None falls back to $CUSTODIAN_DB, then the default.
    The naming lives in `custodian.location`, shared with the stdlib-only `get` path."""
    raw = location.raw_db(db)
    if "://" in raw:
        try:
            url = make_url(raw)
        except ArgumentError as exc:
            raise UsageError("the database URL is malformed") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise UsageError("the database must be SQLite or PostgreSQL")
        return raw
    return location.path_url(raw)


def display_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def create_db_engine(url: str, *, create_dir: bool = False) -> Engine:
    from sqlmodel import create_engine

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:":
            if create_dir:
                Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            elif not Path(path).exists():
                raise UsageError(f"no vault at {path}: run `custodian init` first")
        engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    return engine


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # Every transaction takes the write lock up front: appends to the access log are
    # serialized and no transaction fails late on a lock upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def schema_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        # The driver's first line says why (refused, disk full, read-only); never the SQL.
        lines = str(getattr(exc, "orig", None) or "").strip().splitlines()
        if engine.url.get_backend_name() == "sqlite" and lines == ["file is not a database"]:
            raise UsageError(
                f"{engine.url.database} is not a custodian vault (not an SQLite database)"
            ) from exc
        why = f" ({lines[0][:200]})" if lines else ""
        raise BackendUnavailable(f"cannot reach the database: {type(exc).__name__}{why}") from exc
