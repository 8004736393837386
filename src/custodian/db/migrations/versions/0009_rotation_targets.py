"""rotation on the device (issue 21): how a system is reached, and pending rotations.

`system` gets the columns a connector needs (connector name, the SSH host key, the
LDAPS CA file, the rotation account); `pending_rotation` holds a new secret between the
two phases of a rotation (docs/rotation.md).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


_COLUMNS = (  # `port` came with 0007 (week one)
    ("connector", _TEXT(length=64)),
    ("host_key", _TEXT(length=4096)),
    ("ca_file", _TEXT(length=1024)),
    ("tls_name", _TEXT(length=255)),
    ("rotation_account", _TEXT(length=257)),
)


# Plain ALTER TABLE ADD/DROP COLUMN, not a batch: a batch rebuilds the table on SQLite,
# which the foreign keys of `credential` refuse (SQLite >= 3.35 drops a column in place).
def upgrade() -> None:
    for name, type_ in _COLUMNS:
        op.add_column("system", sa.Column(name, type_, nullable=True))
    op.create_table(
        "pending_rotation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("state", _TEXT(length=16), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=False),
        sa.Column("error", _TEXT(length=500), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["credential_id"], ["credential.id"]),
        sa.ForeignKeyConstraint(["started_by"], ["technician.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credential_id"),
    )
    op.create_index(
        "ix_pending_rotation_customer_id", "pending_rotation", ["customer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_pending_rotation_customer_id", table_name="pending_rotation")
    op.drop_table("pending_rotation")
    for name, _ in reversed(_COLUMNS):
        op.drop_column("system", name)
