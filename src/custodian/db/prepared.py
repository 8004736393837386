"""Core statements run on the transaction's own DBAPI cursor: the hot paths' executor.

A reveal runs five statements. Through SQLAlchemy's execution machinery each costs
several times what the driver spends on it (result proxies, execution contexts, events),
which on SQLite is most of a reveal. `Prepared` renders a Core statement once per dialect,
with named parameters, and runs it on the cursor of the connection the transaction already
holds, so it commits or rolls back with everything else. Values are always bound, never
formatted into SQL. Datetimes go through SQLAlchemy's own type processors, so a value
stored or read here is exactly what the ORM stores or reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

Tx = Session | Connection  # a unit of work's handle: an ORM session or a Core connection


def connection_of(tx: Tx) -> Connection:
    """The Core connection a unit of work runs on."""
    return tx.connection() if isinstance(tx, Session) else tx


class Prepared:
    """One Core statement, rendered lazily for each dialect it meets."""

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._rendered: dict[str, tuple[str, dict[str, Any]]] = {}

    def run(self, tx: Tx, params: Mapping[str, Any]) -> Any:
        """Execute with `params` (merged over the statement's literal values); the cursor."""
        conn = connection_of(tx)
        sql, defaults = self._render(conn.dialect)
        bound = {**defaults, **params} if defaults else params
        try:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(sql, bound)
        except conn.dialect.loaded_dbapi.Error as exc:
            # The same exception SQLAlchemy raises, so callers translate it as before;
            # bound values stay out of its message.
            raise DBAPIError.instance(
                sql,
                None,
                exc,
                conn.dialect.loaded_dbapi.Error,
                hide_parameters=True,
                dialect=conn.dialect,
            ) from exc
        return cursor

    def one(self, tx: Tx, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row as a tuple, or None."""
        cursor = self.run(tx, params)
        try:
            return cursor.fetchone()  # type: ignore[no-any-return]
        finally:
            cursor.close()

    def _render(self, dialect: Dialect) -> tuple[str, dict[str, Any]]:
        rendered = self._rendered.get(dialect.name)
        if rendered is None:
            # A positional paramstyle (sqlite3's "qmark") is re-rendered as "named":
            # every driver we support accepts a mapping in one of the two dict styles.
            # (SQLAlchemy's Dialect interface omits DefaultDialect's `paramstyle` argument.)
            named = (
                type(dialect)(paramstyle="named")  # type: ignore[call-arg]
                if dialect.positional
                else dialect
            )
            compiled = self._statement.compile(dialect=named)
            rendered = (str(compiled), dict(compiled.params))
            self._rendered[dialect.name] = rendered
        return rendered


DatetimeCodec = tuple[Callable[[datetime | None], Any], Callable[[Any], datetime | None]]
_codecs: dict[str, DatetimeCodec] = {}


def datetime_codec(tx: Tx) -> DatetimeCodec:
    """(to the driver, from the driver) for a naive `DateTime` column in this dialect."""
    dialect = connection_of(tx).dialect
    codec = _codecs.get(dialect.name)
    if codec is None:
        impl = DateTime().dialect_impl(dialect)
        codec = (
            impl.bind_processor(dialect) or _same,
            impl.result_processor(dialect, None) or _same,
        )
        _codecs[dialect.name] = codec
    return codec


def _same(value: Any) -> Any:
    return value
