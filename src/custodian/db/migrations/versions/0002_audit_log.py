"""audit-log schema (issue 3): review indexes and append-only triggers on access_event.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

The triggers are the second line behind the hash chain: they stop an accidental or
casual UPDATE/DELETE; an attacker who owns the database can drop them, which is what
`custodian log verify` is for. `custodian db harden` adds the PostgreSQL privileges.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, columns): the review queries filter by one of these and a time range.
INDEXES = [
    ("ix_access_event_customer_at", ["customer_id", "at"]),
    ("ix_access_event_actor_at", ["actor_id", "at"]),
    ("ix_access_event_credential_at", ["credential_id", "at"]),
]

SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS access_event_no_update BEFORE UPDATE ON access_event
    BEGIN SELECT RAISE(ABORT, 'access_event is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS access_event_no_delete BEFORE DELETE ON access_event
    BEGIN SELECT RAISE(ABORT, 'access_event is append-only'); END""",
]

PG_FUNCTION = """CREATE OR REPLACE FUNCTION custodian_access_event_append_only()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_event is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$"""

PG_TRIGGERS = [
    """CREATE OR REPLACE TRIGGER access_event_append_only BEFORE UPDATE OR DELETE
    ON access_event FOR EACH ROW EXECUTE FUNCTION custodian_access_event_append_only()""",
    """CREATE OR REPLACE TRIGGER access_event_no_truncate BEFORE TRUNCATE
    ON access_event FOR EACH STATEMENT EXECUTE FUNCTION custodian_access_event_append_only()""",
]


def append_only_statements(dialect: str) -> list[str]:
    """The statements that make access_event append-only (also used by `db harden`)."""
    if dialect == "postgresql":
        return [PG_FUNCTION, *PG_TRIGGERS]
    return list(SQLITE_TRIGGERS)


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "access_event", columns)
    for statement in append_only_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS access_event_no_truncate ON access_event")
        op.execute("DROP TRIGGER IF EXISTS access_event_append_only ON access_event")
        op.execute("DROP FUNCTION IF EXISTS custodian_access_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS access_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS access_event_no_delete")
    for name, _ in reversed(INDEXES):
        op.drop_index(name, "access_event")
