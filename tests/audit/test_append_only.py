"""The database itself refuses to change or delete access events: triggers on both
databases (migration 0002), and on PostgreSQL privileges set by `db harden`, tested
against the real server."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError

from custodian.errors import AccessDenied, UsageError
from custodian.service import Custodian
from tests.audit.auditkit import CUSTOMER_PATH, rows


def test_update_and_delete_of_events_are_refused(log_vault):
    with pytest.raises(DBAPIError, match="append-only"):
        log_vault.sql("UPDATE access_event SET reason = 'x' WHERE seq = 2")
    with pytest.raises(DBAPIError, match="append-only"):
        log_vault.sql("DELETE FROM access_event WHERE seq = 2")
    if log_vault.backend == "postgres":
        with pytest.raises(DBAPIError, match="append-only"):
            log_vault.sql("TRUNCATE access_event")
    assert log_vault.admin.verify_log(workers=0).ok


def test_harden_is_for_admins_and_recorded(log_vault):
    with pytest.raises(AccessDenied):
        log_vault.bob.harden_database([])
    done = log_vault.admin.harden_database([])
    assert any("trigger" in line for line in done)
    assert rows(log_vault)[-1].action == "db-harden"
    if log_vault.backend == "sqlite":
        with pytest.raises(UsageError):
            log_vault.admin.harden_database(["app"])


def test_harden_restores_a_dropped_trigger(log_vault):
    if log_vault.backend == "postgres":
        log_vault.sql("DROP TRIGGER access_event_append_only ON access_event")
    else:
        log_vault.sql("DROP TRIGGER access_event_no_update")
    log_vault.sql("UPDATE access_event SET reason = reason WHERE seq = 1")  # unprotected
    log_vault.admin.harden_database([])
    with pytest.raises(DBAPIError, match="append-only"):
        log_vault.sql("UPDATE access_event SET reason = reason WHERE seq = 1")


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_hardened_application_role_can_append_but_never_rewrite(log_db, log_vault):
    url, template = log_db
    role = f"custodian_app_{uuid.uuid4().hex[:8]}"
    dbname = url.rsplit("/", 1)[1]
    log_vault.sql(f"CREATE ROLE {role} LOGIN")
    try:
        done = log_vault.admin.harden_database([role])
        assert any(role in line for line in done)
        app_url = url.replace("postgres@", f"{role}@")
        with Custodian.open(app_url) as app:  # the application, connected as the role
            bob = app.resume("bob", template.bundles["bob"])
            assert bob.reveal(CUSTOMER_PATH, reason="as app").reveal() == log_vault.secret
        dsn = f"host=127.0.0.1 port=5432 user={role} dbname={dbname}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in (
                "UPDATE access_event SET reason = 'x' WHERE seq = 2",
                "DELETE FROM access_event WHERE seq = 2",
                "TRUNCATE access_event",
                "DROP TRIGGER access_event_append_only ON access_event",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)  # type: ignore[arg-type]
        assert log_vault.admin.verify_log(workers=0).ok
    finally:
        log_vault.sql(f"DROP OWNED BY {role}")
        log_vault.vault.db.engine.dispose()
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"  # type: ignore[arg-type]
                f" WHERE usename = '{role}'"
            )
        _drop_role_later(role)


_ROLES: list[str] = []


def _drop_role_later(role: str) -> None:
    """A role can be dropped only once no database grants it anything: the test
    database is dropped in the background, so try now and retry at exit."""
    import atexit

    def drop() -> None:
        try:
            with psycopg.connect(
                "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
            ) as conn:
                conn.execute(f"DROP ROLE IF EXISTS {role}")  # type: ignore[arg-type]
        except psycopg.Error:
            if role not in _ROLES:
                _ROLES.append(role)
                atexit.register(drop)

    drop()
