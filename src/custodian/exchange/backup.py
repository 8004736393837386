"""Encrypted backups of a whole vault, and restoring one into an empty database.

A backup is a logical export of every table (rows as JSON lines), taken from a
consistent snapshot while technicians keep working:

- SQLite: the online backup API (`sqlite3.Connection.backup`) copies the database into
  memory in one step; the export reads that copy.
- PostgreSQL: one REPEATABLE READ, READ ONLY transaction sees one snapshot of every table.
  (`pg_dump` is the tool for a server-level backup; this export is portable: a SQLite
  backup restores into PostgreSQL and the reverse.)

The content is `{"manifest": ...}`, then per table `{"table": ..., "columns": [...]}`
and `{"r": [...]}` rows, then `{"end": {"rows": N, "sha256": ...}}` over every line
before it. The whole is sealed under a backup passphrase (`crypto.stream`). Rows hold
only what the database holds: sealed payloads, wrapped keys, metadata and the log.

This module is the file format: write one, verify one, load one into an empty database.
Who may take a backup, the passphrase rule, the access-log events and re-applying the
destruction list after a restore are the service's (`custodian.service.backups`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Table, create_engine, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from ..clock import Clock, utcnow
from ..crypto import KdfParams
from ..crypto.stream import open_stream, seal_stream
from ..db import models  # noqa: F401  (importing it registers the tables)
from ..db.engine import create_db_engine, schema_revision
from ..db.migrate import head_revision, upgrade
from ..errors import IntegrityError, UsageError

FORMAT = 1
_BATCH = 500


@dataclass(frozen=True)
class Manifest:
    format: int
    vault_id: str
    created_at: str
    schema_revision: str
    source_dialect: str
    tables: dict[str, int]

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)


# --- values as JSON --------------------------------------------------------------------


def _enc(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _dec(value: Any) -> Any:
    if isinstance(value, dict):
        if "b" in value:
            return base64.b64decode(value["b"], validate=True)
        if "t" in value:
            return datetime.fromisoformat(value["t"])
        raise ValueError("unknown tagged value")
    return value


def _line(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


# --- taking a backup -------------------------------------------------------------------


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees one consistent state of the whole database."""
    if engine.dialect.name == "sqlite":
        path = make_url(str(engine.url)).database
        if not path:
            raise UsageError("an in-memory database cannot be backed up")
        src = sqlite3.connect(path, timeout=30)
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            src.backup(copy)
        finally:
            src.close()
        mem = create_engine("sqlite://", creator=lambda: copy, poolclass=StaticPool)
        try:
            with mem.connect() as conn:
                yield conn
        finally:
            mem.dispose()
            copy.close()
        return
    with (
        engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as conn,
        conn.begin(),
    ):
        yield conn


def _content(
    conn: Connection, vault_id: str, revision: str, dialect: str, now: datetime
) -> tuple[Manifest, Iterator[bytes]]:
    tables = [t for t in _tables() if inspect(conn).has_table(t.name)]
    counts = {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables
    }
    manifest = Manifest(FORMAT, vault_id, now.isoformat(), revision, dialect, counts)

    def lines() -> Iterator[bytes]:
        digest, total = hashlib.sha256(), 0
        for data in _body(conn, manifest, tables):
            digest.update(data)
            total += data.count(b"\n")
            yield data
        yield _line({"end": {"lines": total, "sha256": digest.hexdigest()}})

    return manifest, lines()


def _body(conn: Connection, manifest: Manifest, tables: list[Table]) -> Iterator[bytes]:
    yield _line({"manifest": manifest.to_dict()})
    for table in tables:
        columns = [c.name for c in table.columns]
        yield _line({"table": table.name, "columns": columns})
        order = list(table.primary_key.columns) or list(table.columns)
        batch: list[bytes] = []
        for row in conn.execute(select(table).order_by(*order)):
            batch.append(_line({"r": [_enc(v) for v in row]}))
            if len(batch) >= _BATCH:
                yield b"".join(batch)
                batch = []
        if batch:
            yield b"".join(batch)


def create_backup(
    engine: Engine,
    out: BinaryIO,
    passphrase: str,
    *,
    params: KdfParams | None = None,
    clock: Clock = utcnow,
) -> Manifest:
    """Write a sealed backup of the database behind `engine` to `out`."""
    with snapshot(engine) as conn:
        vault_id = conn.execute(text("SELECT vault_id FROM vault_info")).scalar_one()
        revision = schema_revision(engine) or ""
        manifest, lines = _content(conn, vault_id, revision, engine.dialect.name, clock())
        seal_stream(lines, passphrase, out, params)
    return manifest


# --- reading one -----------------------------------------------------------------------


