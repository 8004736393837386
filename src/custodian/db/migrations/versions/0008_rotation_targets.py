"""rotation on the device (issue 21): how a system is reached, and pending rotations.

`system` gets the columns a connector needs (port, connector name, the SSH host key, the
LDAPS CA file, the rotation account); `pending_rotation` holds a new secret between the
two phases of a rotation (docs/rotation.md).

Revision ID: 0008
Revises: 0006 (re-chained onto 0007 at merge)
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("system", schema=None) as batch_op:
        batch_op.add_column(sa.Column("port", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("connector", _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column("host_key", _TEXT(length=4096), nullable=True))
        batch_op.add_column(sa.Column("ca_file", _TEXT(length=1024), nullable=True))
        batch_op.add_column(sa.Column("tls_name", _TEXT(length=255), nullable=True))
        batch_op.add_column(sa.Column("rotation_account", _TEXT(length=257), nullable=True))
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
    with op.batch_alter_table("system", schema=None) as batch_op:
        for column in ("rotation_account", "tls_name", "ca_file", "host_key", "connector", "port"):
            batch_op.drop_column(column)
