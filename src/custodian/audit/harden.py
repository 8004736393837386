"""Making access_event append-only in the database itself (`custodian db harden`).

PostgreSQL: the migration's trigger (re-created here if someone dropped it) plus
privileges: UPDATE, DELETE and TRUNCATE revoked from PUBLIC and from every role named,
which keep SELECT and INSERT. The table's owner and superusers can still drop the
trigger: the hash chain and signatures are the real guarantee (docs/audit-format.md).
SQLite has no roles: the triggers are re-created if missing.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ..errors import NotFound, UsageError

_ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


def _append_only_statements(dialect: str) -> list[str]:
    from importlib import import_module

    migration = import_module("custodian.db.migrations.versions.0002_audit_log")
    statements: list[str] = migration.append_only_statements(dialect)
    return statements


def harden(conn: Connection, app_roles: list[str]) -> list[str]:
    """Apply the append-only protections; returns what was done, one line each."""
    dialect = conn.dialect.name
    done = []
    for statement in _append_only_statements(dialect):
        conn.execute(text(statement))  # text(): escapes the % of the function body
    done.append("append-only triggers on access_event in place")
    if dialect != "postgresql":
        if app_roles:
            raise UsageError("--app-role applies to PostgreSQL only (SQLite has no roles)")
        return done
    conn.exec_driver_sql("REVOKE UPDATE, DELETE, TRUNCATE ON access_event FROM PUBLIC")
    done.append("UPDATE, DELETE, TRUNCATE on access_event revoked from PUBLIC")
    for role in app_roles:
        if not _ROLE.fullmatch(role):
            raise UsageError(f"invalid role name {role[:64]!r}")
        exists = conn.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        if exists is None:
            raise NotFound(f"no PostgreSQL role {role!r}")
        quoted = f'"{role}"'
        _grant_tables(conn, quoted)
        conn.exec_driver_sql(
            f"REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON access_event FROM {quoted}"
        )
        conn.exec_driver_sql(f"GRANT SELECT, INSERT ON access_event TO {quoted}")
        done.append(f"role {role}: SELECT, INSERT on access_event; no UPDATE, DELETE, TRUNCATE")
    return done


def _grant_tables(conn: Connection, quoted_role: str) -> None:
    """The application role works on every other table and sequence of the schema."""
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO {quoted_role}')
    conn.exec_driver_sql(
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {quoted_role}'
    )
    conn.exec_driver_sql(
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {quoted_role}'
    )