def _records(src: BinaryIO, passphrase: str) -> Iterator[dict[str, Any]]:
    """Every JSON line, checked against the manifest and the final checksum."""
    digest, lines, buffer = hashlib.sha256(), 0, b""
    end: dict[str, Any] | None = None
    for chunk in open_stream(src, passphrase):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            if end is not None:
                raise IntegrityError("the backup has content after its end record")
            try:
                record = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise IntegrityError("the backup's content is malformed") from None
            if not isinstance(record, dict):
                raise IntegrityError("the backup's content is malformed")
            if "end" in record:
                end = record["end"]
                continue
            digest.update(raw + b"\n")
            lines += 1
            yield record
    if buffer or end is None:
        raise IntegrityError("the backup's content is incomplete")
    if end != {"lines": lines, "sha256": digest.hexdigest()}:
        raise IntegrityError("the backup's checksum does not match its content")


def _walk(src: BinaryIO, passphrase: str) -> Iterator[tuple[Manifest | None, str, list[Any]]]:
    """(manifest, table, row) triples; checks rows against the manifest's counts."""
    manifest: Manifest | None = None
    table, columns, counted = "", 0, dict[str, int]()
    for record in _records(src, passphrase):
        if manifest is None:
            try:
                manifest = Manifest(**record["manifest"])
            except (KeyError, TypeError):
                raise IntegrityError("the backup has no valid manifest") from None
            if manifest.format != FORMAT:
                raise IntegrityError(f"unknown backup format {manifest.format!r}")
            yield manifest, "", []
        elif "table" in record:
            table, columns = record["table"], len(record.get("columns", []))
            if table not in manifest.tables or table in counted:
                raise IntegrityError(f"the backup lists table {table!r} unexpectedly")
            counted[table] = 0
        elif "r" in record and table and len(record["r"]) == columns:
            counted[table] += 1
            yield None, table, record["r"]
        else:
            raise IntegrityError("the backup's content is malformed")
    if manifest is None or counted != manifest.tables:
        raise IntegrityError("the backup's row counts do not match its manifest")


def verify_backup(path: str | os.PathLike[str], passphrase: str) -> Manifest:
    """Read and check the whole backup; write nothing."""
    manifest = None
    with _open(path) as src:
        for m, _, _ in _walk(src, passphrase):
            manifest = m or manifest
    assert manifest is not None
    return manifest


def rows_of(path: str | os.PathLike[str], passphrase: str, table: str) -> list[dict[str, Any]]:
    """The rows of one table in the backup, decoded, without loading anything."""
    columns = [c.name for c in next(t for t in _tables() if t.name == table).columns]
    with _open(path) as src:
        return [
            dict(zip(columns, (_dec(v) for v in row), strict=True))
            for _, name, row in _walk(src, passphrase)
            if name == table
        ]


@contextmanager
def _open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"no such file: {file}")
    with file.open("rb") as src:
        yield src


# --- restoring -------------------------------------------------------------------------


def _check_empty(engine: Engine) -> None:
    with engine.connect() as conn:
        present = [t for t in _tables() if inspect(conn).has_table(t.name)]
        for table in present:
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                raise UsageError(
                    "the target database is not empty: restore only into an empty database"
                )


def load_backup(path: str | os.PathLike[str], passphrase: str, url: str) -> Manifest:
    """Verify the backup, then load it into the EMPTY database at `url` in one
    transaction. Nothing is written unless the whole backup verified."""
    manifest = verify_backup(path, passphrase)
    if manifest.schema_revision != head_revision():
        raise UsageError(
            f"the backup's schema ({manifest.schema_revision}) is not this version's"
            f" ({head_revision()}): restore with the custodian version that made it"
        )
    engine = create_db_engine(url, create_dir=True)
    try:
        _check_empty(engine)
        upgrade(engine)
        tables = {t.name: t for t in _tables()}
        with _open(path) as src, engine.begin() as conn:
            batch: list[dict[str, Any]] = []
            current = ""
            for _, table, row in _walk(src, passphrase):
                if table != current and batch:
                    conn.execute(tables[current].insert(), batch)
                    batch = []
                if not table:
                    continue
                current = table
                names = [c.name for c in tables[table].columns]
                try:
                    batch.append(dict(zip(names, (_dec(v) for v in row), strict=True)))
                except ValueError:
                    raise IntegrityError("the backup's content is malformed") from None
                if len(batch) >= _BATCH:
                    conn.execute(tables[current].insert(), batch)
                    batch = []
            if batch:
                conn.execute(tables[current].insert(), batch)
            if engine.dialect.name == "postgresql":
                _reset_sequences(conn, list(tables.values()))
    finally:
        engine.dispose()
    return manifest


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """PostgreSQL: move each serial column's sequence past the restored ids."""
    for table in tables:
        for column in table.primary_key.columns:
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": f'"{table.name}"', "c": column.name},
            ).scalar()
            if seq is None:
                continue
            c, t = column.name, table.name  # names from the models, not from the backup
            conn.execute(
                text(
                    f'SELECT setval(:s, COALESCE(MAX("{c}"), 1), MAX("{c}") IS NOT NULL)'  # noqa: S608
                    f' FROM "{t}"'
                ),
                {"s": seq},
            )
